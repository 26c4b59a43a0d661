"""Field inspection services: the tablet pages and the API both go through these functions.

Contract between the back end (this module) and the pages/API (views.py, api.py). Every function
flushes, never commits (the request lifecycle commits), records audit events for what it changes,
and raises:

* :class:`NotOnTeam` (a PermissionError; pages and API answer 403) when the user is not a member
  of the inspection's team (supervisors and admins of the county may read, never write);
* :class:`InspectionStateError` (409) when the inspection's state forbids the change, e.g. any write
  to a completed or cancelled inspection;
* :class:`~inspect_app.errors.InvalidData` (422) with field-level messages in the user's language
  for bad input, e.g. an item code that is not in the pinned checklists;
* :class:`Incomplete` (an InvalidData, 422) from :func:`complete`, whose ``fields`` name every
  missing piece (``answers``, ``evidence``, ``attestations``, ``signatures``, ``check_in`` ...).

Signals (``inspect_app.inspection.signals``) let other areas react without this module knowing
them: ``violation_recorded`` (sender: app, violation=...) and ``inspection_completed`` (sender:
app, inspection=...), both sent inside the transaction, so a receiver's failure rolls back.

Writes lock the inspection's row (``SELECT ... FOR UPDATE`` on PostgreSQL) and re-read its status,
so a completion and a late answer from a second tablet cannot both pass. The ORM guard in
``guard.py`` refuses any change to a completed inspection's record whatever the caller.
"""
from __future__ import annotations

import hashlib
import math
import os
from datetime import date, datetime, timedelta, timezone
from typing import Any, BinaryIO
from urllib.parse import quote
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app, has_request_context
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from ..audit.services import record_event
from ..checklist.catalogue import Checklist, ChecklistItem, ViolationType, canonical_json
from ..errors import InvalidData
from ..extensions import db
from ..util import now_utc
from . import evidence as files
from .guard import InspectionStateError
from .models import (OUTCOMES, SIGNATURE_ROLES, Amendment, Answer, Attestation, CheckIn, Evidence, Inspection,
                     InspectionChecklist, InspectionMember, Referral, Signature, Violation)
from .signals import inspection_completed, violation_recorded

__all__ = [
    "NotOnTeam", "InspectionStateError", "Incomplete", "CREDENTIALS_AND_RECUSAL",
    "assignments_for", "assignment_summary", "create_manual_inspection", "start_inspection", "attest", "check_in",
    "pinned_items", "save_answer", "add_evidence", "proposed_violations", "record_violation", "sign",
    "missing_for_completion", "complete", "amend",
    # additions beyond the first contract
    "local_today", "is_member", "checklists_for", "item_index", "answer_public_value", "can_see_restricted",
    "evidence_file", "build_record", "record_hash", "progress",
    "cancel_inspection", "set_officer_pin", "withdraw_violation",
    "violation_types_of", "violation_type_at", "violation_type_for", "pinned_types_by_inspection",
    "can_reveal_id_numbers", "reveal_roster_number",
]


class NotOnTeam(PermissionError):
    """The user is not an officer of this inspection's team."""


class Incomplete(InvalidData):
    """Completion refused: ``fields`` lists what is missing."""


# The statement every officer attests before the inspection starts (行政处罚法 Arts 42, 43, 55).
CREDENTIALS_AND_RECUSAL = "credentials_and_recusal"
ATTEST_METHODS = ("session", "password", "pin")
DEFAULT_CHECKIN_MAX_DISTANCE_M = 300.0
MAX_PLAUSIBLE_SPEED_KMH = 200.0
# Jitter between two fixes taken close together is not travel: below this, no speed is judged.
MIN_JUMP_M = 250.0
OPTIONAL_ANSWER_TYPES = ("text",)  # free notes: never required for completion
MAX_NOTE = 4000
MAX_ROSTER = 500
CRIMINAL_DUE_HOURS = 24
EARLY_OUTCOMES = ("closed_premises", "refused_entry")  # completion without the checklist


# --------------------------------------------------------------------------------------------
# Small helpers

def _uid(user) -> int | None:
    return None if user is None else (user if isinstance(user, int) else user.id)


def local_today() -> date:
    """Today in the deployment's time zone (config BABEL_DEFAULT_TIMEZONE, Asia/Shanghai)."""
    return datetime.now(_zone()).date()


def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def _inspection_day(inspection: Inspection) -> date:
    """The day the inspection took place (its start, in local time), else its scheduled day."""
    if inspection.started_dt is not None:
        return inspection.started_dt.astimezone(_zone()).date()
    return inspection.scheduled_date or local_today()


def _text(value: Any, field: str, *, required: bool = False, limit: int = MAX_NOTE) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise InvalidData({field: [_l("This field is required.")]})
        return None
    if not isinstance(value, str):
        raise InvalidData({field: [_l("Must be text.")]})
    text = value.strip()
    if len(text) > limit:
        raise InvalidData({field: [_l("At most %(n)d characters.", n=limit)]})
    return text


def _member(inspection: Inspection, user) -> InspectionMember | None:
    user_id = _uid(user)
    return next((m for m in inspection.members if m.user_id == user_id), None)


def is_member(inspection: Inspection, user) -> bool:
    """Whether ``user`` is an officer of the inspection's team."""
    return _member(inspection, user) is not None


def _require_member(inspection: Inspection, user) -> InspectionMember:
    member = _member(inspection, user)
    if member is None:
        raise NotOnTeam(f"user {_uid(user)} is not on the team of inspection {inspection.id}")
    return member


def _check_state(inspection: Inspection, *, started: bool = True) -> None:
    if inspection.status == "completed":
        raise InspectionStateError(
            _l("This inspection is completed: its record can no longer change. Add an amendment instead."),
            code="inspection_completed")
    if inspection.status == "cancelled":
        raise InspectionStateError(_l("This inspection was cancelled."), code="inspection_cancelled")
    if started and inspection.status != "in_progress":
        raise InspectionStateError(_l("Start the inspection first."), code="inspection_not_started")


def _lock(inspection: Inspection) -> None:
    """Lock the inspection's row for this transaction and make sure its status is the stored one.

    PostgreSQL: ``SELECT ... FOR UPDATE``. SQLite has no row locks and pysqlite reads outside any
    transaction, so a no-op UPDATE takes the database's write lock first (writers queue on it)."""
    if db.session.get_bind().dialect.name == "sqlite":
        table = Inspection.__table__
        db.session.execute(table.update().where(table.c.id == inspection.id).values(status=table.c.status))
    status = db.session.execute(sa.select(Inspection.status).where(Inspection.id == inspection.id)
                                .with_for_update()).scalar_one()
    if status != inspection.status:
        db.session.refresh(inspection)


def _writable(inspection: Inspection, user, *, started: bool = True) -> InspectionMember:
    member = _require_member(inspection, user)
    _lock(inspection)
    _check_state(inspection, started=started)
    return member


def _catalogue():
    from ..checklist.services import current_catalogue
    return current_catalogue()


def _reference():
    return current_app.extensions["inspect_reference"]


# --------------------------------------------------------------------------------------------
# Today

def assignments_for(user, day: date) -> list[Inspection]:
    """The user's inspections scheduled on ``day`` (plus ones in progress), in route order."""
    stmt = (sa.select(Inspection)
            .join(InspectionMember, InspectionMember.inspection_id == Inspection.id)
            .where(InspectionMember.user_id == _uid(user), Inspection.status != "cancelled",
                   sa.or_(Inspection.scheduled_date == day, Inspection.status == "in_progress"))
            .options(selectinload(Inspection.entity), selectinload(Inspection.members))
            .order_by(sa.case((Inspection.scheduled_date == day, 1), else_=0),  # left over from before first
                      Inspection.scheduled_date, Inspection.team_day, Inspection.route_position.nulls_last(),
                      Inspection.id))
    return list(db.session.scalars(stmt).unique())


def _licence_state(licences, today: date) -> str:
    if not licences:
        return "none"
    return "valid" if any(licence.is_current(today) for licence in licences) else "expired"


def assignment_summary(inspection: Inspection) -> dict:
    """Plain data for the today page and the API: entity summary (name, kind, address, licence
    state, risk), the last completed inspection's date and outcome, open violations, and the
    coordinates (WGS-84, and a geo: URI) for navigation."""
    entity = inspection.entity
    today = local_today()
    locale = _locale()
    last = db.session.execute(
        sa.select(Inspection.id, Inspection.completed_dt, Inspection.outcome)
        .where(Inspection.entity_id == entity.id, Inspection.status == "completed", Inspection.id != inspection.id)
        .order_by(Inspection.completed_dt.desc()).limit(1)).first()
    open_rows = db.session.execute(
        sa.select(Violation.id, Violation.inspection_id, Violation.type_code, Violation.created_dt, Violation.criminal)
        .where(Violation.entity_id == entity.id, Violation.status == "open").order_by(Violation.created_dt)).all()
    types = pinned_types_by_inspection({row.inspection_id for row in open_rows})
    location = None
    if entity.lat is not None and entity.lon is not None:
        location = {"lat": entity.lat, "lon": entity.lon, "crs": "wgs84",
                    "geo_uri": f"geo:{entity.lat:.6f},{entity.lon:.6f}?q={entity.lat:.6f},{entity.lon:.6f}"
                               f"({quote(entity.name)})"}
    kind = _reference().kinds.get(entity.kind)
    return {
        "id": inspection.id, "status": inspection.status, "origin": inspection.origin,
        "date": inspection.scheduled_date.isoformat() if inspection.scheduled_date else None,
        "route_position": inspection.route_position, "campaign_id": inspection.campaign_id,
        "lead_department": inspection.lead_department,
        "entity": {
            "id": entity.id, "name": entity.name, "kind": entity.kind, "subtype": entity.subtype,
            "kind_name": (kind.name_en if locale.startswith("en") else kind.name_zh) if kind else entity.kind,
            "address": entity.address, "region_code": entity.region_code, "credit_code": entity.credit_code,
            "legal_representative": entity.legal_representative, "phone": entity.phone, "status": entity.status,
            "risk_score": entity.risk_score, "licence_state": _licence_state(entity.licences, today),
            "licences": [{"type": lic.type, "number": lic.number, "status": lic.status,
                          "expires_on": lic.expires_on.isoformat() if lic.expires_on else None,
                          "current": lic.is_current(today)} for lic in entity.licences],
        },
        "last_inspection": ({"id": last.id, "date": last.completed_dt.astimezone(_zone()).date().isoformat(),
                             "outcome": last.outcome} if last else None),
        "open_violations": [{"id": row.id, "type_code": row.type_code, "criminal": row.criminal,
                             "title": _type_title(types[row.inspection_id].get(row.type_code), row.type_code, locale),
                             "date": row.created_dt.astimezone(_zone()).date().isoformat()} for row in open_rows],
        "location": location,
        "team": [{"user_id": m.user_id, "department": m.department_code} for m in inspection.members],
        "progress": progress(inspection) if inspection.status != "planned" else None,
    }


def _type_title(entry: ViolationType | None, code: str, locale: str) -> str:
    return entry.title(locale) if entry else code


# --------------------------------------------------------------------------------------------
# Planning a single inspection

def create_manual_inspection(entity, *, lead_department: str, officers: list, scheduled_date: date,
                             created_by, cause_note: str | None = None) -> Inspection:
    """A planner's single inspection outside a campaign (origin ``manual`` or ``cause``)."""
    from ..auth.models import User
    from ..planning.models import InspectorConflict
    errors: dict[str, list] = {}
    reference = _reference()
    ids = [_uid(o) for o in officers or []]
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(ids)))} if ids else {}
    if len(ids) < 2 or len(set(ids)) != len(ids) or len(users) != len(ids):
        errors["officers"] = [_l("At least two different officers with credentials (行政处罚法 Art 42).")]
    else:
        for user in users.values():
            if not user.is_active or "inspector" not in user.roles or not user.credential_number:
                errors.setdefault("officers", []).append(
                    _l("%(name)s is not an active inspector with a credential number.", name=user.full_name))
            elif not reference.region_contains(user.region_code, entity.region_code):
                errors.setdefault("officers", []).append(
                    _l("%(name)s does not work in this county.", name=user.full_name))
        conflicts = db.session.scalars(sa.select(InspectorConflict).where(
            InspectorConflict.user_id.in_(ids),
            sa.or_(InspectorConflict.entity_id == entity.id,
                   sa.and_(InspectorConflict.legal_representative.is_not(None),
                           InspectorConflict.legal_representative == entity.legal_representative)))).all()
        for conflict in conflicts:
            errors.setdefault("officers", []).append(
                _l("%(name)s has declared a conflict of interest with this business and must recuse.",
                   name=users[conflict.user_id].full_name))
    if lead_department not in reference.departments:
        errors["lead_department"] = [_l("Unknown department.")]
    elif users and lead_department not in {u.department_code for u in users.values()}:
        errors["lead_department"] = [_l("One of the officers must be from the lead department.")]
    if not isinstance(scheduled_date, date):
        errors["scheduled_date"] = [_l("Must be a date (YYYY-MM-DD).")]
    note = " ".join(str(cause_note or "").split()) or None
    if note and len(note) > 1000:
        errors["cause_note"] = [_l("At most %(n)d characters.", n=1000)]
    if errors:
        raise InvalidData(errors)
    position = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.max(Inspection.route_position), 0))
        .join(InspectionMember, InspectionMember.inspection_id == Inspection.id)
        .where(InspectionMember.user_id == ids[0], Inspection.scheduled_date == scheduled_date)) + 1
    inspection = Inspection(entity_id=entity.id, origin="cause" if note else "manual", cause_note=note,
                            scheduled_date=scheduled_date, route_position=position, region_code=entity.region_code,
                            lead_department=lead_department, status="planned", created_by_id=_uid(created_by))
    for index, user_id in enumerate(ids):
        inspection.members.append(InspectionMember(user_id=user_id, department_code=users[user_id].department_code,
                                                   position=index))
    db.session.add(inspection)
    db.session.flush()
    record_event(db.session, "inspection.create", "inspections", inspection.id,
                 after={"origin": inspection.origin, "entity_id": entity.id, "officers": ids,
                        "scheduled_date": scheduled_date})
    return inspection


def cancel_inspection(inspection: Inspection, user, *, reason: str) -> Inspection:
    """A planner calls off an inspection that has not been completed (the reason is audited)."""
    reason = _text(reason, "reason", required=True, limit=500)
    _lock(inspection)
    _check_state(inspection, started=False)
    inspection.status = "cancelled"
    db.session.flush()
    record_event(db.session, "inspection.cancel", "inspections", inspection.id, after={"reason": reason})
    return inspection


# --------------------------------------------------------------------------------------------
# Start, attestations, check-in

def _applicable_checklists(inspection: Inspection) -> list[Checklist]:
    """The current checklists this inspection carries: its kind's, for the team's departments, and the
    joint lists (the red flags go with every inspection)."""
    departments = {m.department_code for m in inspection.members}
    return [c for c in _catalogue().for_kind(inspection.entity.kind) if c.joint or c.department in departments]


def start_inspection(inspection: Inspection, user, *, party_name: str | None = None,
                     party_role: str | None = None) -> Inspection:
    """Pin the current checklist versions that apply (entity kind and the team's departments, plus the
    joint red-flag list), set ``in_progress`` and ``started_dt``. Idempotent for an inspection in progress."""
    from ..checklist.services import pin_checklist, pin_violation_catalogue
    _writable(inspection, user, started=False)
    party_name = _text(party_name, "party_name", limit=100)
    party_role = _text(party_role, "party_role", limit=100)
    if inspection.status == "in_progress":
        if party_name:
            inspection.party_name = party_name
        if party_role:
            inspection.party_role = party_role
        db.session.flush()
        return inspection
    for position, checklist in enumerate(_applicable_checklists(inspection)):
        row = pin_checklist(checklist.code)
        inspection.checklists.append(InspectionChecklist(checklist_version_id=row.id, code=row.code,
                                                         version=row.version, position=position))
    inspection.catalogue_version = pin_violation_catalogue().version
    inspection.status = "in_progress"
    inspection.started_dt = now_utc()
    inspection.party_name = party_name
    inspection.party_role = party_role
    db.session.flush()
    record_event(db.session, "inspection.start", "inspections", inspection.id,
                 after={"by": _uid(user), "checklists": [f"{c.code}@{c.version[:12]}" for c in inspection.checklists],
                        "violation_catalogue": inspection.catalogue_version[:12]})
    return inspection


def _keep_failed_attempts() -> None:
    from ..auth.services import keep_changes_on_error
    keep_changes_on_error()


def _check_secret(officer, method: str, secret: str | None) -> None:
    """A partner's PIN or password, counted towards the account's lock-out like a failed sign-in."""
    now = now_utc()
    if officer.is_locked(now):
        raise InvalidData({"secret": [_l("This account is locked after too many failed attempts; try again later.")]})
    ok = bool(secret) and (officer.check_pin(secret) if method == "pin" else officer.check_password(secret))
    if ok and officer.is_active:
        officer.failed_login_count = 0
        return
    if has_request_context():
        _keep_failed_attempts()  # the failed attempt counts even though the request answers 422
    officer.failed_login_count = (officer.failed_login_count or 0) + 1
    if officer.failed_login_count >= current_app.config["LOGIN_MAX_FAILURES"]:
        officer.locked_until_dt = now + timedelta(minutes=current_app.config["LOGIN_LOCKOUT_MINUTES"])
        officer.failed_login_count = 0
    db.session.flush()
    record_event(db.session, "inspection.attest_refused", "users", officer.id, after={"method": method})
    if method == "pin" and not officer.pin_hash:
        raise InvalidData({"secret": [_l("This officer has no PIN yet: confirm with the password.")]})
    raise InvalidData({"secret": [_l("Wrong PIN or password.")]})


def set_officer_pin(user, pin: str, *, password: str) -> None:
    """An officer sets the PIN with which they confirm on a colleague's tablet (their password confirms it).
    4 to 8 digits, not one digit repeated nor a plain run (1234, 9876)."""
    account = _user(user)
    try:
        _check_secret(account, "password", password)  # wrong passwords count towards the lock-out
    except InvalidData as exc:
        raise InvalidData({"password": exc.fields["secret"]}) from None
    pin = (pin or "").strip()
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
        raise InvalidData({"pin": [_l("A PIN is 4 to 8 digits.")]})
    steps = {int(b) - int(a) for a, b in zip(pin, pin[1:])}
    if steps in ({0}, {1}, {-1}):
        raise InvalidData({"pin": [_l("Too easy to guess: do not use one digit repeated or a run like 1234.")]})
    account.set_pin(pin)
    db.session.flush()
    record_event(db.session, "auth.pin_set", "users", account.id)


def _user(user_or_id):
    from ..auth.models import User
    if user_or_id is None:
        return None
    user_id = _uid(user_or_id)
    return db.session.get(User, user_id)


def attest(inspection: Inspection, user, officer, *, method: str, secret: str | None = None) -> Attestation:
    """Record that ``officer`` showed credentials and told the party of its right to ask for recusal.

    ``method`` is ``session`` when ``officer`` is the signed-in ``user``; a partner confirms on the same
    tablet with ``password`` or ``pin`` and ``secret`` is checked against their account (a wrong secret
    raises InvalidData and counts towards their lock-out). Idempotent per officer."""
    _writable(inspection, user)
    if method not in ATTEST_METHODS:
        raise InvalidData({"method": [_l("Must be one of: %(values)s.", values=", ".join(ATTEST_METHODS))]})
    officer = _user(officer) if officer is not None else _user(user)
    if officer is None or _member(inspection, officer) is None:
        raise InvalidData({"officer_id": [_l("This officer is not on the inspection's team.")]})
    if method == "session" and officer.id != _uid(user):
        raise InvalidData({"method": [_l("A colleague confirms with their own PIN or password.")]})
    if method != "session":
        _check_secret(officer, method, secret)
    if not officer.credential_number:
        raise InvalidData({"officer_id": [_l("This officer has no enforcement credential number.")]})
    existing = next((a for a in inspection.attestations
                     if a.user_id == officer.id and a.statement == CREDENTIALS_AND_RECUSAL), None)
    if existing is not None:
        return existing
    attestation = Attestation(user_id=officer.id, statement=CREDENTIALS_AND_RECUSAL, method=method,
                              credential_number=officer.credential_number, attested_dt=now_utc())
    inspection.attestations.append(attestation)
    db.session.flush()
    return attestation


def _as_utc(value: Any, field: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise InvalidData({field: [_l("Must be a date and time (ISO 8601).")]}) from None
    if not isinstance(value, datetime):
        raise InvalidData({field: [_l("Must be a date and time (ISO 8601).")]})
    if value.tzinfo is None:  # a tablet's local clock
        value = value.replace(tzinfo=_zone())
    return value.astimezone(timezone.utc)


def _number(value: Any, field: str, *, minimum: float | None = None) -> float:
    if isinstance(value, bool) or value is None:
        raise InvalidData({field: [_l("Must be a number.")]})
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidData({field: [_l("Must be a number.")]}) from None
    if not math.isfinite(number):
        raise InvalidData({field: [_l("Must be a number.")]})
    if minimum is not None and number < minimum:
        raise InvalidData({field: [_l("Must be at least %(n)s.", n=f"{minimum:g}")]})
    return number


def check_in(inspection: Inspection, user, *, lat: float, lon: float, accuracy_m: float | None, at: datetime,
             reason: str | None = None) -> CheckIn:
    """Record a WGS-84 fix: distance to the registered location (geopy), flags ``far`` (beyond
    INSPECT_CHECKIN_MAX_DISTANCE_M, default 300; a reason is then required, else InvalidData naming
    ``reason``), ``no_accuracy`` (missing or zero accuracy), ``too_fast`` (faster than 200 km/h since the
    user's previous fix anywhere), ``no_location`` (the premises have no coordinates)."""
    from ..registry.geo import CoordinateError, check_lat_lon, distance_m
    _writable(inspection, user)
    try:
        lat, lon = check_lat_lon(lat, lon)
    except CoordinateError as exc:
        raise InvalidData({exc.field: [exc.message]}) from None
    accuracy = None if accuracy_m is None else _number(accuracy_m, "accuracy_m", minimum=0)
    at = _as_utc(at, "at")
    reason = _text(reason, "reason", limit=500)
    flags: list[str] = []
    entity = inspection.entity
    distance = None
    if entity.lat is None or entity.lon is None:
        flags.append("no_location")
    else:
        distance = round(distance_m((lat, lon), (entity.lat, entity.lon)), 1)
        limit = float(current_app.config.get("INSPECT_CHECKIN_MAX_DISTANCE_M", DEFAULT_CHECKIN_MAX_DISTANCE_M))
        if distance > limit:
            flags.append("far")
            if not reason:
                raise InvalidData({"reason": [_l("You are %(d)s m from the registered location (more than %(max)s m): "
                                                 "say why.", d=f"{distance:.0f}", max=f"{limit:g}")]})
    if not accuracy:
        flags.append("no_accuracy")
    previous = db.session.execute(
        sa.select(CheckIn.lat, CheckIn.lon, CheckIn.client_dt, CheckIn.accuracy_m)
        .where(CheckIn.user_id == _uid(user), CheckIn.client_dt <= at)
        .order_by(CheckIn.client_dt.desc(), CheckIn.id.desc()).limit(1)).first()
    if previous is not None:
        jump = distance_m((lat, lon), (previous.lat, previous.lon))
        noise = (accuracy or 0) + (previous.accuracy_m or 0)
        seconds = max((at - previous.client_dt).total_seconds(), 1.0)
        if jump > max(MIN_JUMP_M, noise) and jump / seconds * 3.6 > MAX_PLAUSIBLE_SPEED_KMH:
            flags.append("too_fast")
    fix = CheckIn(user_id=_uid(user), lat=lat, lon=lon, accuracy_m=accuracy, client_dt=at, received_dt=now_utc(),
                  distance_m=distance, flags=flags, reason=reason)
    inspection.checkins.append(fix)
    db.session.flush()
    record_event(db.session, "inspection.check_in", "inspections", inspection.id,
                 after={"check_in_id": fix.id, "distance_m": distance, "flags": flags, "by": _uid(user)})
    return fix


# --------------------------------------------------------------------------------------------
# The checklist

_pinned_cache: dict[tuple[str, str], Checklist] = {}


def _pinned(code: str, version: str) -> Checklist:
    """A pinned checklist version (the loaded one when it is still current; otherwise read from the
    database once per process, its content checked against its hash)."""
    current = _catalogue().checklists.get(code)
    if current is not None and current.version == version:
        return current
    key = (code, version)
    if key not in _pinned_cache:
        from ..checklist.services import load_pinned
        _pinned_cache[key] = load_pinned(code, version)
    return _pinned_cache[key]


def checklists_for(inspection: Inspection) -> list[tuple[Checklist, bool]]:
    """[(Checklist, pinned)]: the pinned versions once started, before that the current ones it would pin."""
    if inspection.checklists:
        return [(_pinned(row.code, row.version), True) for row in inspection.checklists]
    if inspection.status == "planned":
        return [(checklist, False) for checklist in _applicable_checklists(inspection)]
    return []


def pinned_items(inspection: Inspection) -> list[tuple]:
    """[(Checklist, [ChecklistItem applicable to the entity's sub-type])] of the pinned versions."""
    subtype = inspection.entity.subtype
    return [(checklist, [item for item in checklist.items if item.applies_to(subtype)])
            for checklist in (_pinned(row.code, row.version) for row in inspection.checklists)]


def item_index(inspection: Inspection) -> dict[str, tuple[Checklist, ChecklistItem]]:
    """Item code (``<checklist>.<item>``) -> (pinned checklist, item), for the applicable items."""
    return {item.code: (checklist, item) for checklist, items in pinned_items(inspection) for item in items}


def _required_items(inspection: Inspection) -> list[ChecklistItem]:
    """Items that must be answered: every applicable one but free notes; a follow-up only its focus
    items and the joint lists."""
    focus = set(inspection.focus_items or ())
    required = []
    for checklist, items in pinned_items(inspection):
        for item in items:
            if item.answer_type in OPTIONAL_ANSWER_TYPES:
                continue
            if focus and not checklist.joint and item.code not in focus and item.local_code not in focus:
                continue
            required.append(item)
    return required


def _unknown_item() -> InvalidData:
    return InvalidData({"item_code": [_l("This item is not in the checklists of this inspection.")]})


def _lookup_item(inspection: Inspection, item_code: str) -> tuple[Checklist, ChecklistItem]:
    found = item_index(inspection).get(item_code) if isinstance(item_code, str) else None
    if found is None:
        raise _unknown_item()
    return found


RESULTS = ("pass", "fail", "na")


def _derived_result(item: ChecklistItem, value: Any) -> tuple[Any, str | None]:
    """The stored value and the result the item's own rule gives it (None when it has no rule)."""
    if item.answer_type == "yes_no_na":
        if value is None:
            return None, None
        normal = {True: "yes", False: "no"}.get(value, str(value).strip().lower())
        if normal not in ("yes", "no", "na"):
            raise InvalidData({"value": [_l("Must be yes, no or na.")]})
        if normal == "na":
            return normal, "na"
        fails = item.fails(normal)
        return normal, None if fails is None else ("fail" if fails else "pass")
    if item.answer_type == "number":
        if value is None or value == "":
            return None, None
        number = _number(value, "value")
        fails = item.fails(number)
        stored = int(number) if number.is_integer() else number
        return stored, None if fails is None else ("fail" if fails else "pass")
    if item.answer_type == "text":
        return _text(value, "value"), None
    if item.answer_type == "photo":
        if value not in (None, ""):
            raise InvalidData({"value": [_l("Attach photos as evidence of this item.")]})
        return None, None
    return value, None


def _roster_value(inspection: Inspection, item: ChecklistItem, value: Any) -> tuple[dict | None, str | None]:
    """A staff roster evaluated: ages on the inspection day, numbers encrypted and masked, never in clear."""
    from ..checklist.roster import evaluate_roster
    if value is None:
        return None, None
    if isinstance(value, dict) and "people" in value:
        value = value["people"]
    if not isinstance(value, list) or not all(isinstance(entry, dict) for entry in value):
        raise InvalidData({"value": [_l("A roster is a list of people (name, id_number, post, hired_on).")]})
    if len(value) > MAX_ROSTER:
        raise InvalidData({"value": [_l("At most %(n)d people.", n=MAX_ROSTER)]})
    value = _unmask_roster(inspection, item, value)
    evaluation = evaluate_roster(value, _inspection_day(inspection), kind=inspection.entity.kind, item=item)
    return evaluation.to_stored(), "fail" if evaluation.fails else "pass"


def _unmask_roster(inspection: Inspection, item: ChecklistItem, entries: list[dict]) -> list[dict]:
    """A roster sent back as the API showed it (masked numbers): each masked person already stored for this
    item (same name and masked number) gets their number back from the stored encrypted token, so a tablet
    can resend the list it received; a masked number that matches nobody is refused."""
    from ..checklist.roster import decrypt_id_number
    if not any(entry.get("id_masked") and not entry.get("id_number") for entry in entries):
        return entries
    stored = db.session.scalar(sa.select(Answer.value).where(Answer.inspection_id == inspection.id,
                                                             Answer.item_code == item.code))
    known = {(p.get("name"), p.get("id_masked")): p.get("id_encrypted")
             for p in (stored or {}).get("people", []) if p.get("id_encrypted")}
    resolved = []
    for entry in entries:
        if entry.get("id_masked") and not entry.get("id_number"):
            token = known.get((str(entry.get("name") or "").strip(), entry["id_masked"]))
            if token is None:
                raise InvalidData({"value": [_l("Send each person's full ID number again (a masked number cannot "
                                                "be checked).")]})
            entry = {**entry, "id_number": decrypt_id_number(token)}
        resolved.append(entry)
    return resolved


class NoSuchPerson(LookupError):
    """No roster answer to this item, or no person with this line number in it (404)."""


def can_reveal_id_numbers(user, inspection: Inspection) -> bool:
    """Full identity numbers of the inspection's rosters: holders of ``id_numbers.reveal`` (police liaisons,
    for referrals) in the inspection's county."""
    from ..auth.permissions import can
    return can(user, "id_numbers.reveal", inspection)


def reveal_roster_number(inspection: Inspection, user, item_code: str, index: Any, *, reason: Any) -> dict:
    """One roster person's full identity-card number, for :func:`can_reveal_id_numbers` users; the reason
    is required and each reading is audited (where, the masked number, the reason, the reader; never the
    number). Works at any state of the inspection: the police may need it before completion.

    Raises PermissionError (403) for anyone else, InvalidData (422) without a reason or when the person's
    number was invalid, :class:`NoSuchPerson` (404) when the item or line is not there."""
    from ..checklist.roster import UndecryptableIdNumber, reveal_id_number
    if not can_reveal_id_numbers(user, inspection):
        raise PermissionError("id_numbers.reveal")
    reason = _text(reason, "reason", limit=500)
    if not reason:
        raise InvalidData({"reason": [_l("Say why you need the full number (e.g. the referral it is for).")]})
    answer = next((a for a in inspection.answers if a.item_code == item_code), None)
    people = answer.value.get("people") if answer is not None and isinstance(answer.value, dict) else None
    if not isinstance(people, list):
        raise NoSuchPerson(f"no roster answer to {item_code!r}")
    person = next((p for p in people if isinstance(p, dict) and str(p.get("index")) == str(index)), None)
    if person is None:
        raise NoSuchPerson(f"no line {index!r} in the roster of {item_code!r}")
    if not person.get("id_encrypted"):
        raise InvalidData({"index": [_l("This person's number was missing or invalid: there is no full number "
                                        "to read.")]})
    try:
        number = reveal_id_number(user, person["id_encrypted"], reason,
                                  context={"inspection_id": inspection.id, "item_code": answer.item_code,
                                           "index": person.get("index"), "name": person.get("name")})
    except UndecryptableIdNumber:
        raise InspectionStateError(_l("The stored number cannot be decrypted with the configured key."),
                                   code="undecryptable_id_number") from None
    return {"inspection_id": inspection.id, "item_code": answer.item_code, "index": person.get("index"),
            "name": person.get("name"), "id_masked": person.get("id_masked"), "id_number": number}


def answer_public_value(answer: Answer) -> Any:
    """The answer's value as pages and the API show it (a roster without encrypted numbers or HMACs)."""
    value = answer.value
    if isinstance(value, dict) and isinstance(value.get("people"), list):
        people = [{k: v for k, v in person.items() if k not in ("id_encrypted", "id_hmac")}
                  for person in value["people"]]
        return {**value, "people": people}
    return value


def save_answer(inspection: Inspection, user, item_code: str, *, result: str | None, value=None,
                note: str | None = None) -> Answer:
    """Create or replace the answer to one item (upsert on (inspection, item)); bumps ``revision``.
    A roster item's ``value`` is the list of people, evaluated and stored with ID numbers encrypted and
    masked (checklist.roster). An item outside the pinned checklists raises InvalidData (422)."""
    _writable(inspection, user)
    checklist, item = _lookup_item(inspection, item_code)
    if result is not None and result not in RESULTS:
        raise InvalidData({"result": [_l("Must be pass, fail or na.")]})
    note = _text(note, "note")
    if item.answer_type == "staff_roster":
        stored, derived = _roster_value(inspection, item, value)
    else:
        stored, derived = _derived_result(item, value)
    if result is None:
        result = derived
    elif derived == "fail" and result == "pass":
        raise InvalidData({"result": [_l("The answer fails this item: it cannot pass.")]})
    elif derived in ("pass", "fail") and result == "na":
        raise InvalidData({"result": [_l("An item with an answer cannot be not applicable.")]})
    if item.answer_type == "number" and item.fail_if and result in ("pass", "fail") and stored is None:
        raise InvalidData({"value": [_l("Enter the number.")]})
    answer = db.session.scalar(sa.select(Answer).where(Answer.inspection_id == inspection.id,
                                                       Answer.item_code == item.code))
    if answer is None:
        answer = Answer(checklist_code=checklist.code, item_code=item.code, result=result, value=stored, note=note,
                        answered_by_id=_uid(user), revision=1)
        inspection.answers.append(answer)
    elif (answer.result, answer.note) != (result, note) or canonical_json(answer.value) != canonical_json(stored):
        if item.answer_type == "staff_roster" and stored is not None and answer.value is not None \
                and _same_roster(answer.value, stored):
            stored = answer.value  # the same people: keep the stored tokens (encryption is randomised)
        if (answer.result, answer.note) != (result, note) or stored is not answer.value:
            answer.result, answer.value, answer.note = result, stored, note
            answer.answered_by_id = _uid(user)
            answer.revision += 1
    db.session.flush()
    return answer


def _same_roster(old: dict, new: dict) -> bool:
    def strip(value: dict):
        return [{k: v for k, v in p.items() if k != "id_encrypted"} for p in value.get("people", [])]
    return strip(old) == strip(new) and old.get("violations") == new.get("violations")


# --------------------------------------------------------------------------------------------
# Evidence

def add_evidence(inspection: Inspection, user, stream: BinaryIO, *, filename: str | None = None,
                 item_code: str | None = None, caption: str | None = None) -> Evidence:
    """Check the file by its content (JPEG, PNG, HEIC/WebP if supported; never SVG, never a PDF renamed
    .jpg), enforce INSPECT_MAX_UPLOAD_BYTES (413 via RequestEntityTooLarge), store the original under
    INSPECT_DATA_DIR by its SHA-256, read EXIF time and GPS, write a downscaled JPEG for display.
    The same file twice on one inspection returns the existing row (no duplicate)."""
    _require_member(inspection, user)
    _check_state(inspection)  # before reading the file; checked again under the lock
    if item_code not in (None, ""):
        _lookup_item(inspection, item_code)
    else:
        item_code = None
    caption = _text(caption, "caption", limit=500)
    name = os.path.basename(str(filename or "").replace("\\", "/"))[:255] or None
    stored = files.receive(stream)
    _writable(inspection, user)
    existing = db.session.scalar(sa.select(Evidence).where(Evidence.inspection_id == inspection.id,
                                                           Evidence.sha256 == stored.sha256))
    if existing is not None:
        return existing
    evidence = Evidence(item_code=item_code, sha256=stored.sha256, mime=stored.mime,
                        size_bytes=stored.size_bytes, original_name=name, stored_path=stored.stored_path,
                        thumb_path=stored.thumb_path, width=stored.width, height=stored.height,
                        taken_dt=stored.taken_dt, gps_lat=stored.gps_lat, gps_lon=stored.gps_lon, caption=caption,
                        uploaded_by_id=_uid(user), created_dt=now_utc())
    inspection.evidence.append(evidence)
    db.session.flush()
    return evidence


def evidence_file(evidence: Evidence, *, display: bool = False):
    """The absolute path of an evidence file (the original, or the downscaled JPEG for display)."""
    relative = evidence.thumb_path if display and evidence.thumb_path else evidence.stored_path
    return files.absolute_path(relative)


# --------------------------------------------------------------------------------------------
# Violations

_pinned_types_cache: dict[tuple, dict[str, ViolationType]] = {}


def violation_types_of(inspection: Inspection) -> dict[str, ViolationType]:
    """The violation catalogue by code as this inspection pinned it when it started: the pinned catalogue
    version, with the entries its pinned checklists carry (the same ones). Editing or removing an entry
    of ``checklists/violation_types.yaml`` later changes none of them.

    An inspection not started yet, or started before catalogues were pinned, reads the current catalogue
    (overlaid by the entries its pinned checklists carry, when it has any)."""
    pinned_checklists = tuple((row.code, row.version) for row in inspection.checklists)
    if inspection.catalogue_version is None:
        types = dict(_catalogue().violation_types)
        for code, version in pinned_checklists:
            types.update(_pinned(code, version).violation_types)
        return types
    key = (inspection.catalogue_version, pinned_checklists)
    if key not in _pinned_types_cache:  # pinned content never changes: safe to keep for the process
        from ..checklist.services import pinned_violation_types
        types = dict(pinned_violation_types(inspection.catalogue_version))
        for code, version in pinned_checklists:
            types.update(_pinned(code, version).violation_types)
        _pinned_types_cache[key] = types
    return _pinned_types_cache[key]


def violation_type_at(inspection: Inspection, code: str) -> ViolationType | None:
    """One catalogue entry as ``inspection`` pinned it (see :func:`violation_types_of`)."""
    return violation_types_of(inspection).get(code)


def pinned_types_by_inspection(inspection_ids) -> dict[int, dict[str, ViolationType]]:
    """:func:`violation_types_of` for many inspections at once (pages listing violations of several)."""
    ids = sorted(set(inspection_ids))
    if not ids:
        return {}
    rows = db.session.scalars(sa.select(Inspection).where(Inspection.id.in_(ids))
                              .options(selectinload(Inspection.checklists)))
    return {inspection.id: violation_types_of(inspection) for inspection in rows}


def violation_type_for(violation: Violation) -> ViolationType | None:
    """A recorded violation's catalogue entry (title, basis, penalty range, deadline, referral) as it was
    when its inspection pinned the catalogue: what every page, API and case computation reads."""
    return violation_type_at(violation.inspection, violation.type_code)


def _raised_by(answer: Answer, item: ChecklistItem) -> list[str]:
    if item.answer_type == "staff_roster" and isinstance(answer.value, dict):
        return [v["code"] for v in answer.value.get("violations", [])]
    return list(item.violations)


def _penalty_text(entry: ViolationType, locale: str) -> str | None:
    penalty = entry.penalty or {}
    return penalty.get("text_en" if locale.startswith("en") else "text_zh")


def proposed_violations(inspection: Inspection) -> list[dict]:
    """For each failed item without a recorded violation: the catalogue entry it raises, with basis,
    penalty range text, acting department and whether it is a suspected crime."""
    locale = _locale()
    index = item_index(inspection)
    recorded = {(v.item_code, v.type_code) for v in inspection.violations if v.status != "withdrawn"}
    proposals = []
    for answer in inspection.answers:
        if answer.result != "fail" or answer.item_code not in index:
            continue
        _checklist, item = index[answer.item_code]
        roster = {v["code"]: v for v in answer.value.get("violations", [])} \
            if item.answer_type == "staff_roster" and isinstance(answer.value, dict) else {}
        for code in _raised_by(answer, item):
            entry = violation_type_at(inspection, code)
            if entry is None or (item.code, code) in recorded:
                continue
            quantities = None
            if code in roster:
                quantities = {"persons": roster[code]["persons"]}
                if roster[code].get("person_months") is not None:
                    quantities["person_months"] = roster[code]["person_months"]
            proposals.append({
                "item_code": item.code, "type_code": code, "title": entry.title(locale), "title_zh": entry.title_zh,
                "title_en": entry.title_en, "basis": list(entry.basis), "penalty": _penalty_text(entry, locale),
                "acting_department": entry.acting_department, "severity": entry.severity,
                "criminal": entry.criminal_referral, "referral": entry.referral, "quantities": quantities})
    return proposals


def _quantities(value: Any) -> dict | None:
    if value in (None, {}):
        return None
    if not isinstance(value, dict) or len(value) > 20:
        raise InvalidData({"quantities": [_l("Must be an object of numbers, e.g. {\"persons\": 2}.")]})
    clean = {}
    for key, number in value.items():
        if not isinstance(key, str) or not key or len(key) > 40:
            raise InvalidData({"quantities": [_l("Must be an object of numbers, e.g. {\"persons\": 2}.")]})
        number = _number(number, "quantities", minimum=0)
        clean[key] = int(number) if number.is_integer() else number
    return clean


def record_violation(inspection: Inspection, user, *, type_code: str, description: str,
                     item_code: str | None = None, evidence_ids: tuple = (),
                     quantities: dict | None = None, suspected_crime: bool = False,
                     victims: list | None = None) -> Violation:
    """A confirmed violation. A suspected crime (catalogue ``criminal_referral``) also creates an urgent
    Referral to police due 24 hours later, and marks the violation ``restricted`` (possible victims).

    Beyond the first contract: ``suspected_crime=True`` sends a type whose criminal referral is not
    mandatory (gambling, prostitution introduced by an agency ...) to the police the same way, and
    ``victims`` (a list of plain objects: names, ages, ID numbers) is kept only encrypted on the referral."""
    member = _writable(inspection, user)
    entry = violation_type_at(inspection, type_code) if isinstance(type_code, str) else None
    if entry is None:
        raise InvalidData({"type_code": [_l("Unknown violation type.")]})
    description = _text(description, "description", required=True)
    if item_code not in (None, ""):
        _checklist, item = _lookup_item(inspection, item_code)
        if type_code not in item.violations:
            raise InvalidData({"type_code": [_l("This item does not raise that violation.")]})
        item_code = item.code
        for existing in inspection.violations:
            if existing.item_code == item_code and existing.type_code == type_code and existing.status != "withdrawn":
                if existing.description == description:
                    return existing  # a resubmission of the same finding
                raise InvalidData({"type_code": [_l("This violation is already recorded for this item.")]})
    else:
        item_code = None
    try:
        ids = sorted({int(i) for i in evidence_ids or ()})
    except (TypeError, ValueError):
        raise InvalidData({"evidence_ids": [_l("Must be a list of evidence ids.")]}) from None
    by_id = {e.id: e for e in inspection.evidence}
    if any(i not in by_id for i in ids):
        raise InvalidData({"evidence_ids": [_l("Evidence must be attached to this inspection first.")]})
    quantities = _quantities(quantities)
    referral = entry.referral or {}
    criminal = entry.criminal_referral
    if suspected_crime and not criminal:
        if referral.get("type") != "criminal":
            raise InvalidData({"suspected_crime": [_l("This violation type has no criminal referral: record the "
                                                      "red-flag item instead.")]})
        criminal = True
    if victims is not None and not isinstance(victims, list):
        raise InvalidData({"victims": [_l("Must be a list.")]})
    violation = Violation(inspection_id=inspection.id, entity_id=inspection.entity_id, item_code=item_code,
                          type_code=entry.code, acting_department=entry.acting_department, severity=entry.severity,
                          description=description, quantities=quantities, criminal=criminal, restricted=criminal,
                          status="open", created_by_id=_uid(user), created_dt=now_utc())
    violation.evidence = [by_id[i] for i in ids]
    inspection.violations.append(violation)
    db.session.flush()
    if criminal:
        from ..cases.referrals import seal_restricted  # one sealing for every referral (its inbox opens it)
        hours = int(referral.get("within_hours") or CRIMINAL_DUE_HOURS)
        now = now_utc()
        police = Referral(kind="criminal", from_department=member.department_code,
                          to_department=referral.get("department") or "police", entity_id=inspection.entity_id,
                          inspection_id=inspection.id, violation_id=violation.id, urgent=True,
                          due_dt=now + timedelta(hours=hours),
                          reason=f"{entry.title_zh}（{entry.code}）：{description}",
                          attachments=[{"evidence_id": e.id, "sha256": e.sha256} for e in violation.evidence],
                          restricted_data=seal_restricted({"victims": victims}) if victims else None,
                          status="pending", created_by_id=_uid(user), created_dt=now)
        db.session.add(police)
        db.session.flush()
        record_event(db.session, "inspection.criminal_referral", "referrals", police.id,
                     after={"violation_id": violation.id, "type_code": entry.code, "due": police.due_dt})
    violation_recorded.send(current_app._get_current_object(), violation=violation)
    return violation


def withdraw_violation(inspection: Inspection, user, violation: Violation, *, reason: str) -> Violation:
    """Withdraw a violation recorded by mistake, before completion (the reason is audited; a pending police
    referral it opened is cancelled with the same reason)."""
    _writable(inspection, user)
    if violation.inspection_id != inspection.id:
        raise InvalidData({"violation_id": [_l("Not a violation of this inspection.")]})
    reason = _text(reason, "reason", required=True, limit=500)
    if violation.status == "withdrawn":
        return violation
    violation.status = "withdrawn"
    for referral in db.session.scalars(sa.select(Referral).where(Referral.violation_id == violation.id,
                                                                 Referral.status == "pending")):
        referral.status = "cancelled"
        referral.outcome = reason
    db.session.flush()
    record_event(db.session, "inspection.violation_withdrawn", "violations", violation.id,
                 after={"reason": reason, "by": _uid(user), "criminal": violation.criminal})
    return violation


def can_see_restricted(user, inspection: Inspection) -> bool:
    """Details of possible victims: the team, and those who hold ``violations.restricted`` in the county."""
    from ..auth.permissions import can
    return is_member(inspection, user) or can(user, "violations.restricted", inspection)


# --------------------------------------------------------------------------------------------
# Signatures

def sign(inspection: Inspection, user, *, role: str, signer_name: str, png: bytes | None = None,
         officer=None, refused: bool = False, note: str | None = None) -> Signature:
    """Store a drawn signature (PNG checked by content, hashed) in its slot, or the party's refusal
    (``refused=True``; a witness then signs with role ``witness``)."""
    _writable(inspection, user)
    if role not in SIGNATURE_ROLES:
        raise InvalidData({"role": [_l("Must be one of: %(values)s.", values=", ".join(SIGNATURE_ROLES))]})
    note = _text(note, "note", limit=500)
    user_id = None
    if role == "officer":
        officer = _user(officer if officer is not None else user)
        if officer is None or _member(inspection, officer) is None:
            raise InvalidData({"officer_id": [_l("This officer is not on the inspection's team.")]})
        if refused:
            raise InvalidData({"refused": [_l("Only the party can refuse to sign.")]})
        slot, user_id = f"officer:{officer.id}", officer.id
        signer_name = _text(signer_name, "signer_name", limit=100) or officer.full_name
    else:
        slot = role
        signer_name = _text(signer_name, "signer_name", required=True, limit=100)
        if refused and role != "party":
            raise InvalidData({"refused": [_l("Only the party can refuse to sign.")]})
    if refused:
        png, sha = None, None
    else:
        if png is None:
            raise InvalidData({"png": [_l("Draw the signature.")]})
        sha = files.check_signature_png(png)
    signature = next((s for s in inspection.signatures if s.slot == slot), None)
    if signature is None:
        signature = Signature(slot=slot)
        inspection.signatures.append(signature)
    elif (signature.sha256, signature.refused, signature.signer_name, signature.note) == \
            (sha, bool(refused), signer_name, note):
        return signature  # a resend of the same signature
    signature.role, signature.user_id, signature.signer_name = role, user_id, signer_name
    signature.refused, signature.note, signature.image_png, signature.sha256 = bool(refused), note, png, sha
    signature.signed_dt = now_utc()
    db.session.flush()
    return signature


# --------------------------------------------------------------------------------------------
# Completion

def _item_label(item: ChecklistItem, locale: str) -> str:
    return f"{item.code}: {item.question(locale)}"


def _evidence_items(inspection: Inspection) -> set[str]:
    """Items that have evidence: attached to the item, or to a violation recorded for it."""
    covered = {e.item_code for e in inspection.evidence if e.item_code}
    covered |= {v.item_code for v in inspection.violations if v.item_code and v.evidence}
    return covered


def missing_for_completion(inspection: Inspection, *, outcome: str | None = None) -> dict[str, list[str]]:
    """What stops completion, by field: unanswered required items, evidence required by failed items,
    fewer than two attesting officers with credential numbers, a missing check-in, officers' and the
    party's signatures (or a refusal with a witness).

    ``outcome`` ``closed_premises`` or ``refused_entry`` completes without the checklist and the party."""
    locale = _locale()
    missing: dict[str, list[str]] = {}

    def add(field: str, message) -> None:
        missing.setdefault(field, []).append(str(message))

    if inspection.status == "planned":
        add("status", _l("The inspection has not been started."))
        return missing
    attested = {a.user_id for a in inspection.attestations
                if a.statement == CREDENTIALS_AND_RECUSAL and a.credential_number}
    if len(attested) < 2:
        add("attestations", _l("At least two officers must confirm that they showed their credentials and explained "
                               "the right to ask for recusal (行政处罚法 Arts 42, 43, 55): %(n)d so far.",
                               n=len(attested)))
    if not inspection.checkins:
        add("check_in", _l("Check in at the premises."))
    early = outcome in EARLY_OUTCOMES
    if not early:
        answers = {a.item_code: a for a in inspection.answers}
        with_evidence = _evidence_items(inspection)
        for item in _required_items(inspection):
            answer = answers.get(item.code)
            if item.answer_type == "photo":
                if item.code not in with_evidence and (answer is None or answer.result != "na"):
                    add("evidence", _l("%(item)s — attach a photo (or mark it not applicable).",
                                       item=_item_label(item, locale)))
                continue
            if answer is None or answer.result is None:
                add("answers", _l("%(item)s — not answered.", item=_item_label(item, locale)))
            elif answer.result == "fail" and item.evidence_required and item.code not in with_evidence:
                add("evidence", _l("%(item)s — failed: attach the evidence.", item=_item_label(item, locale)))
        recorded = {v.item_code for v in inspection.violations if v.item_code and v.status != "withdrawn"}
        index = item_index(inspection)
        for answer in inspection.answers:
            if answer.result == "fail" and answer.item_code in index and answer.item_code not in recorded:
                item = index[answer.item_code][1]
                if _raised_by(answer, item):
                    add("violations", _l("%(item)s — failed: record the violation it raises.",
                                         item=_item_label(item, locale)))
    signed = {s.slot: s for s in inspection.signatures}
    names = {m.user_id: m.user.full_name for m in inspection.members}
    for user_id in sorted(attested):
        if f"officer:{user_id}" not in signed:
            add("signatures", _l("Signature of officer %(name)s.", name=names.get(user_id, user_id)))
    if not early:
        party = signed.get("party")
        if party is None:
            add("signatures", _l("Signature of the party's representative, or their refusal with a witness."))
        elif party.refused and "witness" not in signed:
            add("signatures", _l("The party refused to sign: a witness must sign."))
    return missing


def progress(inspection: Inspection) -> dict:
    """Answered and required items (for the progress bar)."""
    answered = {a.item_code for a in inspection.answers if a.result is not None}
    with_evidence = _evidence_items(inspection)
    required = _required_items(inspection)
    done = sum(1 for item in required if item.code in answered
               or (item.answer_type == "photo" and item.code in with_evidence))
    return {"answered": done, "required": len(required)}


def _dt(value: datetime | None) -> str | None:
    return value.astimezone(timezone.utc).isoformat() if value else None


def build_record(inspection: Inspection) -> dict:
    """The plain JSON record of the inspection as completed (what record_sha256 is computed over)."""
    entity = inspection.entity
    members = {m.user_id: m for m in inspection.members}
    return {
        "schema": 1,
        "inspection": {"id": inspection.id, "origin": inspection.origin, "campaign_id": inspection.campaign_id,
                       "cause_note": inspection.cause_note, "follows_id": inspection.follows_id,
                       "scheduled_date": inspection.scheduled_date.isoformat() if inspection.scheduled_date else None,
                       "region_code": inspection.region_code, "lead_department": inspection.lead_department,
                       "started_at": _dt(inspection.started_dt), "completed_at": _dt(inspection.completed_dt),
                       "completed_by": inspection.completed_by_id, "outcome": inspection.outcome,
                       "party_name": inspection.party_name, "party_role": inspection.party_role},
        "entity": {"id": entity.id, "kind": entity.kind, "subtype": entity.subtype, "name": entity.name,
                   "credit_code": entity.credit_code, "legal_representative": entity.legal_representative,
                   "address": entity.address, "region_code": entity.region_code, "lat": entity.lat,
                   "lon": entity.lon, "status": entity.status,
                   "licences": [{"type": lic.type, "number": lic.number, "department": lic.department,
                                 "issued_on": lic.issued_on.isoformat() if lic.issued_on else None,
                                 "expires_on": lic.expires_on.isoformat() if lic.expires_on else None,
                                 "status": lic.status} for lic in entity.licences]},
        "team": [{"user_id": m.user_id, "name": m.user.full_name, "department": m.department_code,
                  "credential_number": m.user.credential_number} for m in inspection.members],
        "checklists": [{"code": c.code, "version": c.version} for c in inspection.checklists],
        "violation_catalogue": inspection.catalogue_version,
        "attestations": [{"user_id": a.user_id, "statement": a.statement, "method": a.method,
                          "credential_number": a.credential_number, "at": _dt(a.attested_dt)}
                         for a in inspection.attestations],
        "check_ins": [{"user_id": c.user_id, "lat": c.lat, "lon": c.lon, "accuracy_m": c.accuracy_m,
                       "at": _dt(c.client_dt), "received_at": _dt(c.received_dt), "distance_m": c.distance_m,
                       "flags": list(c.flags or []), "reason": c.reason} for c in inspection.checkins],
        "answers": [{"item_code": a.item_code, "checklist": a.checklist_code, "result": a.result,
                     "value": answer_public_value(a), "note": a.note, "by": a.answered_by_id,
                     "revision": a.revision, "at": _dt(a.updated_dt)}
                    for a in sorted(inspection.answers, key=lambda a: a.item_code)],
        "evidence": [{"id": e.id, "sha256": e.sha256, "mime": e.mime, "size_bytes": e.size_bytes,
                      "item_code": e.item_code, "caption": e.caption, "taken_at": _dt(e.taken_dt),
                      "gps": [e.gps_lat, e.gps_lon] if e.gps_lat is not None else None,
                      "by": e.uploaded_by_id, "at": _dt(e.created_dt)} for e in inspection.evidence],
        "violations": [{"id": v.id, "type_code": v.type_code, "item_code": v.item_code,
                        "acting_department": v.acting_department, "severity": v.severity,
                        "description": v.description, "quantities": v.quantities, "criminal": v.criminal,
                        "restricted": v.restricted, "evidence": [e.id for e in v.evidence],
                        "by": v.created_by_id, "at": _dt(v.created_dt)} for v in inspection.violations],
        "signatures": [{"slot": s.slot, "role": s.role, "user_id": s.user_id, "name": s.signer_name,
                        "credential_number": members[s.user_id].user.credential_number
                        if s.user_id in members else None,
                        "refused": s.refused, "note": s.note, "sha256": s.sha256, "at": _dt(s.signed_dt)}
                       for s in inspection.signatures],
    }


def record_hash(record: dict) -> str:
    """SHA-256 of the record's canonical JSON (sorted keys, no spaces, UTF-8)."""
    return hashlib.sha256(canonical_json(record)).hexdigest()


def complete(inspection: Inspection, user, *, outcome: str | None = None) -> Inspection:
    """Refuse with :class:`Incomplete` listing what is missing; else freeze: status ``completed``, the
    outcome, the plain JSON record and its SHA-256. A second call raises InspectionStateError (409).

    ``outcome`` may say ``closed_premises`` or ``refused_entry``: the checklist and the party's signature
    are then not required (the officers still attest, check in and sign)."""
    _writable(inspection, user)
    if outcome is not None and outcome not in EARLY_OUTCOMES:
        raise InvalidData({"outcome": [_l("Must be one of: %(values)s.", values=", ".join(EARLY_OUTCOMES))]})
    missing = missing_for_completion(inspection, outcome=outcome)
    if missing:
        raise Incomplete(missing)
    found = [v for v in inspection.violations if v.status != "withdrawn"]
    if outcome is None:
        outcome = "referred" if any(v.criminal for v in found) else ("violations" if found else "compliant")
    assert outcome in OUTCOMES
    with db.session.no_autoflush:  # one flush for the whole freeze: the guard refuses any later change
        inspection.status = "completed"
        inspection.outcome = outcome
        inspection.completed_dt = now_utc()
        inspection.completed_by_id = _uid(user)
        record = build_record(inspection)
        inspection.record = record
        inspection.record_sha256 = record_hash(record)
    db.session.flush()
    record_event(db.session, "inspection.complete", "inspections", inspection.id,
                 after={"outcome": outcome, "record_sha256": inspection.record_sha256, "by": _uid(user)})
    inspection_completed.send(current_app._get_current_object(), inspection=inspection)
    return inspection


def amend(inspection: Inspection, user, *, reason: str, changes: dict) -> Amendment:
    """A correction to a completed inspection, kept beside the frozen record.

    Team members and, in their county, holders of ``inspections.amend`` (supervisors) may amend."""
    from ..auth.permissions import can
    if not is_member(inspection, user) and not can(user, "inspections.amend", inspection):
        raise NotOnTeam(f"user {_uid(user)} may not amend inspection {inspection.id}")
    _lock(inspection)
    if inspection.status != "completed":
        raise InspectionStateError(_l("Only a completed inspection is amended; change this one directly."),
                                   code="inspection_not_completed")
    reason = _text(reason, "reason", required=True)
    if not isinstance(changes, dict) or not changes:
        raise InvalidData({"changes": [_l("Say what changes, e.g. {\"answers.<item>\": \"...\"}.")]})
    try:
        size = len(canonical_json(changes))
    except (TypeError, ValueError):
        raise InvalidData({"changes": [_l("Must be plain JSON.")]}) from None
    if size > 20_000:
        raise InvalidData({"changes": [_l("At most %(n)d characters.", n=20_000)]})
    amendment = Amendment(reason=reason, changes=changes, created_by_id=_uid(user), created_dt=now_utc())
    inspection.amendments.append(amendment)
    db.session.flush()
    record_event(db.session, "inspection.amend", "inspections", inspection.id,
                 after={"amendment_id": amendment.id, "reason": reason, "record_sha256": inspection.record_sha256})
    return amendment
