"""Routes of a team-day (inspect_app.planning.routes) and their SVG map (routemap): no app, no database."""
from __future__ import annotations

import itertools
import json
import math
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inspect_app.planning import routes
from inspect_app.planning.routemap import route_svg
from inspect_app.planning.routes import OFFICE, Route, best_of_random_2opt, distance_matrix, plan_route
from inspect_app.registry.geo import CoordinateError, distance_m

SVG = "{http://www.w3.org/2000/svg}"
# Shuozhou's bounds, about
LAT = (39.0, 40.3)
LON = (111.9, 113.6)
SHUOCHENG = (39.33, 112.43)  # a county seat (registries/regions.yaml)

PROPERTY = settings(max_examples=60, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow])


# --------------------------------------------------------------------------------------------
# Helpers

def brute_force_m(office, stops) -> float:
    """The shortest closed tour by trying every order."""
    matrix = distance_matrix([office] + [(lat, lon) for _id, lat, lon in stops])
    n = len(stops)
    if n == 0:
        return 0.0
    from_office = matrix[0]
    best = math.inf
    for perm in itertools.permutations(range(1, n + 1)):
        if perm[0] > perm[-1]:
            continue  # the same tour run the other way
        total = from_office[perm[0]] + from_office[perm[-1]]
        for a, b in zip(perm, perm[1:]):
            total += matrix[a][b]
        best = min(best, total)
    return best


def assert_valid_tour(route: Route, stops) -> None:
    ids = [stop[0] for stop in stops]
    assert sorted(map(str, route.order)) == sorted(map(str, ids))
    assert len(route.order) == len(set(route.order)) == len(ids)
    if not ids:
        assert route.legs == ()
        return
    assert len(route.legs) == len(ids) + 1
    assert route.legs[0].from_id is OFFICE and route.legs[-1].to_id is OFFICE
    assert [leg.to_id for leg in route.legs[:-1]] == list(route.order)
    assert [leg.from_id for leg in route.legs[1:]] == list(route.order)


def with_ids(points):
    return [(f"s{number}", lat, lon) for number, (lat, lon) in enumerate(points)]


def random_instance(rng: random.Random, count: int, spread: float = 0.15):
    office = (SHUOCHENG[0] + rng.uniform(-0.05, 0.05), SHUOCHENG[1] + rng.uniform(-0.05, 0.05))
    stops = [(f"e{number}", office[0] + rng.uniform(-spread, spread), office[1] + rng.uniform(-spread, spread))
             for number in range(count)]
    return office, stops


point = st.tuples(st.floats(*LAT), st.floats(*LON))


@st.composite
def clustered(draw, max_stops: int = 8):
    """Stops in one to three tight clusters (tens of metres), some exactly on top of each other."""
    centres = draw(st.lists(point, min_size=1, max_size=3))
    offset = st.floats(-0.0005, 0.0005)
    count = draw(st.integers(0, max_stops))
    points = []
    for _ in range(count):
        if points and draw(st.booleans()) and draw(st.booleans()):
            points.append(draw(st.sampled_from(points)))  # a duplicate
        else:
            lat, lon = draw(st.sampled_from(centres))
            points.append((lat + draw(offset), lon + draw(offset)))
    office = draw(st.one_of(point, st.sampled_from(centres)))
    return office, with_ids(points)


@st.composite
def collinear(draw, max_stops: int = 8):
    """Stops on one straight segment (in degrees) through the office's neighbourhood."""
    start = draw(point)
    dlat, dlon = draw(st.floats(-0.3, 0.3)), draw(st.floats(-0.3, 0.3))
    ts = draw(st.lists(st.floats(0, 1), min_size=0, max_size=max_stops))
    office_t = draw(st.floats(0, 1))
    office = (start[0] + office_t * dlat, start[1] + office_t * dlon)
    return office, with_ids([(start[0] + t * dlat, start[1] + t * dlon) for t in ts])


uniform = st.tuples(point, st.lists(point, min_size=0, max_size=8).map(with_ids))


# --------------------------------------------------------------------------------------------
# Exact routes

@PROPERTY
@given(uniform)
def test_exact_route_is_the_brute_force_optimum(instance):
    office, stops = instance
    route = plan_route(office, stops)
    assert route.method == "exact"
    assert_valid_tour(route, stops)
    assert route.total_m == pytest.approx(brute_force_m(office, stops), abs=1e-6)


@PROPERTY
@given(clustered())
def test_exact_route_is_optimal_on_clusters_and_duplicates(instance):
    office, stops = instance
    route = plan_route(office, stops)
    assert_valid_tour(route, stops)
    assert route.total_m == pytest.approx(brute_force_m(office, stops), abs=1e-6)


@PROPERTY
@given(collinear())
def test_exact_route_is_optimal_on_a_line(instance):
    office, stops = instance
    route = plan_route(office, stops)
    assert_valid_tour(route, stops)
    expected = brute_force_m(office, stops)
    assert route.total_m == pytest.approx(expected, abs=1e-6)
    if stops:  # out to one end and back through the other: twice the farther-apart extremes, about
        ends = [(lat, lon) for _id, lat, lon in stops] + [office]
        span = max(distance_m(a, b) for a in ends for b in ends)
        assert route.total_m == pytest.approx(2 * span, rel=1e-3, abs=1e-3)


def test_exact_route_at_ten_stops_matches_held_karp_by_hand_order():
    rng = random.Random(10)
    office, stops = random_instance(rng, 10)
    route = plan_route(office, stops)
    assert route.method == "exact"
    assert_valid_tour(route, stops)
    # no single 2-opt move or single stop moved elsewhere shortens it
    matrix = distance_matrix([office] + [(lat, lon) for _id, lat, lon in stops])
    index = {stop[0]: number for number, stop in enumerate(stops, start=1)}
    path = [0, *(index[i] for i in route.order), 0]
    length = routes.tour_length(path, matrix)
    for i, j in itertools.combinations(range(1, 11), 2):
        swapped = path[:i] + path[i:j + 1][::-1] + path[j + 1:]
        assert routes.tour_length(swapped, matrix) >= length - 1e-6
    for i in range(1, 11):
        rest = path[:i] + path[i + 1:]
        for k in range(1, 11):
            assert routes.tour_length(rest[:k] + [path[i]] + rest[k:], matrix) >= length - 1e-6


# --------------------------------------------------------------------------------------------
# Heuristic routes

@PROPERTY
@given(st.one_of(uniform, clustered(max_stops=14), collinear(max_stops=14),
                 st.tuples(point, st.lists(point, min_size=9, max_size=16).map(with_ids))))
def test_heuristic_gives_a_valid_deterministic_tour(instance):
    office, stops = instance
    route = plan_route(office, stops, exact_limit=0)
    assert route.method == ("exact" if not stops else "heuristic")
    assert_valid_tour(route, stops)
    assert plan_route(office, stops, exact_limit=0) == route
    assert route.total_m == math.fsum(leg.distance_m for leg in route.legs)
    if len(stops) <= 8:
        assert route.total_m >= plan_route(office, stops).total_m - 1e-6


@pytest.mark.parametrize("count", [9, 10])
def test_heuristic_is_within_a_few_percent_of_exact(count):
    rng = random.Random(count)
    gaps = []
    for _ in range(12):
        office, stops = random_instance(rng, count)
        exact = plan_route(office, stops)
        heuristic = plan_route(office, stops, exact_limit=0)
        assert exact.method == "exact" and heuristic.method == "heuristic"
        assert_valid_tour(heuristic, stops)
        assert heuristic.total_m >= exact.total_m - 1e-6
        gaps.append(heuristic.total_m / exact.total_m - 1)
    assert max(gaps) <= 0.02, gaps
    assert sum(gap < 1e-9 for gap in gaps) >= len(gaps) // 2  # usually exactly optimal


def test_heuristic_beyond_the_exact_limit_finds_the_convex_order():
    """Points in convex position (on a circle, the office one of them): the only tour without
    crossing edges, hence the only 2-opt optimum, is the order round the circle."""
    centre = (39.6, 112.6)
    count = 24
    angles = [2 * math.pi * k / (count + 1) for k in range(count + 1)]
    rim = [(centre[0] + 0.1 * math.sin(a), centre[1] + 0.13 * math.cos(a)) for a in angles]
    order = list(range(1, count + 1))
    shuffled = order[:]
    random.Random(3).shuffle(shuffled)
    stops = [(f"p{k}", *rim[k]) for k in shuffled]
    route = plan_route(rim[0], stops)
    assert route.method == "heuristic"
    visited = [int(stop_id[1:]) for stop_id in route.order]
    assert visited in (order, order[::-1])


def test_heuristic_is_deterministic_and_seeded():
    office, stops = random_instance(random.Random(42), 40, spread=0.2)
    first = plan_route(office, stops)
    assert plan_route(office, stops) == first
    assert plan_route(office, list(stops), seed=0).to_dict() == first.to_dict()
    for seed in (1, 2):
        other = plan_route(office, stops, seed=seed)
        assert_valid_tour(other, stops)
        assert other.total_m == pytest.approx(first.total_m, rel=0.03)
    assert plan_route(office, stops, restarts=0, kicks=0).method == "heuristic"


def test_heuristic_is_at_least_as_good_as_random_restart_two_opt():
    office, stops = random_instance(random.Random(7), 30, spread=0.2)
    reference = best_of_random_2opt(office, stops, runs=50, seed=1)
    assert reference.method == "random-2opt"
    assert_valid_tour(reference, stops)
    assert best_of_random_2opt(office, stops, runs=50, seed=1) == reference
    assert plan_route(office, stops).total_m <= reference.total_m * 1.03


# --------------------------------------------------------------------------------------------
# Legs, totals, times

def test_legs_distances_times_and_totals():
    office, stops = random_instance(random.Random(5), 7)
    route = plan_route(office, stops, speed_kmh=40, service_minutes=30)
    where = {stop_id: (lat, lon) for stop_id, lat, lon in stops}
    where[OFFICE] = office
    for leg in route.legs:
        assert leg.distance_m == pytest.approx(distance_m(where[leg.from_id], where[leg.to_id]), rel=1e-9)
        assert leg.minutes == pytest.approx(leg.distance_m / 1000 / 40 * 60)
    assert route.total_m == math.fsum(leg.distance_m for leg in route.legs)
    assert route.total_km == route.total_m / 1000
    assert route.driving_minutes == pytest.approx(route.total_m / 1000 / 40 * 60)
    assert route.total_minutes == pytest.approx(route.driving_minutes + 7 * 30)
    expected, clock = [], 0.0
    for leg in route.legs[:-1]:
        clock += leg.minutes
        expected.append(clock)
        clock += 30
    assert route.arrivals == pytest.approx(expected)
    assert route.total_minutes == pytest.approx(clock + route.legs[-1].minutes)

    data = route.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["method"] == "exact" and data["order"] == list(route.order)
    assert data["legs"][0]["from"] is None and data["legs"][-1]["to"] is None
    assert data["legs"][1] == {"from": route.order[0], "to": route.order[1],
                               "distance_m": round(route.legs[1].distance_m, 1),
                               "minutes": round(route.legs[1].minutes, 1)}
    assert abs(sum(leg["distance_m"] for leg in data["legs"]) - data["total_m"]) <= 0.05 * len(data["legs"])
    assert data["speed_kmh"] == 40 and data["service_minutes"] == 30


def test_zero_one_and_two_stops():
    office = SHUOCHENG
    empty = plan_route(office, [])
    assert (empty.order, empty.legs, empty.total_m, empty.total_minutes, empty.arrivals) == ((), (), 0, 0, ())
    assert empty.method == "exact"
    assert plan_route(office, [], exact_limit=0).method == "exact"

    one = plan_route(office, [(7, 39.4, 112.5)], service_minutes=45)
    there = distance_m(office, (39.4, 112.5))
    assert one.order == (7,)
    assert [(leg.from_id, leg.to_id) for leg in one.legs] == [(None, 7), (7, None)]
    assert one.total_m == pytest.approx(2 * there)
    assert one.total_minutes == pytest.approx(2 * there / 1000 / 30 * 60 + 45)
    assert plan_route(office, [(7, 39.4, 112.5)], exact_limit=0).total_m == one.total_m

    two = plan_route(office, [("a", 39.4, 112.5), ("b", 39.2, 112.3)])
    assert sorted(two.order) == ["a", "b"] and len(two.legs) == 3
    assert two.total_m == pytest.approx(distance_m(office, (39.4, 112.5)) + distance_m((39.4, 112.5), (39.2, 112.3))
                                        + distance_m((39.2, 112.3), office))


def test_duplicate_coordinates_and_stops_at_the_office():
    office = SHUOCHENG
    stops = [("a", 39.40, 112.50), ("b", 39.40, 112.50), ("c", *office), ("d", 39.25, 112.35), ("e", 39.40, 112.50)]
    for exact_limit in (10, 0):
        route = plan_route(office, stops, exact_limit=exact_limit)
        assert_valid_tour(route, stops)
        assert route.total_m == pytest.approx(brute_force_m(office, stops), abs=1e-6)
        assert sum(leg.distance_m == 0 for leg in route.legs) >= 3
    same = plan_route(office, [(k, *office) for k in range(12)])
    assert same.method == "heuristic" and same.total_m == 0 and sorted(same.order) == list(range(12))


def test_invalid_input_is_refused():
    office = SHUOCHENG
    with pytest.raises(ValueError, match="more than once"):
        plan_route(office, [("a", 39.4, 112.5), ("a", 39.5, 112.6)])
    with pytest.raises(ValueError, match="more than once"):
        best_of_random_2opt(office, [(1, 39.4, 112.5), (1, 39.4, 112.5)])
    with pytest.raises(ValueError, match="None"):
        plan_route(office, [(None, 39.4, 112.5)])
    with pytest.raises(ValueError, match="hashable"):
        plan_route(office, [(["x"], 39.4, 112.5)])
    with pytest.raises(ValueError, match=r"\(id, lat, lon\)"):
        plan_route(office, [("a", 39.4)])
    with pytest.raises(CoordinateError):
        plan_route(office, [("a", 95.0, 112.5)])
    with pytest.raises(CoordinateError):
        plan_route(office, [("a", float("nan"), 112.5)])
    with pytest.raises(ValueError):
        plan_route((39.3,), [])
    for bad in ({"speed_kmh": 0}, {"speed_kmh": -5}, {"speed_kmh": float("inf")}, {"service_minutes": -1},
                {"exact_limit": routes.MAX_EXACT + 1}, {"exact_limit": -1}, {"exact_limit": True},
                {"restarts": -1}, {"kicks": 1.5}):
        with pytest.raises(ValueError):
            plan_route(office, [("a", 39.4, 112.5)], **bad)
    with pytest.raises(ValueError):
        best_of_random_2opt(office, [("a", 39.4, 112.5)], runs=0)


def test_distance_matrix_is_the_geodesic_and_symmetric():
    points = [SHUOCHENG, (39.98, 112.47), (39.55, 113.18), (39.55, 113.18)]
    matrix = distance_matrix(points)
    for i, j in itertools.product(range(4), repeat=2):
        assert matrix[i][j] == matrix[j][i]
        # Vincenty's formula: within micrometres of Karney's (geopy) over a city
        assert matrix[i][j] == pytest.approx(distance_m(points[i], points[j]), abs=1e-5)
    assert matrix[2][3] == 0


def test_distance_matrix_agrees_with_geopy_anywhere_and_near_antipodes():
    rng = random.Random(7)
    points = [(rng.uniform(-89.9, 89.9), rng.uniform(-180, 180)) for _ in range(40)]
    points += [(0.0, 0.0), (0.0, 179.7), (0.5, 179.8), (-0.2, -179.9), (90.0, 0.0), (-90.0, 10.0)]  # antipodal pairs
    matrix = distance_matrix(points)
    for i, j in itertools.combinations(range(len(points)), 2):
        assert matrix[i][j] == pytest.approx(distance_m(points[i], points[j]), abs=1e-4), (points[i], points[j])


# --------------------------------------------------------------------------------------------
# The SVG map

def _svg_instance():
    office = SHUOCHENG
    stops = [("x1", 39.40, 112.50), ("x2", 39.28, 112.61), ("x3", 39.36, 112.30), ("x4", 39.40, 112.50)]
    route = plan_route(office, stops)
    return office, stops, route


def _texts(root, css_class=None):
    return [el.text for el in root.iter(f"{SVG}text")
            if css_class is None or el.get("class") == css_class]


def test_svg_is_valid_xml_with_markers_legs_scale_and_north():
    office, stops, route = _svg_instance()
    by_id = {stop_id: (lat, lon) for stop_id, lat, lon in stops}
    svg = route_svg(route, office, by_id, office_label="朔城区 office")
    assert svg.startswith("<svg ") and "<?xml" not in svg  # embeddable inline in HTML
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert (root.get("width"), root.get("height"), root.get("viewBox")) == ("800.0", "600.0", "0 0 800.0 600.0")
    assert "Noto Sans CJK SC" in root.get("font-family") and "sans-serif" in root.get("font-family")
    # the office: a marker of its own, and its label
    assert root.find(f".//{SVG}g[@class='office']/{SVG}rect") is not None
    assert _texts(root, "office-label") == ["朔城区 office"]
    # x1 and x4 coincide: one marker numbered with both visits
    numbers = [el.text for el in root.iter(f"{SVG}text") if el.get("fill") == "#ffffff"]
    positions = {stop_id: number for number, stop_id in enumerate(route.order, start=1)}
    shared = ",".join(sorted((str(positions["x1"]), str(positions["x4"])), key=int))
    assert sorted(numbers) == sorted([shared] + [str(positions[k]) for k in ("x2", "x3")])
    # one line per leg, each drawn leg with an arrowhead and a distance
    lines = root.findall(f".//{SVG}g[@class='legs']/{SVG}line")
    assert len(lines) == len(route.legs) == 5
    distances = _texts(root, "leg-distance")
    arrows = root.findall(f".//{SVG}g[@class='arrows']/{SVG}polygon")
    assert len(distances) == len(arrows) == 4  # the zero-length leg between x1 and x4 has neither
    assert all(re.fullmatch(r"\d+\.\d km|\d+ m", text) for text in distances)
    assert {f"{leg.distance_m / 1000:.1f} km" for leg in route.legs if leg.distance_m > 0} == set(distances)
    # scale bar and north arrow
    assert re.fullmatch(r"\d+ km|\d+ m", _texts(root, "scale-label")[0])
    assert "N" in [el.text for el in root.findall(f".//{SVG}g[@class='north-arrow']/{SVG}text")]


def test_svg_scale_bar_matches_geodesic_distances():
    office, stops, route = _svg_instance()
    root = ET.fromstring(route_svg(route, office, {s[0]: s[1:] for s in stops}, width=640, height=480))
    bar = root.find(f".//{SVG}g[@class='scale-bar']/{SVG}line")
    bar_px = float(bar.get("x2")) - float(bar.get("x1"))
    value, unit = _texts(root, "scale-label")[0].split()
    metres_per_px = float(value) * (1000 if unit == "km" else 1) / bar_px
    lines = root.findall(f".//{SVG}g[@class='legs']/{SVG}line")
    for leg, line in zip(route.legs, lines):
        px = math.hypot(float(line.get("x2")) - float(line.get("x1")), float(line.get("y2")) - float(line.get("y1")))
        assert px * metres_per_px == pytest.approx(leg.distance_m, rel=0.01, abs=2 * metres_per_px)
    # everything inside the drawing
    for line in lines:
        for name, limit in (("x1", 640), ("x2", 640), ("y1", 480), ("y2", 480)):
            assert 0 < float(line.get(name)) < limit


def test_svg_escapes_labels_and_title():
    office, stops, route = _svg_instance()
    nasty = '<script>&"'
    labels = {"x2": nasty, "x3": "朔州市某某娱乐有限公司 ' \x00\x1b end"}
    svg = route_svg(route, office, {s[0]: s[1:] for s in stops}, labels=labels, office_label=nasty,
                    title=f"title {nasty}")
    assert "<script" not in svg and "\x00" not in svg and "\x1b" not in svg
    root = ET.fromstring(svg)
    stop_labels = _texts(root, "stop-label")
    assert nasty in stop_labels
    assert any(text.startswith("朔州市某某娱乐有限公司 '") for text in stop_labels)
    assert _texts(root, "office-label") == [nasty]
    assert root.find(f"{SVG}title").text == f"title {nasty}"
    assert root.get("aria-label") == f"title {nasty}"
    long_label = route_svg(route, office, {s[0]: s[1:] for s in stops}, labels={"x2": "长" * 100})
    assert ["长" * 23 + "\u2026"] == _texts(ET.fromstring(long_label), "stop-label")


def test_svg_is_deterministic():
    office, stops = random_instance(random.Random(9), 25)
    labels = {stop_id: f"场所 {stop_id}" for stop_id, _lat, _lon in stops}
    by_id = {stop_id: (lat, lon) for stop_id, lat, lon in stops}
    first = route_svg(plan_route(office, stops), office, by_id, labels=labels)
    assert route_svg(plan_route(office, stops), office, by_id, labels=labels) == first
    assert route_svg(plan_route(office, stops), office, {s[0]: s for s in stops}, labels=labels) == first
    ET.fromstring(first)
    assert route_svg(plan_route(office, stops), office, by_id, labels=labels, leg_labels=False) != first


def test_svg_of_small_routes_and_bad_input():
    office = SHUOCHENG
    empty = ET.fromstring(route_svg(plan_route(office, []), office, {}))
    assert empty.find(f".//{SVG}g[@class='office']") is not None
    assert empty.findall(f".//{SVG}g[@class='legs']/{SVG}line") == []
    one = plan_route(office, [("only", *office)])
    root = ET.fromstring(route_svg(one, office, {"only": office}))  # on top of the office
    assert len(root.findall(f".//{SVG}g[@class='legs']/{SVG}line")) == 2
    with pytest.raises(ValueError, match="not in stops_by_id"):
        route_svg(one, office, {})
    with pytest.raises(ValueError):
        route_svg(one, office, {"only": office}, width=100)


def test_svg_renders_in_a_pdf(tmp_path):
    weasyprint = pytest.importorskip("weasyprint")
    office, stops, route = _svg_instance()
    svg = route_svg(route, office, {s[0]: s[1:] for s in stops}, labels={"x2": "山阴县 <b>&"},
                    office_label="朔城区")
    page = ("<!doctype html><html><head><meta charset='utf-8'><style>@page { size: 820px 620px; margin: 10px }"
            f"</style></head><body>{svg}</body></html>")
    pdf = tmp_path / "route.pdf"
    weasyprint.HTML(string=page).write_pdf(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert "朔城区" in text and "山阴县 <b>&" in text and "km" in text


# --------------------------------------------------------------------------------------------
# The benchmark script (its quality target does not depend on timing, so it must be met)

def test_bench_routes_quick_mode(tmp_path):
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, str(root / "bench" / "bench_routes.py"), "--quick",
                           "--results-dir", str(tmp_path)], cwd=root, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^max gap \(heuristic vs best of 30 random-restart 2-opt\): -?[0-9.]+%  target <= 3%  met$",
                     done.stdout, re.MULTILINE), done.stdout
    recorded = list(tmp_path.glob("routes-*.json"))
    assert len(recorded) == 1
    data = json.loads(recorded[0].read_text())
    assert data["target"]["met"] is True and data["parameters"]["quick"] is True
    assert len(data["instances"]) == 5 and not data["problems"]
    assert all(13 <= row["stops"] <= 30 for row in data["instances"])
