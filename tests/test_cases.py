"""Cases: formation from a completed inspection, the transition table, the penalty proposal, transfers."""
from __future__ import annotations

import re

import sqlalchemy as sa

from inspect_app.extensions import db
from tests.cases_helpers import case_ids, complete_inspection, make_entity, team
from tests.conftest import csrf_from

CHILD_LABOUR = {"type_code": "child_labour_employment", "acting_department": "hrss", "item_code": "hrss.roster",
                "quantities": {"persons": 2, "months": 3}}
DISPLAY = {"type_code": "ja_display_missing", "acting_department": "hrss", "item_code": "hrss.display"}
CCTV = {"type_code": "ev_cctv_breach", "acting_department": "police", "item_code": "culture.cctv"}
AD = {"type_code": "samr_business_licence_not_displayed", "acting_department": "samr", "item_code": "samr.licence"}


def _case(app, case_id):
    from inspect_app.cases.models import Case
    return db.session.get(Case, case_id)


def _setup(app, make_user, violations, **kw):
    hrss = team(make_user, "hrss")
    samr = team(make_user, "samr", n=1)
    entity = make_entity(app)
    inspection = complete_inspection(app, entity, [(hrss[0], "hrss"), (samr[0], "samr"), (hrss[1], "hrss")],
                                     violations, **kw)
    return entity, inspection, hrss


def test_completed_inspection_forms_one_case_per_acting_department(app, make_user):
    entity, inspection, _ = _setup(app, make_user, [CHILD_LABOUR, DISPLAY, AD, CCTV])
    cases = case_ids(app, inspection)
    assert set(cases) == {"hrss", "samr", "police"}
    with app.app_context():
        hrss, police = _case(app, cases["hrss"]), _case(app, cases["police"])
        assert sorted(v.type_code for v in hrss.violations) == ["child_labour_employment", "ja_display_missing"]
        assert hrss.status == "open" and hrss.handling_department == "hrss" and hrss.filed_on is not None
        assert "使用童工" in hrss.events[0].reason
        # nobody from the police took part: the lead department holds the file and must transfer it
        assert police.handling_department == "hrss" and police.acting_department == "police"
        # the decision clock (90 days, Art 60) and the labour clock (60 working days) run from filing
        assert hrss.next_due_kind == "labour_investigation"
    # the signal again (a retried request) forms nothing new
    from inspect_app.inspection.models import Inspection
    from inspect_app.inspection.signals import inspection_completed
    with app.test_request_context():
        inspection_completed.send(app, inspection=db.session.get(Inspection, inspection))
        db.session.commit()
    assert case_ids(app, inspection) == cases


def test_illegal_transition_is_refused_naming_the_allowed_steps(app, client, make_user, token_for):
    _, inspection, hrss = _setup(app, make_user, [DISPLAY])
    case_id = case_ids(app, inspection)["hrss"]
    boss = make_user("boss.hrss", roles=("supervisor",), department="hrss")
    headers = token_for("boss.hrss")
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers,
                    json={"to": "executed", "reason": "试图跳过决定"})
    assert r.status_code == 409
    assert r.json["error"]["code"] == "illegal_transition"
    assert r.json["error"]["allowed"] == ["rectification_ordered", "penalty_proposed", "transferred", "closed"]
    assert "可变更为：已责令改正" in r.json["error"]["message"]  # the allowed steps, named in Chinese
    from inspect_app.audit.models import AuditEvent
    with app.app_context():
        assert _case(app, case_id).status == "open"
        refused = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "case.transition_refused")).all()
        assert [(e.object_id, e.actor_id) for e in refused] == [(str(case_id), boss)]
    # a step with its own procedure is not a bare transition
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers,
                    json={"to": "penalty_proposed", "reason": "x"})
    assert r.status_code == 422 and "to" in r.json["error"]["fields"]
    # an inspector orders rectification but may not close (the head decides)
    inspector = token_for(db_username(app, hrss[0]))
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=inspector, json={"to": "closed", "reason": "x"})
    assert r.status_code == 403
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=inspector,
                    json={"to": "rectification_ordered", "reason": "当场送达责令改正通知书", "ordered_on": "2026-09-29"})
    assert r.status_code == 201, r.json
    assert r.json["status"] == "rectification_ordered"
    assert r.json["rectification_deadline"] == "2026-10-12"  # 5 working days over the National Day holiday
    assert r.json["allowed_transitions"] == ["reinspection_due", "rectified", "not_rectified", "transferred"]
    # a reason is always required
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=headers, json={"to": "rectified", "reason": " "})
    assert r.status_code == 422 and "reason" in r.json["error"]["fields"]


def db_username(app, user_id):
    from inspect_app.auth.models import User
    with app.app_context():
        return db.session.get(User, user_id).username


def test_web_step_refused_from_the_wrong_status(app, client, make_user, auth):
    _, inspection, _ = _setup(app, make_user, [DISPLAY])
    case_id = case_ids(app, inspection)["hrss"]
    make_user("boss.web", roles=("supervisor",), department="hrss")
    auth.login("boss.web")
    page = client.get(f"/cases/{case_id}")
    html = page.data.decode()
    assert page.status_code == 200
    assert 'name="step" value="closed"' in html and 'name="step" value="decided"' not in html
    token = csrf_from(page.data)
    r = client.post(f"/cases/{case_id}/transition",
                    data={"csrf_token": token, "step": "decided", "decided-reason": "x"})
    assert r.status_code == 409
    assert "可变更为：已责令改正、已告知拟作出的行政处罚、已移送、已结案" in r.data.decode()
    r = client.post(f"/cases/{case_id}/transition",
                    data={"csrf_token": token, "step": "closed", "closed-reason": "轻微并已当场改正，撤销立案"})
    assert r.status_code == 302
    with app.app_context():
        case = _case(app, case_id)
        assert case.status == "closed" and case.closed_dt is not None
        assert [v.status for v in case.violations] == ["closed"]


def test_child_labour_penalty_range_amount_hearing_and_decision(app, client, make_user, token_for):
    _, inspection, hrss = _setup(app, make_user, [CHILD_LABOUR])
    case_id = case_ids(app, inspection)["hrss"]
    make_user("boss.cl", roles=("supervisor",), department="hrss")
    officer, boss = token_for(db_username(app, hrss[0])), token_for("boss.cl")
    computed = client.get(f"/api/v1/cases/{case_id}/penalty", headers=officer).json
    assert (computed["min"], computed["max"]) == (30000, 30000)  # 5,000 yuan x 2 children x 3 months
    assert computed["items"][0]["inputs"] == {"persons": 2, "months": 3}
    url = f"/api/v1/cases/{case_id}/penalty"
    body = {"amount": 20000, "reason": "首次违法", "notice_served_on": "2026-09-30"}
    r = client.post(url, headers=officer, json=body)
    assert r.status_code == 422 and "30000" in r.json["error"]["fields"]["amount"][0]
    r = client.post(url, headers=officer, json={**body, "amount": 40000, "adjustment": "heavier"})
    assert r.status_code == 422  # never above the statutory maximum
    r = client.post(url, headers=officer, json={**body, "adjustment": "mitigated",
                                                "reason": "主动消除违法行为危害后果（行政处罚法第三十二条）"})
    assert r.status_code == 201, r.json
    penalty = r.json["penalty"]
    assert (penalty["amount"], penalty["adjustment"], penalty["hearing_offered"]) == (20000, "mitigated", True)
    assert penalty["reply_deadline"] == "2026-10-13"  # 5 working days after 30 September: 8, 9, 10 (Sat), 12, 13
    assert penalty["inputs"]["items"][0]["fine"]["unit"] == "yuan_per_person_month"
    decide = f"/api/v1/cases/{case_id}/transitions"
    r = client.post(decide, headers=boss, json={"to": "decided", "reason": "决定", "decided_on": "2026-10-12"})
    assert r.status_code == 422 and "waived" in r.json["error"]["fields"]  # the party's window is still open
    r = client.post(decide, headers=boss, json={"to": "decided", "reason": "决定", "decided_on": "2026-10-14",
                                                "amount": 25000})
    assert r.status_code == 422 and "amount" in r.json["error"]["fields"]  # never heavier after the defence
    r = client.post(decide, headers=boss, json={"to": "decided", "reason": "当事人未陈述申辩，未要求听证",
                                                "decided_on": "2026-10-14"})
    assert r.status_code == 201, r.json
    # the 15 days to pay run from the day the party receives the decision (Art 67), not from the decision
    assert (r.json["payment_due_on"], r.json["publication_due_on"]) == (None, "2026-11-11")
    assert r.json["rights_waived"] is False  # decided after the window, without a waiver
    assert (r.json["payment"]["days"], r.json["payment"]["due_on"]) == (15, None)
    served = client.post(f"/api/v1/cases/{case_id}/decision-service", headers=officer,
                         json={"served_on": "2026-10-15", "manner": "in_person"})
    assert served.status_code == 201, served.json
    assert (served.json["decision_served_on"], served.json["payment_due_on"]) == ("2026-10-15", "2026-10-30")
    r = client.post(decide, headers=officer, json={"to": "executed", "reason": "已缴纳", "execution": "paid"})
    assert r.status_code == 201 and r.json["status"] == "executed"


def test_hearing_requested_then_held_before_the_decision(app, client, make_user, token_for):
    _, inspection, hrss = _setup(app, make_user, [CHILD_LABOUR])
    case_id = case_ids(app, inspection)["hrss"]
    make_user("boss.h", roles=("supervisor",), department="hrss")
    officer, boss = token_for(db_username(app, hrss[0])), token_for("boss.h")
    assert client.post(f"/api/v1/cases/{case_id}/penalty", headers=officer, json={
        "amount": 30000, "reason": "按标准", "notice_served_on": "2026-09-30"}).status_code == 201
    url = f"/api/v1/cases/{case_id}/transitions"
    late = client.post(url, headers=officer, json={"to": "hearing_requested", "reason": "申请听证",
                                                   "requested_on": "2026-10-14"})
    assert late.status_code == 422 and "requested_on" in late.json["error"]["fields"]
    assert client.post(url, headers=officer, json={"to": "hearing_requested", "reason": "书面申请听证",
                                                   "requested_on": "2026-10-13"}).status_code == 201
    r = client.post(url, headers=boss, json={"to": "decided", "reason": "听证后决定", "decided_on": "2026-10-30"})
    assert r.status_code == 422 and "hearing_held_on" in r.json["error"]["fields"]
    r = client.post(url, headers=boss, json={"to": "decided", "reason": "听证后决定", "decided_on": "2026-10-30",
                                             "hearing_held_on": "2026-10-27", "amount": 25000})
    assert r.status_code == 201 and r.json["penalty_amount"] == 25000


def test_a_pending_criminal_transfer_blocks_the_penalty_then_the_police_acknowledge(app, client, make_user, token_for):
    crime = {"type_code": "ja_illegal_activity_introduced", "acting_department": "hrss", "criminal": True,
             "description": "介绍女性从事卖淫"}
    _, inspection, hrss = _setup(app, make_user, [crime])
    case_id = case_ids(app, inspection)["hrss"]
    make_user("boss.cr", roles=("supervisor",), department="hrss")
    make_user("police.cr", roles=("police_liaison",), department="police")
    officer, boss, police = token_for(db_username(app, hrss[0])), token_for("boss.cr"), token_for("police.cr")
    r = client.post(f"/api/v1/cases/{case_id}/penalty", headers=officer, json={"amount": 10000, "reason": "x"})
    assert r.status_code == 409 and "移送" in r.json["error"]["message"]
    case = client.get(f"/api/v1/cases/{case_id}", headers=officer).json
    assert [c["code"] for c in case["clocks"]][:1] == ["criminal_transfer"]
    # dates in ISO 8601 (design.md 4.2), not the HTTP date a bare date object becomes in JSON
    assert all(re.fullmatch(r"\d{4}-\d{2}-\d{2}", c["due_on"]) for c in case["clocks"]), case["clocks"]
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=boss,
                    json={"to": "transferred", "reason": "负责人批准移送", "to_department": "police"})
    assert r.status_code == 201, r.json
    referral_id = r.json["referral_id"]
    inbox = client.get("/api/v1/referrals?box=inbox", headers=police).json
    assert "items" in inbox, inbox
    assert [i["id"] for i in inbox["items"]] == [referral_id] and inbox["items"][0]["status"] == "sent"
    assert client.post(f"/api/v1/referrals/{referral_id}/acknowledge", headers=police, json={}).status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}", headers=officer).json["status"] == "acknowledged"
    r = client.post(f"/api/v1/referrals/{referral_id}/outcome", headers=police, json={"outcome": "已立案侦查"})
    assert r.status_code == 200
    assert client.get(f"/api/v1/cases/{case_id}", headers=officer).json["status"] == "outcome_recorded"


def test_case_list_is_scoped_and_filtered(app, client, make_user, token_for):
    _, inspection, hrss = _setup(app, make_user, [DISPLAY, AD])
    make_user("other.county", roles=("inspector",), department="hrss", region="140681")
    mine = client.get("/api/v1/cases?scope=mine", headers=token_for(db_username(app, hrss[0]))).json
    assert mine["total"] == 2
    assert client.get("/api/v1/cases", headers=token_for("other.county")).json["total"] == 0
    make_user("boss.samr", roles=("supervisor",), department="samr")
    by_dept = client.get("/api/v1/cases?scope=department", headers=token_for("boss.samr")).json
    assert [c["acting_department"] for c in by_dept["items"]] == ["samr"]
    assert client.get("/api/v1/cases?status=closed", headers=token_for("boss.samr")).json["total"] == 0


def test_culture_and_police_team_records_minors_employed_and_the_case_goes_to_hrss(app, make_user):
    """条例 Art 24 / Art 52: a team without hrss (culture with a police officer) still records minors employed
    in a venue, from the culture list; the labour department acts on it, so the case is hrss's (handled by
    the culture lead until it is transferred)."""
    import io
    from datetime import datetime, timezone

    from inspect_app.auth.models import User
    from inspect_app.cases.models import Case
    from inspect_app.cases.penalty import case_range
    from inspect_app.inspection import services as svc
    from inspect_app.inspection.models import Inspection
    from tests.inspection_helpers import (PIN, SITE, failing_answer, make_inspection, noisy_jpeg, passing_answer,
                                          set_pins, signature_png)
    from tests.inspection_helpers import make_entity as make_place
    culture = make_user("culture.one", roles=("inspector",), department="culture")
    police = make_user("police.one", roles=("inspector",), department="police")
    set_pins(app, [culture, police])
    inspection_id = make_inspection(app, make_place(app, kind="entertainment_venue"), [culture, police],
                                    lead="culture")
    item = "entertainment_venue.culture.minors_employed"
    with app.test_request_context():
        inspection = db.session.get(Inspection, inspection_id)
        lead, partner = db.session.get(User, culture), db.session.get(User, police)
        svc.start_inspection(inspection, lead, party_name="王建国", party_role="店长")
        assert [c.code for c in inspection.checklists] == ["entertainment_venue.culture", "joint.red_flags"]
        svc.attest(inspection, lead, lead, method="session")
        svc.attest(inspection, lead, partner, method="pin", secret=PIN)
        svc.check_in(inspection, lead, lat=SITE[0], lon=SITE[1], accuracy_m=9.0, at=datetime.now(timezone.utc))
        for _checklist, items in svc.pinned_items(inspection):
            for one in items:
                body = failing_answer(one) if one.code == item else passing_answer(one)
                svc.save_answer(inspection, lead, one.code, result=body.get("result"), value=body.get("value"),
                                note=body.get("note"))
        proposed = [p for p in svc.proposed_violations(inspection) if p["item_code"] == item]
        assert [(p["type_code"], p["acting_department"]) for p in proposed] == [("ev_minors_employed", "hrss")]
        photo = svc.add_evidence(inspection, lead, io.BytesIO(noisy_jpeg(seed=52)))
        svc.record_violation(inspection, lead, type_code="ev_minors_employed", item_code=item,
                             description="服务员张某（17岁）自2026年6月起在场所陪唱", evidence_ids=[photo.id],
                             quantities={"persons": 1, "months": 3})
        for officer in (lead, partner):
            svc.sign(inspection, lead, role="officer", signer_name="", officer=officer, png=signature_png())
        svc.sign(inspection, lead, role="party", signer_name="王建国", png=signature_png())
        svc.complete(inspection, lead)
        db.session.commit()
    cases = case_ids(app, inspection_id)
    assert set(cases) == {"hrss"}
    with app.test_request_context():
        case = db.session.get(Case, cases["hrss"])
        assert [v.type_code for v in case.violations] == ["ev_minors_employed"]
        assert case.acting_department == "hrss" and case.handling_department == "culture"
        computed = case_range(case)
        assert (computed["min"], computed["max"]) == (15000, 15000)  # 5,000 yuan per minor per month


def test_handling_officers_default_to_the_team_and_are_set_on_the_case_page(app, client, make_user, auth):
    hrss = team(make_user, "hrss", n=1)
    samr = team(make_user, "samr", n=1)
    inspection = complete_inspection(app, make_entity(app), [(hrss[0], "hrss"), (samr[0], "samr")], [DISPLAY, AD])
    cases = case_ids(app, inspection)
    with app.app_context():
        # each department's case gets its own officer of the joint team, never the other one's
        assert [o.user_id for o in _case(app, cases["hrss"]).officers] == [hrss[0]]
        assert [o.user_id for o in _case(app, cases["samr"]).officers] == [samr[0]]
    case_id = cases["hrss"]
    second = make_user("second.hrss", department="hrss", full_name="第二人社")
    auth.login(db_username(app, hrss[0]))
    page = client.get(f"/cases/{case_id}")
    html = page.data.decode()
    assert page.status_code == 200
    assert "请指定至少两名本案承办部门持有执法证的承办人员" in html and "本案现有1名" in html
    assert "第二人社" in html  # offered in the list
    token = csrf_from(page.data)
    refused = client.post(f"/cases/{case_id}/officers", data={"csrf_token": token,
                                                              "officers-officers": [hrss[0], samr[0]]})
    assert refused.status_code == 422
    assert "不是本案承办部门的执法人员" in refused.data.decode()
    saved = client.post(f"/cases/{case_id}/officers", data={"csrf_token": token,
                                                            "officers-officers": [hrss[0], second]})
    assert saved.status_code == 302
    page = client.get(f"/cases/{case_id}").data.decode()
    assert "承办人员已保存" in page and "请指定至少两名" not in page
    with app.app_context():
        assert [o.user_id for o in _case(app, case_id).officers] == [hrss[0], second]


def test_a_decision_needs_two_handling_officers(app, client, make_user, token_for):
    from inspect_app.cases.models import CaseOfficer
    _, inspection, hrss = _setup(app, make_user, [CHILD_LABOUR])
    case_id = case_ids(app, inspection)["hrss"]
    make_user("boss.two", roles=("supervisor",), department="hrss")
    officer, boss = token_for(db_username(app, hrss[0])), token_for("boss.two")
    with app.app_context():
        assert [o.user_id for o in _case(app, case_id).officers] == hrss  # both hrss members of the team
    r = client.post(f"/api/v1/cases/{case_id}/penalty", headers=officer, json={"amount": 30000, "reason": "使用童工"})
    assert r.status_code == 201, r.json
    with app.app_context():  # one officer leaves the case after the proposal
        db.session.execute(sa.delete(CaseOfficer).where(CaseOfficer.case_id == case_id,
                                                        CaseOfficer.user_id == hrss[1]))
        db.session.commit()
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=boss,
                    json={"to": "decided", "reason": "依法决定", "waived": True})
    assert r.status_code == 422 and "承办人员" in r.json["error"]["fields"]["officers"][0]


def test_a_written_waiver_is_on_the_file_and_in_the_decision(app, client, make_user, token_for, auth):
    """Deciding inside the party's window needs its written waiver (Arts 44, 63); the file and the decision
    then say the party waived its rights, not that a window to reply runs."""
    from datetime import date
    from types import SimpleNamespace

    from inspect_app.notices.snapshot import _defence
    _, inspection, hrss = _setup(app, make_user, [CHILD_LABOUR])
    case_id = case_ids(app, inspection)["hrss"]
    make_user("boss.w", roles=("supervisor",), department="hrss")
    officer, boss = token_for(db_username(app, hrss[0])), token_for("boss.w")
    assert client.post(f"/api/v1/cases/{case_id}/penalty", headers=officer, json={
        "amount": 30000, "reason": "按标准", "notice_served_on": "2026-09-30"}).status_code == 201
    r = client.post(f"/api/v1/cases/{case_id}/transitions", headers=boss, json={
        "to": "decided", "reason": "当事人书面放弃陈述申辩和听证", "decided_on": "2026-10-09", "waived": True})
    assert r.status_code == 201, r.json
    assert r.json["rights_waived"] is True
    auth.login("boss.w")
    assert "当事人书面放弃" in client.get(f"/cases/{case_id}").data.decode()
    with app.app_context():
        case = _case(app, case_id)
        assert _defence(case) == "你单位书面表示放弃陈述、申辩和要求听证的权利。"
    held = SimpleNamespace(hearing_held_on=date(2026, 10, 20), rights_waived=False)
    assert _defence(held) == "本机关于2026年10月20日依法举行了听证。"
    assert _defence(SimpleNamespace(hearing_held_on=None, rights_waived=False)) == ""
