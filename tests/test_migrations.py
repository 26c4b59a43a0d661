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


def test_case_foreign_key_detaches_notices_of_cases_that_do_not_exist(tmp_path):
    """A database of the old demo (notices of stand-in cases -1, -2 and of a case since gone) upgrades:
    those notices lose only their case_id, each change audited; a notice of a real case keeps it."""
    from datetime import date, datetime, timezone

    from flask_migrate import upgrade

    from inspect_app import create_app
    from inspect_app.audit.models import AuditEvent
    from inspect_app.audit.services import verify_chain
    from inspect_app.notices.models import Notice
    from inspect_app.util import UTCDateTime
    from tests.conftest import APP_KEYS
    app = create_app({**APP_KEYS, "TESTING": True,
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite3'}"})
    now = datetime.now(timezone.utc)
    with app.app_context():
        upgrade(revision="e004abfcb068")  # before the foreign key
        with db.engine.connect() as conn:
            # written as the embedded database did before it enforced foreign keys (there is no entity 1)
            conn.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
            conn.begin()
            # the cases table as this revision has it: the model's later columns (and their defaults) do not exist yet
            cases = sa.table("cases", sa.column("filed_on", sa.Date()), sa.column("opened_dt", UTCDateTime()),
                             *(sa.column(name) for name in (
                                 "id", "entity_id", "region_code", "acting_department", "handling_department",
                                 "status", "party_type", "penalty_serious", "hearing_offered",
                                 "investigation_extended")))
            conn.execute(sa.insert(cases).values(id=7, entity_id=1, region_code="140602", acting_department="hrss",
                                                 handling_department="hrss", status="open", filed_on=date(2026, 11, 2),
                                                 opened_dt=now, party_type="organisation", penalty_serious=False,
                                                 hearing_offered=False, investigation_extended=False))
            for seq, case_id in enumerate([-1, -2, 7, 99, None], start=1):
                conn.execute(sa.insert(Notice.__table__).values(
                    type="penalty_advance_notice", department="hrss", year=2026, seq=seq, number=f"告{seq}",
                    title="行政处罚事先告知书", inspection_id=None, case_id=case_id, entity_id=1,
                    region_code="140602", party_name="某公司", snapshot={"source": {"case_id": case_id}},
                    snapshot_sha256="0" * 64, pdf_path="x.pdf", pdf_sha256="0" * 64, pdf_size=1, page_count=1,
                    verify_token=f"t{seq}", short_code=f"AAAAA-AAAA{seq}", issued_dt=now))
            conn.commit()
        db.engine.dispose()
        upgrade()
        rows = dict(db.session.execute(sa.select(Notice.number, Notice.case_id)).all())
        assert rows == {"告1": None, "告2": None, "告3": 7, "告4": None, "告5": None}
        snapshots = [n.snapshot["source"]["case_id"] for n in db.session.scalars(sa.select(Notice).order_by(Notice.id))]
        assert snapshots == [-1, -2, 7, 99, None]  # the frozen snapshot is not touched
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "notices")
                                    .order_by(AuditEvent.seq)).all()
        assert [(e.actor, e.object_id, e.before, e.after) for e in events] == [
            ("migration 1047000c4c14", "1", {"case_id": -1}, {"case_id": None}),
            ("migration 1047000c4c14", "2", {"case_id": -2}, {"case_id": None}),
            ("migration 1047000c4c14", "4", {"case_id": 99}, {"case_id": None})]
        count, problem = verify_chain(db.session)
        assert problem is None and count == len(events)
        db.session.remove()  # its transaction holds SQLite's write lock
        keys = sa.inspect(db.engine).get_foreign_keys("notices")
        assert {"constrained_columns": ["case_id"], "referred_table": "cases"}.items() <= next(
            k for k in keys if k["constrained_columns"] == ["case_id"]).items()
        db.engine.dispose()
