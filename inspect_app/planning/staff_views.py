"""Planners' pages around a draw: a campaign's calendar (working days x teams), cause-based
inspections (有因检查), and the declared conflicts and leave that the next draws respect."""
from __future__ import annotations

from collections import Counter, defaultdict

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload
from wtforms import SelectChoice

from ..auth.models import User, UserRole
from ..auth.permissions import authorize, permission_required
from ..errors import InvalidData
from ..extensions import db
from ..inspection.models import Inspection
from ..registry.models import Entity
from ..workdays import workdays_between
from .forms import ConflictForm, DeleteForm, LeaveForm, cause_form
from .models import Campaign, InspectorConflict, InspectorLeave
from .services import CampaignStateError, add_cause_inspection, add_conflict, add_leave, find_entity

bp = Blueprint("planning_staff", __name__, url_prefix="/campaigns")
PER_PAGE = 50


def _ref():
    return current_app.extensions["inspect_reference"]


def _campaign(campaign_id: int, permission: str = "campaigns.view") -> Campaign:
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None:
        abort(404)
    authorize(permission, campaign)
    return campaign


def _inspectors(departments: list[str] | None = None) -> list[User]:
    stmt = (sa.select(User).join(UserRole, UserRole.user_id == User.id)
            .where(UserRole.role == "inspector", User.is_active.is_(True), User.credential_number.is_not(None))
            .order_by(User.department_code, User.region_code, User.full_name, User.id))
    if departments:
        stmt = stmt.where(User.department_code.in_(departments))
    return db.session.scalars(stmt).all()


def _inspector_choice(user: User, locale: str, as_text: bool = False) -> SelectChoice:
    ref = _ref()
    county = ref.regions[user.region_code].name(locale) if user.region_code in ref.regions else user.region_code
    department = ref.departments[user.department_code].short(locale) if user.department_code in ref.departments \
        else user.department_code
    return SelectChoice(str(user.id) if as_text else user.id, f"{user.full_name} · {department} · {county}")


# --- the calendar -----------------------------------------------------------------------------

@bp.route("/<int:campaign_id>/calendar")
@permission_required("campaigns.view")
def calendar(campaign_id: int):
    """Working days x counties: each team-day with its officers, its stops in route order and its route
    sheet; cause-based inspections on their day; and each officer's number of team-days."""
    campaign = _campaign(campaign_id)
    inspections = db.session.scalars(
        sa.select(Inspection).options(selectinload(Inspection.members))
        .where(Inspection.campaign_id == campaign.id, Inspection.status != "cancelled")
        .order_by(Inspection.scheduled_date, Inspection.team_day, Inspection.route_position, Inspection.id)).all()
    entity_ids = {i.entity_id for i in inspections}
    names = dict(db.session.execute(sa.select(Entity.id, Entity.name).where(Entity.id.in_(entity_ids))).all()) \
        if entity_ids else {}
    user_ids = {m.user_id for i in inspections for m in i.members}
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    cells: dict = defaultdict(lambda: defaultdict(dict))  # day -> county -> key -> team-day
    unscheduled = []
    workload: Counter = Counter()
    for inspection in inspections:
        if inspection.scheduled_date is None:
            unscheduled.append(inspection)
            continue
        key = inspection.team_day or f"cause-{inspection.id}"
        slot = cells[inspection.scheduled_date][inspection.region_code].setdefault(key, {
            "team_day": inspection.team_day, "cause": inspection.origin == "cause",
            "members": [m for m in inspection.members], "stops": []})
        slot["stops"].append(inspection)
        if len(slot["stops"]) == 1:
            workload.update(m.user_id for m in inspection.members)
    days = workdays_between(campaign.start_date, campaign.end_date)
    extra = sorted(d for d in cells if d not in set(days))  # a cause-based visit outside the working days
    counties = [r for r in _ref().counties if r.code in campaign.region_codes]
    by_department: dict[str, list[int]] = defaultdict(list)
    for user_id, count in workload.items():
        if user_id in users:
            by_department[users[user_id].department_code].append(count)
    balance = {d: (min(c), max(c), round(sum(c) / len(c), 1), len(c)) for d, c in sorted(by_department.items())}
    return render_template("planning/calendar.html", campaign=campaign, days=sorted(days + extra), cells=cells,
                           counties=counties, names=names, users=users, unscheduled=unscheduled,
                           workload=sorted(workload.items(), key=lambda kv: (-kv[1], kv[0])), balance=balance)


# --- cause-based inspections ------------------------------------------------------------------

@bp.route("/<int:campaign_id>/cause", methods=["GET", "POST"])
@permission_required("campaigns.plan")
def cause(campaign_id: int):
    campaign = _campaign(campaign_id, "campaigns.plan")
    locale = str(get_locale())
    ref = _ref()
    inspectors = _inspectors(campaign.departments)
    departments = [(code, ref.departments[code].short(locale) if code in ref.departments else code,
                    [_inspector_choice(u, locale, as_text=True) for u in inspectors if u.department_code == code])
                   for code in campaign.departments]
    form = cause_form(departments)
    if form.validate_on_submit():
        entity = find_entity(form.entity.data)
        team = [int(v) for code, _label, _c in departments if (v := getattr(form, f"officer_{code}").data)]
        if entity is None:
            form.entity.errors = [_("No such business in the registry.")]
        else:
            try:
                inspection = add_cause_inspection(campaign, entity, {"cause_note": form.cause_note.data,
                                                                     "date": form.date.data, "team": team})
            except InvalidData as exc:
                for name, messages in exc.fields.items():
                    target = getattr(form, "date" if name == "date" else name, None) if name != "team" else None
                    if target is None:
                        form.form_errors.extend(str(m) for m in messages)
                    else:
                        target.errors = list(target.errors) + [str(m) for m in messages]
            except CampaignStateError as exc:
                flash(str(exc.message), "error")
            else:
                flash(_("Cause-based inspection of %(name)s added.", name=entity.name), "success")
                return redirect(url_for("planning.campaign", campaign_id=campaign.id, _anchor=f"i{inspection.id}"))
    officer_fields = [getattr(form, f"officer_{code}") for code, _label, _c in departments]
    return render_template("planning/cause.html", campaign=campaign, form=form, officer_fields=officer_fields)


# --- declared conflicts and leave -------------------------------------------------------------

def _user_choices() -> list[SelectChoice]:
    locale = str(get_locale())
    return [_inspector_choice(u, locale) for u in _inspectors()]


def _form_errors(form, exc: InvalidData, aliases: dict | None = None) -> None:
    for name, messages in exc.fields.items():
        field = getattr(form, (aliases or {}).get(name, name), None)
        if field is None:
            form.form_errors.extend(str(m) for m in messages)
        else:
            field.errors = list(field.errors) + [str(m) for m in messages]


@bp.route("/conflicts", methods=["GET", "POST"])
@permission_required("campaigns.plan")
def conflicts():
    form = ConflictForm()
    form.user_id.choices = _user_choices()
    if form.validate_on_submit():
        entity = find_entity(form.entity.data) if form.entity.data else None
        if form.entity.data and entity is None:
            form.entity.errors = [_("No such business in the registry.")]
        else:
            try:
                add_conflict({"user_id": form.user_id.data, "entity_id": entity.id if entity else None,
                              "legal_representative": form.legal_representative.data, "reason": form.reason.data})
            except InvalidData as exc:
                _form_errors(form, exc, {"entity_id": "entity"})
            else:
                flash(_("Conflict recorded: draws committed from now on exclude this pair."), "success")
                return redirect(url_for("planning_staff.conflicts"))
    page = db.paginate(sa.select(InspectorConflict).order_by(InspectorConflict.id.desc()),
                       page=max(request.args.get("page", 1, type=int), 1), per_page=PER_PAGE, error_out=False)
    user_ids = {c.user_id for c in page.items}
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    entity_ids = {c.entity_id for c in page.items if c.entity_id}
    entities = {e.id: e for e in db.session.scalars(sa.select(Entity).where(Entity.id.in_(entity_ids)))} \
        if entity_ids else {}
    return render_template("planning/conflicts.html", form=form, page=page, users=users, entities=entities,
                           delete_form=DeleteForm())


@bp.route("/conflicts/<int:conflict_id>/delete", methods=["POST"])
@permission_required("campaigns.plan")
def delete_conflict(conflict_id: int):
    conflict = db.session.get(InspectorConflict, conflict_id)
    if conflict is None:
        abort(404)
    if DeleteForm().validate_on_submit():
        db.session.delete(conflict)
        flash(_("Conflict withdrawn."), "success")
    return redirect(url_for("planning_staff.conflicts"))


@bp.route("/leave", methods=["GET", "POST"])
@permission_required("campaigns.plan")
def leave():
    form = LeaveForm()
    form.user_id.choices = _user_choices()
    if form.validate_on_submit():
        try:
            add_leave({"user_id": form.user_id.data, "start_date": form.start_date.data,
                       "end_date": form.end_date.data, "note": form.note.data})
        except InvalidData as exc:
            _form_errors(form, exc)
        else:
            flash(_("Leave recorded: draws committed from now on do not put this inspector in a team on those days."),
                  "success")
            return redirect(url_for("planning_staff.leave"))
    page = db.paginate(sa.select(InspectorLeave).order_by(InspectorLeave.start_date.desc(), InspectorLeave.id.desc()),
                       page=max(request.args.get("page", 1, type=int), 1), per_page=PER_PAGE, error_out=False)
    user_ids = {row.user_id for row in page.items}
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    return render_template("planning/leave.html", form=form, page=page, users=users, delete_form=DeleteForm())


@bp.route("/leave/<int:leave_id>/delete", methods=["POST"])
@permission_required("campaigns.plan")
def delete_leave(leave_id: int):
    row = db.session.get(InspectorLeave, leave_id)
    if row is None:
        abort(404)
    if DeleteForm().validate_on_submit():
        db.session.delete(row)
        flash(_("Leave cancelled."), "success")
    return redirect(url_for("planning_staff.leave"))
