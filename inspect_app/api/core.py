"""Health and reference data."""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify
from flask.views import MethodView
from flask_smorest import Blueprint
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..auth.permissions import permission_required, public
from ..extensions import db
from .schemas import PageArgsSchema, page_schema, page_slice

blp = Blueprint("api_core", __name__, url_prefix="/api/v1", description="Health and reference data")


class HealthSchema(Schema):
    status = fields.String()
    database = fields.String()


class DepartmentSchema(Schema):
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    short_zh = fields.String()
    short_en = fields.String()
    abbr = fields.String()
    inspects = fields.Boolean()
    formerly_zh = fields.String(allow_none=True)


class SeatSchema(Schema):
    name_zh = fields.String()
    lat = fields.Float()
    lon = fields.Float()


class RegionSchema(Schema):
    code = fields.String()
    level = fields.String()
    parent = fields.String(allow_none=True)
    name_zh = fields.String()
    name_en = fields.String()
    seat = fields.Nested(SeatSchema)
    former_codes = fields.List(fields.String())


class KindSchema(Schema):
    code = fields.String()
    name_zh = fields.String()
    name_en = fields.String()


def _reference():
    return current_app.extensions["inspect_reference"]


@blp.route("/health")
class Health(MethodView):
    @public
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    @blp.alt_response(503, schema=HealthSchema, description="The database does not answer")
    def get(self):
        """Liveness and database check (no authentication)."""
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            current_app.logger.exception("health check: database unreachable")
            db.session.rollback()
            response = jsonify({"status": "error", "database": "error"})
            response.status_code = 503
            return response
        return {"status": "ok", "database": "ok"}


@blp.route("/departments")
class Departments(MethodView):
    @permission_required("reference.view")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(DepartmentSchema, "DepartmentPage"))
    def get(self, args):
        """The departments of the joint inspection (registries/departments.yaml)."""
        return page_slice([d.to_dict() for d in _reference().departments.values()], args)


@blp.route("/regions")
class Regions(MethodView):
    @permission_required("reference.view")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(RegionSchema, "RegionPage"))
    def get(self, args):
        """The city and its county-level units, GB/T 2260 codes (registries/regions.yaml)."""
        return page_slice([r.to_dict() for r in _reference().regions.values()], args)


@blp.route("/kinds")
class Kinds(MethodView):
    @permission_required("reference.view")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(KindSchema, "KindPage"))
    def get(self, args):
        """Registry kinds declared in registries/kinds/*.yaml."""
        return page_slice([k.to_dict() for k in _reference().kinds.values()], args)


class GeocodeArgsSchema(Schema):
    address = fields.String(required=True, validate=validate.Length(min=2, max=300))
    region_code = fields.String(load_default=None)


class GeocodeResultSchema(Schema):
    lat = fields.Float()
    lon = fields.Float()
    precision_m = fields.Float()
    source = fields.String()
    matched = fields.String()
    region_code = fields.String(allow_none=True)


class GeocodeSchema(Schema):
    result = fields.Nested(GeocodeResultSchema, allow_none=True)
    message = fields.String(allow_none=True)


@blp.route("/geocode")
class Geocode(MethodView):
    @permission_required("reference.view")
    @blp.arguments(GeocodeArgsSchema, location="query")
    @blp.response(200, GeocodeSchema)
    def get(self, args):
        """An approximate WGS-84 position for an address: the configured geocoder, else the offline
        gazetteer of Shuozhou's towns and streets (``message`` says when it fell back)."""
        from ..registry import geo
        found = geo.geocode(args["address"], args.get("region_code"))
        message = str(found.message) if found.message else None
        if found.result is None and message is None:
            message = str(_l("No town or street of the city was recognised in this address: place the pin by hand."))
        return {"result": found.result.to_dict() if found.result else None, "message": message}
