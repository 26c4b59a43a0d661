"""Fixtures: the app on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL.

The schema is built once per backend by running the real migrations; each test then works
on committed data (as the application does) and the tables are emptied afterwards.
"""
from __future__ import annotations

import os
import re

import pytest
import sqlalchemy as sa

from inspect_app import create_app
from inspect_app.audit.models import GENESIS_HASH
from inspect_app.extensions import db

TEST_SECRET = "test-secret-key-that-is-long-enough"
# keys as create_app() takes them, and as the environment gives them to load_config()
TEST_ID_ENCRYPTION_KEY = "test-id-encryption-key-0123456789abcdef"
APP_KEYS = {"SECRET_KEY": TEST_SECRET, "ID_HMAC_KEY": "test-id-hmac-key-0123456789",
            "ID_ENCRYPTION_KEY": TEST_ID_ENCRYPTION_KEY}
ENV_KEYS = {"SECRET_KEY": TEST_SECRET, "INSPECT_ID_HMAC_KEY": "test-id-hmac-key-0123456789",
            "INSPECT_ID_ENCRYPTION_KEY": TEST_ID_ENCRYPTION_KEY}
DEMO_PASSWORD = "correct-horse-battery"
BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _pg_url() -> str:
    url = os.environ["TEST_DATABASE_URL"]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            url = "postgresql+psycopg://" + url[len(prefix):]
    return url


def base_config(url: str, **extra) -> dict:
    config = {
        "TESTING": True,
        **APP_KEYS,
        "SQLALCHEMY_DATABASE_URI": url,
        "RATELIMIT_ENABLED": False,
        "API_TOKEN_CACHE_SECONDS": 0,  # test_api.py checks the cache on its own
        # cheap hashes keep the suite fast; test_auth checks the production default separately
        "PASSWORD_HASH_METHOD": "scrypt:1024:8:1",
        "SERVER_NAME": None,
    }
    config.update(extra)
    return config


def _own_postgres_database(url: str):
    """A database of this test session's own beside the one named by TEST_DATABASE_URL, so that
    two test runs on one server do not drop each other's schema; falls back to the named one
    when the account may not create databases. Returns (url, cleanup)."""
    base = sa.engine.make_url(url)
    name = f"{base.database}_t{os.getpid()}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE template0 ENCODING \'UTF8\''))
    except sa.exc.ProgrammingError:
        admin.dispose()
        return url, lambda: None
    except sa.exc.OperationalError as exc:
        admin.dispose()
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", pytrace=False)

    def cleanup():
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False), cleanup


def pytest_collection_modifyitems(config, items):
    """Tests marked ``one_database`` (or ``browser``) run once, on SQLite: they check pages in a browser
    or access rules, which the database does not change, and every database behaviour they touch is
    tested on both databases elsewhere. Keeps the two-database suite inside CI's time budget.
    Tests marked ``postgresql`` (row locks under concurrency, pg_trgm) run on PostgreSQL only: CI sets
    TEST_DATABASE_URL, and without it they are deselected, never silently skipped as passed. Tests marked
    ``sqlite`` check the embedded database's own behaviour (its write lock) and run on SQLite only."""
    kept, dropped = [], []
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        single = item.get_closest_marker("one_database") or item.get_closest_marker("browser")
        backend = params.get("database_url")
        only_sqlite = single or item.get_closest_marker("sqlite")
        if (only_sqlite and backend == "postgresql") or (item.get_closest_marker("postgresql") and backend == "sqlite"):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """A migrated, empty database per backend (fails, never skips, if PostgreSQL is unreachable)."""
    cleanup = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"
    else:
        url, cleanup = _own_postgres_database(_pg_url())
        engine = sa.create_engine(url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text("DROP SCHEMA public CASCADE"))
                conn.execute(sa.text("CREATE SCHEMA public"))
        except sa.exc.OperationalError as exc:
            pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL is unreachable: {exc}", pytrace=False)
        finally:
            engine.dispose()
    app = create_app(base_config(url))
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        db.engine.dispose()
    yield url
    if cleanup is not None:
        cleanup()


def _empty_tables(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = [t for t in reversed(db.metadata.sorted_tables) if t.name != "alembic_version"]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables)
                                     + " RESTART IDENTITY CASCADE"))
            else:
                conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")  # rows that refer to each other, checked at commit
                for table in tables:
                    conn.execute(table.delete())
            conn.execute(sa.text(f"INSERT INTO audit_heads (id, last_seq, last_hash) VALUES (1, 0, '{GENESIS_HASH}')"))
        db.engine.dispose()


@pytest.fixture
def app(database_url, tmp_path):
    app = create_app(base_config(database_url, INSPECT_DATA_DIR=str(tmp_path / "data")))
    yield app
    _empty_tables(app)


@pytest.fixture
def make_app(database_url):
    """Another app on the test database with extra config; its engine is closed afterwards
    (a pooled psycopg connection left to the garbage collector fails a later test)."""
    made = []

    def factory(**config):
        other = create_app(base_config(database_url, **config))
        made.append(other)
        return other
    yield factory
    for other in made:
        with other.app_context():
            db.engine.dispose()


@pytest.fixture
def backend(database_url) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_user(app):
    """Create an account through the real service and commit it."""
    from inspect_app.auth.services import create_user
    counter = {"n": 0}

    def factory(username=None, roles=("inspector",), department="hrss", region="140602",
                password=DEMO_PASSWORD, credential=None, **extra):
        counter["n"] += 1
        username = username or f"user{counter['n']}.{'-'.join(roles)}".replace("_", "-")
        if credential is None and "inspector" in roles:
            credential = f"CRED-{username}"
        with app.app_context():
            user = create_user({"username": username, "full_name": extra.pop("full_name", username),
                                "roles": list(roles), "department_code": department, "region_code": region,
                                "password": password, "credential_number": credential, **extra})
            db.session.commit()
            return user.id
    return factory


CSRF_RE = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_from(html: str | bytes) -> str:
    if isinstance(html, bytes):
        html = html.decode()
    match = CSRF_RE.search(html)
    assert match, "page has no CSRF token"
    return match.group(1)


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, username, password=DEMO_PASSWORD, follow=False):
        page = self.client.get("/login")
        return self.client.post("/login", data={"csrf_token": csrf_from(page.data), "username": username,
                                                "password": password}, follow_redirects=follow)

    def logout(self):
        page = self.client.get("/")
        return self.client.post("/logout", data={"csrf_token": csrf_from(page.data)})


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def token_for(client):
    def get(username, password=DEMO_PASSWORD):
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert r.status_code == 201, r.json
        return {"Authorization": f"Bearer {r.json['token']}"}
    return get
