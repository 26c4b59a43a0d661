"""inspect_app.registry.geo: coordinate systems, validation, distances, geocoding, proximity."""
from __future__ import annotations

import http.server
import math
import random
import socket
import threading
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from geographiclib.geodesic import Geodesic
from geopy.exc import GeocoderQuotaExceeded, GeocoderTimedOut, GeocoderUnavailable
from geopy.location import Location

from inspect_app.config import PROJECT_ROOT
from inspect_app.extensions import db
from inspect_app.reference import ReferenceData, ReferenceDataError
from inspect_app.registry import geo
from inspect_app.registry.models import Entity, SensitiveSite

REGISTRIES = PROJECT_ROOT / "registries"
GAZETTEER = geo.load_gazetteer(REGISTRIES / "gazetteer.yaml")
WGS84 = Geodesic.WGS84


def _haversine_m(a, b, radius=6371008.8):
    (lat1, lon1), (lat2, lon2) = [(math.radians(p[0]), math.radians(p[1])) for p in (a, b)]
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(h))


def _offset(lat, lon, bearing_deg, distance):
    """The WGS-84 point ``distance`` metres from (lat, lon) on ``bearing_deg`` (geodesic Direct)."""
    answer = WGS84.Direct(lat, lon, bearing_deg, distance)
    return answer["lat2"], answer["lon2"]


# ============================================================================================
# Coordinate systems

# Published pairs (WGS-84 lat, lon, GCJ-02 lat, lon) from googollee/eviltransform's test suite.
EVILTRANSFORM_PAIRS = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize("wgs_lat, wgs_lon, gcj_lat, gcj_lon", EVILTRANSFORM_PAIRS)
def test_wgs84_to_gcj02_matches_published_pairs(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lat, lon = geo.from_wgs84(wgs_lat, wgs_lon, "gcj02")
    assert lat == pytest.approx(gcj_lat, abs=1e-6)
    assert lon == pytest.approx(gcj_lon, abs=1e-6)


@pytest.mark.parametrize("wgs_lat, wgs_lon, gcj_lat, gcj_lon", EVILTRANSFORM_PAIRS)
def test_gcj02_to_wgs84_recovers_published_pairs_well_under_a_metre(wgs_lat, wgs_lon, gcj_lat, gcj_lon):
    lat, lon = geo.to_wgs84(gcj_lat, gcj_lon, "gcj02")
    # eviltransform's own "exact" inverse is tested to < 0.5 m; the iteration here is far closer
    assert geo.distance_m((lat, lon), (wgs_lat, wgs_lon)) < 0.01
    # the one-step inverse most libraries ship is off by metres: prove we are not using it
    d_lat, d_lon = geo._gcj_offset(gcj_lat, gcj_lon)
    assert geo.distance_m((gcj_lat - d_lat, gcj_lon - d_lon), (wgs_lat, wgs_lon)) > 0.05


def test_wandergis_coordtransform_pairs_at_tiananmen():
    # wandergis/coordtransform test/app.js, input (lng 116.404, lat 39.915) = Tiananmen
    assert geo.wgs84_to_gcj02(39.915, 116.404) == pytest.approx((39.91640428150164, 116.41024449916938), abs=1e-9)
    assert geo.gcj02_to_bd09(39.915, 116.404) == pytest.approx((39.92133699351021, 116.41036949371029), abs=1e-9)
    # their bd09 -> gcj02 is the closed-form approximation; ours is iterated exact: within a decimetre
    exact = geo.bd09_to_gcj02(39.915, 116.404)
    assert geo.distance_m(exact, (39.90865673957631, 116.39762729119315)) < 0.1
    assert geo.gcj02_to_bd09(*exact) == pytest.approx((39.915, 116.404), abs=1e-9)


def _shuozhou_grid(step=0.05):
    b = GAZETTEER.bounds
    lat = b.south
    while lat <= b.north:
        lon = b.west
        while lon <= b.east:
            yield lat, lon
            lon += step
        lat += step


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_round_trips_over_shuozhou_are_well_under_half_a_metre(crs):
    worst_from_wgs = worst_to_wgs = 0.0
    offsets = []
    points = list(_shuozhou_grid())
    assert len(points) > 800
    for lat, lon in points:
        shifted = geo.from_wgs84(lat, lon, crs)
        offsets.append(geo.distance_m((lat, lon), shifted))
        worst_from_wgs = max(worst_from_wgs, geo.distance_m(geo.to_wgs84(*shifted, crs), (lat, lon)))
        # and the other way round: the grid point read as a GCJ-02 / BD-09 input
        back = geo.from_wgs84(*geo.to_wgs84(lat, lon, crs), crs)
        worst_to_wgs = max(worst_to_wgs, geo.distance_m(back, (lat, lon)))
    assert worst_from_wgs < 0.5 and worst_to_wgs < 0.5
    assert worst_from_wgs < 0.001 and worst_to_wgs < 0.001  # in fact sub-millimetre
    # the obfuscation is really applied: a few hundred metres around Shuozhou (more for BD-09)
    assert min(offsets) > 100 and max(offsets) < 1500


def test_bd09_gcj02_wgs84_chain_is_consistent():
    lat, lon = 39.331, 112.432  # 朔州 city government, roughly
    gcj = geo.from_wgs84(lat, lon, "gcj02")
    bd = geo.from_wgs84(lat, lon, "bd09")
    assert geo.gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-12)
    assert geo.bd09_to_gcj02(*bd) == pytest.approx(gcj, abs=1e-9)
    assert geo.to_wgs84(*bd, "bd09") == pytest.approx(geo.to_wgs84(*gcj, "gcj02"), abs=1e-9)
    assert geo.to_wgs84(*bd, "bd09") == pytest.approx((lat, lon), abs=1e-9)
    assert geo.to_wgs84(lat, lon, "wgs84") == (lat, lon)
    assert geo.to_wgs84(str(lat), str(lon), " BD09 ") == pytest.approx(geo.to_wgs84(lat, lon, "bd09"))


@pytest.mark.parametrize("lat, lon", [
    (48.8584, 2.2945),  # Paris
    (35.6586, 139.7454),  # Tokyo: east of the box
    (-33.8568, 151.2153),  # Sydney
    (56.5, 100.0),  # north of the box
    (0.5, 110.0),  # south of the box
])
@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_outside_china_every_system_is_wgs84(lat, lon, crs):
    assert geo.out_of_china(lat, lon)
    assert geo.from_wgs84(lat, lon, crs) == (lat, lon)
    assert geo.to_wgs84(lat, lon, crs) == (lat, lon)


def test_unknown_coordinate_system_is_refused():
    with pytest.raises(geo.CoordinateError) as info:
        geo.to_wgs84(39.3, 112.4, "epsg:4326")
    assert info.value.field == "crs"
    assert "wgs84, gcj02 or bd09" in str(info.value)
    with pytest.raises(geo.CoordinateError):
        geo.from_wgs84(39.3, 112.4, None)


# ============================================================================================
# Validation and the city's bounds

@pytest.mark.parametrize("lat, lon, field, text", [
    (91, 112.4, "lat", "between -90 and 90"),
    (-90.0001, 112.4, "lat", "between -90 and 90"),
    (39.3, 180.5, "lon", "between -180 and 180"),
    (39.3, -181, "lon", "between -180 and 180"),
    ("north", 112.4, "lat", "must be a number"),
    (None, 112.4, "lat", "must be a number"),
    (True, 112.4, "lat", "must be a number"),
    (39.3, [112.4], "lon", "must be a number"),
    (float("nan"), 112.4, "lat", "finite"),
    (39.3, float("inf"), "lon", "finite"),
    (39.3, "1e999", "lon", "finite"),
])
def test_coordinates_out_of_range_are_refused_with_clear_errors(lat, lon, field, text):
    with pytest.raises(geo.CoordinateError) as info:
        geo.check_lat_lon(lat, lon)
    assert info.value.field == field
    assert text in str(info.value)
    with pytest.raises(geo.CoordinateError):
        geo.to_wgs84(lat, lon, "gcj02")


def test_range_edges_and_numeric_strings_are_accepted():
    assert geo.check_lat_lon(90, -180) == (90.0, -180.0)
    assert geo.check_lat_lon("-90", "180") == (-90.0, 180.0)
    assert geo.check_lat_lon(" 39.33 ", 112) == (39.33, 112.0)


def test_city_bounds_cover_shuozhou_and_every_county_seat():
    bounds = geo.city_bounds(GAZETTEER)
    # Shuozhou spans 39°05′-40°17′ N, 111°53′-113°34′ E (平鲁区 reaches 111°52′ E)
    assert bounds.south <= 39 + 5 / 60 and bounds.north >= 40 + 17 / 60
    assert bounds.west <= 111 + 52 / 60 and bounds.east >= 113 + 34 / 60
    # ... with a margin of a few kilometres, not a province
    assert bounds.north - bounds.south < 1.4 and bounds.east - bounds.west < 1.9
    reference = ReferenceData(REGISTRIES)
    for region in reference.regions.values():
        assert geo.is_in_city(region.seat_lat, region.seat_lon, GAZETTEER), region.code


@pytest.mark.parametrize("lat, lon", [
    (39.9042, 116.4074),  # Beijing
    (37.8706, 112.5489),  # Taiyuan, the provincial capital
    (40.8424, 111.7490),  # Hohhot, across the Inner Mongolia border
    (38.4167, 112.7342),  # Xinzhou, the neighbour to the south
    (112.43, 39.33),  # Shuozhou with latitude and longitude swapped
    (-39.33, 112.43),
])
def test_points_outside_the_city_are_flagged_not_refused(lat, lon):
    assert not geo.is_in_city(lat, lon, GAZETTEER)
    if abs(lat) <= 90:
        point = geo.normalize_point(lat, lon, "wgs84", GAZETTEER)
        assert point.outside_city and (point.lat, point.lon) == (lat, lon)


def test_normalize_point_converts_and_keeps_the_clients_system():
    gcj = geo.from_wgs84(39.33, 112.43, "gcj02")
    point = geo.normalize_point(*gcj, "GCJ02", GAZETTEER)
    assert point.crs == "gcj02" and not point.outside_city
    assert (point.lat, point.lon) == pytest.approx((39.33, 112.43), abs=1e-9)
    with pytest.raises(geo.CoordinateError) as info:
        geo.normalize_point(39.33, 200, "wgs84", GAZETTEER)
    assert info.value.field == "lon"


# ============================================================================================
# Distances and the bounding box

def test_distance_matches_geopys_documented_example():
    # geopy's documentation: geodesic(newport_ri, cleveland_oh).miles == 538.39044536
    miles = geo.distance_m((41.49008, -71.312796), (41.499498, -81.695391)) / 1609.344
    assert miles == pytest.approx(538.39044536, abs=1e-6)


def test_distance_between_shuocheng_and_huairen_seats():
    shuocheng, huairen = (39.33, 112.43), (39.83, 113.09)
    d = geo.distance_m(shuocheng, huairen)
    assert 79_000 < d < 79_700  # about 79.4 km
    assert d == pytest.approx(_haversine_m(shuocheng, huairen), rel=0.005)  # sphere vs ellipsoid
    assert geo.distance_m(huairen, shuocheng) == pytest.approx(d, abs=1e-6)
    assert geo._geodesic_m(*shuocheng, *huairen) == pytest.approx(d, abs=1e-6)
    assert geo.distance_m(shuocheng, shuocheng) == 0


@pytest.mark.parametrize("lat, lon, radius", [
    (39.33, 112.43, 200), (39.33, 112.43, 5000), (0.0, 0.0, 1000), (-45.0, 170.0, 30000),
    (80.0, 10.0, 5000), (-85.0, -60.0, 50000), (60.0, 179.999, 500), (10.0, -179.9, 20000),
])
def test_bounding_box_contains_the_whole_circle(lat, lon, radius):
    rng = random.Random(f"{lat},{lon},{radius}")
    box = geo.bounding_box(lat, lon, radius)
    for _ in range(400):
        bearing = rng.uniform(0, 360)
        distance = radius * (1.0 if rng.random() < 0.3 else rng.random())
        p_lat, p_lon = _offset(lat, lon, bearing, distance)
        assert box.contains(p_lat, p_lon), (bearing, distance, box)
    for bearing in (0, 90, 180, 270, 45, 135, 225, 315):
        assert box.contains(*_offset(lat, lon, bearing, radius))


def test_bounding_box_is_tight_enough_to_be_useful_and_wide_where_it_must():
    box = geo.bounding_box(39.33, 112.43, 200)
    assert 0.0017 < box.north - box.south < 0.0037  # ~400 m of latitude, plus < 1 %
    assert 0.0046 < box.east - box.west < 0.0047  # ~400 m of longitude at 39° N
    assert geo.bounding_box(89.99, 0, 5000).to_dict()["west"] == -180  # reaches the pole
    wrap = geo.bounding_box(10.0, 179.999, 1000)  # crosses the antimeridian: whole range
    assert (wrap.west, wrap.east) == (-180.0, 180.0)
    zero = geo.bounding_box(39.33, 112.43, 0)
    assert zero.contains(39.33, 112.43)
    with pytest.raises(ValueError):
        geo.bounding_box(39.33, 112.43, -1)
    with pytest.raises(ValueError):
        geo.bounding_box(39.33, 112.43, float("nan"))


# ============================================================================================
# GridIndex and the batch check against brute force

def _brute(points, lat, lon, radius):
    """Every point, no index: a spherical distance with a 1 % margin (sphere and ellipsoid differ by
    < 0.5 %) only spares the slow geodesic for the obviously far ones; the verdict is geodesic."""
    found = []
    for pid, p_lat, p_lon in points:
        if _haversine_m((lat, lon), (p_lat, p_lon)) <= radius * 1.01 + 1.0:
            d = geo._geodesic_m(lat, lon, p_lat, p_lon)
            if d <= radius:
                found.append((pid, d))
    return sorted(found, key=lambda t: (t[1], str(t[0])))


def _random_points(rng, count, centre=(39.33, 112.43), spread_m=3000, prefix="p"):
    return [(f"{prefix}{i}", *_offset(*centre, rng.uniform(0, 360), spread_m * math.sqrt(rng.random())))
            for i in range(count)]


def _awkward_points(index_cell_lat, index_cell_lon, centre, radius):
    """Points on cell borders and at, just inside and just outside the radius."""
    lat0, lon0 = centre
    points = []
    k_lat = math.floor(lat0 / index_cell_lat)
    k_lon = math.floor(lon0 / index_cell_lon)
    for n in range(-3, 4):
        for eps in (0.0, 1e-12, -1e-12):
            points.append((f"blat{n}{eps}", (k_lat + n) * index_cell_lat + eps, lon0))
            points.append((f"blon{n}{eps}", lat0, (k_lon + n) * index_cell_lon + eps))
    for bearing in range(0, 360, 15):
        for delta in (-1e-3, -1e-6, 0.0, 1e-6, 1e-3):
            points.append((f"r{bearing}{delta}", *_offset(lat0, lon0, bearing, radius + delta)))
    return points


@pytest.mark.parametrize("cell_m", [50.0, 200.0, 1000.0])
def test_grid_index_equals_brute_force(cell_m):
    rng = random.Random(20261129)
    radius = 200.0
    points = _random_points(rng, 1500)
    index_probe = geo.GridIndex(points, cell_m=cell_m)
    queries = [(f"q{i}", *p[1:]) for i, p in enumerate(_random_points(rng, 120))]
    centre = queries[0][1:]
    points += _awkward_points(index_probe.cell_lat, index_probe.cell_lon, centre, radius)
    points += [("no-lat", None, 112.43), ("no-lon", 39.33, None)]
    index = geo.GridIndex(points, cell_m=cell_m)
    assert len(index) == len(points) - 2
    usable = [p for p in points if p[1] is not None and p[2] is not None]
    edge_hits = 0
    for _qid, lat, lon in queries + [("centre", *centre)]:
        got = index.near(lat, lon, radius)
        expected = _brute(usable, lat, lon, radius)
        assert sorted(got, key=lambda t: (t[1], str(t[0]))) == expected
        assert [d for _, d in got] == sorted(d for _, d in got)
        edge_hits += sum(1 for _, d in got if radius - 1e-3 <= d <= radius)
    assert edge_hits > 20  # the radius edge really was exercised


def test_grid_index_with_a_radius_much_larger_than_its_cells():
    rng = random.Random(7)
    points = _random_points(rng, 400, spread_m=20000)
    index = geo.GridIndex(points, cell_m=50)  # a 30 km query spans far more cells than exist
    for radius in (5000.0, 30000.0):
        assert sorted(index.near(39.33, 112.43, radius)) == sorted(_brute(points, 39.33, 112.43, radius))


@pytest.mark.parametrize("n_venues, n_sites", [(2000, 150), (150, 2000)])
def test_venues_near_sites_equals_brute_force(n_venues, n_sites):
    rng = random.Random(n_venues * 7 + n_sites)
    venues = _random_points(rng, n_venues, spread_m=4000, prefix="v")
    sites = _random_points(rng, n_sites, spread_m=4000, prefix="s")
    venues.append(("v-unplaced", None, None))
    radius = 200.0
    got = geo.venues_near_sites(venues, sites, radius)
    expected = {}
    for vid, lat, lon in venues:
        if lat is None:
            continue
        near = _brute(sites, lat, lon, radius)
        if near:
            expected[vid] = near
    assert set(got) == set(expected) and len(expected) > 10
    for vid, near in expected.items():
        assert sorted(got[vid], key=lambda t: (t[1], str(t[0]))) == near
    assert geo.venues_near_sites([], sites, radius) == {}


# ============================================================================================
# Proximity in the database (SQLite and, with TEST_DATABASE_URL, PostgreSQL)

CENTRE = (39.3312, 112.4321)


def _add_sites(distances_kinds):
    rows = []
    for n, (bearing, distance, kind) in enumerate(distances_kinds):
        lat, lon = _offset(*CENTRE, bearing, distance)
        rows.append(SensitiveSite(site_kind=kind, name=f"site {n} at {distance} m", region_code="140602",
                                  lat=lat, lon=lon))
    db.session.add_all(rows)
    db.session.commit()
    return [row.id for row in rows]


def test_sites_near_queries_the_box_and_refines_with_geodesic(app):
    with app.app_context():
        ids = _add_sites([(10, 50.0, "school"), (100, 150.0, "kindergarten"), (200, 199.9, "school"),
                          (300, 200.1, "school"), (45, 260.0, "school"), (0, 5000.0, "hospital")])
        found = geo.sites_near(db.session, *CENTRE, 200)
        assert [n.row.id for n in found] == ids[:3]
        assert [round(n.distance_m, 1) for n in found] == [50.0, 150.0, 199.9]
        # the corner of the box (260 m at 45°) is inside the box but outside the circle
        box = geo.bounding_box(*CENTRE, 200)
        corner = db.session.get(SensitiveSite, ids[4])
        assert box.contains(corner.lat, corner.lon)
        schools = geo.sites_near(db.session, *CENTRE, 200, site_kinds=["school"])
        assert [n.row.id for n in schools] == [ids[0], ids[2]]
        assert geo.sites_near(db.session, *CENTRE, 200, site_kinds=[]) == []
        assert [n.row.id for n in geo.sites_near(db.session, *CENTRE, 6000)] == ids
        with pytest.raises(geo.CoordinateError):
            geo.sites_near(db.session, 95, 112.4, 200)


def test_entities_near_filters_kinds_skips_unplaced_and_excludes_self(app):
    with app.app_context():
        def entity(name, kind, offset=None, status="unlicensed"):
            lat, lon = _offset(*CENTRE, *offset) if offset else (None, None)
            row = Entity(kind=kind, name=name, address="朔城区鄯阳街", region_code="140602", status=status,
                         lat=lat, lon=lon, crs="wgs84" if offset else None)
            db.session.add(row)
            return row
        venue = entity("KTV A", "entertainment_venue", (0, 0.0))
        near_agency = entity("Agency B", "job_agency", (90, 120.0))
        near_venue = entity("KTV C", "entertainment_venue", (180, 80.0))
        entity("Far D", "job_agency", (270, 900.0))
        entity("Unplaced E", "job_agency")
        db.session.commit()
        found = geo.entities_near(db.session, *CENTRE, 150)
        assert [n.row.id for n in found] == [venue.id, near_venue.id, near_agency.id]
        assert found[0].distance_m == pytest.approx(0.0, abs=1e-6)
        others = geo.entities_near(db.session, *CENTRE, 150, kinds=["entertainment_venue"], exclude_id=venue.id)
        assert [n.row.id for n in others] == [near_venue.id]


def test_proximity_queries_can_use_the_lat_lon_indexes(app):
    with app.app_context():
        conn = db.session.connection()
        dialect = conn.dialect
        for stmt, index in ((geo.sites_near_query(*CENTRE, 200), "ix_sensitive_sites_lat_lon"),
                            (geo.entities_near_query(*CENTRE, 200), "ix_entities_lat_lon")):
            sql = str(stmt.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            if dialect.name == "sqlite":
                plan = " ".join(str(row) for row in conn.execute(sa.text("EXPLAIN QUERY PLAN " + sql)))
            else:
                conn.execute(sa.text("SET LOCAL enable_seqscan = off"))  # as with a large table
                plan = " ".join(str(row) for row in conn.execute(sa.text("EXPLAIN " + sql)))
            assert index in plan, plan
        db.session.rollback()


# ============================================================================================
# Gazetteer: the repository's file and its validation

def test_repository_gazetteer_is_valid_and_covers_every_county():
    reference = ReferenceData(REGISTRIES)
    codes = set(reference.regions) | {c for r in reference.regions.values() for c in r.former_codes}
    gazetteer = geo.load_gazetteer(REGISTRIES / "gazetteer.yaml", codes)
    assert gazetteer.city_code == reference.city.code
    for county in reference.counties:
        kinds = [p.kind for p in gazetteer.places if p.region_code == county.code]
        assert kinds.count("county") == 1 and kinds.count("town") >= 8, county.code
    assert {p.region_code for p in gazetteer.places if p.kind == "street"} == {"140602", "140681"}
    for place in gazetteer.places:
        # honest precision: never claims better than a town centre / a street can give
        assert place.precision_m >= (1000 if place.kind == "street" else 2000), place.name
        # county seats in the gazetteer agree with regions.yaml
        if place.kind in ("city", "county"):
            region = reference.regions[place.region_code]
            assert (place.lat, place.lon) == (region.seat_lat, region.seat_lon)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gazetteer.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD_HEAD = 'city: "140600"\nbounds: {south: 39.05, west: 111.83, north: 40.33, east: 113.60}\nplaces:\n'
GOOD_PLACE = '  - {name: 神头镇, kind: town, region: "140602", lat: 39.41, lon: 112.53}\n'


@pytest.mark.parametrize("places, expected", [
    ('  - {name: 利民镇, kind: town, region: "140602", lat: 39.43}\n',
     ["entry 2 (利民镇)", "field 'lon'", "Missing data"]),
    ('  - {name: 利民镇, kind: village, region: "140602", lat: 39.43, lon: 112.38}\n',
     ["entry 2 (利民镇)", "field 'kind'"]),
    ('  - {name: 利民镇, kind: town, region: "140602", lat: 112.38, lon: 39.43}\n',
     ["entry 2 (利民镇)", "field 'lat'"]),
    ('  - {name: 利民镇, kind: town, region: "140602", lat: 38.5, lon: 112.38}\n',
     ["entry 2 (利民镇)", "field 'lat'/'lon'", "outside the city's bounds"]),
    ('  - {name: 神头镇, kind: town, region: "140602", lat: 39.40, lon: 112.50}\n',
     ["entry 2 (神头镇)", "field 'name'", "already entry 1"]),
    ('  - {name: 利民镇, kind: town, region: "140699", lat: 39.43, lon: 112.38}\n',
     ["entry 2 (利民镇)", "field 'region'", "unknown region 140699"]),
    ('  - {name: 利民镇, kind: town, region: "14060", lat: 39.43, lon: 112.38}\n',
     ["entry 2 (利民镇)", "field 'region'"]),
    ('  - {name: 利民镇, kind: town, region: "140602", lat: 39.43, lon: 112.38, colour: red}\n',
     ["entry 2 (利民镇)", "field 'colour'", "Unknown field"]),
    ('  - {name: 利民镇, kind: town, region: "140602", lat: 39.43, lon: 112.38, precision_m: 0}\n',
     ["entry 2 (利民镇)", "field 'precision_m'"]),
    ("  - just a string\n", ["entry 2", "must be a mapping"]),
])
def test_bad_gazetteer_entry_names_file_entry_and_field(tmp_path, places, expected):
    path = _write(tmp_path, GOOD_HEAD + GOOD_PLACE + places)
    with pytest.raises(geo.GazetteerError) as info:
        geo.load_gazetteer(path, {"140600", "140602"})
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message
    assert isinstance(info.value, ReferenceDataError)  # create_app stops on it like on regions.yaml


@pytest.mark.parametrize("text, expected", [
    (GOOD_HEAD.replace('"140600"', "140600") + GOOD_PLACE, ["field 'city'"]),
    (GOOD_HEAD.replace("south: 39.05", "south: 40.5") + GOOD_PLACE, ["field 'bounds'"]),
    (GOOD_HEAD.replace("east: 113.60", "east: far") + GOOD_PLACE, ["field 'bounds.east'"]),
    (GOOD_HEAD, ["non-empty list under 'places'"]),
    (GOOD_HEAD + GOOD_PLACE + "version: 2\n", ["field 'version'", "unknown field"]),
    ("places: [", ["not valid YAML"]),
    ("- a list\n", ["expected a mapping at the top level"]),
])
def test_bad_gazetteer_file_names_file_and_field(tmp_path, text, expected):
    path = _write(tmp_path, text)
    with pytest.raises(geo.GazetteerError) as info:
        geo.load_gazetteer(path)
    assert str(path) in str(info.value)
    for part in expected:
        assert part in str(info.value), str(info.value)


def test_missing_gazetteer_file(tmp_path):
    with pytest.raises(geo.GazetteerError, match="file not found"):
        geo.load_gazetteer(tmp_path / "nope.yaml")


def test_init_app_loads_at_start_up_and_refuses_a_bad_file(app, tmp_path):
    gazetteer = geo.init_app(app)
    assert app.extensions["inspect_gazetteer"] is gazetteer
    with app.app_context():
        assert geo.get_gazetteer() is gazetteer
        assert geo.city_bounds() == gazetteer.bounds
        assert geo.is_in_city(39.33, 112.43)
    # unknown region codes are caught against regions.yaml when the app has its reference data
    bad = tmp_path / "registries"
    bad.mkdir()
    _write(bad, GOOD_HEAD + GOOD_PLACE.replace('"140602"', '"140699"'))
    app.config["REGISTRIES_DIR"] = str(bad)
    with pytest.raises(geo.GazetteerError, match="unknown region 140699"):
        geo.init_app(app)


# ============================================================================================
# Geocoding: offline gazetteer

@pytest.mark.parametrize("address, region, name, kind", [
    ("山西省朔州市朔城区神头镇吉庄村12号", None, "神头镇", "town"),
    ("朔州市朔城区北城街道鄯阳街137号", "140602", "北城街道", "town"),  # the longest name wins
    ("朔城区鄯阳街137号", None, "鄯阳街", "street"),  # same length as 朔城区: the finer kind
    ("怀仁市云中街道迎宾街8号", "140681", "云中街道", "town"),
    ("怀仁县云中镇迎宾街8号", None, "迎宾街", "street"),
    ("山阴县马营庄乡马营庄村", None, "马营庄乡", "town"),  # not 马营乡
    ("右玉县梁家油坊镇", None, "新城镇", "town"),  # a former name, as an alias
    ("应县某某村", None, "应县", "county"),  # only the county is known
    ("朔州市 朔城区 神头镇", None, "神头镇", "town"),  # spaces
    ("朔州市朔城区神头镇", None, "神头镇", "town"),
])
def test_gazetteer_geocoding(address, region, name, kind):
    found = geo.geocode(address, region, config={}, gazetteer=GAZETTEER)
    assert found.message is None
    result = found.result
    assert (result.matched, result.kind, result.source) == (name, kind, "gazetteer")
    assert geo.is_in_city(result.lat, result.lon, GAZETTEER)
    assert result.precision_m >= {"street": 1000, "town": 2000, "county": 20000}[kind]
    assert set(result.to_dict()) == {"lat", "lon", "precision_m", "source", "matched", "region_code", "kind"}


def test_full_width_characters_are_matched():
    full_width = "朔城区鄯阳街１３７号（东）"
    assert geo.geocode(full_width, config={}, gazetteer=GAZETTEER).result.matched == "鄯阳街"


@pytest.mark.parametrize("address", ["北京市海淀区中关村大街1号", "", "   ", "12345"])
def test_gazetteer_geocoding_without_a_match(address):
    assert geo.geocode(address, config={}, gazetteer=GAZETTEER) == geo.Geocoded(None, None)


def test_gazetteer_prefers_the_given_county(tmp_path):
    path = _write(tmp_path, GOOD_HEAD + (
        '  - {name: 朔城区, kind: county, region: "140602", lat: 39.33, lon: 112.43}\n'
        '  - {name: 怀仁市, kind: county, region: "140681", lat: 39.83, lon: 113.09}\n'
        '  - {name: 建设路, kind: street, region: "140602", lat: 39.335, lon: 112.44}\n'
        '  - {name: 建设路, kind: street, region: "140681", lat: 39.835, lon: 113.10}\n'))
    gazetteer = geo.load_gazetteer(path)
    by_region = {code: geo.geocode("建设路5号", code, config={}, gazetteer=gazetteer).result.region_code
                 for code in ("140602", "140681")}
    assert by_region == {"140602": "140602", "140681": "140681"}
    # no region given: the county the address names decides
    assert geo.geocode("怀仁市建设路5号", config={}, gazetteer=gazetteer).result.lat == 39.835
    assert geo.geocode("朔城区建设路5号", config={}, gazetteer=gazetteer).result.lat == 39.335
    # the city code is no preference
    assert geo.geocode("怀仁市建设路5号", "140600", config={}, gazetteer=gazetteer).result.lat == 39.835


def test_geocode_uses_the_apps_gazetteer_and_config_by_default(app):
    with app.app_context():
        found = geo.geocode("朔城区神头镇")
    assert found.result.matched == "神头镇" and found.message is None


# ============================================================================================
# Geocoding: online service (never the network: mocks and closed local ports)

class FakeGeocoder:
    """Stands in for a geopy geocoder: records the query, answers or raises."""

    def __init__(self, answer=None, error=None):
        self.answer, self.error, self.queries = answer, error, []

    def geocode(self, query, exactly_one=True, timeout=None):
        self.queries.append((query, exactly_one, timeout))
        if self.error is not None:
            raise self.error
        return self.answer


NOMINATIM = {"GEOCODER": "nominatim", "GEOCODER_URL": "https://nominatim.internal.example", "GEOCODER_TIMEOUT_S": 3}


@pytest.mark.parametrize("error", [GeocoderTimedOut("timed out"), GeocoderUnavailable("refused")])
def test_unreachable_service_falls_back_to_the_gazetteer_with_a_message(error):
    fake = FakeGeocoder(error=error)
    found = geo.geocode("朔城区神头镇吉庄村", "140602", NOMINATIM, geocoder=fake, gazetteer=GAZETTEER)
    assert found.result.source == "gazetteer" and found.result.matched == "神头镇"
    assert "could not be reached" in str(found.message)
    assert type(found.message).__name__ == "LazyString"  # translated when shown
    assert fake.queries == [("朔州市朔城区神头镇吉庄村", True, 3.0)]  # city prefixed for the service


def test_unreachable_service_and_no_gazetteer_match_still_says_why():
    found = geo.geocode("北京市海淀区", None, NOMINATIM, geocoder=FakeGeocoder(error=GeocoderTimedOut()),
                        gazetteer=GAZETTEER)
    assert found.result is None and "could not be reached" in str(found.message)


def test_refusing_service_falls_back_with_its_own_message():
    found = geo.geocode("朔城区神头镇", None, NOMINATIM, geocoder=FakeGeocoder(error=GeocoderQuotaExceeded("quota")),
                        gazetteer=GAZETTEER)
    assert found.result.source == "gazetteer" and "refused" in str(found.message)


def test_service_without_answer_falls_back():
    found = geo.geocode("朔城区神头镇", None, NOMINATIM, geocoder=FakeGeocoder(answer=None), gazetteer=GAZETTEER)
    assert found.result.source == "gazetteer" and "found no match" in str(found.message)


def test_nominatim_answer_is_used_with_its_precision():
    raw = {"lat": "39.3315", "lon": "112.4322", "display_name": "鄯阳街, 朔城区, 朔州市",
           "boundingbox": ["39.3310", "39.3320", "112.4310", "112.4335"]}
    answer = Location("鄯阳街, 朔城区, 朔州市", (39.3315, 112.4322), raw)
    found = geo.geocode("朔州市朔城区鄯阳街", "140602", NOMINATIM, geocoder=FakeGeocoder(answer),
                        gazetteer=GAZETTEER)
    assert found.message is None
    result = found.result
    assert (result.source, result.lat, result.lon) == ("nominatim", 39.3315, 112.4322)
    assert 100 < result.precision_m < 200  # half the diagonal of the answer's box
    assert result.matched == "鄯阳街, 朔城区, 朔州市"


def test_baidu_answer_is_converted_from_bd09():
    wgs = (39.5650, 113.1833)  # 应县木塔, roughly
    bd = geo.from_wgs84(*wgs, "bd09")
    answer = Location("", bd, {"location": {"lng": bd[1], "lat": bd[0]}, "precise": 1, "level": "兴趣点"})
    config = {"GEOCODER": "baidu", "GEOCODER_API_KEY": "test-ak"}
    found = geo.geocode("应县佛宫寺释迦塔", "140622", config, geocoder=FakeGeocoder(answer), gazetteer=GAZETTEER)
    assert found.result.source == "baidu" and found.result.precision_m == 100
    assert geo.distance_m((found.result.lat, found.result.lon), wgs) < 0.01
    assert geo.distance_m(bd, wgs) > 500  # reading BD-09 as WGS-84 would be far off


def test_answer_outside_the_city_is_replaced_by_the_gazetteer():
    answer = Location("建设路, 呼和浩特", (40.8424, 111.7490), {"boundingbox": ["40.84", "40.85", "111.74", "111.75"]})
    found = geo.geocode("怀仁市建设路", None, NOMINATIM, geocoder=FakeGeocoder(answer), gazetteer=GAZETTEER)
    assert found.result.source == "gazetteer" and found.result.matched == "怀仁市"
    assert "outside the city" in str(found.message)


def _closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_real_nominatim_client_against_a_closed_local_port_falls_back():
    config = {**NOMINATIM, "GEOCODER_URL": f"http://127.0.0.1:{_closed_port()}/nominatim", "GEOCODER_TIMEOUT_S": 2}
    geocoder = geo.build_geocoder(config)
    assert type(geocoder).__name__ == "Nominatim"
    assert geocoder.api == f"http://127.0.0.1:{config['GEOCODER_URL'].split(':')[2].split('/')[0]}/nominatim/search"
    started = time.monotonic()
    found = geo.geocode("朔城区神头镇", "140602", config, gazetteer=GAZETTEER)
    assert time.monotonic() - started < 5
    assert found.result.source == "gazetteer" and "could not be reached" in str(found.message)


def test_real_nominatim_client_against_a_silent_local_server_times_out_and_falls_back():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4)  # accepts connections in the kernel, never answers
        port = server.getsockname()[1]
        config = {"GEOCODER": "nominatim", "GEOCODER_URL": f"http://127.0.0.1:{port}", "GEOCODER_TIMEOUT_S": 0.5}
        started = time.monotonic()
        found = geo.geocode("应县金城镇", None, config, gazetteer=GAZETTEER)
        elapsed = time.monotonic() - started
    assert 0.4 < elapsed < 5
    assert found.result.matched == "金城镇" and "could not be reached" in str(found.message)


def test_real_nominatim_client_against_a_local_server_answering_an_error_is_a_refusal():
    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - the http.server name
            self.send_response(403)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with http.server.HTTPServer(("127.0.0.1", 0), Refuse) as server:
        thread = threading.Thread(target=server.handle_request, daemon=True)
        thread.start()
        config = {"GEOCODER": "nominatim", "GEOCODER_URL": f"http://127.0.0.1:{server.server_port}",
                  "GEOCODER_TIMEOUT_S": 5}
        found = geo.geocode("应县金城镇", None, config, gazetteer=GAZETTEER)
        thread.join(5)
    assert found.result.matched == "金城镇" and "refused" in str(found.message)


def test_baidu_client_is_built_with_key_timeout_and_optional_proxy_url():
    geocoder = geo.build_geocoder({"GEOCODER": "baidu", "GEOCODER_API_KEY": "ak", "GEOCODER_TIMEOUT_S": "4"})
    assert type(geocoder).__name__ == "BaiduV3" and geocoder.api_key == "ak" and geocoder.timeout == 4.0
    proxied = geo.build_geocoder({"GEOCODER": "baidu", "GEOCODER_API_KEY": "ak",
                                  "GEOCODER_URL": "http://127.0.0.1:9/baidu/"})
    assert proxied.api == "http://127.0.0.1:9/baidu/geocoding/v3/"
    assert geo.build_geocoder({}) is None and geo.build_geocoder({"GEOCODER": "offline"}) is None


@pytest.mark.parametrize("config, text", [
    ({"GEOCODER": "google"}, "GEOCODER must be one of"),
    ({"GEOCODER": "baidu"}, "GEOCODER_API_KEY"),
    ({"GEOCODER": "nominatim", "GEOCODER_TIMEOUT_S": "soon"}, "GEOCODER_TIMEOUT_S"),
    ({"GEOCODER": "nominatim", "GEOCODER_TIMEOUT_S": 0}, "GEOCODER_TIMEOUT_S"),
    ({"GEOCODER": "nominatim", "GEOCODER_URL": "nominatim.internal"}, "GEOCODER_URL"),
])
def test_bad_geocoder_settings_are_refused(config, text):
    with pytest.raises(geo.GeocoderConfigError, match=text):
        geo.geocoder_settings(config)
    with pytest.raises(geo.GeocoderConfigError):
        geo.geocode("朔城区神头镇", config=config, gazetteer=GAZETTEER)


def test_default_geocoder_settings():
    assert geo.geocoder_settings({}) == {"kind": "offline", "url": "", "api_key": "", "timeout_s": 5.0}


# ============================================================================================
# The benchmark script runs (quick mode; figures, not the timing target, are checked here)

def test_bench_proximity_quick_mode(tmp_path):
    import json
    import subprocess
    import sys

    done = subprocess.run([sys.executable, str(PROJECT_ROOT / "bench" / "bench_proximity.py"), "--quick",
                           "--results-dir", str(tmp_path)], cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120)
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output
    assert "brute-force check of 100 venues: identical" in done.stdout, output
    recorded = list(tmp_path.glob("proximity-*.json"))
    assert len(recorded) == 1, output
    data = json.loads(recorded[0].read_text())
    assert data["parameters"]["quick"] is True and data["mismatches"] == []
    assert data["grid_seconds"] > 0 and data["ratio"] > 0 and data["venues_near_a_site"] > 0
