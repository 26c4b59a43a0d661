"""The desk's import and export pages: upload, template, progress, result, export of the list."""
from __future__ import annotations

import io
from datetime import date

from flask import (Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request,
                   send_file, stream_with_context, url_for)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired

from ..audit.services import record_event
from ..auth.permissions import permission_required
from ..errors import ApiError
from ..extensions import db
from .exports import csv_chunks, entity_rows, export_columns, template_csv, template_xlsx, xlsx_bytes
from .imports import ImportFileError, ImportJob, create_job, limits, read_upload, size_text, sniff, start_job
from .queries import entity_query, list_filters, scope_to_user
from .services import locale_code

bp = Blueprint("registry_io", __name__, url_prefix="/registry")
ERRORS_PER_PAGE = 200
XLSX_MAX_ROWS = 50_000
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv; charset=utf-8"
PHASE_LABELS = {
    "queued": _l("Waiting to start"), "reading": _l("Reading the file"), "checking": _l("Checking the rows"),
    "creating": _l("Creating the entities"), "done": _l("Imported"), "rejected": _l("Not imported: errors found"),
    "failed": _l("Not imported: the file could not be processed"), "stale": _l("Interrupted: nothing was imported"),
}


class ImportForm(FlaskForm):
    file = FileField(_l("File (XLSX or CSV)"), validators=[FileRequired(_l("Choose a file."))])


def _ref():
    return current_app.extensions["inspect_reference"]


def _load_job(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        abort(404)
    if not job.can_view(current_user):
        abort(403)
    return job


def _phase(job: ImportJob) -> str:
    return "stale" if job.is_stale() else job.status


@bp.route("/import", methods=["GET", "POST"])
@permission_required("entities.import")
def import_upload():
    form = ImportForm()
    status = 200
    if form.validate_on_submit():
        upload = form.file.data
        try:
            data = read_upload(upload.stream)
            sniff(data)  # a PDF or an image is refused at once, not after a trip to the background
        except ImportFileError as exc:
            form.file.errors = [exc.message]
            status = exc.status
        else:
            job_id = create_job(current_user.id, upload.filename or "upload", data, locale_code())
            start_job(job_id, data)
            return redirect(url_for("registry_io.import_job", job_id=job_id))
    elif request.method == "POST":
        status = 422
    max_bytes, max_rows, _max_errors = limits()
    jobs = db.session.scalars(db.select(ImportJob).where(ImportJob.user_id == current_user.id)
                              .order_by(ImportJob.id.desc()).limit(10)).all()
    return render_template("registry/import.html", form=form, jobs=jobs, phases=PHASE_LABELS,
                           max_size=size_text(max_bytes), max_rows=f"{max_rows:,}"), status


@bp.route("/import/template.<fmt>")
@permission_required("entities.import")
def import_template(fmt: str):
    max_bytes, max_rows, _max_errors = limits()
    if fmt == "xlsx":
        return send_file(io.BytesIO(template_xlsx(size_text(max_bytes), max_rows)), mimetype=XLSX_MIME,
                         as_attachment=True, download_name="entities-import-template.xlsx")
    if fmt == "csv":
        return send_file(io.BytesIO(template_csv()), mimetype=CSV_MIME, as_attachment=True,
                         download_name="entities-import-template.csv")
    abort(404)


@bp.route("/import/<int:job_id>")
@permission_required("entities.import")
def import_job(job_id: int):
    job = _load_job(job_id)
    phase = _phase(job)
    if phase not in ("done", "rejected", "failed", "stale"):
        return render_template("registry/import_progress.html", job=job, phase=phase, phases=PHASE_LABELS)
    page = max(request.args.get("page", 1, type=int), 1)
    errors = (job.errors or [])[(page - 1) * ERRORS_PER_PAGE:page * ERRORS_PER_PAGE]
    return render_template("registry/import_result.html", job=job, phase=phase, phases=PHASE_LABELS,
                           errors=errors, page=page, per_page=ERRORS_PER_PAGE, shown=len(job.errors or []),
                           args=request.args)


@bp.route("/import/<int:job_id>/status")
@permission_required("entities.import")
def import_job_status(job_id: int):
    job = _load_job(job_id)
    phase = _phase(job)
    return jsonify({"id": job.id, "status": phase, "phase": str(PHASE_LABELS.get(phase, phase)),
                    "finished": phase in ("done", "rejected", "failed", "stale"),
                    "rows_total": job.rows_total, "rows_checked": job.rows_checked,
                    "rows_created": job.rows_created, "error_count": job.error_count,
                    "result_url": url_for("registry_io.import_job", job_id=job.id)})


@bp.route("/import/<int:job_id>/errors.csv")
@permission_required("entities.import")
def import_job_errors(job_id: int):
    job = _load_job(job_id)
    rows = ([e.get("row"), e.get("column"), e.get("field"), e.get("message")] for e in job.errors or [])
    body = b"".join(csv_chunks([_("Row"), _("Column"), _("Field"), _("Problem")], rows))
    return send_file(io.BytesIO(body), mimetype=CSV_MIME, as_attachment=True,
                     download_name=f"import-{job.id}-errors.csv")


@bp.route("/export.<fmt>")
@permission_required("entities.view")
def export(fmt: str):
    """The registry list with its current filters and the user's county scope, as CSV or XLSX."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = list_filters(request.args)
    stmt = scope_to_user(entity_query(filters), current_user, _ref().city.code)
    total = db.session.scalar(db.select(db.func.count()).select_from(stmt.order_by(None).subquery()))
    record_event(db.session, "entities.export", "entities", None, None,
                 {"format": fmt, "rows": total, "filters": {k: v for k, v in filters.items() if v}})
    cols = export_columns()
    header = [c.header for c in cols]
    stamp = date.today().strftime("%Y%m%d")
    if fmt == "xlsx":
        max_rows = int(current_app.config.get("EXPORT_XLSX_MAX_ROWS", XLSX_MAX_ROWS))
        if total > max_rows:  # a workbook is built whole in memory; a CSV streams
            limit = f"{max_rows:,}"
            raise ApiError(413, _("More than %(n)s rows for a workbook: export as CSV or narrow the filters.",
                                  n=limit), code="too_many_rows")
        body = xlsx_bytes([(str(_l("Entities")), header, entity_rows(stmt, cols))])
        return send_file(io.BytesIO(body), mimetype=XLSX_MIME, as_attachment=True,
                         download_name=f"entities-{stamp}.xlsx")
    # streamed: the rows are read batch by batch while the response is sent
    response = Response(stream_with_context(csv_chunks(header, entity_rows(stmt, cols))), mimetype=CSV_MIME)
    response.headers["Content-Disposition"] = f'attachment; filename="entities-{stamp}.csv"'
    return response
