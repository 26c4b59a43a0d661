"""Tip-off pages: the public report form and status check (no sign-in, rate-limited, Chinese first),
and the planners' triage."""
from __future__ import annotations

from pathlib import Path

from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request,
                   send_file, url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from wtforms import SelectChoice

from ..api.schemas import paginate
from ..auth.models import User, UserRole
from ..auth.permissions import authorize, can, permission_required, public
from ..errors import InvalidData
from ..extensions import db, limiter
from ..registry.models import Entity
from . import tipoffs as services
from .forms import (CloseTipOffForm, LinkEntityForm, PlanInspectionForm, ReasonForm, RewardForm, TipOffForm,
                    TipOffStatusForm, UnlicensedEntityForm)
from .models import TIPOFF_CATEGORIES, TIPOFF_OUTCOMES, TipOff, TipOffPhoto

bp = Blueprint("tipoffs", __name__)
PER_PAGE = 50


def submit_limit() -> str:
    return current_app.config.get("TIPOFF_RATE_LIMIT", "5 per hour; 20 per day")


def status_limit() -> str:
    return current_app.config.get("TIPOFF_STATUS_RATE_LIMIT", "30 per minute")


def check_request_size() -> None:
    """Refuse an oversized report before reading it (413)."""
    length = request.content_length
    if length is not None and length > services.request_size_limit():
        abort(413)


def _ref():
    return current_app.extensions["inspect_reference"]


def _locale() -> str:
    return str(get_locale())


def _tipoff_form() -> TipOffForm:
    form = TipOffForm()
    counties = [SelectChoice(r.code, r.name(_locale())) for r in _ref().counties]
    form.region_code.choices = [SelectChoice("", "—")] + counties
    form.target_kind.choices = [SelectChoice(k, _kind_label(k)) for k in services.TARGET_KINDS]
    categories = [SelectChoice(c, str(services.CATEGORY_LABELS[c])) for c in TIPOFF_CATEGORIES]
    form.category.choices = [SelectChoice("", "—")] + categories
    return form


def _kind_label(code: str) -> str:
    if code in _ref().kinds:
        return _ref().kinds[code].name(_locale())
    return {"online": _("Online advertisement"), "unknown": _("Not sure")}[code]


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/tipoff", methods=["GET", "POST"])
@public
@limiter.shared_limit(submit_limit, scope="tipoff-submit", methods=["POST"])
def report():
    """The public report form (举报)."""
    if request.method == "POST":
        check_request_size()
    form = _tipoff_form()
    status = 200
    if form.validate_on_submit():
        names = ("target_name", "target_address", "region_code", "target_kind", "category", "description", "contact")
        data = {name: getattr(form, name).data for name in names}
        photos = [f for f in request.files.getlist(form.photos.name) if f and f.filename]
        try:
            tipoff, code = services.submit_tipoff(data, photos, channel="web")
        except InvalidData as exc:
            db.session.rollback()
            for name, messages in exc.fields.items():
                getattr(form, name, form.description).errors = list(messages)
            status = 422
        else:
            return _no_store(make_response(render_template("tipoffs/received.html", code=code,
                                                           tipoff=tipoff), 201))
    elif request.method == "POST":
        status = 422
    return render_template("tipoffs/report.html", form=form, photo_limits=services.photo_limits()), status


@bp.route("/tipoff/status", methods=["GET", "POST"])
@public
@limiter.shared_limit(status_limit, scope="tipoff-status", methods=["POST"])
def status():
    """Status by tracking code: the status only."""
    form = TipOffStatusForm()
    found, looked = None, False
    if form.validate_on_submit():
        looked = True
        tipoff = services.find_by_code(form.code.data)
        found = services.public_status(tipoff) if tipoff else None
    return _no_store(make_response(render_template("tipoffs/status.html", form=form, found=found,
                                                   looked=looked)))


# --------------------------------------------------------------------------------------------
# Triage

def _load(tipoff_id: int) -> TipOff:
    tipoff = db.session.get(TipOff, tipoff_id)
    if tipoff is None:
        abort(404)
    authorize("tipoffs.triage", tipoff)
    return tipoff


@bp.route("/tipoffs/")
@permission_required("tipoffs.triage")
def triage_list():
    status = request.args.get("status", "open")
    page = paginate(db.session, services.triage_query(current_user, status),
                    {"page": max(request.args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("tipoffs/list.html", page=page, args=request.args, status=status,
                           categories=services.CATEGORY_LABELS, statuses=services.STATUS_LABELS)


def _officers(region_code: str | None):
    stmt = (db.select(User).join(UserRole).where(UserRole.role == "inspector", User.is_active.is_(True),
                                                 User.credential_number.is_not(None)))
    if region_code:
        stmt = stmt.where(User.region_code.in_((region_code, _ref().city.code)))
    from ..i18n import department_short
    return [SelectChoice(u.id, f"{u.full_name}（{department_short(u.department_code)}）")
            for u in db.session.scalars(stmt.order_by(User.department_code, User.full_name))]


def _forms(tipoff: TipOff, **given) -> dict:
    unlicensed = given.get("unlicensed_form") or UnlicensedEntityForm(prefix="new")
    unlicensed.kind.choices = [SelectChoice(k.code, k.name(_locale())) for k in _ref().kinds.values()]
    unlicensed.region_code.choices = [SelectChoice(r.code, r.name(_locale())) for r in _ref().counties]
    if request.method == "GET":
        unlicensed.name.data = tipoff.target_name
        unlicensed.address.data = tipoff.target_address
        unlicensed.region_code.data = tipoff.region_code
        if tipoff.target_kind in _ref().kinds:
            unlicensed.kind.data = tipoff.target_kind
    plan = given.get("plan_form") or PlanInspectionForm(prefix="plan")
    plan.team.choices = _officers((tipoff.entity.region_code if tipoff.entity else tipoff.region_code))
    close = given.get("close_form") or CloseTipOffForm(prefix="close")
    close.outcome.choices = [SelectChoice(o, str(services.OUTCOME_LABELS[o])) for o in TIPOFF_OUTCOMES]
    reward = given.get("reward_form") or RewardForm(prefix="reward")
    if request.method == "GET":
        reward.eligible.data = {True: "yes", False: "no"}.get(tipoff.reward_eligible, "")
        reward.amount.data, reward.paid_on.data, reward.note.data = (tipoff.reward_amount, tipoff.reward_paid_on,
                                                                     tipoff.reward_note)
    return {"link_form": given.get("link_form") or LinkEntityForm(prefix="link"), "unlicensed_form": unlicensed,
            "plan_form": plan, "urgent_form": given.get("urgent_form") or ReasonForm(prefix="urgent"),
            "close_form": close, "reward_form": reward,
            "contact_form": given.get("contact_form") or (ReasonForm(prefix="contact")
                                                          if can(current_user, "tipoffs.contact", tipoff) else None)}


def _render(tipoff: TipOff, status: int = 200, contact=None, **given):
    candidates = []
    if tipoff.entity is None:
        candidates = db.session.scalars(db.select(Entity).where(Entity.name.contains(tipoff.target_name[:20]))
                                        .order_by(Entity.id).limit(10)).all()
    response = make_response(render_template(
        "tipoffs/triage.html", tipoff=tipoff, contact=contact, candidates=candidates,
        categories=services.CATEGORY_LABELS, statuses=services.STATUS_LABELS, outcomes=services.OUTCOME_LABELS,
        kind_label=_kind_label, **_forms(tipoff, **given)), status)
    return _no_store(response)


@bp.route("/tipoffs/<int:tipoff_id>")
@permission_required("tipoffs.triage")
def triage(tipoff_id: int):
    return _render(_load(tipoff_id))


@bp.route("/tipoffs/<int:tipoff_id>/photos/<int:photo_id>")
@permission_required("tipoffs.triage")
def photo(tipoff_id: int, photo_id: int):
    tipoff = _load(tipoff_id)
    item = db.session.get(TipOffPhoto, photo_id)
    if item is None or item.tipoff_id != tipoff.id:
        abort(404)
    path = Path(current_app.config["INSPECT_DATA_DIR"]) / item.stored_path
    if not path.is_file():
        abort(404)
    return send_file(path, mimetype="image/jpeg", max_age=0)


@bp.route("/tipoffs/<int:tipoff_id>/<action>", methods=["POST"])
@permission_required("tipoffs.triage")
def triage_action(tipoff_id: int, action: str):
    """One triage step: link, unlicensed, plan, urgent, close, reward, contact."""
    tipoff = _load(tipoff_id)
    handlers = {"link": _link, "unlicensed": _unlicensed, "plan": _plan, "urgent": _urgent, "close": _close,
                "reward": _reward, "contact": _contact}
    if action not in handlers:
        abort(404)
    return handlers[action](tipoff)


def _fail(tipoff: TipOff, form, exc: InvalidData, key: str):
    db.session.rollback()
    tipoff = db.session.get(TipOff, tipoff.id)
    for name, messages in exc.fields.items():
        field = getattr(form, name, None)
        if field is None:
            flash("; ".join(messages), "error")
        else:
            field.errors = list(field.errors) + list(messages)
    return _render(tipoff, 422, **{key: form})


def _done(tipoff: TipOff, message: str):
    flash(message, "success")
    return redirect(url_for("tipoffs.triage", tipoff_id=tipoff.id))


def _link(tipoff):
    form = LinkEntityForm(prefix="link")
    if not form.validate_on_submit():
        return _render(tipoff, 422, link_form=form)
    entity = db.session.get(Entity, form.entity_id.data)
    if entity is None or not can(current_user, "entities.view", entity):
        form.entity_id.errors = [_("Not found.")]
        return _render(tipoff, 422, link_form=form)
    try:
        services.link_entity(tipoff, current_user, entity)
    except InvalidData as exc:
        return _fail(tipoff, form, exc, "link_form")
    return _done(tipoff, _("Linked to %(name)s.", name=entity.name))


def _unlicensed(tipoff):
    form = UnlicensedEntityForm(prefix="new")
    form.kind.choices = [SelectChoice(k, k) for k in _ref().kinds]
    form.region_code.choices = [SelectChoice(r.code, r.code) for r in _ref().counties]
    if not form.validate_on_submit():
        return _render(tipoff, 422, unlicensed_form=form)
    try:
        entity = services.create_unlicensed_entity(tipoff, current_user, {
            "kind": form.kind.data, "name": form.name.data, "address": form.address.data,
            "region_code": form.region_code.data})
    except InvalidData as exc:
        return _fail(tipoff, form, exc, "unlicensed_form")
    return _done(tipoff, _("%(name)s registered as an unlicensed operator.", name=entity.name))


def _plan(tipoff):
    form = PlanInspectionForm(prefix="plan")
    form.team.choices = _officers(None)
    if not form.validate_on_submit():
        return _render(tipoff, 422, plan_form=form)
    try:
        inspection = services.plan_inspection(tipoff, current_user, {"date": form.date.data, "team": form.team.data})
    except InvalidData as exc:
        return _fail(tipoff, form, exc, "plan_form")
    return _done(tipoff, _("Cause-based inspection %(id)d arranged.", id=inspection.id))


def _urgent(tipoff):
    form = ReasonForm(prefix="urgent")
    form.reason.validators = []
    if not form.validate_on_submit():
        return _render(tipoff, 422, urgent_form=form)
    try:
        referral = services.mark_urgent(tipoff, current_user, form.reason.data)
    except InvalidData as exc:
        return _fail(tipoff, form, exc, "urgent_form")
    return _done(tipoff, _("Marked urgent; referred to the police.") if referral else _("Marked urgent."))


def _close(tipoff):
    form = CloseTipOffForm(prefix="close")
    form.outcome.choices = [SelectChoice(o, o) for o in TIPOFF_OUTCOMES]
    if not form.validate_on_submit():
        return _render(tipoff, 422, close_form=form)
    try:
        services.close_tipoff(tipoff, current_user, form.outcome.data, form.note.data)
    except InvalidData as exc:
        return _fail(tipoff, form, exc, "close_form")
    return _done(tipoff, _("Tip-off concluded."))


def _reward(tipoff):
    form = RewardForm(prefix="reward")
    if not form.validate_on_submit():
        return _render(tipoff, 422, reward_form=form)
    try:
        services.set_reward(tipoff, current_user, eligible={"yes": True, "no": False}.get(form.eligible.data),
                            amount=form.amount.data, paid_on=form.paid_on.data, note=form.note.data)
    except InvalidData as exc:
        return _fail(tipoff, form, exc, "reward_form")
    return _done(tipoff, _("Reward recorded."))


def _contact(tipoff):
    """The reporter's contact, on this response only; planners only; audited with the reason."""
    authorize("tipoffs.contact", tipoff)
    form = ReasonForm(prefix="contact")
    if not form.validate_on_submit():
        return _render(tipoff, 422, contact_form=form)
    contact = services.reveal_contact(tipoff, current_user, form.reason.data)
    return _render(tipoff, contact=contact or _("The reporter left no contact."))
