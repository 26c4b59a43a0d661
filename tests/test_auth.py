"""Signing in and out, lock-out, password changes, sessions."""
import sqlalchemy as sa

from inspect_app.auth.models import User
from inspect_app.extensions import db
from tests.conftest import DEMO_PASSWORD, ENV_KEYS, csrf_from


def _user(app, username) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        db.session.expunge(user)
        return user


def test_login_page_is_chinese_by_default(client):
    page = client.get("/login")
    html = page.data.decode()
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in html
    assert "朔州市联合执法检查系统" in html and "用户名" in html and "登录" in html


def test_login_and_logout(client, make_user, auth):
    make_user("li.inspector")
    response = auth.login("li.inspector")
    assert response.status_code == 302 and response.headers["Location"] == "/today"  # an inspector's home
    home = client.get("/").data.decode()
    assert "欢迎，li.inspector" in home
    assert auth.logout().headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_with_a_field_error(client, make_user, auth):
    make_user("wang")
    response = auth.login("wang", "not-the-password")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.data.decode()
    assert client.get("/").status_code == 302


def test_unknown_user_gets_the_same_message(client, auth):
    response = auth.login("nobody", "whatever-password")
    assert "用户名或密码错误" in response.data.decode()


def test_lockout_after_repeated_failures(app, client, make_user, auth):
    make_user("zhao")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("zhao", "wrong-password")
    # even the right password is refused while locked
    response = auth.login("zhao", DEMO_PASSWORD)
    assert response.status_code == 200
    assert "账号已锁定" in response.data.decode()
    assert _user(app, "zhao").locked_until_dt is not None


def test_admin_unlocks(app, client, make_user, auth):
    uid = make_user("sun")
    make_user("boss", roles=("admin",), region="140600")
    for _ in range(app.config["LOGIN_MAX_FAILURES"]):
        auth.login("sun", "wrong-password")
    auth.login("boss")
    page = client.get(f"/admin/users/{uid}")
    client.post(f"/admin/users/{uid}/unlock", data={"csrf_token": csrf_from(page.data)})
    assert _user(app, "sun").locked_until_dt is None
    auth.logout()
    assert auth.login("sun").status_code == 302


def test_login_is_rate_limited_per_address(app, make_app):
    from tests.conftest import AuthActions
    limited = make_app(RATELIMIT_ENABLED=True)
    auth = AuthActions(limited.test_client())
    statuses = [auth.login(f"ghost{i}", "x" * 12).status_code for i in range(22)]
    assert statuses[:20] == [200] * 20  # INSPECT_LOGIN_RATE_LIMIT default: 20 per minute
    assert statuses[20:] == [429, 429]
    other = AuthActions(limited.test_client())
    other.client.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert other.login("ghost", "x" * 12).status_code == 200  # another tablet is not affected


def test_passwords_are_hashed_with_scrypt(app, make_user):
    make_user("hash.me")
    stored = _user(app, "hash.me").password_hash
    assert stored.startswith(app.config["PASSWORD_HASH_METHOD"] + "$")
    assert DEMO_PASSWORD not in stored


def test_production_hash_cost():
    from inspect_app.config import load_config
    assert load_config({**ENV_KEYS})["PASSWORD_HASH_METHOD"] == "scrypt:32768:8:1"


def test_login_without_csrf_token_is_refused(client, make_user):
    make_user("qian")
    response = client.post("/login", data={"username": "qian", "password": DEMO_PASSWORD})
    assert response.status_code == 400
    assert client.get("/").status_code == 302


def test_logout_needs_post_with_csrf(client, make_user, auth):
    make_user("zhou")
    auth.login("zhou")
    assert client.get("/logout").status_code == 405
    client.post("/logout")  # no token: refused, still signed in
    assert client.get("/").status_code == 200


def test_next_parameter_cannot_redirect_off_site(client, make_user):
    make_user("wu.min")
    page = client.get("/login?next=https://evil.example/")
    response = client.post("/login?next=https://evil.example/", data={
        "csrf_token": csrf_from(page.data), "username": "wu.min", "password": DEMO_PASSWORD})
    assert response.headers["Location"] == "/today"  # wu.min is an inspector: today's route, not evil.example


def test_next_parameter_keeps_local_path(client, make_user):
    make_user("zheng", roles=("admin",), region="140600")
    first = client.get("/admin/users")
    assert first.headers["Location"] == "/login?next=/admin/users"
    page = client.get(first.headers["Location"])
    response = client.post(first.headers["Location"], data={
        "csrf_token": csrf_from(page.data), "username": "zheng", "password": DEMO_PASSWORD})
    assert response.headers["Location"] == "/admin/users"


def test_password_change_ends_other_sessions(app, make_user):
    make_user("feng")
    laptop, tablet = app.test_client(), app.test_client()
    from tests.conftest import AuthActions
    AuthActions(laptop).login("feng")
    AuthActions(tablet).login("feng")
    page = laptop.get("/profile")
    response = laptop.post("/profile", data={
        "csrf_token": csrf_from(page.data), "current_password": DEMO_PASSWORD,
        "new_password": "a-brand-new-secret", "confirm": "a-brand-new-secret"})
    assert response.status_code == 302
    assert laptop.get("/").status_code == 200       # this device stays signed in
    assert tablet.get("/").status_code == 302       # the other is signed out
    assert AuthActions(app.test_client()).login("feng", "a-brand-new-secret").status_code == 302


def test_password_change_rejects_weak_password(client, make_user, auth):
    make_user("chen")
    auth.login("chen")
    page = client.get("/profile")
    response = client.post("/profile", data={
        "csrf_token": csrf_from(page.data), "current_password": DEMO_PASSWORD,
        "new_password": "short", "confirm": "short"})
    assert response.status_code == 200
    assert "密码至少 10 个字符" in response.data.decode()


def test_deactivated_user_is_signed_out(app, client, make_user, auth):
    uid = make_user("chu")
    auth.login("chu")
    assert client.get("/").status_code == 200
    with app.app_context():
        from inspect_app.auth.services import update_user
        update_user(db.session.get(User, uid), {"is_active": False})
        db.session.commit()
    assert client.get("/").status_code == 302
    assert auth.login("chu").status_code == 200  # and cannot sign in again


def _pin_form(client, pin, confirm=None, password=DEMO_PASSWORD):
    page = client.get("/profile")
    return client.post("/profile/pin", data={"csrf_token": csrf_from(page.data), "pin-pin": pin,
                                             "pin-confirm_pin": pin if confirm is None else confirm,
                                             "pin-password": password})


def test_officer_sets_a_pin_on_the_profile_page(app, client, make_user, auth):
    make_user("pin.officer", roles=("inspector",))
    auth.login("pin.officer")
    page = client.get("/profile").data.decode()
    assert "同事平板上确认" in page and "你还没有设置 PIN" in page
    response = _pin_form(client, "2580")
    assert response.status_code == 302
    user = _user(app, "pin.officer")
    assert user.check_pin("2580") and not user.check_pin("1234")
    assert "2580" not in user.pin_hash
    assert "你的 PIN 已设置" in client.get("/profile").data.decode()
    with app.app_context():
        from inspect_app.audit.models import AuditEvent
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "auth.pin_set"))
        assert event.object_id == str(user.id) and "2580" not in str(event.after)


def test_pin_form_refuses_bad_pins_and_wrong_passwords_with_field_errors(app, client, make_user, auth):
    make_user("pin.officer2", roles=("inspector",))
    auth.login("pin.officer2")
    for pin, confirm, password, message in [
            ("12a4", None, DEMO_PASSWORD, "PIN 码为 4 至 8 位数字"),
            ("1111", None, DEMO_PASSWORD, "过于简单"),
            ("2580", "2581", DEMO_PASSWORD, "两次输入的 PIN 不一致"),
            ("2580", None, "wrong-password-here", "PIN 码或密码错误")]:
        response = _pin_form(client, pin, confirm, password)
        assert response.status_code == 422, pin
        assert message in response.data.decode(), (pin, message)
    assert not _user(app, "pin.officer2").pin_hash
    assert _user(app, "pin.officer2").failed_login_count == 1  # the wrong password counted towards the lock-out


def test_only_officers_see_and_post_the_pin_form(client, make_user, auth):
    make_user("pin.desk", roles=("registrar",), department="samr")
    auth.login("pin.desk")
    assert "pin-pin" not in client.get("/profile").data.decode()
    assert _pin_form(client, "2580").status_code == 403
