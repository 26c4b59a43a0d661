"""Issued notices, their number counters, the departments' e-seals and batch jobs.

A notice is written once: its snapshot (the plain JSON the PDF was rendered from), the PDF's SHA-256
and its number never change. Voiding only sets the void fields; the number stays taken (recorded as
void) and is never given again.
"""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from ..util import UTCDateTime, now_utc

NOTICE_STATUSES = ("issued", "void")
# the only columns that may change after issue, and only from issued to void
VOID_COLUMNS = frozenset({"status", "void_reason", "voided_by_id", "voided_dt"})
BATCH_STATUSES = ("queued", "running", "done", "failed")


class Notice(db.Model):
    __tablename__ = "notices"
    __table_args__ = (
        sa.UniqueConstraint("department", "type", "year", "seq"),
        sa.Index("ix_notices_type_status", "type", "status"),
        sa.CheckConstraint("status IN ('issued', 'void')", name="status"),
    )
    # The snapshot is kept whole here; the audit log carries its SHA-256.
    __audit_redact__ = {"snapshot"}

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    department: Mapped[str] = mapped_column(sa.String(40))
    year: Mapped[int]
    seq: Mapped[int]
    number: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(60))
    status: Mapped[str] = mapped_column(sa.String(10), default="issued")
    inspection_id: Mapped[int | None] = mapped_column(sa.ForeignKey("inspections.id"), index=True)
    # RESTRICT: a case that has issued notices is never deleted (the notices are kept for good)
    case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    entity_id: Mapped[int] = mapped_column(sa.ForeignKey("entities.id"), index=True)
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    party_name: Mapped[str] = mapped_column(sa.String(200))
    snapshot: Mapped[dict] = mapped_column(sa.JSON)
    snapshot_sha256: Mapped[str] = mapped_column(sa.String(64))
    # the PDF: a file under INSPECT_DATA_DIR (relative path), its SHA-256 and size
    pdf_path: Mapped[str] = mapped_column(sa.String(300))
    pdf_sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    pdf_size: Mapped[int]
    page_count: Mapped[int]
    # public verification: an unguessable token (QR code) and a short code to type in
    verify_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    short_code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    replaces_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notices.id"))
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("notice_batches.id"), index=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    issued_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    void_reason: Mapped[str | None] = mapped_column(sa.String(500))
    voided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    voided_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    issued_by = relationship("User", foreign_keys=[issued_by_id])
    voided_by = relationship("User", foreign_keys=[voided_by_id])
    entity = relationship("Entity")

    def __repr__(self) -> str:
        return f"<Notice {self.id} {self.number}>"

    @property
    def is_void(self) -> bool:
        return self.status == "void"

    @property
    def access_region_code(self) -> str:
        return self.region_code

    @property
    def access_department_code(self) -> str:
        return self.department


class NoticeCounter(db.Model):
    """The last number given per department, type and year; incremented under a row lock."""

    __tablename__ = "notice_counters"
    __audit__ = False  # every number given is a notice row, audited

    department: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    type: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(default=0)


class DepartmentSeal(db.Model):
    """A department's e-seal image (PNG, checked by content); the newest active one is printed.

    Rows are never changed or deleted: an issued notice names its seal by SHA-256 and re-renders with it.
    """

    __tablename__ = "department_seals"
    __table_args__ = (sa.UniqueConstraint("department", "sha256"),)
    __audit_redact__ = {"png"}

    id: Mapped[int] = mapped_column(primary_key=True)
    department: Mapped[str] = mapped_column(sa.String(40), index=True)
    png: Mapped[bytes] = mapped_column(sa.LargeBinary)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    width: Mapped[int]
    height: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    uploaded_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)


class NoticeBatch(db.Model):
    """Many notices issued at once (e.g. the orders to rectify of a campaign day), run in the background;
    its progress is written on a connection of its own so that any worker answers the page's polling."""

    __tablename__ = "notice_batches"
    __audit__ = False  # bookkeeping: each notice is audited

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(sa.String(40))
    department: Mapped[str] = mapped_column(sa.String(40))
    label: Mapped[str] = mapped_column(sa.String(200))
    inspection_ids: Mapped[list] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(10), default="queued")
    total: Mapped[int] = mapped_column(default=0)
    rendered: Mapped[int] = mapped_column(default=0)
    message: Mapped[str | None] = mapped_column(sa.String(1000))
    created_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    updated_dt: Mapped[datetime] = mapped_column(UTCDateTime(), default=now_utc)
    finished_dt: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notices: Mapped[list[Notice]] = relationship(order_by="Notice.id", foreign_keys=[Notice.batch_id],
                                                 viewonly=True)

    @property
    def is_finished(self) -> bool:
        return self.status in ("done", "failed")


class NoticeImmutable(RuntimeError):
    """An issued notice was about to change (only voiding is allowed)."""


@event.listens_for(Notice, "before_update")
def _only_voiding(mapper, connection, target):
    state = sa.inspect(target)
    changed = {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}
    if changed - VOID_COLUMNS:
        raise NoticeImmutable(f"{target!r}: an issued notice does not change ({', '.join(sorted(changed))})")
    status = state.attrs["status"].history
    if status.has_changes() and not (status.deleted == ["issued"] and status.added == ["void"]):
        raise NoticeImmutable(f"{target!r}: only issued -> void is allowed")


@event.listens_for(Notice, "before_delete")
@event.listens_for(DepartmentSeal, "before_delete")
def _never_deleted(mapper, connection, target):
    raise NoticeImmutable(f"{target!r} is kept for good")


@event.listens_for(DepartmentSeal, "before_update")
def _seal_fixed(mapper, connection, target):
    state = sa.inspect(target)
    changed = {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}
    if changed - {"active"}:
        raise NoticeImmutable(f"seal {target.id}: only 'active' may change")
