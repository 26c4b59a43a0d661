"""The application factory and its configuration rules."""
import pytest

from inspect_app import create_app
from inspect_app.config import ConfigError, load_config
from tests.conftest import APP_KEYS, ENV_KEYS


def test_refuses_to_start_without_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("INSPECT_DEMO", raising=False)
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    with pytest.raises(ConfigError) as exc:
        create_app()
    assert "SECRET_KEY" in str(exc.value)
    assert "export SECRET_KEY=" in str(exc.value)  # says how to set one


@pytest.mark.parametrize("weak", ["dev", "change-me", "short"])
def test_refuses_default_or_short_secret_key(weak):
    with pytest.raises(ConfigError):
        load_config({"SECRET_KEY": weak})


def test_demo_mode_generates_and_keeps_a_key(tmp_path):
    env = {"INSPECT_DEMO": "1", "INSPECT_INSTANCE_DIR": str(tmp_path)}
    first = load_config(env)["SECRET_KEY"]
    second = load_config(env)["SECRET_KEY"]
    assert first == second and len(first) >= 32
    assert (tmp_path / "demo-secret-key").stat().st_mode & 0o077 == 0


def test_database_defaults_to_sqlite_under_instance(tmp_path):
    config = load_config({**ENV_KEYS, "INSPECT_INSTANCE_DIR": str(tmp_path)})
    assert config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'inspect.sqlite3'}"
    assert config["INSPECT_DATA_DIR"] == str(tmp_path / "data")


def test_postgres_urls_use_psycopg3():
    config = load_config({**ENV_KEYS, "DATABASE_URL": "postgresql://u@h/db"})
    assert config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h/db"


def test_data_dir_from_environment():
    config = load_config({**ENV_KEYS, "INSPECT_DATA_DIR": "/srv/inspect"})
    assert config["INSPECT_DATA_DIR"] == "/srv/inspect"


def test_factory_does_not_create_tables(tmp_path):
    """Schema changes happen through migrations only, never at start-up."""
    import sqlalchemy as sa
    url = f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    app = create_app({**APP_KEYS, "SQLALCHEMY_DATABASE_URI": url, "TESTING": True})
    with app.app_context():
        from inspect_app.extensions import db
        assert sa.inspect(db.engine).get_table_names() == []
        db.engine.dispose()


def test_refuses_to_start_without_id_hmac_key():
    with pytest.raises(ConfigError, match="INSPECT_ID_HMAC_KEY"):
        load_config({"SECRET_KEY": "x" * 32})


def test_demo_generates_a_separate_id_hmac_key(tmp_path):
    config = load_config({"INSPECT_DEMO": "1", "INSPECT_INSTANCE_DIR": str(tmp_path)})
    assert config["ID_HMAC_KEY"] != config["SECRET_KEY"] and len(config["ID_HMAC_KEY"]) >= 32


def test_proxy_fix_hops_from_environment():
    assert load_config({**ENV_KEYS, "INSPECT_PROXY_FIX": "1"})["INSPECT_PROXY_FIX"] == 1
    assert load_config({**ENV_KEYS, "INSPECT_PROXY_FIX": " 2 "})["INSPECT_PROXY_FIX"] == 2
    assert load_config({**ENV_KEYS})["INSPECT_PROXY_FIX"] == 0  # trust no proxy unless told


@pytest.mark.parametrize("bad", ["yes", "1.5", "-1"])
def test_refuses_a_proxy_fix_that_is_not_a_hop_count(bad):
    with pytest.raises(ConfigError) as exc:
        load_config({**ENV_KEYS, "INSPECT_PROXY_FIX": bad})
    message = str(exc.value)
    assert "INSPECT_PROXY_FIX" in message and repr(bad) in message
    assert "export INSPECT_PROXY_FIX=1" in message  # says how to set it


def test_factory_refuses_to_start_with_a_bad_proxy_fix(monkeypatch):
    for variable, value in ENV_KEYS.items():
        monkeypatch.setenv(variable, value)
    monkeypatch.setenv("INSPECT_PROXY_FIX", "nginx")
    with pytest.raises(ConfigError, match="INSPECT_PROXY_FIX"):
        create_app()


def _login_statuses(app, forwarded_for: str, attempts: int) -> list[int]:
    from tests.conftest import AuthActions
    auth = AuthActions(app.test_client())
    auth.client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return [auth.login(f"ghost{i}", "x" * 12).status_code for i in range(attempts)]


def test_behind_a_proxy_the_login_limit_counts_each_client(make_app, monkeypatch):
    """INSPECT_PROXY_FIX=1: the rate limiter keys on the address the proxy forwards, so one client's
    failed logins do not lock out every user behind the same proxy."""
    monkeypatch.setenv("INSPECT_PROXY_FIX", "1")
    proxied = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    assert proxied.config["INSPECT_PROXY_FIX"] == 1
    assert _login_statuses(proxied, "203.0.113.7", 4) == [200, 200, 200, 429]
    assert _login_statuses(proxied, "203.0.113.8", 1) == [200]  # another tablet behind the same proxy


def test_without_proxy_fix_a_client_cannot_pick_its_address(make_app, monkeypatch):
    monkeypatch.delenv("INSPECT_PROXY_FIX", raising=False)
    direct = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    assert _login_statuses(direct, "203.0.113.7", 4) == [200, 200, 200, 429]
    assert _login_statuses(direct, "203.0.113.8", 1) == [429]  # a new X-Forwarded-For does not escape the limit
