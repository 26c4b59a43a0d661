"""flask --app wsgi notices ...: the font check and the preview of every notice type as PNG pages."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from ..extensions import db


@click.group("notices")
def notices_cli():
    """Enforcement notices."""


@notices_cli.command("check-fonts")
def check_fonts_command():
    """Exit non-zero, naming the Debian package, when notices cannot be rendered correctly."""
    from .fonts import find_problems
    problems = find_problems()
    for problem in problems:
        click.echo(f"missing: {problem} (apt-get install {problem.package})", err=True)
    if problems:
        sys.exit(1)
    click.echo("fonts: Noto Serif CJK SC present, HarfBuzz subsetting available")


@notices_cli.command("preview")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="directory for the PNGs")
@click.option("--dpi", default=80, show_default=True, help="resolution of the PNG pages")
@click.option("--rerender", is_flag=True, help="render the snapshots with the current templates instead of "
                                               "writing the stored PDFs (layout work)")
@with_appcontext
def preview(out_dir: str, dpi: int, rerender: bool):
    """Write the latest issued notice of every type, and a PNG of each of its pages (pdftoppm)."""
    from .config import NOTICE_TYPES
    from .models import Notice
    from .services import read_pdf, rerender as render_again
    if shutil.which("pdftoppm") is None:
        raise click.ClickException("pdftoppm is missing: apt-get install poppler-utils")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    missing = []
    for notice_type in NOTICE_TYPES:
        notice = db.session.scalar(sa.select(Notice).where(Notice.type == notice_type, Notice.status == "issued")
                                   .order_by(Notice.id.desc()).limit(1))
        if notice is None:
            missing.append(notice_type)
            continue
        pdf_path = out / f"{notice_type}.pdf"
        for old in out.glob(f"{notice_type}-*.png"):
            old.unlink()
        pdf_path.write_bytes(render_again(notice).pdf if rerender else read_pdf(notice))
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf_path), str(out / notice_type)], check=True)
        pages = sorted(out.glob(f"{notice_type}-*.png"))
        click.echo(f"{notice_type:24} {notice.number:28} {len(pages)} page(s)")
    if missing:
        raise click.ClickException(f"no issued notice of type(s) {', '.join(missing)}: run `flask seed-demo` first")
