"""Shared set-up of the planning tests: entities, inspectors, a committed and drawn campaign."""
from __future__ import annotations

import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.planning.draw import commitment_of
from inspect_app.registry.models import Entity
from tests.registry_helpers import new_code

SEED = "联合检查 2026 第四季度 9c1e"


def add_entities(app, n=30, **fields):
    """``n`` active job agencies, alternately in 朔城区 and 怀仁市, with coordinates; returns their ids."""
    with app.app_context():
        rows = []
        for i in range(n):
            region = "140602" if i % 2 else "140681"
            values = dict(kind="job_agency", name=f"测试中介{i}", credit_code=new_code(region), address="某地",
                          region_code=region, status="active", risk_score=(i * 7) % 100,
                          lat=39.33 + i * 0.001 if region == "140602" else 39.83 + i * 0.001,
                          lon=112.43 if region == "140602" else 113.09, attributes={})
            values.update(fields)
            rows.append(Entity(**values))
        db.session.add_all(rows)
        db.session.commit()
        return [e.id for e in rows]


def add_inspectors(make_user, departments=("hrss", "samr"), per_county=2, **extra):
    ids = []
    for department in departments:
        for region in ("140602", "140681"):
            for k in range(per_county):
                ids.append(make_user(f"i.{department}.{region}.{k}", roles=("inspector",), department=department,
                                     region=region, **extra))
    return ids


def campaign_body(**overrides):
    body = {"name": "2026年第四季度人力资源市场专项检查", "lead_department": "hrss", "departments": ["hrss", "samr"],
            "kinds": ["job_agency"], "region_codes": ["140602", "140681"], "start_date": "2026-12-01",
            "end_date": "2026-12-11", "sample_size": 8, "risk_tiers": [{"min_risk": 60, "rate": 0.5}],
            "team_size": 2, "max_per_team_day": 3, "seed_commitment": commitment_of(SEED)}
    body.update(overrides)
    return body


def planner_headers(make_user, token_for, username="planner.city"):
    make_user(username, roles=("planner",), department="hrss", region="140600")
    return token_for(username)


def drawn_campaign(app, client, make_user, token_for, entities=30, **overrides) -> tuple[int, dict]:
    """A committed and drawn campaign through the API; returns (campaign id, planner's headers)."""
    add_entities(app, entities)
    add_inspectors(make_user)
    headers = planner_headers(make_user, token_for)
    created = client.post("/api/v1/campaigns", json=campaign_body(**overrides), headers=headers)
    assert created.status_code == 201, created.json
    drawn = client.post(f"/api/v1/campaigns/{created.json['id']}/draw", json={"seed": SEED}, headers=headers)
    assert drawn.status_code == 201, drawn.json
    return created.json["id"], headers


def set_inspections(app, campaign_id, **values):
    """Change every inspection of the campaign in the database (the field inspection is another area's)."""
    from inspect_app.inspection.models import Inspection
    with app.app_context():
        db.session.execute(sa.update(Inspection).where(Inspection.campaign_id == campaign_id).values(**values))
        db.session.commit()
