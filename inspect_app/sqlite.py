"""The embedded database (SQLite) for several writers: WAL, write transactions that take the write
lock when they begin, and foreign keys enforced (SQLite leaves them off unless told).

SQLite lets one writer at a time. In its default (deferred) mode a transaction reads first and asks
for the write lock only at its first write; two requests that both read, then both write (two
tablets saving answers to one inspection) deadlock, and SQLite answers the loser at once with
"database is locked" -- without waiting, whatever the busy timeout. So:

- every transaction of a request that may write (any method but GET, HEAD, OPTIONS) and of the
  CLI and background jobs begins with ``BEGIN IMMEDIATE``: it waits (up to the busy timeout) for
  the write lock before reading, so such transactions run one after the other and never deadlock;
- GET requests begin deferred and, in WAL mode, read beside a writer without waiting;
- what still cannot get the lock in time is answered 503 with Retry-After (errors.py), which the
  tablets' outbox retries, never 500.

PostgreSQL, the production database, is not touched: its row locks do this job.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

import sqlalchemy as sa
from flask import g, has_request_context, request

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BUSY_TIMEOUT_MS = 10_000


_local = threading.local()


@contextmanager
def reading() -> Iterator[None]:
    """Transactions this thread begins inside only read: they begin deferred even outside a request
    (a background job's checks, while it writes its progress on other connections)."""
    previous = getattr(_local, "reading", False)
    _local.reading = True
    try:
        yield
    finally:
        _local.reading = previous


def _may_write() -> bool:
    if getattr(_local, "reading", False):
        return False
    if not has_request_context():
        return True
    # after a busy answer the request only reads (who the user is, for the error page)
    return request.method not in SAFE_METHODS and not g.get("sqlite_busy")


def mark_busy() -> None:
    """The write lock was not had: the rest of the request begins its transactions as readers."""
    g.sqlite_busy = True


def configure_engine(engine: sa.Engine, busy_timeout_ms: int = BUSY_TIMEOUT_MS) -> None:
    """Install the connection set-up and the BEGIN rule on a SQLite engine (others untouched);
    a transaction waits up to ``busy_timeout_ms`` for the write lock."""
    if engine.dialect.name != "sqlite" or getattr(engine, "_inspect_sqlite", False):
        return
    engine._inspect_sqlite = True

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        # pysqlite's own transaction handling would BEGIN (deferred) behind our back: off, we begin
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")  # readers beside a writer; ":memory:" keeps its own
            cursor.execute("PRAGMA foreign_keys=ON")  # off by default in SQLite: the schema's references hold
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if _may_write() else "BEGIN")


def is_locked_error(exc: BaseException) -> bool:
    """SQLite's "database is locked" / "database table is locked" (the lock was not had in time)."""
    orig = getattr(exc, "orig", exc)
    return orig.__class__.__name__ == "OperationalError" and "locked" in str(orig) \
        and orig.__class__.__module__.startswith("sqlite3")
