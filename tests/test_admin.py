"""Account administration through the real forms, within the administrator's scope."""
import sqlalchemy as sa

from inspect_app.auth.models import User
from inspect_app.extensions import db
from tests.conftest import AuthActions, csrf_from


def _form(client, url, **data):
    page = client.get(url)
    assert page.status_code == 200
    data["csrf_token"] = csrf_from(page.data)
    return client.post(url, data=data)


def test_admin_creates_an_inspector(app, client, make_user):
    make_user("city.admin", roles=("admin",), region="140600")
    AuthActions(client).login("city.admin")
    response = _form(client, "/admin/users/new", username="Ma.Li", full_name="马力", department_code="culture",
                     region_code="140623", roles=["inspector"], credential_number="14062303001",
                     password="initial-password-1")
    assert response.status_code == 302
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "ma.li"))
        assert (user.full_name, user.department_code, user.region_code, user.roles) == \
            ("马力", "culture", "140623", ["inspector"])
    listing = client.get("/admin/users?department=culture").data.decode()
    assert "ma.li" in listing and "右玉县" in listing


def test_field_errors_in_chinese_and_nothing_created(app, client, make_user):
    make_user("city.admin2", roles=("admin",), region="140600")
    AuthActions(client).login("city.admin2")
    response = _form(client, "/admin/users/new", username="bad name!", full_name="X", department_code="hrss",
                     region_code="140602", roles=["inspector"], password="short")
    html = response.data.decode()
    assert response.status_code == 200
    assert "3–64 个小写字母" in html and "执法检查员必须填写执法证号" in html and "密码至少 10 个字符" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1


def test_duplicate_username_and_credential(client, make_user):
    make_user("taken", credential="C-1")
    make_user("city.admin3", roles=("admin",), region="140600")
    AuthActions(client).login("city.admin3")
    html = _form(client, "/admin/users/new", username="taken", full_name="X", department_code="hrss",
                 region_code="140602", roles=["inspector"], credential_number="C-1",
                 password="long-enough-pass").data.decode()
    assert "该用户名已被使用" in html and "该执法证号已被其他账号使用" in html


def test_county_admin_sees_and_edits_only_their_county(client, make_user):
    make_user("sc.admin", roles=("admin",), region="140602")
    own = make_user("sc.clerk", roles=("registrar",), department="samr", region="140602")
    other = make_user("hr.clerk", roles=("registrar",), department="samr", region="140681")
    AuthActions(client).login("sc.admin")
    listing = client.get("/admin/users").data.decode()
    assert "sc.clerk" in listing and "hr.clerk" not in listing
    assert client.get(f"/admin/users/{own}").status_code == 200
    assert client.get(f"/admin/users/{other}").status_code == 403
    page = client.get(f"/admin/users/{own}")
    response = client.post(f"/admin/users/{other}", data={"csrf_token": csrf_from(page.data), "full_name": "x",
                                                          "department_code": "samr", "region_code": "140602",
                                                          "roles": ["registrar"]})
    assert response.status_code == 403
    # nor can they move someone to another county: the choice is not offered
    response = client.post(f"/admin/users/{own}", data={"csrf_token": csrf_from(page.data), "full_name": "x",
                                                        "department_code": "samr", "region_code": "140681",
                                                        "roles": ["registrar"], "is_active": "y"})
    assert response.status_code == 200 and "errors" in response.data.decode()


def test_admin_cannot_deactivate_self(client, make_user):
    uid = make_user("self.admin", roles=("admin",), region="140600")
    AuthActions(client).login("self.admin")
    html = _form(client, f"/admin/users/{uid}", full_name="self", department_code="samr", region_code="140600",
                 roles=["admin"]).data.decode()
    assert "不能停用自己的账号" in html


def test_revoke_tokens(app, client, make_user, token_for):
    uid = make_user("token.holder")
    header = token_for("token.holder")
    make_user("revoker", roles=("admin",), region="140600")
    AuthActions(client).login("revoker")
    page = client.get(f"/admin/users/{uid}")
    client.post(f"/admin/users/{uid}/revoke-tokens", data={"csrf_token": csrf_from(page.data)})
    assert app.test_client().get("/api/v1/auth/me", headers=header).status_code == 401


def test_missing_user_is_404(client, make_user):
    make_user("finder", roles=("admin",), region="140600")
    AuthActions(client).login("finder")
    assert client.get("/admin/users/99999").status_code == 404


def test_pagination(app, client, make_user):
    from inspect_app.auth.services import create_user
    make_user("pager.admin", roles=("admin",), region="140600")
    with app.app_context():
        for i in range(55):
            create_user({"username": f"bulk{i:02d}", "full_name": "b", "roles": ["viewer"],
                         "department_code": "police", "region_code": "140602", "password": "long-enough-pass"})
        db.session.commit()
    AuthActions(client).login("pager.admin")
    first = client.get("/admin/users?role=viewer").data.decode()
    assert "第 1 页，共 2 页" in first and "bulk49" in first and "bulk50" not in first
    second = client.get("/admin/users?role=viewer&page=2").data.decode()
    assert "bulk54" in second
