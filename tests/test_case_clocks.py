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
