"""/api/v1/campaigns: campaigns, the verifiable draw and its re-computation (design.md 4.2)."""
from __future__ import annotations

from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
import sqlalchemy as sa
from marshmallow import EXCLUDE, Schema, fields, validate
from sqlalchemy.orm import selectinload

from ..auth.permissions import authorize, permission_required
from ..errors import ApiError, InvalidData
from ..extensions import db
from .draw import SeedMismatch
from ..api.schemas import PageArgsSchema, page_schema, paginate
from .models import CAMPAIGN_STATUSES, Campaign
from .services import (MANUAL_STATUSES, TRANSITIONS, CampaignStateError, IllegalCampaignTransition,
                       add_cause_inspection, change_campaign_status, create_campaign, draw_campaign,
                       refresh_campaign_status, refresh_campaign_statuses, verify_draw)

blp = Blueprint("api_planning", __name__, url_prefix="/api/v1/campaigns", description="Campaigns and draws")


class TierSchema(Schema):
    min_risk = fields.Integer(required=True)
    rate = fields.Float(required=True)


class CampaignInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.Raw(required=True)
    lead_department = fields.Raw(required=True)
    departments = fields.Raw(required=True)
    kinds = fields.Raw(required=True)
    region_codes = fields.Raw()
    start_date = fields.Raw(required=True)
    end_date = fields.Raw(required=True)
    sample_rate = fields.Raw(allow_none=True)
    sample_size = fields.Raw(allow_none=True)
    risk_tiers = fields.List(fields.Nested(TierSchema))
    team_size = fields.Raw()
    max_per_team_day = fields.Raw()
    recusal_months = fields.Raw()
    seed_commitment = fields.Raw(allow_none=True)


class CampaignSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    status = fields.String()
    lead_department = fields.String()
    departments = fields.List(fields.String())
    kinds = fields.List(fields.String())
    region_codes = fields.List(fields.String())
    start_date = fields.Date()
    end_date = fields.Date()
    sample_rate = fields.Float(allow_none=True)
    sample_size = fields.Integer(allow_none=True)
    risk_tiers = fields.List(fields.Nested(TierSchema))
    team_size = fields.Integer()
    max_per_team_day = fields.Integer()
    seed_commitment = fields.String(allow_none=True)
    population_hash = fields.Function(lambda c: c.draw.population_hash if c.draw else None)
    population_size = fields.Function(lambda c: c.draw.population_size if c.draw else None)
    published_at = fields.DateTime(attribute="published_dt", allow_none=True)
    started_at = fields.DateTime(attribute="started_dt", allow_none=True)
    closed_at = fields.DateTime(attribute="closed_dt", allow_none=True)
    next_statuses = fields.Function(lambda c: [s for s in TRANSITIONS[c.status] if s in MANUAL_STATUSES],
                                    metadata={"description": "what POST .../status accepts now"})


class CampaignListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(CAMPAIGN_STATUSES))


class StatusSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(CAMPAIGN_STATUSES))


class SeedSchema(Schema):
    seed = fields.String(required=True)


class TeamMemberSchema(Schema):
    user_id = fields.Integer()
    department = fields.String()


class DrawnInspectionSchema(Schema):
    id = fields.Integer()
    entity_id = fields.Integer()
    date = fields.Date(attribute="scheduled_date")
    team = fields.Function(lambda i: [{"user_id": m.user_id, "department": m.department_code} for m in i.members])


class ShortfallSchema(Schema):
    entity_id = fields.Integer()
    reason = fields.String()


class DrawResultSchema(Schema):
    population_hash = fields.String()
    seed = fields.String()
    algorithm = fields.String()
    result_hash = fields.String()
    inspections = fields.List(fields.Nested(DrawnInspectionSchema))
    shortfalls = fields.List(fields.Nested(ShortfallSchema))


class VerifySchema(Schema):
    ok = fields.Boolean()
    problems = fields.List(fields.String())
    algorithm = fields.String()
    population_hash = fields.String()
    result_hash = fields.String()
    seed_commitment = fields.String()
    seed = fields.String(allow_none=True)


def load_campaign(campaign_id: int, permission: str = "campaigns.view") -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        raise ApiError(404, _("Not found."))
    authorize(permission, campaign)
    return campaign


def draw_body(campaign: Campaign) -> dict:
    from ..inspection.models import Inspection
    draw = campaign.draw
    inspections = db.session.scalars(db.select(Inspection).options(selectinload(Inspection.members)).where(
        Inspection.campaign_id == campaign.id, Inspection.origin == "random")
        .order_by(Inspection.scheduled_date, Inspection.team_day, Inspection.route_position)).all()
    return {"population_hash": draw.population_hash, "seed": draw.seed, "algorithm": draw.algorithm,
            "result_hash": draw.result_hash, "inspections": inspections,
            "shortfalls": draw.result["shortfalls"]}


@blp.route("")
class Campaigns(MethodView):
    @permission_required("campaigns.view")
    @blp.arguments(CampaignListArgsSchema, location="query")
    @blp.response(200, page_schema(CampaignSchema, "CampaignPage"))
    def get(self, args):
        """Campaigns, newest first; ``status`` filters."""
        stmt = sa.select(Campaign).order_by(Campaign.start_date.desc(), Campaign.id.desc())
        if args.get("status"):
            stmt = stmt.where(Campaign.status == args["status"])
        body = paginate(db.session, stmt, args)
        refresh_campaign_statuses(body["items"])
        return body

    @permission_required("campaigns.plan")
    @blp.arguments(CampaignInputSchema)
    @blp.response(201, CampaignSchema)
    def post(self, data):
        """Create a campaign; with ``seed_commitment`` (SHA-256 hex of the seed) its inputs are frozen."""
        return create_campaign(data)


@blp.route("/<int:campaign_id>")
class CampaignItem(MethodView):
    @permission_required("campaigns.view")
    @blp.response(200, CampaignSchema)
    def get(self, campaign_id):
        """A campaign."""
        campaign = load_campaign(campaign_id)
        refresh_campaign_status(campaign)
        return campaign


@blp.route("/<int:campaign_id>/status")
class CampaignStatus(MethodView):
    @permission_required("campaigns.plan")
    @blp.arguments(StatusSchema)
    @blp.response(200, CampaignSchema)
    @blp.alt_response(409, description="A step the lifecycle does not allow (the message names the allowed ones), "
                                       "or a close with unfinished inspections")
    def post(self, data, campaign_id):
        """Publish (drawn -> published), begin (published -> in_progress) or close (-> closed) a campaign."""
        campaign = load_campaign(campaign_id, "campaigns.plan")
        try:
            return change_campaign_status(campaign, data["status"])
        except IllegalCampaignTransition as exc:
            from flask import g
            g.keep_changes_on_error = True  # the refusal is audited
            raise ApiError(409, str(exc.message), code="illegal_transition",
                           fields={"status": [str(exc.message)]}) from None
        except CampaignStateError as exc:
            raise ApiError(409, str(exc.message), code="campaign_state") from None


@blp.route("/<int:campaign_id>/draw")
class CampaignDraw(MethodView):
    @permission_required("campaigns.plan")
    @blp.arguments(SeedSchema)
    @blp.response(201, DrawResultSchema)
    @blp.alt_response(409, description="Seed does not match the commitment, or already drawn")
    def post(self, data, campaign_id):
        """Reveal the seed and draw targets and teams."""
        campaign = load_campaign(campaign_id, "campaigns.plan")
        try:
            draw_campaign(campaign, data["seed"])
        except SeedMismatch:
            from flask import g
            g.keep_changes_on_error = True  # the refused seed is audited
            raise ApiError(409, _("The seed does not match the commitment recorded before the draw."),
                           code="seed_mismatch", fields={"seed": [_("Does not match the commitment.")]}) from None
        except CampaignStateError as exc:
            raise ApiError(409, str(exc.message), code="campaign_state") from None
        return draw_body(campaign)

    @permission_required("campaigns.view")
    @blp.response(200, DrawResultSchema)
    def get(self, campaign_id):
        """The draw's result."""
        campaign = load_campaign(campaign_id)
        if campaign.draw is None or campaign.draw.seed is None:
            raise ApiError(404, _("Not drawn yet."))
        return draw_body(campaign)


@blp.route("/<int:campaign_id>/draw/verify")
class CampaignDrawVerify(MethodView):
    @permission_required("campaigns.view")
    @blp.response(200, VerifySchema)
    def get(self, campaign_id):
        """Re-compute the draw from its published record alone and compare."""
        campaign = load_campaign(campaign_id)
        if campaign.draw is None:
            raise ApiError(404, _("Not drawn yet."))
        return verify_draw(campaign.draw)


class RoutesArgsSchema(Schema):
    date = fields.Date(load_default=None)


class RouteStopSchema(Schema):
    inspection_id = fields.Integer()
    entity_id = fields.Integer()
    name = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    leg_m = fields.Float(allow_none=True)
    arrive_after_minutes = fields.Float(allow_none=True)


class TeamRouteSchema(Schema):
    team_day = fields.String()
    date = fields.Date()
    region_code = fields.String()
    office = fields.List(fields.Float())
    team = fields.List(fields.Nested(TeamMemberSchema))
    method = fields.String()
    total_m = fields.Float()
    total_minutes = fields.Float()
    stops = fields.List(fields.Nested(RouteStopSchema))


class RoutesSchema(Schema):
    items = fields.List(fields.Nested(TeamRouteSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


@blp.route("/<int:campaign_id>/routes")
class CampaignRoutes(MethodView):
    @permission_required("campaigns.view")
    @blp.arguments(RoutesArgsSchema, location="query")
    @blp.response(200, RoutesSchema)
    def get(self, args, campaign_id):
        """Each team-day's stops in visiting order, with leg distances and arrival times."""
        from ..api.schemas import page_of
        from ..inspection.models import Inspection
        from .services import team_day_route
        campaign = load_campaign(campaign_id)
        stmt = sa.select(Inspection).options(selectinload(Inspection.entity), selectinload(Inspection.members)) \
            .where(Inspection.campaign_id == campaign.id, Inspection.team_day.is_not(None))
        if args.get("date"):
            stmt = stmt.where(Inspection.scheduled_date == args["date"])
        days: dict[str, list] = {}
        for inspection in db.session.scalars(stmt.order_by(Inspection.team_day, Inspection.route_position)):
            days.setdefault(inspection.team_day, []).append(inspection)
        items = []
        for team_day, inspections in days.items():
            office, route, unplaced = team_day_route(inspections)
            by_id = {i.id: i for i in inspections}
            stops = [{"inspection_id": i, "entity_id": by_id[i].entity_id, "name": by_id[i].entity.name,
                      "lat": by_id[i].entity.lat, "lon": by_id[i].entity.lon,
                      "leg_m": round(route.legs[n].distance_m, 1), "arrive_after_minutes": round(route.arrivals[n], 1)}
                     for n, i in enumerate(route.order)]
            stops += [{"inspection_id": i.id, "entity_id": i.entity_id, "name": i.entity.name, "lat": None,
                       "lon": None, "leg_m": None, "arrive_after_minutes": None} for i in unplaced]
            first = inspections[0]
            items.append({"team_day": team_day, "date": first.scheduled_date, "region_code": first.region_code,
                          "office": list(office), "team": [{"user_id": m.user_id, "department": m.department_code}
                                                           for m in first.members],
                          "method": route.method, "total_m": round(route.total_m, 1),
                          "total_minutes": round(route.total_minutes, 1), "stops": stops})
        return page_of(items)


class CauseInspectionInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    entity_id = fields.Integer(required=True)
    cause_note = fields.String(required=True, metadata={"description": "why: a tip-off, a complaint, a violation"})
    date = fields.Date(load_default=None)
    team = fields.List(fields.Integer(), required=True, metadata={"description": "user ids, at least two inspectors"})


class CauseInspectionSchema(Schema):
    id = fields.Integer()
    entity_id = fields.Integer()
    campaign_id = fields.Integer()
    origin = fields.String()
    cause_note = fields.String()
    date = fields.Date(attribute="scheduled_date", allow_none=True)
    region_code = fields.String()
    status = fields.String()
    team = fields.Function(lambda i: [{"user_id": m.user_id, "department": m.department_code} for m in i.members])


@blp.route("/<int:campaign_id>/cause-inspections")
class CauseInspections(MethodView):
    @permission_required("campaigns.view")
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, page_schema(CauseInspectionSchema, "CauseInspectionPage"))
    def get(self, args, campaign_id):
        """The campaign's cause-based inspections (有因检查), newest first."""
        from ..inspection.models import Inspection
        campaign = load_campaign(campaign_id)
        return paginate(db.session, sa.select(Inspection).options(selectinload(Inspection.members)).where(
            Inspection.campaign_id == campaign.id, Inspection.origin == "cause").order_by(Inspection.id.desc()), args)

    @permission_required("campaigns.plan")
    @blp.arguments(CauseInspectionInputSchema)
    @blp.response(201, CauseInspectionSchema)
    @blp.alt_response(409, description="The campaign is closed")
    def post(self, data, campaign_id):
        """Add a cause-based inspection (有因检查) of a specific business: marked as such, never counted as random."""
        from ..registry.models import Entity
        campaign = load_campaign(campaign_id, "campaigns.plan")
        entity = db.session.get(Entity, data["entity_id"])
        if entity is None:
            raise InvalidData({"entity_id": [_("No such business in the registry.")]})
        try:
            return add_cause_inspection(campaign, entity, data)
        except CampaignStateError as exc:
            raise ApiError(409, str(exc.message), code="campaign_state") from None
