"""Pages of cases (the supervisor's and inspector's lists with their clocks, a case's file and its
steps, the penalty proposal) and of referrals (the receiving department's inbox)."""
from __future__ import annotations

import json

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from ..api.schemas import paginate
from ..auth.forms import EmptyForm
from ..auth.models import User, UserRole
from ..auth.permissions import authorize, can, login_required, permission_required
from ..errors import InvalidData
from ..extensions import db
from ..inspection.models import Referral
from ..inspection.services import violation_type_for
from . import referrals as referral_services
from .clocks import (BEFORE_DECISION, CLOCK_LABELS, case_clocks, deadline_panel, decision_extendable, horizon_for,
                     late_fee, local_today, payment_terms, scoped_cases, service_due)
from .forms import (STEP_ACTIONS, STEP_FIELDS, AcknowledgeForm, DecisionServiceForm, OfficersForm, OutcomeForm,
                    PenaltyForm, PublicationForm, ReasonForm, ReferralForm, TransitionForm)
from .models import ADJUSTMENTS, CASE_STATUSES, EXECUTIONS, PARTY_TYPES, SERVICE_MANNERS, Case
from .penalty import INPUTS, case_range
from .rules import rules
from .services import (ADJUSTMENT_LABELS, EXECUTION_LABELS, PARTY_TYPE_LABELS, PROCEDURE_STEPS,
                       SERVICE_MANNER_LABELS, STATUS_LABELS, TRANSITIONS, CaseStateError, IllegalCaseTransition,
                       eligible_officers, extend_decision, extend_investigation, keep_refusal, officers_missing,
                       propose_penalty, record_decision_service, record_publication, refuse_if_transfer_pending,
                       service_receipts, set_case_officers, suggested_deadline, tick, transition,
                       transition_permission, valid_officers)

bp = Blueprint("cases", __name__, url_prefix="/cases")
PER_PAGE = 50


def _ref():
    return current_app.extensions["inspect_reference"]


def _locale() -> str:
    return str(get_locale())


def _load(case_id: int, permission: str = "cases.view") -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        abort(404)
    authorize(permission, case)
    return case


@bp.route("/")
@permission_required("cases.view")
def index():
    args = request.args
    scope = args.get("scope") if args.get("scope") in ("mine", "department", "all") else "auto"
    stmt = scoped_cases(current_user, scope)
    status = args.get("status")
    if status == "active":
        stmt = stmt.where(Case.status != "closed")
    elif status in CASE_STATUSES:
        stmt = stmt.where(Case.status == status)
    if args.get("due") == "1":
        stmt = stmt.where(Case.next_due_on.is_not(None), Case.next_due_on <= horizon_for(local_today()))
    stmt = stmt.order_by(Case.next_due_on.is_(None), Case.next_due_on, Case.id.desc())
    page = paginate(db.session, stmt, {"page": max(args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("cases/list.html", page=page, args=args, scope=scope, statuses=CASE_STATUSES,
                           status_labels=STATUS_LABELS, clock_labels=CLOCK_LABELS, panel=deadline_panel(current_user),
                           tick_form=EmptyForm() if can(current_user, "cases.schedule") else None)


@bp.route("/tick", methods=["POST"])
@permission_required("cases.schedule")
def run_tick():
    """The daily job on demand: re-inspections for every passed rectification deadline."""
    if EmptyForm().validate_on_submit():
        result = tick(user=current_user)
        flash(_("%(n)d re-inspection(s) scheduled.", n=len(result["scheduled"])), "success")
        for problem in result["problems"]:
            flash(_("Case %(id)s: %(problem)s", id=problem["case_id"], problem=problem["problem"]), "warning")
    return redirect(url_for("cases.index"))


def _officer_choices(case: Case) -> list:
    users = db.session.scalars(
        sa.select(User).join(UserRole).where(UserRole.role == "inspector", User.is_active.is_(True),
                                             User.credential_number.is_not(None),
                                             User.region_code.in_((case.region_code, _ref().city.code)))
        .order_by(User.department_code, User.full_name)).all()
    from ..i18n import department_short
    return [SelectChoice(u.id, f"{u.full_name}（{department_short(u.department_code)}）") for u in users]


def _step_forms(case: Case) -> dict:
    """A form for each step this user may make now."""
    forms = {}
    for step in TRANSITIONS[case.status]:
        if step in PROCEDURE_STEPS or not can(current_user, transition_permission(step), case):
            continue
        form = TransitionForm(prefix=step)
        form.execution.choices = [SelectChoice("", "—")] + [SelectChoice(e, str(EXECUTION_LABELS[e]))
                                                            for e in EXECUTIONS]
        form.to_department.choices = [SelectChoice(d.code, d.short(_locale())) for d in _ref().departments.values()
                                      if d.code != case.handling_department]
        if step == "transferred" and request.method == "GET":
            form.to_department.data = ("police" if any(v.criminal for v in case.violations)
                                       else case.acting_department)
        form.team.choices = _officer_choices(case) if step == "reinspection_due" else []
        if step == "rectification_ordered" and request.method == "GET":
            form.deadline.data = suggested_deadline(case, local_today())
        forms[step] = form
    return forms


def _referral_form(case: Case) -> ReferralForm:
    form = ReferralForm()
    form.kind.choices = [SelectChoice(k, str(referral_services.KIND_LABELS[k])) for k in ("victim_relief", "case")]
    form.to_department.choices = [SelectChoice(d.code, d.short(_locale())) for d in _ref().departments.values()
                                  if d.code != case.handling_department]
    return form


def catalogue_referrals(case: Case) -> list[dict]:
    """What the catalogue says must or may be referred for the case's violations."""
    out = []
    for violation in case.violations:
        vtype = violation_type_for(violation)
        if vtype and vtype.referral:
            out.append({"title": vtype.title(_locale()), "type": vtype.referral["type"],
                        "department": vtype.referral["department"], "mandatory": vtype.referral["mandatory"],
                        "when": vtype.referral.get("when_en" if _locale().startswith("en") else "when_zh")})
    return out


def _service_form(case: Case) -> DecisionServiceForm:
    form = DecisionServiceForm(prefix="service")
    form.manner.choices = [SelectChoice("", "—")] + [SelectChoice(m, str(SERVICE_MANNER_LABELS[m]))
                                                     for m in SERVICE_MANNERS]
    form.receipt_id.choices = [SelectChoice("", "—")] + [SelectChoice(str(r.id), r.number)
                                                         for r in service_receipts(case)]
    return form


def _officers_form(case: Case) -> OfficersForm:
    form = OfficersForm(prefix="officers")
    from ..i18n import department_short
    choices = {u.id: u for u in eligible_officers(case)}
    for user in case.handling_officers:  # the current ones stay visible, even one who may no longer act
        choices.setdefault(user.id, user)
    form.officers.choices = [SelectChoice(u.id, f"{u.full_name}（{department_short(u.department_code)}，"
                                                f"{u.credential_number or '—'}）") for u in choices.values()]
    if request.method == "GET" or not form.is_submitted():
        form.officers.data = [o.user_id for o in case.officers]
    return form


def _may_serve(case: Case) -> bool:
    return (case.decided_on is not None and case.decision_served_on is None
            and case.status in ("decided", "executed") and can(current_user, "cases.manage", case))


def _may_extend_decision(case: Case) -> bool:
    return (decision_extendable(case) and not case.decision_extended and case.status in BEFORE_DECISION
            and can(current_user, "cases.decide", case))


# A violation's own status, as the case page shows it
VIOLATION_STATUS_LABELS = {"open": _l("Being handled"), "withdrawn": _l("Withdrawn"), "closed": _l("Closed")}


def _render_case(case: Case, step_forms: dict | None = None, status: int = 200, revealed=None, **forms):
    may_manage = can(current_user, "cases.manage", case)
    referral_form = None
    if may_manage and can(current_user, "referrals.create"):
        referral_form = _referral_form(case)
    today = local_today()
    horizon = horizon_for(today)
    clocks = [(clock, clock.state(today, horizon)) for clock in case_clocks(case)]
    referrals = db.session.scalars(sa.select(Referral).where(
        Referral.entity_id == case.entity_id, Referral.inspection_id == case.inspection_id)
        .order_by(Referral.id)).all() if case.inspection_id else ([case.referral] if case.referral else [])
    html = render_template(
        "cases/detail.html", case=case, clocks=clocks, status_labels=STATUS_LABELS,
        step_forms=step_forms if step_forms is not None else _step_forms(case), step_fields=STEP_FIELDS,
        step_actions=STEP_ACTIONS,
        may_manage=may_manage, may_decide=can(current_user, "cases.decide", case),
        penalty_open="penalty_proposed" in TRANSITIONS[case.status] and may_manage,
        publication_form=PublicationForm() if case.decided_on and case.published_on is None and may_manage else None,
        extension_form=forms.get("extension_form") or (
            ReasonForm(prefix="ext") if can(current_user, "cases.decide", case)
            and not case.investigation_extended and case.status not in ("closed",) else None),
        decision_extension_form=forms.get("decision_extension_form") or (
            ReasonForm(prefix="dext") if _may_extend_decision(case) else None),
        decision_extension=rules().clocks["decision_extension_days"],
        decision_extension_unconfirmed=rules().unconfirmed("decision_extension"),
        service_form=forms.get("service_form") or (_service_form(case) if _may_serve(case) else None),
        officers_form=forms.get("officers_form") or (
            _officers_form(case) if may_manage and not case.is_closed else None),
        officers_missing=officers_missing(case), valid_officer_ids={u.id for u in valid_officers(case)},
        service_due=service_due(case), service_labels=SERVICE_MANNER_LABELS,
        service_days=rules().clocks["decision_service_working_days"], payment_days=rules().clocks["payment_days"],
        payment=payment_terms(case, _locale()), late_fee=late_fee(case, today, _locale()),
        referral_form=referral_form, referrals=referrals, referral_kinds=referral_services.KIND_LABELS,
        referral_statuses=referral_services.STATUS_LABELS, execution_labels=EXECUTION_LABELS,
        catalogue_referrals=catalogue_referrals(case),
        adjustment_labels=ADJUSTMENT_LABELS, input_labels=INPUTS, violation_status_labels=VIOLATION_STATUS_LABELS,
        violation_types={v.id: violation_type_for(v) for v in case.violations},
        locale=_locale())
    return html, status


@bp.route("/<int:case_id>")
@permission_required("cases.view")
def detail(case_id: int):
    return _render_case(_load(case_id))


@bp.route("/<int:case_id>/transition", methods=["POST"])
@permission_required("cases.view")
def step(case_id: int):
    case = _load(case_id)
    to = request.form.get("step", "")
    if to not in CASE_STATUSES:
        abort(400)
    authorize(transition_permission(to), case)
    forms = _step_forms(case)
    form = forms.get(to)
    if form is None:  # not allowed from this status (or not for this user): name the allowed steps
        keep_refusal()
        flash(IllegalCaseTransition(case.status, to).message(), "error")
        return _render_case(case, forms, 409)
    if form.validate_on_submit():
        data = {name: getattr(form, name).data for name in STEP_FIELDS.get(to, ())}
        try:
            transition(case, to, current_user, form.reason.data, data)
        except IllegalCaseTransition as exc:
            keep_refusal()
            flash(exc.message(), "error")
            return _render_case(case, forms, 409)
        except InvalidData as exc:
            db.session.rollback()
            for name, messages in exc.fields.items():
                field = getattr(form, name, None) or form.reason
                field.errors = list(field.errors) + messages
            return _render_case(db.session.get(Case, case_id), forms, 422)
        flash(_("Case %(id)d: %(status)s.", id=case.id, status=STATUS_LABELS[case.status]), "success")
        return redirect(url_for("cases.detail", case_id=case.id))
    return _render_case(case, forms, 422)


def _penalty_form(case: Case, computed: dict):
    form = PenaltyForm()
    form.adjustment.choices = [SelectChoice(a, str(ADJUSTMENT_LABELS[a])) for a in ADJUSTMENTS]
    form.party_type.choices = [SelectChoice(p, str(PARTY_TYPE_LABELS[p])) for p in PARTY_TYPES]
    form.measures.choices = [SelectChoice(m["type"], m["label"]) for m in computed["measures"]]
    return form


def _input_overrides() -> dict:
    """``in-<violation id>-<input>`` fields of the penalty page."""
    overrides: dict = {}
    for key, value in request.values.items():
        parts = key.split("-")
        if len(parts) == 3 and parts[0] == "in" and parts[1].isdigit() and parts[2] in INPUTS and value.strip():
            overrides.setdefault(int(parts[1]), {})[parts[2]] = value.strip()
    return overrides


@bp.route("/<int:case_id>/penalty", methods=["GET", "POST"])
@permission_required("cases.manage")
def penalty(case_id: int):
    """The penalty proposal: the catalogue's range under the facts, the inputs, the officer's amount."""
    case = _load(case_id, "cases.manage")
    if "penalty_proposed" not in TRANSITIONS[case.status]:
        flash(IllegalCaseTransition(case.status, "penalty_proposed").message(), "error")
        return redirect(url_for("cases.detail", case_id=case.id))
    overrides = _input_overrides()
    serious = request.values.get("serious") in ("y", "1", "true", "on")
    status = 200
    try:
        computed = case_range(case, _numeric(overrides), serious=serious)
    except InvalidData:
        computed = case_range(case, serious=serious)
    form = _penalty_form(case, computed)
    if request.method == "POST" and request.form.get("action") == "propose" and form.validate_on_submit():
        try:
            propose_penalty(case, current_user, {
                "amount": form.amount.data, "reason": form.reason.data, "adjustment": form.adjustment.data,
                "serious": form.serious.data, "party_type": form.party_type.data, "measures": form.measures.data,
                "notice_served_on": form.notice_served_on.data, "inputs": overrides})
        except IllegalCaseTransition as exc:
            keep_refusal()
            flash(exc.message(), "error")
            status = 409
        except CaseStateError as exc:
            flash(exc.message, "error")
            status = 409
        except InvalidData as exc:
            db.session.rollback()
            case = db.session.get(Case, case_id)
            for name, messages in exc.fields.items():
                field = getattr(form, name, None)
                if field is None:
                    form.form_errors.extend(messages)
                else:
                    field.errors = list(field.errors) + messages
            status = 422
        else:
            flash(_("Penalty proposed: %(amount)d yuan.", amount=case.penalty_amount), "success")
            return redirect(url_for("cases.detail", case_id=case.id))
    elif request.method == "POST" and request.form.get("action") == "propose":
        status = 422
    from .rules import rules
    threshold = rules().threshold(case.acting_department)
    try:
        refuse_if_transfer_pending(case)
        blocked = None
    except CaseStateError as exc:
        blocked = exc.message
    if blocked is None and officers_missing(case) is not None:
        blocked = str(officers_missing(case))
    return render_template("cases/penalty.html", case=case, computed=computed, form=form, inputs=INPUTS,
                           overrides=overrides, threshold=threshold, locale=_locale(), blocked=blocked,
                           status_labels=STATUS_LABELS), status


def _numeric(overrides: dict) -> dict:
    out = {}
    for vid, values in overrides.items():
        row = {}
        for key, value in values.items():
            try:
                row[key] = int(value)
            except ValueError:
                raise InvalidData({f"in-{vid}-{key}": [_("Must be a whole number.")]}) from None
        out[vid] = row
    return out


@bp.route("/<int:case_id>/publication", methods=["POST"])
@permission_required("cases.manage")
def publication(case_id: int):
    case = _load(case_id, "cases.manage")
    form = PublicationForm()
    if form.validate_on_submit():
        try:
            record_publication(case, current_user, form.published_on.data)
        except (InvalidData, CaseStateError) as exc:
            flash(str(getattr(exc, "message", None) or exc), "error")
        else:
            flash(_("Publication recorded."), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


def _refused(case: Case, exc: Exception, **forms):
    """A refused step: the page again with the reason, 409 (the state forbids it) or 422 (bad input)."""
    if isinstance(exc, CaseStateError):
        flash(exc.message, "error")
        return _render_case(case, status=409, **forms)
    db.session.rollback()
    case = db.session.get(Case, case.id)
    for form in forms.values():
        for name, messages in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = list(field.errors) + [str(m) for m in messages]
            else:
                flash("; ".join(str(m) for m in messages), "error")
    return _render_case(case, status=422, **forms)


@bp.route("/<int:case_id>/extension", methods=["POST"])
@permission_required("cases.decide")
def extension(case_id: int):
    """劳动保障监察条例 Art 17: the labour inspection period extended once by 30 working days."""
    case = _load(case_id, "cases.decide")
    form = ReasonForm(prefix="ext")
    if not form.validate_on_submit():
        return _render_case(case, status=422, extension_form=form)
    try:
        extend_investigation(case, current_user, form.reason.data)
    except (InvalidData, CaseStateError) as exc:
        return _refused(case, exc, extension_form=form)
    flash(_("The investigation period was extended by 30 working days."), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.route("/<int:case_id>/decision-extension", methods=["POST"])
@permission_required("cases.decide")
def decision_extension(case_id: int):
    """Market regulation: the decision period extended once by 30 days with the head's approval."""
    case = _load(case_id, "cases.decide")
    form = ReasonForm(prefix="dext")
    if not form.validate_on_submit():
        return _render_case(case, status=422, decision_extension_form=form)
    try:
        extend_decision(case, current_user, form.reason.data)
    except (InvalidData, CaseStateError) as exc:
        return _refused(case, exc, decision_extension_form=form)
    flash(_("The decision period was extended by %(days)d days.", days=rules().clocks["decision_extension_days"]),
          "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.route("/<int:case_id>/officers", methods=["POST"])
@permission_required("cases.manage")
def officers(case_id: int):
    """Name the case's handling officers (承办人员, 行政处罚法 Art 42)."""
    case = _load(case_id, "cases.manage")
    form = _officers_form(case)
    if not form.validate_on_submit():
        return _render_case(case, status=422, officers_form=form)
    try:
        set_case_officers(case, current_user, form.officers.data or [])
    except (InvalidData, CaseStateError) as exc:
        return _refused(case, exc, officers_form=form)
    flash(_("Handling officers saved."), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.route("/<int:case_id>/decision-service", methods=["POST"])
@permission_required("cases.manage")
def decision_service(case_id: int):
    """The day and manner the penalty decision was served; the payment period runs from it."""
    case = _load(case_id, "cases.manage")
    form = _service_form(case)
    if not form.validate_on_submit():
        return _render_case(case, status=422, service_form=form)
    try:
        record_decision_service(case, current_user, {"served_on": form.served_on.data, "manner": form.manner.data,
                                                     "receipt_id": form.receipt_id.data})
    except (InvalidData, CaseStateError) as exc:
        return _refused(case, exc, service_form=form)
    flash(_("Service of the decision recorded."), "success")
    return redirect(url_for("cases.detail", case_id=case.id))


@bp.route("/<int:case_id>/refer", methods=["POST"])
@permission_required("referrals.create")
def refer(case_id: int):
    """Possible victims to civil affairs, the women's federation or the police (relief and return), or a
    case transfer letter for the part of the case another department decides; the case stays here."""
    case = _load(case_id, "cases.manage")
    form = _referral_form(case)
    if form.validate_on_submit():
        persons = (form.persons.data or "").strip()
        try:
            referral_services.create_referral(current_user, {
                "kind": form.kind.data, "to_department": form.to_department.data, "entity_id": case.entity_id,
                "inspection_id": case.inspection_id, "from_department": case.handling_department,
                "violation_id": case.violations[0].id if case.violations else None, "reason": form.reason.data,
                "restricted_data": {"persons": persons} if persons else None}, status="sent")
        except InvalidData as exc:
            db.session.rollback()
            flash("; ".join(m for ms in exc.fields.values() for m in ms), "error")
        else:
            flash(_("Referral sent."), "success")
    return redirect(url_for("cases.detail", case_id=case_id))


# --------------------------------------------------------------------------------------------
# Referrals

def _load_referral(referral_id: int) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        abort(404)
    if not referral_services.may_view(current_user, referral):
        abort(403)
    return referral


@bp.route("/referrals")
@permission_required("referrals.receive")
def referral_inbox():
    page = paginate(db.session, referral_services.inbox_query(current_user),
                    {"page": max(request.args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("cases/referrals.html", page=page, box="inbox", args=request.args,
                           kinds=referral_services.KIND_LABELS, statuses=referral_services.STATUS_LABELS)


@bp.route("/referrals/sent")
@permission_required("cases.view")
def referrals_sent():
    page = paginate(db.session, referral_services.sent_query(current_user),
                    {"page": max(request.args.get("page", 1, type=int), 1), "per_page": PER_PAGE})
    return render_template("cases/referrals.html", page=page, box="sent", args=request.args,
                           kinds=referral_services.KIND_LABELS, statuses=referral_services.STATUS_LABELS)


def _render_referral(referral: Referral, revealed=None, status: int = 200, **forms):
    receiving = can(current_user, "referrals.receive", referral)
    case = db.session.scalar(sa.select(Case).where(Case.referral_id == referral.id))
    html = render_template(
        "cases/referral.html", referral=referral, case=case, revealed=revealed,
        kinds=referral_services.KIND_LABELS, statuses=referral_services.STATUS_LABELS,
        ack_form=forms.get("ack_form") or (AcknowledgeForm() if receiving and referral.status in ("pending", "sent")
                                           else None),
        outcome_form=forms.get("outcome_form") or (OutcomeForm() if receiving and referral.status == "acknowledged"
                                                   else None),
        reveal_form=forms.get("reveal_form") or (ReasonForm(prefix="reveal") if referral.restricted_data
                                                 and can(current_user, "referrals.restricted", referral) else None),
        send_form=EmptyForm() if referral.status == "pending" and _may_send(referral) else None)
    response = make_response(html, status)
    if revealed is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


def _may_send(referral: Referral) -> bool:
    return (can(current_user, "cases.decide", referral.entity)
            and referral.from_department == current_user.department_code)


@bp.route("/referrals/<int:referral_id>")
@login_required  # the receiving department (its inbox) or the sending one: checked by may_view
def referral(referral_id: int):
    return _render_referral(_load_referral(referral_id))


@bp.route("/referrals/<int:referral_id>/acknowledge", methods=["POST"])
@permission_required("referrals.receive")
def referral_acknowledge(referral_id: int):
    referral = _load_referral(referral_id)
    authorize("referrals.receive", referral)
    form = AcknowledgeForm()
    if form.validate_on_submit():
        try:
            referral_services.acknowledge_referral(referral, current_user, form.note.data)
        except InvalidData as exc:
            flash("; ".join(m for ms in exc.fields.values() for m in ms), "error")
        else:
            flash(_("Receipt acknowledged."), "success")
    return redirect(url_for("cases.referral", referral_id=referral.id))


@bp.route("/referrals/<int:referral_id>/outcome", methods=["POST"])
@permission_required("referrals.receive")
def referral_outcome(referral_id: int):
    referral = _load_referral(referral_id)
    authorize("referrals.receive", referral)
    form = OutcomeForm()
    if form.validate_on_submit():
        try:
            referral_services.record_outcome(referral, current_user, form.outcome.data)
        except InvalidData as exc:
            flash("; ".join(m for ms in exc.fields.values() for m in ms), "error")
        else:
            flash(_("Outcome recorded."), "success")
            return redirect(url_for("cases.referral", referral_id=referral.id))
    return _render_referral(referral, status=422, outcome_form=form)


@bp.route("/referrals/<int:referral_id>/send", methods=["POST"])
@permission_required("cases.decide")
def referral_send(referral_id: int):
    referral = _load_referral(referral_id)
    if not _may_send(referral):
        abort(403)
    if EmptyForm().validate_on_submit():
        referral_services.send_referral(referral, current_user)
        flash(_("Referral sent."), "success")
    return redirect(url_for("cases.referral", referral_id=referral.id))


@bp.route("/referrals/<int:referral_id>/reveal", methods=["POST"])
@permission_required("referrals.restricted")
def referral_reveal(referral_id: int):
    """The victims' details, on this response only (never stored in the session), reading audited."""
    referral = _load_referral(referral_id)
    authorize("referrals.restricted", referral)
    form = ReasonForm(prefix="reveal")
    if not form.validate_on_submit():
        return _render_referral(referral, status=422, reveal_form=form)
    data = referral_services.reveal_restricted(referral, current_user, form.reason.data)
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, indent=2)
    return _render_referral(referral, revealed=text)
