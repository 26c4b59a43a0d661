"""/api/v1/inspections and /api/v1/violations: the field inspection over HTTP (design.md 4.2).

Every write goes through ``services.py`` (the same functions as the tablet pages) and honours
``Idempotency-Key`` (``api/idempotency.py``; multipart uploads are compared by their fields and the
SHA-256 of their files, so a resent photo with a new boundary still replays). Errors: 403 when the
user is not on the team, 409 when the inspection is completed or cancelled (``error.code`` says which),
413 and 415 for refused files, 422 with ``error.fields`` for bad input and for an incomplete inspection.
"""
from __future__ import annotations

import base64
import binascii
from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app, jsonify, send_file
from flask.views import MethodView
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from flask_smorest.fields import Upload
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy.orm import joinedload, selectinload

from ..api.idempotency import never_stored
from ..api.schemas import PageArgsSchema, page_schema, paginate
from ..auth.permissions import authorize, can, permission_required
from ..errors import ApiError, InvalidData
from ..extensions import db
from . import services as svc
from .models import INSPECTION_STATUSES, Evidence, Inspection, InspectionMember, Referral, Violation

blp = Blueprint("api_inspections", __name__, url_prefix="/api/v1",
                description="Field inspections: assignments, check-in, checklist, evidence, violations, signatures")

MAX_SIGNATURE_BASE64 = 1_000_000


# --------------------------------------------------------------------------------------------
# Bodies

def _iso(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat()
    return value.isoformat()


def _locale() -> str:
    return str(get_locale() or "zh_CN")


def evidence_body(inspection: Inspection, evidence: Evidence) -> dict:
    base = f"/api/v1/inspections/{inspection.id}/evidence/{evidence.id}/file"
    return {"id": evidence.id, "sha256": evidence.sha256, "mime": evidence.mime, "size_bytes": evidence.size_bytes,
            "original_name": evidence.original_name, "item_code": evidence.item_code, "caption": evidence.caption,
            "width": evidence.width, "height": evidence.height, "taken_at": _iso(evidence.taken_dt),
            "gps_lat": evidence.gps_lat, "gps_lon": evidence.gps_lon, "uploaded_by": evidence.uploaded_by_id,
            "created_at": _iso(evidence.created_dt), "url": base, "display_url": base + "?size=display"}


def violation_body(violation: Violation, see_restricted: bool, referral: Referral | None = None) -> dict:
    entry = svc.violation_type_for(violation)
    hidden = violation.restricted and not see_restricted
    body = {"id": violation.id, "inspection_id": violation.inspection_id, "entity_id": violation.entity_id,
            "type_code": violation.type_code, "title": entry.title(_locale()) if entry else violation.type_code,
            "item_code": violation.item_code, "acting_department": violation.acting_department,
            "severity": violation.severity, "status": violation.status, "criminal": violation.criminal,
            "restricted": violation.restricted, "description": None if hidden else violation.description,
            "quantities": None if hidden else violation.quantities,
            "evidence_ids": [] if hidden else [e.id for e in violation.evidence],
            "created_at": _iso(violation.created_dt), "created_by": violation.created_by_id, "referral": None}
    if referral is not None:
        body["referral"] = {"id": referral.id, "kind": referral.kind, "to_department": referral.to_department,
                            "urgent": referral.urgent, "due_at": _iso(referral.due_dt), "status": referral.status}
    return body


def _referrals(violation_ids: list[int]) -> dict[int, Referral]:
    if not violation_ids:
        return {}
    rows = db.session.scalars(sa.select(Referral).where(Referral.violation_id.in_(violation_ids)))
    return {r.violation_id: r for r in rows}


def checklist_body(checklist, pinned: bool, subtype: str | None) -> dict:
    locale = _locale()
    return {"code": checklist.code, "version": checklist.version, "pinned": pinned, "joint": checklist.joint,
            "department": checklist.department, "title": checklist.title(locale),
            "items": [{"code": item.code, "local_code": item.local_code, "question": item.question(locale),
                       "answer_type": item.answer_type, "help": item.help(locale), "fail_on": item.fail_on,
                       "fail_if": item.fail_if, "unit": item.unit, "evidence_required": item.evidence_required,
                       "violations": list(item.violations), "basis": list(item.basis)}
                      for item in checklist.items if item.applies_to(subtype)]}


def detail_body(inspection: Inspection) -> dict:
    """Everything the tablet needs about one inspection (design.md 4.2 fields first)."""
    see_restricted = svc.can_see_restricted(current_user, inspection)
    attested = {a.user_id for a in inspection.attestations}
    signed = {s.user_id for s in inspection.signatures if s.role == "officer"}
    referrals = _referrals([v.id for v in inspection.violations])
    body = {
        "id": inspection.id, "entity_id": inspection.entity_id, "campaign_id": inspection.campaign_id,
        "date": _iso(inspection.scheduled_date), "status": inspection.status,
        "team": [{"user_id": m.user_id, "department": m.department_code, "username": m.user.username,
                  "full_name": m.user.full_name, "credential_number": m.user.credential_number,
                  "attested": m.user_id in attested, "signed": m.user_id in signed} for m in inspection.members],
        "checklists": [checklist_body(c, pinned, inspection.entity.subtype)
                       for c, pinned in svc.checklists_for(inspection)],
        "origin": inspection.origin, "cause_note": inspection.cause_note, "lead_department": inspection.lead_department,
        "region_code": inspection.region_code, "route_position": inspection.route_position,
        "follows_id": inspection.follows_id, "focus_items": inspection.focus_items,
        "party_name": inspection.party_name, "party_role": inspection.party_role,
        "started_at": _iso(inspection.started_dt), "completed_at": _iso(inspection.completed_dt),
        "outcome": inspection.outcome, "record_sha256": inspection.record_sha256,
        "summary": svc.assignment_summary(inspection),
        "attestations": [{"id": a.id, "user_id": a.user_id, "statement": a.statement, "method": a.method,
                          "credential_number": a.credential_number, "attested_at": _iso(a.attested_dt)}
                         for a in inspection.attestations],
        "check_ins": [checkin_body(c) for c in inspection.checkins],
        "answers": [answer_body(a) for a in inspection.answers],
        "evidence": [evidence_body(inspection, e) for e in inspection.evidence],
        "violations": [violation_body(v, see_restricted, referrals.get(v.id)) for v in inspection.violations],
        "proposed_violations": svc.proposed_violations(inspection) if inspection.status == "in_progress" else [],
        "signatures": [signature_body(s) for s in inspection.signatures],
        "amendments": [{"id": a.id, "reason": a.reason, "changes": a.changes, "created_by": a.created_by_id,
                        "created_at": _iso(a.created_dt)} for a in inspection.amendments],
        "progress": svc.progress(inspection) if inspection.checklists else None,
        "missing": svc.missing_for_completion(inspection) if inspection.status == "in_progress" else {},
    }
    return body


def checkin_body(fix) -> dict:
    return {"id": fix.id, "user_id": fix.user_id, "lat": fix.lat, "lon": fix.lon, "accuracy_m": fix.accuracy_m,
            "at": _iso(fix.client_dt), "received_at": _iso(fix.received_dt), "distance_m": fix.distance_m,
            "flagged": bool(fix.flags), "flags": list(fix.flags or []), "reason": fix.reason,
            "max_distance_m": float(current_app.config.get("INSPECT_CHECKIN_MAX_DISTANCE_M",
                                                           svc.DEFAULT_CHECKIN_MAX_DISTANCE_M))}


def answer_body(answer) -> dict:
    return {"id": answer.id, "item_code": answer.item_code, "checklist_code": answer.checklist_code,
            "result": answer.result, "value": svc.answer_public_value(answer), "note": answer.note,
            "revision": answer.revision, "answered_by": answer.answered_by_id, "updated_at": _iso(answer.updated_dt)}


def signature_body(signature) -> dict:
    return {"id": signature.id, "slot": signature.slot, "role": signature.role, "user_id": signature.user_id,
            "signer_name": signature.signer_name, "refused": signature.refused, "note": signature.note,
            "sha256": signature.sha256, "signed_at": _iso(signature.signed_dt)}


def list_item(inspection: Inspection) -> dict:
    summary = svc.assignment_summary(inspection)
    return {**summary, "entity_id": inspection.entity_id}


# --------------------------------------------------------------------------------------------
# Schemas (bodies are built above; these document them and keep their keys)

class InspectionListArgsSchema(PageArgsSchema):
    mine = fields.Boolean(load_default=False, metadata={"description": "only inspections whose team I am on"})
    date = fields.Date(load_default=None, metadata={"description": "scheduled day (with mine=1: my route for the "
                                                                   "day, plus inspections still in progress)"})
    status = fields.String(validate=validate.OneOf(INSPECTION_STATUSES), load_default=None)
    entity_id = fields.Integer(load_default=None)
    campaign_id = fields.Integer(load_default=None)


class InspectionListItemSchema(Schema):
    id = fields.Integer()
    entity_id = fields.Integer()
    campaign_id = fields.Integer(allow_none=True)
    date = fields.String(allow_none=True)
    status = fields.String()
    origin = fields.String()
    route_position = fields.Integer(allow_none=True)
    lead_department = fields.String()
    team = fields.List(fields.Dict())
    entity = fields.Dict(metadata={"description": "name, kind, address, licence_state, licences, risk_score ..."})
    last_inspection = fields.Dict(allow_none=True)
    open_violations = fields.List(fields.Dict())
    location = fields.Dict(allow_none=True, metadata={"description": "lat, lon (WGS-84), geo_uri"})
    progress = fields.Dict(allow_none=True)


class InspectionDetailSchema(Schema):
    id = fields.Integer()
    entity_id = fields.Integer()
    campaign_id = fields.Integer(allow_none=True)
    date = fields.String(allow_none=True)
    status = fields.String()
    team = fields.List(fields.Dict())
    checklists = fields.List(fields.Dict(), metadata={"description": "[{code, version, pinned, title, items: "
                                                                     "[{code, question, answer_type ...}]}]"})
    origin = fields.String()
    cause_note = fields.String(allow_none=True)
    lead_department = fields.String()
    region_code = fields.String()
    route_position = fields.Integer(allow_none=True)
    follows_id = fields.Integer(allow_none=True)
    focus_items = fields.List(fields.String(), allow_none=True)
    party_name = fields.String(allow_none=True)
    party_role = fields.String(allow_none=True)
    started_at = fields.String(allow_none=True)
    completed_at = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    record_sha256 = fields.String(allow_none=True)
    summary = fields.Dict()
    attestations = fields.List(fields.Dict())
    check_ins = fields.List(fields.Dict())
    answers = fields.List(fields.Dict())
    evidence = fields.List(fields.Dict())
    violations = fields.List(fields.Dict())
    proposed_violations = fields.List(fields.Dict())
    signatures = fields.List(fields.Dict())
    amendments = fields.List(fields.Dict())
    progress = fields.Dict(allow_none=True)
    missing = fields.Dict(metadata={"description": "what stops completion, by field (as the 422 of /complete)"})


class CreateInspectionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    entity_id = fields.Integer(required=True)
    lead_department = fields.String(required=True)
    officers = fields.List(fields.Integer(), load_default=None, metadata={"description": "user ids, two or more"})
    team = fields.List(fields.Dict(), load_default=None, metadata={"description": "or [{user_id}] as the draw gives"})
    date = fields.Date(required=True)
    cause_note = fields.String(load_default=None, allow_none=True)


class StartSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    party_name = fields.Raw(load_default=None, allow_none=True)
    party_role = fields.Raw(load_default=None, allow_none=True)


class AttestSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    officer_id = fields.Integer(load_default=None, allow_none=True,
                                metadata={"description": "default: the signed-in user (method session)"})
    method = fields.String(load_default="session", metadata={"description": "session | pin | password"})
    secret = fields.String(load_default=None, allow_none=True, load_only=True,
                           metadata={"description": "the partner's PIN or password"})


class AttestationSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    statement = fields.String()
    method = fields.String()
    credential_number = fields.String(allow_none=True)
    attested_at = fields.DateTime(attribute="attested_dt")


class CheckInInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    lat = fields.Raw(required=True, metadata={"description": "WGS-84 (browser geolocation)"})
    lon = fields.Raw(required=True)
    accuracy_m = fields.Raw(load_default=None, allow_none=True)
    at = fields.Raw(load_default=None, allow_none=True, metadata={"description": "ISO 8601 time of the fix"})
    reason = fields.Raw(load_default=None, allow_none=True,
                        metadata={"description": "required when farther than the threshold"})


class CheckInSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    lat = fields.Float()
    lon = fields.Float()
    accuracy_m = fields.Float(allow_none=True)
    at = fields.String()
    received_at = fields.String()
    distance_m = fields.Float(allow_none=True)
    flagged = fields.Boolean()
    flags = fields.List(fields.String(), metadata={"description": "far | no_accuracy | too_fast | no_location"})
    reason = fields.String(allow_none=True)
    max_distance_m = fields.Float()


class AnswerInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    result = fields.Raw(load_default=None, allow_none=True, metadata={"description": "pass | fail | na"})
    value = fields.Raw(load_default=None, allow_none=True,
                       metadata={"description": "yes/no/na, a number, text, or the roster's people"})
    note = fields.Raw(load_default=None, allow_none=True)


class AnswerSchema(Schema):
    id = fields.Integer()
    item_code = fields.String()
    checklist_code = fields.String()
    result = fields.String(allow_none=True)
    value = fields.Raw(allow_none=True)
    note = fields.String(allow_none=True)
    revision = fields.Integer()
    answered_by = fields.Integer(allow_none=True)
    updated_at = fields.String()


class EvidenceUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "a JPEG, PNG or WebP photo (checked by its content)"})


class EvidenceFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    item_code = fields.String(load_default=None)
    caption = fields.String(load_default=None)


class EvidenceSchema(Schema):
    id = fields.Integer()
    sha256 = fields.String()
    mime = fields.String()
    size_bytes = fields.Integer()
    original_name = fields.String(allow_none=True)
    item_code = fields.String(allow_none=True)
    caption = fields.String(allow_none=True)
    width = fields.Integer(allow_none=True)
    height = fields.Integer(allow_none=True)
    taken_at = fields.String(allow_none=True, metadata={"description": "EXIF DateTimeOriginal"})
    gps_lat = fields.Float(allow_none=True, metadata={"description": "EXIF GPS, WGS-84"})
    gps_lon = fields.Float(allow_none=True)
    uploaded_by = fields.Integer(allow_none=True)
    created_at = fields.String()
    url = fields.String()
    display_url = fields.String()


class FileArgsSchema(Schema):
    size = fields.String(load_default="original", validate=validate.OneOf(["original", "display"]))


class ViolationInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type_code = fields.Raw(required=True)
    description = fields.Raw(required=True)
    item_code = fields.Raw(load_default=None, allow_none=True)
    evidence_ids = fields.List(fields.Raw(), load_default=list)
    quantities = fields.Raw(load_default=None, allow_none=True)
    suspected_crime = fields.Boolean(load_default=False)
    victims = fields.Raw(load_default=None, allow_none=True, load_only=True,
                         metadata={"description": "possible victims' details: stored only encrypted"})


class ViolationSchema(Schema):
    id = fields.Integer()
    inspection_id = fields.Integer()
    entity_id = fields.Integer()
    type_code = fields.String()
    title = fields.String()
    item_code = fields.String(allow_none=True)
    acting_department = fields.String()
    severity = fields.String()
    status = fields.String()
    criminal = fields.Boolean()
    restricted = fields.Boolean()
    description = fields.String(allow_none=True, metadata={"description": "null when restricted from you"})
    quantities = fields.Dict(allow_none=True)
    evidence_ids = fields.List(fields.Integer())
    created_at = fields.String()
    created_by = fields.Integer(allow_none=True)
    referral = fields.Dict(allow_none=True)


class ViolationListArgsSchema(PageArgsSchema):
    entity_id = fields.Integer(load_default=None)
    inspection_id = fields.Integer(load_default=None)
    status = fields.String(load_default=None, validate=validate.OneOf(["open", "withdrawn", "closed"]))
    type_code = fields.String(load_default=None)
    department = fields.String(load_default=None, metadata={"description": "acting department"})
    criminal = fields.Boolean(load_default=None)


class ProposedSchema(Schema):
    items = fields.List(fields.Dict())


class SignatureInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    role = fields.String(required=True, metadata={"description": "officer | party | witness"})
    signer_name = fields.String(load_default=None, allow_none=True)
    officer_id = fields.Integer(load_default=None, allow_none=True)
    png = fields.String(load_default=None, allow_none=True,
                        metadata={"description": "the drawing: base64 PNG or a data:image/png;base64 URL"})
    refused = fields.Boolean(load_default=False)
    note = fields.String(load_default=None, allow_none=True)


class SignatureSchema(Schema):
    id = fields.Integer()
    slot = fields.String()
    role = fields.String()
    user_id = fields.Integer(allow_none=True)
    signer_name = fields.String()
    refused = fields.Boolean()
    note = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    signed_at = fields.String()


class CompleteSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    outcome = fields.String(load_default=None, allow_none=True,
                            metadata={"description": "closed_premises | refused_entry: complete without the checklist"})


class MissingSchema(Schema):
    complete = fields.Boolean()
    fields_ = fields.Dict(data_key="fields", attribute="fields")


class AmendmentInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    reason = fields.Raw(required=True)
    changes = fields.Raw(required=True)


class AmendmentSchema(Schema):
    id = fields.Integer()
    inspection_id = fields.Integer()
    reason = fields.String()
    changes = fields.Dict()
    created_by = fields.Integer(attribute="created_by_id", allow_none=True)
    created_at = fields.DateTime(attribute="created_dt")


class RecordSchema(Schema):
    id = fields.Integer()
    record_sha256 = fields.String()
    record = fields.Dict()


# --------------------------------------------------------------------------------------------
# Loading and scope

def load_inspection(inspection_id: int, permission: str = "inspections.view") -> Inspection:
    # what every write reads (team, pinned lists, the entity) in one round trip each, not lazily
    inspection = db.session.get(Inspection, inspection_id, options=[
        selectinload(Inspection.members), selectinload(Inspection.checklists), joinedload(Inspection.entity)])
    if inspection is None:
        raise ApiError(404, _("Not found."))
    if not svc.is_member(inspection, current_user):
        authorize(permission, inspection)
    return inspection


def _city() -> str:
    return current_app.extensions["inspect_reference"].city.code


def _scoped(stmt):
    if current_user.region_code != _city():
        stmt = stmt.where(Inspection.region_code == current_user.region_code)
    return stmt


# --------------------------------------------------------------------------------------------
# Endpoints

@blp.route("/inspections")
class Inspections(MethodView):
    @permission_required("inspections.view")
    @blp.arguments(InspectionListArgsSchema, location="query")
    @blp.response(200, page_schema(InspectionListItemSchema, "InspectionPage"))
    def get(self, args):
        """Inspections in my county; ``mine=1&date=`` is my route for the day, in visiting order, with
        each entity's summary, last result, open violations and coordinates for navigation."""
        if args["mine"] and args["date"] and not any(args.get(k) for k in ("status", "entity_id", "campaign_id")):
            found = svc.assignments_for(current_user, args["date"])
            page, per_page = args["page"], args["per_page"]
            chunk = found[(page - 1) * per_page: page * per_page]
            return {"items": [list_item(i) for i in chunk], "total": len(found), "page": page, "per_page": per_page}
        stmt = _scoped(sa.select(Inspection))
        if args["mine"]:
            stmt = stmt.where(Inspection.id.in_(sa.select(InspectionMember.inspection_id)
                                                .where(InspectionMember.user_id == current_user.id)))
        if args["date"]:
            stmt = stmt.where(Inspection.scheduled_date == args["date"])
        for key in ("status", "entity_id", "campaign_id"):
            if args.get(key) is not None:
                stmt = stmt.where(getattr(Inspection, key) == args[key])
        stmt = stmt.order_by(Inspection.scheduled_date.desc(), Inspection.route_position, Inspection.id)
        body = paginate(db.session, stmt, args)
        body["items"] = [list_item(i) for i in body["items"]]
        return body

    @permission_required("inspections.create")
    @blp.arguments(CreateInspectionSchema)
    @blp.response(201, InspectionDetailSchema)
    def post(self, data):
        """A single inspection planned by hand (origin ``manual``, or ``cause`` with a ``cause_note``)."""
        from ..registry.models import Entity
        entity = db.session.get(Entity, data["entity_id"])
        if entity is None:
            raise InvalidData({"entity_id": [_("Not found.")]})
        authorize("inspections.create", entity)
        officers = data["officers"]
        if officers is None:
            officers = [member.get("user_id") for member in data["team"] or []]
        try:
            officers = [int(o) for o in officers]
        except (TypeError, ValueError):
            raise InvalidData({"officers": [_("Must be a list of user ids.")]}) from None
        inspection = svc.create_manual_inspection(entity, lead_department=data["lead_department"], officers=officers,
                                                  scheduled_date=data["date"], created_by=current_user,
                                                  cause_note=data["cause_note"])
        return detail_body(inspection)


@blp.route("/inspections/<int:inspection_id>")
class InspectionItem(MethodView):
    @permission_required("inspections.view")
    @blp.response(200, InspectionDetailSchema)
    def get(self, inspection_id):
        """One inspection with its team, checklists (pinned versions once started) and everything recorded."""
        return detail_body(load_inspection(inspection_id))


@blp.route("/inspections/<int:inspection_id>/start")
class InspectionStart(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(StartSchema)
    @blp.response(200, InspectionDetailSchema)
    @blp.alt_response(403, description="Not on the team")
    @blp.alt_response(409, description="Completed or cancelled")
    def post(self, data, inspection_id):
        """Start: pin the checklist versions that apply; idempotent while in progress."""
        inspection = load_inspection(inspection_id)
        svc.start_inspection(inspection, current_user, party_name=data["party_name"], party_role=data["party_role"])
        return detail_body(inspection)


@blp.route("/inspections/<int:inspection_id>/attestations")
class InspectionAttestations(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(AttestSchema)
    @blp.response(201, AttestationSchema)
    def post(self, data, inspection_id):
        """An officer confirms credentials shown and recusal explained (行政处罚法 Arts 42, 43, 55); a partner
        with their own PIN or password (``method`` pin/password, ``secret``). Wrong secrets count towards
        the partner's lock-out."""
        inspection = load_inspection(inspection_id)
        return svc.attest(inspection, current_user, data["officer_id"] or current_user.id, method=data["method"],
                          secret=data["secret"])


@blp.route("/inspections/<int:inspection_id>/check-in")
class InspectionCheckIn(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(CheckInInputSchema)
    @blp.response(201, CheckInSchema)
    def post(self, data, inspection_id):
        """A position fix at the premises: distance to the registered location and plausibility flags."""
        inspection = load_inspection(inspection_id)
        fix = svc.check_in(inspection, current_user, lat=data["lat"], lon=data["lon"], accuracy_m=data["accuracy_m"],
                           at=data["at"] if data["at"] not in (None, "") else datetime.now(timezone.utc),
                           reason=data["reason"])
        return checkin_body(fix)


@blp.route("/inspections/<int:inspection_id>/answers/<item_code>")
class InspectionAnswer(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(AnswerInputSchema)
    @blp.response(200, AnswerSchema)
    def put(self, data, inspection_id, item_code):
        """Save the answer to one item of the pinned checklists (create or replace; ``revision`` counts)."""
        inspection = load_inspection(inspection_id)
        answer = svc.save_answer(inspection, current_user, item_code, result=data["result"], value=data["value"],
                                 note=data["note"])
        return answer_body(answer)


class RevealIdInputSchema(Schema):
    reason = fields.Raw(load_default=None, metadata={"description": "Why the full number is needed (audited)."})


class RevealedIdSchema(Schema):
    inspection_id = fields.Integer()
    item_code = fields.String()
    index = fields.Integer()
    name = fields.String(allow_none=True)
    id_masked = fields.String(allow_none=True)
    id_number = fields.String()


@blp.route("/inspections/<int:inspection_id>/answers/<item_code>/people/<int:index>/reveal")
class RosterIdNumberReveal(MethodView):
    @permission_required("id_numbers.reveal")
    @blp.arguments(RevealIdInputSchema)
    @blp.response(200, RevealedIdSchema)
    @blp.alt_response(403, description="Not a police liaison of the inspection's county")
    @blp.alt_response(404, description="No such roster item or line")
    @blp.alt_response(422, description="No reason given, or the person's number was missing or invalid")
    @never_stored
    def post(self, data, inspection_id, item_code, index):
        """The full identity-card number of one person of a staff roster, for police liaisons (for referrals).
        A reason is required; each reading is audited. The answer is not cached nor kept for a replay."""
        inspection = load_inspection(inspection_id)
        try:
            body = svc.reveal_roster_number(inspection, current_user, item_code, index, reason=data["reason"])
        except PermissionError:
            raise ApiError(403, _("Only police liaisons of this county may read full identity numbers.")) from None
        except svc.NoSuchPerson:
            raise ApiError(404, _("Not found.")) from None
        response = jsonify(RevealedIdSchema().dump(body))
        response.headers["Cache-Control"] = "no-store"
        return response


@blp.route("/inspections/<int:inspection_id>/evidence")
class InspectionEvidence(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(EvidenceUploadSchema, location="files")
    @blp.arguments(EvidenceFormSchema, location="form")
    @blp.response(201, EvidenceSchema)
    @blp.alt_response(200, schema=EvidenceSchema, description="The same file was already attached")
    @blp.alt_response(413, description="Over INSPECT_MAX_UPLOAD_BYTES, or too many pixels")
    @blp.alt_response(415, description="Not a JPEG, PNG or WebP photo by its content")
    def post(self, files, form, inspection_id):
        """Attach a photo (multipart ``file``; optional ``item_code`` and ``caption``). The content decides
        the type; EXIF time and GPS are read; the same file twice is one row."""
        inspection = load_inspection(inspection_id)
        upload = files["file"]
        before = {e.id for e in inspection.evidence}
        evidence = svc.add_evidence(inspection, current_user, upload.stream, filename=upload.filename,
                                    item_code=form.get("item_code"), caption=form.get("caption"))
        return evidence_body(inspection, evidence), (200 if evidence.id in before else 201)


@blp.route("/inspections/<int:inspection_id>/evidence/<int:evidence_id>/file")
class InspectionEvidenceFile(MethodView):
    @permission_required("inspections.view")
    @blp.arguments(FileArgsSchema, location="query")
    @blp.response(200)
    def get(self, args, inspection_id, evidence_id):
        """The original file, or ``?size=display`` the downscaled JPEG (orientation applied)."""
        inspection = load_inspection(inspection_id)
        evidence = db.session.get(Evidence, evidence_id)
        if evidence is None or evidence.inspection_id != inspection.id:
            raise ApiError(404, _("Not found."))
        restricted = db.session.scalar(sa.select(sa.func.count()).select_from(Violation)
                                       .where(Violation.restricted.is_(True), Violation.evidence.contains(evidence)))
        if restricted and not svc.can_see_restricted(current_user, inspection):
            raise ApiError(403, _("This evidence concerns possible victims and is restricted."))
        display = args["size"] == "display"
        path = svc.evidence_file(evidence, display=display)
        if not path.exists():
            current_app.logger.error("evidence %s: file %s is missing", evidence.id, path)
            raise ApiError(404, _("Not found."))
        response = send_file(path, mimetype="image/jpeg" if display else evidence.mime, max_age=3600,
                             etag=evidence.sha256 + ("-display" if display else ""), conditional=True)
        response.headers["Cache-Control"] = "private, max-age=3600"
        return response


@blp.route("/inspections/<int:inspection_id>/violations")
class InspectionViolations(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(ViolationInputSchema)
    @blp.response(201, ViolationSchema)
    def post(self, data, inspection_id):
        """Record a confirmed violation; a suspected crime also opens an urgent police referral due in 24 h."""
        inspection = load_inspection(inspection_id)
        violation = svc.record_violation(inspection, current_user, type_code=data["type_code"],
                                         description=data["description"], item_code=data["item_code"],
                                         evidence_ids=data["evidence_ids"], quantities=data["quantities"],
                                         suspected_crime=data["suspected_crime"], victims=data["victims"])
        return violation_body(violation, True, _referrals([violation.id]).get(violation.id))


class WithdrawSchema(Schema):
    reason = fields.Raw(required=True)


@blp.route("/inspections/<int:inspection_id>/violations/<int:violation_id>/withdraw")
class InspectionViolationWithdraw(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(WithdrawSchema)
    @blp.response(200, ViolationSchema)
    def post(self, data, inspection_id, violation_id):
        """Withdraw a violation recorded by mistake, before completion (a pending police referral is cancelled)."""
        inspection = load_inspection(inspection_id)
        violation = db.session.get(Violation, violation_id)
        if violation is None or violation.inspection_id != inspection.id:
            raise ApiError(404, _("Not found."))
        svc.withdraw_violation(inspection, current_user, violation, reason=data["reason"])
        return violation_body(violation, True, _referrals([violation.id]).get(violation.id))


@blp.route("/inspections/<int:inspection_id>/proposed-violations")
class InspectionProposed(MethodView):
    @permission_required("inspections.view")
    @blp.response(200, ProposedSchema)
    def get(self, inspection_id):
        """For each failed item without a recorded violation: the catalogue entry it raises."""
        return {"items": svc.proposed_violations(load_inspection(inspection_id))}


def _png(data: dict) -> bytes | None:
    text = data.get("png")
    if text in (None, ""):
        return None
    if len(text) > MAX_SIGNATURE_BASE64:
        raise ApiError(413, _("The signature image is too large."))
    if text.startswith("data:"):
        header, _sep, text = text.partition(",")
        if ";base64" not in header:
            raise InvalidData({"png": [_("Send the drawing as base64 PNG.")]})
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidData({"png": [_("Send the drawing as base64 PNG.")]}) from None


@blp.route("/inspections/<int:inspection_id>/signatures")
class InspectionSignatures(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(SignatureInputSchema)
    @blp.response(201, SignatureSchema)
    def post(self, data, inspection_id):
        """A signature drawn on screen (PNG, hashed) in its slot, or the party's refusal (then a witness signs)."""
        inspection = load_inspection(inspection_id)
        signature = svc.sign(inspection, current_user, role=data["role"], signer_name=data["signer_name"],
                             png=_png(data), officer=data["officer_id"], refused=data["refused"], note=data["note"])
        return signature_body(signature)


@blp.route("/inspections/<int:inspection_id>/missing")
class InspectionMissing(MethodView):
    @permission_required("inspections.view")
    @blp.response(200, MissingSchema)
    def get(self, inspection_id):
        """What still stops completion, by field (empty when it can be completed)."""
        missing = svc.missing_for_completion(load_inspection(inspection_id))
        return {"complete": not missing, "fields": missing}


@blp.route("/inspections/<int:inspection_id>/complete")
class InspectionComplete(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(CompleteSchema)
    @blp.response(200, InspectionDetailSchema)
    @blp.alt_response(409, description="Already completed (or cancelled, or not started)")
    @blp.alt_response(422, description="Incomplete: error.fields names everything missing")
    def post(self, data, inspection_id):
        """Complete: the record is frozen (plain JSON and its SHA-256) and can no longer change."""
        inspection = load_inspection(inspection_id)
        try:
            svc.complete(inspection, current_user, outcome=data["outcome"])
        except svc.Incomplete as exc:
            raise ApiError(422, _("The inspection cannot be completed yet: see what is missing."),
                           code="incomplete", fields=exc.fields) from None
        return detail_body(inspection)


@blp.route("/inspections/<int:inspection_id>/record")
class InspectionRecord(MethodView):
    @permission_required("inspections.view")
    @blp.response(200, RecordSchema)
    def get(self, inspection_id):
        """The frozen record of a completed inspection and its SHA-256 (of the canonical JSON)."""
        inspection = load_inspection(inspection_id)
        if inspection.record is None:
            raise ApiError(404, _("Not completed yet."))
        if any(v["restricted"] for v in inspection.record.get("violations", [])) \
                and not svc.can_see_restricted(current_user, inspection):
            raise ApiError(403, _("This record concerns possible victims and is restricted."))
        return {"id": inspection.id, "record_sha256": inspection.record_sha256, "record": inspection.record}


@blp.route("/inspections/<int:inspection_id>/amendments")
class InspectionAmendments(MethodView):
    @permission_required("inspections.view")
    @blp.arguments(AmendmentInputSchema)
    @blp.response(201, AmendmentSchema)
    def post(self, data, inspection_id):
        """A correction to a completed inspection (team members, or supervisors of the county)."""
        inspection = load_inspection(inspection_id)
        if not svc.is_member(inspection, current_user) and not can(current_user, "inspections.amend", inspection):
            raise ApiError(403, _("You are not on this inspection's team."), code="not_on_team")
        return svc.amend(inspection, current_user, reason=data["reason"], changes=data["changes"])


class CancelSchema(Schema):
    reason = fields.Raw(required=True)


@blp.route("/inspections/<int:inspection_id>/cancel")
class InspectionCancel(MethodView):
    @permission_required("inspections.create")
    @blp.arguments(CancelSchema)
    @blp.response(200, InspectionDetailSchema)
    @blp.alt_response(409, description="Already completed or cancelled")
    def post(self, data, inspection_id):
        """Call off an inspection that is not completed (planners; the reason is audited)."""
        inspection = load_inspection(inspection_id, "inspections.create")
        authorize("inspections.create", inspection)
        svc.cancel_inspection(inspection, current_user, reason=data["reason"])
        return detail_body(inspection)


class PinSchema(Schema):
    pin = fields.String(required=True, load_only=True)
    password = fields.String(required=True, load_only=True)


@blp.route("/officer/pin")
class OfficerPin(MethodView):
    @permission_required("inspections.work")
    @blp.arguments(PinSchema)
    @blp.response(204)
    def put(self, data):
        """Set my PIN (4 to 8 digits), with which I confirm on a colleague's tablet; my password confirms it."""
        svc.set_officer_pin(current_user, data["pin"], password=data["password"])


@blp.route("/violations")
class Violations(MethodView):
    @permission_required("violations.view")
    @blp.arguments(ViolationListArgsSchema, location="query")
    @blp.response(200, page_schema(ViolationSchema, "ViolationPage"))
    def get(self, args):
        """Violations found in my county, newest first; restricted facts are hidden from roles that do not
        need them."""
        stmt = _scoped(sa.select(Violation).join(Inspection, Inspection.id == Violation.inspection_id))
        for key in ("entity_id", "inspection_id", "status", "type_code", "criminal"):
            if args.get(key) is not None:
                stmt = stmt.where(getattr(Violation, key) == args[key])
        if args.get("department"):
            stmt = stmt.where(Violation.acting_department == args["department"])
        body = paginate(db.session, stmt.order_by(Violation.created_dt.desc(), Violation.id.desc()), args)
        referrals = _referrals([v.id for v in body["items"]])
        body["items"] = [violation_body(v, not v.restricted or svc.can_see_restricted(current_user, v.inspection),
                                        referrals.get(v.id)) for v in body["items"]]
        return body
