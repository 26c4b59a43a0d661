"""The field inspection over HTTP (/api/v1/inspections, /api/v1/violations): the whole flow a tablet
runs, and every bad input issue 6 lists."""
from __future__ import annotations

import base64
import hashlib
import io
import threading
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.inspection.models import Answer, Evidence, Inspection, Referral, Violation
from tests.inspection_helpers import (PDF_BYTES, PIN, SITE, SVG_WITH_SCRIPT, exif_with, make_entity, make_inspection,
                                      make_team, noisy_jpeg, passing_answer, set_pins, signature_png)


@pytest.fixture
def tablet(app, make_user, token_for):
    team = make_team(make_user, "api")
    set_pins(app, [team["hrss"], team["samr"]])
    entity_id = make_entity(app, name="朔州市众诚人力资源服务有限公司")
    inspection_id = make_inspection(app, entity_id, [team["hrss"], team["samr"]])
    return {"team": team, "entity_id": entity_id, "id": inspection_id, "base": f"/api/v1/inspections/{inspection_id}",
            "hrss": token_for("api.hrss"), "samr": token_for("api.samr")}


def _count(app, model) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _png_b64() -> str:
    return "data:image/png;base64," + base64.b64encode(signature_png()).decode()


def multipart(content: bytes, name: str, form: dict) -> tuple[bytes, str]:
    """A multipart body built in memory (the test client spools big bodies to a file it never closes)."""
    import secrets
    boundary = "----tablet" + secrets.token_hex(8)  # a new boundary each time, as a browser resending would
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
             for key, value in form.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
                 f"Content-Type: image/jpeg\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def _upload(client, tablet, content: bytes, name: str = "photo.jpg", headers=None, **form):
    body, content_type = multipart(content, name, form)
    return client.post(tablet["base"] + "/evidence", data=body, content_type=content_type,
                       headers={**tablet["hrss"], **(headers or {})})


def _started(client, tablet) -> dict:
    response = client.post(tablet["base"] + "/start", json={"party_name": "李娟", "party_role": "法定代表人"},
                           headers=tablet["hrss"])
    assert response.status_code == 200, response.json
    return response.json


def _ready_to_complete(client, tablet, body: dict) -> None:
    """Attest both, check in, answer every item so that it passes, sign (officers and party)."""
    h = tablet["hrss"]
    assert client.post(tablet["base"] + "/attestations", json={"method": "session"}, headers=h).status_code == 201
    assert client.post(tablet["base"] + "/attestations", headers=h,
                       json={"officer_id": tablet["team"]["samr"], "method": "pin", "secret": PIN}).status_code == 201
    fix = client.post(tablet["base"] + "/check-in", headers=h,
                      json={"lat": SITE[0], "lon": SITE[1] + 0.0004, "accuracy_m": 8,
                            "at": datetime.now(timezone.utc).isoformat()})
    assert fix.status_code == 201 and fix.json["flagged"] is False
    from inspect_app.checklist.catalogue import ChecklistItem
    for checklist in body["checklists"]:
        for item in checklist["items"]:
            probe = ChecklistItem(code=item["code"], local_code=item["local_code"], checklist=checklist["code"],
                                  question_zh="", question_en="", answer_type=item["answer_type"],
                                  fail_on=item["fail_on"], fail_if=item["fail_if"])
            response = client.put(f"{tablet['base']}/answers/{item['code']}", json=passing_answer(probe), headers=h)
            assert response.status_code == 200, (item["code"], response.json)
    for officer in (tablet["team"]["hrss"], tablet["team"]["samr"]):
        assert client.post(tablet["base"] + "/signatures", headers=h,
                           json={"role": "officer", "officer_id": officer, "png": _png_b64()}).status_code == 201
    assert client.post(tablet["base"] + "/signatures", headers=h,
                       json={"role": "party", "signer_name": "李娟", "png": _png_b64()}).status_code == 201


# --------------------------------------------------------------------------------------------
# The whole flow

def test_whole_flow_through_the_api(app, client, tablet):
    h = tablet["hrss"]
    today = client.get("/api/v1/inspections?mine=1&date=" + _today(app), headers=h)
    assert today.status_code == 200 and today.json["total"] == 1
    item = today.json["items"][0]
    assert item["id"] == tablet["id"] and item["entity"]["name"] == "朔州市众诚人力资源服务有限公司"
    assert item["location"]["lat"] == SITE[0] and item["location"]["geo_uri"].startswith("geo:")

    planned = client.get(tablet["base"], headers=h).json
    assert planned["status"] == "planned" and planned["checklists"][0]["pinned"] is False
    body = _started(client, tablet)
    assert body["status"] == "in_progress"
    assert [c["code"] for c in body["checklists"]] == ["job_agency.hrss", "job_agency.samr", "joint.red_flags"]
    assert all(c["pinned"] and len(c["version"]) == 64 for c in body["checklists"])
    first = body["checklists"][0]["items"][0]
    assert set(first) >= {"code", "question", "answer_type"}

    incomplete = client.post(tablet["base"] + "/complete", json={}, headers=h)
    assert incomplete.status_code == 422 and incomplete.json["error"]["code"] == "incomplete"
    assert {"attestations", "check_in", "answers", "signatures"} <= set(incomplete.json["error"]["fields"])

    _ready_to_complete(client, tablet, body)
    photo = noisy_jpeg(seed=1, exif=exif_with(datetime(2026, 11, 30, 9, 30), lat=SITE[0], lon=SITE[1]))
    uploaded = _upload(client, tablet, photo, item_code="job_agency.hrss.display", caption="公示栏")
    assert uploaded.status_code == 201, uploaded.json
    assert uploaded.json["sha256"] == hashlib.sha256(photo).hexdigest()
    assert (uploaded.json["item_code"], uploaded.json["caption"]) == ("job_agency.hrss.display", "公示栏")
    assert uploaded.json["taken_at"] == "2026-11-30T01:30:00+00:00"
    assert uploaded.json["gps_lat"] == pytest.approx(SITE[0], abs=1e-5)
    display = client.get(uploaded.json["display_url"], headers=h)
    assert display.status_code == 200 and display.mimetype == "image/jpeg" and display.data[:3] == b"\xff\xd8\xff"
    display.close()
    original = client.get(uploaded.json["url"], headers=h)
    assert original.data == photo
    original.close()

    assert client.get(tablet["base"] + "/missing", headers=h).json == {"complete": True, "fields": {}}
    done = client.post(tablet["base"] + "/complete", json={}, headers=h)
    assert done.status_code == 200, done.json
    assert done.json["status"] == "completed" and done.json["outcome"] == "compliant"
    record = client.get(tablet["base"] + "/record", headers=h).json
    from inspect_app.checklist.catalogue import canonical_json
    assert hashlib.sha256(canonical_json(record["record"])).hexdigest() == record["record_sha256"] \
        == done.json["record_sha256"]
    assert record["record"]["evidence"][0]["sha256"] == uploaded.json["sha256"]

    again = client.post(tablet["base"] + "/complete", json={}, headers=h)
    assert again.status_code == 409 and again.json["error"]["code"] == "inspection_completed"


def _today(app) -> str:
    from inspect_app.inspection.services import local_today
    with app.app_context():
        return local_today().isoformat()


def test_completed_record_refuses_every_write_through_the_api(app, client, tablet):
    body = _started(client, tablet)
    _ready_to_complete(client, tablet, body)
    assert client.post(tablet["base"] + "/complete", json={}, headers=tablet["hrss"]).status_code == 200
    h = tablet["hrss"]
    item = body["checklists"][0]["items"][0]["code"]
    writes = [
        client.put(f"{tablet['base']}/answers/{item}", json={"result": "fail"}, headers=h),
        _upload(client, tablet, noisy_jpeg(seed=77)),
        client.post(tablet["base"] + "/violations", json={"type_code": "ja_not_filed", "description": "x"},
                    headers=h),
        client.post(tablet["base"] + "/signatures", json={"role": "witness", "signer_name": "路人", "png": _png_b64()},
                    headers=h),
        client.post(tablet["base"] + "/check-in", json={"lat": SITE[0], "lon": SITE[1], "accuracy_m": 5}, headers=h),
        client.post(tablet["base"] + "/attestations", json={"method": "session"}, headers=h),
        client.post(tablet["base"] + "/start", json={}, headers=h),
    ]
    assert [w.status_code for w in writes] == [409] * len(writes)
    amendment = client.post(tablet["base"] + "/amendments", headers=h,
                            json={"reason": "当事人职务记录有误", "changes": {"party_role": "店长"}})
    assert amendment.status_code == 201 and amendment.json["inspection_id"] == tablet["id"]
    detail = client.get(tablet["base"], headers=h).json
    assert detail["party_role"] == "法定代表人" and len(detail["amendments"]) == 1


# --------------------------------------------------------------------------------------------
# Bad input named by the issue

def test_pdf_renamed_jpg_is_refused_with_415(app, client, tablet):
    _started(client, tablet)
    response = _upload(client, tablet, PDF_BYTES, "scan.jpg")
    assert response.status_code == 415 and "PDF" in response.json["error"]["message"]
    assert _count(app, Evidence) == 0


def test_svg_with_script_is_refused_with_415(app, client, tablet):
    _started(client, tablet)
    response = _upload(client, tablet, SVG_WITH_SCRIPT, "photo.jpg")
    assert response.status_code == 415 and "SVG" in response.json["error"]["message"]
    assert _count(app, Evidence) == 0


def test_30_mb_image_is_refused_with_413(app, client, tablet):
    _started(client, tablet)
    big = b"\xff\xd8\xff\xe0" + bytes(30 * 1024 * 1024)
    response = _upload(client, tablet, big, "huge.jpg")
    assert response.status_code == 413 and response.json["error"]["code"] == "payload_too_large"
    assert "20" in response.json["error"]["message"]
    assert _count(app, Evidence) == 0


def test_zero_byte_file_is_refused_with_422(app, client, tablet):
    _started(client, tablet)
    response = _upload(client, tablet, b"", "empty.jpg")
    assert response.status_code == 422 and "file" in response.json["error"]["fields"]


def test_missing_file_field_is_422(client, tablet):
    _started(client, tablet)
    response = client.post(tablet["base"] + "/evidence", data={"caption": "x"}, content_type="multipart/form-data",
                           headers=tablet["hrss"])
    assert response.status_code == 422 and "file" in response.json["error"]["fields"]


def test_repeated_submissions_create_nothing_twice(app, client, tablet):
    _started(client, tablet)
    h = tablet["hrss"]
    photo = noisy_jpeg(seed=42)
    keyed = {"Idempotency-Key": "photo-1"}
    first = _upload(client, tablet, photo, headers=keyed)
    second = _upload(client, tablet, photo, headers=keyed)  # a new multipart boundary, same content
    assert first.status_code == second.status_code == 201
    assert second.json == first.json and second.headers["Idempotent-Replayed"] == "true"
    unkeyed = _upload(client, tablet, photo, name="again.jpg")  # the same photo without a key
    assert unkeyed.status_code == 200 and unkeyed.json["id"] == first.json["id"]
    assert _count(app, Evidence) == 1

    violation = {"type_code": "ja_annual_report_missing", "description": "未报送年度报告"}
    key = {"Idempotency-Key": "violation-1"}
    one = client.post(tablet["base"] + "/violations", json=violation, headers={**h, **key})
    two = client.post(tablet["base"] + "/violations", json=violation, headers={**h, **key})
    assert one.status_code == two.status_code == 201 and one.json == two.json
    assert _count(app, Violation) == 1

    code = "job_agency.hrss.licence_held"
    answers = [client.put(f"{tablet['base']}/answers/{code}", json={"value": "yes"},
                          headers={**h, "Idempotency-Key": "answer-1"}) for _ in range(2)]
    assert [a.json["revision"] for a in answers] == [1, 1]
    fixes = [client.post(tablet["base"] + "/check-in", json={"lat": SITE[0], "lon": SITE[1], "accuracy_m": 5},
                         headers={**h, "Idempotency-Key": "fix-1"}) for _ in range(2)]
    assert fixes[0].json == fixes[1].json
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 1
        from inspect_app.inspection.models import CheckIn
        assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 1


def test_user_not_on_the_team_gets_403(app, client, tablet, token_for):
    _started(client, tablet)
    outsider = token_for("api.outsider")  # an inspector of the same county, not on this team
    assert client.get(tablet["base"], headers=outsider).status_code == 200  # may read
    writes = [
        client.post(tablet["base"] + "/start", json={}, headers=outsider),
        client.put(tablet["base"] + "/answers/job_agency.hrss.licence_held", json={"value": "yes"}, headers=outsider),
        client.post(tablet["base"] + "/check-in", json={"lat": SITE[0], "lon": SITE[1], "accuracy_m": 5},
                    headers=outsider),
        client.post(tablet["base"] + "/evidence", data={"file": (io.BytesIO(noisy_jpeg()), "a.jpg")},
                    content_type="multipart/form-data", headers=outsider),
        client.post(tablet["base"] + "/complete", json={}, headers=outsider),
    ]
    assert [w.status_code for w in writes] == [403] * len(writes)
    assert {w.json["error"]["code"] for w in writes} == {"not_on_team"}
    assert _count(app, Evidence) == 0


def test_other_county_cannot_read(app, client, tablet, make_user, token_for):
    make_user("far.inspector", roles=("inspector",), region="140681")
    assert client.get(tablet["base"], headers=token_for("far.inspector")).status_code == 403
    listed = client.get("/api/v1/inspections", headers=token_for("far.inspector")).json
    assert listed["total"] == 0


def test_answer_to_an_item_not_in_the_pinned_checklist_is_422(client, tablet):
    _started(client, tablet)
    for code in ("entertainment_venue.culture.cctv_retention_days", "job_agency.hrss.no_such_item"):
        response = client.put(f"{tablet['base']}/answers/{code}", json={"result": "pass"}, headers=tablet["hrss"])
        assert response.status_code == 422 and "item_code" in response.json["error"]["fields"]


def test_bad_answer_bodies_are_422(client, tablet):
    _started(client, tablet)
    url = tablet["base"] + "/answers/job_agency.hrss.licence_held"
    assert client.put(url, json={"result": "perhaps"}, headers=tablet["hrss"]).status_code == 422
    assert client.put(url, json={"value": "maybe"}, headers=tablet["hrss"]).status_code == 422
    assert client.put(url, json={"result": "pass", "value": "no"}, headers=tablet["hrss"]).status_code == 422
    bad_json = client.put(url, data="{", content_type="application/json", headers=tablet["hrss"])
    assert bad_json.status_code == 400


# --------------------------------------------------------------------------------------------
# Check-in, attestations, violations

def test_check_in_flags(app, client, tablet):
    _started(client, tablet)
    h = tablet["hrss"]
    now = datetime.now(timezone.utc)
    far = client.post(tablet["base"] + "/check-in", headers=h,
                      json={"lat": SITE[0] + 0.005, "lon": SITE[1], "accuracy_m": 10, "at": now.isoformat()})
    assert far.status_code == 422 and "reason" in far.json["error"]["fields"]
    far = client.post(tablet["base"] + "/check-in", headers=h,
                      json={"lat": SITE[0] + 0.005, "lon": SITE[1], "accuracy_m": 10, "at": now.isoformat(),
                            "reason": "登记地址有误"})
    assert far.status_code == 201 and far.json["flags"] == ["far"] and far.json["flagged"] is True
    assert 540 < far.json["distance_m"] < 570
    jump = client.post(tablet["base"] + "/check-in", headers=h,
                       json={"lat": SITE[0] + 0.5, "lon": SITE[1], "accuracy_m": 0,
                             "at": (now + timedelta(seconds=30)).isoformat(), "reason": "测试"})
    assert jump.status_code == 201 and set(jump.json["flags"]) == {"far", "no_accuracy", "too_fast"}
    bad = client.post(tablet["base"] + "/check-in", headers=h, json={"lat": "north", "lon": SITE[1]})
    assert bad.status_code == 422 and "lat" in bad.json["error"]["fields"]
    bad_time = client.post(tablet["base"] + "/check-in", headers=h, json={"lat": SITE[0], "lon": SITE[1],
                                                                          "at": "yesterday"})
    assert bad_time.status_code == 422 and "at" in bad_time.json["error"]["fields"]


def test_partner_with_wrong_pin_is_refused(app, client, tablet):
    _started(client, tablet)
    response = client.post(tablet["base"] + "/attestations", headers=tablet["hrss"],
                           json={"officer_id": tablet["team"]["samr"], "method": "pin", "secret": "1111"})
    assert response.status_code == 422 and "secret" in response.json["error"]["fields"]
    from inspect_app.auth.models import User
    with app.app_context():
        assert db.session.get(User, tablet["team"]["samr"]).failed_login_count == 1  # kept despite the 422
    assert client.get(tablet["base"], headers=tablet["hrss"]).json["attestations"] == []
    session_for_partner = client.post(tablet["base"] + "/attestations", headers=tablet["hrss"],
                                      json={"officer_id": tablet["team"]["samr"], "method": "session"})
    assert session_for_partner.status_code == 422


def test_criminal_violation_opens_a_police_referral_and_hides_the_facts(app, client, tablet, token_for):
    _started(client, tablet)
    h = tablet["hrss"]
    code = "joint.red_flags.deception"
    assert client.put(f"{tablet['base']}/answers/{code}", json={"value": "yes"}, headers=h).json["result"] == "fail"
    proposed = client.get(tablet["base"] + "/proposed-violations", headers=h).json["items"]
    assert proposed[0]["type_code"] == "rf_suspected_trafficking" and proposed[0]["criminal"] is True
    photo = _upload(client, tablet, noisy_jpeg(seed=8), item_code=code).json
    created = client.post(tablet["base"] + "/violations", headers=h,
                          json={"type_code": "rf_suspected_trafficking", "item_code": code,
                                "description": "以招聘服务员为名诱骗16岁女孩", "evidence_ids": [photo["id"]],
                                "victims": [{"name": "某女", "age": 16}]})
    assert created.status_code == 201, created.json
    referral = created.json["referral"]
    assert referral["kind"] == "criminal" and referral["to_department"] == "police" and referral["urgent"]
    due = datetime.fromisoformat(referral["due_at"])
    assert timedelta(hours=23, minutes=58) < due - datetime.now(timezone.utc) <= timedelta(hours=24)
    assert created.json["restricted"] and created.json["criminal"]

    planner = token_for("api.planner")
    listed = client.get("/api/v1/violations", headers=planner).json
    assert listed["total"] == 1 and listed["items"][0]["description"] is None
    assert listed["items"][0]["evidence_ids"] == []
    assert client.get(photo["url"], headers=planner).status_code == 403
    police = client.get("/api/v1/violations?criminal=true", headers=token_for("api.police")).json
    assert police["items"][0]["description"].startswith("以招聘服务员")
    with app.app_context():
        row = db.session.scalar(sa.select(Referral))
        assert "某女" not in (row.restricted_data or "") and row.restricted_data.startswith("sv1:referral-restricted:")


def test_violation_of_an_unknown_type_is_422(client, tablet):
    _started(client, tablet)
    response = client.post(tablet["base"] + "/violations", headers=tablet["hrss"],
                           json={"type_code": "made_up", "description": "x"})
    assert response.status_code == 422 and "type_code" in response.json["error"]["fields"]


def test_signatures_checked_by_content(client, tablet):
    _started(client, tablet)
    h = tablet["hrss"]
    jpeg = "data:image/png;base64," + base64.b64encode(noisy_jpeg()).decode()
    assert client.post(tablet["base"] + "/signatures", headers=h,
                       json={"role": "party", "signer_name": "李娟", "png": jpeg}).status_code == 415
    assert client.post(tablet["base"] + "/signatures", headers=h,
                       json={"role": "party", "signer_name": "李娟", "png": "%%%"}).status_code == 422
    blank = base64.b64encode(signature_png(blank=True)).decode()
    assert client.post(tablet["base"] + "/signatures", headers=h,
                       json={"role": "party", "signer_name": "李娟", "png": blank}).status_code == 422
    refused = client.post(tablet["base"] + "/signatures", headers=h,
                          json={"role": "party", "signer_name": "李娟", "refused": True, "note": "拒绝签字"})
    assert refused.status_code == 201 and refused.json["refused"] and refused.json["sha256"] is None
    witness = client.post(tablet["base"] + "/signatures", headers=h,
                          json={"role": "witness", "signer_name": "王五（隔壁店主）", "png": _png_b64()})
    assert witness.status_code == 201
    assert witness.json["sha256"] == hashlib.sha256(signature_png()).hexdigest()


def test_planner_creates_a_single_inspection(app, client, tablet, token_for):
    planner = token_for("api.planner")
    body = {"entity_id": tablet["entity_id"], "lead_department": "samr", "date": _today(app),
            "officers": [tablet["team"]["samr"], tablet["team"]["hrss"]], "cause_note": "群众举报虚假招聘广告"}
    created = client.post("/api/v1/inspections", json=body, headers=planner)
    assert created.status_code == 201, created.json
    assert created.json["status"] == "planned" and created.json["origin"] == "cause"
    assert {m["user_id"] for m in created.json["team"]} == {tablet["team"]["samr"], tablet["team"]["hrss"]}
    assert client.post("/api/v1/inspections", json=body, headers=tablet["hrss"]).status_code == 403
    short = client.post("/api/v1/inspections", json={**body, "officers": [tablet["team"]["samr"]]}, headers=planner)
    assert short.status_code == 422 and "officers" in short.json["error"]["fields"]
    mine = client.get("/api/v1/inspections?mine=1&date=" + _today(app), headers=tablet["samr"]).json
    assert [i["id"] for i in mine["items"]] == [tablet["id"], created.json["id"]]


def test_concurrent_answers_from_two_tablets_make_one_row(app, client, tablet, backend):
    _started(client, tablet)
    code = "job_agency.hrss.ledger"
    results, errors = [], []
    barrier = threading.Barrier(2)

    def send(token, value):
        try:
            barrier.wait()
            response = app.test_client().put(f"{tablet['base']}/answers/{code}", json={"value": value}, headers=token)
            results.append(response.status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    threads = [threading.Thread(target=send, args=(tablet["hrss"], "yes")),
               threading.Thread(target=send, args=(tablet["samr"], "no"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and results == [200, 200]
    with app.app_context():
        answer = db.session.scalar(sa.select(Answer).where(Answer.item_code == code))
        assert answer.revision == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == 1


def test_completion_racing_a_late_answer(app, client, tablet, backend):
    """A tablet completes while the other saves an answer: either the answer lands before the freeze
    (and is in the record) or it is refused with 409; never an answer outside the frozen record."""
    body = _started(client, tablet)
    _ready_to_complete(client, tablet, body)
    code = "job_agency.hrss.ledger"
    results = {}
    barrier = threading.Barrier(2)

    def complete():
        barrier.wait()
        results["complete"] = app.test_client().post(tablet["base"] + "/complete", json={},
                                                     headers=tablet["hrss"]).status_code

    def answer():
        barrier.wait()
        results["answer"] = app.test_client().put(f"{tablet['base']}/answers/{code}", json={"value": "yes",
                                                  "note": "后补"}, headers=tablet["samr"]).status_code
    threads = [threading.Thread(target=complete), threading.Thread(target=answer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results["complete"] == 200 and results["answer"] in (200, 409)
    with app.app_context():
        inspection = db.session.get(Inspection, tablet["id"])
        stored = db.session.scalar(sa.select(Answer).where(Answer.item_code == code))
        in_record = next(a for a in inspection.record["answers"] if a["item_code"] == code)
        assert (stored.note, stored.revision) == (in_record["note"], in_record["revision"])


def test_planner_cancels_and_writes_then_answer_409(client, tablet, token_for):
    planner = token_for("api.planner")
    assert client.post(tablet["base"] + "/cancel", json={"reason": ""}, headers=planner).status_code == 422
    cancelled = client.post(tablet["base"] + "/cancel", json={"reason": "经营者已停业"}, headers=planner)
    assert cancelled.status_code == 200 and cancelled.json["status"] == "cancelled"
    start = client.post(tablet["base"] + "/start", json={}, headers=tablet["hrss"])
    assert start.status_code == 409 and start.json["error"]["code"] == "inspection_cancelled"
    assert client.post(tablet["base"] + "/cancel", json={"reason": "再取消"}, headers=planner).status_code == 409


def test_officer_sets_a_pin_and_confirms_with_it(app, client, tablet):
    from tests.conftest import DEMO_PASSWORD
    samr = tablet["samr"]
    assert client.put("/api/v1/officer/pin", json={"pin": "5555", "password": DEMO_PASSWORD},
                      headers=samr).status_code == 422
    assert client.put("/api/v1/officer/pin", json={"pin": "3456", "password": DEMO_PASSWORD},
                      headers=samr).status_code == 422
    wrong = client.put("/api/v1/officer/pin", json={"pin": "7391", "password": "not-my-password"}, headers=samr)
    assert wrong.status_code == 422 and "password" in wrong.json["error"]["fields"]
    assert client.put("/api/v1/officer/pin", json={"pin": "7391", "password": DEMO_PASSWORD},
                      headers=samr).status_code == 204
    _started(client, tablet)
    confirmed = client.post(tablet["base"] + "/attestations", headers=tablet["hrss"],
                            json={"officer_id": tablet["team"]["samr"], "method": "pin", "secret": "7391"})
    assert confirmed.status_code == 201 and confirmed.json["method"] == "pin"


def test_withdraw_a_violation_recorded_by_mistake(app, client, tablet):
    _started(client, tablet)
    h = tablet["hrss"]
    created = client.post(tablet["base"] + "/violations", json={"type_code": "ja_not_filed", "description": "误录"},
                          headers=h).json
    url = f"{tablet['base']}/violations/{created['id']}/withdraw"
    assert client.post(url, json={"reason": ""}, headers=h).status_code == 422
    withdrawn = client.post(url, json={"reason": "点错了"}, headers=h)
    assert withdrawn.status_code == 200 and withdrawn.json["status"] == "withdrawn"
    assert client.post(f"{tablet['base']}/violations/999/withdraw", json={"reason": "x"}, headers=h).status_code == 404
