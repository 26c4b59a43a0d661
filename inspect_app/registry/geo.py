"""Locations for the registry: coordinate systems, validation, distances, geocoding, proximity.

Pure functions and small classes (no views). What the rest of the product calls:

* ``to_wgs84(lat, lon, crs)`` / ``from_wgs84(lat, lon, crs)``: WGS-84 <-> GCJ-02 <-> BD-09;
  ``check_lat_lon(lat, lon)`` and ``normalize_point(lat, lon, crs)`` validate, convert and flag
  a point outside the city (``is_in_city``, ``city_bounds``).
* ``distance_m(a, b)``: geodesic distance in metres on WGS-84 (geopy).
* ``geocode(address, region_code=None, config=None)``: an online geocoder (Nominatim or
  BaiduV3 through geopy) when configured, else, or when it cannot be reached, the offline
  gazetteer ``registries/gazetteer.yaml`` (``load_gazetteer``, ``init_app``).
* ``bounding_box``, ``GridIndex``, ``venues_near_sites``, ``sites_near``, ``entities_near``:
  proximity without scanning every row or every pair.

Every latitude and longitude is in decimal degrees; ``(lat, lon)`` is the order everywhere.
"""
from __future__ import annotations

import math
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Hashable, Iterable, Mapping, NamedTuple
from urllib.parse import urlsplit

from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from geographiclib.geodesic import Geodesic
from geopy.distance import geodesic
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from ..reference import REGION_CODE, ReferenceDataError, _flatten, _read_mapping

__all__ = [
    "CRS_VALUES", "CoordinateError", "to_wgs84", "from_wgs84", "wgs84_to_gcj02", "gcj02_to_wgs84",
    "gcj02_to_bd09", "bd09_to_gcj02", "wgs84_to_bd09", "bd09_to_wgs84", "out_of_china",
    "check_lat_lon", "normalize_point", "CheckedPoint", "Bounds", "city_bounds", "is_in_city",
    "distance_m", "bounding_box", "GridIndex", "venues_near_sites", "Nearby", "sites_near",
    "entities_near", "sites_near_query", "entities_near_query",
    "Place", "Gazetteer", "GazetteerError", "load_gazetteer", "get_gazetteer", "init_app",
    "GeocodeResult", "Geocoded", "GeocoderConfigError", "geocoder_settings", "build_geocoder", "geocode",
]

CRS_VALUES = ("wgs84", "gcj02", "bd09")
GAZETTEER_FILE = "gazetteer.yaml"
DEFAULT_REGISTRIES_DIR = Path(__file__).resolve().parents[2] / "registries"


# ============================================================================================
# Validation

class CoordinateError(ValueError):
    """A latitude, longitude or coordinate system that cannot be used; ``field`` names which.

    ``message`` is a lazy translatable string (English source); ``str(error)`` renders it in
    the current locale.
    """

    def __init__(self, field_name: str, message: Any):
        super().__init__(message)
        self.field = field_name
        self.message = message

    def __str__(self) -> str:
        return str(self.message)


def _number(value: Any, field_name: str) -> float:
    if isinstance(value, bool) or value is None:
        raise CoordinateError(field_name, _l("Latitude must be a number.") if field_name == "lat"
                              else _l("Longitude must be a number."))
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CoordinateError(field_name, _l("Latitude must be a number.") if field_name == "lat"
                              else _l("Longitude must be a number.")) from None
    if not math.isfinite(number):
        raise CoordinateError(field_name, _l("Latitude must be a finite number.") if field_name == "lat"
                              else _l("Longitude must be a finite number."))
    return number


def check_lat_lon(lat: Any, lon: Any) -> tuple[float, float]:
    """``(lat, lon)`` as floats, or :class:`CoordinateError` naming ``lat`` or ``lon``.

    Accepts numbers and numeric strings; refuses booleans, NaN, infinities, a latitude outside
    [-90, 90] and a longitude outside [-180, 180].
    """
    lat_f = _number(lat, "lat")
    lon_f = _number(lon, "lon")
    if not -90.0 <= lat_f <= 90.0:
        raise CoordinateError("lat", _l("Latitude must be between -90 and 90 degrees."))
    if not -180.0 <= lon_f <= 180.0:
        raise CoordinateError("lon", _l("Longitude must be between -180 and 180 degrees."))
    return lat_f, lon_f


def _check_crs(crs: Any) -> str:
    value = crs.strip().lower() if isinstance(crs, str) else crs
    if value not in CRS_VALUES:
        raise CoordinateError("crs", _l("Unknown coordinate system \u201c%(crs)s\u201d: use wgs84, gcj02 or bd09.",
                                        crs=crs))
    return value


# ============================================================================================
# Coordinate systems: WGS-84 (GPS), GCJ-02 (Chinese web maps: AMap, Tencent, Google China),
# BD-09 (Baidu Maps)

# GCJ-02 works on the Krasovsky 1940 ellipsoid.
_GCJ_A = 6378245.0
_GCJ_EE = 0.00669342162296594323
_BD_X_PI = math.pi * 3000.0 / 180.0
_BD_DLAT = 0.006
_BD_DLON = 0.0065
# Fixed-point iterations stop when the forward transform of the estimate is within this many
# degrees of the input (1e-10 degree is about 0.01 mm); they converge in 3 to 5 steps.
_INVERSE_EPS_DEG = 1e-10
_INVERSE_MAX_STEPS = 30


def out_of_china(lat: float, lon: float) -> bool:
    """The rectangle outside which GCJ-02 and BD-09 leave coordinates unchanged.

    The published GCJ-02 implementations all use this rough box (72.004-137.8347 E,
    0.8293-55.8271 N); so do Baidu's services, which use WGS-84 outside China.
    """
    return not (72.004 <= lon <= 137.8347 and 0.8293 <= lat <= 55.8271)


def _gcj_offset(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 minus WGS-84 at a WGS-84 point, in degrees (no out-of-China test)."""
    x = lon - 105.0
    y = lat - 35.0
    common = (20.0 * math.sin(6.0 * x * math.pi) + 20.0 * math.sin(2.0 * x * math.pi)) * 2.0 / 3.0
    dlat = (-100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * math.sqrt(abs(x)) + common
            + (20.0 * math.sin(y * math.pi) + 40.0 * math.sin(y / 3.0 * math.pi)) * 2.0 / 3.0
            + (160.0 * math.sin(y / 12.0 * math.pi) + 320.0 * math.sin(y * math.pi / 30.0)) * 2.0 / 3.0)
    dlon = (300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * math.sqrt(abs(x)) + common
            + (20.0 * math.sin(x * math.pi) + 40.0 * math.sin(x / 3.0 * math.pi)) * 2.0 / 3.0
            + (150.0 * math.sin(x / 12.0 * math.pi) + 300.0 * math.sin(x / 30.0 * math.pi)) * 2.0 / 3.0)
    rad_lat = math.radians(lat)
    magic = 1.0 - _GCJ_EE * math.sin(rad_lat) ** 2
    sqrt_magic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_GCJ_A * (1.0 - _GCJ_EE)) / (magic * sqrt_magic) * math.pi)
    dlon = (dlon * 180.0) / (_GCJ_A / sqrt_magic * math.cos(rad_lat) * math.pi)
    return dlat, dlon


def wgs84_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """WGS-84 to GCJ-02 by the published forward algorithm (identity outside China)."""
    if out_of_china(lat, lon):
        return lat, lon
    dlat, dlon = _gcj_offset(lat, lon)
    return lat + dlat, lon + dlon


def _invert(forward, target_lat: float, target_lon: float, start: tuple[float, float]) -> tuple[float, float]:
    """Solve ``forward(p) == target`` by fixed-point iteration ``p -= forward(p) - target``.

    The obfuscations differ from the identity by offsets whose derivatives are of the order of
    1e-3, so each step shrinks the error about a thousandfold (Cai Jun's method, 2014).
    """
    lat, lon = start
    for _ in range(_INVERSE_MAX_STEPS):
        f_lat, f_lon = forward(lat, lon)
        err_lat, err_lon = f_lat - target_lat, f_lon - target_lon
        lat, lon = lat - err_lat, lon - err_lon
        if abs(err_lat) < _INVERSE_EPS_DEG and abs(err_lon) < _INVERSE_EPS_DEG:
            break
    return lat, lon


def _gcj_forward_raw(lat: float, lon: float) -> tuple[float, float]:
    dlat, dlon = _gcj_offset(lat, lon)
    return lat + dlat, lon + dlon


def gcj02_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 to WGS-84: the iterative inverse of :func:`wgs84_to_gcj02` (well under 1 mm).

    GCJ-02 (国测局坐标, "Mars coordinates") has no published inverse and no closed form. The
    forward transform is the algorithm that leaked in the 2000s and is reproduced by every
    open implementation (e.g. googollee/eviltransform, MIT; Artoria2e5/PRCoords, CC0; wandergis/
    coordtransform); the inverse iterates ``w -= gcj(w) - g`` from ``w = g`` (Cai Jun, geoChina,
    2014, as in PRCoords' ``gcj_wgs_bored``), here to 1e-10 degree. The one-step inverse most
    libraries use (``g - (gcj(g) - g)``) is off by 1-2 m; this is not.
    """
    if out_of_china(lat, lon):
        return lat, lon
    return _invert(_gcj_forward_raw, lat, lon, (lat, lon))


def _bd_forward_raw(lat: float, lon: float) -> tuple[float, float]:
    z = math.hypot(lon, lat) + 0.00002 * math.sin(lat * _BD_X_PI)
    theta = math.atan2(lat, lon) + 0.000003 * math.cos(lon * _BD_X_PI)
    return z * math.sin(theta) + _BD_DLAT, z * math.cos(theta) + _BD_DLON


def gcj02_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    """GCJ-02 to BD-09 by Baidu's published offset (identity outside China)."""
    if out_of_china(lat, lon):
        return lat, lon
    return _bd_forward_raw(lat, lon)


def bd09_to_gcj02(lat: float, lon: float) -> tuple[float, float]:
    """BD-09 to GCJ-02: the usual closed-form approximation (about 1e-6 degree), then iterated
    against :func:`gcj02_to_bd09` until exact to 1e-10 degree."""
    if out_of_china(lat, lon):
        return lat, lon
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = math.hypot(x, y) - 0.00002 * math.sin(y * _BD_X_PI)
    theta = math.atan2(y, x) - 0.000003 * math.cos(x * _BD_X_PI)
    start = (z * math.sin(theta), z * math.cos(theta))
    return _invert(_bd_forward_raw, lat, lon, start)


def wgs84_to_bd09(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lat, lon))


def bd09_to_wgs84(lat: float, lon: float) -> tuple[float, float]:
    return gcj02_to_wgs84(*bd09_to_gcj02(lat, lon))


def to_wgs84(lat: Any, lon: Any, crs: Any = "wgs84") -> tuple[float, float]:
    """A client's point in ``crs`` (``wgs84``, ``gcj02`` or ``bd09``) as WGS-84 ``(lat, lon)``.

    Raises :class:`CoordinateError` for a bad number, range or ``crs``.
    """
    lat_f, lon_f = check_lat_lon(lat, lon)
    crs = _check_crs(crs)
    if crs == "gcj02":
        return gcj02_to_wgs84(lat_f, lon_f)
    if crs == "bd09":
        return bd09_to_wgs84(lat_f, lon_f)
    return lat_f, lon_f


def from_wgs84(lat: Any, lon: Any, crs: Any = "wgs84") -> tuple[float, float]:
    """A stored WGS-84 point in ``crs``, e.g. to place a pin on a GCJ-02 or Baidu map."""
    lat_f, lon_f = check_lat_lon(lat, lon)
    crs = _check_crs(crs)
    if crs == "gcj02":
        return wgs84_to_gcj02(lat_f, lon_f)
    if crs == "bd09":
        return wgs84_to_bd09(lat_f, lon_f)
    return lat_f, lon_f


# ============================================================================================
# City bounds

@dataclass(frozen=True)
class Bounds:
    """A latitude/longitude rectangle (degrees, edges included)."""

    south: float
    west: float
    north: float
    east: float

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    def to_dict(self) -> dict[str, float]:
        return {"south": self.south, "west": self.west, "north": self.north, "east": self.east}


class CheckedPoint(NamedTuple):
    """A validated point, converted to WGS-84, with the client's ``crs`` and the city-bounds flag."""

    lat: float
    lon: float
    crs: str
    outside_city: bool


def city_bounds(gazetteer: Gazetteer | None = None) -> Bounds:
    """The city's bounding box (``registries/gazetteer.yaml``, ``bounds``)."""
    return (gazetteer or get_gazetteer()).bounds


def is_in_city(lat: float, lon: float, gazetteer: Gazetteer | None = None) -> bool:
    """Whether a WGS-84 point lies inside the city's bounding box.

    A point outside is to be flagged for review (``Entity.is_outside_city``), never refused: a
    venue on the border, a typo and swapped latitude/longitude all look alike from here. The box
    is a rectangle around an irregular city, so it also holds parts of the neighbours (Datong's
    urban area lies inside it): "inside" means "not obviously wrong", not "in Shuozhou".
    """
    return city_bounds(gazetteer).contains(lat, lon)


def normalize_point(lat: Any, lon: Any, crs: Any = "wgs84", gazetteer: Gazetteer | None = None) -> CheckedPoint:
    """Validate a client's point, convert it to WGS-84 and flag it when outside the city."""
    crs_value = _check_crs(crs)
    w_lat, w_lon = to_wgs84(lat, lon, crs_value)
    return CheckedPoint(w_lat, w_lon, crs_value, not is_in_city(w_lat, w_lon, gazetteer))


# ============================================================================================
# Distances

_GEOD = Geodesic.WGS84
_DISTANCE = Geodesic.DISTANCE


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Geodesic distance in metres between two WGS-84 ``(lat, lon)`` points (geopy, Karney's
    algorithm; accurate to a few nanometres)."""
    return geodesic(a, b).meters


def _geodesic_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """The same figure as :func:`distance_m`, by the same geographiclib call geopy makes, without
    geopy's Point parsing (about 3x faster; used in the proximity loops)."""
    return _GEOD.Inverse(lat1, lon1, lat2, lon2, _DISTANCE)["s12"]


# WGS-84 ellipsoid. The meridional radius of curvature M(phi) = a(1-e^2)/(1-e^2 sin^2 phi)^1.5 is
# smallest at the equator, a(1-e^2); the prime-vertical radius N(phi) = a/sqrt(1-e^2 sin^2 phi)
# is never below a.
_WGS84_A = 6378137.0
_WGS84_F = 1 / 298.257223563
_WGS84_E2 = _WGS84_F * (2 - _WGS84_F)
_M_MIN = _WGS84_A * (1 - _WGS84_E2)
_BOX_SLACK = 1 + 1e-9  # covers floating-point rounding in the bounds


def bounding_box(lat: float, lon: float, radius_m: float) -> Bounds:
    """A latitude/longitude box that contains every point within ``radius_m`` metres (geodesic)
    of ``(lat, lon)``: the pre-filter for indexed SQL queries and the grid.

    Proof: on the ellipsoid ds^2 = M^2 dphi^2 + N^2 cos^2(phi) dlambda^2, so any path of length r
    changes the latitude by at most r / min M = r / (a(1-e^2)), which gives the latitude band;
    within that band N cos(phi) >= a cos(phi_max), so the longitude changes by at most
    r / (a cos(phi_max)). A band reaching a pole, or a box crossing the antimeridian, gets the
    whole longitude range (still correct, merely wide).
    """
    lat, lon = check_lat_lon(lat, lon)
    if isinstance(radius_m, bool) or not math.isfinite(radius_m) or radius_m < 0:
        raise ValueError(f"radius_m must be a finite number >= 0, not {radius_m!r}")
    dlat = math.degrees(radius_m / _M_MIN) * _BOX_SLACK + 1e-12
    south, north = max(-90.0, lat - dlat), min(90.0, lat + dlat)
    phi_max = max(abs(south), abs(north))
    if phi_max >= 90.0 - 1e-9:
        return Bounds(south, -180.0, north, 180.0)
    dlon = math.degrees(radius_m / (_WGS84_A * math.cos(math.radians(phi_max)))) * _BOX_SLACK + 1e-12
    west, east = lon - dlon, lon + dlon
    if west < -180.0 or east > 180.0:
        return Bounds(south, -180.0, north, 180.0)
    return Bounds(south, west, north, east)


# ============================================================================================
# In-memory spatial index

class GridIndex:
    """A uniform latitude/longitude grid over ``(id, lat, lon)`` points for radius queries.

    Cells are ``cell_m`` metres tall and about as wide at the points' mean latitude; a query
    visits only the cells that meet :func:`bounding_box` of its circle (so the answer does not
    depend on the cell size, only the speed does: choose a cell about the query radius), keeps
    the points inside that box and measures those with the geodesic. Points whose latitude or
    longitude is ``None`` are skipped.
    """

    def __init__(self, points: Iterable[tuple[Hashable, float | None, float | None]] = (),
                 cell_m: float = 200.0, ref_lat: float | None = None):
        if not cell_m > 0:
            raise ValueError("cell_m must be positive")
        points = [p for p in points if p[1] is not None and p[2] is not None]
        if ref_lat is None:
            ref_lat = sum(p[1] for p in points) / len(points) if points else 0.0
        self.cell_m = float(cell_m)
        self.cell_lat = math.degrees(cell_m / _M_MIN)
        self.cell_lon = self.cell_lat / max(math.cos(math.radians(ref_lat)), 0.01)
        self._cells: dict[tuple[int, int], list[tuple[Hashable, float, float]]] = {}
        self._count = 0
        for point_id, lat, lon in points:
            self.add(point_id, lat, lon)

    def __len__(self) -> int:
        return self._count

    def _key(self, lat: float, lon: float) -> tuple[int, int]:
        return math.floor(lat / self.cell_lat), math.floor(lon / self.cell_lon)

    def add(self, point_id: Hashable, lat: float, lon: float) -> None:
        lat, lon = float(lat), float(lon)
        self._cells.setdefault(self._key(lat, lon), []).append((point_id, lat, lon))
        self._count += 1

    def candidates(self, box: Bounds) -> Iterable[tuple[Hashable, float, float]]:
        """The points inside ``box`` (edges included)."""
        south, west, north, east = box.south, box.west, box.north, box.east
        i0, j0 = self._key(south, west)
        i1, j1 = self._key(north, east)
        cells = self._cells
        if (i1 - i0 + 1) * (j1 - j0 + 1) > len(cells):
            buckets = [bucket for (i, j), bucket in cells.items() if i0 <= i <= i1 and j0 <= j <= j1]
        else:
            buckets = [bucket for i in range(i0, i1 + 1) for j in range(j0, j1 + 1)
                       if (bucket := cells.get((i, j))) is not None]
        for bucket in buckets:
            for point in bucket:
                if south <= point[1] <= north and west <= point[2] <= east:
                    yield point

    def near(self, lat: float, lon: float, radius_m: float) -> list[tuple[Hashable, float]]:
        """``[(id, distance_m)]`` of the points within ``radius_m`` (inclusive), nearest first."""
        box = bounding_box(lat, lon, radius_m)
        found = []
        for point_id, p_lat, p_lon in self.candidates(box):
            d = _geodesic_m(lat, lon, p_lat, p_lon)
            if d <= radius_m:
                found.append((point_id, d))
        found.sort(key=lambda item: item[1])
        return found


def venues_near_sites(venues: Iterable[tuple[Hashable, float | None, float | None]],
                      sites: Iterable[tuple[Hashable, float | None, float | None]],
                      radius_m: float) -> dict[Hashable, list[tuple[Hashable, float]]]:
    """Batch proximity: ``{venue_id: [(site_id, distance_m), ...]}`` for every venue with at least
    one site within ``radius_m`` (inclusive), sites nearest first.

    Both inputs are ``(id, lat, lon)`` in WGS-84 (``None`` coordinates are skipped). The larger
    set goes into a :class:`GridIndex` with cells of ``radius_m`` and the smaller one queries it,
    so 200,000 venues against 5,000 sites cost 5,000 queries.
    """
    venues = [v for v in venues if v[1] is not None and v[2] is not None]
    sites = [s for s in sites if s[1] is not None and s[2] is not None]
    result: dict[Hashable, list[tuple[Hashable, float]]] = {}
    if not venues or not sites:
        return result
    cell_m = max(float(radius_m), 1.0)
    if len(venues) >= len(sites):
        index = GridIndex(venues, cell_m=cell_m)
        for site_id, lat, lon in sites:
            for venue_id, d in index.near(lat, lon, radius_m):
                result.setdefault(venue_id, []).append((site_id, d))
        for found in result.values():
            found.sort(key=lambda item: item[1])
    else:
        index = GridIndex(sites, cell_m=cell_m)
        for venue_id, lat, lon in venues:
            found = index.near(lat, lon, radius_m)
            if found:
                result[venue_id] = found
    return result


# ============================================================================================
# Proximity in the database (ix_sensitive_sites_lat_lon, ix_entities_lat_lon)

class Nearby(NamedTuple):
    row: Any
    distance_m: float


# The box is the only SQL predicate, so that the (lat, lon) index is the access path: given an
# equality on site_kind or kind, SQLite (without statistics) and PostgreSQL (with few rows) would
# rather walk that column's index over every school or venue of the city. Kinds and the excluded
# id are filtered on the few rows the box returns.

def sites_near_query(lat: float, lon: float, radius_m: float):
    """The indexed SELECT of the sensitive sites inside :func:`bounding_box` (before refining)."""
    import sqlalchemy as sa

    from .models import SensitiveSite
    box = bounding_box(lat, lon, radius_m)
    return sa.select(SensitiveSite).where(SensitiveSite.lat.between(box.south, box.north),
                                          SensitiveSite.lon.between(box.west, box.east))


def entities_near_query(lat: float, lon: float, radius_m: float):
    """The indexed SELECT of the entities inside :func:`bounding_box` (entities without
    coordinates never match)."""
    import sqlalchemy as sa

    from .models import Entity
    box = bounding_box(lat, lon, radius_m)
    return sa.select(Entity).where(Entity.lat.between(box.south, box.north),
                                   Entity.lon.between(box.west, box.east))


def _refine(rows, lat: float, lon: float, radius_m: float, keep=None) -> list[Nearby]:
    found = []
    for row in rows:
        if keep is not None and not keep(row):
            continue
        d = _geodesic_m(lat, lon, row.lat, row.lon)
        if d <= radius_m:
            found.append(Nearby(row, d))
    found.sort(key=lambda item: (item.distance_m, item.row.id))
    return found


def sites_near(session, lat: float, lon: float, radius_m: float,
               site_kinds: Iterable[str] | None = None) -> list[Nearby]:
    """``[Nearby(SensitiveSite, distance_m)]`` within ``radius_m`` (inclusive) of a WGS-84 point,
    nearest first; ``site_kinds`` limits the kinds (``None``: all)."""
    lat, lon = check_lat_lon(lat, lon)
    wanted = None if site_kinds is None else frozenset(site_kinds)
    keep = None if wanted is None else (lambda row: row.site_kind in wanted)
    return _refine(session.scalars(sites_near_query(lat, lon, radius_m)), lat, lon, radius_m, keep)


def entities_near(session, lat: float, lon: float, radius_m: float, kinds: Iterable[str] | None = None,
                  *, exclude_id: int | None = None) -> list[Nearby]:
    """``[Nearby(Entity, distance_m)]`` within ``radius_m`` (inclusive), nearest first; ``kinds``
    limits the kinds (``None``: all), ``exclude_id`` leaves out one entity (the one asking)."""
    lat, lon = check_lat_lon(lat, lon)
    wanted = None if kinds is None else frozenset(kinds)

    def keep(row) -> bool:
        return (wanted is None or row.kind in wanted) and (exclude_id is None or row.id != exclude_id)
    return _refine(session.scalars(entities_near_query(lat, lon, radius_m)), lat, lon, radius_m, keep)


# ============================================================================================
# Offline gazetteer (registries/gazetteer.yaml)

PLACE_KINDS = ("city", "county", "town", "street")
# Typical precision when an entry does not state its own: half the extent of such a place.
DEFAULT_PRECISION_M = {"city": 60000.0, "county": 20000.0, "town": 2000.0, "street": 300.0}
_KIND_RANK = {"street": 3, "town": 2, "county": 1, "city": 0}


class GazetteerError(ReferenceDataError):
    """``registries/gazetteer.yaml`` is unreadable or invalid."""


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    region_code: str
    lat: float
    lon: float
    precision_m: float
    aliases: tuple[str, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


def _normalize_text(text: str) -> str:
    """NFKC (full-width to half-width) without any whitespace, for substring matching."""
    return "".join(unicodedata.normalize("NFKC", text).split())


@dataclass(frozen=True)
class Gazetteer:
    path: Path
    city_code: str
    bounds: Bounds
    places: tuple[Place, ...]
    _names: tuple[tuple[str, Place], ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self):
        names = tuple((_normalize_text(n), p) for p in self.places for n in p.names)
        object.__setattr__(self, "_names", names)

    def match(self, address: str, region_code: str | None = None) -> tuple[Place, str] | None:
        """The place whose name (or alias) is the longest one contained in ``address``.

        Preference, in order: a place in ``region_code`` (or, when none is given, in the county
        the address itself names); the longest name; the finer kind (street over town over
        county); the smaller ``precision_m``. Returns ``(place, matched name)`` or ``None``.
        """
        text = _normalize_text(address or "")
        if not text:
            return None
        hits = [(name, place) for name, place in self._names if name in text]
        if not hits:
            return None
        preferred = region_code if region_code and region_code != self.city_code else None
        if preferred is None:
            counties = sorted(((len(n), p) for n, p in hits if p.kind == "county"), key=lambda t: -t[0])
            preferred = counties[0][1].region_code if counties else None

        def rank(hit: tuple[str, Place]) -> tuple:
            name, place = hit
            return place.region_code == preferred, len(name), _KIND_RANK[place.kind], -place.precision_m
        name, place = max(hits, key=rank)
        return place, name


class _BoundsSchema(Schema):
    class Meta:
        unknown = RAISE

    south = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    west = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    north = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    east = fields.Float(required=True, validate=validate.Range(min=-180, max=180))


class _PlaceSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    kind = fields.String(required=True, validate=validate.OneOf(PLACE_KINDS))
    region = fields.String(required=True, validate=REGION_CODE)
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))
    precision_m = fields.Float(load_default=None, allow_nan=False, validate=validate.Range(min=1, max=200000))
    aliases = fields.List(fields.String(validate=validate.Length(min=1, max=60)), load_default=list)
    note = fields.String(load_default=None)


def load_gazetteer(path: str | Path | None = None, region_codes: Iterable[str] | None = None) -> Gazetteer:
    """Read and validate the gazetteer; errors name the file, the entry and the field.

    ``region_codes`` (the codes of registries/regions.yaml) makes an unknown ``region`` an error.
    """
    path = Path(path) if path is not None else DEFAULT_REGISTRIES_DIR / GAZETTEER_FILE
    try:
        data = _read_mapping(path)
    except ReferenceDataError as exc:
        raise GazetteerError(str(exc)) from None
    errors: list[str] = []
    known = set(region_codes) if region_codes is not None else None

    city_code = data.get("city")
    if not isinstance(city_code, str) or not city_code.isdigit() or len(city_code) != 6:
        errors.append(f"{path}: field 'city': must be the city's 6-digit GB/T 2260 code (quoted)")
    elif known is not None and city_code not in known:
        errors.append(f"{path}: field 'city': unknown region {city_code}")

    bounds = None
    try:
        b = _BoundsSchema().load(data.get("bounds") if isinstance(data.get("bounds"), dict) else {})
    except ValidationError as exc:
        errors += [f"{path}: field 'bounds.{f}': {m}" for f, m in _flatten(exc.messages)]
    else:
        if b["south"] >= b["north"] or b["west"] >= b["east"]:
            errors.append(f"{path}: field 'bounds': south must be below north and west below east")
        else:
            bounds = Bounds(b["south"], b["west"], b["north"], b["east"])

    raw_places = data.get("places")
    if not isinstance(raw_places, list) or not raw_places:
        errors.append(f"{path}: expected a non-empty list under 'places'")
        raw_places = []
    unknown_top = sorted(set(data) - {"city", "bounds", "places"})
    for key in unknown_top:
        errors.append(f"{path}: field '{key}': unknown field")

    places: list[Place] = []
    seen: dict[tuple[str, str], int] = {}
    schema = _PlaceSchema()
    for index, entry in enumerate(raw_places, start=1):
        label = f"entry {index}"
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            label += f" ({entry['name']})"
        if not isinstance(entry, dict):
            errors.append(f"{path}: {label}: must be a mapping")
            continue
        try:
            e = schema.load(entry)
        except ValidationError as exc:
            errors += [f"{path}: {label}: field '{f}': {m}" for f, m in _flatten(exc.messages)]
            continue
        if known is not None and e["region"] not in known:
            errors.append(f"{path}: {label}: field 'region': unknown region {e['region']}")
        if bounds is not None and not bounds.contains(e["lat"], e["lon"]):
            errors.append(f"{path}: {label}: field 'lat'/'lon': ({e['lat']}, {e['lon']}) is outside the "
                          f"city's bounds (swapped latitude and longitude?)")
        for name in (e["name"], *e["aliases"]):
            key = (_normalize_text(name), e["region"])
            if key in seen:
                errors.append(f"{path}: {label}: field 'name': \u201c{name}\u201d is already entry {seen[key]} "
                              f"in region {e['region']}")
            seen[key] = index
        precision = e["precision_m"] if e["precision_m"] is not None else DEFAULT_PRECISION_M[e["kind"]]
        places.append(Place(e["name"], e["kind"], e["region"], e["lat"], e["lon"], precision,
                            tuple(e["aliases"])))
    if errors:
        raise GazetteerError("\n".join(errors))
    return Gazetteer(path, city_code, bounds, tuple(places))


_DEFAULT_CACHE: dict[Path, Gazetteer] = {}
_CACHE_LOCK = threading.Lock()
_EXTENSION_KEY = "inspect_gazetteer"


def init_app(app) -> Gazetteer:
    """Load the gazetteer at start-up (a bad file stops the application) and keep it on the app.

    Regions are checked against the reference data when it is already registered.
    """
    reference = app.extensions.get("inspect_reference")
    region_codes = None
    if reference is not None:
        region_codes = set(reference.regions)
        for region in reference.regions.values():
            region_codes.update(region.former_codes)
    directory = Path(app.config.get("REGISTRIES_DIR") or DEFAULT_REGISTRIES_DIR)
    gazetteer = load_gazetteer(directory / GAZETTEER_FILE, region_codes)
    app.extensions[_EXTENSION_KEY] = gazetteer
    return gazetteer


def get_gazetteer() -> Gazetteer:
    """The application's gazetteer (see :func:`init_app`); outside an application, or before
    ``init_app``, the one in ``REGISTRIES_DIR`` (or the repository's), loaded once."""
    directory = DEFAULT_REGISTRIES_DIR
    if has_app_context():
        loaded = current_app.extensions.get(_EXTENSION_KEY)
        if loaded is not None:
            return loaded
        directory = Path(current_app.config.get("REGISTRIES_DIR") or DEFAULT_REGISTRIES_DIR)
    path = (directory / GAZETTEER_FILE).resolve()
    with _CACHE_LOCK:
        if path not in _DEFAULT_CACHE:
            _DEFAULT_CACHE[path] = load_gazetteer(path)
        return _DEFAULT_CACHE[path]


# ============================================================================================
# Geocoding

GEOCODER_KINDS = ("offline", "nominatim", "baidu")
DEFAULT_GEOCODER_TIMEOUT_S = 5.0
USER_AGENT = "inspect-app (Shuozhou joint inspection)"
# Baidu's answer says what it matched ("level"); the precision we then claim, in metres.
_BAIDU_LEVEL_PRECISION_M = {
    "门址": 50.0, "门牌号": 50.0, "兴趣点": 100.0, "商务大厦": 100.0, "道路交叉路口": 100.0,
    "道路": 500.0, "村庄": 1000.0, "乡镇": 2000.0, "区县": 20000.0, "城市": 60000.0,
}


class GeocoderConfigError(ValueError):
    """GEOCODER, GEOCODER_URL, GEOCODER_API_KEY or GEOCODER_TIMEOUT_S is unusable."""


@dataclass(frozen=True)
class GeocodeResult:
    """A geocoded address: WGS-84 position, how precise (metres), where it came from."""

    lat: float
    lon: float
    precision_m: float
    source: str  # gazetteer | nominatim | baidu
    matched: str  # the gazetteer name, or the service's own label for what it found
    region_code: str | None = None
    kind: str | None = None  # gazetteer kind (town, street ...) when from the gazetteer

    def to_dict(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "precision_m": self.precision_m, "source": self.source,
                "matched": self.matched, "region_code": self.region_code, "kind": self.kind}


class Geocoded(NamedTuple):
    """What :func:`geocode` found (``result`` may be ``None``) and a message for the user, if any
    (a lazy translatable string, e.g. the service could not be reached)."""

    result: GeocodeResult | None
    message: Any = None


def geocoder_settings(config: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The GEOCODER* settings, checked: ``kind``, ``url``, ``api_key``, ``timeout_s``.

    ``config`` defaults to the current app's config (or nothing outside an app). Call it at
    start-up to fail early on a typo.
    """
    if config is None:
        config = current_app.config if has_app_context() else {}
    kind = str(config.get("GEOCODER") or "offline").strip().lower()
    if kind not in GEOCODER_KINDS:
        raise GeocoderConfigError(f"GEOCODER must be one of {', '.join(GEOCODER_KINDS)}, not {kind!r}")
    url = str(config.get("GEOCODER_URL") or "").strip()
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise GeocoderConfigError(f"GEOCODER_URL must be an http(s) URL such as https://nominatim.example, "
                                      f"not {url!r}")
    api_key = str(config.get("GEOCODER_API_KEY") or "").strip()
    if kind == "baidu" and not api_key:
        raise GeocoderConfigError("GEOCODER=baidu needs GEOCODER_API_KEY (the Baidu Maps AK)")
    raw_timeout = config.get("GEOCODER_TIMEOUT_S")
    try:
        timeout = float(raw_timeout) if raw_timeout not in (None, "") else DEFAULT_GEOCODER_TIMEOUT_S
    except (TypeError, ValueError):
        raise GeocoderConfigError(f"GEOCODER_TIMEOUT_S must be a number of seconds, not {raw_timeout!r}") from None
    if not (math.isfinite(timeout) and 0 < timeout <= 120):
        raise GeocoderConfigError(f"GEOCODER_TIMEOUT_S must be between 0 and 120 seconds, not {timeout!r}")
    return {"kind": kind, "url": url, "api_key": api_key, "timeout_s": timeout}


def build_geocoder(config: Mapping[str, Any] | None = None):
    """The configured geopy geocoder, or ``None`` for ``GEOCODER=offline``.

    Nominatim: ``GEOCODER_URL`` is the server's base URL (default nominatim.openstreetmap.org,
    unreachable from a closed government network: set it to the in-house server). BaiduV3:
    ``GEOCODER_API_KEY`` is the AK; ``GEOCODER_URL``, if set, replaces https://api.map.baidu.com
    (a proxy).
    """
    settings = geocoder_settings(config)
    kind, url, timeout = settings["kind"], settings["url"], settings["timeout_s"]
    if kind == "offline":
        return None
    if kind == "nominatim":
        from geopy.geocoders import Nominatim
        options: dict[str, Any] = {"user_agent": USER_AGENT, "timeout": timeout}
        if url:
            parts = urlsplit(url)
            options.update(scheme=parts.scheme, domain=(parts.netloc + parts.path).rstrip("/"))
        return Nominatim(**options)
    from geopy.geocoders import BaiduV3
    options = {"api_key": settings["api_key"], "timeout": timeout, "user_agent": USER_AGENT}
    if url:
        options["scheme"] = urlsplit(url).scheme
    geocoder = BaiduV3(**options)
    if url:
        geocoder.api = url.rstrip("/") + geocoder.api_path
    return geocoder


def _online_query(address: str, region_code: str | None, gazetteer: Gazetteer) -> str:
    """The address with the city (and county) prefixed when it does not name them: online
    services resolve a bare street name in the wrong city."""
    text = address.strip()
    places = {p.region_code: p for p in gazetteer.places if p.kind in ("city", "county")}
    prefix = ""
    city = places.get(gazetteer.city_code)
    if city is not None and not any(n in text for n in city.names):
        prefix = city.name
    county = places.get(region_code) if region_code and region_code != gazetteer.city_code else None
    if county is not None and not any(n in text for n in county.names):
        prefix += county.name
    return prefix + text


def _nominatim_precision(raw: Mapping[str, Any]) -> float:
    try:
        south, north, west, east = (float(v) for v in raw["boundingbox"])
    except (KeyError, TypeError, ValueError):
        return 500.0
    half_diagonal = _geodesic_m(south, west, north, east) / 2
    return min(max(half_diagonal, 10.0), 60000.0)


def _online_result(kind: str, location) -> GeocodeResult | None:
    raw = getattr(location, "raw", None) or {}
    lat, lon = location.latitude, location.longitude
    try:
        if kind == "baidu":
            # Baidu answers in BD-09 unless asked otherwise (ret_coordtype), and geopy does not ask.
            lat, lon = to_wgs84(lat, lon, "bd09")
            precision = _BAIDU_LEVEL_PRECISION_M.get(str(raw.get("level", "")), 500.0)
            matched = str(raw.get("level") or location.address or "")
        else:
            lat, lon = check_lat_lon(lat, lon)
            precision = _nominatim_precision(raw)
            matched = str(location.address or raw.get("display_name") or "")
    except CoordinateError:
        return None
    return GeocodeResult(lat, lon, precision, kind, matched)


def _gazetteer_result(address: str, region_code: str | None, gazetteer: Gazetteer) -> GeocodeResult | None:
    found = gazetteer.match(address, region_code)
    if found is None:
        return None
    place, _name = found
    return GeocodeResult(place.lat, place.lon, place.precision_m, "gazetteer", place.name, place.region_code,
                         place.kind)


def _unreachable(exc: Exception) -> bool:
    """Whether a geopy error means the service could not be reached (rather than refused).

    geopy's urllib adapter reports a refused connection or an unknown host as a bare
    GeocoderServiceError raised while handling the OSError; timeouts and "unreachable" have
    their own classes. An HTTP error answer came from the service, so it is a refusal.
    """
    from geopy.adapters import AdapterHTTPError
    from geopy.exc import GeocoderServiceError, GeocoderTimedOut, GeocoderUnavailable

    if isinstance(exc, (GeocoderTimedOut, GeocoderUnavailable)):
        return True
    if type(exc) is GeocoderServiceError:
        cause = exc.__cause__ or exc.__context__
        return isinstance(cause, OSError) and not isinstance(cause, AdapterHTTPError)
    return False


def geocode(address: str, region_code: str | None = None, config: Mapping[str, Any] | None = None, *,
            geocoder=None, gazetteer: Gazetteer | None = None) -> Geocoded:
    """Geocode an address of the city: ``Geocoded(result, message)``.

    With ``GEOCODER=offline`` (the default) the gazetteer answers: a town or street centre,
    approximate (see ``precision_m``), for pre-filling a pin the user then moves. With
    ``nominatim`` or ``baidu`` the service is asked first (``GEOCODER_TIMEOUT_S``); when it
    cannot be reached, refuses, finds nothing or places the address outside the city, the
    gazetteer answers instead and ``message`` says why. ``geocoder`` replaces the configured
    geopy geocoder (tests); ``config`` defaults to the current app's.
    """
    from geopy.exc import GeopyError

    gazetteer = gazetteer or get_gazetteer()
    address = (address or "").strip()
    if not address:
        return Geocoded(None, None)
    offline = _gazetteer_result(address, region_code, gazetteer)
    settings = geocoder_settings(config)
    if geocoder is None:
        if settings["kind"] == "offline":
            return Geocoded(offline, None)
        geocoder = build_geocoder(config)
    kind = "baidu" if settings["kind"] == "baidu" or type(geocoder).__name__.startswith("Baidu") else "nominatim"
    try:
        location = geocoder.geocode(_online_query(address, region_code, gazetteer), exactly_one=True,
                                    timeout=settings["timeout_s"])
    except GeopyError as exc:
        if _unreachable(exc):
            return Geocoded(offline, _l("The geocoding service could not be reached. The position shown is "
                                        "approximate, from the offline list of towns and streets: check it "
                                        "and move the pin if needed."))
        return Geocoded(offline, _l("The geocoding service refused the request. The position shown is "
                                    "approximate, from the offline list of towns and streets: check it "
                                    "and move the pin if needed."))
    online = _online_result(kind, location) if location is not None else None
    if online is None:
        return Geocoded(offline, _l("The geocoding service found no match for this address. The position "
                                    "shown is approximate, from the offline list of towns and streets: "
                                    "check it and move the pin if needed."))
    if offline is not None and not gazetteer.bounds.contains(online.lat, online.lon):
        return Geocoded(offline, _l("The geocoding service placed this address outside the city. The "
                                    "position shown is approximate, from the offline list of towns and "
                                    "streets: check it and move the pin if needed."))
    return Geocoded(online, None)
