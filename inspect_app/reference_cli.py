"""flask --app wsgi registries check"""
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
