"""The manual pin: the offline locator map, its projection, and what it shows to whom."""
import re

import pytest

from inspect_app.extensions import db
from inspect_app.registry.pinmap import HEIGHT, WIDTH, MapPoint, View, make_view, pin_map_svg
from inspect_app.registry.services import register_entity
from tests.conftest import AuthActions
from tests.registry_helpers import agency

SEAT = (39.3313, 112.4329)  # 朔城区, about the city government


@pytest.mark.parametrize("span", [500, 2_000, 40_000, 150_000])
def test_a_tap_converts_back_to_the_point_that_was_drawn(span):
    view = View(*SEAT, span)
    for lat, lon in [(39.3322, 112.4351), (39.3301, 112.4300), SEAT]:
        x, y = view.project(lat, lon)
        back = view.unproject(x, y)
        assert back == pytest.approx((lat, lon), abs=1e-9)
    assert view.project(*SEAT) == (WIDTH / 2, HEIGHT / 2)


def test_the_drawn_width_is_the_requested_span_on_the_ground():
    from inspect_app.registry import geo
    view = View(*SEAT, 2_000)
    west, east = view.unproject(0, HEIGHT / 2), view.unproject(WIDTH, HEIGHT / 2)
    assert geo.distance_m(west, east) == pytest.approx(2_000, rel=0.01)


def test_the_svg_escapes_names_and_carries_its_projection(app):
    with app.app_context():
        view = make_view(*SEAT, 2_000)
        svg = pin_map_svg(view, [MapPoint(SEAT[0] + 0.001, SEAT[1], '<script>alert(1)</script>"', "entity")],
                          pin=SEAT)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert 'transform="translate(320 240) scale(1.5)"' in svg  # the pin at the centre of the view
    lat0 = float(re.search(r'data-lat0="([^"]+)"', svg).group(1))
    assert lat0 == SEAT[0]


def test_the_map_endpoint_shows_places_and_only_the_users_county(app, client, make_user):
    with app.test_request_context():
        register_entity(agency(name="朔城区近处的中介", region_code="140602", lat=SEAT[0] + 0.001, lon=SEAT[1]))
        register_entity(agency(name="怀仁市的中介", region_code="140681", lat=SEAT[0] - 0.001, lon=SEAT[1]))
        db.session.commit()
    make_user("desk.huairen", roles=("registrar",), department="samr", region="140681")
    anonymous = client.get(f"/registry/pin-map.svg?lat={SEAT[0]}&lon={SEAT[1]}&span=2000")
    assert anonymous.status_code in (302, 401)
    AuthActions(client).login("desk.huairen")
    page = client.get(f"/registry/pin-map.svg?lat={SEAT[0]}&lon={SEAT[1]}&span=2000&pin_lat={SEAT[0]}"
                      f"&pin_lon={SEAT[1]}")
    svg = page.data.decode()
    assert page.status_code == 200 and page.mimetype == "image/svg+xml"
    assert "怀仁市的中介" in svg and "朔城区近处的中介" not in svg  # another county's business stays hidden
    assert 'class="pin"' in svg
    city = client.get("/registry/pin-map.svg?lat=abc&span=-5")  # nonsense falls back to the city view
    assert city.status_code == 200 and "朔城区" in city.data.decode()
