"""HTML to PDF with WeasyPrint, fetching nothing from outside (Indico's pattern)."""
from __future__ import annotations

from dataclasses import dataclass

from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher


class RestrictedFetcher(URLFetcher):
    """Only inline ``data:`` URLs. Anything else (file://, http) stops the rendering rather than
    leaving a silently missing image or stylesheet in a document."""

    def __init__(self):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=True)

    def fetch(self, url, headers=None):
        if not url.startswith("data:"):
            raise FatalURLFetchingError(f"refused to fetch {url!r} while rendering a PDF")
        return super().fetch(url, headers)


@dataclass(frozen=True)
class RenderedPdf:
    pdf: bytes
    page_count: int
    font_families: frozenset[str]  # the fonts WeasyPrint embedded (to catch a silent fallback)


def render_pdf_info(html: str) -> RenderedPdf:
    """Render and report the page count and the font families actually embedded."""
    document = HTML(string=html, url_fetcher=RestrictedFetcher(), base_url="about:blank").render()
    pdf = document.write_pdf()
    return RenderedPdf(pdf, len(document.pages), frozenset(font.family for font in document.fonts.values()))


def render_pdf(html: str) -> bytes:
    return HTML(string=html, url_fetcher=RestrictedFetcher(), base_url="about:blank").write_pdf()
