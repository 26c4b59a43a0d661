"""Builders for field-inspection tests: a team, an entity, an inspection, photos and signatures.

Shared by the service, API and browser tests (tests/browser may import it too).
"""
from __future__ import annotations

import io
import random
from datetime import date, datetime

from tests.registry_helpers import agency, venue

# The registered location of the test entities (朔城区), WGS-84
SITE = (39.3310, 112.4320)
PIN = "2468"


def make_team(make_user, prefix: str = "t", region: str = "140602") -> dict:
    """Two inspectors (hrss, samr) with PINs, a third of culture, a planner, a supervisor, an outsider
    inspector and a police liaison; returns their ids by role."""
    ids = {
        "hrss": make_user(f"{prefix}.hrss", roles=("inspector",), department="hrss", region=region,
                          full_name="刘人社"),
        "samr": make_user(f"{prefix}.samr", roles=("inspector",), department="samr", region=region,
                          full_name="陈市监"),
        "culture": make_user(f"{prefix}.culture", roles=("inspector",), department="culture", region=region,
                             full_name="赵文旅"),
        "outsider": make_user(f"{prefix}.outsider", roles=("inspector",), department="hrss", region=region),
        "planner": make_user(f"{prefix}.planner", roles=("planner",), department="hrss", region="140600"),
        "supervisor": make_user(f"{prefix}.supervisor", roles=("supervisor",), department="hrss", region=region,
                                credential=f"SUP-{prefix}"),
        "police": make_user(f"{prefix}.police", roles=("police_liaison",), department="police", region=region),
    }
    return ids


def set_pins(app, user_ids, pin: str = PIN) -> None:
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    with app.app_context():
        for user_id in user_ids:
            db.session.get(User, user_id).set_pin(pin)
        db.session.commit()


def make_entity(app, kind: str = "job_agency", located: bool = True, **overrides) -> int:
    from inspect_app.extensions import db
    from inspect_app.registry.services import register_entity
    data = agency(**overrides) if kind == "job_agency" else venue(**overrides)
    if located:
        data.update({"lat": SITE[0], "lon": SITE[1], "crs": "wgs84"})
    with app.app_context():
        entity = register_entity(data)
        entity.status = "active"
        db.session.commit()
        return entity.id


def make_inspection(app, entity_id: int, officer_ids: list[int], day: date | None = None,
                    lead: str = "hrss", creator: int | None = None) -> int:
    from inspect_app.extensions import db
    from inspect_app.inspection.services import create_manual_inspection, local_today
    from inspect_app.registry.models import Entity
    with app.app_context():
        inspection = create_manual_inspection(db.session.get(Entity, entity_id), lead_department=lead,
                                              officers=officer_ids, scheduled_date=day or local_today(),
                                              created_by=creator)
        db.session.commit()
        return inspection.id


# --------------------------------------------------------------------------------------------
# Images

def noisy_jpeg(width: int = 320, height: int = 240, *, seed: int = 1, quality: int = 85, exif=None) -> bytes:
    """A small JPEG with random content (distinct per seed, so distinct SHA-256)."""
    from PIL import Image
    rng = random.Random(seed)
    image = Image.frombytes("RGB", (width, height), bytes(rng.getrandbits(8) for _ in range(width * height * 3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=quality, **({"exif": exif} if exif is not None else {}))
    return out.getvalue()


def exif_with(taken: datetime | None = None, lat: float | None = None, lon: float | None = None,
              orientation: int | None = None, offset: str | None = None):
    """An EXIF block (Pillow) with DateTimeOriginal, GPS and orientation."""
    from fractions import Fraction

    from PIL import Image
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    if taken is not None:
        ifd = exif.get_ifd(0x8769)
        ifd[36867] = taken.strftime("%Y:%m:%d %H:%M:%S")
        if offset:
            ifd[36881] = offset

    def dms(value: float):
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = Fraction((value - degrees - minutes / 60) * 3600).limit_denominator(10000)
        return (Fraction(degrees), Fraction(minutes), seconds)
    if lat is not None and lon is not None:
        gps = exif.get_ifd(0x8825)
        gps[1] = "N" if lat >= 0 else "S"
        gps[2] = dms(lat)
        gps[3] = "E" if lon >= 0 else "W"
        gps[4] = dms(lon)
    return exif


def png_image(width: int = 40, height: int = 30, color=(200, 30, 30)) -> bytes:
    from PIL import Image
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def signature_png(blank: bool = False) -> bytes:
    """A drawn signature: a dark stroke on a transparent canvas (as canvas.toDataURL gives)."""
    from PIL import Image, ImageDraw
    image = Image.new("RGBA", (300, 120), (0, 0, 0, 0))
    if not blank:
        ImageDraw.Draw(image).line([(20, 80), (80, 30), (140, 90), (260, 40)], fill=(0, 0, 0, 255), width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
SVG_WITH_SCRIPT = (b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
                   b'<script>alert(document.cookie)</script><rect width="10" height="10"/></svg>')


def passing_answer(item) -> dict:
    """A body for PUT .../answers/<item> (or save_answer kwargs) that passes ``item``."""
    if item.answer_type == "yes_no_na":
        if item.fail_on == "yes":
            return {"value": "no"}
        if item.fail_on == "no":
            return {"value": "yes"}
        return {"result": "pass"}
    if item.answer_type == "number":
        op, threshold = item.fail_if["op"], item.fail_if["value"]
        return {"value": threshold + 1 if op in ("lt", "lte") else max(threshold - 1, 0)}
    if item.answer_type == "staff_roster":
        return {"value": []}
    if item.answer_type == "photo":
        return {"result": "na", "note": "无"}
    return {"value": "情况正常"}


def failing_answer(item) -> dict:
    if item.answer_type == "yes_no_na":
        return {"value": item.fail_on}
    if item.answer_type == "number":
        op, threshold = item.fail_if["op"], item.fail_if["value"]
        return {"value": max(threshold - 1, 0) if op in ("lt", "lte") else threshold + 1}
    return {"result": "fail"}
