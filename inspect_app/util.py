"""Small helpers shared by every area."""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator


def now_utc() -> datetime:
    """The current time, timezone-aware, in UTC (use as a callable column default)."""
    return datetime.now(timezone.utc)


_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_was_enabled = True


@contextmanager
def paused_gc() -> Iterator[None]:
    """Python's cyclic garbage collector off while a bulk job builds many long-lived objects.

    An import of 50,000 rows creates some 2 million dicts, strings and drafts that all survive to
    the end; the collector keeps re-scanning them (each pass over everything older), which took
    30% of the import (bench/bench_import.py: 5.8 s against 4.1 s). Reference counting still frees
    everything as usual; only cycles wait for the end. Nested and concurrent pauses (threads of one
    worker) are counted: the collector comes back on when the last ends, which collects once."""
    global _gc_pauses, _gc_was_enabled
    with _gc_lock:
        _gc_pauses += 1
        if _gc_pauses == 1:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite has no time zones and PostgreSQL returns the session's zone; normalising here
    keeps comparisons and the audit hash identical on both.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def postgresql_only(index):
    """An index only PostgreSQL gets (e.g. a pg_trgm GIN index): skipped by create_all elsewhere,
    and ignored by migration comparisons on other databases (:func:`include_in_schema`)."""
    index.info["dialect"] = "postgresql"
    return index.ddl_if(dialect="postgresql")


def include_in_schema(dialect_name: str):
    """An Alembic ``include_object`` hook that leaves out objects meant for another database."""
    def include(obj, name, type_, reflected, compare_to):
        wanted = getattr(obj, "info", {}).get("dialect") if obj is not None else None
        return wanted is None or wanted == dialect_name
    return include


class SerializedJSON(dict):
    """A JSON object together with its serialisation, already made (e.g. to hash it): stored in a
    :class:`JSONColumn` as that text, not serialised a second time (a campaign's frozen record
    is megabytes)."""

    def __init__(self, value: dict, text: str | bytes):
        super().__init__(value)
        self.text = text.decode("utf-8") if isinstance(text, bytes) else text


class JSONColumn(TypeDecorator):
    """``sa.JSON`` (the same column type in the database), which stores a :class:`SerializedJSON`
    as its text; any other value as ``sa.JSON`` does."""

    impl = sa.JSON
    cache_ok = True

    def bind_processor(self, dialect):
        inner = self.impl_instance.dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "postgresql":
            from psycopg.types.json import Json

            def process(value):
                if isinstance(value, SerializedJSON):
                    return Json(value, dumps=lambda serialized: serialized.text)
                return inner(value) if inner else value
        else:
            def process(value):
                if isinstance(value, SerializedJSON):
                    return value.text
                return inner(value) if inner else value
        return process
