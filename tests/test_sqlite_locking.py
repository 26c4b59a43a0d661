"""The embedded database (inspect_app/sqlite.py): transactions that may write
take SQLite's write lock when they begin, so two read-then-write transactions run one after the
other instead of deadlocking; readers do not wait for a writer (WAL); a lock not had in time is a
503 with Retry-After, never a 500; foreign keys hold."""
from __future__ import annotations

import sqlite3
import threading

import pytest
import sqlalchemy as sa

from inspect_app.extensions import db

from .conftest import DEMO_PASSWORD

pytestmark = pytest.mark.sqlite


def _counter(app):
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS lock_probe (id INTEGER PRIMARY KEY, n INTEGER)")
            conn.exec_driver_sql("DELETE FROM lock_probe")
            conn.exec_driver_sql("INSERT INTO lock_probe (id, n) VALUES (1, 0)")


def _drop_counter(app):
    with app.app_context():
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS lock_probe")


def test_database_is_in_wal_mode(app):
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"


def test_two_read_then_write_transactions_run_one_after_the_other(app):
    """The first reads, then waits (up to 0.5 s) for the second to have read too before it writes.
    In SQLite's deferred mode both would read 0: the second then either dies at once with "database
    is locked" (the deadlock) or writes 1 over 1 -- a lost update. Here the second waits for the
    write lock at BEGIN, reads 1 and writes 2."""
    _counter(app)
    first_read, second_read = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def bump(name, mine, other):
        try:
            with app.app_context():
                with db.engine.begin() as conn:  # outside a request: may write, BEGIN IMMEDIATE
                    value = conn.exec_driver_sql("SELECT n FROM lock_probe WHERE id = 1").scalar()
                    mine.set()
                    other.wait(0.5)
                    conn.exec_driver_sql("UPDATE lock_probe SET n = ? WHERE id = 1", (value + 1,))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
    try:
        one = threading.Thread(target=bump, args=("one", first_read, second_read))
        one.start()
        assert first_read.wait(5)
        two = threading.Thread(target=bump, args=("two", second_read, first_read))
        two.start()
        one.join(10)
        two.join(10)
        assert errors == []
        with app.app_context():
            assert db.session.execute(sa.text("SELECT n FROM lock_probe WHERE id = 1")).scalar() == 2
    finally:
        _drop_counter(app)


def test_a_page_reads_while_a_writer_holds_the_lock(app, client, make_user, auth):
    make_user("desk.reader", roles=["registrar"], department="samr")
    auth.login("desk.reader")
    path = app.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1]
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
        holder.execute("UPDATE audit_heads SET last_seq = last_seq WHERE id = 1")
        assert client.get("/registry/").status_code == 200
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_write_that_cannot_get_the_lock_is_503_with_retry_after(app, make_app, make_user):
    make_user("desk.writer", roles=["registrar"], department="samr")
    impatient = make_app(SQLITE_BUSY_TIMEOUT_MS=200, RAISE_ERRORS=False)
    client = impatient.test_client()
    token = client.post("/api/v1/auth/token", json={"username": "desk.writer", "password": DEMO_PASSWORD}).json
    token = {"Authorization": f"Bearer {token['token']}"}
    path = impatient.config["SQLALCHEMY_DATABASE_URI"].split("///", 1)[1]
    holder = sqlite3.connect(path, isolation_level=None)
    body = {"kind": "job_agency", "name": "锁测试人力资源公司", "address": "朔城区开发南路1号",
            "region_code": "140602", "status": "unlicensed"}
    try:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("UPDATE audit_heads SET last_seq = last_seq WHERE id = 1")
        response = client.post("/api/v1/entities", json=body, headers=token)
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert response.json["error"]["code"] == "busy"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    again = client.post("/api/v1/entities", json=body, headers=token)  # the lock is free: it goes through
    assert again.status_code == 201, again.json


def test_foreign_keys_are_enforced(app):
    """SQLite leaves references unchecked unless each connection asks: a licence of no entity is refused."""
    from datetime import datetime, timezone

    from inspect_app.registry.models import Licence
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
        db.session.rollback()
        with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
            with db.engine.begin() as conn:
                conn.execute(sa.insert(Licence.__table__).values(
                    entity_id=987654, type="business_licence", number="X-1", department="samr", status="valid",
                    created_dt=datetime.now(timezone.utc)))
