"""flask --app wsgi campaigns verify-draw ID"""
from __future__ import annotations

import json

import click
from flask.cli import with_appcontext

from ..extensions import db
from .draw import SeedMismatch, run_draw, sha256_hex
from .models import Campaign
from .services import verify_draw


@click.group("campaigns", help="Joint-operation campaigns.")
def campaigns_cli():
    pass


@campaigns_cli.command("verify-draw")
@click.argument("campaign_id", type=int, required=False)
@click.option("--record", "record_file", type=click.File("r", encoding="utf-8"),
              help="A published record (JSON) to re-compute without the database.")
@with_appcontext
def verify_draw_command(campaign_id, record_file):
    """Re-compute a draw from its published record; exit 1 when anything differs."""
    if record_file is not None:
        published = json.load(record_file)
        try:
            result = run_draw(published["record"], published["seed"])
        except SeedMismatch:
            click.echo("seed does not match the commitment", err=True)
            raise SystemExit(1)
        ok = sha256_hex(result) == published["result_hash"] and result == published["result"]
        click.echo(f"{'OK' if ok else 'MISMATCH'}: result hash {sha256_hex(result)}")
        raise SystemExit(0 if ok else 1)
    campaign = db.session.get(Campaign, campaign_id) if campaign_id else None
    if campaign is None or campaign.draw is None:
        raise click.ClickException("no such drawn campaign")
    outcome = verify_draw(campaign.draw)
    for problem in outcome["problems"]:
        click.echo(f"problem: {problem}", err=True)
    click.echo(f"{'OK' if outcome['ok'] else 'FAILED'}: campaign {campaign.id}, result hash "
               f"{outcome.get('result_hash')}")
    raise SystemExit(0 if outcome["ok"] else 1)
