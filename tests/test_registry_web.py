"""The licensing desk through its real forms."""
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.registry.models import Entity
from tests.conftest import AuthActions, csrf_from
from tests.registry_helpers import new_code


def _desk(client, make_user, region="140602"):
    make_user(f"desk.{region}", roles=("registrar",), department="samr", region=region)
    AuthActions(client).login(f"desk.{region}")


def _venue_form(csrf, **overrides):
    data = {"csrf_token": csrf, "name": "朔城区星光量贩式KTV", "subtype": "song_dance", "credit_code": new_code(),
            "legal_representative": "赵敏", "address": "朔城区张辽北路8号", "region_code": "140602",
            "crs": "wgs84", "attr_capacity": "120", "attr_floor_level": "2", "attr_in_residential_building": "false"}
    data.update(overrides)
    return data


def test_check_then_register_a_venue(app, client, make_user):
    _desk(client, make_user)
    page = client.get("/registry/new/entertainment_venue")
    html = page.data.decode()
    assert "核定容纳消费者人数" in html and "娱乐场所" in html
    checked = client.post("/registry/new/entertainment_venue",
                          data=_venue_form(csrf_from(page.data), action="check"))
    html = checked.data.decode()
    assert checked.status_code == 200 and "准入审查" in html and "未能核查与学校、幼儿园的距离" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Entity)) == 0
    refused = client.post("/registry/new/entertainment_venue",
                          data=_venue_form(csrf_from(page.data), action="register"))
    assert "请确认已阅知提示" in refused.data.decode()  # warnings must be acknowledged
    done = client.post("/registry/new/entertainment_venue",
                       data=_venue_form(csrf_from(page.data), action="register", acknowledge_warnings="y"))
    assert done.status_code == 302
    detail = client.get(done.headers["Location"]).data.decode()
    assert "朔城区星光量贩式KTV" in detail and "待审核" in detail and "娱乐经营许可证" in detail


def test_blocked_application_shows_findings_with_basis(client, make_user):
    _desk(client, make_user)
    page = client.get("/registry/new/entertainment_venue")
    response = client.post("/registry/new/entertainment_venue", data=_venue_form(
        csrf_from(page.data), action="register", attr_floor_level="-2", acknowledge_warnings="y"))
    html = response.data.decode()
    assert "不予准入" in html and "地下一层以下" in html and "娱乐场所管理办法 第6条第（八）项" in html


def test_field_errors_in_the_form(client, make_user):
    _desk(client, make_user)
    page = client.get("/registry/new/job_agency")
    response = client.post("/registry/new/job_agency", data={
        "csrf_token": csrf_from(page.data), "name": "x", "credit_code": "91310110666007217A", "address": "某地",
        "region_code": "140602", "crs": "wgs84", "attr_staff_count": "-3", "action": "check"})
    html = response.data.decode()
    assert "最后一位校验码不符" in html and "不得小于 0" in html


def test_status_change_and_refusal(app, client, make_user):
    _desk(client, make_user)
    make_user("boss.sc", roles=("supervisor",), department="samr", region="140602")
    with app.app_context():
        from inspect_app.registry.services import register_entity
        entity = register_entity({"kind": "job_agency", "name": "测试中介", "credit_code": new_code(),
                                  "address": "朔城区1号", "region_code": "140602", "attributes": {}})
        db.session.commit()
        entity_id = entity.id
    page = client.get(f"/registry/{entity_id}")
    assert "待审核" in page.data.decode()
    response = client.post(f"/registry/{entity_id}/status", data={
        "csrf_token": csrf_from(page.data), "status": "active", "reason": "材料齐全，准予许可",
        "legal_basis": "人力资源市场暂行条例 第19条"}, follow_redirects=True)
    html = response.data.decode()
    assert "状态已变更为“正常经营”" in html and "材料齐全，准予许可" in html
    refused = client.post(f"/registry/{entity_id}/status", data={
        "csrf_token": csrf_from(page.data), "status": "pending", "reason": "x"}, follow_redirects=True)
    assert "不能从" in refused.data.decode() and "可变更为" in refused.data.decode()
    with app.app_context():
        assert db.session.get(Entity, entity_id).status == "active"


def test_other_county_gets_403(app, client, make_user):
    with app.app_context():
        from inspect_app.registry.services import register_entity
        entity = register_entity({"kind": "job_agency", "name": "怀仁中介", "credit_code": new_code("140681"),
                                  "address": "怀仁市1号", "region_code": "140681", "attributes": {}})
        db.session.commit()
        entity_id = entity.id
    _desk(client, make_user)
    assert client.get(f"/registry/{entity_id}").status_code == 403
    assert "怀仁中介" not in client.get("/registry/?q=怀仁").data.decode()


def test_list_and_expiring_pages(app, client, make_user):
    from datetime import date, timedelta

    from inspect_app.registry.services import add_licence, register_entity
    with app.app_context():
        entity = register_entity({"kind": "job_agency", "name": "快到期中介", "credit_code": new_code(),
                                  "address": "朔城区1号", "region_code": "140602", "attributes": {}})
        add_licence(entity, {"type": "hr_service_licence", "number": "HR-9",
                             "expires_on": date.today() + timedelta(days=45)})
        db.session.commit()
    _desk(client, make_user)
    assert "快到期中介" in client.get("/registry/?q=快到期").data.decode()
    assert "快到期中介" not in client.get("/registry/licences/expiring?days=30").data.decode()
    assert "快到期中介" in client.get("/registry/licences/expiring?days=60").data.decode()
    assert "快到期中介" in client.get("/registry/?licence_expiring=60").data.decode()


def test_sites_and_blacklist_feed_the_gate(app, client, make_user):
    _desk(client, make_user)
    page = client.get("/registry/sites")
    added = client.post("/registry/sites", data={
        "csrf_token": csrf_from(page.data), "site_kind": "kindergarten", "name": "朔城区阳光幼儿园",
        "region_code": "140602", "lat": "39.3300", "lon": "112.4300", "crs": "wgs84"}, follow_redirects=True)
    assert "朔城区阳光幼儿园" in added.data.decode()
    bad = client.post("/registry/sites", data={
        "csrf_token": csrf_from(page.data), "site_kind": "kindergarten", "name": "x", "region_code": "140602",
        "lat": "95", "lon": "112.43", "crs": "wgs84"})
    assert bad.status_code == 200 and "errors" in bad.data.decode()
    page = client.get("/registry/blacklist")
    listed = client.post("/registry/blacklist", data={
        "csrf_token": csrf_from(page.data), "subject_type": "person", "id_number": "11010519491231002X",
        "name": "张某", "reason": "曾因容留卖淫被判刑", "legal_basis": "娱乐场所管理条例 第5条",
        "bars_venue_work": "y"}, follow_redirects=True)
    html = listed.data.decode()
    assert "110105********002X" in html and "11010519491231002X" not in html
    form = client.get("/registry/new/entertainment_venue")
    checked = client.post("/registry/new/entertainment_venue", data=_venue_form(
        csrf_from(form.data), action="check", lat="39.3305", lon="112.4300",
        legal_rep_id_number="11010519491231002X")).data.decode()
    assert "朔城区阳光幼儿园" in checked and "法定代表人（110105********002X）属禁止情形" in checked


def test_blacklist_needs_the_right_role(client, make_user):
    make_user("insp.bl", roles=("inspector",))
    AuthActions(client).login("insp.bl")
    assert client.get("/registry/blacklist").status_code == 403
