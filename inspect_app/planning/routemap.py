"""A route drawn as SVG: no map tiles, no network, the same bytes for the same route.

``route_svg(route, office, stops_by_id)`` returns an ``<svg>`` element (no XML declaration, so
it can be put inline in an HTML page or a WeasyPrint PDF) with the office as a square marker,
the stops as numbered circles in visiting order, each leg as a line with an arrowhead and its
distance, a scale bar in kilometres and a north arrow. The projection is equirectangular with
longitudes scaled by the cosine of the middle latitude (true to scale along that parallel,
close enough over a county), fitted into the drawing inside fixed margins; the scale bar is
measured with the geodesic (:func:`geo.distance_m`). Text may be Chinese: the font is
"Noto Sans CJK SC", then any sans-serif; all text is escaped, and characters XML does not allow
are dropped.
"""
from __future__ import annotations

import html
import math
import re
from typing import Any, Hashable, Mapping

from ..registry import geo
from .routes import Route

__all__ = ["route_svg", "FONT_FAMILY"]

FONT_FAMILY = "'Noto Sans CJK SC', 'Noto Sans CJK', sans-serif"
LABEL_MAX_CHARS = 24

_MARGIN_TOP, _MARGIN_RIGHT, _MARGIN_BOTTOM, _MARGIN_LEFT = 48, 48, 64, 48
_MIN_SPAN_DEG = 0.005  # about 500 m: the extent of a drawing whose points (nearly) coincide
_STOP_RADIUS = 10.0
_OFFICE_HALF = 9.0

_COLOR_LEG = "#1f5fa8"
_COLOR_STOP = "#1f5fa8"
_COLOR_OFFICE = "#b3261e"
_COLOR_TEXT = "#202124"
_COLOR_FRAME = "#9aa0a6"

# XML 1.0 allows tab, newline, carriage return and these ranges; anything else is dropped
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _clean(value: Any, limit: int | None = None) -> str:
    """``value`` as one line of text XML allows, cut to ``limit`` characters with an ellipsis."""
    text = " ".join(_NOT_XML.sub("", str(value)).split())
    if limit is not None and len(text) > limit:
        text = text[:limit - 1] + "\u2026"
    return text


def _text(value: Any, limit: int | None = None) -> str:
    """Escaped text for an element or an attribute value (quotes included)."""
    return html.escape(_clean(value, limit), quote=True)


def _text_width(text: str, size: float) -> float:
    """A generous estimate of the drawn width: CJK and other wide characters about one em."""
    return sum(size if ord(ch) >= 0x1100 else 0.6 * size for ch in text)


def _num(value: float) -> str:
    """A coordinate with one decimal, without "-0.0"."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def _point(value: Any, what: str) -> tuple[float, float]:
    if isinstance(value, (tuple, list)) and len(value) == 3:
        value = value[1:]  # an (id, lat, lon) stop as plan_route takes it
    try:
        lat, lon = value
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be (lat, lon), not {value!r}") from None
    return geo.check_lat_lon(lat, lon)


def _nice_length(target_m: float) -> float:
    """The largest 1, 2 or 5 x 10^k metres not above ``target_m`` (at least 1 m)."""
    if target_m < 1:
        return 1.0
    power = 10 ** math.floor(math.log10(target_m))
    for step in (5, 2, 1):
        if step * power <= target_m:
            return float(step * power)
    return float(power)


def _distance_label(metres: float) -> str:
    if metres < 1000:
        return f"{metres:.0f} m"
    return f"{metres / 1000:.1f} km"


def _scale_label(metres: float) -> str:
    if metres < 1000:
        return f"{metres:g} m"
    return f"{metres / 1000:g} km"


def _halo_text(x: float, y: float, text: str, *, size: float, anchor: str = "start", weight: str | None = None,
               css_class: str) -> list[str]:
    """Text over a white outline of itself, readable across lines."""
    bold = f' font-weight="{weight}"' if weight else ""
    common = f'x="{_num(x)}" y="{_num(y)}" font-size="{_num(size)}" text-anchor="{anchor}"{bold}'
    return [f'<text class="{css_class}-halo" {common} fill="none" stroke="#ffffff" stroke-width="3" '
            f'stroke-linejoin="round">{text}</text>',
            f'<text class="{css_class}" {common} fill="{_COLOR_TEXT}">{text}</text>']


def route_svg(route: Route, office: tuple[float, float], stops_by_id: Mapping[Hashable, Any], *,
              width: int = 800, height: int = 600, labels: Mapping[Hashable, Any] | None = None,
              office_label: Any = None, title: Any = None, leg_labels: bool = True) -> str:
    """The route as an ``<svg>`` string.

    ``office`` is ``(lat, lon)``; ``stops_by_id`` maps each stop id of ``route.order`` to
    ``(lat, lon)`` (or to the ``(id, lat, lon)`` given to ``plan_route``); ``labels`` maps stop
    ids to text written beside their markers (names, addresses: anything, escaped and cut to
    :data:`LABEL_MAX_CHARS` characters), ``office_label`` is written beside the office and
    ``title`` becomes the SVG's ``<title>``. ``leg_labels=False`` leaves out the leg distances.
    Stops at the same place share one marker numbered like "2,3". Raises ``ValueError`` for a
    stop of the route missing from ``stops_by_id`` or a drawing smaller than 200 x 150.
    """
    for name, value in (("width", width), ("height", height)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{name} must be a number, not {value!r}")
    if width < 200 or height < 150:
        raise ValueError(f"the drawing must be at least 200 x 150, not {width} x {height}")
    labels = labels or {}
    office_point = _point(office, "office")
    stop_points = []
    for stop_id in route.order:
        if stop_id not in stops_by_id:
            raise ValueError(f"stop {stop_id!r} of the route is not in stops_by_id")
        stop_points.append(_point(stops_by_id[stop_id], f"stop {stop_id!r}"))
    points = [office_point, *stop_points]

    # -- projection: x = lon * cos(mid latitude), y = lat, fitted inside the margins
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    mid_lat = (min(lats) + max(lats)) / 2
    mid_lon = (min(lons) + max(lons)) / 2
    shrink = max(math.cos(math.radians(mid_lat)), 0.01)
    span_x = max((max(lons) - min(lons)) * shrink, _MIN_SPAN_DEG)
    span_y = max(max(lats) - min(lats), _MIN_SPAN_DEG)
    inner_w = width - _MARGIN_LEFT - _MARGIN_RIGHT
    inner_h = height - _MARGIN_TOP - _MARGIN_BOTTOM
    scale = min(inner_w / span_x, inner_h / span_y)  # pixels per degree of latitude
    centre_x = _MARGIN_LEFT + inner_w / 2
    centre_y = _MARGIN_TOP + inner_h / 2

    def project(lat: float, lon: float) -> tuple[float, float]:
        return centre_x + (lon - mid_lon) * shrink * scale, centre_y - (lat - mid_lat) * scale

    xy = [project(lat, lon) for lat, lon in points]
    # metres per pixel along the middle parallel, by the geodesic
    step = 0.01
    metres_per_px = geo.distance_m((mid_lat, mid_lon), (mid_lat, mid_lon + step)) / (step * shrink * scale)

    title_text = _text(title) if title is not None else ""
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="route-map" width="{_num(width)}" '
           f'height="{_num(height)}" viewBox="0 0 {_num(width)} {_num(height)}" role="img" '
           f'font-family="{_text(FONT_FAMILY)}"' + (f' aria-label="{title_text}"' if title is not None else "") + '>']
    if title is not None:
        out.append(f"<title>{title_text}</title>")
    out.append(f'<rect x="0.5" y="0.5" width="{_num(width - 1)}" height="{_num(height - 1)}" fill="#ffffff" '
               f'stroke="{_COLOR_FRAME}" stroke-width="1"/>')

    # -- legs: lines, then arrowheads, then distances (node 0 is the office, node k the k-th stop)
    index_of = {stop_id: number for number, stop_id in enumerate(route.order, start=1)}
    index_of_office = 0
    leg_nodes = [(index_of_office if leg.from_id is None else index_of[leg.from_id],
                  index_of_office if leg.to_id is None else index_of[leg.to_id], leg) for leg in route.legs]
    out.append(f'<g class="legs" stroke="{_COLOR_LEG}" stroke-width="2" stroke-linecap="round" fill="none">')
    for a, b, leg in leg_nodes:
        (x1, y1), (x2, y2) = xy[a], xy[b]
        dash = ' stroke-dasharray="6 4"' if b == index_of_office and a != index_of_office else ""
        out.append(f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}"{dash}/>')
    out.append("</g>")
    arrows = []
    distances = []
    for a, b, leg in leg_nodes:
        (x1, y1), (x2, y2) = xy[a], xy[b]
        length = math.hypot(x2 - x1, y2 - y1)
        if length < 2 * _STOP_RADIUS + 8:
            continue  # the markers cover such a short leg (or the points coincide)
        ux, uy = (x2 - x1) / length, (y2 - y1) / length
        nx, ny = -uy, ux
        # at 60 % of the leg, so that the arrows of a there-and-back pair do not overlap
        tip_x, tip_y = x1 + ux * (0.6 * length + 6), y1 + uy * (0.6 * length + 6)
        base_x, base_y = x1 + ux * (0.6 * length - 6), y1 + uy * (0.6 * length - 6)
        arrows.append(f'<polygon points="{_num(tip_x)},{_num(tip_y)} {_num(base_x + nx * 5)},'
                      f'{_num(base_y + ny * 5)} {_num(base_x - nx * 5)},{_num(base_y - ny * 5)}"/>')
        if leg_labels:
            mid_x, mid_y = (x1 + x2) / 2 + nx * 11, (y1 + y2) / 2 + ny * 11 + 4
            distances.extend(_halo_text(mid_x, mid_y, _text(_distance_label(leg.distance_m)), size=10,
                                        anchor="middle", css_class="leg-distance"))
    out.append(f'<g class="arrows" fill="{_COLOR_LEG}">')
    out.extend(arrows)
    out.append("</g>")
    if distances:
        out.append('<g class="leg-distances">')
        out.extend(distances)
        out.append("</g>")

    # -- stop markers, grouped where they coincide on the drawing
    groups: dict[tuple[str, str], list[int]] = {}
    for number in range(1, len(points)):
        x, y = xy[number]
        groups.setdefault((_num(x), _num(y)), []).append(number)
    out.append('<g class="stops">')
    texts = []
    for (sx, sy), numbers in groups.items():
        x, y = float(sx), float(sy)
        caption = ",".join(str(n) for n in numbers)
        if len(numbers) == 1 and numbers[0] < 100:
            out.append(f'<circle cx="{sx}" cy="{sy}" r="{_num(_STOP_RADIUS)}" fill="{_COLOR_STOP}" '
                       f'stroke="#ffffff" stroke-width="1.5"/>')
            half = _STOP_RADIUS
        else:
            half = max(_STOP_RADIUS, 3.4 * len(caption) + 4)
            out.append(f'<rect x="{_num(x - half)}" y="{_num(y - _STOP_RADIUS)}" width="{_num(2 * half)}" '
                       f'height="{_num(2 * _STOP_RADIUS)}" rx="{_num(_STOP_RADIUS)}" fill="{_COLOR_STOP}" '
                       f'stroke="#ffffff" stroke-width="1.5"/>')
        out.append(f'<text x="{sx}" y="{_num(y + 4)}" font-size="11" font-weight="bold" text-anchor="middle" '
                   f'fill="#ffffff">{caption}</text>')
        names = [labels[route.order[n - 1]] for n in numbers if labels.get(route.order[n - 1]) is not None]
        if names:
            text = _clean(" / ".join(_clean(name) for name in names), LABEL_MAX_CHARS * len(names))
            if x + half + 4 + _text_width(text, 12) <= width - 4:
                texts.extend(_halo_text(x + half + 4, y + 4, html.escape(text), size=12, css_class="stop-label"))
            else:  # near the right edge: on the left of the marker
                texts.extend(_halo_text(x - half - 4, y + 4, html.escape(text), size=12, anchor="end",
                                        css_class="stop-label"))
    out.append("</g>")

    # -- the office on top of any stop at the same place
    ox, oy = xy[0]
    out.append(f'<g class="office"><rect x="{_num(ox - _OFFICE_HALF)}" y="{_num(oy - _OFFICE_HALF)}" '
               f'width="{_num(2 * _OFFICE_HALF)}" height="{_num(2 * _OFFICE_HALF)}" fill="{_COLOR_OFFICE}" '
               f'stroke="#ffffff" stroke-width="1.5"/>'
               f'<rect x="{_num(ox - 3)}" y="{_num(oy - 3)}" width="6" height="6" fill="#ffffff"/></g>')
    if office_label is not None:
        text = _clean(office_label, LABEL_MAX_CHARS)
        right = ox + _OFFICE_HALF + 4 + _text_width(text, 12) <= width - 4
        texts.extend(_halo_text(ox + _OFFICE_HALF + 4 if right else ox - _OFFICE_HALF - 4, oy - _OFFICE_HALF - 2,
                                html.escape(text), size=12, anchor="start" if right else "end", weight="bold",
                                css_class="office-label"))
    if texts:
        out.append('<g class="labels">')
        out.extend(texts)
        out.append("</g>")

    # -- scale bar (bottom left) and north arrow (top right)
    bar_m = _nice_length(metres_per_px * inner_w / 4)
    bar_px = bar_m / metres_per_px
    bx, by = _MARGIN_LEFT, height - 24
    out.append(f'<g class="scale-bar" stroke="{_COLOR_TEXT}" stroke-width="2" fill="none">'
               f'<line x1="{_num(bx)}" y1="{_num(by)}" x2="{_num(bx + bar_px)}" y2="{_num(by)}"/>'
               f'<line x1="{_num(bx)}" y1="{_num(by - 6)}" x2="{_num(bx)}" y2="{_num(by + 1)}"/>'
               f'<line x1="{_num(bx + bar_px / 2)}" y1="{_num(by - 4)}" x2="{_num(bx + bar_px / 2)}" '
               f'y2="{_num(by + 1)}"/>'
               f'<line x1="{_num(bx + bar_px)}" y1="{_num(by - 6)}" x2="{_num(bx + bar_px)}" y2="{_num(by + 1)}"/>'
               f'</g>')
    out.append(f'<text class="scale-label" x="{_num(bx + bar_px + 6)}" y="{_num(by + 4)}" font-size="11" '
               f'fill="{_COLOR_TEXT}">{_text(_scale_label(bar_m))}</text>')
    nx_, ny_ = width - 28, 16
    out.append(f'<g class="north-arrow"><polygon points="{_num(nx_)},{_num(ny_ + 6)} {_num(nx_ - 8)},{_num(ny_ + 30)} '
               f'{_num(nx_)},{_num(ny_ + 24)}" fill="{_COLOR_TEXT}"/>'
               f'<polygon points="{_num(nx_)},{_num(ny_ + 6)} {_num(nx_ + 8)},{_num(ny_ + 30)} '
               f'{_num(nx_)},{_num(ny_ + 24)}" fill="#ffffff" stroke="{_COLOR_TEXT}" stroke-width="1"/>'
               f'<text x="{_num(nx_)}" y="{_num(ny_ + 3)}" font-size="12" font-weight="bold" text-anchor="middle" '
               f'fill="{_COLOR_TEXT}">N</text></g>')
    out.append("</svg>")
    return "\n".join(out)
