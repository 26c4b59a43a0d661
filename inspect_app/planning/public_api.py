"""/api/v1/public: 一公开 without sign-in (rate-limited): published campaigns, their draws and the
results of their random inspections (JSON, and CSV). Nothing personal: see publication.py."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..api.schemas import PageArgsSchema, page_schema
from ..auth.permissions import public
from ..errors import ApiError
from ..extensions import db, limiter
from ..inspection.models import OUTCOMES
from .publication import campaign_summary, public_campaign, public_campaigns_query, public_targets, results_page
from .public_views import csv_response, public_limit, result_filters
from .services import published_record

blp = Blueprint("api_publication", __name__, url_prefix="/api/v1/public",
                description="一公开: published campaigns and inspection results (no sign-in)")


class ResultArgsSchema(PageArgsSchema):
    campaign = fields.Integer(metadata={"description": "a campaign's id"})
    region = fields.String(metadata={"description": "county code (GB/T 2260)"})
    kind = fields.String()
    outcome = fields.String(validate=validate.OneOf(OUTCOMES))
    q = fields.String(validate=validate.Length(max=100), metadata={"description": "part of the name or credit code"})


class ViolationFoundSchema(Schema):
    code = fields.String(metadata={"description": "violation type, or referred_to_police / restricted"})
    title = fields.String()


class ResultSchema(Schema):
    id = fields.Integer(metadata={"description": "the inspection"})
    campaign_id = fields.Integer()
    campaign = fields.String()
    entity_name = fields.String()
    credit_code = fields.String(allow_none=True)
    kind = fields.String()
    kind_name = fields.String()
    region_code = fields.String()
    county = fields.String()
    inspection_date = fields.Date()
    outcome = fields.String(metadata={"description": " / ".join(OUTCOMES)})
    outcome_label = fields.String()
    violations = fields.List(fields.Nested(ViolationFoundSchema))
    legal_representative = fields.String(metadata={"description": "only when the publication policy says so"})


class PublicDrawSchema(Schema):
    algorithm = fields.String()
    population_size = fields.Integer()
    population_hash = fields.String()
    inputs_hash = fields.String()
    seed_commitment = fields.String()
    seed = fields.String()
    result_hash = fields.String()
    targets = fields.Integer()
    committed_at = fields.DateTime()
    drawn_at = fields.DateTime()


class TargetSchema(Schema):
    entity_name = fields.String()
    credit_code = fields.String(allow_none=True)
    kind = fields.String()
    kind_name = fields.String()
    region_code = fields.String()
    county = fields.String()


class PublicCampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()
    lead_department = fields.String()
    departments = fields.List(fields.String())
    kinds = fields.List(fields.String())
    region_codes = fields.List(fields.String())
    start_date = fields.Date()
    end_date = fields.Date()
    published_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    targets_public = fields.Boolean()
    draw = fields.Nested(PublicDrawSchema, allow_none=True)
    targets = fields.List(fields.Nested(TargetSchema), metadata={"description": "when the policy makes them public"})


def _campaign_or_404(campaign_id: int):
    campaign = public_campaign(campaign_id)
    if campaign is None:
        raise ApiError(404, _("Not found."))
    return campaign


@blp.route("/results")
class Results(MethodView):
    @public
    @blp.doc(security=[])
    @limiter.limit(public_limit)
    @blp.arguments(ResultArgsSchema, location="query")
    @blp.response(200, page_schema(ResultSchema, "PublicResultPage"))
    def get(self, args):
        """Results of the published campaigns' random inspections, newest first (also ``/results.csv``)."""
        return results_page(result_filters(_Args(args)), args["page"], args["per_page"])


@blp.route("/results.csv")
class ResultsCsv(MethodView):
    @public
    @blp.doc(security=[], responses={"200": {"description": "CSV, UTF-8 with BOM",
                                             "content": {"text/csv": {"schema": {"type": "string"}}}}})
    @limiter.limit(public_limit)
    @blp.arguments(ResultArgsSchema, location="query")
    def get(self, args):
        """The same results as CSV (all pages; the same filters)."""
        return csv_response(result_filters(_Args(args)))


@blp.route("/campaigns")
class Campaigns(MethodView):
    @public
    @blp.doc(security=[])
    @limiter.limit(public_limit)
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(PublicCampaignSchema, "PublicCampaignPage"))
    def get(self, args):
        """Published campaigns, newest first (without their target lists)."""
        page = db.paginate(public_campaigns_query(), page=args["page"], per_page=args["per_page"], error_out=False)
        return {"items": [campaign_summary(c) for c in page.items], "total": page.total, "page": args["page"],
                "per_page": args["per_page"]}


@blp.route("/campaigns/<int:campaign_id>")
class CampaignItem(MethodView):
    @public
    @blp.doc(security=[])
    @limiter.limit(public_limit)
    @blp.response(200, PublicCampaignSchema)
    def get(self, campaign_id):
        """A published campaign, its draw and, when the policy makes them public, its drawn targets."""
        campaign = _campaign_or_404(campaign_id)
        return dict(campaign_summary(campaign), targets=public_targets(campaign))


def record_limit() -> str:
    return current_app.config.get("PUBLIC_RECORD_RATE_LIMIT", "10 per minute")


@blp.route("/campaigns/<int:campaign_id>/record")
class CampaignRecord(MethodView):
    @public
    @blp.doc(security=[])
    @limiter.limit(record_limit)
    @blp.response(200)
    def get(self, campaign_id):
        """The draw's published record: the frozen inputs, the seed and the result with their hashes, to re-run
        the draw (``flask --app wsgi campaigns verify-draw --record FILE``). Entities and inspectors appear as
        ids only."""
        campaign = _campaign_or_404(campaign_id)
        if campaign.draw is None or campaign.draw.seed is None:
            raise ApiError(404, _("Not drawn yet."))
        return published_record(campaign.draw)


class _Args(dict):
    """Validated query arguments with the ``get(key, type=...)`` of request.args."""

    def get(self, key, default=None, type=None):  # noqa: A002 - the werkzeug signature
        value = super().get(key, default)
        return type(value) if type is not None and value is not None else value
