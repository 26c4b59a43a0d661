"""The field inspector's pages: today's route and the inspection workspace, built for a tablet by touch.

Views are thin: load, check access, call a service of :mod:`.services`, redirect. With JavaScript the
workspace saves each change through the JSON API as it is made (``static/js/field-*.js``); the forms
posted here are what works without it, and the signatures (drawn on a canvas) come here too.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from flask import (Blueprint, abort, current_app, flash, make_response, redirect, render_template, request, send_file,
                   url_for)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from wtforms import SelectChoice

from ..auth.forms import EmptyForm
from ..auth.models import User
from ..auth.permissions import authorize, can, permission_required, public
from ..errors import InvalidData
from ..extensions import db
from ..i18n import department_short
from ..registry.models import Entity
from ..registry.queries import entity_query, scope_to_user
from . import offline, services
from .forms import (AnswerForm, CheckInForm, EvidenceForm, ManualInspectionForm, PartnerAttestForm, RefusalForm,
                    RevealIdForm, StartForm, ViolationForm, WithdrawForm)
from .models import Evidence, Inspection, Signature, Violation

bp = Blueprint("inspection", __name__)

# The workspace's steps, in the order the law and the tablet take them.
STEPS = [
    ("start", _l("Start")),
    ("check_in", _l("Check-in")),
    ("checklist", _l("Checklist")),
    ("violations", _l("Violations")),
    ("sign", _l("Signatures")),
    ("complete", _l("Complete")),
]
STATUS_LABELS = {"planned": _l("Planned"), "in_progress": _l("In progress"), "completed": _l("Completed"),
                 "cancelled": _l("Cancelled")}
OUTCOME_LABELS = {"compliant": _l("Compliant"), "violations": _l("Violations found"),
                  "referred": _l("Referred to police"), "closed_premises": _l("Premises closed"),
                  "refused_entry": _l("Entry refused")}
ORIGIN_LABELS = {"random": _l("Random draw"), "cause": _l("With cause"), "follow_up": _l("Re-inspection"),
                 "manual": _l("Added by hand")}
LICENCE_STATES = {"valid": _l("Valid licence"), "expired": _l("Licence expired"), "none": _l("No licence on record")}
CHECKIN_FLAGS = {"far": _l("Far from the registered location"), "no_accuracy": _l("No accuracy reported"),
                 "too_fast": _l("Implausible jump from the previous fix"),
                 "no_location": _l("The premises have no registered location")}
# What completion may find missing (services.missing_for_completion), with the step that fixes it.
MISSING_LABELS = {"status": (_l("Start"), "start"),
                  "attestations": (_l("Officers' attestations"), "start"),
                  "check_in": (_l("Check-in"), "check_in"),
                  "answers": (_l("Unanswered items"), "checklist"),
                  "evidence": (_l("Evidence for failed items"), "checklist"),
                  "violations": (_l("Violations to confirm"), "violations"),
                  "signatures": (_l("Signatures"), "sign")}


@bp.app_template_global()
def inspection_status_label(code: str | None) -> str:
    return str(STATUS_LABELS.get(code or "", code or "—"))


@bp.app_template_global()
def inspection_outcome_label(code: str | None) -> str:
    return str(OUTCOME_LABELS.get(code or "", code or "—"))


@bp.app_template_global()
def evidence_url(evidence: Evidence, display: bool = True) -> str:
    """A photo as the API serves it (the downscaled JPEG, or the original), restricted ones refused there."""
    return url_for("api_inspections.InspectionEvidenceFile", inspection_id=evidence.inspection_id,
                   evidence_id=evidence.id, size="display" if display else None)


@bp.app_template_global()
def violation_title(violation: Violation) -> str:
    """A recorded violation's title as its inspection pinned the catalogue."""
    entry = services.violation_type_for(violation)
    return entry.title(_locale()) if entry else violation.type_code


@bp.app_template_global()
def licence_state_label(code: str | None) -> str:
    return str(LICENCE_STATES.get(code or "", code or "—"))


@bp.app_template_global()
def origin_label(code: str | None) -> str:
    return str(ORIGIN_LABELS.get(code or "", code or "—"))


def _load(inspection_id: int, permission: str = "inspections.view") -> Inspection:
    """The inspection, for its team (wherever they work) and for others within their scope."""
    inspection = db.session.get(Inspection, inspection_id)
    if inspection is None:
        abort(404)
    if not services.is_member(inspection, current_user):
        authorize(permission, inspection)
    return inspection


def authorize_work(inspection: Inspection) -> None:
    """Writing needs the role; the services then refuse anyone not on the team (403)."""
    if not can(current_user, "inspections.work"):
        abort(403)


def _locale() -> str:
    return str(get_locale())


def _refused(exc: Exception) -> None:
    """A service's refusal, told to the user on the page they come back to (403 for outsiders)."""
    if isinstance(exc, services.NotOnTeam):
        abort(403)
    if isinstance(exc, InvalidData):
        for messages in exc.fields.values():
            for message in messages:
                flash(message, "error")
    else:
        flash(str(exc) or _("The inspection cannot be changed in its current state."), "error")


SERVICE_ERRORS = (services.NotOnTeam, services.InspectionStateError, InvalidData)


def _workspace(inspection: Inspection, step: str, template: str, **context):
    """Render a step of the workspace with what every step shows (header, steps, sync state)."""
    if inspection.is_completed and step != "record":
        return redirect(url_for("inspection.record", inspection_id=inspection.id))
    writable = inspection.status in ("planned", "in_progress") and services.is_member(inspection, current_user) \
        and can(current_user, "inspections.work")
    return render_template(f"inspection/{template}.html", inspection=inspection, entity=inspection.entity,
                           step=step, steps=STEPS, progress=_progress(inspection), writable=writable,
                           see_restricted=services.can_see_restricted(current_user, inspection), **context)


def _progress(inspection: Inspection) -> dict:
    """Which steps hold something, for the step bar (what is required is the server's to say at completion)."""
    officer_ids = {m.user_id for m in inspection.members}
    attested = {a.user_id for a in inspection.attestations}
    return {
        "start": bool(officer_ids) and officer_ids <= attested,
        "check_in": bool(inspection.checkins),
        "checklist": bool(inspection.answers),
        "violations": bool(inspection.violations),
        "sign": bool(inspection.signatures),
        "complete": inspection.is_completed,
    }


# --------------------------------------------------------------------------------------------
# Today


def _day_arg() -> date:
    try:
        return date.fromisoformat(request.args.get("date", ""))
    except ValueError:
        return services.local_today()


@bp.route("/today")
@permission_required("inspections.view")
def today():
    day = _day_arg()
    inspections = services.assignments_for(current_user, day)
    rows = [{"inspection": inspection, "summary": services.assignment_summary(inspection)}
            for inspection in inspections]
    local_today = services.local_today()
    return render_template("inspection/today.html", day=day, rows=rows, today=local_today,
                           previous_day=day - timedelta(days=1), next_day=day + timedelta(days=1),
                           offline_pages=offline.offline_pages(inspections) if day == local_today else None)


# --------------------------------------------------------------------------------------------
# Offline copies (static/js/field-sw.js)


@bp.route("/field-sw.js")
@public
def service_worker():
    """The tablets' service worker, at the root so that its scope covers /today and /inspections/."""
    response = current_app.response_class(offline.worker_script(), mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.add_etag()
    return response.make_conditional(request)


@bp.after_request
def _mark_field_page(response):
    """Whose page this is: the worker keeps a copy in that user's cache only (and drops anyone else's)."""
    if request.endpoint in offline.PAGE_ENDPOINTS and response.status_code == 200 \
            and current_user.is_authenticated:
        response.headers["X-Field-User"] = str(current_user.id)
    return response


# --------------------------------------------------------------------------------------------
# The workspace


@bp.route("/inspections/<int:inspection_id>")
@permission_required("inspections.view")
def workspace(inspection_id: int):
    """Open an inspection at the step it has reached."""
    inspection = _load(inspection_id)
    if inspection.is_completed:
        return redirect(url_for("inspection.record", inspection_id=inspection.id))
    progress = _progress(inspection)
    step = "start" if inspection.status == "planned" or not progress["start"] else \
        "check_in" if not progress["check_in"] else "checklist"
    return redirect(url_for(f"inspection.{step}", inspection_id=inspection.id))


@bp.route("/inspections/<int:inspection_id>/start", methods=["GET", "POST"])
@permission_required("inspections.view")
def start(inspection_id: int):
    inspection = _load(inspection_id)
    form = StartForm(prefix="start")
    partner_form = PartnerAttestForm(prefix="partner")
    if request.method == "POST":
        authorize_work(inspection)
        action = request.form.get("action")
        try:
            if action == "start" and form.validate_on_submit():
                if inspection.status == "planned":
                    services.start_inspection(inspection, current_user, party_name=form.party_name.data or None,
                                              party_role=form.party_role.data or None)
                services.attest(inspection, current_user, current_user, method="session")
                flash(_("Inspection started; your attestation is recorded."), "success")
                return redirect(url_for("inspection.start", inspection_id=inspection.id))
            if action == "partner" and partner_form.validate_on_submit():
                officer = _team_officer(inspection, partner_form.officer_id.data)
                services.attest(inspection, current_user, officer, method=partner_form.method.data,
                                secret=partner_form.secret.data)
                flash(_("%(name)s confirmed.", name=officer.full_name), "success")
                return redirect(url_for("inspection.start", inspection_id=inspection.id))
        except SERVICE_ERRORS as exc:
            _refused(exc)  # a wrong PIN still counts towards the partner's lock-out (the service keeps it)
    if request.method == "GET" and inspection.party_name:
        form.party_name.data, form.party_role.data = inspection.party_name, inspection.party_role
    attested = {a.user_id: a for a in inspection.attestations}
    return _workspace(inspection, "start", "start", form=form, partner_form=partner_form, attested=attested,
                      summary=services.assignment_summary(inspection))


def _team_officer(inspection: Inspection, officer_id) -> User:
    member = next((m for m in inspection.members if str(m.user_id) == str(officer_id)), None)
    if member is None:
        abort(404)
    return member.user


@bp.route("/inspections/<int:inspection_id>/check-in", methods=["GET", "POST"])
@permission_required("inspections.view")
def check_in(inspection_id: int):
    inspection = _load(inspection_id)
    form = CheckInForm()
    if request.method == "POST":
        authorize_work(inspection)
        if form.validate_on_submit():
            at = _parse_dt(form.at.data) or datetime.now(timezone.utc)
            try:
                services.check_in(inspection, current_user, lat=form.lat.data, lon=form.lon.data,
                                  accuracy_m=form.accuracy_m.data, at=at, reason=form.reason.data or None)
            except SERVICE_ERRORS as exc:
                if isinstance(exc, InvalidData) and "reason" in exc.fields:
                    form.reason.errors = list(exc.fields["reason"])
                else:
                    _refused(exc)
            else:
                flash(_("Checked in."), "success")
                return redirect(url_for("inspection.check_in", inspection_id=inspection.id))
    return _workspace(inspection, "check_in", "check_in", form=form, flag_labels=CHECKIN_FLAGS,
                      flag_labels_json={code: str(label) for code, label in CHECKIN_FLAGS.items()},
                      max_distance=current_app.config.get("INSPECT_CHECKIN_MAX_DISTANCE_M", 300))


def _parse_dt(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


@bp.route("/inspections/<int:inspection_id>/checklist")
@permission_required("inspections.view")
def checklist(inspection_id: int):
    inspection = _load(inspection_id)
    if inspection.status == "planned":
        flash(_("Start the inspection first: the checklists are pinned when it starts."), "info")
        return redirect(url_for("inspection.start", inspection_id=inspection.id))
    groups = services.pinned_items(inspection)
    answers = {a.item_code: a for a in inspection.answers}
    evidence = _evidence_by_item(inspection)
    total = sum(len(items) for _, items in groups)
    return _workspace(inspection, "checklist", "checklist", groups=groups, answers=answers, evidence=evidence,
                      total=total, answered=sum(1 for _, items in groups for item in items
                                                if item.code in answers or item.code in evidence),
                      locale=_locale(), answer_form=AnswerForm(), evidence_form=EvidenceForm())


@bp.route("/inspections/<int:inspection_id>/answers/<item_code>", methods=["POST"])
@permission_required("inspections.work")
def answer(inspection_id: int, item_code: str):
    """The answer form of one item card (without JavaScript; with it, PUT /api/v1/.../answers/<item>).

    The pressed button sends ``choice`` as ``<value>:<result>`` (``yes:fail``, ``:pass``); ``keep`` saves the
    note alone and ``roster`` the roster lines; a number or a text comes in ``value``."""
    inspection = _load(inspection_id, "inspections.work")
    form = AnswerForm()
    if form.validate_on_submit():
        existing = next((a for a in inspection.answers if a.item_code == item_code), None)
        choice = request.form.get("choice", "")
        if choice == "keep":
            value, result = (existing.value, existing.result) if existing else (None, None)
        elif choice == "roster":
            value, result = roster_lines(request.form.get("roster", "")), None
        else:
            value, _sep, result = choice.partition(":")
            value = value or (form.value.data if form.value.data not in (None, "") else None)
        try:
            services.save_answer(inspection, current_user, item_code, result=result or None, value=value,
                                 note=form.note.data or None)
        except SERVICE_ERRORS as exc:
            _refused(exc)
    else:
        _form_errors(form)
    return redirect(url_for("inspection.checklist", inspection_id=inspection.id) + f"#item-{item_code}")


def roster_lines(text: str) -> list[dict]:
    """People typed one per line, ``name, identity number, post, hired on`` (Chinese commas too)."""
    people = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.replace("，", ",").split(",")]
        if not any(parts):
            continue
        parts += [""] * (4 - len(parts))
        people.append({"name": parts[0], "id_number": parts[1], "post": parts[2] or None,
                       "hired_on": parts[3] or None})
    return people


@bp.route("/inspections/<int:inspection_id>/evidence", methods=["POST"])
@permission_required("inspections.work")
def upload_evidence(inspection_id: int):
    """A photo from the card's file input (without JavaScript; with it, POST /api/v1/.../evidence)."""
    inspection = _load(inspection_id, "inspections.work")
    form = EvidenceForm()
    item_code = form.item_code.data or None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            services.add_evidence(inspection, current_user, upload.stream, filename=upload.filename,
                                  item_code=item_code, caption=form.caption.data or None)
        except SERVICE_ERRORS as exc:
            _refused(exc)
        else:
            flash(_("Photo saved."), "success")
    else:
        _form_errors(form)
    if request.form.get("back") == "violations":
        return redirect(url_for("inspection.violations", inspection_id=inspection.id))
    anchor = f"#item-{item_code}" if item_code else ""
    return redirect(url_for("inspection.checklist", inspection_id=inspection.id) + anchor)


def _form_errors(form) -> None:
    for field, messages in form.errors.items():
        label = getattr(getattr(form, field, None), "label", None)
        for message in messages:
            flash(f"{label.text}: {message}" if label is not None and label.text else str(message), "error")


@bp.route("/inspections/<int:inspection_id>/violations", methods=["GET", "POST"])
@permission_required("inspections.view")
def violations(inspection_id: int):
    inspection = _load(inspection_id)
    form = ViolationForm()
    form.evidence_ids.choices = [SelectChoice(e.id, e.original_name or str(e.id)) for e in inspection.evidence]
    if request.method == "POST":
        authorize_work(inspection)
        if form.validate_on_submit():
            quantities = {"persons": form.persons.data} if form.persons.data is not None else None
            try:
                services.record_violation(inspection, current_user, type_code=form.type_code.data,
                                          description=form.description.data, item_code=form.item_code.data or None,
                                          evidence_ids=tuple(form.evidence_ids.data or ()), quantities=quantities)
            except SERVICE_ERRORS as exc:
                _refused(exc)
            else:
                flash(_("Violation recorded."), "success")
                return redirect(url_for("inspection.violations", inspection_id=inspection.id))
        else:
            _form_errors(form)
    catalogue = current_app.extensions["inspect_checklists"]
    proposals = services.proposed_violations(inspection) if inspection.status == "in_progress" else []
    recorded_codes = {v.type_code for v in inspection.violations}
    pinned = services.violation_types_of(inspection)  # as the inspection pinned them, not as edited since
    others = [pinned[v.code] for v in catalogue.violation_types_for(inspection.entity.kind)
              if v.code in pinned and v.code not in recorded_codes]
    referrals = _referrals(inspection)
    return _workspace(inspection, "violations", "violations", form=form, proposals=proposals, others=others,
                      withdraw_form=WithdrawForm(),
                      items=services.item_index(inspection) if inspection.checklists else {},
                      evidence_for=_evidence_by_item(inspection),
                      catalogue=catalogue, referrals=referrals, locale=_locale(), now=datetime.now(timezone.utc))


@bp.route("/inspections/<int:inspection_id>/violations/<int:violation_id>/withdraw", methods=["POST"])
@permission_required("inspections.work")
def withdraw_violation(inspection_id: int, violation_id: int):
    """A violation recorded by mistake, withdrawn before completion with a reason (a pending referral too)."""
    inspection = _load(inspection_id, "inspections.work")
    violation = next((v for v in inspection.violations if v.id == violation_id), None)
    if violation is None:
        abort(404)
    form = WithdrawForm()
    if form.validate_on_submit():
        try:
            services.withdraw_violation(inspection, current_user, violation, reason=form.reason.data)
        except SERVICE_ERRORS as exc:
            _refused(exc)
        else:
            flash(_("Violation withdrawn."), "success")
    else:
        _form_errors(form)
    return redirect(url_for("inspection.violations", inspection_id=inspection.id))


def _evidence_by_item(inspection: Inspection) -> dict[str | None, list[Evidence]]:
    found: dict[str | None, list[Evidence]] = {}
    for row in inspection.evidence:
        found.setdefault(row.item_code, []).append(row)
    return found


def _referrals(inspection: Inspection) -> dict:
    from .models import Referral
    rows = db.session.scalars(sa.select(Referral).where(Referral.inspection_id == inspection.id)).all()
    return {r.violation_id: r for r in rows}


@bp.route("/inspections/<int:inspection_id>/sign", methods=["GET", "POST"])
@permission_required("inspections.view")
def sign(inspection_id: int):
    """The signature pads (the drawing goes to POST /api/v1/.../signatures) and the party's refusal."""
    inspection = _load(inspection_id)
    refusal_form = RefusalForm(prefix="refusal")
    if request.method == "POST":
        authorize_work(inspection)
        if refusal_form.validate_on_submit():
            try:
                services.sign(inspection, current_user, role="party", signer_name=inspection.party_name or "—",
                              refused=True, note=refusal_form.note.data or None)
            except SERVICE_ERRORS as exc:
                _refused(exc)
            else:
                flash(_("The refusal is recorded: a witness signs beside it."), "success")
                return redirect(url_for("inspection.sign", inspection_id=inspection.id))
        else:
            _form_errors(refusal_form)
    slots = {s.slot: s for s in inspection.signatures}
    return _workspace(inspection, "sign", "sign", refusal_form=refusal_form, slots=slots)


@bp.route("/inspections/<int:inspection_id>/signatures/<int:signature_id>.png")
@permission_required("inspections.view")
def signature_image(inspection_id: int, signature_id: int):
    inspection = _load(inspection_id)
    signature = db.session.get(Signature, signature_id)
    if signature is None or signature.inspection_id != inspection.id or not signature.image_png:
        abort(404)
    from io import BytesIO
    response = send_file(BytesIO(signature.image_png), mimetype="image/png", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/inspections/<int:inspection_id>/complete", methods=["GET", "POST"])
@permission_required("inspections.view")
def complete(inspection_id: int):
    inspection = _load(inspection_id)
    form = EmptyForm()
    missing = None
    if request.method == "POST":
        authorize_work(inspection)
        if form.validate_on_submit():
            try:
                services.complete(inspection, current_user)
            except services.Incomplete as exc:
                missing = exc.fields
            except SERVICE_ERRORS as exc:
                _refused(exc)
            else:
                flash(_("Inspection completed. The record can no longer be changed."), "success")
                return redirect(url_for("inspection.record", inspection_id=inspection.id))
    if missing is None and not inspection.is_completed and inspection.status != "planned":
        missing = services.missing_for_completion(inspection)
    return _workspace(inspection, "complete", "complete", form=form, missing=missing or {},
                      missing_labels=MISSING_LABELS)


@bp.route("/inspections/<int:inspection_id>/record")
@permission_required("inspections.view")
def record(inspection_id: int):
    """The completed inspection as frozen, with the SHA-256 of its record (read-only)."""
    inspection = _load(inspection_id)
    if not inspection.is_completed:
        return redirect(url_for("inspection.workspace", inspection_id=inspection.id))
    return _record_page(inspection)


def _record_page(inspection: Inspection, *, status: int = 200, revealed: dict | None = None,
                 reveal_form: RevealIdForm | None = None, reveal_item: str | None = None):
    groups = services.pinned_items(inspection)
    evidence = _evidence_by_item(inspection)
    can_reveal = services.can_reveal_id_numbers(current_user, inspection)
    page = _workspace(inspection, "record", "record", groups=groups, evidence=evidence,
                      answers={a.item_code: a for a in inspection.answers}, locale=_locale(),
                      flag_labels=CHECKIN_FLAGS, referrals=_referrals(inspection), can_reveal=can_reveal,
                      reveal_form=reveal_form or (RevealIdForm() if can_reveal else None), reveal_item=reveal_item,
                      revealed=revealed)
    response = make_response(page, status)
    if revealed:
        response.headers["Cache-Control"] = "no-store"  # the full number is on this response only
    return response


@bp.route("/inspections/<int:inspection_id>/roster/<item_code>/reveal", methods=["POST"])
@permission_required("id_numbers.reveal")
def roster_reveal(inspection_id: int, item_code: str):
    """One roster person's full identity number on the record page, for police liaisons of the county: a
    reason is required and the reading audited; the number is on this response only."""
    inspection = _load(inspection_id)
    if not inspection.is_completed:
        return redirect(url_for("inspection.workspace", inspection_id=inspection.id))
    if not services.can_reveal_id_numbers(current_user, inspection):
        abort(403)
    form = RevealIdForm()
    if not form.validate_on_submit():
        return _record_page(inspection, status=422, reveal_form=form, reveal_item=item_code)
    try:
        revealed = services.reveal_roster_number(inspection, current_user, item_code, form.index.data,
                                                 reason=form.reason.data)
    except services.NoSuchPerson:
        abort(404)
    except InvalidData as exc:
        for name, messages in exc.fields.items():
            target = getattr(form, name, None) or form.index
            target.errors = list(target.errors or []) + [str(m) for m in messages]
        return _record_page(inspection, status=422, reveal_form=form, reveal_item=item_code)
    return _record_page(inspection, revealed=revealed, reveal_item=item_code)


# --------------------------------------------------------------------------------------------
# A planner's single inspection


@bp.route("/inspections/new", methods=["GET", "POST"])
@permission_required("inspections.create")
def new():
    entity = None
    entity_id = request.values.get("entity_id", type=int)
    if entity_id:
        entity = db.session.get(Entity, entity_id)
        if entity is None:
            abort(404)
        authorize("inspections.create", entity)
    if entity is None:
        query = (request.args.get("q") or "").strip()
        found = []
        if query:
            stmt = scope_to_user(entity_query({"q": query, "sort": "name"}), current_user,
                                 current_app.extensions["inspect_reference"].city.code)
            found = db.session.scalars(stmt.limit(30)).all()
        return render_template("inspection/new.html", entity=None, query=query, found=found)
    form = _manual_form(entity)
    if form.validate_on_submit():
        officers = [db.session.get(User, uid) for uid in form.officers.data]
        try:
            inspection = services.create_manual_inspection(
                entity, lead_department=form.lead_department.data, officers=[o for o in officers if o],
                scheduled_date=form.scheduled_date.data, created_by=current_user,
                cause_note=form.cause_note.data or None)
        except InvalidData as exc:
            for name, messages in exc.fields.items():
                field = getattr(form, name, None)
                if field is None:
                    form.form_errors.extend(messages)
                else:
                    field.errors = list(field.errors) + messages
        else:
            flash(_("Inspection created and assigned."), "success")
            return redirect(url_for("inspection.start", inspection_id=inspection.id))
    return render_template("inspection/new.html", entity=entity, form=form)


def _manual_form(entity: Entity) -> ManualInspectionForm:
    ref = current_app.extensions["inspect_reference"]
    locale = _locale()
    form = ManualInspectionForm(entity_id=str(entity.id))
    kind = ref.kinds.get(entity.kind)
    inspecting = [d for d in ref.departments.values() if d.inspects]
    if kind is not None:
        inspecting = [d for d in inspecting if d.code in kind.inspecting_departments] or inspecting
    form.lead_department.choices = [SelectChoice(d.code, d.short(locale)) for d in inspecting]
    officers = db.session.scalars(
        sa.select(User).where(User.is_active.is_(True), User.credential_number.is_not(None),
                              User.region_code.in_({entity.region_code, ref.city.code}))
        .order_by(User.department_code, User.full_name)).all()
    form.officers.choices = [SelectChoice(u.id, f"{u.full_name} · {department_short(u.department_code)}")
                             for u in officers if "inspector" in u.roles]
    if request.method == "GET":
        form.scheduled_date.data = date.today()
    return form
