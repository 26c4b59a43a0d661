"""/api/v1/entities: the registry over HTTP (design.md 4.2 field names are a contract)."""
from __future__ import annotations

from flask import current_app, jsonify
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from ..api.schemas import PageArgsSchema, page_schema, paginate
from ..auth.permissions import authorize, permission_required
from ..errors import ApiError, InvalidData
from ..extensions import db
from .codes import normalise_credit_code
from .gate import check_entry
from .models import ENTITY_STATUSES, Entity
from .queries import SORTS, entity_query, scope_to_user
from .services import (DuplicateCreditCode, IllegalTransition, add_licence, change_status, clean_entity_data,
                       keep_refusal, register_entity, update_entity)

blp = Blueprint("api_registry", __name__, url_prefix="/api/v1/entities", description="Registry of entities")


class LicenceSchema(Schema):
    id = fields.Integer(dump_only=True)
    type = fields.String(required=True)
    number = fields.String(required=True)
    department = fields.String(load_default=None)
    issued_on = fields.Date(allow_none=True, load_default=None)
    expires_on = fields.Date(allow_none=True, load_default=None)
    status = fields.String(dump_only=True)


class EntitySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    subtype = fields.String(allow_none=True)
    name = fields.String()
    credit_code = fields.String(allow_none=True)
    legal_representative = fields.String(allow_none=True)
    legal_rep_id_masked = fields.String(allow_none=True)
    address = fields.String()
    region_code = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    crs = fields.String(allow_none=True)
    is_outside_city = fields.Boolean()
    status = fields.String()
    risk_score = fields.Integer()
    risk_factors = fields.List(fields.Dict())
    attributes = fields.Dict()
    phone = fields.String(allow_none=True)
    updated_at = fields.DateTime(attribute="updated_dt")


_LIST_COLUMNS = [getattr(Entity, name) for name in (
    "id", "kind", "subtype", "name", "credit_code", "legal_representative", "legal_rep_id_masked", "address",
    "region_code", "lat", "lon", "crs", "is_outside_city", "status", "risk_score", "risk_factors", "attributes",
    "phone", "updated_dt")]


def entity_json(entity) -> dict:
    """``EntitySchema().dump(entity)`` without marshmallow's per-field machinery (an Entity, or a
    row of ``_LIST_COLUMNS``).

    A page of 50 entities costs about 7 ms through the schema against 0.3 ms here, more than the
    page's SQL (bench/bench_list.py); ``tests/test_registry_api.py`` holds the two equal."""
    lat, lon, updated = entity.lat, entity.lon, entity.updated_dt
    return {"id": entity.id, "kind": entity.kind, "subtype": entity.subtype, "name": entity.name,
            "credit_code": entity.credit_code, "legal_representative": entity.legal_representative,
            "legal_rep_id_masked": entity.legal_rep_id_masked, "address": entity.address,
            "region_code": entity.region_code, "lat": None if lat is None else float(lat),
            "lon": None if lon is None else float(lon), "crs": entity.crs,
            "is_outside_city": bool(entity.is_outside_city), "status": entity.status,
            "risk_score": int(entity.risk_score), "risk_factors": [dict(f) for f in entity.risk_factors or ()],
            "attributes": dict(entity.attributes or {}), "phone": entity.phone,
            "updated_at": None if updated is None else updated.isoformat()}


class EntityDetailSchema(EntitySchema):
    licences = fields.List(fields.Nested(LicenceSchema))


class EntityInputSchema(Schema):
    """Fields are checked by the registry service, which names each problem in the user's language."""

    class Meta:
        unknown = EXCLUDE

    kind = fields.Raw()
    subtype = fields.Raw(allow_none=True)
    name = fields.Raw()
    credit_code = fields.Raw(allow_none=True)
    legal_representative = fields.Raw(allow_none=True)
    legal_rep_id_number = fields.Raw(allow_none=True, load_only=True)
    address = fields.Raw()
    region_code = fields.Raw()
    lat = fields.Raw(allow_none=True)
    lon = fields.Raw(allow_none=True)
    crs = fields.Raw(allow_none=True)
    phone = fields.Raw(allow_none=True)
    attributes = fields.Dict(allow_none=True)
    status = fields.String(validate=validate.OneOf(["unlicensed"]), load_default=None,
                           metadata={"description": "only 'unlicensed' (an operator found without a licence)"})


class EntityPatchSchema(EntityInputSchema):
    """The same fields, all optional."""


class EntityListArgsSchema(PageArgsSchema):
    q = fields.String()
    kind = fields.String()
    region = fields.String()
    status = fields.String(validate=validate.OneOf(ENTITY_STATUSES))
    min_risk = fields.Integer(validate=validate.Range(min=0, max=100))
    licence_expiring = fields.Integer(validate=validate.OneOf([30, 60, 90]))
    licence_expired = fields.Boolean()
    sort = fields.String(validate=validate.OneOf(sorted(SORTS)))


class FindingSchema(Schema):
    code = fields.String()
    decision = fields.String()
    message = fields.String()
    basis = fields.String()
    field = fields.String()
    detail = fields.Dict()


class CheckResultSchema(Schema):
    id = fields.Integer()
    decision = fields.String()
    findings = fields.List(fields.Nested(FindingSchema))


class StatusInputSchema(Schema):
    status = fields.String(required=True)
    reason = fields.String(required=True)
    legal_basis = fields.String(load_default=None, allow_none=True)


class StatusChangeSchema(Schema):
    id = fields.Integer()
    from_status = fields.String()
    to_status = fields.String()
    reason = fields.String()
    legal_basis = fields.String(allow_none=True)
    created_at = fields.DateTime(attribute="created_dt")


def _city():
    return current_app.extensions["inspect_reference"].city.code


def load_entity(entity_id: int, permission: str = "entities.view") -> Entity:
    entity = db.session.get(Entity, entity_id)
    if entity is None:
        raise ApiError(404, _("Not found."))
    authorize(permission, entity)
    return entity


def _conflict(exc: DuplicateCreditCode):
    raise ApiError(409, _("This credit code is already registered (entity %(id)s).", id=exc.existing_id),
                   code="duplicate_credit_code",
                   fields={"credit_code": [_("This credit code is already registered.")]})


def _check_region(data: dict) -> None:
    region = data.get("region_code")
    ref = current_app.extensions["inspect_reference"]
    if region in ref.regions and not ref.region_contains(current_user.region_code, region):
        raise ApiError(403, _("You may only register entities in your own county."), code="forbidden",
                       fields={"region_code": [_("Outside your region scope.")]})


@blp.route("")
class Entities(MethodView):
    @permission_required("entities.view")
    @blp.arguments(EntityListArgsSchema, location="query")
    @blp.response(200, page_schema(EntitySchema, "EntityPage"))
    def get(self, args):
        """List and search entities (name, credit code, legal representative, address)."""
        stmt = scope_to_user(entity_query(args), current_user, _city()).with_only_columns(*_LIST_COLUMNS)
        body = paginate(db.session, stmt, args, rows=True)  # rows, not entities: a third of the request's time
        body["items"] = [entity_json(row) for row in body["items"]]
        return jsonify(body)  # documented by EntityPage; serialised by entity_json for speed

    @permission_required("entities.create")
    @blp.arguments(EntityInputSchema)
    @blp.response(201, EntityDetailSchema)
    @blp.alt_response(409, description="Blocked by the entry gate, or a duplicate credit code")
    def post(self, data):
        """Register an entity. Applications pass the entry gate (a block is refused with 409 and the
        findings); ``"status": "unlicensed"`` records an illegal operator found in the field."""
        _check_region(data)
        unlicensed = data.pop("status", None) == "unlicensed"
        if unlicensed:
            entity = _register(data, "unlicensed", None)
        else:
            authorize("entities.edit")
            _clean, errors = clean_entity_data(data)
            if not errors and not normalise_credit_code(data.get("credit_code")):
                errors["credit_code"] = [_("A credit code is required, except for an unlicensed operator.")]
            if errors:
                raise InvalidData(errors)
            check = check_entry(data)
            if check.decision == "block":
                fields_ = {}
                for finding in check.findings:
                    fields_.setdefault(finding.get("field") or "_schema", []).append(finding["message"])
                raise ApiError(409, _("Market entry refused by the entry gate."), code="entry_blocked",
                               fields=fields_)
            entity = _register(data, "pending", check)
        return entity


def _register(data, status, check):
    try:
        return register_entity(data, status=status, entry_check=check)
    except DuplicateCreditCode as exc:
        _conflict(exc)


@blp.route("/check")
class EntryGate(MethodView):
    @permission_required("entities.edit")
    @blp.arguments(EntityInputSchema)
    @blp.response(200, CheckResultSchema)
    def post(self, data):
        """Entry-gate pre-check: each finding with its legal basis, and pass / warn / block."""
        data.pop("status", None)
        return check_entry(data)


@blp.route("/<int:entity_id>")
class EntityItem(MethodView):
    @permission_required("entities.view")
    @blp.response(200, EntityDetailSchema)
    def get(self, entity_id):
        """One entity with its licences."""
        return load_entity(entity_id)

    @permission_required("entities.edit")
    @blp.arguments(EntityPatchSchema(partial=True))
    @blp.response(200, EntityDetailSchema)
    def patch(self, data, entity_id):
        """Change an entity's details (status changes: POST .../status)."""
        entity = load_entity(entity_id, "entities.edit")
        data.pop("status", None)
        _check_region(data)
        try:
            return update_entity(entity, data)
        except DuplicateCreditCode as exc:
            _conflict(exc)


@blp.route("/<int:entity_id>/status")
class EntityStatus(MethodView):
    @permission_required("entities.status")
    @blp.arguments(StatusInputSchema)
    @blp.response(201, StatusChangeSchema)
    @blp.alt_response(409, description="Illegal transition; the message names the allowed ones")
    def post(self, data, entity_id):
        """Move the entity along its lifecycle, with a reason and a legal basis."""
        entity = load_entity(entity_id, "entities.status")
        try:
            return change_status(entity, data["status"], data["reason"], data.get("legal_basis"))
        except IllegalTransition as exc:
            keep_refusal()  # the refusal itself is audited
            raise ApiError(409, exc.message(), code="illegal_transition",
                           fields={"status": [exc.message()]}) from None


@blp.route("/<int:entity_id>/licences")
class EntityLicences(MethodView):
    @permission_required("entities.view")
    @blp.response(200, page_schema(LicenceSchema, "LicencePage"))
    def get(self, entity_id):
        """The entity's licences."""
        entity = load_entity(entity_id)
        from ..api.schemas import page_of
        return page_of(list(entity.licences))

    @permission_required("licences.edit")
    @blp.arguments(LicenceSchema)
    @blp.response(201, LicenceSchema)
    def post(self, data, entity_id):
        """Record a licence (type per kind; the issuing department defaults from the kind)."""
        entity = load_entity(entity_id, "licences.edit")
        return add_licence(entity, data)
