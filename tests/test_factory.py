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
