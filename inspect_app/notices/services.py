"""Issuing, voiding, storing and verifying notices; the batch issue of many at once.

Issue = snapshot: the notice's data is frozen as plain JSON (snapshot.py), rendered (render.py), the PDF
stored under INSPECT_DATA_DIR with its SHA-256 and the row written, all in the caller's transaction.

Numbering is gapless and unique per (department, type, year) also under concurrent issue on PostgreSQL:
the counter row is taken with ``INSERT .. ON CONFLICT DO UPDATE .. RETURNING`` (a row lock held to the
end of the transaction), duplicates are checked after the lock, and a failure anywhere later rolls the
counter back with everything else. A voided notice keeps its number; the counter never goes back.

Functions flush, never commit (the request lifecycle commits), and raise InvalidData (422),
:class:`NoticeConflict` (409) or :class:`~inspect_app.notices.fonts.FontProblem` (503).
"""
from __future__ import annotations

import hashlib
import io
import logging
import os
import secrets
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import datetime
from pathlib import Path
from typing import Callable

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask_babel import gettext as _

from ..audit.services import record_event, set_actor
from ..errors import InvalidData
from ..extensions import db
from ..util import now_utc
from .config import NOTICE_TYPES, SOURCES, NoticeSettings
from .fonts import check_fonts
from .models import DepartmentSeal, Notice, NoticeBatch, NoticeCounter
from .render import render_in_worker, render_notice, template_version, warm_up
from .snapshot import build_draft, finalize, local_day, snapshot_sha256

log = logging.getLogger(__name__)

SHORT_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed in
VERIFY_UPLOAD_MAX = 20 * 1024 * 1024
SEAL_MAX_BYTES = 1024 * 1024
SEAL_MAX_SIDE = 2000


class NoticeConflict(Exception):
    """409: e.g. an issued notice of this type already exists for the inspection or case, or it is void."""

    def __init__(self, message: str, existing: Notice | None = None):
        super().__init__(message)
        self.message = message
        self.existing = existing


class StoredPdfDamaged(RuntimeError):
    """The stored file does not match the SHA-256 recorded at issue: never served."""


def settings() -> NoticeSettings:
    return current_app.extensions["inspect_notices"]


# --------------------------------------------------------------------------------------------
# Numbers, tokens

def lock_counter(department: str, notice_type: str, year: int, count: int = 0) -> int:
    """Add ``count`` to the counter (creating it at 0) and return its new value, holding the row lock
    until the transaction ends. ``count=0`` only takes the lock."""
    table = NoticeCounter.__table__
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(table).values(department=department, type=notice_type, year=year, last_seq=count)
            .on_conflict_do_update(index_elements=["department", "type", "year"],
                                   set_={"last_seq": table.c.last_seq + count})
            .returning(table.c.last_seq))
    return db.session.execute(stmt).scalar_one()


def new_verify_token() -> str:
    return secrets.token_urlsafe(32)


def new_short_code() -> str:
    while True:
        raw = "".join(secrets.choice(SHORT_CODE_ALPHABET) for _ in range(10))
        code = f"{raw[:5]}-{raw[5:]}"  # 50 bits; uploads and look-ups are rate-limited
        if db.session.scalar(sa.select(Notice.id).where(Notice.short_code == code)) is None:
            return code


def normalise_short_code(value: str) -> str:
    raw = "".join(ch for ch in (value or "").upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) == 10 else ""


def public_base_url() -> str:
    configured = current_app.config.get("PUBLIC_BASE_URL")
    if configured:
        return configured.rstrip("/")
    if has_request_context():
        return request.host_url.rstrip("/")
    return "http://127.0.0.1:5000"


# --------------------------------------------------------------------------------------------
# Storage

def _data_dir() -> Path:
    return Path(current_app.config["INSPECT_DATA_DIR"])


def store_pdf(pdf: bytes, year: int) -> tuple[str, str]:
    """Write the PDF under INSPECT_DATA_DIR/notices by its SHA-256 (atomic, synced); returns (path, sha256)."""
    digest = hashlib.sha256(pdf).hexdigest()
    relative = f"notices/{year}/{digest[:2]}/{digest}.pdf"
    target = _data_dir() / relative
    if target.exists() and target.stat().st_size == len(pdf):
        return relative, digest
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    with open(temporary, "wb") as handle:
        handle.write(pdf)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    return relative, digest


def read_pdf(notice: Notice) -> bytes:
    """The stored bytes, checked against the SHA-256 recorded at issue."""
    data = (_data_dir() / notice.pdf_path).read_bytes()
    if hashlib.sha256(data).hexdigest() != notice.pdf_sha256:
        log.error("notice %s: stored PDF %s does not match its SHA-256", notice.id, notice.pdf_path)
        raise StoredPdfDamaged(f"notice {notice.id}: the stored PDF does not match its SHA-256")
    return data


# --------------------------------------------------------------------------------------------
# Seals

def active_seal(department: str) -> DepartmentSeal | None:
    return db.session.scalar(sa.select(DepartmentSeal).where(
        DepartmentSeal.department == department, DepartmentSeal.active.is_(True))
        .order_by(DepartmentSeal.id.desc()).limit(1))


def seal_assets(snapshot: dict) -> dict[str, bytes]:
    seal = snapshot.get("seal")
    if not seal:
        return {}
    row = db.session.scalar(sa.select(DepartmentSeal).where(DepartmentSeal.sha256 == seal["sha256"]).limit(1))
    return {row.sha256: row.png} if row else {}


def upload_seal(department: str, data: bytes, user) -> DepartmentSeal:
    """A PNG checked by its content (not its name), bounded in size; replaces the department's seal."""
    from PIL import Image, UnidentifiedImageError
    if department not in settings().departments:
        raise InvalidData({"department": [_("This department does not issue notices.")]})
    if len(data) > SEAL_MAX_BYTES:
        raise InvalidData({"file": [_("The seal image is larger than 1 MB.")]})
    try:
        with Image.open(io.BytesIO(data)) as image:
            image_format = image.format
            width, height = image.size
            image.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise InvalidData({"file": [_("The file is not a PNG image.")]}) from None
    if image_format != "PNG":
        raise InvalidData({"file": [_("The file is not a PNG image.")]})
    if not (50 <= width <= SEAL_MAX_SIDE and 50 <= height <= SEAL_MAX_SIDE):
        raise InvalidData({"file": [_("The seal image must be between 50 and 2000 pixels wide and high.")]})
    digest = hashlib.sha256(data).hexdigest()
    for old in db.session.scalars(sa.select(DepartmentSeal).where(DepartmentSeal.department == department,
                                                                  DepartmentSeal.active.is_(True))):
        old.active = False
    existing = db.session.scalar(sa.select(DepartmentSeal).where(DepartmentSeal.department == department,
                                                                 DepartmentSeal.sha256 == digest))
    if existing is not None:
        existing.active = True
        db.session.flush()
        return existing
    seal = DepartmentSeal(department=department, png=data, sha256=digest, width=width, height=height,
                          uploaded_by_id=user.id, active=True)
    db.session.add(seal)
    db.session.flush()
    return seal


def remove_seal(department: str) -> None:
    for old in db.session.scalars(sa.select(DepartmentSeal).where(DepartmentSeal.department == department,
                                                                  DepartmentSeal.active.is_(True))):
        old.active = False
    db.session.flush()


# --------------------------------------------------------------------------------------------
# Issue

def _source_filter(notice_type: str, department: str, inspection, case):
    stmt = sa.select(Notice).where(Notice.type == notice_type, Notice.department == department,
                                   Notice.status == "issued")
    if case is not None:
        return stmt.where(Notice.case_id == case.id)
    return stmt.where(Notice.inspection_id == inspection.id, Notice.case_id.is_(None))


def _served_notices(inspection, case, notice_ids) -> list[Notice]:
    stmt = sa.select(Notice).where(Notice.status == "issued", Notice.type != "service_receipt")
    if notice_ids:
        rows = list(db.session.scalars(stmt.where(Notice.id.in_(list(notice_ids))).order_by(Notice.id)))
        source_ok = [n for n in rows if (case is not None and n.case_id == case.id)
                     or (inspection is not None and n.inspection_id == inspection.id)]
        if len(source_ok) != len(set(notice_ids)):
            raise InvalidData({"notice_ids": [_("Only issued notices of the same inspection or case can be served.")]})
        return source_ok
    if case is not None:
        return list(db.session.scalars(stmt.where(Notice.case_id == case.id).order_by(Notice.id)))
    return list(db.session.scalars(stmt.where(Notice.inspection_id == inspection.id).order_by(Notice.id)))


# Sent by the department that holds the file; every other case notice comes from the department with
# the power to order and to penalise (the case's acting department).
TRANSFER_TYPES = ("criminal_transfer", "case_transfer")


def issuing_department(notice_type: str, case) -> str:
    """The department that issues ``notice_type`` for ``case``: its handling department for a transfer
    (e.g. culture sends the police a CCTV case that is the police's to decide), else its acting one."""
    if notice_type in TRANSFER_TYPES:
        return getattr(case, "handling_department", None) or case.acting_department
    return case.acting_department


def _check_source(notice_type: str, inspection, case) -> None:
    if notice_type not in NOTICE_TYPES:
        raise InvalidData({"type": [_("Unknown notice type.")]})
    if (inspection is None) == (case is None):
        raise InvalidData({"inspection_id": [_("Give either an inspection or a case.")]})
    source = "case" if case is not None else "inspection"
    if source not in SOURCES[notice_type]:
        field = "case_id" if source == "case" else "inspection_id"
        message = (_("This notice is not issued from an inspection.") if source == "inspection"
                   else _("This notice is not issued from a case."))
        raise InvalidData({field: [message]})


def _row(snapshot: dict, *, notice_type, department, inspection, case, entity, user, rendered_pdf: bytes,
         page_count: int, token: str, replaces=None, batch_id=None) -> Notice:
    path, digest = store_pdf(rendered_pdf, snapshot["year"])
    notice = Notice(type=notice_type, department=department, year=snapshot["year"], seq=snapshot["seq"],
                    number=snapshot["number"], title=snapshot["title"], status="issued",
                    inspection_id=snapshot["source"]["inspection_id"], case_id=snapshot["source"]["case_id"],
                    entity_id=entity.id, region_code=(case.region_code if case is not None
                                                      else inspection.region_code),
                    party_name=entity.name[:200], snapshot=snapshot, snapshot_sha256=snapshot_sha256(snapshot),
                    pdf_path=path, pdf_sha256=digest, pdf_size=len(rendered_pdf), page_count=page_count,
                    verify_token=token, short_code=snapshot["verify"]["short_code"],
                    replaces_id=replaces.id if replaces is not None else None, batch_id=batch_id,
                    issued_by_id=user.id, issued_dt=now_utc())
    db.session.add(notice)
    return notice


def issue_notice(notice_type: str, user, *, inspection=None, case=None, department: str | None = None,
                 notice_ids=None, replaces: Notice | None = None, today=None) -> Notice:
    """Issue one notice: snapshot, number, render, hash, store; returns the flushed row."""
    _check_source(notice_type, inspection, case)
    check_fonts()  # refuse before a number is taken
    config = settings()
    department = department or (issuing_department(notice_type, case) if case is not None
                                else user.department_code)
    today = today or local_day()
    served = _served_notices(inspection, case, notice_ids) if notice_type == "service_receipt" else None
    draft = build_draft(notice_type, config, department, user=user, today=today, inspection=inspection, case=case,
                        served=served)
    if replaces is not None and (replaces.status != "void" or replaces.type != notice_type):
        raise InvalidData({"replaces_id": [_("Only a void notice of the same type can be replaced.")]})
    seal = active_seal(department)
    token, short_code = new_verify_token(), new_short_code()
    year = today.year
    lock_counter(department, notice_type, year)  # serialises issuers of this department, type and year
    if notice_type != "service_receipt":
        existing = db.session.scalar(_source_filter(notice_type, department, inspection, case).limit(1))
        if existing is not None:
            raise NoticeConflict(_("%(number)s was already issued for this; void it first to issue a new one.",
                                   number=existing.number), existing)
    seq = lock_counter(department, notice_type, year, 1)
    number = config.department(department).format_number(notice_type, year, seq)
    snapshot = finalize(draft, number=number, year=year, seq=seq,
                        verify_url=f"{public_base_url()}/verify/{token}", short_code=short_code,
                        note=config.public_url_note, seal_sha256=seal.sha256 if seal else None,
                        template_version=template_version())
    rendered = render_notice(snapshot, {seal.sha256: seal.png} if seal else {})
    entity = case.entity if case is not None else inspection.entity
    notice = _row(snapshot, notice_type=notice_type, department=department, inspection=inspection, case=case,
                  entity=entity, user=user, rendered_pdf=rendered.pdf, page_count=rendered.page_count, token=token,
                  replaces=replaces)
    db.session.flush()
    return notice


def void_notice(notice: Notice, user, reason: str) -> Notice:
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise InvalidData({"reason": [_("Say why the notice is void (at least 4 characters).")]})
    if len(reason) > 500:
        raise InvalidData({"reason": [_("At most 500 characters.")]})
    if notice.status != "issued":
        raise NoticeConflict(_("The notice is already void."), notice)
    notice.status = "void"
    notice.void_reason = reason
    notice.voided_by_id = user.id
    notice.voided_dt = now_utc()
    db.session.flush()
    return notice


def rerender(notice: Notice):
    """Render the notice again from its snapshot (the text must be what was issued)."""
    return render_notice(notice.snapshot, seal_assets(notice.snapshot))


# --------------------------------------------------------------------------------------------
# Verification (public)

def find_by_token(token: str) -> Notice | None:
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Notice).where(Notice.verify_token == token))


def find_by_short_code(code: str) -> Notice | None:
    code = normalise_short_code(code)
    if not code:
        return None
    return db.session.scalar(sa.select(Notice).where(Notice.short_code == code))


def public_view(notice: Notice) -> dict:
    """What anyone may see: never the facts, the officers or anyone's personal data (victims, minors,
    witnesses); the party is the business named on the notice."""
    snapshot = notice.snapshot
    return {"type": notice.type, "title": notice.title, "number": notice.number, "status": notice.status,
            "party": notice.party_name, "issued_on": snapshot.get("issued_date"),
            "department": snapshot["department"]["name"], "department_code": notice.department,
            "sha256": notice.pdf_sha256, "pages": notice.page_count, "size": notice.pdf_size,
            "voided_on": local_day(notice.voided_dt).isoformat() if notice.voided_dt else None}


def check_upload(notice: Notice, stream) -> dict:
    """SHA-256 of an uploaded file against the notice's: genuine means byte for byte the issued PDF."""
    digest, size = hashlib.sha256(), 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        size += len(chunk)
        if size > VERIFY_UPLOAD_MAX:
            raise InvalidData({"file": [_("The file is larger than 20 MB: it is not one of our notices.")]})
        digest.update(chunk)
    if size == 0:
        raise InvalidData({"file": [_("Choose the PDF file to check.")]})
    uploaded = digest.hexdigest()
    return {"genuine": uploaded == notice.pdf_sha256, "uploaded_sha256": uploaded,
            "expected_sha256": notice.pdf_sha256, "void": notice.status == "void"}


# --------------------------------------------------------------------------------------------
# Batch: many inspections at once, rendered on every core

def eligible_inspections(notice_type: str, department: str, inspections) -> tuple[list, list[dict]]:
    """Split into (to issue, skipped with a reason) without issuing anything."""
    chosen, skipped = [], []
    for inspection in inspections:
        if inspection.status != "completed":
            skipped.append({"inspection_id": inspection.id, "reason": _("not completed")})
            continue
        if db.session.scalar(_source_filter(notice_type, department, inspection, None).limit(1)) is not None:
            skipped.append({"inspection_id": inspection.id, "reason": _("already issued")})
            continue
        chosen.append(inspection)
    return chosen, skipped


last_batch_stats: dict = {}  # of the last issue_many in this process (bench/bench_notices.py reads it)


class BatchRenderer:
    """Renders snapshots as they are submitted: in this process with one worker, else in a process pool
    (forkserver: safe to start from a web server's thread), so that the parent prepares the next notice
    while the workers render."""

    def __init__(self, workers: int, assets: dict):
        self.workers, self.assets = workers, assets
        self.pool: ProcessPoolExecutor | None = None
        self.futures: list = []
        self.done: dict[int, tuple[bytes, int]] = {}
        self.worker_cpu_seconds = 0.0  # rendering CPU of the worker processes (benchmark accounting)

    def __enter__(self) -> BatchRenderer:
        if self.workers > 1:
            import multiprocessing
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["inspect_app.notices.render"])
            self.pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context, initializer=warm_up)
        return self

    def __exit__(self, *exc) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def submit(self, index: int, snapshot: dict) -> None:
        if self.pool is None:
            rendered = render_notice(snapshot, self.assets)
            self.done[index] = (rendered.pdf, rendered.page_count)
        else:
            self.futures.append(self.pool.submit(render_in_worker, (index, snapshot, self.assets)))

    def collect(self, progress: Callable[[int], None] | None = None) -> dict[int, tuple[bytes, int]]:
        if progress and self.done:
            progress(len(self.done))
        for future in as_completed(self.futures):
            index, pdf, pages, cpu = future.result()
            self.done[index] = (pdf, pages)
            self.worker_cpu_seconds += cpu
            if progress:
                progress(len(self.done))
        return self.done


def default_workers() -> int:
    configured = current_app.config.get("NOTICE_WORKERS")
    if configured:
        return max(1, int(configured))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:
        return max(1, os.cpu_count() or 1)


def issue_many(notice_type: str, user, inspections, *, department: str | None = None, workers: int | None = None,
               progress: Callable[[int, int], None] | None = None, batch_id: int | None = None,
               today=None) -> tuple[list[Notice], list[dict]]:
    """Issue the notices of many inspections in one transaction: drafts and numbers here (under the counter
    lock, one number per notice that can be issued, so that none is skipped), rendering on ``workers``
    processes while the next drafts are prepared. Returns (notices, skipped with reasons)."""
    if notice_type not in ("inspection_record", "rectification_order"):
        raise InvalidData({"type": [_("Only on-site records and orders to rectify are issued in batches.")]})
    check_fonts()
    config = settings()
    department = department or user.department_code
    own = config.department(department)
    today = today or local_day()
    year = today.year
    lock_counter(department, notice_type, year)
    chosen, skipped = eligible_inspections(notice_type, department, inspections)
    seal = active_seal(department)
    assets = {seal.sha256: seal.png} if seal else {}
    base_url, version = public_base_url(), template_version()
    issued: list[tuple] = []  # (inspection, snapshot, token)
    codes: set[str] = set()
    total = len(chosen)
    with BatchRenderer(workers or default_workers(), assets) as renderer:
        for inspection in chosen:
            try:
                draft = build_draft(notice_type, config, department, user=user, today=today, inspection=inspection)
            except InvalidData as exc:
                message = next(iter(exc.fields.values()))[0] if exc.fields else str(exc)
                skipped.append({"inspection_id": inspection.id, "reason": str(message)})
                total -= 1
                continue
            seq = lock_counter(department, notice_type, year, 1)
            token, code = new_verify_token(), new_short_code()
            while code in codes:
                code = new_short_code()
            codes.add(code)
            snapshot = finalize(draft, number=own.format_number(notice_type, year, seq), year=year, seq=seq,
                                verify_url=f"{base_url}/verify/{token}", short_code=code, note=config.public_url_note,
                                seal_sha256=seal.sha256 if seal else None, template_version=version)
            renderer.submit(len(issued), snapshot)
            issued.append((inspection, snapshot, token))
        rendered = renderer.collect((lambda n: progress(n, total)) if progress else None)
    last_batch_stats.update(workers=renderer.workers, worker_cpu_seconds=renderer.worker_cpu_seconds)
    notices = []
    for index, (inspection, snapshot, token) in enumerate(issued):
        pdf, pages = rendered[index]
        notices.append(_row(snapshot, notice_type=notice_type, department=department, inspection=inspection,
                            case=None, entity=inspection.entity, user=user, rendered_pdf=pdf, page_count=pages,
                            token=token, batch_id=batch_id))
    db.session.flush()
    return notices, skipped


# batch id -> (rendered, total) of batches running in this process (SQLite: see update_batch)
_progress: dict[int, tuple[int, int]] = {}


def batch_progress(batch: NoticeBatch) -> tuple[int, int]:
    rendered, total = _progress.get(batch.id, (0, 0))
    return max(rendered, batch.rendered), max(total, batch.total)


def update_batch(batch_id: int, **values) -> None:
    """Progress on a connection of its own, visible at once to every worker polling the page. On SQLite the
    batch's own transaction holds the database's write lock while it renders, so the progress is kept in
    this process's memory as well (the embedded deployment is one process) and a locked write is skipped."""
    if "rendered" in values:
        _progress[batch_id] = (values["rendered"], values.get("total", 0))
        if db.engine.dialect.name == "sqlite":
            return  # the batch's transaction holds the lock from its start (inspect_app/sqlite.py): memory only
    values["updated_dt"] = now_utc()
    try:
        with db.engine.begin() as connection:
            connection.execute(sa.update(NoticeBatch.__table__).where(NoticeBatch.__table__.c.id == batch_id)
                               .values(**values))
    except sa.exc.OperationalError:
        if db.engine.dialect.name != "sqlite" or "status" in values:
            raise


_threads: set[threading.Thread] = set()
_threads_lock = threading.Lock()


def start_batch(batch_id: int) -> threading.Thread:
    app = current_app._get_current_object()
    thread = threading.Thread(target=run_batch, args=(app, batch_id), name=f"notice-batch-{batch_id}", daemon=True)
    with _threads_lock:
        _threads.add(thread)
    thread.start()
    return thread


def wait_for_batches(timeout: float = 120.0) -> bool:
    deadline = time.monotonic() + timeout
    with _threads_lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return not any(thread.is_alive() for thread in threads)


def run_batch(app, batch_id: int) -> None:
    from ..auth.models import User
    from ..inspection.models import Inspection
    try:
        with app.app_context():
            batch = db.session.get(NoticeBatch, batch_id)
            user = db.session.get(User, batch.user_id) if batch else None
            if user is None:
                return
            ids, notice_type, department = list(batch.inspection_ids), batch.type, batch.department
            db.session.rollback()
            update_batch(batch_id, status="running")
            set_actor(db.session, user.id, user.username)
            try:
                inspections = list(db.session.scalars(sa.select(Inspection).where(Inspection.id.in_(ids))
                                                      .order_by(Inspection.id)))
                notices, skipped = issue_many(
                    notice_type, user, inspections, department=department, batch_id=batch_id,
                    progress=lambda done, total: update_batch(batch_id, rendered=done, total=total),
                    workers=current_app.config.get("NOTICE_WORKERS") or None)
                record_event(db.session, "issue_batch", "notice_batches", batch_id,
                             after={"notices": [n.number for n in notices], "skipped": skipped})
                db.session.execute(sa.update(NoticeBatch.__table__).where(NoticeBatch.__table__.c.id == batch_id)
                                   .values(status="done", total=len(notices), rendered=len(notices),
                                           message=_skipped_text(skipped), finished_dt=now_utc(),
                                           updated_dt=now_utc()))
                db.session.commit()
            except Exception as exc:  # noqa: BLE001 - recorded on the batch; nothing was issued
                db.session.rollback()
                log.exception("notice batch %s failed", batch_id)
                update_batch(batch_id, status="failed", finished_dt=now_utc(), message=str(exc)[:1000])
    finally:
        _progress.pop(batch_id, None)
        with _threads_lock:
            _threads.discard(threading.current_thread())


def _skipped_text(skipped: list[dict]) -> str | None:
    if not skipped:
        return None
    return "; ".join(f"#{s['inspection_id']}: {s['reason']}" for s in skipped)[:1000]


def create_batch(user, notice_type: str, inspections, label: str) -> NoticeBatch:
    if notice_type not in ("inspection_record", "rectification_order"):
        raise InvalidData({"type": [_("Only on-site records and orders to rectify are issued in batches.")]})
    ids = [i.id for i in inspections]
    if not ids:
        raise InvalidData({"date": [_("No completed inspection of your department on that day.")]})
    check_fonts()
    batch = NoticeBatch(user_id=user.id, type=notice_type, department=user.department_code, label=label[:200],
                        inspection_ids=ids, status="queued", total=len(ids), rendered=0)
    db.session.add(batch)
    db.session.flush()
    return batch


def zip_of(notices: list[Notice]) -> bytes:
    """The batch's PDFs as they were issued (each verifiable on its own)."""
    import zipfile
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for notice in notices:
            info = zipfile.ZipInfo(pdf_filename(notice), date_time=_zip_time(notice.issued_dt))
            archive.writestr(info, read_pdf(notice))
    return buffer.getvalue()


def merged_pdf(notices: list[Notice]) -> bytes:
    """One PDF of the batch for printing (pypdf); the individual PDFs remain the verifiable originals."""
    from pypdf import PdfWriter
    writer = PdfWriter()
    for notice in notices:
        writer.append(io.BytesIO(read_pdf(notice)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def _zip_time(moment: datetime) -> tuple:
    local = moment.astimezone(datetime.now().astimezone().tzinfo) if moment.tzinfo else moment
    return (max(local.year, 1980), local.month, local.day, local.hour, local.minute, local.second)


def pdf_filename(notice: Notice) -> str:
    safe = "".join(ch for ch in notice.number if ch.isalnum() or ch in "〔〕-_")
    return f"{notice.title}-{safe}.pdf"
