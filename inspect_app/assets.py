"""Versioned static URLs: ``url_for('static', filename=...)`` carries ``?v=<content hash>``.

A changed file gets a new URL, so the tablets' service worker (``static/js/field-sw.js``) can serve
static files cache-first without ever showing an old script to a new page.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import Flask, current_app

# (path, mtime_ns, size) -> short SHA-256 of the content: a file is hashed again only when it changes
_HASHES: dict[tuple[str, int, int], str] = {}


def file_version(path: Path) -> str | None:
    """The first 12 hex digits of the file's SHA-256, or None when there is no such file."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    found = _HASHES.get(key)
    if found is None:
        found = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:12]
        _HASHES[key] = found
    return found


def static_version(filename: str) -> str | None:
    """The version of a file under the application's static folder (None outside it or when missing)."""
    folder = Path(current_app.static_folder).resolve()
    path = (folder / filename).resolve()
    if folder not in path.parents:
        return None
    return file_version(path)


def _version_static_urls(endpoint: str, values: dict) -> None:
    if endpoint == "static" and "filename" in values and "v" not in values:
        version = static_version(values["filename"])
        if version:
            values["v"] = version


def init_assets(app: Flask) -> None:
    app.url_defaults(_version_static_urls)
