"""Notice pages: the list, a notice, issuing from an inspection, voiding, batches, the departments' seals,
and the public verification page."""
from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

import sqlalchemy as sa
from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..auth.forms import EmptyForm
from ..auth.permissions import authorize, can, permission_required, public
from ..errors import InvalidData
from ..extensions import db, limiter
from .config import NOTICE_TYPES, SOURCES
from .fonts import FontProblem
from .forms import BatchForm, CodeForm, IssueForm, SealForm, VerifyUploadForm, VoidForm
from .models import DepartmentSeal, Notice, NoticeBatch
from .services import (NoticeConflict, StoredPdfDamaged, batch_progress, check_upload, create_batch,
                       find_by_short_code, find_by_token, issue_notice, issuing_department, merged_pdf, pdf_filename,
                       public_view, read_pdf, remove_seal, start_batch, upload_seal, void_notice, zip_of)

bp = Blueprint("notices", __name__, url_prefix="/notices")
public_bp = Blueprint("verify", __name__)
PER_PAGE = 50

TYPE_LABELS = {
    "inspection_record": _l("On-site inspection record"),
    "rectification_order": _l("Order to rectify"),
    "penalty_advance_notice": _l("Advance notice of administrative penalty"),
    "penalty_decision": _l("Administrative penalty decision"),
    "criminal_transfer": _l("Transfer of a suspected crime to the police"),
    "case_transfer": _l("Letter transferring a case"),
    "service_receipt": _l("Service receipt"),
}
STATUS_LABELS = {"issued": _l("Issued"), "void": _l("Void")}
BATCH_STATUS_LABELS = {"queued": _l("Queued"), "running": _l("Rendering"), "done": _l("Done"),
                       "failed": _l("Failed")}


def type_label(code: str) -> str:
    return str(TYPE_LABELS.get(code, code))


class IssueScope:
    """What issuing is checked against: the county of the inspection or case, and the issuing department."""

    def __init__(self, region_code: str, department: str):
        self.access_region_code = region_code
        self.access_department_code = department


def inspection_departments(inspection) -> set[str]:
    departments = {inspection.lead_department} | {m.department_code for m in inspection.members}
    return departments | {v.acting_department for v in inspection.violations}


def authorize_issue(inspection=None, case=None, notice_type: str | None = None) -> None:
    """403 unless the user may issue for their department on this inspection, or for the department that
    issues ``notice_type`` on this case."""
    department = current_user.department_code
    if case is not None:
        authorize("notices.issue", IssueScope(case.region_code, issuing_department(notice_type, case)))
        return
    authorize("notices.issue", IssueScope(inspection.region_code, department))
    if department not in inspection_departments(inspection):
        abort(403)


# A transfer of a suspected crime names possible victims' situation: only its department and the police read it.
RESTRICTED_TYPES = ("criminal_transfer",)


def restricted_clause(user):
    """SQL condition hiding restricted notices from other departments."""
    if user.department_code == "police" or "admin" in user.roles:
        return sa.true()
    return sa.or_(Notice.type.not_in(RESTRICTED_TYPES), Notice.department == user.department_code)


def may_read(user, notice: Notice) -> bool:
    return (notice.type not in RESTRICTED_TYPES or notice.department == user.department_code
            or user.department_code == "police" or "admin" in user.roles)


def load_notice(notice_id: int, permission: str = "notices.view") -> Notice:
    notice = db.session.get(Notice, notice_id)
    if notice is None:
        abort(404)
    authorize(permission, notice)
    if not may_read(current_user, notice):
        abort(403)
    return notice


def load_case(case_id: int):
    """The case by id; None when unknown."""
    from ..cases.models import Case
    return db.session.get(Case, case_id)


def pdf_response(notice: Notice, data: bytes, *, inline: bool = True) -> Response:
    filename = pdf_filename(notice)
    disposition = "inline" if inline else "attachment"
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = (f"{disposition}; filename=notice-{notice.id}.pdf; "
                                               f"filename*=UTF-8''{quote(filename)}")
    response.headers["ETag"] = f'"{notice.pdf_sha256}"'
    response.headers["Cache-Control"] = "private, no-transform"
    response.headers["X-Content-SHA256"] = notice.pdf_sha256
    return response


def notice_pdf(notice: Notice) -> Response:
    if request.if_none_match and notice.pdf_sha256 in request.if_none_match:
        return Response(status=304, headers={"ETag": f'"{notice.pdf_sha256}"'})
    try:
        data = read_pdf(notice)
    except (StoredPdfDamaged, FileNotFoundError):
        current_app.logger.error("notice %s: stored PDF missing or damaged", notice.id)
        abort(503)
    return pdf_response(notice, data)


def notices_for(*, entity_id: int | None = None, inspection_id: int | None = None, case_id: int | None = None,
                limit: int = 20) -> list[Notice]:
    """Notices of an entity, inspection or case for the sections on their pages (template global)."""
    if not can(current_user, "notices.view"):
        return []
    stmt = sa.select(Notice).order_by(Notice.issued_dt.desc(), Notice.id.desc()).limit(limit)
    if entity_id is not None:
        stmt = stmt.where(Notice.entity_id == entity_id)
    if inspection_id is not None:
        stmt = stmt.where(Notice.inspection_id == inspection_id)
    if case_id is not None:
        stmt = stmt.where(Notice.case_id == case_id)
    return [n for n in db.session.scalars(stmt.where(restricted_clause(current_user)))
            if can(current_user, "notices.view", n)]


# --------------------------------------------------------------------------------------------
# List and detail

@bp.route("")
@permission_required("notices.view")
def index():
    reference = current_app.extensions["inspect_reference"]
    stmt = sa.select(Notice).where(restricted_clause(current_user))
    if current_user.region_code != reference.city.code:
        stmt = stmt.where(Notice.region_code == current_user.region_code)
    args = request.args
    if args.get("type") in NOTICE_TYPES:
        stmt = stmt.where(Notice.type == args["type"])
    if args.get("status") in STATUS_LABELS:
        stmt = stmt.where(Notice.status == args["status"])
    if args.get("department") in reference.departments:
        stmt = stmt.where(Notice.department == args["department"])
    for key, column in (("inspection", Notice.inspection_id), ("case", Notice.case_id), ("entity", Notice.entity_id)):
        if args.get(key, type=int):
            stmt = stmt.where(column == args.get(key, type=int))
    q = (args.get("q") or "").strip()
    if q:
        like = f"%{q}%"
        stmt = stmt.where(sa.or_(Notice.number.ilike(like), Notice.party_name.ilike(like)))
    page = max(args.get("page", 1, type=int), 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(stmt.order_by(Notice.issued_dt.desc(), Notice.id.desc())
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("notices/list.html", notices=rows, total=total, page=page, per_page=PER_PAGE, args=args,
                           type_labels=TYPE_LABELS, status_labels=STATUS_LABELS,
                           departments=[d for d in reference.departments.values() if d.inspects])


@bp.route("/<int:notice_id>")
@permission_required("notices.view")
def detail(notice_id: int):
    notice = load_notice(notice_id)
    replaced_by = db.session.scalar(sa.select(Notice).where(Notice.replaces_id == notice.id))
    receipts = [] if notice.type == "service_receipt" else [
        n for n in db.session.scalars(sa.select(Notice).where(Notice.type == "service_receipt")
                                      .where(Notice.inspection_id == notice.inspection_id
                                             if notice.inspection_id else Notice.case_id == notice.case_id))
        if any(d.get("id") == notice.id for d in n.snapshot["body"].get("documents", []))]
    return render_template("notices/detail.html", notice=notice, snapshot=notice.snapshot,
                           type_labels=TYPE_LABELS, status_labels=STATUS_LABELS, void_form=VoidForm(),
                           replaced_by=replaced_by, receipts=receipts,
                           can_void=can(current_user, "notices.void", notice) and notice.status == "issued")


@bp.route("/<int:notice_id>/pdf")
@permission_required("notices.view")
def pdf(notice_id: int):
    return notice_pdf(load_notice(notice_id))


@bp.route("/<int:notice_id>/void", methods=["POST"])
@permission_required("notices.void")
def void(notice_id: int):
    notice = load_notice(notice_id, "notices.void")
    form = VoidForm()
    if not form.validate_on_submit():
        flash(_("Say why the notice is void (at least 4 characters)."), "error")
        return redirect(url_for("notices.detail", notice_id=notice.id))
    try:
        void_notice(notice, current_user, form.reason.data)
    except (InvalidData, NoticeConflict) as exc:
        flash(_messages(exc), "error")
    else:
        flash(_("%(number)s is void. Its number stays recorded and is not given again.", number=notice.number),
              "success")
    return redirect(url_for("notices.detail", notice_id=notice.id))


def _messages(exc) -> str:
    if isinstance(exc, InvalidData):
        return "; ".join(m for ms in exc.fields.values() for m in ms)
    return str(getattr(exc, "message", exc))


# --------------------------------------------------------------------------------------------
# Issue from an inspection

@bp.route("/new", methods=["GET", "POST"])
@permission_required("notices.issue")
def new():
    from ..inspection.models import Inspection
    inspection = db.session.get(Inspection, request.args.get("inspection_id", type=int) or 0)
    if inspection is None:
        abort(404)
    authorize_issue(inspection=inspection)
    form = IssueForm()
    form.type.choices = [(t, str(TYPE_LABELS[t])) for t in NOTICE_TYPES if "inspection" in SOURCES[t]]
    replaces = None
    if request.args.get("replaces", type=int):
        replaces = load_notice(request.args.get("replaces", type=int))
    if request.method == "GET" and request.args.get("type") in NOTICE_TYPES:
        form.type.data = request.args["type"]
    existing = notices_for(inspection_id=inspection.id)
    if form.validate_on_submit():
        try:
            notice = issue_notice(form.type.data, current_user, inspection=inspection, replaces=replaces)
        except FontProblem as exc:
            flash(_("Notices cannot be issued on this server: %(problem)s", problem=str(exc)), "error")
        except (InvalidData, NoticeConflict) as exc:
            flash(_messages(exc), "error")
        else:
            flash(_("%(title)s %(number)s issued.", title=notice.title, number=notice.number), "success")
            return redirect(url_for("notices.detail", notice_id=notice.id))
    return render_template("notices/new.html", form=form, inspection=inspection, existing=existing,
                           type_labels=TYPE_LABELS, status_labels=STATUS_LABELS, replaces=replaces)


# --------------------------------------------------------------------------------------------
# Batches

@bp.route("/batch", methods=["GET", "POST"])
@permission_required("notices.issue")
def batch_new():
    from ..inspection.models import Inspection
    from ..planning.models import Campaign
    reference = current_app.extensions["inspect_reference"]
    form = BatchForm()
    form.type.choices = [(t, str(TYPE_LABELS[t])) for t in ("rectification_order", "inspection_record")]
    campaigns = db.session.scalars(sa.select(Campaign).order_by(Campaign.start_date.desc()).limit(100)).all()
    form.campaign_id.choices = [(c.id, c.name) for c in campaigns]
    if form.validate_on_submit():
        stmt = sa.select(Inspection).where(Inspection.campaign_id == form.campaign_id.data,
                                           Inspection.scheduled_date == form.day.data,
                                           Inspection.status == "completed").order_by(Inspection.id)
        if current_user.region_code != reference.city.code:
            stmt = stmt.where(Inspection.region_code == current_user.region_code)
        inspections = [i for i in db.session.scalars(stmt) if current_user.department_code in inspection_departments(i)]
        campaign = db.session.get(Campaign, form.campaign_id.data)
        label = f"{campaign.name if campaign else ''} {form.day.data.isoformat()} {TYPE_LABELS[form.type.data]}"
        try:
            batch = create_batch(current_user, form.type.data, inspections, label)
        except FontProblem as exc:
            flash(_("Notices cannot be issued on this server: %(problem)s", problem=str(exc)), "error")
        except InvalidData as exc:
            flash(_messages(exc), "error")
        else:
            db.session.commit()  # the background thread reads the batch on its own connection
            start_batch(batch.id)
            return redirect(url_for("notices.batch", batch_id=batch.id))
    batches = db.session.scalars(sa.select(NoticeBatch).where(NoticeBatch.user_id == current_user.id)
                                 .order_by(NoticeBatch.id.desc()).limit(10)).all()
    return render_template("notices/batch_new.html", form=form, batches=batches, batch_labels=BATCH_STATUS_LABELS)


def _load_batch(batch_id: int) -> NoticeBatch:
    batch = db.session.get(NoticeBatch, batch_id)
    if batch is None:
        abort(404)
    if batch.user_id != current_user.id and batch.department != current_user.department_code:
        abort(403)
    return batch


@bp.route("/batch/<int:batch_id>")
@permission_required("notices.issue")
def batch(batch_id: int):
    batch = _load_batch(batch_id)
    rendered, total = batch_progress(batch)
    return render_template("notices/batch.html", batch=batch, batch_labels=BATCH_STATUS_LABELS,
                           status_labels=STATUS_LABELS, rendered=rendered, total=total)


@bp.route("/batch/<int:batch_id>/status")
@permission_required("notices.issue")
def batch_status(batch_id: int):
    batch = _load_batch(batch_id)
    rendered, total = batch_progress(batch)
    return jsonify({"status": batch.status, "label": str(BATCH_STATUS_LABELS[batch.status]),
                    "total": total, "rendered": rendered, "finished": batch.is_finished,
                    "result_url": url_for("notices.batch", batch_id=batch.id)})


@bp.route("/batch/<int:batch_id>/notices.zip")
@permission_required("notices.issue")
def batch_zip(batch_id: int):
    batch = _load_batch(batch_id)
    notices = list(batch.notices)
    if not notices:
        abort(404)
    return Response(zip_of(notices), mimetype="application/zip",
                    headers={"Content-Disposition": f"attachment; filename=notices-batch-{batch.id}.zip"})


@bp.route("/batch/<int:batch_id>/print.pdf")
@permission_required("notices.issue")
def batch_print(batch_id: int):
    batch = _load_batch(batch_id)
    notices = list(batch.notices)
    if not notices:
        abort(404)
    return Response(merged_pdf(notices), mimetype="application/pdf",
                    headers={"Content-Disposition": f"inline; filename=notices-batch-{batch.id}-print.pdf"})


# --------------------------------------------------------------------------------------------
# Seals (administrators)

@bp.route("/seals", methods=["GET", "POST"])
@permission_required("notices.seal")
def seals():
    from .services import settings
    reference = current_app.extensions["inspect_reference"]
    issuing = [reference.departments[code] for code in settings().departments]
    form = SealForm()
    form.department.choices = [(d.code, d.name_zh) for d in issuing]
    if form.validate_on_submit():
        try:
            upload_seal(form.department.data, form.file.data.read(), current_user)
        except InvalidData as exc:
            flash(_messages(exc), "error")
        else:
            flash(_("Seal saved: notices issued from now on carry it."), "success")
            return redirect(url_for("notices.seals"))
    current = {d.code: db.session.scalar(sa.select(DepartmentSeal).where(
        DepartmentSeal.department == d.code, DepartmentSeal.active.is_(True)).order_by(DepartmentSeal.id.desc())
        .limit(1)) for d in issuing}
    return render_template("notices/seals.html", form=form, departments=issuing, current=current,
                           remove_form=EmptyForm())


@bp.route("/seals/<department>/remove", methods=["POST"])
@permission_required("notices.seal")
def seal_remove(department: str):
    if EmptyForm().validate_on_submit():
        remove_seal(department)
        flash(_("Seal removed: notices issued from now on show the marked seal area."), "success")
    return redirect(url_for("notices.seals"))


@bp.route("/seals/<int:seal_id>.png")
@permission_required("notices.seal")
def seal_image(seal_id: int):
    seal = db.session.get(DepartmentSeal, seal_id)
    if seal is None:
        abort(404)
    return Response(seal.png, mimetype="image/png", headers={"Cache-Control": "private, max-age=3600"})


# --------------------------------------------------------------------------------------------
# Public verification

def _verify_limit() -> str:
    return current_app.config["VERIFY_RATE_LIMIT"]


def verify_upload_limit():
    """Uploads to check a PDF, per address, shared by the page and the API (INSPECT_VERIFY_RATE_LIMIT)."""
    return limiter.shared_limit(_verify_limit, scope="notice-verify-upload")


@public_bp.route("/verify")
@public
@limiter.limit("30 per minute")
def verify_form():
    form = CodeForm(request.args)
    code = (form.code.data or "").strip()
    if code:
        notice = find_by_short_code(code)
        if notice is not None:
            return redirect(url_for("verify.verify", token=notice.verify_token))
        return render_template("notices/verify_form.html", form=form, not_found=True), 404
    return render_template("notices/verify_form.html", form=form, not_found=False)


@public_bp.route("/verify/<token>", methods=["GET", "POST"])
@public
def verify(token: str):
    if request.method == "POST":
        with verify_upload_limit():
            pass
    notice = find_by_token(token)
    if notice is None:
        abort(404)
    form = VerifyUploadForm()
    result = None
    if form.validate_on_submit():
        try:
            result = check_upload(notice, form.file.data.stream)
        except InvalidData as exc:
            form.file.errors = [m for ms in exc.fields.values() for m in ms]
    return render_template("notices/verify.html", notice=public_view(notice), form=form, result=result,
                           type_labels=TYPE_LABELS), (200 if request.method == "GET" or result else 422)


def issued_local(moment: datetime | None) -> str:
    from .snapshot import local_minute
    return (local_minute(moment) or "").replace("T", " ")


def init_app(app) -> None:
    from . import fonts
    fonts.init_app(app)
    app.jinja_env.globals.update(notices_for=notices_for, notice_type_label=type_label, issued_local=issued_local,
                                 notice_status_labels=STATUS_LABELS)
