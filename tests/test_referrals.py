"""Referrals: each receiving department's inbox and who may read victims' details."""
from __future__ import annotations

import json

import sqlalchemy as sa

from inspect_app.extensions import db
from tests.cases_helpers import make_entity, team
from tests.conftest import csrf_from

VICTIMS = {"persons": [{"name": "小红", "age": 15, "origin": "贵州", "needs": "返乡、心理疏导"}]}


def _refer(client, headers, **body):
    r = client.post("/api/v1/referrals", headers=headers, json=body)
    assert r.status_code == 201, r.json
    return r.json


def test_inboxes_show_each_department_its_own_referrals(app, client, make_user, token_for):
    team(make_user, "hrss")
    entity = make_entity(app)
    make_user("boss.ref", roles=("supervisor",), department="hrss")
    make_user("police.sc", roles=("police_liaison",), department="police")
    make_user("police.hr", roles=("police_liaison",), department="police", region="140681")
    make_user("ca.viewer", roles=("viewer",), department="civil_affairs")
    make_user("samr.boss", roles=("supervisor",), department="samr")
    inspector = token_for("user1.inspector")
    crime = _refer(client, token_for("boss.ref"), kind="criminal", to_department="police", entity_id=entity,
                   reason="涉嫌强迫劳动", restricted_data=VICTIMS)
    assert crime["status"] == "sent" and crime["urgent"] is True and crime["has_restricted_data"]
    assert [a["title"] for a in crime["attachments"]][:2] == ["涉嫌犯罪案件移送书", "涉嫌犯罪案件情况的调查报告"]
    relief = _refer(client, inspector, kind="victim_relief", to_department="civil_affairs", entity_id=entity,
                    reason="未成年人需救助返乡", restricted_data=VICTIMS)
    transfer = _refer(client, inspector, kind="case", to_department="samr", entity_id=entity,
                      reason="未亮照经营，移送市场监管部门")
    # a criminal referral made by an inspector awaits the head's approval (移送规定 Art 5) but is urgent:
    # the police see it at once
    pending = _refer(client, inspector, kind="criminal", to_department="police", entity_id=entity, reason="疑似拐卖")
    assert pending["status"] == "pending"

    def inbox(user):
        r = client.get("/api/v1/referrals?box=inbox", headers=token_for(user))
        return r.status_code, sorted(i["id"] for i in r.json.get("items", []))
    assert inbox("police.sc") == (200, sorted([crime["id"], pending["id"]]))
    assert inbox("police.hr") == (200, [])  # another county's police
    assert inbox("ca.viewer") == (200, [relief["id"]])
    assert inbox("samr.boss") == (200, [transfer["id"]])
    assert client.get("/api/v1/referrals?box=inbox", headers=inspector).status_code == 403
    # the web inbox: the same list; an inspector is refused
    from tests.conftest import AuthActions
    AuthActions(client).login("police.sc")
    html = client.get("/cases/referrals").data.decode()
    assert f"/cases/referrals/{crime['id']}" in html and f"/cases/referrals/{relief['id']}" not in html
    assert client.get(f"/cases/referrals/{relief['id']}").status_code == 403
    AuthActions(client).logout()
    AuthActions(client).login("user1.inspector")
    assert client.get("/cases/referrals").status_code == 403
    # a receiving department that is not the addressee may not acknowledge
    r = client.post(f"/api/v1/referrals/{crime['id']}/acknowledge", headers=token_for("samr.boss"), json={})
    assert r.status_code == 403


def test_victims_details_only_for_the_receiver_and_every_reading_audited(app, client, make_user, token_for):
    from inspect_app.audit.models import AuditEvent
    from inspect_app.inspection.models import Referral
    team(make_user, "hrss")
    entity = make_entity(app)
    make_user("boss.v", roles=("supervisor",), department="hrss")
    make_user("police.v", roles=("police_liaison",), department="police")
    make_user("wf.viewer", roles=("viewer",), department="womens_federation")
    crime = _refer(client, token_for("boss.v"), kind="criminal", to_department="police", entity_id=entity,
                   reason="涉嫌拐卖妇女", restricted_data=VICTIMS)
    url = f"/api/v1/referrals/{crime['id']}/reveal"
    # the sender, another department's liaison role and an inspector never read it
    assert client.post(url, headers=token_for("boss.v"), json={"reason": "核对"}).status_code == 403
    assert client.post(url, headers=token_for("wf.viewer"), json={"reason": "核对"}).status_code == 403
    assert client.post(url, headers=token_for("user1.inspector"), json={"reason": "核对"}).status_code == 403
    assert client.post(url, headers=token_for("police.v"), json={"reason": " "}).status_code == 422
    r = client.post(url, headers=token_for("police.v"), json={"reason": "立案审查需要核实被害人身份"})
    assert r.status_code == 200 and r.json["restricted_data"] == VICTIMS
    # never in clear anywhere else: the referral, the database row, the audit log
    shown = client.get(f"/api/v1/referrals/{crime['id']}", headers=token_for("police.v")).json
    assert "小红" not in json.dumps(shown, ensure_ascii=False)
    with app.app_context():
        assert "小红" not in db.session.get(Referral, crime["id"]).restricted_data
        events = db.session.scalars(sa.select(AuditEvent)).all()
        assert not any("小红" in json.dumps([e.before, e.after], ensure_ascii=False) for e in events)
        reveals = [e for e in events if e.action == "reveal" and e.object_type == "referral_restricted_data"]
        assert [(e.object_id, e.after["reason"], e.actor) for e in reveals] == [
            (str(crime["id"]), "立案审查需要核实被害人身份", "police.v")]
    # the web page too: the form, then the details on that response only (not cached)
    from tests.conftest import AuthActions
    AuthActions(client).login("police.v")
    page = client.get(f"/cases/referrals/{crime['id']}")
    assert "小红" not in page.data.decode()
    r = client.post(f"/cases/referrals/{crime['id']}/reveal",
                    data={"csrf_token": csrf_from(page.data), "reveal-reason": "接收审查"})
    assert r.status_code == 200 and "小红" in r.data.decode() and r.headers["Cache-Control"] == "no-store"


def test_acknowledge_then_outcome(app, client, make_user, token_for):
    team(make_user, "hrss")
    entity = make_entity(app)
    make_user("wf.ack", roles=("viewer",), department="womens_federation")
    relief = _refer(client, token_for("user1.inspector"), kind="victim_relief", to_department="womens_federation",
                    entity_id=entity, reason="被骗务工女性需要救助")
    wf = token_for("wf.ack")
    url = f"/api/v1/referrals/{relief['id']}"
    assert client.post(url + "/outcome", headers=wf, json={"outcome": "已安置"}).status_code == 422
    assert client.post(url + "/acknowledge", headers=wf, json={}).json["status"] == "acknowledged"
    assert client.post(url + "/acknowledge", headers=wf, json={}).status_code == 422
    r = client.post(url + "/outcome", headers=wf, json={"outcome": "已安置并送返原籍"})
    assert r.json["status"] == "outcome_recorded" and r.json["outcome"] == "已安置并送返原籍"
    # a criminal transfer goes to the police only
    r = client.post("/api/v1/referrals", headers=token_for("user1.inspector"),
                    json={"kind": "criminal", "to_department": "civil_affairs", "entity_id": entity, "reason": "x"})
    assert r.status_code == 422 and "to_department" in r.json["error"]["fields"]


def test_case_page_refers_the_part_another_department_decides(app, client, make_user, token_for):
    """ID cards kept by a job agency: hrss orders their return, the police fine it (居民身份证法 Art 16):
    the catalogue says so on the case, and the case transfer letter goes to the police's inbox."""
    from tests.cases_helpers import case_ids, complete_inspection
    officers = team(make_user, "hrss")
    make_user("police.id", roles=("police_liaison",), department="police")
    inspection = complete_inspection(app, make_entity(app), [(u, "hrss") for u in officers], [
        {"type_code": "ja_id_detained", "acting_department": "hrss", "description": "扣押3名求职者身份证"}])
    case_id = case_ids(app, inspection)["hrss"]
    from tests.conftest import AuthActions
    AuthActions(client).login("user1.inspector")
    page = client.get(f"/cases/{case_id}")
    html = page.data.decode()
    assert "非法扣押居民身份证的处罚由公安机关决定" in html and "应当移送" in html
    form = {"csrf_token": csrf_from(page.data), "kind": "case", "to_department": "police",
            "reason": "扣押身份证，移送公安机关处罚"}
    r = client.post(f"/cases/{case_id}/refer", data=form)
    assert r.status_code == 302
    inbox = client.get("/api/v1/referrals?box=inbox", headers=token_for("police.id")).json["items"]
    assert [(i["kind"], i["reason"], i["attachments"][0]["title"]) for i in inbox] == [
        ("case", "扣押身份证，移送公安机关处罚", "案件移送函")]
    assert client.get(f"/api/v1/cases/{case_id}", headers=token_for("police.id")).status_code == 403
    assert client.get(f"/api/v1/cases/{case_id}", headers=token_for("user1.inspector")).json["status"] == "open"
