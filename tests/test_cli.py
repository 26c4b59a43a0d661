"""The command line: users, seed-demo, registries."""
import sqlalchemy as sa

from inspect_app.auth.models import User
from inspect_app.demo.cli import DEMO_PASSWORD, DEMO_USERS
from inspect_app.extensions import db


def test_users_create(app, runner):
    result = runner.invoke(args=["users", "create", "Liu.Wei", "--password", "a-good-long-password",
                                 "--role", "inspector", "--role", "supervisor", "--department", "hrss",
                                 "--region", "140622", "--credential", "14062201009"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "liu.wei"))
        assert user.roles == ["inspector", "supervisor"] and user.region_code == "140622"
        assert user.check_password("a-good-long-password")


def test_users_create_defaults_to_whole_city(app, runner):
    result = runner.invoke(args=["users", "create", "city.planner", "--password", "a-good-long-password",
                                 "--role", "planner", "--department", "hrss"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert db.session.scalar(sa.select(User.region_code).where(User.username == "city.planner")) == "140600"


def test_users_create_reports_each_problem(runner):
    result = runner.invoke(args=["users", "create", "x", "--password", "short", "--role", "inspector",
                                 "--department", "tax", "--region", "110000"])
    assert result.exit_code == 2
    for flag in ("USERNAME", "--password", "--department", "--region", "--credential"):
        assert flag in result.output, flag


def test_users_create_refuses_unknown_role(runner):
    result = runner.invoke(args=["users", "create", "someone", "--password", "a-good-long-password",
                                 "--role", "king", "--department", "hrss"])
    assert result.exit_code == 2 and "king" in result.output


def test_seed_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert f"{len(DEMO_USERS)} account(s) created" in first.output
    assert DEMO_PASSWORD in first.output and "inspector.hrss.sc" in first.output
    assert "notices issued" in first.output
    made = _case_counts(app)
    assert made[0] > 0 and made[1] > 0
    second = runner.invoke(args=["seed-demo"])
    assert "0 account(s) created" in second.output and "notices issued" not in second.output
    assert _case_counts(app) == made  # no case, notice or number taken a second time
    with app.app_context():
        users = db.session.scalars(sa.select(User)).all()
        assert len(users) == len(DEMO_USERS)
        roles = {r for u in users for r in u.roles}
        assert roles == {"admin", "registrar", "planner", "inspector", "supervisor", "police_liaison", "viewer"}
        for role in roles:  # every role can be tried out in at least two counties
            counties = {u.region_code for u in users if role in u.roles and u.region_code != "140600"}
            assert len(counties) >= 2, (role, counties)
        city = {u.username: u.roles for u in users if u.region_code == "140600"}
        assert city == {"admin": ["admin"], "planner": ["planner"], "viewer": ["viewer"]}  # the old logins stay
        counties = {u.region_code for u in users if "inspector" in u.roles}
        assert counties == {"140602", "140681"}
        for county in counties:  # a joint team can be formed in each demo county
            assert {u.department_code for u in users
                    if "inspector" in u.roles and u.region_code == county} == {"hrss", "samr", "culture"}


def _case_counts(app) -> tuple[int, int, int]:
    from inspect_app.cases.models import Case
    from inspect_app.notices.models import Notice, NoticeCounter
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count()).select_from(Case)),
                db.session.scalar(sa.select(sa.func.count()).select_from(Notice)),
                db.session.scalar(sa.select(sa.func.sum(NoticeCounter.last_seq))))


def _counts(app) -> tuple[int, int, int]:
    from inspect_app.audit.models import AuditEvent
    from inspect_app.registry.models import Entity
    with app.app_context():
        return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model))
                     for model in (User, Entity, AuditEvent))


def test_seed_demo_if_empty_loads_an_empty_database_once(app, runner):
    first = runner.invoke(args=["seed-demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert f"{len(DEMO_USERS)} account(s) created" in first.output
    users, entities, events = _counts(app)
    assert users == len(DEMO_USERS) and entities > 0
    again = runner.invoke(args=["seed-demo", "--if-empty"])  # `make run` a second time
    assert again.exit_code == 0, again.output
    assert "demo data not loaded" in again.output and "account(s) created" not in again.output
    assert DEMO_PASSWORD in again.output and "inspector.hrss.sc" in again.output  # the logins still shown
    assert _counts(app) == (users, entities, events)  # nothing written, not even an audit event


def test_seed_demo_if_empty_leaves_a_real_database_alone(app, runner, make_user):
    make_user("real.admin", roles=("admin",), region="140600")
    before = _counts(app)
    result = runner.invoke(args=["seed-demo", "--if-empty"])
    assert result.exit_code == 0, result.output
    assert "database not empty (1 account(s), 0 entities): demo data not loaded" in result.output
    assert DEMO_PASSWORD not in result.output  # no demo account there to advertise
    assert _counts(app) == before


def test_demo_logins_work(app, runner, client):
    runner.invoke(args=["seed-demo"])
    from tests.conftest import AuthActions
    assert AuthActions(client).login("inspector.culture.hr", DEMO_PASSWORD).status_code == 302


def test_county_demo_admin_manages_only_their_county(app, runner, client):
    runner.invoke(args=["seed-demo"])
    from tests.conftest import AuthActions
    assert AuthActions(client).login("admin.hr", DEMO_PASSWORD).status_code == 302
    page = client.get("/admin/users").data.decode()
    assert "registrar.hr" in page and "planner.hr" in page
    assert "registrar.sc" not in page and "planner.sc" not in page


def test_set_password_and_deactivate(app, runner, make_user):
    make_user("cli.target")
    assert runner.invoke(args=["users", "set-password", "cli.target", "--password", "another-long-one"]).exit_code == 0
    assert runner.invoke(args=["users", "deactivate", "cli.target"]).exit_code == 0
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "cli.target"))
        assert user.check_password("another-long-one") and not user.is_active
    listing = runner.invoke(args=["users", "list"]).output
    assert "cli.target" in listing and "inactive" in listing


def test_cli_changes_are_audited_as_cli(app, runner):
    runner.invoke(args=["users", "create", "audited", "--password", "a-good-long-password",
                        "--role", "viewer", "--department", "police"])
    from inspect_app.audit.models import AuditEvent
    with app.app_context():
        actors = set(db.session.scalars(sa.select(AuditEvent.actor)))
    assert actors == {"cli"}


def test_registries_check(runner):
    result = runner.invoke(args=["registries", "check"])
    assert result.exit_code == 0 and "6 departments, 7 regions" in result.output


def test_prune_imports_keeps_recent_jobs(app, runner, make_user):
    from datetime import timedelta

    from inspect_app.registry.imports import ImportJob
    from inspect_app.util import now_utc
    make_user("desk.prune", roles=("registrar",), department="samr")
    now = now_utc()
    with app.app_context():
        from inspect_app.auth.models import User
        user_id = db.session.scalar(sa.select(User.id).where(User.username == "desk.prune"))
        rows = {"old_done": ("done", 100), "old_failed": ("failed", 95), "recent_done": ("done", 10),
                "recent_running": ("checking", 0), "dead_running": ("checking", 400)}
        for name, (status, days) in rows.items():
            at = now - timedelta(days=days)
            db.session.add(ImportJob(user_id=user_id, filename=f"{name}.csv", file_sha256="0" * 64, file_size=1,
                                     locale="zh_CN", status=status, errors=[], created_dt=at, updated_dt=at))
        db.session.commit()
    result = runner.invoke(args=["registries", "prune-imports", "--days", "90"])
    assert result.exit_code == 0, result.output
    assert "3 import record(s)" in result.output
    with app.app_context():
        left = set(db.session.scalars(sa.select(ImportJob.filename)))
    assert left == {"recent_done.csv", "recent_running.csv"}
    assert runner.invoke(args=["registries", "prune-imports", "--days", "0"]).exit_code != 0
