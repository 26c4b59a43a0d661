"""Re-inspection: the daily tick schedules a follow-up when the rectification deadline passes (once),
and the follow-up's result settles the case."""
from __future__ import annotations

import json
from datetime import date

import pytest
import sqlalchemy as sa

from inspect_app.extensions import db
from tests.cases_helpers import case_ids, complete_inspection, make_entity, team

DISPLAY = {"type_code": "ja_display_missing", "acting_department": "hrss", "item_code": "job_agency.hrss.display"}
LEDGER = {"type_code": "ja_ledger_missing", "acting_department": "hrss", "item_code": "job_agency.hrss.ledger"}
LICENCE = {"type_code": "samr_business_licence_not_displayed", "acting_department": "samr",
           "item_code": "job_agency.samr.licence"}


def _ordered(app, make_user, deadline: date, violations=(DISPLAY, LEDGER)):
    from inspect_app.cases.models import Case
    from inspect_app.cases.services import transition
    hrss, samr = team(make_user, "hrss"), team(make_user, "samr", n=1)
    entity = make_entity(app)
    inspection = complete_inspection(app, entity, [(hrss[0], "hrss"), (samr[0], "samr"), (hrss[1], "hrss")],
                                     list(violations))
    case_id = case_ids(app, inspection)["hrss"]
    with app.test_request_context():
        transition(db.session.get(Case, case_id), "rectification_ordered", None, "责令限期改正",
                   {"ordered_on": date(2026, 9, 21), "deadline": deadline})
        db.session.commit()
    return entity, inspection, case_id, hrss


def _follow_ups(app, inspection_id):
    from inspect_app.inspection.models import Inspection
    with app.app_context():
        return [(i.id, i.origin, i.follows_id, i.scheduled_date, i.focus_items, i.lead_department,
                 sorted(m.user_id for m in i.members), i.status)
                for i in db.session.scalars(sa.select(Inspection).where(Inspection.follows_id == inspection_id))]


def test_tick_schedules_one_follow_up_on_the_next_working_day(app, runner, make_user):
    entity, inspection, case_id, hrss = _ordered(app, make_user, date(2026, 9, 30))
    # the deadline day itself: nothing yet
    result = runner.invoke(args=["cases", "tick", "--date", "2026-09-30"])
    assert result.exit_code == 0 and json.loads(result.output)["scheduled"] == []
    # the deadline has passed (National Day): the follow-up is on the first working day after the holiday
    result = runner.invoke(args=["cases", "tick", "--date", "2026-10-01"])
    assert result.exit_code == 0, result.output
    scheduled = json.loads(result.output)["scheduled"]
    assert [(s["case_id"], s["date"]) for s in scheduled] == [(case_id, "2026-10-08")]
    follow_ups = _follow_ups(app, inspection)
    assert len(follow_ups) == 1
    _, origin, follows, day, focus, lead, members, status = follow_ups[0]
    assert (origin, follows, day, lead, status) == ("follow_up", inspection, date(2026, 10, 8), "hrss", "planned")
    assert focus == ["job_agency.hrss.display", "job_agency.hrss.ledger"]  # the failed items only
    assert members == sorted(hrss)  # the original department's officers
    # idempotent: again the same day, and the next day, nothing new
    for day in ("2026-10-01", "2026-10-02"):
        result = runner.invoke(args=["cases", "tick", "--date", day])
        assert json.loads(result.output)["scheduled"] == []
    assert len(_follow_ups(app, inspection)) == 1
    from inspect_app.cases.models import Case
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "reinspection_due" and case.reinspection_id == follow_ups[0][0]
        assert (case.next_due_on, case.next_due_kind) == (date(2026, 10, 8), "reinspection")
        assert case.events[-1].actor_id is None and "届满" in case.events[-1].reason


def test_follow_up_finding_the_violation_again_means_not_rectified(app, runner, make_user):
    from inspect_app.cases.models import Case
    entity, inspection, case_id, hrss = _ordered(app, make_user, date(2026, 10, 9))
    assert runner.invoke(args=["cases", "tick", "--date", "2026-10-10"]).exit_code == 0
    follow_up_id = _follow_ups(app, inspection)[0][0]
    # 10 October 2026 is a Saturday and an adjusted working day: the follow-up is that day
    assert _follow_ups(app, inspection)[0][3] == date(2026, 10, 10)
    complete_inspection(app, entity, [(hrss[0], "hrss"), (hrss[1], "hrss")],
                        [DISPLAY, {"type_code": "ja_annual_report_missing", "acting_department": "hrss"}],
                        inspection_id=follow_up_id, answers=[("job_agency.hrss.ledger", "pass")])
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "not_rectified"
        types = sorted(v.type_code for v in case.violations)
        assert types == ["ja_display_missing", "ja_display_missing", "ja_ledger_missing"]
        # the new finding is a case of its own
        new = db.session.scalars(sa.select(Case).where(Case.inspection_id == follow_up_id)).all()
        assert [[v.type_code for v in c.violations] for c in new] == [["ja_annual_report_missing"]]
        # refusal to correct opens the fine of 人力资源市场暂行条例 Art 44 (5,000-10,000 yuan), once per act
        from inspect_app.cases.penalty import case_range
        with app.test_request_context():
            computed = case_range(case)
        assert (computed["min"], computed["max"]) == (5000 * 2, 10000 * 2)
        display = [i["violation_id"] for i in computed["items"] if i["type_code"] == "ja_display_missing"]
        assert display == [max(v.id for v in case.violations if v.type_code == "ja_display_missing")]


def test_follow_up_without_findings_means_rectified(app, runner, make_user):
    from inspect_app.cases.models import Case
    entity, inspection, case_id, hrss = _ordered(app, make_user, date(2026, 10, 9))
    runner.invoke(args=["cases", "tick", "--date", "2026-10-12"])
    follow_up_id = _follow_ups(app, inspection)[0][0]
    assert _follow_ups(app, inspection)[0][3] == date(2026, 10, 12)  # a late tick never schedules in the past
    complete_inspection(app, entity, [(hrss[0], "hrss")], [], inspection_id=follow_up_id,
                        answers=[("job_agency.hrss.display", "pass"), ("job_agency.hrss.ledger", "pass")])
    with app.app_context():
        case = db.session.get(Case, case_id)
        assert case.status == "rectified" and "已整改" in case.events[-1].reason


def test_tick_reports_a_case_without_two_officers_and_changes_nothing(app, runner, make_user):
    from inspect_app.auth.models import User
    from inspect_app.cases.models import Case
    entity, inspection, case_id, hrss = _ordered(app, make_user, date(2026, 9, 30))
    with app.app_context():
        for user_id in hrss:
            db.session.get(User, user_id).is_active = False
        db.session.commit()
    # the samr officer of the joint team is still there, but one officer is not a team (Art 42)
    result = runner.invoke(args=["cases", "tick", "--date", "2026-10-08"])
    assert result.exit_code == 1
    assert [p["case_id"] for p in json.loads(result.output)["problems"]] == [case_id]
    with app.app_context():
        assert db.session.get(Case, case_id).status == "rectification_ordered"
    assert _follow_ups(app, inspection) == []


def test_supervisor_schedules_from_the_page(app, client, make_user, auth):
    from tests.conftest import csrf_from
    _, inspection, case_id, _ = _ordered(app, make_user, date(2026, 9, 30))
    make_user("boss.tick", roles=("supervisor",), department="hrss")
    auth.login("boss.tick")
    page = client.get("/cases/")
    r = client.post("/cases/tick", data={"csrf_token": csrf_from(page.data)})
    assert r.status_code == 302
    assert len(_follow_ups(app, inspection)) == 1


@pytest.mark.postgresql
def test_concurrent_ticks_schedule_once(app, make_user, backend):
    """Two cron hosts running the tick at the same moment (PostgreSQL: the rows are locked, the other run
    skips them)."""
    import threading

    from inspect_app.cases.services import tick
    _, inspection, case_id, _ = _ordered(app, make_user, date(2026, 9, 30))
    barrier, results, errors = threading.Barrier(2), [], []

    def run():
        try:
            with app.app_context():
                barrier.wait()
                results.append(tick(date(2026, 10, 8)))
                db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(len(r["scheduled"]) for r in results) == [0, 1]
    assert len(_follow_ups(app, inspection)) == 1
