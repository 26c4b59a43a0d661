"""The hash-chained audit log: every change is recorded and tampering is detected."""
import threading
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from inspect_app.audit.models import AuditEvent
from inspect_app.audit.services import record_event, verify_chain
from inspect_app.auth.models import User
from inspect_app.extensions import db
from tests.conftest import AuthActions, csrf_from


def _events(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.seq)).all()
        db.session.expunge_all()
        return rows


def test_create_update_are_recorded_with_actor_and_address(app, client, make_user):
    make_user("audit.admin", roles=("admin",), region="140600")
    AuthActions(client).login("audit.admin")
    page = client.get("/admin/users/new")
    client.post("/admin/users/new", data={
        "csrf_token": csrf_from(page.data), "username": "new.clerk", "full_name": "新 职员",
        "department_code": "samr", "region_code": "140602", "roles": ["registrar"],
        "password": "long-enough-password"}, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    events = _events(app)
    created = [e for e in events if e.action == "create" and e.object_type == "users"
               and e.after["username"] == "new.clerk"]
    assert len(created) == 1
    event = created[0]
    assert event.actor == "audit.admin" and event.client_addr == "10.1.2.3"
    assert event.after["password_hash"] == "[redacted]"
    assert "long-enough-password" not in str([e.after for e in events])
    with app.app_context():
        uid = db.session.scalar(sa.select(User.id).where(User.username == "new.clerk"))
    page = client.get(f"/admin/users/{uid}")
    client.post(f"/admin/users/{uid}", data={
        "csrf_token": csrf_from(page.data), "full_name": "新 职员（改）", "department_code": "samr",
        "region_code": "140602", "roles": ["registrar"], "is_active": "y"})
    update = [e for e in _events(app) if e.action == "update" and e.object_id == str(uid)][-1]
    assert update.before == {"full_name": "新 职员"} and update.after == {"full_name": "新 职员（改）"}


def test_login_events(app, make_user, auth):
    make_user("audit.login")
    auth.login("audit.login", "wrong-password")
    auth.login("audit.login")
    actions = [e.action for e in _events(app)]
    assert "auth.login" in actions
    assert any(e.action == "update" and e.after.get("failed_login_count") == 1 for e in _events(app))


def test_rolled_back_change_leaves_no_event(app):
    with app.app_context():
        record_event(db.session, "test.thing", "things", 1)
        db.session.rollback()
        db.session.commit()
    assert _events(app) == []


def _seed(app, make_user, n=3):
    for i in range(n):
        make_user(f"chain{i}")
    with app.app_context():
        count, problem = verify_chain(db.session)
    assert problem is None and count == 2 * n  # a user and a role row each
    return count


def _verify(app):
    with app.app_context():
        return verify_chain(db.session)


def test_edited_row_is_detected(app, make_user, runner):
    _seed(app, make_user)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 3"))
    count, problem = _verify(app)
    assert count == 2 and problem.seq == 3 and "edited" in problem.reason
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "seq 3" in result.output and "edited" in result.output


def test_edited_json_payload_is_detected(app, make_user):
    _seed(app, make_user)
    with app.app_context(), db.engine.begin() as conn:
        row = conn.execute(sa.text("SELECT after FROM audit_events WHERE seq = 1")).scalar_one()
        text = row if isinstance(row, str) else __import__("json").dumps(row)
        conn.execute(sa.text("UPDATE audit_events SET after = :a WHERE seq = 1"),
                     {"a": text.replace("chain0", "chainX")})
    count, problem = _verify(app)
    assert count == 0 and problem.seq == 1


def test_deleted_row_is_detected(app, make_user, runner):
    _seed(app, make_user)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = 4"))
    count, problem = _verify(app)
    assert problem.seq == 5 and "deleted" in problem.reason
    assert runner.invoke(args=["audit", "verify"]).exit_code == 1


def test_deleted_newest_rows_are_detected(app, make_user):
    _seed(app, make_user)
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq >= 5"))
    count, problem = _verify(app)
    assert count == 4 and problem.seq is None and "head" in str(problem)


def test_rehashed_forgery_breaks_the_link(app, make_user):
    """Recomputing one row's own hash after editing it still breaks the next row's link."""
    from inspect_app.audit.services import event_hash
    _seed(app, make_user)
    with app.app_context():
        ev = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 2))
        ev.actor = "forger"
        values = {c.key: getattr(ev, c.key) for c in sa.inspect(AuditEvent).column_attrs}
        ev.hash = event_hash(values)
        db.session.commit()
    count, problem = _verify(app)
    assert problem.seq == 3 and "link" in problem.reason


def test_intact_chain_cli(app, make_user, runner):
    _seed(app, make_user)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "intact: 6 event(s)" in result.output


def test_admin_page_shows_a_broken_chain(app, client, make_user):
    make_user("audit.viewer", roles=("admin",), region="140600")
    AuthActions(client).login("audit.viewer")
    assert "哈希链完好" in client.get("/audit/verify").data.decode()
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET action = 'x' WHERE seq = 1"))
    assert "哈希链在 0 条完好记录之后断裂" in client.get("/audit/verify").data.decode()


def test_concurrent_writers_keep_one_chain(app, make_user, backend):
    """Several workers committing at once (real threads, real connections) still form one chain."""
    if backend == "sqlite":
        n_threads, per_thread = 2, 3   # SQLite serialises writers; keep its lock waits short
    else:
        n_threads, per_thread = 8, 10
    errors = []

    def worker(k):
        try:
            with app.app_context():
                for i in range(per_thread):
                    record_event(db.session, "test.concurrent", "things", f"{k}-{i}")
                    db.session.commit()
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    count, problem = _verify(app)
    assert problem is None and count == n_threads * per_thread


@pytest.mark.parametrize("column, value", [
    ("seq", 99), ("prev_hash", "1" * 64), ("object_id", "42"), ("client_addr", "192.0.2.1"),
    ("created_dt", datetime(2020, 1, 1, tzinfo=timezone.utc)),
])
def test_any_column_edit_is_detected(app, make_user, column, value):
    _seed(app, make_user, n=2)
    table = AuditEvent.__table__
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.seq == 2).values({column: value}))
    _, problem = _verify(app)
    assert problem is not None and problem.seq in (2, 3, 99)


def _login_event_addr(app, client, username, forwarded_for):
    client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    assert AuthActions(client).login(username).status_code == 302
    with app.app_context():
        return db.session.scalars(sa.select(AuditEvent.client_addr).where(AuditEvent.action == "auth.login")
                                  .order_by(AuditEvent.seq.desc())).first()


def test_behind_a_proxy_events_record_the_forwarded_client(app, make_app, make_user, monkeypatch):
    make_user("audit.proxied")
    monkeypatch.setenv("INSPECT_PROXY_FIX", "1")
    proxied = make_app()
    assert _login_event_addr(app, proxied.test_client(), "audit.proxied", "198.51.100.23") == "198.51.100.23"


def test_without_proxy_fix_a_forwarded_address_is_not_recorded(app, make_app, make_user, monkeypatch):
    make_user("audit.direct")
    monkeypatch.delenv("INSPECT_PROXY_FIX", raising=False)
    direct = make_app()
    assert _login_event_addr(app, direct.test_client(), "audit.direct", "198.51.100.23") == "127.0.0.1"
