"""The joint-meeting office's pages: campaigns, the draw, teams by day, route sheets."""
from __future__ import annotations

import re
from collections import defaultdict

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from ..auth.models import User
from ..auth.permissions import authorize, permission_required
from ..errors import InvalidData
from ..extensions import db
from ..inspection.models import Inspection
from ..registry.models import Entity
from .draw import SeedMismatch, commitment_of
from ..i18n import campaign_status_label
from .forms import CampaignForm, CommitForm, SeedForm, StatusForm
from .models import Campaign
from .publication import policy as publication_policy
from .publication import publication_deadline
from .services import (MANUAL_STATUSES, TRANSITIONS, CampaignStateError, IllegalCampaignTransition,
                       change_campaign_status, commit_campaign, create_campaign, draw_campaign,
                       refresh_campaign_status, refresh_campaign_statuses, verify_draw)

bp = Blueprint("planning", __name__, url_prefix="/campaigns")


def _ref():
    return current_app.extensions["inspect_reference"]


_NO_ONE = re.compile(r"^no (\w+) inspector available on (\S+)$")
_RECUSE = re.compile(r"^every available (\w+) inspector must recuse$")


@bp.app_template_global()
def shortfall_reason(reason: str) -> str:
    """A shortfall's reason (fixed English in the verifiable result) in the user's language."""
    from ..i18n import department_short
    if match := _NO_ONE.match(reason):
        return _("No %(department)s inspector is available on %(date)s.", department=department_short(match[1]),
                 date=match[2])
    if match := _RECUSE.match(reason):
        return _("Every available %(department)s inspector must recuse.", department=department_short(match[1]))
    if reason == "fewer than two officers available":
        return _("Fewer than two officers are available.")
    return reason


def _load(campaign_id: int, permission: str = "campaigns.view") -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    authorize(permission, campaign)
    return campaign


def _campaign_form() -> CampaignForm:
    locale = str(get_locale())
    ref = _ref()
    form = CampaignForm()
    departments = [d for d in ref.departments.values()]
    form.lead_department.choices = [SelectChoice(d.code, d.short(locale)) for d in departments if d.inspects]
    form.departments.choices = [SelectChoice(d.code, d.short(locale)) for d in departments if d.inspects]
    form.kinds.choices = [SelectChoice(k.code, k.name(locale)) for k in ref.kinds.values()]
    form.region_codes.choices = [SelectChoice(r.code, r.name(locale)) for r in ref.counties]
    if request.method == "GET":
        form.departments.data = [d.code for d in departments if d.inspects]
        form.region_codes.data = [r.code for r in ref.counties]
    return form


@bp.route("/")
@permission_required("campaigns.view")
def campaigns():
    rows = db.session.scalars(sa.select(Campaign).order_by(Campaign.start_date.desc(), Campaign.id.desc())).all()
    refresh_campaign_statuses(rows)
    return render_template("planning/list.html", campaigns=rows)


@bp.route("/new", methods=["GET", "POST"])
@permission_required("campaigns.plan")
def new_campaign():
    form = _campaign_form()
    if form.validate_on_submit():
        data = {k: getattr(form, k).data for k in ("name", "lead_department", "departments", "kinds",
                                                   "region_codes", "start_date", "end_date", "sample_rate",
                                                   "sample_size", "team_size", "max_per_team_day", "recusal_months")}
        if form.tier_min_risk.data is not None and form.tier_rate.data is not None:
            data["risk_tiers"] = [{"min_risk": form.tier_min_risk.data, "rate": float(form.tier_rate.data)}]
        try:
            campaign = create_campaign(data)
        except InvalidData as exc:
            for name, messages in exc.fields.items():
                field = getattr(form, "tier_rate" if name.startswith("risk_tiers") else name, None)
                if field is None:
                    form.form_errors.extend(messages)
                else:
                    field.errors = list(field.errors) + messages
        else:
            flash(_("Campaign created. Record the seed commitment to freeze its population."), "success")
            return redirect(url_for("planning.campaign", campaign_id=campaign.id))
    return render_template("planning/form.html", form=form)


@bp.route("/<int:campaign_id>", methods=["GET", "POST"])
@permission_required("campaigns.view")
def campaign(campaign_id: int):
    campaign = _load(campaign_id)
    refresh_campaign_status(campaign)
    commit_form, seed_form = CommitForm(prefix="commit"), SeedForm(prefix="draw")
    status_form = StatusForm(prefix="status")
    action = request.form.get("action")
    if request.method == "POST":
        authorize("campaigns.plan", campaign)
        try:
            if action == "status" and status_form.validate_on_submit():
                change_campaign_status(campaign, status_form.status.data)
                flash(_("The campaign is now: %(status)s.", status=campaign_status_label(campaign.status)), "success")
                return redirect(url_for("planning.campaign", campaign_id=campaign.id))
            if action == "commit" and commit_form.validate_on_submit():
                commit_campaign(campaign, commit_form.seed_commitment.data)
                flash(_("Commitment recorded: the population and the inspector pool are frozen."), "success")
                return redirect(url_for("planning.campaign", campaign_id=campaign.id))
            if action == "draw" and seed_form.validate_on_submit():
                draw_campaign(campaign, seed_form.seed.data)
                flash(_("Drawn."), "success")
                return redirect(url_for("planning.campaign", campaign_id=campaign.id))
        except SeedMismatch:
            from flask import g
            g.keep_changes_on_error = True
            seed_form.seed.errors = [_("This seed does not match the commitment recorded before the draw.")]
        except IllegalCampaignTransition as exc:
            from flask import g
            g.keep_changes_on_error = True  # the refusal is audited
            flash(str(exc.message), "error")
        except (CampaignStateError, InvalidData) as exc:
            flash(str(getattr(exc, "message", exc)), "error")
    shortfalls = campaign.draw.result["shortfalls"] if campaign.draw and campaign.draw.result else []
    days, members, entities = _team_days(campaign, [s["entity_id"] for s in shortfalls])
    steps = [s for s in TRANSITIONS[campaign.status] if s in MANUAL_STATUSES]
    return render_template("planning/detail.html", campaign=campaign, draw=campaign.draw, commit_form=commit_form,
                           seed_form=seed_form, status_form=status_form, steps=steps, days=days, members=members,
                           entities=entities, shortfalls=shortfalls, deadline=publication_deadline(campaign),
                           policy=publication_policy())


def _team_days(campaign: Campaign, also_entities: list[int] = ()):
    inspections = db.session.scalars(sa.select(Inspection).options(selectinload(Inspection.members))
                                     .where(Inspection.campaign_id == campaign.id)
                                     .order_by(Inspection.scheduled_date, Inspection.team_day,
                                               Inspection.route_position)).all()
    days: dict[str, list[Inspection]] = defaultdict(list)
    user_ids, entity_ids = set(), set(also_entities)
    for inspection in inspections:
        days[inspection.team_day or f"cause-{inspection.id}"].append(inspection)
        user_ids.update(m.user_id for m in inspection.members)
        entity_ids.add(inspection.entity_id)
    members = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    entities = {e.id: e for e in db.session.scalars(sa.select(Entity).where(Entity.id.in_(entity_ids)))} \
        if entity_ids else {}
    return days, members, entities


@bp.route("/<int:campaign_id>/verify")
@permission_required("campaigns.view")
def verify(campaign_id: int):
    campaign = _load(campaign_id)
    if campaign.draw is None or campaign.draw.seed is None:
        abort(404)
    return render_template("planning/verify.html", campaign=campaign, outcome=verify_draw(campaign.draw))


@bp.route("/seed-helper")
@permission_required("campaigns.plan")
def seed_helper():
    """A fresh random seed and its commitment, for planners without a public lottery."""
    import secrets
    seed = secrets.token_hex(16)
    return render_template("planning/seed.html", seed=seed, commitment=commitment_of(seed))


def _route_sheet_data(campaign: Campaign, team_day: str) -> dict:
    from .routemap import route_svg
    from .services import team_day_route
    inspections = db.session.scalars(sa.select(Inspection).where(
        Inspection.campaign_id == campaign.id, Inspection.team_day == team_day)
        .order_by(Inspection.route_position)).all()
    if not inspections:
        abort(404)
    office, route, unplaced = team_day_route(inspections)
    by_id = {i.id: i for i in inspections}
    stops = [{"position": n, "inspection": by_id[i], "entity": by_id[i].entity, "arrival": route.arrivals[n - 1],
              "leg": route.legs[n - 1]} for n, i in enumerate(route.order, start=1)]
    region = _ref().regions[inspections[0].region_code]
    svg = route_svg(route, office, {i: (by_id[i].entity.lat, by_id[i].entity.lon) for i in route.order},
                    labels={i: by_id[i].entity.name for i in route.order},
                    office_label=region.seat_name_zh, title=f"{campaign.name} {team_day}")
    members = db.session.scalars(sa.select(User).where(User.id.in_([m.user_id for m in inspections[0].members])))
    return {"campaign": campaign, "team_day": team_day, "date": inspections[0].scheduled_date, "region": region,
            "stops": stops, "unplaced": unplaced, "route": route, "svg": svg,
            "members": sorted(members, key=lambda u: u.department_code), "return_leg": route.legs[-1] if route.legs
            else None}


@bp.route("/<int:campaign_id>/route/<team_day>")
@permission_required("campaigns.view")
def route_sheet(campaign_id: int, team_day: str):
    """A team-day's route sheet: order, legs, times and a drawn map (printable)."""
    campaign = _load(campaign_id)
    return render_template("planning/route_sheet.html", **_route_sheet_data(campaign, team_day))


@bp.route("/<int:campaign_id>/route/<team_day>.pdf")
@permission_required("campaigns.view")
def route_sheet_pdf(campaign_id: int, team_day: str):
    from flask import Response

    from ..pdf import render_pdf
    campaign = _load(campaign_id)
    html = render_template("planning/route_sheet_pdf.html", **_route_sheet_data(campaign, team_day))
    pdf = render_pdf(html)
    return Response(pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f"inline; filename=route-{campaign.id}-{team_day}.pdf"})
