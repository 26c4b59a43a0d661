"""Planners' tools around the draw: calendar, cause-based inspections, declared conflicts and leave."""
import sqlalchemy as sa

from inspect_app.audit.models import AuditEvent
from inspect_app.extensions import db
from inspect_app.inspection.models import Inspection
from inspect_app.planning.models import InspectorConflict, InspectorLeave
from inspect_app.registry.models import Entity
from tests.conftest import AuthActions, csrf_from
from tests.planning_helpers import (SEED, add_entities, add_inspectors, campaign_body, drawn_campaign,
                                    planner_headers, set_inspections)


def _ids(app, username_prefix):
    from inspect_app.auth.models import User
    with app.app_context():
        return db.session.scalars(sa.select(User.id).where(User.username.like(f"{username_prefix}%"))
                                  .order_by(User.id)).all()


def _entity(app, entity_id):
    with app.app_context():
        return db.session.get(Entity, entity_id)


# --- cause-based inspections ------------------------------------------------------------------

def test_cause_inspection_api(app, client, make_user, token_for):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    hrss, samr = _ids(app, "i.hrss.140602"), _ids(app, "i.samr.140602")
    extra = add_entities(app, 1, name="被举报的中介")
    body = {"entity_id": extra[0], "cause_note": "举报：扣押求职者身份证", "date": "2026-12-03", "team": [hrss[0], samr[0]]}
    created = client.post(f"/api/v1/campaigns/{cid}/cause-inspections", json=body, headers=headers)
    assert created.status_code == 201, created.json
    assert created.json["origin"] == "cause" and created.json["date"] == "2026-12-03"
    assert [m["user_id"] for m in created.json["team"]] == [hrss[0], samr[0]]
    listed = client.get(f"/api/v1/campaigns/{cid}/cause-inspections", headers=headers).json
    assert listed["total"] == 1 and listed["items"][0]["id"] == created.json["id"]
    # never counted as random: the draw still verifies and the draw's inspections do not include it
    assert client.get(f"/api/v1/campaigns/{cid}/draw/verify", headers=headers).json["ok"] is True
    assert created.json["id"] not in {i["id"] for i in client.get(f"/api/v1/campaigns/{cid}/draw",
                                                                  headers=headers).json["inspections"]}

    def refused(**changes):
        response = client.post(f"/api/v1/campaigns/{cid}/cause-inspections", json=dict(body, **changes),
                               headers=headers)
        assert response.status_code == 422, response.json
        return response.json["error"]["fields"]

    assert "team" in refused(team=[hrss[0]])
    assert "team" in refused(team=[hrss[0], hrss[0]])
    assert "cause_note" in refused(cause_note="  ")
    assert "entity_id" in refused(entity_id=999999)
    assert "date" in refused(date="2026-13-01")
    planner = _ids(app, "planner.city")[0]
    assert "team" in refused(team=[hrss[0], planner])  # not an inspector

    client.post("/api/v1/inspector-conflicts", json={"user_id": hrss[0], "entity_id": extra[0], "reason": "配偶任该中介股东"},
                headers=headers)
    message = refused()["team"][0]
    assert "i.hrss.140602.0" in message and "回避" in message
    client.post("/api/v1/inspector-leave", json={"user_id": samr[0], "start_date": "2026-12-03",
                                                 "end_date": "2026-12-04"}, headers=headers)
    assert any("休假" in m for m in refused(team=[hrss[1], samr[0]])["team"])

    set_inspections(app, cid, status="cancelled")
    client.post(f"/api/v1/campaigns/{cid}/status", json={"status": "published"}, headers=headers)
    assert client.post(f"/api/v1/campaigns/{cid}/status", json={"status": "closed"}, headers=headers).status_code == 200
    closed = client.post(f"/api/v1/campaigns/{cid}/cause-inspections", json=dict(body, team=[hrss[1], samr[1]]),
                         headers=headers)
    assert closed.status_code == 409 and closed.json["error"]["code"] == "campaign_state"

    make_user("inspector.x", roles=("inspector",))
    assert client.post(f"/api/v1/campaigns/{cid}/cause-inspections", json=body,
                       headers=token_for("inspector.x")).status_code == 403


def test_cause_inspection_page(app, client, auth, make_user, token_for):
    cid, _headers = drawn_campaign(app, client, make_user, token_for)
    hrss, samr = _ids(app, "i.hrss.140681"), _ids(app, "i.samr.140681")
    extra = add_entities(app, 1, name="被投诉的婚介")
    code = _entity(app, extra[0]).credit_code
    make_user("planner.page", roles=("planner",), department="hrss", region="140600")
    auth.login("planner.page")
    page = client.get(f"/campaigns/{cid}/cause")
    assert page.status_code == 200 and "有因检查" in page.text and "i.hrss.140681.0" in page.text
    form = {"csrf_token": csrf_from(page.text), "entity": "nonexistent", "cause_note": "投诉",
            "officer_hrss": str(hrss[0]), "officer_samr": str(samr[0])}
    assert "登记库中没有该经营主体" in client.post(f"/campaigns/{cid}/cause", data=form).text
    only_one = client.post(f"/campaigns/{cid}/cause", data=dict(form, entity=code.lower(), officer_samr=""))
    assert "执法人员" in only_one.text and only_one.status_code == 200
    done = client.post(f"/campaigns/{cid}/cause", data=dict(form, entity=f" {code.lower()} ", date="2026-12-04"),
                       follow_redirects=True)
    assert "已添加对被投诉的婚介的有因检查" in done.text
    with app.app_context():
        inspection = db.session.scalar(sa.select(Inspection).where(Inspection.origin == "cause"))
        assert inspection.entity_id == extra[0] and inspection.cause_note == "投诉"
        assert str(inspection.scheduled_date) == "2026-12-04"
    calendar = client.get(f"/campaigns/{cid}/calendar").text
    assert "被投诉的婚介" in calendar and "有因" in calendar


# --- the calendar -----------------------------------------------------------------------------

def test_calendar_shows_days_teams_stops_and_route_sheets(app, client, auth, make_user, token_for):
    cid, headers = drawn_campaign(app, client, make_user, token_for)
    draw = client.get(f"/api/v1/campaigns/{cid}/draw", headers=headers).json
    routes = client.get(f"/api/v1/campaigns/{cid}/routes", headers=headers).json["items"]
    make_user("viewer.cal", roles=("viewer",), department="hrss", region="140600")
    auth.login("viewer.cal")
    page = client.get(f"/campaigns/{cid}/calendar")
    assert page.status_code == 200
    text = page.text
    for day in ("2026-12-01", "2026-12-07", "2026-12-11"):  # every working day of the period is a row
        assert day in text
    assert "2026-12-05" not in text and "2026-12-06" not in text  # the weekend is not
    assert "朔城区" in text and "怀仁市" in text
    for route in routes:
        assert f"/campaigns/{cid}/route/{route['team_day']}" in text
        assert route["stops"][0]["name"] in text
    assert len(draw["inspections"]) > 0
    assert "工作量" in text and "i.hrss." in text
    assert client.get("/campaigns/999/calendar").status_code == 404


# --- declared conflicts and leave -------------------------------------------------------------

def test_conflicts_and_leave_api(app, client, make_user, token_for):
    [entity_id] = add_entities(app, 1, legal_representative="王某某")
    inspectors = add_inspectors(make_user)
    headers = planner_headers(make_user, token_for)
    by_entity = client.post("/api/v1/inspector-conflicts", json={"user_id": inspectors[0], "entity_id": entity_id,
                                                                 "reason": "曾在该单位任职"}, headers=headers)
    assert by_entity.status_code == 201 and by_entity.json["entity_id"] == entity_id
    by_name = client.post("/api/v1/inspector-conflicts", json={"user_id": inspectors[1], "legal_representative": "王某某",
                                                               "reason": "近亲属"}, headers=headers)
    assert by_name.status_code == 201 and by_name.json["entity_id"] is None

    def fields(body):
        response = client.post("/api/v1/inspector-conflicts", json=body, headers=headers)
        assert response.status_code == 422, response.json
        return set(response.json["error"]["fields"])

    assert fields({"user_id": inspectors[0], "reason": "x"}) == {"entity_id"}
    assert fields({"user_id": inspectors[0], "entity_id": entity_id, "legal_representative": "王某某",
                   "reason": "x"}) == {"entity_id"}
    assert fields({"user_id": inspectors[0], "entity_id": 99999, "reason": "x"}) == {"entity_id"}
    assert fields({"user_id": "1", "entity_id": entity_id, "reason": ""}) == {"user_id", "reason"}
    assert fields({"user_id": inspectors[0], "entity_id": entity_id, "reason": "x" * 501}) == {"reason"}
    listed = client.get(f"/api/v1/inspector-conflicts?user_id={inspectors[1]}", headers=headers).json
    assert listed["total"] == 1 and listed["items"][0]["legal_representative"] == "王某某"
    assert client.delete(f"/api/v1/inspector-conflicts/{by_entity.json['id']}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/inspector-conflicts/{by_entity.json['id']}", headers=headers).status_code == 404

    leave = client.post("/api/v1/inspector-leave", json={"user_id": inspectors[2], "start_date": "2026-12-01",
                                                         "end_date": "2026-12-05", "note": "年休假"}, headers=headers)
    assert leave.status_code == 201 and leave.json["end_date"] == "2026-12-05"
    backwards = client.post("/api/v1/inspector-leave", json={"user_id": inspectors[2], "start_date": "2026-12-05",
                                                             "end_date": "2026-12-01"}, headers=headers)
    assert backwards.status_code == 422 and set(backwards.json["error"]["fields"]) == {"end_date"}
    assert client.get("/api/v1/inspector-leave", headers=headers).json["total"] == 1
    assert client.delete(f"/api/v1/inspector-leave/{leave.json['id']}", headers=headers).status_code == 204
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InspectorLeave)) == 0
        deletes = db.session.scalars(sa.select(AuditEvent.object_type).where(AuditEvent.action == "delete")).all()
        assert sorted(deletes) == ["inspector_conflicts", "inspector_leaves"]
    make_user("inspector.y", roles=("inspector",))
    assert client.get("/api/v1/inspector-conflicts", headers=token_for("inspector.y")).status_code == 403


def test_conflicts_and_leave_are_honoured_by_the_next_draw(app, client, make_user, token_for):
    entities = add_entities(app, 12)
    add_inspectors(make_user)
    headers = planner_headers(make_user, token_for)
    # every hrss inspector has a conflict with the first entity; every samr inspector of 朔城区 is on leave
    for user_id in _ids(app, "i.hrss."):
        assert client.post("/api/v1/inspector-conflicts", json={"user_id": user_id, "entity_id": entities[0],
                                                                "reason": "亲属"}, headers=headers).status_code == 201
    for user_id in _ids(app, "i.samr.140602"):
        client.post("/api/v1/inspector-leave", json={"user_id": user_id, "start_date": "2026-11-30",
                                                     "end_date": "2026-12-31"}, headers=headers)
    body = campaign_body(sample_size=None, sample_rate=1.0, risk_tiers=[])
    cid = client.post("/api/v1/campaigns", json=body, headers=headers).json["id"]
    result = client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": SEED}, headers=headers).json
    reasons = {s["entity_id"]: s["reason"] for s in result["shortfalls"]}
    assert reasons[entities[0]] == "every available hrss inspector must recuse"
    samr_140602 = set(_ids(app, "i.samr.140602"))
    for inspection in result["inspections"]:
        assert not samr_140602 & {m["user_id"] for m in inspection["team"]}
    make_user("viewer.page", roles=("viewer",), department="hrss", region="140600")
    AuthActions(client).login("viewer.page")
    page = client.get(f"/campaigns/{cid}").text  # the reason in the reader's language, with the entity's name
    assert f"{_entity(app, entities[0]).name}: 可派出的人社局执法人员均须回避。" in page


def test_conflicts_and_leave_pages(app, client, auth, make_user):
    [entity_id] = add_entities(app, 1)
    inspectors = add_inspectors(make_user, departments=("hrss",), per_county=1)
    code = _entity(app, entity_id).credit_code
    make_user("planner.page", roles=("planner",), department="hrss", region="140600")
    auth.login("planner.page")
    page = client.get("/campaigns/conflicts")
    assert page.status_code == 200 and "暂无利害关系申报" in page.text
    bad = client.post("/campaigns/conflicts", data={"csrf_token": csrf_from(page.text), "user_id": inspectors[0],
                                                    "reason": "亲属"})
    assert "二者择一" in bad.text
    done = client.post("/campaigns/conflicts", data={"csrf_token": csrf_from(page.text), "user_id": inspectors[0],
                                                     "entity": code, "reason": "亲属"}, follow_redirects=True)
    assert "利害关系已登记" in done.text and "测试中介0" in done.text
    with app.app_context():
        conflict = db.session.scalar(sa.select(InspectorConflict))
        assert conflict.entity_id == entity_id and conflict.user_id == inspectors[0]
    client.post(f"/campaigns/conflicts/{conflict.id}/delete", data={"csrf_token": csrf_from(done.text)})
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(InspectorConflict)) == 0

    page = client.get("/campaigns/leave")
    done = client.post("/campaigns/leave", data={"csrf_token": csrf_from(page.text), "user_id": inspectors[1],
                                                 "start_date": "2026-12-07", "end_date": "2026-12-09", "note": "培训"},
                       follow_redirects=True)
    assert "休假已登记" in done.text and "2026-12-07 – 2026-12-09" in done.text
    backwards = client.post("/campaigns/leave", data={"csrf_token": csrf_from(page.text), "user_id": inspectors[1],
                                                      "start_date": "2026-12-09", "end_date": "2026-12-07"})
    assert "结束日期早于开始日期" in backwards.text or "早于" in backwards.text
    make_user("viewer.z", roles=("viewer",), department="hrss", region="140600")
    auth.logout()
    auth.login("viewer.z")
    assert client.get("/campaigns/leave").status_code == 403
