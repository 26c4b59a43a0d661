"""flask --app wsgi users ..."""
from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..audit.services import set_actor
from ..errors import InvalidData
from ..extensions import db
from .models import User
from .permissions import ROLES
from .services import create_user, normalise_username, update_user


@click.group("users", help="Accounts.")
def users_cli():
    pass


OPTION_OF_FIELD = {"department_code": "--department", "region_code": "--region", "roles": "--role",
                   "credential_number": "--credential", "full_name": "--full-name", "username": "USERNAME"}


def _fail(exc: InvalidData) -> None:
    for field, messages in exc.fields.items():
        for message in messages:
            click.echo(f"error: {OPTION_OF_FIELD.get(field, '--' + field)}: {message}", err=True)
    raise SystemExit(2)


@users_cli.command("create")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="At least 10 characters; prompted when omitted.")
@click.option("--role", "roles", multiple=True, required=True, type=click.Choice(sorted(ROLES)),
              help="Repeat for several roles.")
@click.option("--department", required=True, help="Department code, e.g. hrss, samr, culture.")
@click.option("--region", default=None, help="GB/T 2260 code of the county; the whole city when omitted.")
@click.option("--full-name", default=None)
@click.option("--credential", default=None, help="Enforcement credential number (执法证号).")
@with_appcontext
def create_command(username, password, roles, department, region, full_name, credential):
    """Create an account."""
    from flask import current_app
    set_actor(db.session, None, "cli")
    region = region or current_app.extensions["inspect_reference"].city.code
    try:
        user = create_user({"username": username, "password": password, "roles": list(roles),
                            "department_code": department, "region_code": region,
                            "full_name": full_name or username, "credential_number": credential})
    except InvalidData as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"created user {user.username} (id {user.id}): roles {', '.join(user.roles)}, "
               f"department {user.department_code}, region {user.region_code}")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def set_password_command(username, password):
    """Set a new password (ends the account's sessions and tokens)."""
    set_actor(db.session, None, "cli")
    user = db.session.scalar(sa.select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    try:
        update_user(user, {"password": password})
    except InvalidData as exc:
        _fail(exc)
    db.session.commit()
    click.echo(f"password changed for {user.username}")


@users_cli.command("deactivate")
@click.argument("username")
@with_appcontext
def deactivate_command(username):
    """Deactivate an account (accounts are never deleted: the audit log refers to them)."""
    set_actor(db.session, None, "cli")
    user = db.session.scalar(sa.select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise click.ClickException(f"no user {username!r}")
    update_user(user, {"is_active": False})
    db.session.commit()
    click.echo(f"deactivated {user.username}")


@users_cli.command("list")
@with_appcontext
def list_command():
    """List accounts."""
    for user in db.session.scalars(sa.select(User).order_by(User.username)):
        state = "active" if user.is_active else "inactive"
        click.echo(f"{user.username:24} {','.join(user.roles):28} {user.department_code:18} "
                   f"{user.region_code} {state}")
