"""Changes to the registry: validate, flush, audit (never commit). Web views, the API and the
importer call these, so a rule lives in one place."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Callable

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..audit.services import record_event
from ..errors import InvalidData
from ..extensions import db
from ..pii import InvalidIdNumber, id_hmac, mask_id
from .codes import InvalidCreditCode, validate_credit_code
from .models import ENTITY_STATUSES, LICENCE_STATUSES, Entity, Licence, StatusChange

NAME_MAX = 200
ADDRESS_MAX = 300

# The lifecycle (design.md 3). Every change names a reason and a legal basis.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("active", "rejected"),
    "active": ("suspended", "revoked", "closed"),
    "suspended": ("active", "revoked", "closed"),
    "revoked": ("closed",),
    "unlicensed": ("banned", "pending", "closed"),
    "rejected": ("pending",),
    "banned": (),
    "closed": (),
}
STATUS_LABELS = {
    "pending": _l("Pending"), "active": _l("Operating"), "suspended": _l("Suspended (停业整顿)"),
    "revoked": _l("Revoked (吊销)"), "closed": _l("Closed (注销)"), "banned": _l("Banned (取缔)"),
    "unlicensed": _l("Unlicensed"), "rejected": _l("Rejected"),
}
LICENCE_STATUS_LABELS = {
    "valid": _l("Valid"), "suspended": _l("Suspended"), "revoked": _l("Revoked"),
    "cancelled": _l("Cancelled"), "expired": _l("Expired"),
}
assert set(TRANSITIONS) == set(ENTITY_STATUSES)


class IllegalTransition(Exception):
    """A status change the lifecycle does not allow; carries the allowed targets. A subclass with its
    own ``transitions`` and ``labels`` serves another lifecycle (cases)."""

    transitions: dict[str, tuple[str, ...]] = TRANSITIONS
    labels: dict = STATUS_LABELS

    def __init__(self, current: str, wanted: str):
        self.current, self.wanted = current, wanted
        self.allowed = self.transitions.get(current, ())
        super().__init__(f"{current} -> {wanted}")

    def message(self) -> str:
        labels = self.labels
        allowed = "、".join(str(labels[s]) for s in self.allowed) or str(_l("none"))
        return str(_l("Cannot change the status from %(current)s to %(wanted)s. Allowed: %(allowed)s.",
                      current=labels.get(self.current, self.current),
                      wanted=labels.get(self.wanted, self.wanted), allowed=allowed))


class DuplicateCreditCode(Exception):
    """Another entity already has this credit code."""

    def __init__(self, code: str, existing_id: int | None):
        super().__init__(code)
        self.code, self.existing_id = code, existing_id


def reference():
    return current_app.extensions["inspect_reference"]


def _actor_id() -> int | None:
    try:
        return current_user.id if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):
        return None


def clean_entity_data(data: dict, entity: Entity | None = None) -> tuple[dict, dict[str, list]]:
    """Validate and normalise entity fields (the API field names); returns (clean, errors)."""
    ref = reference()
    errors: dict[str, list] = {}
    clean: dict[str, Any] = {}
    kind_code = data.get("kind", entity.kind if entity else None)
    kind = ref.kinds.get(kind_code or "")
    if entity is None or "kind" in data:
        if kind is None:
            errors["kind"] = [_l("Unknown kind.")]
        else:
            clean["kind"] = kind.code
    if "subtype" in data or entity is None:
        subtype = (data.get("subtype") or "").strip() or None
        if subtype and kind and not kind.subtype(subtype):
            errors["subtype"] = [_l("Unknown sub-type for this kind.")]
        clean["subtype"] = subtype
    for key, maximum, required in (("name", NAME_MAX, True), ("address", ADDRESS_MAX, True),
                                   ("legal_representative", 100, False), ("phone", 40, False)):
        if key not in data and entity is not None:
            continue
        value = " ".join(str(data.get(key) or "").split())
        if required and not value:
            errors[key] = [_l("This field is required.")]
        elif len(value) > maximum:
            errors[key] = [_l("At most %(n)d characters.", n=maximum)]
        else:
            clean[key] = value or None
    if "region_code" in data or entity is None:
        region = data.get("region_code")
        if region not in ref.regions or ref.regions[region].is_city:
            errors["region_code"] = [_l("Choose a county-level region.")]
        else:
            clean["region_code"] = region
    if "credit_code" in data or entity is None:
        raw = data.get("credit_code")
        if raw is None or not str(raw).strip():
            clean["credit_code"] = None
        else:
            try:
                clean["credit_code"] = validate_credit_code(raw)
            except InvalidCreditCode as exc:
                errors["credit_code"] = [exc.args[0]]
    if data.get("legal_rep_id_number"):
        try:
            clean["legal_rep_id_hmac"] = id_hmac(data["legal_rep_id_number"])
            clean["legal_rep_id_masked"] = mask_id(data["legal_rep_id_number"])
        except InvalidIdNumber:
            errors["legal_rep_id_number"] = [_l("Not a valid resident identity card number.")]
    _clean_location(data, clean, errors)
    if kind is not None and ("attributes" in data or entity is None or "kind" in data):
        attributes, attr_errors = kind.validate_attributes(data.get("attributes") or {})
        clean["attributes"] = attributes
        for key, messages in attr_errors.items():
            errors[f"attributes.{key}"] = messages
    return clean, errors


def _clean_location(data: dict, clean: dict, errors: dict) -> None:
    """Coordinates as the client sent them (WGS-84, GCJ-02 or BD-09), stored as WGS-84."""
    if not any(k in data for k in ("lat", "lon")):
        return
    lat, lon = data.get("lat"), data.get("lon")
    if lat in (None, "") and lon in (None, ""):
        clean.update(lat=None, lon=None, crs=None, location_source=None, location_precision_m=None,
                     is_outside_city=False)
        return
    from . import geo
    try:
        point = geo.normalize_point(lat, lon, (data.get("crs") or "wgs84"))
    except geo.CoordinateError as exc:
        errors[exc.field] = [exc.message]
        return
    precision = data.get("location_precision_m")
    try:
        precision = float(precision) if precision not in (None, "") else None
    except (TypeError, ValueError):
        errors["location_precision_m"] = [_l("Must be a number.")]
        return
    clean.update(lat=round(point.lat, 7), lon=round(point.lon, 7), crs=point.crs,
                 location_source=str(data.get("location_source") or "manual")[:20],
                 location_precision_m=precision, is_outside_city=point.outside_city)


def _check_code_free(code: str | None, entity: Entity | None) -> None:
    if not code:
        return
    existing = db.session.scalar(sa.select(Entity.id).where(Entity.credit_code == code))
    if existing is not None and (entity is None or existing != entity.id):
        raise DuplicateCreditCode(code, existing)


def register_entity(data: dict, *, status: str | None = None, entry_check=None) -> Entity:
    """Create an entity: ``pending`` from the licensing desk, ``unlicensed`` for an illegal operator
    found in the field (the only status allowed without a credit code)."""
    clean, errors = clean_entity_data(data)
    status = status or ("pending" if clean.get("credit_code") else "unlicensed")
    if status not in ENTITY_STATUSES:
        errors["status"] = [_l("Unknown status.")]
    elif not clean.get("credit_code") and status != "unlicensed" and "credit_code" not in errors:
        errors["credit_code"] = [_l("A credit code is required, except for an unlicensed operator.")]
    if errors:
        raise InvalidData(errors)
    _check_code_free(clean.get("credit_code"), None)
    entity = Entity(status=status, created_by_id=_actor_id(), **clean)
    db.session.add(entity)
    entity.status_changes.append(StatusChange(from_status=None, to_status=status, actor_id=_actor_id(),
                                              reason=str(_l("Registered")), legal_basis=data.get("legal_basis")))
    db.session.flush()
    if entry_check is not None:
        entry_check.entity_id = entity.id
    refresh_risk(entity)
    return entity


def update_entity(entity: Entity, data: dict) -> Entity:
    """Edit an entity's details (status changes go through :func:`change_status`)."""
    data = {k: v for k, v in data.items() if k not in ("status", "id", "risk_score")}
    clean, errors = clean_entity_data(data, entity)
    new_code = clean.get("credit_code", entity.credit_code)
    if not new_code and entity.status not in ("unlicensed", "banned", "closed") and "credit_code" not in errors:
        errors["credit_code"] = [_l("A credit code is required, except for an unlicensed operator.")]
    if errors:
        raise InvalidData(errors)
    _check_code_free(clean.get("credit_code"), entity)
    for key, value in clean.items():
        setattr(entity, key, value)
    db.session.flush()
    refresh_risk(entity)
    return entity


def change_status(entity: Entity, to_status: str, reason: str, legal_basis: str | None = None) -> StatusChange:
    """Move an entity along the lifecycle; an illegal step raises IllegalTransition."""
    errors = {}
    if to_status not in ENTITY_STATUSES:
        errors["status"] = [_l("Unknown status.")]
    if not (reason or "").strip():
        errors["reason"] = [_l("Give the reason for the change.")]
    elif len(reason) > 1000:
        errors["reason"] = [_l("At most %(n)d characters.", n=1000)]
    if legal_basis and len(legal_basis) > 500:
        errors["legal_basis"] = [_l("At most %(n)d characters.", n=500)]
    if errors:
        raise InvalidData(errors)
    if to_status not in TRANSITIONS[entity.status]:
        record_event(db.session, "entity.status_refused", "entities", entity.id,
                     before={"status": entity.status}, after={"status": to_status})
        raise IllegalTransition(entity.status, to_status)
    if to_status == "pending" and not entity.credit_code:
        raise InvalidData({"status": [_l("Register the credit code before applying.")]})
    change = StatusChange(entity=entity, from_status=entity.status, to_status=to_status, reason=reason.strip(),
                          legal_basis=(legal_basis or "").strip() or None, actor_id=_actor_id())
    entity.status = to_status
    db.session.add(change)
    db.session.flush()
    refresh_risk(entity)
    return change


def clean_licence_data(entity: Entity, data: dict, licence: Licence | None = None) -> tuple[dict, dict]:
    kind = reference().kinds.get(entity.kind)
    errors: dict[str, list] = {}
    clean: dict[str, Any] = {}
    if licence is None or "type" in data:
        spec = kind.licence(data.get("type") or "") if kind else None
        if spec is None:
            errors["type"] = [_l("This licence type does not apply to this kind.")]
        else:
            clean["type"] = spec["type"]
            department = data.get("department") or spec["department"]
            if department not in reference().departments:
                errors["department"] = [_l("Unknown department.")]
            clean["department"] = department
    if licence is None or "number" in data:
        number = " ".join(str(data.get("number") or "").split())
        if not number:
            errors["number"] = [_l("This field is required.")]
        elif len(number) > 60:
            errors["number"] = [_l("At most %(n)d characters.", n=60)]
        clean["number"] = number
    for key in ("issued_on", "expires_on"):
        if key in data or licence is None:
            raw = data.get(key)
            if raw in (None, ""):
                clean[key] = None
            elif isinstance(raw, date):
                clean[key] = raw
            else:
                try:
                    clean[key] = date.fromisoformat(str(raw))
                except ValueError:
                    errors[key] = [_l("Must be a date (YYYY-MM-DD).")]
    issued = clean.get("issued_on", licence.issued_on if licence else None)
    expires = clean.get("expires_on", licence.expires_on if licence else None)
    if issued and expires and expires < issued and "expires_on" not in errors:
        errors["expires_on"] = [_l("The expiry date is before the issue date.")]
    if "status" in data:
        if data["status"] not in LICENCE_STATUSES:
            errors["status"] = [_l("Unknown status.")]
        clean["status"] = data["status"]
    return clean, errors


def add_licence(entity: Entity, data: dict) -> Licence:
    clean, errors = clean_licence_data(entity, data)
    if not errors:
        clash = db.session.scalar(sa.select(Licence.id).where(Licence.type == clean["type"],
                                                              Licence.number == clean["number"]))
        if clash:
            errors["number"] = [_l("A licence of this type with this number is already registered.")]
    if errors:
        raise InvalidData(errors)
    licence = Licence(entity=entity, **clean)
    db.session.add(licence)
    db.session.flush()
    refresh_risk(entity)
    return licence


def change_licence_status(licence: Licence, status: str, reason: str) -> Licence:
    if status not in LICENCE_STATUSES:
        raise InvalidData({"status": [_l("Unknown status.")]})
    if not (reason or "").strip():
        raise InvalidData({"reason": [_l("Give the reason for the change.")]})
    licence.status = status
    licence.status_reason = reason.strip()[:500]
    db.session.flush()
    refresh_risk(licence.entity)
    return licence


# --- risk ------------------------------------------------------------------------------------

RiskProvider = Callable[[Entity, date], list[dict]]
RISK_PROVIDERS: list[RiskProvider] = []


def risk_provider(func: RiskProvider) -> RiskProvider:
    """Register a source of risk factors (violations and tip-offs add theirs in later areas)."""
    RISK_PROVIDERS.append(func)
    return func


@risk_provider
def _registry_risk(entity: Entity, today: date) -> list[dict]:
    factors = []
    if entity.status == "unlicensed":
        factors.append({"code": "unlicensed", "points": 50, "detail": ""})
    kind = reference().kinds.get(entity.kind)
    if kind and entity.status in ("active", "suspended", "pending"):
        for spec in kind.licences:
            if not spec["required"]:
                continue
            held = [lic for lic in entity.licences if lic.type == spec["type"]]
            if not held:
                if entity.status != "pending":
                    factors.append({"code": "licence_missing", "points": 25, "detail": spec["type"]})
            elif not any(lic.is_current(today) for lic in held):
                factors.append({"code": "licence_expired", "points": 20, "detail": spec["type"]})
    suspensions = sum(1 for change in entity.status_changes if change.to_status == "suspended"
                      and change.created_dt.date() >= today - timedelta(days=730))
    if suspensions:
        factors.append({"code": "past_suspensions", "points": min(15 * suspensions, 30),
                        "detail": str(suspensions)})
    if entity.is_outside_city:
        factors.append({"code": "outside_city", "points": 5, "detail": ""})
    return factors


RISK_FACTOR_LABELS = {
    "unlicensed": _l("Operating without a licence"),
    "licence_missing": _l("Required licence not registered"),
    "licence_expired": _l("Required licence expired or not valid"),
    "past_suspensions": _l("Suspended in the last two years"),
    "outside_city": _l("Location outside the city"),
    "violations": _l("Violations in the last two years"),
    "tipoffs": _l("Tip-offs"),
}


def refresh_risk(entity: Entity, today: date | None = None) -> int:
    """Recompute the risk score (0-100) and its factors from the entity's history."""
    today = today or date.today()
    factors = [factor for provider in RISK_PROVIDERS for factor in provider(entity, today)]
    score = min(100, sum(f["points"] for f in factors))
    if entity.risk_score != score or entity.risk_factors != factors:
        entity.risk_score, entity.risk_factors = score, factors
    return score


def locale_code() -> str:
    return str(get_locale() or "zh_CN")


def _register_unique_messages() -> None:
    from ..errors import UNIQUE_CONSTRAINT_FIELDS
    UNIQUE_CONSTRAINT_FIELDS["uq_entities_credit_code"] = (
        "credit_code", _l("This credit code is already registered."))
    UNIQUE_CONSTRAINT_FIELDS["uq_licences_type_number"] = (
        "number", _l("A licence of this type with this number is already registered."))


_register_unique_messages()


def keep_refusal() -> None:
    """A refused transition is audited: let the request commit its refusal event despite the 409."""
    from flask import g
    g.keep_changes_on_error = True


# --- the lists the entry gate consults ---------------------------------------------------------

SITE_KINDS = {"school": _l("School"), "kindergarten": _l("Kindergarten"), "hospital": _l("Hospital"),
              "government": _l("Government organ")}


def add_sensitive_site(data: dict):
    """Register a school, kindergarten, hospital or government organ with its position."""
    from . import geo
    from .models import SensitiveSite
    errors: dict[str, list] = {}
    if data.get("site_kind") not in SITE_KINDS:
        errors["site_kind"] = [_l("Unknown kind of site.")]
    name = " ".join(str(data.get("name") or "").split())
    if not name:
        errors["name"] = [_l("This field is required.")]
    elif len(name) > 200:
        errors["name"] = [_l("At most %(n)d characters.", n=200)]
    region = data.get("region_code")
    if region not in reference().regions or reference().regions[region].is_city:
        errors["region_code"] = [_l("Choose a county-level region.")]
    try:
        point = geo.normalize_point(data.get("lat"), data.get("lon"), data.get("crs") or "wgs84")
    except geo.CoordinateError as exc:
        errors[exc.field] = [exc.message]
        point = None
    if errors:
        raise InvalidData(errors)
    site = SensitiveSite(site_kind=data["site_kind"], name=name, region_code=region,
                         address=(data.get("address") or "").strip()[:300] or None, lat=point.lat, lon=point.lon)
    db.session.add(site)
    db.session.flush()
    return site


def add_blacklist_entry(data: dict):
    """Bar an entity (credit code) or a person (ID number, kept as HMAC and mask) from entry."""
    from .models import BlacklistEntry
    errors: dict[str, list] = {}
    subject = data.get("subject_type")
    entry = BlacklistEntry(subject_type=subject or "")
    if subject == "entity":
        try:
            entry.credit_code = validate_credit_code(data.get("credit_code"))
        except InvalidCreditCode as exc:
            errors["credit_code"] = [exc.args[0]]
    elif subject == "person":
        try:
            entry.person_id_hmac = id_hmac(data.get("id_number") or "")
            entry.person_id_masked = mask_id(data.get("id_number") or "")
        except InvalidIdNumber:
            errors["id_number"] = [_l("Not a valid resident identity card number.")]
        entry.bars_venue_work = bool(data.get("bars_venue_work"))
    else:
        errors["subject_type"] = [_l("Choose an entity or a person.")]
    for key, maximum in (("name", 200), ("reason", 1000), ("legal_basis", 500)):
        value = " ".join(str(data.get(key) or "").split())
        if not value:
            errors[key] = [_l("This field is required.")]
        elif len(value) > maximum:
            errors[key] = [_l("At most %(n)d characters.", n=maximum)]
        setattr(entry, key, value)
    until = data.get("until")
    if until not in (None, ""):
        try:
            entry.until = until if isinstance(until, date) else date.fromisoformat(str(until))
        except ValueError:
            errors["until"] = [_l("Must be a date (YYYY-MM-DD).")]
    if errors:
        raise InvalidData(errors)
    db.session.add(entry)
    db.session.flush()
    return entry


def lift_blacklist_entry(entry, reason: str) -> None:
    """End a listing today (the row stays, for the record)."""
    if not (reason or "").strip():
        raise InvalidData({"reason": [_l("Give the reason for the change.")]})
    entry.until = date.today() - timedelta(days=1)
    record_event(db.session, "blacklist.lifted", "blacklist_entries", entry.id, after={"reason": reason.strip()})
    db.session.flush()
