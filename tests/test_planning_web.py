"""The planners' pages: create, commit, draw, verify."""
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.planning.draw import commitment_of
from inspect_app.planning.models import Campaign
from tests.conftest import AuthActions, csrf_from
from tests.planning_helpers import add_entities, add_inspectors

SEED = "人工摇号 03 17 22 41"


def test_wizard_commit_draw_verify(app, client, make_user):
    add_entities(app, n=20)
    add_inspectors(make_user)
    make_user("plan.web", roles=("planner",), department="hrss", region="140600")
    AuthActions(client).login("plan.web")
    page = client.get("/campaigns/new")
    assert page.status_code == 200 and "参与部门" in page.data.decode()
    created = client.post("/campaigns/new", data={
        "csrf_token": csrf_from(page.data), "name": "十二月职业中介双随机抽查", "lead_department": "hrss",
        "departments": ["hrss", "samr"], "kinds": ["job_agency"], "region_codes": ["140602", "140681"],
        "start_date": "2026-12-01", "end_date": "2026-12-11", "sample_size": "6", "team_size": "2",
        "max_per_team_day": "3", "recusal_months": "12"})
    assert created.status_code == 302, created.data.decode()[:2000]
    url = created.headers["Location"]
    detail = client.get(url)
    assert "草稿" in detail.data.decode()
    token = csrf_from(detail.data)
    client.post(url, data={"csrf_token": token, "action": "commit", "commit-seed_commitment": commitment_of(SEED)})
    committed = client.get(url).data.decode()
    assert commitment_of(SEED) in committed and "已承诺" in committed
    wrong = client.post(url, data={"csrf_token": token, "action": "draw", "draw-seed": "not the seed"})
    assert "与抽签前记录的承诺不符" in wrong.data.decode()
    client.post(url, data={"csrf_token": token, "action": "draw", "draw-seed": SEED})
    drawn = client.get(url).data.decode()
    assert "已抽取" in drawn and SEED in drawn
    with app.app_context():
        campaign = db.session.scalar(sa.select(Campaign))
        assert campaign.status == "drawn"
    assert "一致" in client.get(f"/campaigns/{campaign.id}/verify").data.decode()


def test_inspectors_cannot_draw(app, client, make_user):
    make_user("insp.no", roles=("inspector",))
    AuthActions(client).login("insp.no")
    assert client.get("/campaigns/new").status_code == 403
    assert client.get("/campaigns/").status_code == 200
