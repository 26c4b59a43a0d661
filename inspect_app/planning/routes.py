"""Route planning for a team-day: the visiting order from the team's office and back.

Pure functions (no Flask app, no database). What the rest of the product calls:

* ``plan_route(office, stops)``: the order of the stops that minimises the total geodesic
  distance of the closed tour office -> stops -> office, with leg distances and estimated times
  (:class:`Route`). Exact (Held-Karp dynamic programming) for up to ``exact_limit`` stops (10 by
  default); beyond, a heuristic: a tour from nearest neighbour improved by 2-opt and Or-opt
  (moves of segments of 1-3 stops, either way round) until neither improves, then perturbed a
  hundred times by seeded double-bridge kicks, each followed by the same local search and kept
  when shorter (iterated local search), and all that again from a few further seeded starts;
  the shortest tour wins. The same input always gives the same route.
* ``best_of_random_2opt(office, stops, runs=200)``: random starts improved by 2-opt alone, the
  best kept: the reference the benchmark (``bench/bench_routes.py``) compares the heuristic with.
* ``distance_matrix(points)``: the geodesic distances (WGS-84, within micrometres of :func:`geo.distance_m`).

Points are WGS-84 ``(lat, lon)`` in decimal degrees; a stop is ``(id, lat, lon)`` with a hashable
id, unique within the call. In legs the office is ``None`` (:data:`OFFICE`).
"""
from __future__ import annotations

import math
import random
from collections import deque
from dataclasses import dataclass
from typing import Any, Hashable, Iterable, Sequence

from ..registry import geo

__all__ = ["OFFICE", "MAX_EXACT", "Leg", "Route", "plan_route", "best_of_random_2opt", "distance_matrix",
           "tour_length"]

OFFICE = None
"""The office's id in :attr:`Leg.from_id` / :attr:`Leg.to_id` (JSON ``null``)."""

MAX_EXACT = 12
"""The largest ``exact_limit`` accepted: Held-Karp takes O(n^2 2^n) steps (about 0.1 s at 12 stops)."""

DEFAULT_RESTARTS = 5
DEFAULT_KICKS = 100
# An improvement smaller than this many metres is rounding noise: ignoring it ends every loop.
_EPS = 1e-7


# ============================================================================================
# Results

@dataclass(frozen=True)
class Leg:
    """One leg of a route; ``from_id`` / ``to_id`` are stop ids, or ``None`` for the office."""

    from_id: Hashable
    to_id: Hashable
    distance_m: float
    minutes: float

    def to_dict(self) -> dict[str, Any]:
        return {"from": self.from_id, "to": self.to_id, "distance_m": round(self.distance_m, 1),
                "minutes": round(self.minutes, 1)}


@dataclass(frozen=True)
class Route:
    """A closed tour office -> ``order`` -> office.

    ``legs`` has ``len(order) + 1`` items (none without stops); ``total_m`` is their sum;
    ``driving_minutes`` the driving time at ``speed_kmh``; ``total_minutes`` adds
    ``service_minutes`` for each stop; ``arrivals`` gives, for each stop in ``order``, the
    minutes from leaving the office to arriving there (earlier stops' service included).
    ``method`` is ``"exact"`` (proven shortest), ``"heuristic"`` or, for the benchmark's
    reference, ``"random-2opt"``.
    """

    order: tuple[Hashable, ...]
    legs: tuple[Leg, ...]
    total_m: float
    driving_minutes: float
    total_minutes: float
    arrivals: tuple[float, ...]
    method: str
    speed_kmh: float
    service_minutes: float

    @property
    def total_km(self) -> float:
        return self.total_m / 1000.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict; metres and minutes rounded to 0.1."""
        return {
            "method": self.method,
            "order": list(self.order),
            "legs": [leg.to_dict() for leg in self.legs],
            "total_m": round(self.total_m, 1),
            "driving_minutes": round(self.driving_minutes, 1),
            "total_minutes": round(self.total_minutes, 1),
            "arrivals": [round(minutes, 1) for minutes in self.arrivals],
            "speed_kmh": self.speed_kmh,
            "service_minutes": self.service_minutes,
        }


# ============================================================================================
# Input

def _check_point(point: Any, what: str) -> tuple[float, float]:
    try:
        lat, lon = point
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be a (lat, lon) pair, not {point!r}") from None
    return geo.check_lat_lon(lat, lon)


def _check_stops(stops: Iterable[Sequence[Any]]) -> tuple[list[Hashable], list[tuple[float, float]]]:
    ids: list[Hashable] = []
    points: list[tuple[float, float]] = []
    seen: set = set()
    for stop in stops:
        try:
            stop_id, lat, lon = stop
        except (TypeError, ValueError):
            raise ValueError(f"a stop must be (id, lat, lon), not {stop!r}") from None
        if stop_id is None:
            raise ValueError("a stop id must not be None (None stands for the office)")
        try:
            duplicate = stop_id in seen
        except TypeError:
            raise ValueError(f"a stop id must be hashable, not {stop_id!r}") from None
        if duplicate:
            raise ValueError(f"stop id {stop_id!r} appears more than once")
        seen.add(stop_id)
        ids.append(stop_id)
        points.append(_check_point((lat, lon), f"stop {stop_id!r}"))
    return ids, points


def _check_number(value: Any, name: str, *, positive: bool) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, not {value!r}")
    if value < 0 or (positive and value == 0):
        raise ValueError(f"{name} must be {'positive' if positive else 'at least 0'}, not {value!r}")
    return float(value)


# ============================================================================================
# Distances

_A = 6378137.0                 # WGS-84
_F = 1 / 298.257223563
_B = _A * (1 - _F)
_EP2 = (_A * _A - _B * _B) / (_B * _B)


def _reduced(lat: float, lon: float) -> tuple[float, float, float]:
    """(longitude in radians, sin and cos of the reduced latitude) of a point, for :func:`_vincenty_m`."""
    u = math.atan((1 - _F) * math.tan(math.radians(lat)))
    return math.radians(lon), math.sin(u), math.cos(u)


def _vincenty_m(p: tuple[float, float, float], q: tuple[float, float, float]) -> float | None:
    """Vincenty's inverse formula on the WGS-84 ellipsoid (Survey Review 1975) from :func:`_reduced`
    points; None when it does not converge (nearly antipodal points)."""
    sin, cos = math.sin, math.cos
    lon1, s1, c1 = p
    lon2, s2, c2 = q
    big_l = lon2 - lon1
    lam = big_l
    for _ in range(100):
        sin_lam, cos_lam = sin(lam), cos(lam)
        x, y = c2 * sin_lam, c1 * s2 - s1 * c2 * cos_lam
        sin_sigma = math.sqrt(x * x + y * y)
        if sin_sigma == 0.0:
            return 0.0
        cos_sigma = s1 * s2 + c1 * c2 * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = c1 * c2 * sin_lam / sin_sigma
        cos2_alpha = 1.0 - sin_alpha * sin_alpha
        cos_2sm = cos_sigma - 2.0 * s1 * s2 / cos2_alpha if cos2_alpha else 0.0
        c = _F / 16 * cos2_alpha * (4 + _F * (4 - 3 * cos2_alpha))
        previous = lam
        lam = big_l + (1 - c) * _F * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm * cos_2sm)))
        if abs(lam - previous) < 1e-12:
            break
    else:
        return None
    u2 = cos2_alpha * _EP2
    big_a = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    big_b = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    delta = big_b * sin_sigma * (cos_2sm + big_b / 4 * (
        cos_sigma * (-1 + 2 * cos_2sm * cos_2sm)
        - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma * sin_sigma) * (-3 + 4 * cos_2sm * cos_2sm)))
    return _B * big_a * (sigma - delta)


def distance_matrix(points: Sequence[tuple[float, float]]) -> list[list[float]]:
    """Geodesic distances in metres between WGS-84 ``(lat, lon)`` points, as a symmetric list of
    rows (exactly symmetric: each pair is measured once).

    Vincenty's inverse formula, with each point's reduced latitude computed once: within a few
    micrometres of Karney's algorithm (geographiclib, which geopy and :func:`geo.distance_m` use)
    over a city, within 0.1 mm anywhere, and some fifteen times faster, which matters when a
    campaign routes hundreds of team-days at once. Nearly antipodal pairs, where Vincenty does not
    converge, use Karney's algorithm. Coincident points are 0.
    """
    size = len(points)
    reduced = [_reduced(lat, lon) for lat, lon in points]
    matrix = [[0.0] * size for _ in range(size)]
    for i in range(size):
        lat1, lon1 = points[i]
        row, p = matrix[i], reduced[i]
        for j in range(i + 1, size):
            lat2, lon2 = points[j]
            if lat1 == lat2 and lon1 == lon2:
                continue
            d = _vincenty_m(p, reduced[j])
            if d is None:
                d = geo._geodesic_m(lat1, lon1, lat2, lon2)
            row[j] = d
            matrix[j][i] = d
    return matrix


def tour_length(path: Sequence[int], matrix: Sequence[Sequence[float]]) -> float:
    """The length of a path of matrix indices (``[0, ..., 0]`` for a closed tour from node 0)."""
    return math.fsum(matrix[a][b] for a, b in zip(path, path[1:]))


# ============================================================================================
# Exact: Held-Karp

def _held_karp(matrix: Sequence[Sequence[float]], n: int) -> list[int]:
    """The shortest closed tour 0 -> 1..n -> 0, as ``[0, ..., 0]``.

    ``cost[mask][j]``: the shortest path from 0 through the stops of ``mask`` (bit j stands for
    node j + 1), ending at node j + 1. Ties keep the first candidate met, so the answer is
    deterministic.
    """
    if n == 0:
        return [0, 0]
    full = (1 << n) - 1
    inf = math.inf
    cost = [[inf] * n for _ in range(full + 1)]
    parent = [[-1] * n for _ in range(full + 1)]
    for j in range(n):
        cost[1 << j][j] = matrix[0][j + 1]
    bits = [1 << k for k in range(n)]
    for mask in range(1, full + 1):
        row = cost[mask]
        outside = [k for k in range(n) if not mask & bits[k]]
        if not outside:
            continue
        for j in range(n):
            here = row[j]
            if here == inf:
                continue
            dist_j = matrix[j + 1]
            for k in outside:
                total = here + dist_j[k + 1]
                target = cost[mask | bits[k]]
                if total < target[k]:
                    target[k] = total
                    parent[mask | bits[k]][k] = j
    last, best = -1, inf
    final = cost[full]
    for j in range(n):
        total = final[j] + matrix[j + 1][0]
        if total < best:
            last, best = j, total
    order = []
    mask = full
    while last >= 0:
        order.append(last + 1)
        last, mask = parent[mask][last], mask & ~bits[last]
    order.reverse()
    return [0, *order, 0]


# ============================================================================================
# Heuristic: nearest neighbour, 2-opt, Or-opt, seeded restarts
#
# A path is ``[0, s1, ..., sn, 0]`` of matrix indices (node 0 is the office).

def _nearest_neighbour(matrix: Sequence[Sequence[float]], n: int, first: int | None = None) -> list[int]:
    """Greedy: from the office (or from ``first`` after it) always to the nearest unvisited stop;
    ties go to the lowest index."""
    left = set(range(1, n + 1))
    path = [0]
    if first is not None:
        path.append(first)
        left.discard(first)
    while left:
        row = matrix[path[-1]]
        nxt = min(left, key=lambda k: (row[k], k))
        path.append(nxt)
        left.discard(nxt)
    path.append(0)
    return path


def _two_opt(path: list[int], matrix: Sequence[Sequence[float]]) -> bool:
    """2-opt to a local optimum: for each edge (a, b), the best edge (c, d) further on such that
    reversing b..c shortens the tour, applied at once. True when anything changed."""
    last = len(path) - 1
    changed = False
    improved = True
    while improved:
        improved = False
        for i in range(last - 2):
            a, b = path[i], path[i + 1]
            row_a, row_b = matrix[a], matrix[b]
            removed_ab = row_a[b]
            best_gain, best_j = _EPS, -1
            for j in range(i + 2, last):
                c, d = path[j], path[j + 1]
                gain = removed_ab + matrix[c][d] - row_a[c] - row_b[d]
                if gain > best_gain:
                    best_gain, best_j = gain, j
            if best_j > 0:
                path[i + 1:best_j + 1] = path[best_j:i:-1]
                improved = changed = True
    return changed


class _Tour:
    """A cyclic tour over matrix indices 0..n with positions, improved by 2-opt and Or-opt moves
    looked up in neighbour lists, with "don't look" bits (Bentley 1992): only nodes next to a
    changed edge are examined again, so a local search after a small change costs little.

    2-opt: for node a and its successor (or predecessor) b, each near neighbour c of a closer
    than b, replace (a, b) and (c, d) by (a, c) and (b, d). Or-opt: a segment of 1..3 nodes
    ending at a moves, either way round, next to a near neighbour of one of its ends. The
    office is an ordinary node here; :meth:`path` rotates it to the front.
    """

    def __init__(self, order: Sequence[int], matrix: Sequence[Sequence[float]], neighbours: Sequence[Sequence[int]]):
        self.size = len(order)
        self.pos = [0] * self.size
        self.set(order)
        self.matrix = matrix
        self.neighbours = neighbours

    def set(self, order: Sequence[int]) -> None:
        self.tour = list(order)
        for index, node in enumerate(self.tour):
            self.pos[node] = index

    def length(self) -> float:
        tour = self.tour
        return tour_length([*tour, tour[0]], self.matrix)

    def path(self) -> list[int]:
        at = self.pos[0]
        tour = self.tour[at:] + self.tour[:at]
        return [*tour, 0]

    def _succ(self, node: int) -> int:
        return self.tour[(self.pos[node] + 1) % self.size]

    def _pred(self, node: int) -> int:
        return self.tour[(self.pos[node] - 1) % self.size]

    def _reverse(self, i: int, j: int) -> None:
        """Reverse the nodes at positions i..j (cyclic, forward from i); the complement when shorter
        (the same cycle, run the other way)."""
        size, tour, pos = self.size, self.tour, self.pos
        length = (j - i) % size + 1
        if 2 * length > size:
            i, j = (j + 1) % size, (i - 1) % size
            length = size - length
        for _ in range(length // 2):
            a, b = tour[i], tour[j]
            tour[i], tour[j] = b, a
            pos[b], pos[a] = i, j
            i = (i + 1) % size
            j = (j - 1) % size

    def _try_two_opt(self, a: int) -> tuple[int, ...]:
        matrix, row_a = self.matrix, self.matrix[a]
        for forward in (True, False):
            b = self._succ(a) if forward else self._pred(a)
            ab = row_a[b]
            for c in self.neighbours[a]:
                gain_ac = ab - row_a[c]
                if gain_ac <= _EPS:
                    break
                d = self._succ(c) if forward else self._pred(c)
                if c == b or d == a:
                    continue
                if gain_ac + matrix[c][d] - matrix[b][d] > _EPS:
                    if forward:  # a b ... c d  ->  a c ... b d
                        self._reverse(self.pos[b], self.pos[c])
                    else:        # d c ... b a  ->  d b ... c a
                        self._reverse(self.pos[c], self.pos[b])
                    return a, b, c, d
        return ()

    def _try_or_opt(self, a: int) -> tuple[int, ...]:
        size, tour, pos, matrix = self.size, self.tour, self.pos, self.matrix
        for length in (1, 2, 3):
            if length > size - 3:
                break
            for a_is_first in (True, False):
                if length == 1 and not a_is_first:
                    break
                start = pos[a] if a_is_first else (pos[a] - length + 1) % size
                first, tail = tour[start], tour[(start + length - 1) % size]
                prev, nxt = tour[(start - 1) % size], tour[(start + length) % size]
                gain_out = matrix[prev][first] + matrix[tail][nxt] - matrix[prev][nxt]
                if gain_out <= _EPS:
                    continue
                row_first, row_tail = matrix[first], matrix[tail]
                best_gain, best = _EPS, None
                for end_row, end in ((row_first, first), (row_tail, tail)):
                    for c in self.neighbours[end]:
                        if end_row[c] >= gain_out:
                            break
                        if (pos[c] - start) % size < length:
                            continue
                        for u, v in ((c, tour[(pos[c] + 1) % size]), (tour[(pos[c] - 1) % size], c)):
                            if u == prev and v == first or u == tail and v == nxt:
                                continue
                            uv = matrix[u][v]
                            gain = gain_out - (row_first[u] + row_tail[v] - uv)
                            if gain > best_gain:
                                best_gain, best = gain, (u, v, False)
                            gain = gain_out - (row_tail[u] + row_first[v] - uv)
                            if gain > best_gain:
                                best_gain, best = gain, (u, v, True)
                if best is not None:
                    u, v, backwards = best
                    segment = [tour[(start + k) % size] for k in range(length)]
                    rest = [tour[(start + length + k) % size] for k in range(size - length)]
                    if backwards:
                        segment.reverse()
                    at = rest.index(u) + 1
                    rest[at:at] = segment
                    self.set(rest)
                    return prev, nxt, first, tail, u, v
        return ()

    def improve(self, active: Iterable[int]) -> None:
        """Local search from the nodes ``active`` until no move improves the tour."""
        queue = deque()
        queued = [False] * self.size
        for node in active:
            if not queued[node]:
                queued[node] = True
                queue.append(node)
        while queue:
            a = queue.popleft()
            touched = self._try_two_opt(a) or self._try_or_opt(a)
            if touched:
                for node in (a, *touched):
                    if not queued[node]:
                        queued[node] = True
                        queue.append(node)
            else:
                queued[a] = False

    def double_bridge(self, rng: random.Random) -> list[int]:
        """The classic kick A B C D -> A C B D (three random cuts, A never empty, so D is not
        either: ``size`` >= 4); returns the nodes at the three new edges."""
        tour = self.tour
        p1, p2, p3 = sorted(rng.sample(range(1, self.size), 3))
        a, b, c, d = tour[:p1], tour[p1:p2], tour[p2:p3], tour[p3:]
        self.set(a + c + b + d)
        return [a[-1], c[0], c[-1], b[0], b[-1], d[0]]


def _neighbour_lists(matrix: Sequence[Sequence[float]]) -> list[list[int]]:
    """For each node, every other node, nearest first (ties by index). Complete lists: with
    clustered stops the move that joins two clusters needs a node far down the list, and the
    searches stop reading a list as soon as its nodes are too far to gain anything."""
    size = len(matrix)
    return [sorted((k for k in range(size) if k != i), key=lambda k: (matrix[i][k], k)) for i in range(size)]


def _heuristic(matrix: Sequence[Sequence[float]], n: int, seed: int, restarts: int, kicks: int) -> list[int]:
    """The best of ``restarts + 1`` iterated local searches: from nearest neighbour, then from
    nearest-neighbour tours that start at a stop drawn with ``seed``; each search improves its
    start to a local optimum, then ``kicks`` times perturbs its best tour by a random double
    bridge, improves that, and keeps it when shorter. The shortest wins (the earliest on ties)."""
    size = n + 1
    neighbours = _neighbour_lists(matrix)
    rng = random.Random(seed)
    best_path, best_length = None, math.inf
    for number in range(restarts + 1):
        start = _nearest_neighbour(matrix, n, first=None if number == 0 else rng.randrange(1, size))
        tour = _Tour(start[:-1], matrix, neighbours)
        tour.improve(start[:-1])
        length = tour.length()
        if size >= 8:
            for _ in range(kicks):
                saved = tour.tour[:]
                tour.improve(tour.double_bridge(rng))
                new_length = tour.length()
                if new_length < length - _EPS:
                    length = new_length
                else:
                    tour.set(saved)
        if length < best_length - _EPS:
            best_path, best_length = tour.path(), length
    return best_path


def _random_two_opt(matrix: Sequence[Sequence[float]], n: int, runs: int, seed: int) -> list[int]:
    rng = random.Random(seed)
    best, best_length = None, math.inf
    for _ in range(runs):
        inner = list(range(1, n + 1))
        rng.shuffle(inner)
        path = [0, *inner, 0]
        _two_opt(path, matrix)
        length = tour_length(path, matrix)
        if length < best_length - _EPS:
            best, best_length = path, length
    return best


# ============================================================================================
# Public functions

def _build_route(path: list[int], ids: list[Hashable], matrix: Sequence[Sequence[float]], method: str,
                 speed_kmh: float, service_minutes: float) -> Route:
    if not ids:
        path = [0]  # no stops: no legs (not a leg from the office to itself)
    minutes_per_m = 60.0 / (speed_kmh * 1000.0)
    legs = []
    arrivals = []
    clock = 0.0
    names = [OFFICE, *ids]
    for a, b in zip(path, path[1:]):
        d = matrix[a][b]
        legs.append(Leg(names[a], names[b], d, d * minutes_per_m))
        clock += d * minutes_per_m
        if b != 0:
            arrivals.append(clock)
            clock += service_minutes
    total_m = math.fsum(leg.distance_m for leg in legs)
    driving = math.fsum(leg.minutes for leg in legs)
    stops = len(ids)
    return Route(order=tuple(names[k] for k in path[1:-1]), legs=tuple(legs), total_m=total_m,
                 driving_minutes=driving, total_minutes=driving + service_minutes * stops,
                 arrivals=tuple(arrivals), method=method, speed_kmh=speed_kmh, service_minutes=service_minutes)


def _prepare(office, stops, speed_kmh, service_minutes):
    office_point = _check_point(office, "office")
    ids, points = _check_stops(stops)
    speed = _check_number(speed_kmh, "speed_kmh", positive=True)
    service = _check_number(service_minutes, "service_minutes", positive=False)
    return ids, distance_matrix([office_point, *points]), speed, service


def plan_route(office: tuple[float, float], stops: Iterable[tuple[Hashable, float, float]], *,
               speed_kmh: float = 30.0, service_minutes: float = 45, exact_limit: int = 10, seed: int = 0,
               restarts: int = DEFAULT_RESTARTS, kicks: int = DEFAULT_KICKS) -> Route:
    """The shortest (geodesic) closed tour from ``office`` through every stop and back.

    ``office`` is ``(lat, lon)``; ``stops`` are ``(id, lat, lon)`` with unique, hashable ids
    (``ValueError`` otherwise, and :class:`geo.CoordinateError`, also a ``ValueError``, for a bad
    coordinate). Up to ``exact_limit`` stops (at most :data:`MAX_EXACT`) the tour is proven
    shortest (``method="exact"``, Held-Karp); beyond, it is the best of iterated local searches
    (2-opt and Or-opt, then ``kicks`` double-bridge perturbations) from nearest neighbour and from
    ``restarts`` further starts drawn with ``seed`` (``method="heuristic"``). Deterministic: the
    same arguments give the same route. Times: driving at ``speed_kmh`` plus ``service_minutes``
    at each stop.
    """
    if isinstance(exact_limit, bool) or not isinstance(exact_limit, int) or not 0 <= exact_limit <= MAX_EXACT:
        raise ValueError(f"exact_limit must be an integer from 0 to {MAX_EXACT}, not {exact_limit!r}")
    for name, value in (("restarts", restarts), ("kicks", kicks)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, not {value!r}")
    ids, matrix, speed, service = _prepare(office, stops, speed_kmh, service_minutes)
    n = len(ids)
    if n <= exact_limit:
        return _build_route(_held_karp(matrix, n), ids, matrix, "exact", speed, service)
    return _build_route(_heuristic(matrix, n, seed, restarts, kicks), ids, matrix, "heuristic", speed, service)


def best_of_random_2opt(office: tuple[float, float], stops: Iterable[tuple[Hashable, float, float]],
                        runs: int = 200, seed: int = 0, *, speed_kmh: float = 30.0,
                        service_minutes: float = 45) -> Route:
    """The shortest of ``runs`` tours, each a random order (seeded) improved by 2-opt alone to
    a local optimum (``method="random-2opt"``): the benchmark's reference, not for production."""
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError(f"runs must be an integer >= 1, not {runs!r}")
    ids, matrix, speed, service = _prepare(office, stops, speed_kmh, service_minutes)
    path = _random_two_opt(matrix, len(ids), runs, seed)
    return _build_route(path, ids, matrix, "random-2opt", speed, service)
