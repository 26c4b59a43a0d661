"""Statutory clocks in working days of the Chinese calendar: the National Day holiday of 2026
(1-7 October) and its adjusted working days (Sunday 20 September, Saturday 10 October)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from inspect_app.extensions import db
from inspect_app.workdays import add_workdays
from tests.cases_helpers import case_ids, complete_inspection, make_entity, team

DISPLAY = {"type_code": "ja_display_missing", "acting_department": "hrss", "item_code": "hrss.display"}  # 5 days
ID_DETAINED = {"type_code": "ja_id_detained", "acting_department": "hrss", "item_code": "hrss.ids"}  # 1 day


def _case(app, make_user, violations):
    officers = team(make_user, "hrss")
    inspection = complete_inspection(app, make_entity(app), [(u, "hrss") for u in officers], violations)
    return case_ids(app, inspection)[violations[0]["acting_department"]]


def _load(case_id):
    from inspect_app.cases.models import Case
    return db.session.get(Case, case_id)


@pytest.mark.parametrize("violation, ordered_on, deadline", [
    # 30 Sep, then 8, 9, 10 (the adjusted working Saturday) and 12 October
    (DISPLAY, date(2026, 9, 29), date(2026, 10, 12)),
    # Friday 18 September + 1 working day: Sunday 20 September is a working day (调休)
    (ID_DETAINED, date(2026, 9, 18), date(2026, 9, 20)),
    # the last working day before the holiday + 1: the first one after it
    (ID_DETAINED, date(2026, 9, 30), date(2026, 10, 8)),
])
def test_rectification_deadline_counts_chinese_working_days(app, make_user, violation, ordered_on, deadline):
    from inspect_app.cases.services import transition
    case_id = _case(app, make_user, [violation])
    with app.test_request_context():
        case = _load(case_id)
        transition(case, "rectification_ordered", None, "送达责令改正通知书", {"ordered_on": ordered_on})
        assert case.rectification_deadline == deadline
        assert (case.next_due_on, case.next_due_kind) == (deadline, "rectification")


def test_every_clock_of_a_labour_case(app, make_user):
    from inspect_app.cases.clocks import case_clocks
    from inspect_app.cases.services import propose_penalty
    case_id = _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(case_id)
        case.filed_on = date(2026, 9, 25)
        clocks = {c.code: c.due_on for c in case_clocks(case)}
        assert clocks["decision"] == date(2026, 12, 24)  # 90 calendar days (行政处罚法 Art 60)
        # 60 working days: 3 in September (28-30), none 1-7 October, 10 October counts
        assert clocks["labour_investigation"] == date(2026, 12, 24)
        case.investigation_extended = True  # + 30 working days (2027's calendar may not be loaded yet)
        assert {c.code: c.due_on for c in case_clocks(case)}["labour_investigation"] == add_workdays(case.filed_on, 90)
        case.investigation_extended, case.status = False, "rectified"
        db.session.flush()
        propose_penalty(case, None, {"amount": 0, "reason": "已改正，依法不予处罚", "adjustment": "exempted",
                                     "notice_served_on": "2026-09-30"}, today=date(2026, 9, 30))
        assert case.hearing_offered is False
        # the statement period (5 working days) runs over the holiday too
        assert case.reply_deadline == date(2026, 10, 13)
        assert {c.code for c in case_clocks(case)} >= {"hearing_window", "decision", "labour_investigation"}


def test_criminal_transfer_is_due_within_24_hours(app, make_user):
    """An inspector's criminal referral awaits the head's approval and must reach the police within 24 hours."""
    from inspect_app.auth.models import User
    from inspect_app.cases.clocks import deadline_panel
    from inspect_app.cases.referrals import create_referral
    officers = team(make_user, "hrss")
    entity = make_entity(app)
    liaison = make_user("police.clock", roles=("police_liaison",), department="police")
    with app.test_request_context():
        referral = create_referral(db.session.get(User, officers[0]), {
            "kind": "criminal", "to_department": "police", "entity_id": entity, "reason": "疑似强迫劳动"})
        db.session.commit()
        assert referral.status == "pending" and referral.urgent
        assert abs(referral.due_dt - referral.created_dt - timedelta(hours=24)) < timedelta(seconds=5)
        panel = deadline_panel(db.session.get(User, liaison))
        row = next(r for r in panel["due_soon"] if r["referral_id"] == referral.id)
        assert row["clock"] == "criminal_transfer" and row["due_dt"] == referral.due_dt
        referral.due_dt = referral.created_dt - timedelta(hours=1)  # as if a day had passed
        db.session.commit()
        panel = deadline_panel(db.session.get(User, liaison))
        assert [r["referral_id"] for r in panel["overdue"]] == [referral.id]


def test_deadline_panel_lists_overdue_and_due_soon_for_supervisor_and_inspector(app, client, make_user, auth):
    from inspect_app.auth.models import User
    from inspect_app.cases.clocks import deadline_panel, local_today
    from inspect_app.cases.services import transition
    officers = team(make_user, "hrss")
    entity = make_entity(app)
    late = case_ids(app, complete_inspection(app, entity, [(u, "hrss") for u in officers], [DISPLAY]))["hrss"]
    other = team(make_user, "hrss")
    soon = case_ids(app, complete_inspection(app, entity, [(u, "hrss") for u in other], [ID_DETAINED]))["hrss"]
    make_user("boss.panel", roles=("supervisor",), department="hrss")
    with app.test_request_context():
        today = local_today()
        transition(_load(late), "rectification_ordered", None, "责令改正",
                   {"ordered_on": today - timedelta(days=20), "deadline": today - timedelta(days=1)})
        transition(_load(soon), "rectification_ordered", None, "责令改正", {"ordered_on": today, "deadline": today})
        db.session.commit()
        boss = db.session.scalar(db.select(User).where(User.username == "boss.panel"))
        panel = deadline_panel(boss)
        assert [(r["case_id"], r["clock"]) for r in panel["overdue"]] == [(late, "rectification")]
        assert (soon, "rectification") in [(r["case_id"], r["clock"]) for r in panel["due_soon"]]
        # the inspector sees the cases of the inspections they were on only
        inspector = db.session.get(User, other[0])
        rows = deadline_panel(inspector)["overdue"] + deadline_panel(inspector)["due_soon"]
        assert {r["case_id"] for r in rows} == {soon}
    auth.login("boss.panel")
    html = client.get("/cases/").data.decode()
    assert "已逾期" in html or "Overdue" in html
    assert f"/cases/{late}" in html


# --------------------------------------------------------------------------------------------
# The decision's service, the payment period that runs from it, the late fee (行政处罚法 Arts 61, 67, 72)

AD = {"type_code": "samr_business_licence_not_displayed", "acting_department": "samr", "item_code": "samr.licence"}


def _decided(case, decided_on, amount=10000, **data):
    """Bring a case to the decision (the proposal's window already over) through the real transition."""
    from inspect_app.cases.services import transition
    case.status, case.penalty_amount, case.proposed_amount = "penalty_proposed", amount, amount
    case.reply_deadline = decided_on - timedelta(days=10)
    db.session.flush()
    transition(case, "decided", None, "作出行政处罚决定", {"decided_on": decided_on, **data})


def _user(username):
    from inspect_app.auth.models import User
    return db.session.scalar(db.select(User).where(User.username == username))


def test_payment_runs_from_the_day_the_decision_is_served(app, make_user):
    """Art 67: 自收到行政处罚决定书之日起十五日内. A decision of 29 September served by post on 9 October
    is paid by 26 October (the 15th day, 24 October, is a Saturday), not by 14 October; until served there is
    no payment date, and the decision must be served within 7 working days (Arts 61, 85), here over the
    National Day holiday."""
    from inspect_app.cases.clocks import case_clocks, payment_terms
    from inspect_app.cases.services import record_decision_service
    case_id = _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(case_id)
        _decided(case, date(2026, 9, 29))
        assert case.payment_due_on is None
        clocks = {c.code: c.due_on for c in case_clocks(case)}
        assert "payment" not in clocks
        # 30 September, then 8, 9, 10 (the adjusted working Saturday), 12, 13 and 14 October
        assert clocks["decision_service"] == date(2026, 10, 14)
        assert (case.next_due_on, case.next_due_kind) == (date(2026, 10, 14), "decision_service")
        terms = payment_terms(case, "zh_CN")
        assert (terms["days"], terms["due_on"], terms["counted_from"]) == (15, None, "service")
        assert "15" in terms["text"] and "送达" in terms["text"]
        record_decision_service(case, None, {"served_on": "2026-10-09", "manner": "post"}, today=date(2026, 10, 12))
        assert (case.decision_served_on, case.decision_service_manner) == (date(2026, 10, 9), "post")
        assert case.payment_due_on == date(2026, 10, 26)
        clocks = {c.code: c.due_on for c in case_clocks(case)}
        assert "decision_service" not in clocks and clocks["payment"] == date(2026, 10, 26)
        assert (case.next_due_on, case.next_due_kind) == (date(2026, 10, 26), "payment")
        assert "民事诉讼法》第八十五条" in payment_terms(case, "zh_CN")["basis"]  # why not the 24th


def test_decision_handed_over_when_announced_and_service_by_announcement(app, make_user):
    from inspect_app.cases.clocks import case_clocks
    from inspect_app.cases.services import record_decision_service
    first, second = _case(app, make_user, [DISPLAY]), _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(first)
        _decided(case, date(2026, 9, 29), served_on_the_spot=True)  # Art 61: 宣告后当场交付
        assert (case.decision_served_on, case.decision_service_manner) == (date(2026, 9, 29), "on_the_spot")
        assert case.payment_due_on == date(2026, 10, 14)
        assert "decision_service" not in {c.code for c in case_clocks(case)}
        # the party could not be found: announced on 9 October, deemed served 30 days later (民事诉讼法 Art 95)
        case = _load(second)
        _decided(case, date(2026, 9, 29))
        record_decision_service(case, None, {"served_on": date(2026, 10, 9), "manner": "announcement"},
                                today=date(2026, 10, 9))
        assert case.decision_served_on == date(2026, 11, 8)
        assert case.payment_due_on == date(2026, 11, 23)


def test_service_refusals_name_the_reason(app, client, make_user, token_for):
    from inspect_app.cases.clocks import local_today
    officers = team(make_user, "hrss")
    inspection = complete_inspection(app, make_entity(app), [(u, "hrss") for u in officers], [DISPLAY])
    case_id = case_ids(app, inspection)["hrss"]
    from inspect_app.auth.models import User
    with app.app_context():
        headers = token_for(db.session.get(User, officers[0]).username)
    url = f"/api/v1/cases/{case_id}/decision-service"
    r = client.post(url, headers=headers, json={"served_on": "2026-10-09", "manner": "post"})
    assert r.status_code == 409 and r.json["error"]["code"] == "case_state"
    assert "没有待送达" in r.json["error"]["message"]  # not decided: nothing to serve
    with app.test_request_context():
        today = local_today()
        decided_on = today - timedelta(days=3)
        _decided(_load(case_id), decided_on)
        db.session.commit()
    r = client.post(url, headers=headers, json={"served_on": (decided_on - timedelta(days=1)).isoformat(),
                                                "manner": "in_person"})
    assert r.status_code == 422 and "served_on" in r.json["error"]["fields"]
    r = client.post(url, headers=headers, json={"served_on": today.isoformat(), "manner": "on_the_spot"})
    assert r.status_code == 422 and "manner" in r.json["error"]["fields"]  # on the spot = the decision's day
    r = client.post(url, headers=headers, json={"served_on": (today + timedelta(days=1)).isoformat(),
                                                "manner": "in_person"})
    assert r.status_code == 422 and "served_on" in r.json["error"]["fields"]
    r = client.post(url, headers=headers, json={"served_on": today.isoformat(), "manner": "by_pigeon"})
    assert r.status_code == 422 and "manner" in r.json["error"]["fields"]
    r = client.post(url, headers=headers, json={"served_on": today.isoformat(), "manner": "left"})
    assert r.status_code == 201, r.json
    assert r.json["payment_due_on"] == (today + timedelta(days=15)).isoformat()
    assert r.json["payment"]["counted_from"] == "service" and r.json["decision_service_due_on"] is None
    r = client.post(url, headers=headers, json={"served_on": today.isoformat(), "manner": "post"})
    assert r.status_code == 409 and today.isoformat() in r.json["error"]["message"]  # already served that day
    from inspect_app.audit.models import AuditEvent
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "case.decision_served")).all()
        assert [e.after["manner"] for e in events] == ["left"]


def test_a_decided_case_is_closed_only_once_the_decision_was_served(app, make_user):
    from inspect_app.cases.services import record_decision_service, transition
    from inspect_app.errors import InvalidData
    case_id = _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(case_id)
        _decided(case, date(2026, 9, 29), amount=0)  # a warning: nothing to execute, still to be served
        with pytest.raises(InvalidData) as refused:
            transition(case, "closed", None, "结案")
        assert "送达" in str(refused.value.fields["to"][0])
        record_decision_service(case, None, {"served_on": "2026-09-30", "manner": "in_person"},
                                today=date(2026, 10, 8))
        assert case.payment_due_on is None  # no fine, nothing to pay
        transition(case, "closed", None, "结案")
        assert case.status == "closed"


def test_cases_decided_before_service_was_recorded_keep_their_payment_date(app, make_user):
    """The migration leaves payment_due_on (counted from the decision) as it was: such a case is not asked
    for its service and its payment clock runs as before."""
    from inspect_app.cases.clocks import case_clocks, payment_terms
    case_id = _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(case_id)
        case.status, case.penalty_amount, case.decided_on = "decided", 10000, date(2026, 9, 29)
        case.payment_due_on = date(2026, 10, 14)
        db.session.flush()
        assert {c.code: c.due_on for c in case_clocks(case)}["payment"] == date(2026, 10, 14)
        assert "decision_service" not in {c.code for c in case_clocks(case)}
        assert payment_terms(case, "zh_CN")["counted_from"] == "decision"


def test_overdue_service_is_on_the_deadline_panel_and_the_case_list(app, client, make_user, auth):
    from inspect_app.cases.clocks import deadline_panel, local_today
    case_id = _case(app, make_user, [DISPLAY])
    make_user("boss.serve", roles=("supervisor",), department="hrss")
    with app.test_request_context():
        _decided(_load(case_id), local_today() - timedelta(days=20))  # 7 working days are long gone
        db.session.commit()
        panel = deadline_panel(_user("boss.serve"))
        assert [(r["case_id"], r["clock"]) for r in panel["overdue"]] == [(case_id, "decision_service")]
    auth.login("boss.serve")
    html = client.get("/cases/").data.decode()
    assert html.count("决定书待送达当事人") >= 2  # the panel's row and the list's next deadline


@pytest.mark.parametrize("days, amount, capped", [
    (0, None, False),  # the last day to pay: nothing yet
    (1, "300.00", False),
    (33, "9900.00", False),  # 99% of the fine
    (34, "10000.00", True),  # 102% would exceed the fine: at most the fine (Art 72)
    (400, "10000.00", True),
])
def test_late_fee_is_three_percent_a_day_at_most_the_fine(app, make_user, days, amount, capped):
    from inspect_app.cases.clocks import late_fee
    case_id = _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(case_id)
        _decided(case, date(2026, 9, 29), amount=10000, served_on_the_spot=True)
        due = case.payment_due_on
        fee = late_fee(case, due + timedelta(days=days), "zh_CN")
        if amount is None:
            assert fee is None
            return
        assert (fee["days_overdue"], fee["amount"], fee["capped"]) == (days, amount, capped)
        assert fee["from"] == due + timedelta(days=1) and fee["percent_per_day"] == 3
        assert "第七十二条" in fee["basis"]


def test_late_fee_is_exact_in_fen_and_stops_when_paid(app, make_user):
    from inspect_app.cases.clocks import late_fee
    from inspect_app.cases.services import transition
    case_id = _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(case_id)
        _decided(case, date(2026, 9, 29), amount=333, served_on_the_spot=True)
        assert late_fee(case, date(2026, 10, 15))["amount"] == "9.99"  # 3% of 333 yuan, one day
        transition(case, "executed", None, "逾期两日缴纳", {"execution": "paid", "executed_on": date(2026, 10, 16)})
        fee = late_fee(case, date(2027, 3, 1))
        assert (fee["days_overdue"], fee["amount"], fee["paid"]) == (2, "19.98", True)


def test_case_page_and_api_show_the_late_fee_with_its_basis(app, client, make_user, auth, token_for):
    from inspect_app.cases.clocks import local_today
    case_id = _case(app, make_user, [DISPLAY])
    make_user("boss.late", roles=("supervisor",), department="hrss")
    with app.test_request_context():
        today = local_today()
        _decided(_load(case_id), today - timedelta(days=25), amount=20000, served_on_the_spot=True)
        db.session.commit()  # due 10 days ago: 10 x 3% x 20,000 = 6,000 yuan
    body = client.get(f"/api/v1/cases/{case_id}", headers=token_for("boss.late")).json
    assert body["late_fee"]["days_overdue"] == 10 and body["late_fee"]["amount"] == "6000.00"
    assert body["late_fee"]["fine"] == 20000 and "百分之三" in body["late_fee"]["basis"]
    assert [c["state"] for c in body["clocks"] if c["code"] == "payment"] == ["overdue"]
    auth.login("boss.late")
    html = client.get(f"/cases/{case_id}").data.decode()
    assert "加处罚款" in html and "6,000.00" in html and "每日按罚款数额（20,000元）的3%" in html


def test_notices_print_the_same_payment_figures_as_the_clocks(app):
    """The decision tells the party 15 days and 3% a day (registries/notices.yaml); the case counts with
    registries/enforcement.yaml: the two must agree."""
    with app.app_context():
        clocks, notices = app.extensions["inspect_enforcement"].clocks, app.extensions["inspect_notices"]
        figures = (notices.payment_days, notices.late_fee_percent)
        assert (clocks["payment_days"], clocks["late_fee_percent_per_day"]) == figures


# --------------------------------------------------------------------------------------------
# Market regulation: the decision period extended once by 30 days

def _samr_case(app, make_user):
    officers = team(make_user, "samr")
    inspection = complete_inspection(app, make_entity(app), [(u, "samr") for u in officers], [AD], lead="samr")
    return case_ids(app, inspection)["samr"]


def test_samr_decision_period_is_extended_once_with_a_reason(app, client, make_user, token_for):
    from inspect_app.audit.models import AuditEvent
    case_id = _samr_case(app, make_user)
    make_user("boss.samr.ext", roles=("supervisor",), department="samr")
    headers = token_for("boss.samr.ext")
    with app.test_request_context():
        filed = _load(case_id).filed_on
    before = {c["code"]: c for c in client.get(f"/api/v1/cases/{case_id}", headers=headers).json["clocks"]}
    assert before["decision"]["due_on"] == (filed + timedelta(days=90)).isoformat()
    url = f"/api/v1/cases/{case_id}/extensions"
    r = client.post(url, headers=headers, json={"clock": "decision", "reason": " "})
    assert r.status_code == 422 and "reason" in r.json["error"]["fields"]
    r = client.post(url, headers=headers, json={"clock": "decision", "reason": "案情复杂，需调取银行流水，经负责人批准延期"})
    assert r.status_code == 201, r.json
    assert r.json["decision_extended"] is True
    decision = {c["code"]: c for c in r.json["clocks"]}["decision"]
    assert decision["due_on"] == (filed + timedelta(days=120)).isoformat()
    assert "延长30日" in decision["label"] and "市场监督管理行政处罚程序规定" in decision["basis"]
    r = client.post(url, headers=headers, json={"clock": "decision", "reason": "再次延期"})
    assert r.status_code == 409 and r.json["error"]["code"] == "case_state"
    assert "已经延长过一次" in r.json["error"]["message"]
    with app.app_context():
        events = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "case.decision_extended")).all()
        assert [e.after["reason"] for e in events] == ["案情复杂，需调取银行流水，经负责人批准延期"]
        assert events[0].after["decision_due_on"] == (filed + timedelta(days=120)).isoformat()


def test_decision_extension_is_refused_outside_market_regulation_and_after_the_decision(
        app, client, make_user, token_for):
    hrss_case = _case(app, make_user, [DISPLAY])
    samr_case = _samr_case(app, make_user)
    make_user("boss.hrss.ext", roles=("supervisor",), department="hrss")
    make_user("boss.samr.late", roles=("supervisor",), department="samr")
    r = client.post(f"/api/v1/cases/{hrss_case}/extensions", headers=token_for("boss.hrss.ext"),
                    json={"clock": "decision", "reason": "案情复杂"})
    assert r.status_code == 409 and "市场监督管理" in r.json["error"]["message"]
    with app.test_request_context():
        _decided(_load(samr_case), date(2026, 9, 29))
        db.session.commit()
    r = client.post(f"/api/v1/cases/{samr_case}/extensions", headers=token_for("boss.samr.late"),
                    json={"clock": "decision", "reason": "案情复杂"})
    assert r.status_code == 409 and "已作出处罚决定" in r.json["error"]["message"]
    # the labour inspection period has its own extension, through the same endpoint
    r = client.post(f"/api/v1/cases/{hrss_case}/extensions", headers=token_for("boss.hrss.ext"),
                    json={"clock": "labour_investigation", "reason": "案情复杂"})
    assert r.status_code == 201 and r.json["investigation_extended"] is True


def test_decision_extension_on_the_case_page(app, client, make_user, auth):
    from tests.conftest import csrf_from
    case_id = _samr_case(app, make_user)
    make_user("boss.samr.page", roles=("supervisor",), department="samr")
    auth.login("boss.samr.page")
    page = client.get(f"/cases/{case_id}")
    html = page.data.decode()
    assert "延长作出决定的期限30日" in html
    assert "延长办案期限30个工作日" not in html  # the labour extension is not a market regulation one
    token = csrf_from(page.data)
    url = f"/cases/{case_id}/decision-extension"
    r = client.post(url, data={"csrf_token": token, "dext-reason": ""})
    assert r.status_code == 422
    r = client.post(url, data={"csrf_token": token, "dext-reason": "案情复杂，经负责人批准"})
    assert r.status_code == 302
    html = client.get(f"/cases/{case_id}").data.decode()
    assert "延长30日" in html and "延长作出决定的期限30日" not in html
    r = client.post(url, data={"csrf_token": token, "dext-reason": "再次延期"})
    assert r.status_code == 409 and "已经延长过一次" in r.data.decode()


def test_decision_service_on_the_case_page(app, client, make_user, auth):
    from inspect_app.cases.clocks import local_today
    from tests.conftest import csrf_from
    case_id = _case(app, make_user, [DISPLAY])
    make_user("boss.page.serve", roles=("supervisor",), department="hrss")
    with app.test_request_context():
        today = local_today()
        _decided(_load(case_id), today - timedelta(days=1))
        db.session.commit()
    auth.login("boss.page.serve")
    page = client.get(f"/cases/{case_id}")
    html = page.data.decode()
    assert "送达后15日内" in html  # no date before service
    assert "决定书待送达当事人" in html
    token = csrf_from(page.data)
    url = f"/cases/{case_id}/decision-service"
    r = client.post(url, data={"csrf_token": token, "service-served_on": (today - timedelta(days=2)).isoformat(),
                               "service-manner": "in_person"})
    assert r.status_code == 422 and "不能早于" in r.data.decode()
    r = client.post(url, data={"csrf_token": token, "service-served_on": today.isoformat(),
                               "service-manner": "in_person"})
    assert r.status_code == 302
    html = client.get(f"/cases/{case_id}").data.decode()
    due = today + timedelta(days=15)
    assert "直接送达" in html and f"{due.year}年{due.month}月{due.day}日" in html


def _notice(case, notice_type, seq, documents=()):
    """An issued notice row of the case (what issue_notice leaves; no PDF is needed here)."""
    from inspect_app.notices.models import Notice
    notice = Notice(type=notice_type, department="hrss", year=2026, seq=seq, number=f"朔人社〔2026〕{notice_type}{seq}号",
                    title=notice_type, status="issued", case_id=case.id, entity_id=case.entity_id,
                    region_code=case.region_code, party_name=case.entity.name,
                    snapshot={"body": {"documents": [{"id": d.id, "title": d.title, "number": d.number}
                                                     for d in documents]}},
                    snapshot_sha256="0" * 64, pdf_path="x.pdf", pdf_sha256="0" * 64, pdf_size=1, page_count=1,
                    verify_token=f"token-{notice_type}-{seq}", short_code=f"{notice_type[-6:]}{seq}")
    db.session.add(notice)
    db.session.flush()
    return notice


def test_service_names_the_service_receipt_that_lists_the_decision(app, make_user):
    """The 送达回证 issued for the case (民事诉讼法 Art 87) is kept with the service when it lists the decision."""
    from inspect_app.cases.services import record_decision_service, service_receipts
    from inspect_app.errors import InvalidData
    case_id = _case(app, make_user, [DISPLAY])
    with app.test_request_context():
        case = _load(case_id)
        _decided(case, date(2026, 9, 29))
        decision = _notice(case, "penalty_decision", 1)
        advance = _notice(case, "penalty_advance_notice", 1)
        wrong = _notice(case, "service_receipt", 1, documents=[advance])  # serves the advance notice only
        right = _notice(case, "service_receipt", 2, documents=[decision])
        assert [r.id for r in service_receipts(case)] == [right.id]
        with pytest.raises(InvalidData) as refused:
            record_decision_service(case, None, {"served_on": "2026-09-30", "manner": "in_person",
                                                 "receipt_id": wrong.id}, today=date(2026, 10, 8))
        assert "receipt_id" in refused.value.fields
        record_decision_service(case, None, {"served_on": "2026-09-30", "manner": "in_person",
                                             "receipt_id": right.id}, today=date(2026, 10, 8))
        assert case.decision_receipt.number == right.number and case.payment_due_on == date(2026, 10, 15)


def test_labour_extension_page_refuses_a_second_extension_with_409(app, client, make_user, auth):
    from tests.conftest import csrf_from
    case_id = _case(app, make_user, [DISPLAY])
    make_user("boss.labour.page", roles=("supervisor",), department="hrss")
    auth.login("boss.labour.page")
    page = client.get(f"/cases/{case_id}")
    html = page.data.decode()
    assert "延长办案期限30个工作日" in html and "延长作出决定的期限" not in html  # not a market regulation case
    token = csrf_from(page.data)
    url = f"/cases/{case_id}/extension"
    assert client.post(url, data={"csrf_token": token, "ext-reason": "案情复杂，经负责人批准"}).status_code == 302
    with app.app_context():
        assert _load(case_id).investigation_extended is True
    r = client.post(url, data={"csrf_token": token, "ext-reason": "再次延长"})
    assert r.status_code == 409 and "已经延长过一次" in r.data.decode()


@pytest.mark.parametrize("served, due", [
    (date(2026, 9, 20), date(2026, 10, 8)),   # the 15th day, 5 October, is in the National Day holiday
    (date(2026, 9, 25), date(2026, 10, 10)),  # 10 October is a Saturday worked instead of a holiday: it stays
    (date(2026, 10, 9), date(2026, 10, 26)),  # Saturday 24 October: Monday
    (date(2026, 10, 14), date(2026, 10, 29)),  # a Thursday: as counted
])
def test_a_payment_period_ending_on_a_rest_day_ends_on_the_next_working_day(app, served, due):
    """民事诉讼法 Art 85 by analogy (enforcement.yaml): 加处罚款 never starts on a day the party could not pay."""
    from inspect_app.cases.clocks import payment_due_from
    with app.app_context():
        assert payment_due_from(served) == due
