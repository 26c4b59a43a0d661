"""Route sheets: the page, the PDF (text and fonts checked), the order on the map."""
import subprocess

import pytest
import sqlalchemy as sa

from inspect_app.extensions import db
from inspect_app.inspection.models import Inspection
from tests.conftest import AuthActions
from tests.planning_helpers import SEED, add_entities, add_inspectors, campaign_body


@pytest.fixture
def drawn(app, client, make_user, token_for):
    add_entities(app, n=20)
    add_inspectors(make_user)
    make_user("planner.route", roles=("planner",), department="hrss", region="140600")
    headers = token_for("planner.route")
    cid = client.post("/api/v1/campaigns", json=campaign_body(), headers=headers).json["id"]
    client.post(f"/api/v1/campaigns/{cid}/draw", json={"seed": SEED}, headers=headers)
    with app.app_context():
        inspection = db.session.scalar(sa.select(Inspection).where(Inspection.team_day.is_not(None)))
        team_day = inspection.team_day
        names = [i.entity.name for i in db.session.scalars(sa.select(Inspection).where(
            Inspection.team_day == team_day).order_by(Inspection.route_position))]
    AuthActions(client).login("planner.route")
    return cid, team_day, names


def test_route_sheet_page(client, drawn):
    cid, team_day, names = drawn
    html = client.get(f"/campaigns/{cid}/route/{team_day}").data.decode()
    assert "<svg" in html and "路线单" in html
    positions = [html.index(f"<td>{name}<br>", html.index("route-table")) for name in names]
    assert positions == sorted(positions)  # the table follows the route order


def test_route_sheet_pdf_has_the_text_and_embedded_cjk_fonts(client, drawn, tmp_path):
    cid, team_day, names = drawn
    response = client.get(f"/campaigns/{cid}/route/{team_day}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    path = tmp_path / "route.pdf"
    path.write_bytes(response.data)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    for name in names:
        assert name in text.replace(" ", "")
    assert "第1页共1页" in text.replace(" ", "")
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "CJK" in fonts and all(" yes " in line for line in fonts.splitlines()[2:] if line.strip())


def test_pdf_renderer_refuses_outside_resources():
    from weasyprint.urls import FatalURLFetchingError

    from inspect_app.pdf import render_pdf
    with pytest.raises(FatalURLFetchingError):
        render_pdf('<img src="file:///etc/passwd">')
    assert render_pdf("<p>ok</p>").startswith(b"%PDF")


def test_routes_api(client, drawn, token_for):
    cid, team_day, names = drawn
    body = client.get(f"/api/v1/campaigns/{cid}/routes", headers=token_for("planner.route")).json
    day = next(d for d in body["items"] if d["team_day"] == team_day)
    assert [s["name"] for s in day["stops"]] == names
    from inspect_app.registry.geo import distance_m
    points = [tuple(day["office"])] + [(s["lat"], s["lon"]) for s in day["stops"]] + [tuple(day["office"])]
    assert abs(sum(distance_m(a, b) for a, b in zip(points, points[1:])) - day["total_m"]) < 1.0
    assert day["method"] == "exact" and len(day["team"]) >= 2
    one_day = client.get(f"/api/v1/campaigns/{cid}/routes?date={day['date']}", headers=token_for("planner.route"))
    assert all(d["date"] == day["date"] for d in one_day.json["items"])
