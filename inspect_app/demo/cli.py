"""flask --app wsgi seed-demo: demonstration accounts (idempotent)."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..audit.services import set_actor
from ..auth.models import User
from ..auth.services import create_user
from ..extensions import db

DEMO_PASSWORD = "shuozhou-demo"

# (username, full name, roles, department, region, credential number)
DEMO_USERS = [
    ("admin", "系统管理员", ["admin"], "samr", "140600", None),
    ("planner", "联席办 王策划", ["planner"], "hrss", "140600", "14060001001"),
    ("viewer", "妇联 李观察", ["viewer"], "womens_federation", "140600", None),
    # 朔城区 (140602)
    ("registrar.sc", "张登记", ["registrar"], "samr", "140602", None),
    ("inspector.hrss.sc", "刘人社", ["inspector"], "hrss", "140602", "14060201001"),
    # the second hrss officer of 朔城区: a penalty is carried out by two (行政处罚法 Art 42)
    ("inspector2.hrss.sc", "马人社", ["inspector"], "hrss", "140602", "14060201004"),
    ("inspector.samr.sc", "陈市监", ["inspector"], "samr", "140602", "14060202001"),
    ("inspector.culture.sc", "赵文旅", ["inspector"], "culture", "140602", "14060203001"),
    ("supervisor.sc", "孙科长", ["supervisor"], "hrss", "140602", "14060201002"),
    ("police.sc", "周民警", ["police_liaison"], "police", "140602", "14060204001"),
    ("admin.sc", "钱管理", ["admin"], "samr", "140602", None),
    ("planner.sc", "杨策划", ["planner"], "hrss", "140602", "14060201003"),
    ("viewer.sc", "许观察", ["viewer"], "womens_federation", "140602", None),
    # 怀仁市 (140681)
    ("registrar.hr", "吴登记", ["registrar"], "samr", "140681", None),
    ("inspector.hrss.hr", "郑人社", ["inspector"], "hrss", "140681", "14068101001"),
    ("inspector.samr.hr", "冯市监", ["inspector"], "samr", "140681", "14068102001"),
    ("inspector.culture.hr", "褚文旅", ["inspector"], "culture", "140681", "14068103001"),
    ("supervisor.hr", "卫科长", ["supervisor"], "samr", "140681", "14068102002"),
    ("police.hr", "蒋民警", ["police_liaison"], "police", "140681", "14068104001"),
    ("admin.hr", "何管理", ["admin"], "samr", "140681", None),
    ("planner.hr", "韩策划", ["planner"], "samr", "140681", "14068102003"),
    ("viewer.hr", "曹观察", ["viewer"], "womens_federation", "140681", None),
]


def seed_demo_users() -> list[User]:
    """Create the demo accounts that do not exist yet; returns the ones created."""
    created = []
    existing = set(db.session.scalars(sa.select(User.username)))
    for username, full_name, roles, department, region, credential in DEMO_USERS:
        if username in existing:
            continue
        created.append(create_user({
            "username": username, "full_name": full_name, "roles": roles, "department_code": department,
            "region_code": region, "credential_number": credential, "password": DEMO_PASSWORD}))
    return created


def _echo_logins(usernames: set[str] | None = None) -> None:
    from .inspections import DEMO_PIN
    click.echo(f"demo logins (password for all: {DEMO_PASSWORD}; officers confirm on a colleague's tablet "
               f"with PIN {DEMO_PIN}):")
    for username, full_name, roles, department, region, _ in DEMO_USERS:
        if usernames is None or username in usernames:
            click.echo(f"  {username:22} {','.join(roles):15} {department:18} {region}  {full_name}")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True,
              help="Load nothing when the database already holds any account or entity (used by `make run`).")
@with_appcontext
def seed_demo(if_empty: bool):
    """Load demonstration data (safe to run again: existing records are kept)."""
    from flask import current_app

    from ..registry.models import Entity
    if if_empty:
        users = db.session.scalar(sa.select(sa.func.count()).select_from(User))
        entities = db.session.scalar(sa.select(sa.func.count()).select_from(Entity))
        if users or entities:
            click.echo(f"database not empty ({users} account(s), {entities} entities): demo data not loaded")
            demo_names = {u for u, *_ in DEMO_USERS}
            present = set(db.session.scalars(sa.select(User.username).where(User.username.in_(demo_names))))
            if present:
                _echo_logins(present)
            return

    from .registry import seed_demo_registry
    set_actor(db.session, None, "seed-demo")
    created = seed_demo_users()
    entities = seed_demo_registry(current_app.extensions["inspect_reference"])
    db.session.flush()
    from .planning import seed_demo_campaign
    campaign = seed_demo_campaign()
    from .inspections import seed_demo_inspections
    field = seed_demo_inspections()
    db.session.flush()
    from .cases import seed_demo_cases
    demo_cases = seed_demo_cases()
    cases = demo_cases.created
    db.session.flush()
    from .notices import seed_demo_notices
    notices = seed_demo_notices(demo_cases)
    db.session.commit()
    click.echo(f"demo data: {len(created)} account(s) created, {len(DEMO_USERS) - len(created)} already there; "
               f"{entities} entities created" + (f"; campaign {campaign.id} drawn" if campaign else "")
               + f"; {field['stops']} field inspection(s) planned"
               + (f", inspection {field['completed']} completed" if field["completed"] else "")
               + (f"; {cases} cases" if cases else "") + (f"; {notices} notices issued" if notices else ""))
    _echo_logins()
