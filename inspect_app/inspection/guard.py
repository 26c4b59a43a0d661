"""The frozen record: an ORM guard that refuses any change to a completed inspection.

A ``before_flush`` listener on every session refuses inserts, updates and deletes of the rows that
make up an inspection record (the inspection itself, its team, pinned checklists, attestations,
check-ins, answers, evidence, violations and signatures) once the inspection's stored status is
``completed``; the completing flush itself passes (the stored status is still ``in_progress``).
Corrections are :class:`~.models.Amendment` rows, which the guard lets through. A violation's
``status`` (open / withdrawn / closed) is case workflow, not the record, and may still change.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.base import NO_VALUE

from .models import Answer, Attestation, CheckIn, Evidence, Inspection, InspectionChecklist, InspectionMember, \
    Signature, Violation


class InspectionStateError(RuntimeError):
    """The inspection's state forbids the change (409): e.g. it is completed, cancelled or not started."""

    def __init__(self, message, code: str = "inspection_state"):
        super().__init__(str(message))
        self.message = message
        self.code = code


GUARDED = (InspectionMember, InspectionChecklist, Attestation, CheckIn, Answer, Evidence, Violation, Signature)
# columns that may change on a completed inspection's rows (workflow, not the record)
MUTABLE_AFTER_COMPLETION = {Violation: {"status"}}


def _stored_status(session: Session, inspection: Inspection | None, inspection_id: int | None) -> str | None:
    """The inspection's status as stored before this flush."""
    if inspection is None and inspection_id is not None:
        inspection = session.get(Inspection, inspection_id)
    if inspection is None:
        return None
    state = inspect(inspection)
    if state.pending or state.transient:
        return None
    history = state.attrs.status.history
    if history.deleted:
        return history.deleted[0]
    if history.unchanged:
        return history.unchanged[0]
    return session.scalar(sa.select(Inspection.status).where(Inspection.id == inspection.id))


def _parent(obj) -> tuple[Inspection | None, int | None]:
    state = inspect(obj)
    loaded = state.attrs.inspection.loaded_value
    inspection = loaded if loaded is not NO_VALUE else None
    inspection_id = obj.inspection_id
    if inspection_id is None and not state.attrs.inspection_id.history.has_changes():
        inspection_id = state.committed_state.get("inspection_id")
    return inspection, inspection_id


def _changed_columns(obj) -> set[str]:
    state = inspect(obj)
    return {attr.key for attr in state.mapper.column_attrs if state.attrs[attr.key].history.has_changes()}


def _refuse(obj, action: str):
    from flask_babel import lazy_gettext as _l
    raise InspectionStateError(
        _l("This inspection is completed: its record can no longer change. Add an amendment instead."),
        code="inspection_completed") from None


def check_flush(session: Session, flush_context=None, instances=None) -> None:
    with session.no_autoflush:
        for obj in list(session.deleted) + list(session.dirty) + list(session.new):
            if isinstance(obj, Inspection):
                if obj in session.new:
                    continue
                if obj in session.dirty and not session.is_modified(obj, include_collections=False):
                    continue
                if _stored_status(session, obj, obj.id) == "completed":
                    _refuse(obj, "delete" if obj in session.deleted else "update")
            elif isinstance(obj, GUARDED):
                if obj in session.dirty:
                    changed = _changed_columns(obj)
                    if not changed or changed <= MUTABLE_AFTER_COMPLETION.get(type(obj), set()):
                        continue
                inspection, inspection_id = _parent(obj)
                if _stored_status(session, inspection, inspection_id) == "completed":
                    _refuse(obj, "change")


def install_guard() -> None:
    """Listen on every ORM session (idempotent)."""
    if not event.contains(Session, "before_flush", check_flush):
        event.listen(Session, "before_flush", check_flush)
