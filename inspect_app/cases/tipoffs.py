"""Tip-offs (举报) from the public, and their triage by the joint-meeting office's planners.

Anonymity: the contact is optional and sealed (pii.seal_text); only planners may open it, each reading
audited with its reason and never the contact itself; the audit log keeps neither the contact nor the
reporter's network address for the submission. The tracking code is shown once to the reporter and
stored as its SHA-256; it answers with the status only. Photos are checked by their content (Pillow)
and re-encoded, which drops EXIF (a phone's GPS would locate the reporter).
"""
from __future__ import annotations

import hashlib
import io
import secrets
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..audit.services import OMIT_ADDR, record_event
from ..errors import InvalidData
from ..extensions import db
from ..pii import open_text, seal_text
from ..registry.models import Entity
from ..registry.services import risk_provider
from ..util import now_utc
from .models import TIPOFF_CATEGORIES, TIPOFF_OUTCOMES, TipOff, TipOffPhoto

SEAL_PURPOSE = "tipoff-contact"
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 16  # 80 random bits
CATEGORY_LABELS = {
    "unlicensed_agency": _l("Agency operating without a licence"),
    "fake_job_ad": _l("False job advertisement"),
    "fake_marriage_ad": _l("False marriage advertisement or matchmaking fraud"),
    "deposit_or_documents": _l("Deposits taken or identity papers kept"),
    "child_labour": _l("Child labour or placing children in work"),
    "minors_in_venue": _l("Minors admitted or employed in an entertainment venue"),
    "prostitution": _l("Prostitution or paid escorts"),
    "trafficking": _l("Trafficking in persons or forced labour"),
    "other": _l("Other"),
}
# Categories that are triaged first; the first ones go to the police at once when marked urgent
URGENT_CATEGORIES = ("trafficking", "child_labour", "prostitution")
POLICE_CATEGORIES = ("trafficking", "prostitution")
TARGET_KINDS = ("job_agency", "marriage_agency", "entertainment_venue", "online", "unknown")
STATUS_LABELS = {"received": _l("Received"), "triaged": _l("Being examined"),
                 "inspection_planned": _l("Inspection arranged"), "closed": _l("Concluded")}
OUTCOME_LABELS = {"substantiated": _l("Substantiated"), "unsubstantiated": _l("Not substantiated"),
                  "duplicate": _l("Duplicate of an earlier report"), "outside_remit": _l("Outside our remit")}
LIMITS = {"target_name": 200, "target_address": 300, "description": 5000, "contact": 200}
PHOTO_FORMATS = {"JPEG", "PNG", "WEBP"}
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_MAX_SIDE = 2048


def _text(data: dict, key: str, errors: dict, required: bool = False) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        errors[key] = [_l("Must be text.")]
        return None
    text = " ".join((value or "").split()) if key != "description" else (value or "").strip()
    if required and not text:
        errors[key] = [_l("This field is required.")]
    elif len(text) > LIMITS[key]:
        errors[key] = [_l("At most %(n)d characters.", n=LIMITS[key])]
    return text or None


# --------------------------------------------------------------------------------------------
# Tracking codes

def new_tracking_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    return "JB-" + "-".join(raw[i:i + 4] for i in range(0, CODE_LENGTH, 4))


def normalise_code(text: str) -> str | None:
    """Upper case without separators; O→0 and I/L→1 as Crockford reads them; None if malformed."""
    compact = "".join(ch for ch in str(text or "").upper() if ch.isalnum())
    if compact.startswith("JB"):
        compact = compact[2:]
    compact = compact.translate(str.maketrans({"O": "0", "I": "1", "L": "1"}))
    if len(compact) != CODE_LENGTH or any(ch not in CODE_ALPHABET for ch in compact):
        return None
    return compact


def tracking_hash(code: str) -> str | None:
    compact = normalise_code(code)
    return hashlib.sha256(("jb:" + compact).encode("ascii")).hexdigest() if compact else None


# --------------------------------------------------------------------------------------------
# Submission

def photo_limits() -> tuple[int, int]:
    return (int(current_app.config.get("TIPOFF_MAX_PHOTOS", 3)),
            int(current_app.config.get("TIPOFF_MAX_PHOTO_BYTES", 2 * 1024 * 1024)))


def request_size_limit() -> int:
    """The largest tip-off request accepted: the photos and some room for the text."""
    count, size = photo_limits()
    return count * size + 256 * 1024


def _check_photo(blob: bytes) -> tuple[bytes, int, int]:
    """The photo re-encoded as JPEG without metadata, or InvalidData (by content, never by name)."""
    from PIL import Image, UnidentifiedImageError
    bad = InvalidData({"photos": [_l("Only JPEG, PNG or WebP photos are accepted.")]})
    try:
        with Image.open(io.BytesIO(blob)) as probe:
            if probe.format not in PHOTO_FORMATS:
                raise bad
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise InvalidData({"photos": [_l("The photo has too many pixels.")]})
            probe.verify()
        with Image.open(io.BytesIO(blob)) as image:
            image.load()
            image = image.convert("RGB")
            image.thumbnail((PHOTO_MAX_SIDE, PHOTO_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, "JPEG", quality=85)  # no exif= argument: the metadata is not carried over
            return out.getvalue(), image.width, image.height
    except InvalidData:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise bad from None


def _store_photo(tipoff: TipOff, blob: bytes) -> None:
    data, width, height = _check_photo(blob)
    digest = hashlib.sha256(data).hexdigest()
    if any(p.sha256 == digest for p in tipoff.photos):
        return
    relative = Path("tipoffs") / digest[:2] / f"{digest}.jpg"
    target = Path(current_app.config["INSPECT_DATA_DIR"]) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    tipoff.photos.append(TipOffPhoto(sha256=digest, size_bytes=len(data), width=width, height=height,
                                     stored_path=str(relative)))


def submit_tipoff(data: dict, photos: list = (), *, channel: str = "web") -> tuple[TipOff, str]:
    """Record a report; returns it and its tracking code (shown to the reporter once, never stored)."""
    errors: dict[str, list] = {}
    name = _text(data, "target_name", errors, required=True)
    address = _text(data, "target_address", errors)
    description = _text(data, "description", errors, required=True)
    contact = _text(data, "contact", errors)
    category = data.get("category")
    if category not in TIPOFF_CATEGORIES:
        errors["category"] = [_l("Choose what the report is about.")]
    kind = data.get("target_kind") or "unknown"
    if kind not in TARGET_KINDS:
        errors["target_kind"] = [_l("Invalid value.")]
    region = data.get("region_code") or None
    reference = current_app.extensions["inspect_reference"]
    if region is not None and (region not in reference.regions or reference.regions[region].is_city):
        errors["region_code"] = [_l("Choose a county.")]
    count, size = photo_limits()
    blobs = []
    for photo in photos or []:
        blob = photo.read(size + 1) if hasattr(photo, "read") else bytes(photo)
        if len(blob) > size:
            errors["photos"] = [_l("Each photo may be at most %(mb).1f MB.", mb=size / 1024 / 1024)]
        elif blob:
            blobs.append(blob)
    if len(blobs) > count:
        errors["photos"] = [_l("At most %(n)d photos.", n=count)]
    if errors:
        raise InvalidData(errors)
    code = new_tracking_code()
    tipoff = TipOff(tracking_hash=tracking_hash(code), channel=channel, target_name=name, target_address=address,
                    target_kind=kind, region_code=region, category=category, description=description,
                    contact_sealed=seal_text(contact, SEAL_PURPOSE) if contact else None, status="received",
                    urgent=category in URGENT_CATEGORIES)
    db.session.add(tipoff)
    for blob in blobs:
        _store_photo(tipoff, blob)
    # the submission's audit events carry no network address: it could identify the reporter
    db.session().info[OMIT_ADDR] = True
    db.session.flush()
    return tipoff, code


def find_by_code(code: str) -> TipOff | None:
    digest = tracking_hash(code)
    if digest is None:
        return None
    return db.session.scalar(sa.select(TipOff).where(TipOff.tracking_hash == digest))


def public_status(tipoff: TipOff) -> dict:
    """All that the tracking code tells: no contact, no description, no entity, no officer."""
    return {"status": tipoff.status, "status_label": str(STATUS_LABELS[tipoff.status]),
            "received_on": _local_date(tipoff.received_dt), "updated_on": _local_date(tipoff.updated_dt),
            "reward_eligible": bool(tipoff.reward_eligible)}


def _local_date(value: datetime):
    from .clocks import local_tz
    return value.astimezone(local_tz()).date()


# --------------------------------------------------------------------------------------------
# Triage (planners)

def _triaged(tipoff: TipOff, user, note: str | None = None) -> None:
    if tipoff.status == "received":
        tipoff.status = "triaged"
    tipoff.triaged_by_id, tipoff.triaged_dt = user.id, now_utc()
    if note:
        tipoff.triage_note = "\n".join(filter(None, [tipoff.triage_note, note]))[-5000:]


def _open(tipoff: TipOff) -> None:
    if tipoff.status == "closed":
        raise InvalidData({"status": [_l("This tip-off is concluded.")]})


def link_entity(tipoff: TipOff, user, entity: Entity) -> None:
    _open(tipoff)
    tipoff.entity_id = entity.id
    tipoff.region_code = tipoff.region_code or entity.region_code
    _triaged(tipoff, user)
    db.session.flush()
    _refresh_risk(entity)


def create_unlicensed_entity(tipoff: TipOff, user, data: dict) -> Entity:
    """Register the target as an unlicensed operator (registry.services.register_entity)."""
    from ..registry.services import register_entity
    _open(tipoff)
    entity = register_entity({"kind": data.get("kind"), "name": data.get("name") or tipoff.target_name,
                              "address": data.get("address") or tipoff.target_address or "",
                              "region_code": data.get("region_code") or tipoff.region_code,
                              "attributes": data.get("attributes") or {}}, status="unlicensed")
    link_entity(tipoff, user, entity)
    return entity


def plan_inspection(tipoff: TipOff, user, data: dict):
    """A cause-based inspection (有因检查) of the linked entity (planning.services.add_cause_inspection)."""
    from ..planning.services import add_cause_inspection
    _open(tipoff)
    if tipoff.entity is None:
        raise InvalidData({"entity_id": [_l("Link the tip-off to an entity first, or register the target as "
                                            "an unlicensed operator.")]})
    note = f"举报（编号{tipoff.id}）：{CATEGORY_LABELS[tipoff.category]}"
    inspection = add_cause_inspection(None, tipoff.entity, {"cause_note": note, "date": data.get("date"),
                                                            "team": data.get("team") or []})
    tipoff.inspection_id, tipoff.status = inspection.id, "inspection_planned"
    _triaged(tipoff, user)
    db.session.flush()
    return inspection


def mark_urgent(tipoff: TipOff, user, reason: str | None = None):
    """Urgent: triaged first; trafficking or prostitution also goes to the police at once (a criminal
    referral due within 24 hours)."""
    from .referrals import create_referral
    _open(tipoff)
    tipoff.urgent = True
    referral = None
    if tipoff.category in POLICE_CATEGORIES and tipoff.referral_id is None:
        if tipoff.entity is None:
            raise InvalidData({"entity_id": [_l("Link the tip-off to an entity first, or register the target as "
                                                "an unlicensed operator.")]})
        referral = create_referral(user, {
            "kind": "criminal", "to_department": "police", "entity_id": tipoff.entity_id, "urgent": True,
            "reason": f"举报（编号{tipoff.id}）反映涉嫌{CATEGORY_LABELS[tipoff.category]}：{tipoff.description[:1000]}",
            "attachments": [{"code": "tipoff", "title": f"举报材料（编号{tipoff.id}）"}]}, status="sent")
        tipoff.referral_id = referral.id
    _triaged(tipoff, user, " ".join(str(reason or "").split()) or None)
    db.session.flush()
    return referral


def close_tipoff(tipoff: TipOff, user, outcome: str, note: str | None = None) -> None:
    _open(tipoff)
    if outcome not in TIPOFF_OUTCOMES:
        raise InvalidData({"outcome": [_l("Choose the outcome.")]})
    tipoff.status, tipoff.outcome, tipoff.closed_dt = "closed", outcome, now_utc()
    _triaged(tipoff, user, " ".join(str(note or "").split()) or None)
    db.session.flush()


def set_reward(tipoff: TipOff, user, *, eligible: bool | None, amount=None, paid_on=None,
               note: str | None = None) -> None:
    """举报奖励: eligibility, amount and the day it was paid (paid only when eligible)."""
    from .services import _date, _int
    errors: dict = {}
    amount = _int(amount, "amount", errors)
    paid = _date(paid_on, "paid_on", errors)
    if eligible is not True and (amount or paid):
        errors["eligible"] = [_l("Only an eligible report is rewarded.")]
    if paid and not amount:
        errors["amount"] = [_l("Give the amount paid.")]
    if note and len(note) > 500:
        errors["note"] = [_l("At most %(n)d characters.", n=500)]
    if errors:
        raise InvalidData(errors)
    tipoff.reward_eligible, tipoff.reward_amount, tipoff.reward_paid_on = eligible, amount, paid
    tipoff.reward_note = " ".join(str(note or "").split()) or None
    db.session.flush()


def reveal_contact(tipoff: TipOff, user, reason: str) -> str | None:
    """The reporter's contact for a planner; audited with the reason, never with the contact."""
    from ..auth.permissions import can
    if not can(user, "tipoffs.contact", tipoff):
        raise PermissionError("tipoffs.contact")
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidData({"reason": [_l("Give the reason for reading the reporter's contact.")]})
    if tipoff.contact_sealed is None:
        return None
    record_event(db.session, "reveal", "tipoff_contact", tipoff.id, after={"reason": reason[:500], "by": user.username})
    return open_text(tipoff.contact_sealed, SEAL_PURPOSE)


def triage_query(user, status: str | None = None) -> sa.Select:
    reference = current_app.extensions["inspect_reference"]
    stmt = sa.select(TipOff)
    if user.region_code != reference.city.code:
        stmt = stmt.where(sa.or_(TipOff.region_code == user.region_code, TipOff.region_code.is_(None)))
    if status == "open":
        stmt = stmt.where(TipOff.status != "closed")
    elif status:
        stmt = stmt.where(TipOff.status == status)
    return stmt.order_by(TipOff.urgent.desc(), TipOff.received_dt.desc(), TipOff.id.desc())


def _refresh_risk(entity: Entity) -> None:
    from ..registry.services import refresh_risk
    refresh_risk(entity)


@risk_provider
def tipoff_risk(entity: Entity, today) -> list[dict]:
    """Risk factor: tip-offs about the entity in the last two years (not the unsubstantiated ones)."""
    if not isinstance(entity, Entity) or entity.id is None:
        return []  # an import draft (registry.imports) is new: no tip-off can name it yet
    since = datetime.combine(today - timedelta(days=730), datetime.min.time()).replace(tzinfo=now_utc().tzinfo)
    count = db.session.scalar(sa.select(sa.func.count()).select_from(TipOff).where(
        TipOff.entity_id == entity.id, TipOff.received_dt >= since,
        sa.or_(TipOff.outcome.is_(None), TipOff.outcome == "substantiated")))
    return [{"code": "tipoffs", "points": min(10 * count, 20), "detail": str(count)}] if count else []
