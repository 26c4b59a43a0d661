"""Migrations are the only way the schema changes; they match the models on both backends."""
from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from inspect_app.extensions import db

MIGRATIONS = Path(__file__).resolve().parent.parent / "inspect_app" / "migrations"


def _script() -> ScriptDirectory:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def test_exactly_one_head():
    assert len(_script().get_heads()) == 1


def test_revision_files_carry_a_date_prefix():
    for path in (MIGRATIONS / "versions").glob("*.py"):
        assert path.name[:8].isdigit(), path.name


def test_upgraded_database_matches_models(app):
    """No pending autogenerate diff after `db upgrade` (run by the database_url fixture)."""
    with app.app_context():
        with db.engine.connect() as conn:
            from inspect_app.util import include_in_schema
            context = MigrationContext.configure(conn, opts={
                "compare_type": True, "render_as_batch": True,
                "include_object": include_in_schema(conn.dialect.name)})
            assert context.get_current_revision() == _script().get_current_head()
            diff = compare_metadata(context, db.metadata)
        assert diff == []


def test_downgrade_and_upgrade_again(tmp_path):
    from flask_migrate import downgrade, upgrade

    from inspect_app import create_app
    from tests.conftest import APP_KEYS
    app = create_app({**APP_KEYS, "TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.sqlite3'}"})
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        assert sa.inspect(db.engine).get_table_names() == ["alembic_version"]
        upgrade()
        assert "audit_events" in sa.inspect(db.engine).get_table_names()
        db.engine.dispose()
