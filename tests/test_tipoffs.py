"""Tip-offs: public reporting (rate-limited), the status by tracking code, anonymity, triage."""
from __future__ import annotations

import io
import json
from pathlib import Path

import sqlalchemy as sa
from PIL import Image

from inspect_app.extensions import db
from tests.cases_helpers import make_entity, team
from tests.conftest import AuthActions, csrf_from

CONTACT = "13912345678 王某某"
REPORT = {"target_name": "朔城区某某劳务信息部", "target_address": "朔城区北关街", "region_code": "140602",
          "target_kind": "job_agency", "category": "deposit_or_documents",
          "description": "招工时收取每人500元押金并扣留身份证。", "contact": CONTACT}


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps.update({1: "N", 2: (39.0, 19.0, 48.0), 3: "E", 4: (112.0, 25.0, 48.0)})
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def test_public_report_form_then_status_by_tracking_code(app, client, make_user):
    page = client.get("/tipoff")
    assert page.status_code == 200 and "举报" in page.data.decode()  # Chinese first, no sign-in
    blob = _jpeg_with_gps()
    assert b"PhoneMaker" in blob
    r = client.post("/tipoff", data={**REPORT, "csrf_token": csrf_from(page.data),
                                     "photos": [(io.BytesIO(blob), "IMG_0001.jpg")]},
                    content_type="multipart/form-data")
    assert r.status_code == 201
    html = r.data.decode()
    code = html.split("<code>")[1].split("</code>")[0]
    assert code.startswith("JB-") and len(code) == 22 and CONTACT not in html
    assert r.headers["Cache-Control"] == "no-store"
    from inspect_app.cases.models import TipOff
    with app.app_context():
        tipoff = db.session.scalar(sa.select(TipOff))
        assert tipoff.status == "received" and not tipoff.urgent and tipoff.has_contact
        stored = Path(app.config["INSPECT_DATA_DIR"]) / tipoff.photos[0].stored_path
        kept = stored.read_bytes()
        assert b"PhoneMaker" not in kept and not Image.open(io.BytesIO(kept)).getexif()  # no EXIF, no GPS
    status = client.get(f"/api/v1/tipoffs/{code.lower().replace('-', ' ')}")  # typed loosely
    assert status.status_code == 200
    assert set(status.json) == {"status", "status_label", "received_on", "updated_on", "reward_eligible"}
    assert status.json["status_label"] == "已受理"
    assert client.get("/api/v1/tipoffs/JB-0000-0000-0000-0000").status_code == 404
    assert client.get("/api/v1/tipoffs/not-a-code").status_code == 404
    # the HTML status page
    page = client.get("/tipoff/status")
    r = client.post("/tipoff/status", data={"csrf_token": csrf_from(page.data), "code": code})
    assert "已受理" in r.data.decode() and REPORT["description"] not in r.data.decode()
    # the form refuses a missing CSRF token
    assert client.post("/tipoff", data=REPORT).status_code == 400


def test_api_report_checks_photos_by_content(app, client):
    fake = io.BytesIO(b"%PDF-1.4 not a photo")
    r = client.post("/api/v1/tipoffs", data={**REPORT, "photos": [(fake, "photo.jpg")]},
                    content_type="multipart/form-data")
    assert r.status_code == 422 and "photos" in r.json["error"]["fields"]
    r = client.post("/api/v1/tipoffs", json={"target_name": "x", "category": "nonsense", "description": "y"})
    assert r.status_code == 422 and "category" in r.json["error"]["fields"]
    r = client.post("/api/v1/tipoffs", json={**REPORT, "category": "trafficking"})
    assert r.status_code == 201 and set(r.json) == {"tracking_code", "status", "status_label", "received_on"}
    from inspect_app.cases.models import TipOff
    with app.app_context():
        assert db.session.scalar(sa.select(TipOff)).urgent  # trafficking is triaged first


def test_reports_are_rate_limited_per_address(app, make_app):
    limited = make_app(RATELIMIT_ENABLED=True, TIPOFF_RATE_LIMIT="2 per minute")
    client = limited.test_client()
    statuses = [client.post("/api/v1/tipoffs", json=REPORT).status_code for _ in range(3)]
    assert statuses == [201, 201, 429]
    r = client.post("/api/v1/tipoffs", json=REPORT)
    assert r.json["error"]["code"] == "rate_limited" and "Retry-After" in r.headers
    # the web form shares the limit
    page = client.get("/tipoff")
    assert client.post("/tipoff", data={**REPORT, "csrf_token": csrf_from(page.data)}).status_code == 429
    other = limited.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.0.0.9"
    assert other.post("/api/v1/tipoffs", json=REPORT).status_code == 201


def test_reporter_contact_is_seen_by_planners_only(app, client, make_user, token_for):
    from inspect_app.audit.models import AuditEvent
    from inspect_app.cases.models import TipOff
    make_user("planner.t", roles=("planner",), department="hrss", region="140600")
    make_user("admin.t", roles=("admin",), department="samr", region="140600")
    officers = team(make_user, "hrss")
    receipt = client.post("/api/v1/tipoffs", json=REPORT, environ_base={"REMOTE_ADDR": "203.0.113.7"}).json
    assert CONTACT not in json.dumps(receipt, ensure_ascii=False)
    with app.app_context():
        tipoff_id = db.session.scalar(sa.select(TipOff.id))
        assert "139" not in db.session.get(TipOff, tipoff_id).contact_sealed
    # the admin triages but never sees the contact; the planner sees it on request, audited
    auth = AuthActions(client)
    auth.login("admin.t")
    page = client.get(f"/tipoffs/{tipoff_id}")
    assert page.status_code == 200 and CONTACT not in page.data.decode()
    token = csrf_from(page.data)
    r = client.post(f"/tipoffs/{tipoff_id}/contact", data={"csrf_token": token, "contact-reason": "x"})
    assert r.status_code == 403
    # link it to an entity and plan an inspection: the contact goes nowhere else
    entity = make_entity(app)
    client.post(f"/tipoffs/{tipoff_id}/link", data={"csrf_token": token, "link-entity_id": entity})
    r = client.post(f"/tipoffs/{tipoff_id}/plan",
                    data={"csrf_token": token, "plan-team": officers, "plan-date": "2026-12-02"})
    assert r.status_code == 302, r.data.decode()[:2000]
    auth.logout()
    auth.login("user3.inspector")
    assert CONTACT not in client.get(f"/registry/{entity}").data.decode()
    auth.logout()
    auth.login("planner.t")
    page = client.get(f"/tipoffs/{tipoff_id}")
    assert CONTACT not in page.data.decode()
    r = client.post(f"/tipoffs/{tipoff_id}/contact", data={"csrf_token": csrf_from(page.data),
                                                           "contact-reason": "核实举报线索"})
    assert r.status_code == 200 and CONTACT in r.data.decode() and r.headers["Cache-Control"] == "no-store"
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        text = json.dumps([[e.before, e.after, e.object_id] for e in events], ensure_ascii=False)
        assert CONTACT not in text and "13912345678" not in text
        created = next(e for e in events if e.object_type == "tipoffs" and e.action == "create")
        assert created.client_addr is None and created.after["contact_sealed"] == "[redacted]"
        reveal = next(e for e in events if e.object_type == "tipoff_contact")
        assert (reveal.actor, reveal.after["reason"]) == ("planner.t", "核实举报线索")
        inspection = db.session.get(TipOff, tipoff_id).inspection
        assert inspection.origin == "cause" and CONTACT not in inspection.cause_note


def test_urgent_trafficking_goes_to_the_police_at_once_and_rewards(app, client, make_user, token_for):
    from inspect_app.cases.models import TipOff
    make_user("planner.u", roles=("planner",), department="hrss", region="140600")
    make_user("police.u", roles=("police_liaison",), department="police")
    client.post("/api/v1/tipoffs", json={**REPORT, "category": "trafficking", "contact": ""})
    auth = AuthActions(client)
    auth.login("planner.u")
    with app.app_context():
        tipoff_id = db.session.scalar(sa.select(TipOff.id))
    page = client.get(f"/tipoffs/{tipoff_id}")
    token = csrf_from(page.data)
    # no entity yet: register the target as an unlicensed operator
    r = client.post(f"/tipoffs/{tipoff_id}/urgent", data={"csrf_token": token})
    assert r.status_code == 422
    r = client.post(f"/tipoffs/{tipoff_id}/unlicensed", data={
        "csrf_token": token, "new-kind": "job_agency", "new-name": REPORT["target_name"],
        "new-address": REPORT["target_address"], "new-region_code": "140602"})
    assert r.status_code == 302, r.data.decode()[:3000]
    r = client.post(f"/tipoffs/{tipoff_id}/urgent", data={"csrf_token": token, "urgent-reason": "涉嫌拐卖"})
    assert r.status_code == 302
    with app.app_context():
        tipoff = db.session.get(TipOff, tipoff_id)
        assert tipoff.entity.status == "unlicensed" and tipoff.urgent
        referral = tipoff.referral
        assert (referral.kind, referral.to_department, referral.status, referral.urgent) == (
            "criminal", "police", "sent", True)
        assert any(f["code"] == "tipoffs" for f in tipoff.entity.risk_factors)
    inbox = client.get("/api/v1/referrals?box=inbox", headers=token_for("police.u")).json
    assert [i["id"] for i in inbox["items"]] == [referral.id]
    r = client.post(f"/tipoffs/{tipoff_id}/reward", data={"csrf_token": token, "reward-eligible": "no",
                                                          "reward-amount": "500"})
    assert r.status_code == 422
    r = client.post(f"/tipoffs/{tipoff_id}/reward", data={"csrf_token": token, "reward-eligible": "yes",
                                                          "reward-amount": "2000", "reward-paid_on": "2026-12-20"})
    assert r.status_code == 302
    r = client.post(f"/tipoffs/{tipoff_id}/close", data={"csrf_token": token, "close-outcome": "substantiated"})
    assert r.status_code == 302
    with app.app_context():
        tipoff = db.session.get(TipOff, tipoff_id)
        assert (tipoff.reward_amount, str(tipoff.reward_paid_on), tipoff.status) == (2000, "2026-12-20", "closed")
