"""Demo campaigns: one drawn over the coming working days, so planners and inspectors have something
to look at; one from two months ago, published, inspected and closed, so the public pages (一公开)
show results; and a declared conflict and a leave."""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from ..auth.models import User
from ..extensions import db
from ..inspection.models import Inspection, Violation
from ..planning.draw import commitment_of
from ..planning.models import Campaign, InspectorConflict, InspectorLeave
from ..planning.services import change_campaign_status, create_campaign, draw_campaign
from ..workdays import add_workdays

DEMO_SEED = "2026年12月1日 联席办公开摇号 08 15 23 31 42"
PAST_SEED = "联席办公开摇号 03 11 19 27 35 演示"
PAST_NAME = "人力资源市场和娱乐场所“双随机”联合抽查（演示，已结束）"
# outcome of the n-th completed inspection, and the violation it found (catalogue code, restricted)
PAST_OUTCOMES = [("compliant", None), ("compliant", None), ("violations", ("ja_display_missing", False)),
                 ("compliant", None), ("violations", ("ev_minor_id_check_missing", False)),
                 ("referred", ("ev_prostitution", True)), ("compliant", None), ("closed_premises", None),
                 ("compliant", None), ("violations", ("samr_business_licence_not_displayed", False))]


def seed_demo_campaign(today: date | None = None) -> Campaign | None:
    """The demo campaigns (each skipped when it exists already); returns the upcoming one when created."""
    today = today or date.today()
    _seed_past_campaign(today)
    if db.session.scalar(sa.select(sa.func.count()).select_from(Campaign).where(Campaign.name != PAST_NAME)):
        return None
    start = date(today.year, today.month, 1) if today.day < 20 else today
    campaign = create_campaign({
        "name": "职业中介和娱乐场所双随机联合抽查（演示）", "lead_department": "hrss",
        "departments": ["hrss", "samr", "culture"], "kinds": ["job_agency", "entertainment_venue"],
        "region_codes": ["140602", "140681"], "start_date": max(start, today),
        "end_date": date.fromordinal(max(start, today).toordinal() + 20), "sample_size": 24,
        "risk_tiers": [{"min_risk": 20, "rate": 0.3}], "team_size": 3, "max_per_team_day": 4,
        "seed_commitment": commitment_of(DEMO_SEED)})
    draw_campaign(campaign, DEMO_SEED)
    _seed_conflict_and_leave(campaign.end_date)
    return campaign


def _seed_past_campaign(today: date) -> None:
    """Two months ago: drawn, published, every visit completed with an outcome, closed."""
    if db.session.scalar(sa.select(Campaign.id).where(Campaign.name == PAST_NAME)):
        return
    start = today - timedelta(days=70)
    campaign = create_campaign({
        "name": PAST_NAME, "lead_department": "samr", "departments": ["hrss", "samr", "culture"],
        "kinds": ["job_agency", "entertainment_venue"], "region_codes": ["140602", "140681"],
        "start_date": start, "end_date": start + timedelta(days=27), "sample_size": 10, "team_size": 3,
        "max_per_team_day": 3, "recusal_months": 0, "seed_commitment": commitment_of(PAST_SEED)})
    draw_campaign(campaign, PAST_SEED)
    change_campaign_status(campaign, "published")
    inspections = db.session.scalars(sa.select(Inspection).where(Inspection.campaign_id == campaign.id)
                                     .order_by(Inspection.scheduled_date, Inspection.id)).all()
    for number, inspection in enumerate(inspections):  # findings first: a completed record is frozen
        outcome, violation = PAST_OUTCOMES[number % len(PAST_OUTCOMES)]
        if violation:
            code, restricted = violation
            db.session.add(Violation(inspection=inspection, entity_id=inspection.entity_id, type_code=code,
                                     acting_department="police" if restricted else inspection.lead_department,
                                     description="（演示）现场检查发现的问题", criminal=restricted,
                                     restricted=restricted, status="open"))
    db.session.flush()
    with db.session.no_autoflush:  # each record is frozen in one flush (the guard refuses later changes)
        for number, inspection in enumerate(inspections):
            outcome, _violation = PAST_OUTCOMES[number % len(PAST_OUTCOMES)]
            day = inspection.scheduled_date or start
            began = datetime.combine(day, time(1, 30), timezone.utc)  # 09:30 in Shuozhou
            inspection.completed_by_id = inspection.members[0].user_id if inspection.members else None
            inspection.status, inspection.started_dt, inspection.outcome = "completed", began, outcome
            inspection.completed_dt = began + timedelta(hours=1, minutes=20)
            inspection.record = {"demo": True, "outcome": outcome}
            inspection.record_sha256 = hashlib.sha256(json.dumps(inspection.record, sort_keys=True)
                                                      .encode()).hexdigest()
    db.session.flush()
    change_campaign_status(campaign, "closed")


def _seed_conflict_and_leave(until: date) -> None:
    inspector = db.session.scalar(sa.select(User).where(User.username == "inspector.hrss.sc"))
    if inspector is None:
        return
    db.session.add(InspectorConflict(user_id=inspector.id, legal_representative="王建国",
                                     reason="（演示）配偶之兄，近亲属"))
    leave_start = add_workdays(until, 3)
    db.session.add(InspectorLeave(user_id=inspector.id, start_date=leave_start,
                                  end_date=leave_start + timedelta(days=4), note="（演示）年休假"))
    db.session.flush()
