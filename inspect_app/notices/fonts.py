"""Fonts for the notices: checked, never silently wrong.

A notice rendered without a CJK font is a page of empty boxes (or a DejaVu fallback), and without
HarfBuzz's subsetting library WeasyPrint embeds fonts through fontTools, taking seconds per page. Both
are checked at start-up (logged) and before every issue (refused, naming the Debian package to install),
and after rendering the fonts WeasyPrint actually used are compared with the CJK serif expected.
"""
from __future__ import annotations

import shutil
import subprocess
import threading

SERIF_FAMILY = "Noto Serif CJK SC"
SANS_FAMILY = "Noto Sans CJK SC"
FONT_PACKAGE = "fonts-noto-cjk"
SUBSET_PACKAGE = "libharfbuzz-subset0"
FONTCONFIG_PACKAGE = "fontconfig"


class FontProblem(RuntimeError):
    """The machine cannot render notices correctly; the message names what to install."""

    def __init__(self, message: str, package: str):
        super().__init__(message)
        self.package = package


_lock = threading.Lock()
_checked: list | None = None  # [problems] once checked in this process


def _families_with_chinese() -> set[str]:
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        raise FontProblem("fc-list (fontconfig) is missing: install the Debian package "
                          f"{FONTCONFIG_PACKAGE}", FONTCONFIG_PACKAGE)
    done = subprocess.run([fc_list, ":lang=zh-cn", "family"], capture_output=True, text=True, timeout=30)
    families = set()
    for line in done.stdout.splitlines():
        families.update(part.strip() for part in line.split(","))
    return families


def harfbuzz_subset_available() -> bool:
    """Whether WeasyPrint subsets fonts with HarfBuzz (it loads libharfbuzz-subset with allow_fail)."""
    from weasyprint.text import ffi
    return bool(ffi.harfbuzz_subset) and bool(ffi.harfbuzz.hb_version_atleast(4, 1, 0))


def find_problems() -> list[FontProblem]:
    problems = []
    try:
        families = _families_with_chinese()
    except FontProblem as exc:
        problems.append(exc)
    else:
        if SERIF_FAMILY not in families:
            problems.append(FontProblem(
                f"the CJK serif font {SERIF_FAMILY!r} is not installed (notices would print empty boxes): "
                f"install the Debian package {FONT_PACKAGE}", FONT_PACKAGE))
    if not harfbuzz_subset_available():
        problems.append(FontProblem(
            "HarfBuzz subsetting (libharfbuzz-subset.so.0) is not available, so WeasyPrint would embed the CJK "
            f"fonts through fontTools at seconds per page: install the Debian package {SUBSET_PACKAGE}",
            SUBSET_PACKAGE))
    return problems


def check_fonts(refresh: bool = False) -> None:
    """Raise the first :class:`FontProblem`; the answer is kept per process (fc-list costs ~20 ms)."""
    global _checked
    with _lock:
        if _checked is None or refresh:
            _checked = find_problems()
        problems = list(_checked)
    if problems:
        raise problems[0]


def check_rendered_fonts(families: set[str]) -> None:
    """After rendering: the CJK serif must be among the fonts WeasyPrint embedded."""
    if SERIF_FAMILY not in families:
        raise FontProblem(f"the notice was rendered without {SERIF_FAMILY!r} (fonts used: "
                          f"{', '.join(sorted(families)) or 'none'}): install the Debian package {FONT_PACKAGE}",
                          FONT_PACKAGE)


def init_app(app) -> None:
    """Log at start-up what is missing (checked once per process); issuing refuses later with the same message."""
    try:
        check_fonts()
    except FontProblem as exc:
        app.logger.error("notices cannot be issued: %s", exc)
