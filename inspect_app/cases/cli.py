"""flask --app wsgi cases tick [--date YYYY-MM-DD]: the daily job (cron), safe to run again."""
from __future__ import annotations

import json
from datetime import date

import click
from flask.cli import with_appcontext

from ..audit.services import set_actor
from ..extensions import db
from .services import tick


@click.group("cases", help="Cases and their statutory clocks.")
def cases_cli():
    pass


@cases_cli.command("tick")
@click.option("--date", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Run as of this day (default: today in the deployment's time zone).")
@with_appcontext
def tick_command(day):
    """Schedule a re-inspection for every case whose rectification deadline has passed (idempotent)."""
    set_actor(db.session, None, "cases-tick")
    result = tick(day.date() if day else None)
    db.session.commit()
    click.echo(json.dumps(result, ensure_ascii=False, default=lambda v: v.isoformat() if isinstance(v, date) else v))
    if result["problems"]:
        raise SystemExit(1)
