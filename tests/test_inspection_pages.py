"""The field inspector's pages without JavaScript (plain forms), who may see and change what, and the
session-cookie API calls the tablet script makes (CSRF header)."""
from __future__ import annotations

import base64
import io
import re

import pytest
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.inspection.models import Answer, CheckIn, Evidence, Inspection
from tests.conftest import AuthActions, csrf_from
from tests.inspection_helpers import (PIN, SITE, make_entity, make_inspection, make_team, noisy_jpeg, set_pins,
                                      signature_png)


@pytest.fixture
def field(app, make_user):
    team = make_team(make_user, "pg")
    set_pins(app, [team["hrss"], team["samr"]])
    entity_id = make_entity(app, name="朔州市众诚人力资源服务有限公司")
    inspection_id = make_inspection(app, entity_id, [team["hrss"], team["samr"]])
    return {"team": team, "id": inspection_id, "base": f"/inspections/{inspection_id}"}


def _text(response) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.get_data(as_text=True)))


def _post(client, url, data, page=None):
    """Submit a form of ``page`` (default: the URL itself) with its CSRF token."""
    token = csrf_from(client.get(page or url).data)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=True)


def _inspection(app, inspection_id):
    with app.app_context():
        inspection = db.session.get(Inspection, inspection_id)
        return {"status": inspection.status, "party": inspection.party_name, "record_sha256": inspection.record_sha256,
                "attested": sorted(a.method for a in inspection.attestations),
                "answers": {a.item_code: (a.result, a.value, a.note) for a in inspection.answers},
                "evidence": [e.item_code for e in inspection.evidence], "violations": len(inspection.violations),
                "checkins": [(c.flags, c.reason) for c in inspection.checkins],
                "signatures": sorted((s.slot, s.refused) for s in inspection.signatures)}


def _items(app, inspection_id):
    from inspect_app.inspection.services import pinned_items
    with app.app_context(), app.test_request_context():
        return [item for _, items in pinned_items(db.session.get(Inspection, inspection_id)) for item in items]


def test_today_lists_the_route_with_navigation(client, app, field):
    AuthActions(client).login("pg.hrss")
    page = client.get("/today")
    text = _text(page)
    assert "今日任务" in text and "朔州市众诚人力资源服务有限公司" in text and "开始检查" in text
    assert re.search(r'href="geo:39\.331000,112\.432000\?q=', page.get_data(as_text=True))
    assert "刘人社" in text and "陈市监" in text  # the team
    tomorrow = client.get("/today?date=2099-01-01")
    assert "这一天没有安排您的检查任务" in _text(tomorrow)
    assert client.get("/today?date=not-a-date").status_code == 200  # falls back to today


def test_today_shows_only_my_inspections(client, app, field):
    AuthActions(client).login("pg.culture")  # an inspector of the county, not on this team
    assert "朔州市众诚人力资源服务有限公司" not in _text(client.get("/today"))


def test_whole_inspection_with_plain_forms(client, app, field):
    """Start, the partner's PIN (a wrong one first), check-in by hand (far: a reason), answers, a photo, the
    violation, the party's refusal with a witness, the missing list, completion, the read-only record."""
    base = field["base"]
    AuthActions(client).login("pg.hrss")
    assert "开始检查" in _text(client.get(base + "/start"))
    _post(client, base + "/start", {"start-party_name": "李娟", "start-party_role": "法定代表人", "start-attest": "y",
                                    "action": "start"})
    assert _inspection(app, field["id"])["status"] == "in_progress"

    partner = {"partner-officer_id": str(field["team"]["samr"]), "partner-attest": "y", "partner-method": "pin",
               "action": "partner"}
    wrong = _post(client, base + "/start", {**partner, "partner-secret": "0000"})
    assert "PIN 码或密码错误" in _text(wrong)
    with app.app_context():
        from inspect_app.auth.models import User
        assert db.session.get(User, field["team"]["samr"]).failed_login_count == 1  # kept though refused
    _post(client, base + "/start", {**partner, "partner-secret": PIN})
    assert _inspection(app, field["id"])["attested"] == ["pin", "session"]

    far = {"lat": str(SITE[0] + 0.01), "lon": str(SITE[1]), "accuracy_m": "15"}
    refused = _post(client, base + "/check-in", far)
    assert "请说明原因" in _text(refused) and _inspection(app, field["id"])["checkins"] == []
    _post(client, base + "/check-in", {**far, "reason": "登记地址已拆迁，在新址营业。"})
    assert _inspection(app, field["id"])["checkins"] == [(["far"], "登记地址已拆迁，在新址营业。")]

    checklist = base + "/checklist"
    items = _items(app, field["id"])
    first = items[0]
    assert first.answer_type == "yes_no_na" and first.fail_on == "no"
    _post(client, f"{base}/answers/{first.code}", {"choice": "no:fail", "note": "未见许可证。"}, page=checklist)
    # the note alone keeps the answer
    _post(client, f"{base}/answers/{first.code}", {"choice": "keep", "note": "未见许可证，负责人称在办理。"},
          page=checklist)
    assert _inspection(app, field["id"])["answers"][first.code] == ("fail", "no", "未见许可证，负责人称在办理。")
    for n, item in enumerate(items[1:], start=1):
        if item.answer_type == "yes_no_na":
            choice = {"yes": "no:", "no": "yes:"}.get(item.fail_on or "", "yes:pass")
            data = {"choice": choice}
        elif item.answer_type == "number":
            data = {"choice": ":", "value": str(item.fail_if["value"] + 5)}
        elif item.answer_type == "staff_roster":
            data = {"choice": "roster", "roster": "张三, 140602199001011236, 业务员, 2024-03-01"}
        elif item.answer_type == "photo":
            data = {"choice": ":na"}
        else:
            continue  # free text is optional
        _post(client, f"{base}/answers/{item.code}", data, page=checklist)
    answers = _inspection(app, field["id"])["answers"]
    roster = next(item for item in items if item.answer_type == "staff_roster")
    assert answers[roster.code][0] == "pass" and answers[roster.code][1]["people"][0]["id_masked"].startswith("1406")
    assert "140602199001011236" not in str(answers[roster.code][1])

    photo = client.post(base + "/evidence", data={
        "csrf_token": csrf_from(client.get(checklist).data), "item_code": first.code,
        "file": (io.BytesIO(noisy_jpeg(seed=7)), "licence.jpg")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert "照片已保存" in _text(photo)
    assert _inspection(app, field["id"])["evidence"] == [first.code]
    not_a_photo = client.post(base + "/evidence", data={
        "csrf_token": csrf_from(client.get(checklist).data), "item_code": first.code,
        "file": (io.BytesIO(b"%PDF-1.4 not a photo"), "scan.jpg")}, content_type="multipart/form-data",
        follow_redirects=True)
    assert not_a_photo.status_code == 415 and "PDF" in _text(not_a_photo)

    violations = client.get(base + "/violations")
    assert "未取得人力资源服务许可证从事职业中介活动" in _text(violations)
    with app.app_context():
        evidence_id = db.session.scalar(sa.select(Evidence.id))
    _post(client, base + "/violations", {"type_code": "ja_unlicensed", "item_code": first.code,
                                         "description": "现场无人力资源服务许可证，正在介绍求职者。",
                                         "evidence_ids": str(evidence_id)})
    assert _inspection(app, field["id"])["violations"] == 1

    missing = _text(client.get(base + "/complete"))
    assert "服务器已核查记录，尚缺" in missing and "执法人员 刘人社 的签名" in missing

    _post(client, base + "/sign", {"role": "refusal", "refusal-note": "当事人称需请示老板，拒绝签字。"})
    assert _inspection(app, field["id"])["signatures"] == [("party", True)]
    sign_page = _text(client.get(base + "/sign"))
    assert "当事人拒绝签名" in sign_page and "见证人" in sign_page
    api = f"/api/v1/inspections/{field['id']}/signatures"
    token = csrf_from(client.get(base + "/sign").data)
    png = "data:image/png;base64," + base64.b64encode(signature_png()).decode()
    for body in ({"role": "officer", "officer_id": field["team"]["hrss"]},
                 {"role": "officer", "officer_id": field["team"]["samr"]},
                 {"role": "witness", "signer_name": "王见证"}):
        response = client.post(api, json={**body, "png": png}, headers={"X-CSRFToken": token})
        assert response.status_code == 201, response.json

    done = _post(client, base + "/complete", {})
    assert "检查已完成" in _text(done)
    state = _inspection(app, field["id"])
    assert state["status"] == "completed" and state["record_sha256"] in done.get_data(as_text=True)
    assert "只读" in _text(done)
    # the steps show the record now, and a late answer changes nothing
    assert client.get(checklist).headers["Location"].endswith(base + "/record")
    late = _post(client, f"{base}/answers/{first.code}", {"choice": "yes:pass"}, page=base + "/record")
    assert "本次检查已办结" in _text(late)
    assert _inspection(app, field["id"]) == state


def test_outsiders_may_look_but_not_change(client, app, field):
    AuthActions(client).login("pg.culture")  # an inspector of the county, not on the team
    page = client.get(field["base"] + "/start")
    assert page.status_code == 200 and "您不是本次检查的执法人员：只能查看，不能修改" in _text(page)
    token = csrf_from(page.data)
    refused = client.post(field["base"] + "/start", data={"csrf_token": token, "action": "start",
                                                          "start-attest": "y"})
    assert refused.status_code == 403
    assert _inspection(app, field["id"])["status"] == "planned"


def test_other_county_cannot_open_it(client, app, field, make_user):
    make_user("far.inspector", roles=("inspector",), department="hrss", region="140681")
    AuthActions(client).login("far.inspector")
    assert client.get(field["base"] + "/start").status_code == 403


def test_session_api_calls_need_the_csrf_header(client, app, field):
    """The tablet script saves through the JSON API with the session cookie and the page's CSRF token."""
    AuthActions(client).login("pg.hrss")
    _post(client, field["base"] + "/start", {"start-attest": "y", "action": "start"})
    item = _items(app, field["id"])[0]
    url = f"/api/v1/inspections/{field['id']}/answers/{item.code}"
    assert client.put(url, json={"value": "yes"}).status_code == 400  # no token: refused
    token = csrf_from(client.get(field["base"] + "/checklist").data)
    headers = {"X-CSRFToken": token, "Idempotency-Key": "tablet-change-1"}
    first = client.put(url, json={"value": "yes", "note": "许可证在墙上。"}, headers=headers)
    again = client.put(url, json={"value": "yes", "note": "许可证在墙上。"}, headers=headers)
    assert first.status_code == again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    with app.app_context():
        answer = db.session.scalar(sa.select(Answer).where(Answer.item_code == item.code))
        assert (answer.result, answer.revision) == ("pass", 1)


def test_restricted_facts_are_hidden_from_a_planner(client, app, field):
    from inspect_app.inspection import services
    from inspect_app.auth.models import User
    with app.test_request_context():
        inspection = db.session.get(Inspection, field["id"])
        lead = db.session.get(User, field["team"]["hrss"])
        services.start_inspection(inspection, lead)
        services.save_answer(inspection, lead, "joint.red_flags.abuse_of_vulnerability", result=None, value="yes")
        services.record_violation(inspection, lead, type_code="rf_suspected_trafficking",
                                  item_code="joint.red_flags.abuse_of_vulnerability",
                                  description="两名外地女青年称身份证被老板收走。")
        db.session.commit()
    AuthActions(client).login("pg.hrss")
    mine = _text(client.get(field["base"] + "/violations"))
    assert "两名外地女青年称身份证被老板收走" in mine and "紧急移送公安机关" in mine
    AuthActions(client).logout()
    AuthActions(client).login("pg.planner")
    theirs = _text(client.get(field["base"] + "/violations"))
    assert "受限信息：涉及可能的被害人" in theirs and "两名外地女青年" not in theirs


def test_planner_page_refuses_a_team_of_one(client, app, field):
    AuthActions(client).login("pg.planner")
    with app.app_context():
        entity_id = db.session.get(Inspection, field["id"]).entity_id
    page = client.get(f"/inspections/new?entity_id={entity_id}")
    assert "刘人社" in _text(page) and "陈市监" in _text(page)
    response = client.post("/inspections/new", data={
        "csrf_token": csrf_from(page.data), "entity_id": str(entity_id), "lead_department": "hrss",
        "officers": str(field["team"]["hrss"]), "scheduled_date": "2026-12-02"})
    assert response.status_code == 200 and "至少需要两名不同的持证执法人员" in _text(response)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 1


def test_check_in_far_with_reason_is_flagged_on_the_page(client, app, field):
    AuthActions(client).login("pg.hrss")
    _post(client, field["base"] + "/start", {"start-attest": "y", "action": "start"})
    _post(client, field["base"] + "/check-in", {"lat": str(SITE[0]), "lon": str(SITE[1]), "accuracy_m": "0"})
    page = _text(client.get(field["base"] + "/check-in"))
    assert "未报告定位精度" in page  # zero accuracy is not believed
    with app.app_context():
        assert db.session.scalar(sa.select(CheckIn.flags)) == ["no_accuracy"]


def test_a_violation_recorded_by_mistake_is_withdrawn_with_a_reason(client, app, field):
    from inspect_app.auth.models import User
    from inspect_app.inspection import services
    from inspect_app.inspection.models import Referral, Violation
    with app.test_request_context():
        inspection = db.session.get(Inspection, field["id"])
        lead = db.session.get(User, field["team"]["hrss"])
        services.start_inspection(inspection, lead)
        services.save_answer(inspection, lead, "joint.red_flags.deception", result=None, value="yes")
        violation = services.record_violation(inspection, lead, type_code="rf_suspected_trafficking",
                                              item_code="joint.red_flags.deception", description="误点了“是”。")
        db.session.commit()
        violation_id = violation.id
    AuthActions(client).login("pg.hrss")
    page = client.get(field["base"] + "/violations")
    assert "撤回（误录）" in _text(page)
    url = f"{field['base']}/violations/{violation_id}/withdraw"
    empty = client.post(url, data={"csrf_token": csrf_from(page.data), "reason": ""}, follow_redirects=True)
    assert "撤回理由" in _text(empty)  # a reason is required
    done = client.post(url, data={"csrf_token": csrf_from(page.data), "reason": "检查人员误触，现场未发现该情形。"},
                       follow_redirects=True)
    assert "违法行为已撤回" in _text(done) and "已撤回" in _text(done)
    with app.app_context():
        assert db.session.get(Violation, violation_id).status == "withdrawn"
        assert db.session.scalar(sa.select(Referral.status).where(Referral.violation_id == violation_id)) == "cancelled"
    # the failed answer proposes its violation again until the answer is corrected
    assert "涉嫌拐卖或者收买被拐卖的妇女、儿童" in _text(client.get(field["base"] + "/violations"))


# --------------------------------------------------------------------------------------------
# Offline copies on the tablets (static/js/field-sw.js; the browser side is tests/browser/test_field_offline.py)


def _worker_settings(script: str) -> dict:
    import json
    first, _, rest = script.partition("\n")
    assert first.startswith("self.FIELD_SW = ") and first.endswith(";") and "addEventListener" in rest
    return json.loads(first[len("self.FIELD_SW = "):-1])


def test_the_service_worker_is_served_to_anyone_with_versioned_files(client):
    """Its scope must cover /today and /inspections/: it is at the root, and no sign-in may stop an update."""
    script = client.get("/field-sw.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
    assert script.headers["Cache-Control"] == "no-cache"
    assert "worker-src 'self'" in script.headers["Content-Security-Policy"]
    assert client.get("/field-sw.js", headers={"If-None-Match": script.headers["ETag"]}).status_code == 304
    settings = _worker_settings(script.get_data(as_text=True))
    assert (settings["login"], settings["logout"]) == ("/login", "/logout")
    assert re.fullmatch(r"[0-9a-f]{12}", settings["version"])
    assert len(settings["assets"]) == 6
    for url in settings["assets"]:
        path, _, version = url.partition("?v=")
        body = client.get(url)
        assert body.status_code == 200 and version == __import__("hashlib").sha256(body.data).hexdigest()[:12], url
        body.close()
    pages = [re.compile(pattern) for pattern in settings["pages"]]
    kept = ["/today", "/inspections/5", "/inspections/5/start", "/inspections/5/check-in", "/inspections/5/checklist",
            "/inspections/5/violations", "/inspections/5/sign", "/inspections/5/complete", "/inspections/5/record"]
    never = ["/", "/login", "/inspections/new", "/api/v1/inspections/5", "/inspections/5/signatures/1.png",
             "/inspections/5/answers/x", "/cases", "/today/x"]
    assert [p for p in kept if not any(r.search(p) for r in pages)] == []
    assert [p for p in never if any(r.search(p) for r in pages)] == []


def test_static_urls_change_with_the_files(tmp_path):
    from inspect_app.assets import file_version
    asset = tmp_path / "field.js"
    asset.write_text("var a = 1;")
    before = file_version(asset)
    asset.write_text("var a = 2; // longer")
    assert file_version(asset) != before and file_version(tmp_path / "missing.js") is None


def test_today_asks_for_copies_of_its_inspections_steps(client, app, field):
    from datetime import timedelta

    from inspect_app.auth.models import User
    AuthActions(client).login("pg.hrss")
    page = client.get("/today")
    html = page.get_data(as_text=True)
    found = re.search(r"data-offline-pages='([^']+)'", html)
    assert found, "no list of pages to keep"
    base = field["base"]
    assert __import__("json").loads(found.group(1)) == [
        "/today", base, f"{base}/start", f"{base}/check-in", f"{base}/checklist", f"{base}/violations",
        f"{base}/sign", f"{base}/complete"]
    assert 'data-sw="/field-sw.js"' in html and 'data-offline-copy=""' in html
    assert re.search(r'href="/static/css/field\.css\?v=[0-9a-f]{12}"', html)
    # whose pages these are: the worker keeps them in that user's cache only
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "pg.hrss"))
    assert page.headers["X-Field-User"] == str(user_id)
    assert client.get(base + "/checklist", follow_redirects=True).headers["X-Field-User"] == str(user_id)
    assert "X-Field-User" not in client.get("/").headers
    assert "X-Field-User" not in client.get(f"/api/v1/inspections/{field['id']}").headers
    # another day is looked at, not kept
    with app.app_context():
        from inspect_app.inspection.services import local_today
        tomorrow = (local_today() + timedelta(days=1)).isoformat()
    assert "data-offline-pages" not in client.get(f"/today?date={tomorrow}").get_data(as_text=True)


def test_a_background_copy_leaves_the_session_alone(client, app, field):
    """The worker's fetch of a page (X-Field-Copy) sets no cookie: it cannot undo what a request beside it
    stored in the session, nor take the message meant for the page the inspector opens."""
    AuthActions(client).login("pg.hrss")
    start = field["base"] + "/start"
    token = csrf_from(client.get(start).data)
    client.post(start, data={"csrf_token": token, "action": "start", "start-party_name": "李娟",
                             "start-party_role": "法定代表人", "start-attest": "y"})
    copy = client.get(start, headers={"X-Field-Copy": "1"})
    assert copy.status_code == 200 and "Set-Cookie" not in copy.headers
    assert "检查已开始" in _text(client.get(start))  # the flash is still there for the inspector's own page


def test_signing_out_clears_the_browsers_cache(client, field):
    AuthActions(client).login("pg.hrss")
    response = AuthActions(client).logout()
    assert response.headers["Location"] == "/login" and response.headers["Clear-Site-Data"] == '"cache"'
