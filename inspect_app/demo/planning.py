"""Demo campaign: committed and drawn, so planners and inspectors have something to look at."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..planning.draw import commitment_of
from ..planning.models import Campaign
from ..planning.services import create_campaign, draw_campaign

DEMO_SEED = "2026年12月1日 联席办公开摇号 08 15 23 31 42"


def seed_demo_campaign(today: date | None = None) -> Campaign | None:
    """One drawn campaign over the coming working days (skipped when any campaign exists)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Campaign)):
        return None
    today = today or date.today()
    start = date(today.year, today.month, 1) if today.day < 20 else today
    campaign = create_campaign({
        "name": "职业中介和娱乐场所双随机联合抽查（演示）", "lead_department": "hrss",
        "departments": ["hrss", "samr", "culture"], "kinds": ["job_agency", "entertainment_venue"],
        "region_codes": ["140602", "140681"], "start_date": max(start, today),
        "end_date": date.fromordinal(max(start, today).toordinal() + 20), "sample_size": 24,
        "risk_tiers": [{"min_risk": 20, "rate": 0.3}], "team_size": 3, "max_per_team_day": 4,
        "seed_commitment": commitment_of(DEMO_SEED)})
    draw_campaign(campaign, DEMO_SEED)
    return campaign
