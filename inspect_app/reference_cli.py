"""flask --app wsgi registries check | prune-imports"""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import with_appcontext


@click.group("registries", help="Reference data in registries/.")
def registries_cli():
    pass


@registries_cli.command("check")
@with_appcontext
def check_command():
    """Validate registries/ (the application already refuses to start on a bad file)."""
    ref = current_app.extensions["inspect_reference"]
    click.echo(f"{len(ref.departments)} departments, {len(ref.regions)} regions, "
               f"{len(ref.kinds)} kinds: valid")


@registries_cli.command("prune-imports")
@click.option("--days", type=click.IntRange(min=1), default=90, show_default=True,
              help="Keep the records of imports finished within this many days.")
@with_appcontext
def prune_imports_command(days: int):
    """Delete old import progress records (the imported entities and their audit trail stay). For cron."""
    from .extensions import db
    from .registry.imports import prune_jobs
    count = prune_jobs(days)
    db.session.commit()
    click.echo(f"{count} import record(s) older than {days} days deleted")
