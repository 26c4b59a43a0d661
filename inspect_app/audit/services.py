"""Writing and verifying the audit log.

Every flush of an audited model queues an event (create / update / delete with the changed
values); explicit events (a login, a refused transition) are queued with :func:`record_event`.
At commit the queue is written in one go behind a lock on the chain head, so the chain stays
linear with several workers on PostgreSQL.
"""
from __future__ import annotations

import decimal
import enum
import hashlib
import json
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterator

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, scoped_session

from ..bulk import bulk_insert
from ..util import paused_gc
from .models import GENESIS_HASH, AuditEvent, AuditHead

PENDING = "audit_pending"
OMIT_ADDR = "audit_omit_addr"
REDACTED = "[redacted]"


def _plain(value: Any) -> Any:
    """A JSON-safe form of a column value."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return "sha256:" + hashlib.sha256(value).hexdigest()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_plain(v) for v in value]
    return str(value)


def _audited(obj) -> bool:
    return getattr(type(obj), "__audit__", True)


def _identity(obj) -> str | None:
    ident = inspect(obj).identity
    if ident is None:
        return None
    return "/".join(str(part) for part in ident)


def _column_values(obj, only: set[str] | None = None) -> dict[str, Any]:
    redact = getattr(type(obj), "__audit_redact__", set())
    mapper = inspect(type(obj))
    values = {}
    for attr in mapper.column_attrs:
        if only is not None and attr.key not in only:
            continue
        raw = getattr(obj, attr.key)
        values[attr.key] = REDACTED if attr.key in redact and raw is not None else _plain(raw)
    return values


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    redact = getattr(type(obj), "__audit_redact__", set())
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if not hist.has_changes():
            continue
        old = hist.deleted[0] if hist.deleted else None
        new = hist.added[0] if hist.added else None
        if attr.key in redact:
            before[attr.key], after[attr.key] = REDACTED, REDACTED
        else:
            before[attr.key], after[attr.key] = _plain(old), _plain(new)
    return before, after


def _table(obj) -> str:
    return type(obj).__tablename__


def _queue(session: Session, item: dict) -> None:
    session.info.setdefault(PENDING, []).append(item)


def record_event(session: Session, action: str, object_type: str, object_id: Any = None,
                 before: dict | None = None, after: dict | None = None) -> None:
    """Queue an explicit event (written at the next commit, with the ORM changes)."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()  # so that a rollback before any SQL still discards the event
    _queue(session, {"action": action, "object_type": object_type,
                     "object_id": None if object_id is None else str(object_id),
                     "before": _plain(before), "after": _plain(after)})


def record_events(session: Session, items: list[dict]) -> None:
    """Queue many explicit events at once whose values are already JSON-plain (str, int, float,
    bool, None, and lists and dicts of them): each item has ``action``, ``object_type``,
    ``object_id`` (a str or None), ``before`` and ``after``. For bulk writers (the registry import
    queues 50,000 at a time), skipping :func:`record_event`'s conversion of every value."""
    if isinstance(session, scoped_session):
        session = session()
    if not session.in_transaction():
        session.begin()
    session.info.setdefault(PENDING, []).extend(items)


def set_actor(session: Session, actor_id: int | None, actor: str | None) -> None:
    """Name the actor for events written outside a request (CLI commands, jobs)."""
    session.info["audit_actor"] = (actor_id, actor)


def _after_flush(session: Session, flush_context) -> None:
    for obj in session.new:
        if _audited(obj):
            _queue(session, {"action": "create", "object_type": _table(obj), "object_id": _identity(obj),
                             "before": None, "after": _column_values(obj)})
    for obj in session.dirty:
        if _audited(obj) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                _queue(session, {"action": "update", "object_type": _table(obj),
                                 "object_id": _identity(obj), "before": before, "after": after})
    for obj in session.deleted:
        if _audited(obj):
            _queue(session, {"action": "delete", "object_type": _table(obj), "object_id": _identity(obj),
                             "before": _column_values(obj), "after": None})


def _current_actor(session: Session) -> tuple[int | None, str | None, str | None]:
    addr = None
    if has_request_context():
        # set by a service whose events must not locate the requester (an anonymous tip-off)
        addr = None if session.info.pop(OMIT_ADDR, False) else request.remote_addr
        from flask_login import current_user
        try:
            if current_user.is_authenticated:
                return current_user.id, current_user.username, addr
        except Exception:  # noqa: BLE001 - the user may be gone in a failing request
            pass
    actor_id, actor = session.info.get("audit_actor", (None, None))
    return actor_id, actor or ("cli" if not has_request_context() else None), addr


def event_hash(values: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of an event's columns (and the previous hash)."""
    payload = {
        "seq": values["seq"],
        "created": _plain(values["created_dt"]),
        "actor_id": values["actor_id"],
        "actor": values["actor"],
        "action": values["action"],
        "object_type": values["object_type"],
        "object_id": values["object_id"],
        "before": values["before"],
        "after": values["after"],
        "client_addr": values["client_addr"],
        "prev_hash": values["prev_hash"],
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def _before_commit(session: Session) -> None:
    session.flush()
    pending = session.info.pop(PENDING, None)
    if not pending:
        return
    conn = session.connection()
    heads = AuditHead.__table__
    # UPDATE first: it takes the row lock (PostgreSQL) / write lock (SQLite) before we read.
    row = conn.execute(
        sa.update(heads).where(heads.c.id == 1)
        .values(last_seq=heads.c.last_seq + len(pending))
        .returning(heads.c.last_seq, heads.c.last_hash)
    ).one_or_none()
    if row is None:
        raise RuntimeError("audit_heads has no row: run `flask --app wsgi db upgrade`")
    seq = row.last_seq - len(pending)
    prev = row.last_hash
    actor_id, actor, addr = _current_actor(session)
    with paused_gc() if len(pending) > 1000 else nullcontext():  # a bulk job's events (util.paused_gc)
        prev = _write_events(session, pending, seq, prev, actor_id, actor, addr)
    conn.execute(sa.update(heads).where(heads.c.id == 1).values(last_hash=prev))


def _write_events(session: Session, pending: list[dict], seq: int, prev: str, actor_id, actor, addr) -> str:
    """Hash-chain and insert the queued events after ``seq``/``prev``; the new chain head's hash."""
    created = datetime.now(timezone.utc)
    rows = []
    for item in pending:
        seq += 1
        values = {"seq": seq, "created_dt": created, "actor_id": actor_id, "actor": actor,
                  "action": item["action"], "object_type": item["object_type"], "object_id": item["object_id"],
                  "before": item["before"], "after": item["after"], "client_addr": addr, "prev_hash": prev}
        values["hash"] = prev = event_hash(values)
        rows.append(values)
    # plain rows through the columns' bind processors (COPY on PostgreSQL): an import's 50,000 events
    # cost a third of what a Core executemany of them does
    bulk_insert(session, AuditEvent.__table__, rows)
    return prev


def _discard(session: Session, previous_transaction) -> None:
    if not previous_transaction.nested:
        session.info.pop(PENDING, None)
        session.info.pop(OMIT_ADDR, None)


def install_audit_listeners(session_class) -> None:
    """Attach the listeners to the application's session class (once)."""
    if getattr(session_class, "_audit_installed", False):
        return
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_soft_rollback", _discard)
    session_class._audit_installed = True


class _Row:
    def __init__(self, mapping):
        self.__dict__.update(mapping)


@dataclass
class ChainProblem:
    seq: int | None
    event_id: int | None
    reason: str

    def __str__(self) -> str:
        where = f"event seq {self.seq} (id {self.event_id})" if self.seq is not None else "chain head"
        return f"{where}: {self.reason}"


def _iter_events(session: Session, batch: int = 2000) -> Iterator[sa.RowMapping]:
    table = AuditEvent.__table__
    last = 0
    while True:
        rows = session.execute(sa.select(table).where(table.c.seq > last)
                               .order_by(table.c.seq).limit(batch)).mappings().all()
        if not rows:
            return
        yield from rows
        last = rows[-1]["seq"]


def verify_chain(session: Session) -> tuple[int, ChainProblem | None]:
    """Re-compute the chain; return the number of events checked and the first problem."""
    expected_seq, prev, count = 1, GENESIS_HASH, 0
    for values in _iter_events(session):
        ev = _Row(values)
        if ev.seq != expected_seq:
            return count, ChainProblem(ev.seq, ev.id,
                                       f"sequence jumps from {expected_seq - 1} to {ev.seq}: "
                                       f"{ev.seq - expected_seq} event(s) deleted")
        if ev.prev_hash != prev:
            return count, ChainProblem(ev.seq, ev.id, "previous-hash link broken (an earlier row changed)")
        if event_hash(values) != ev.hash:
            return count, ChainProblem(ev.seq, ev.id, "content does not match its hash (row edited)")
        prev, expected_seq, count = ev.hash, expected_seq + 1, count + 1
    heads = AuditHead.__table__
    head = session.execute(sa.select(heads).where(heads.c.id == 1)).one_or_none()
    if head is None:
        return count, ChainProblem(None, None, "head row missing")
    if head.last_seq != expected_seq - 1 or head.last_hash != prev:
        return count, ChainProblem(None, None,
                                   f"head says seq {head.last_seq} but the chain ends at {expected_seq - 1}: "
                                   "the newest events were deleted or the head was edited")
    return count, None
