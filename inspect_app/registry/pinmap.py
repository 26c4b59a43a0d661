"""The manual pin: an offline locator map drawn as SVG (no tiles, no network).

Without an online geocoder the desk places an entity by hand. ``pin_map_svg`` draws a square
view around a centre at a chosen span: the city's gazetteer places (county seats, towns,
streets), the sensitive sites and the registered entities inside the view, a scale bar, and the
pin. The drawing carries its projection in ``data-`` attributes so the page's script turns a
tap into WGS-84 coordinates (``static/js/app.js``) and asks for the next view around it.

Projection: equirectangular, longitudes scaled by the cosine of the centre's latitude, so that
``x = W/2 + (lon - lon0) * k * cos(lat0)`` and ``y = H/2 - (lat - lat0) * k`` with ``k`` pixels per
degree of latitude. Over the few kilometres of a pinning view the error is far below a pixel.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import Iterable

from . import geo

WIDTH, HEIGHT = 640, 480
METRES_PER_DEGREE_LAT = 111_320.0
MIN_SPAN_M, MAX_SPAN_M = 200.0, 250_000.0
# The spans the zoom buttons offer, in metres (city, county, town, street, door).
SPANS = (150_000, 40_000, 8_000, 2_000, 500)
_FONT = "'Noto Sans CJK SC', 'Noto Sans CJK', sans-serif"
_LABEL_KINDS = {"county": 22, "city": 22, "town": 18, "street": 17}  # drawn at about half size on a tablet


@dataclass(frozen=True)
class MapPoint:
    lat: float
    lon: float
    label: str
    kind: str  # county | town | street | city | site | entity


@dataclass(frozen=True)
class View:
    lat: float
    lon: float
    span_m: float

    @property
    def k(self) -> float:
        """Pixels per degree of latitude."""
        return WIDTH / (self.span_m / METRES_PER_DEGREE_LAT)

    @property
    def cos_lat(self) -> float:
        return math.cos(math.radians(self.lat))

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        return (WIDTH / 2 + (lon - self.lon) * self.k * self.cos_lat, HEIGHT / 2 - (lat - self.lat) * self.k)

    def unproject(self, x: float, y: float) -> tuple[float, float]:
        return self.lat - (y - HEIGHT / 2) / self.k, self.lon + (x - WIDTH / 2) / (self.k * self.cos_lat)

    def bounds(self) -> geo.Bounds:
        south, west = self.unproject(0, HEIGHT)
        north, east = self.unproject(WIDTH, 0)
        return geo.Bounds(south, west, north, east)


def make_view(lat: float | None, lon: float | None, span_m: float | None) -> View:
    """A view centred on the point (the city's centre when there is none), span clamped."""
    bounds = geo.city_bounds()
    if lat is None or lon is None:
        lat, lon = (bounds.south + bounds.north) / 2, (bounds.west + bounds.east) / 2
        if span_m is None:
            span_m = geo.distance_m((lat, bounds.west), (lat, bounds.east)) * 1.1
    span = min(max(float(span_m or SPANS[2]), MIN_SPAN_M), MAX_SPAN_M)
    return View(float(lat), float(lon), span)


def _esc(text: str) -> str:
    return html.escape(" ".join(str(text).split())[:40], quote=True)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _scale(view: View) -> str:
    target = view.span_m / 4
    exponent = 10 ** math.floor(math.log10(target))
    length = max(m * exponent for m in (1, 2, 5) if m * exponent <= target)
    px = length / view.span_m * WIDTH
    label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
    x0, y0 = 16, HEIGHT - 14
    return (f'<g class="scale"><rect x="{x0 - 8}" y="{y0 - 34}" width="{_num(px + 16)}" height="42" fill="#f4f1ea" '
            f'fill-opacity=".85"/><path d="M{x0} {y0 - 7}V{y0}H{_num(x0 + px)}V{y0 - 7}" fill="none" '
            f'stroke="#202124" stroke-width="3"/><text x="{x0}" y="{y0 - 12}" font-size="18">{label}</text></g>')


def pin_map_svg(view: View, points: Iterable[MapPoint], pin: tuple[float, float] | None = None) -> str:
    """The view as an inline ``<svg>`` (no XML declaration), the same bytes for the same inputs."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" class="pin-map-svg" '
             f'role="img" data-lat0="{view.lat!r}" data-lon0="{view.lon!r}" data-k="{view.k!r}" '
             f'data-cos="{view.cos_lat!r}" data-span="{view.span_m:g}" font-family="{_FONT}">',
             f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#f4f1ea"/>']
    city = geo.city_bounds()
    (x1, y1), (x2, y2) = view.project(city.north, city.west), view.project(city.south, city.east)
    parts.append(f'<rect x="{_num(x1)}" y="{_num(y1)}" width="{_num(x2 - x1)}" height="{_num(y2 - y1)}" '
                 'fill="none" stroke="#9aa0a6" stroke-dasharray="6 4"/>')
    labels = []
    for point in points:
        x, y = view.project(point.lat, point.lon)
        if not (-20 <= x <= WIDTH + 20 and -20 <= y <= HEIGHT + 20):
            continue
        if point.kind == "site":
            parts.append(f'<path d="M{_num(x)} {_num(y - 9)}L{_num(x + 8)} {_num(y + 6)}H{_num(x - 8)}Z" '
                         f'fill="#b3261e"><title>{_esc(point.label)}</title></path>')
            labels.append((x + 10, y + 6, point.label, 17, "#b3261e"))
        elif point.kind == "entity":
            parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="6" fill="#1f5fa8">'
                         f'<title>{_esc(point.label)}</title></circle>')
            if view.span_m <= 2_000:
                labels.append((x + 8, y + 6, point.label, 16, "#1f5fa8"))
        else:
            radius = 7 if point.kind in ("county", "city") else 5
            parts.append(f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{radius}" fill="#5f6368"/>')
            if point.kind in ("county", "city") or view.span_m <= 40_000:
                labels.append((x + 9, y + 6, point.label, _LABEL_KINDS.get(point.kind, 17), "#202124"))
    for x, y, text, size, colour in labels:
        parts.append(f'<text x="{_num(x)}" y="{_num(y)}" font-size="{size}" fill="{colour}" stroke="#f4f1ea" '
                     f'stroke-width="3" paint-order="stroke">{_esc(text)}</text>')
    if pin is not None:
        x, y = view.project(*pin)
        parts.append(f'<g class="pin" transform="translate({_num(x)} {_num(y)}) scale(1.5)">'
                     '<path d="M0 0L-9 -22A11 11 0 1 1 9 -22Z" fill="#d93025" stroke="#fff" stroke-width="2"/>'
                     '<circle cy="-25" r="4" fill="#fff"/></g>')
    parts.append(_scale(view))
    parts.append('<text x="624" y="30" font-size="22" text-anchor="end" font-weight="bold">N ↑</text>')
    parts.append("</svg>")
    return "".join(parts)


def points_in_view(view: View, *, user=None, exclude_entity_id: int | None = None,
                   limit: int = 300) -> list[MapPoint]:
    """Gazetteer places, sensitive sites and registered entities inside the view (each capped);
    entities only of the ``user``'s county unless they work city-wide."""
    import sqlalchemy as sa

    from ..extensions import db
    from .models import Entity, SensitiveSite
    from .queries import scope_to_user

    box = view.bounds()
    points = [MapPoint(p.lat, p.lon, p.name, p.kind) for p in geo.get_gazetteer().places
              if box.contains(p.lat, p.lon)]
    if view.span_m > 40_000:
        return points
    sites = db.session.execute(sa.select(SensitiveSite.lat, SensitiveSite.lon, SensitiveSite.name).where(
        SensitiveSite.lat.between(box.south, box.north), SensitiveSite.lon.between(box.west, box.east))
        .order_by(SensitiveSite.id).limit(limit))
    points += [MapPoint(lat, lon, name, "site") for lat, lon, name in sites]
    stmt = sa.select(Entity.lat, Entity.lon, Entity.name).where(
        Entity.lat.between(box.south, box.north), Entity.lon.between(box.west, box.east))
    if exclude_entity_id is not None:
        stmt = stmt.where(Entity.id != exclude_entity_id)
    if user is not None:
        stmt = scope_to_user(stmt, user, geo.get_gazetteer().city_code)
    points += [MapPoint(lat, lon, name, "entity")
               for lat, lon, name in db.session.execute(stmt.order_by(Entity.id).limit(limit))]
    return points
