"""Campaigns through the API: commit, draw, verify, tamper, cause-based inspections."""
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.inspection.models import Inspection, InspectionMember
from inspect_app.planning.models import Draw
from inspect_app.registry.models import Entity
from tests.planning_helpers import SEED, add_entities, add_inspectors, campaign_body, planner_headers


def test_draw_and_verify(app, client, make_user, token_for):
    add_entities(app)
    add_inspectors(make_user)
    headers = planner_headers(make_user, token_for)
    campaign = client.post("/api/v1/campaigns", json=campaign_body(), headers=headers)
    assert campaign.status_code == 201, campaign.json
    assert campaign.json["status"] == "committed" and campaign.json["population_size"] == 30
    cid = campaign.json["id"]
    wrong = client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": "guess"}, headers=headers)
    assert wrong.status_code == 409 and wrong.json["error"]["code"] == "seed_mismatch"
    drawn = client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": SEED}, headers=headers)
    assert drawn.status_code == 201, drawn.json
    body = drawn.json
    assert body["algorithm"] == "inspect-draw-v1" and len(body["inspections"]) + len(body["shortfalls"]) == 8
    for inspection in body["inspections"]:
        assert {m["department"] for m in inspection["team"]} == {"hrss", "samr"}
    again = client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": SEED}, headers=headers)
    assert again.status_code == 409
    verify = client.get(f"/api/v1/campaigns/{cid}/draw/verify", headers=headers).json
    assert verify["ok"] is True and verify["result_hash"] == body["result_hash"]


def test_tampering_is_detected(app, client, make_user, token_for, runner):
    add_entities(app)
    add_inspectors(make_user)
    headers = planner_headers(make_user, token_for)
    cid = client.post("/api/v1/campaigns", json=campaign_body(), headers=headers).json["id"]
    client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": SEED}, headers=headers)
    assert runner.invoke(args=["campaigns", "verify-draw", str(cid)]).exit_code == 0
    with app.app_context():
        member = db.session.scalars(sa.select(InspectionMember)).first()
        other = db.session.scalar(sa.select(sa.func.max(InspectionMember.user_id)))
        swap = other if member.user_id != other else other - 1
        db.session.execute(sa.update(InspectionMember).where(InspectionMember.id == member.id)
                           .values(user_id=swap))
        db.session.commit()
    verify = client.get(f"/api/v1/campaigns/{cid}/draw/verify", headers=headers).json
    assert verify["ok"] is False and "the planned inspections differ from the draw" in verify["problems"]
    result = runner.invoke(args=["campaigns", "verify-draw", str(cid)])
    assert result.exit_code == 1 and "differ" in result.output
    with app.app_context():
        draw = db.session.scalar(sa.select(Draw))
        result_json = dict(draw.result, targets=draw.result["targets"][:-1])
        db.session.execute(sa.update(Draw).values(result=result_json))
        db.session.commit()
    assert "stored result does not match its hash" in client.get(
        f"/api/v1/campaigns/{cid}/draw/verify", headers=headers).json["problems"]


def test_population_is_frozen_at_commitment(app, client, make_user, token_for):
    add_entities(app, n=10)
    add_inspectors(make_user)
    headers = planner_headers(make_user, token_for)
    cid = client.post("/api/v1/campaigns", json=campaign_body(sample_size=3), headers=headers).json["id"]
    add_entities(app, n=5)  # registered after the commitment: not in this draw
    client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": SEED}, headers=headers)
    with app.app_context():
        draw = db.session.scalar(sa.select(Draw))
        assert draw.population_size == 10 and len(draw.record["population"]) == 10


def test_record_is_identical_on_every_backend(app, client, make_user, token_for):
    """The frozen record holds exactly the rows inserted (no float or ordering drift), so the
    same inputs give the same draw on SQLite and PostgreSQL."""
    add_entities(app, n=12)
    add_inspectors(make_user)
    headers = planner_headers(make_user, token_for)
    cid = client.post("/api/v1/campaigns", json=campaign_body(sample_size=4), headers=headers).json["id"]
    with app.app_context():
        draw = db.session.scalar(sa.select(Draw).where(Draw.campaign_id == cid))
        rows = db.session.execute(sa.select(Entity.id, Entity.region_code, Entity.lat, Entity.lon, Entity.risk_score)
                                  .order_by(Entity.id)).all()
        assert [[r.id, r.region_code, "job_agency", r.risk_score, r.lat, r.lon] for r in rows] == \
            draw.record["population"]
        first_id = rows[0].id
    expected_lat = [39.83 + i * 0.001 if i % 2 == 0 else 39.33 + i * 0.001 for i in range(12)]
    assert [row[4] for row in draw.record["population"]] == expected_lat
    assert draw.record["population"][0][0] == first_id


def test_validation_errors(client, make_user, token_for):
    headers = planner_headers(make_user, token_for)
    bad = client.post("/api/v1/campaigns", json=campaign_body(
        departments=["hrss", "tax"], kinds=[], start_date="2026-12-10", end_date="2026-12-01", sample_size=None,
        seed_commitment="abc"), headers=headers)
    assert bad.status_code == 422
    assert {"departments", "kinds", "end_date", "sample_rate", "seed_commitment"} <= set(bad.json["error"]["fields"])


def test_only_planners_plan(client, make_user, token_for):
    make_user("just.inspector", roles=("inspector",))
    response = client.post("/api/v1/campaigns", json=campaign_body(), headers=token_for("just.inspector"))
    assert response.status_code == 403


def test_cause_based_inspection_is_never_random(app, make_user):
    from inspect_app.planning.services import add_cause_inspection
    add_entities(app, n=2)
    a, b = make_user("cause.one", roles=("inspector",)), make_user("cause.two", roles=("inspector",), department="samr")
    with app.app_context():
        entity = db.session.scalar(sa.select(Entity))
        inspection = add_cause_inspection(None, entity, {"cause_note": "举报：扣押求职者身份证", "team": [a, b],
                                                         "date": "2026-12-02"})
        db.session.commit()
        assert inspection.origin == "cause" and len(inspection.members) == 2
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)
                                 .where(Inspection.origin == "random")) == 0
