"""flask --app wsgi checklists validate | versions

The group is also installed as a Flask plugin command (setup.cfg entry point), so that ``validate``
works when the application itself refuses to start because of the very file being checked.
"""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import ScriptInfo, with_appcontext

from ..config import ConfigError
from ..reference import ReferenceData, ReferenceDataError


@click.group("checklists", help="Checklists and the violation catalogue in checklists/.")
def checklists_cli():
    pass


def _fail(message: str) -> None:
    lines = str(message).splitlines()
    for line in lines:
        click.echo(line, err=True)
    click.echo(f"{len(lines)} problem(s) found", err=True)
    raise SystemExit(1)


@checklists_cli.command("validate")
@click.option("--checklists", "checklists_dir", type=click.Path(file_okay=False, path_type=Path),
              help="A checklists directory to check instead of the configured one (e.g. an edited copy).")
@click.option("--registries", "registries_dir", type=click.Path(file_okay=False, path_type=Path),
              help="The registries directory to check it against (default: the configured one).")
@click.pass_context
def validate_command(ctx, checklists_dir, registries_dir):
    """Check checklists/ against registries/: exit 1 and list every problem (file, item, field)."""
    from .loader import load_catalogue
    if checklists_dir is None or registries_dir is None:
        try:
            app = ctx.ensure_object(ScriptInfo).load_app()
        except (ReferenceDataError, ConfigError) as exc:
            _fail(str(exc))  # the application refuses to start: that is the answer
        checklists_dir = checklists_dir or Path(app.config["CHECKLISTS_DIR"])
        registries_dir = registries_dir or Path(app.config["REGISTRIES_DIR"])
    try:
        catalogue = load_catalogue(checklists_dir, ReferenceData(registries_dir))
    except ReferenceDataError as exc:
        _fail(str(exc))
    items = sum(len(c.items) for c in catalogue.checklists.values())
    unconfirmed = sum(c.unconfirmed_count for c in catalogue.checklists.values())
    click.echo(f"{len(catalogue.checklists)} checklists, {items} items ({unconfirmed} not verified), "
               f"{len(catalogue.violation_types)} violation types, {len(catalogue.laws)} laws, "
               f"{len(catalogue.parameters)} parameters: valid")


@checklists_cli.command("versions")
@with_appcontext
def versions_command():
    """The current version (SHA-256 of the content) of every checklist."""
    from .services import current_catalogue
    for checklist in current_catalogue().checklists.values():
        click.echo(f"{checklist.code}\t{checklist.version}\t{len(checklist.items)} items")
