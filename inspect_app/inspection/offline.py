"""Offline copies of the field pages: what the tablets' service worker (static/js/field-sw.js) keeps.

The worker is served as ``/field-sw.js`` (its scope is the whole site; it leaves alone everything but the
field pages and their static files). This module gives it its settings: the field pages' static files with
their versioned URLs, the paths of the pages it may keep, and a version that changes with any of them, so
that a deployment installs a new worker.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from flask import current_app, request, url_for

# What the field pages load (templates/base.html, inspection/_layout.html, inspection/today.html)
FIELD_ASSETS = ("css/app.css", "css/field.css", "js/app.js", "js/field-queue.js", "js/field.js",
                "icons/favicon.svg")
# The steps of a workspace a copy is kept of, in the order the tablet takes them
OPEN_STEPS = ("workspace", "start", "check_in", "checklist", "violations", "sign", "complete")
DONE_STEPS = ("workspace", "record")
# The pages the worker may keep (network-first, with a copy for offline use)
PAGE_ENDPOINTS = ("inspection.today", "inspection.workspace", "inspection.start", "inspection.check_in",
                  "inspection.checklist", "inspection.violations", "inspection.sign", "inspection.complete",
                  "inspection.record")
SCRIPT = Path(__file__).resolve().parent.parent / "static" / "js" / "field-sw.js"


def page_patterns() -> list[str]:
    """The paths of the field pages as JavaScript regular expressions, from the URL map."""
    patterns = []
    for rule in current_app.url_map.iter_rules():
        if rule.endpoint in PAGE_ENDPOINTS:
            parts = re.split(r"(<[^>]+>)", rule.rule)
            body = "".join(r"\d+" if part.startswith("<int:") else "[^/]+" if part.startswith("<")
                           else re.escape(part) for part in parts)
            patterns.append(f"^{re.escape(request.script_root)}{body}$")
    return sorted(set(patterns))


def worker_script() -> str:
    """The worker: its settings, then static/js/field-sw.js."""
    source = SCRIPT.read_text(encoding="utf-8")
    settings = {
        "assets": [url_for("static", filename=name) for name in FIELD_ASSETS],
        "pages": page_patterns(),
        "login": url_for("auth.login"),
        "logout": url_for("auth.logout"),
    }
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode() + source.encode()).hexdigest()[:12]
    settings = {"version": digest, **settings}
    return f"self.FIELD_SW = {json.dumps(settings, sort_keys=True)};\n{source}"


def offline_pages(inspections) -> list[str]:
    """The pages /today asks the worker to keep: itself and each step of each of the day's inspections."""
    urls = [url_for("inspection.today")]
    for inspection in inspections:
        steps = DONE_STEPS if inspection.is_completed else OPEN_STEPS
        urls.extend(url_for(f"inspection.{step}", inspection_id=inspection.id) for step in steps)
    return urls
