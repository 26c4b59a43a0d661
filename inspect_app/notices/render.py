"""Rendering a notice from its snapshot: plain JSON in, PDF bytes out.

No Flask, no database and no ORM objects here, so that batch workers (separate processes) render
exactly what a single issue renders. The templates in ``templates/pdf/`` are autoescaped: all user
text (names, facts, notes) reaches the PDF as text, never as markup. Images are ``data:`` URLs only
(the QR code, signatures, the seal), so the restricted fetcher of :mod:`inspect_app.pdf` refuses
anything else.
"""
from __future__ import annotations

import base64
import logging
import hashlib
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from ..config import PROJECT_ROOT
from ..pdf import RenderedPdf, render_pdf_info
from .fonts import check_fonts, check_rendered_fonts

TEMPLATE_DIR = PROJECT_ROOT / "templates" / "pdf"
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)  # one INFO line per layout step


def _paragraphs(text: str | None) -> Markup:
    """User text with its line breaks kept: each line a paragraph, every line escaped."""
    lines = [line.strip() for line in str(text or "").splitlines()]
    return Markup("").join(Markup("<p>{}</p>").format(line) for line in lines if line)


def _png_uri(data: str | bytes | None) -> str:
    if not data:
        return ""
    if isinstance(data, bytes):
        data = base64.b64encode(data).decode("ascii")
    return "data:image/png;base64," + data


def zh_date(value: str | None) -> str:
    """2026-11-30 -> 2026年11月30日 (GB/T 9704: Arabic numerals, no leading zeros)."""
    if not value:
        return ""
    year, month, day = str(value)[:10].split("-")
    return f"{int(year)}年{int(month)}月{int(day)}日"


def zh_datetime(value: str | None) -> str:
    """2026-11-30T09:05 (local time, as the snapshot keeps it) -> 2026年11月30日9时05分."""
    if not value:
        return ""
    text = str(value)
    if len(text) < 16:
        return zh_date(text)
    return f"{zh_date(text)}{int(text[11:13])}时{text[14:16]}分"


def cn_number(value: int) -> str:
    """60 -> 六十 (time limits are written in Chinese numerals in the documents)."""
    import cn2an
    return cn2an.an2cn(int(value))


def rmb_capitals(value: int) -> str:
    """30000 -> 叁万元整 (amounts in capitals, cn2an)."""
    import cn2an
    return cn2an.an2cn(int(value), "rmb")


def money(value: int) -> str:
    return f"{int(value):,}"


def qr_data_uri(url: str) -> str:
    import segno
    return segno.make(url, error="m").svg_data_uri(scale=4, border=0, dark="#000")


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATE_DIR)), autoescape=select_autoescape(["html"]),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["paragraphs"] = _paragraphs
    env.filters["png_uri"] = _png_uri
    env.filters.update(zh_date=zh_date, zh_dt=zh_datetime, cn=cn_number, rmb=rmb_capitals, money=money)
    env.globals["escape"] = escape
    return env


@lru_cache(maxsize=1)
def template_version() -> str:
    """SHA-256 over the PDF templates, kept in each snapshot: a later change of wording is visible."""
    digest = hashlib.sha256()
    for path in sorted(Path(TEMPLATE_DIR).glob("*.html")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def notice_html(snapshot: dict, assets: dict[str, bytes] | None = None) -> str:
    """The HTML of a notice: the snapshot and the images it names by SHA-256 (the seal)."""
    assets = assets or {}
    seal = snapshot.get("seal")
    seal_uri = _png_uri(assets.get(seal["sha256"])) if seal else ""
    if seal and not seal_uri:
        raise LookupError(f"seal image {seal['sha256']} missing for notice {snapshot.get('number')}")
    template = environment().get_template(f"{snapshot['type']}.html")
    return template.render(doc=snapshot, body=snapshot["body"], qr_uri=qr_data_uri(snapshot["verify"]["url"]),
                           seal_uri=seal_uri)


def render_notice(snapshot: dict, assets: dict[str, bytes] | None = None) -> RenderedPdf:
    """Check the fonts, render, and refuse a PDF rendered without the CJK serif."""
    check_fonts()
    rendered = render_pdf_info(notice_html(snapshot, assets))
    check_rendered_fonts(set(rendered.font_families))
    return rendered


def render_in_worker(job: tuple[int, dict, dict]) -> tuple[int, bytes, int, float]:
    """ProcessPoolExecutor entry point: (key, snapshot, assets) -> (key, pdf, page count, CPU seconds)."""
    import time
    key, snapshot, assets = job
    started = time.process_time()
    rendered = render_notice(snapshot, assets)
    return key, rendered.pdf, rendered.page_count, time.process_time() - started


def warm_up() -> None:
    """Worker initializer: load WeasyPrint, the fonts and the templates once, before the first job."""
    check_fonts()
    environment()
