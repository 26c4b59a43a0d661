"""flask --app wsgi audit verify"""
from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..extensions import db
from .services import verify_chain


@click.group("audit", help="The hash-chained audit log.")
def audit_cli():
    pass


@audit_cli.command("verify")
@with_appcontext
def verify_command():
    """Re-compute the chain; exit 1 and name the first bad event if any row was edited or deleted."""
    count, problem = verify_chain(db.session)
    if problem is not None:
        click.echo(f"audit chain BROKEN after {count} good event(s): {problem}", err=True)
        raise SystemExit(1)
    click.echo(f"audit chain intact: {count} event(s)")
