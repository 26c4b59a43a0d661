"""The floor for bench_api_auth: a bare Flask app answering a small JSON like ``/api/v1/auth/me``.

No database, no extensions, no authentication; served the same way as the product
(``gunicorn -w 2 --chdir bench bare_app:app``) so that the ratio measures only what the
product adds to a request.
"""
import os
from pathlib import Path

from flask import Flask, Response, abort, jsonify

app = Flask(__name__)
PAGES = Path(os.environ.get("BARE_PAGES_DIR", "/nonexistent"))
_pages: dict[str, bytes] = {}

ME = {
    "id": 1,
    "username": "benchuser",
    "full_name": "benchuser",
    "department": "hrss",
    "region_code": "140600",
    "roles": ["viewer"],
    "credential_number": None,
    "locale": None,
}


@app.get("/me")
def me():
    return jsonify(ME)


@app.get("/health")
def health():
    return jsonify({"status": "ok"})


@app.get("/page/<name>")
def page(name):
    """A stored JSON body (bench_list: each query's API page), read once: what HTTP, gunicorn and
    Flask cost to answer a page of that size with no database, no ORM and no authentication."""
    if name not in _pages:
        path = PAGES / f"{name}.json"
        if not name.isidentifier() or not path.is_file():
            abort(404)
        _pages[name] = path.read_bytes()
    return Response(_pages[name], mimetype="application/json")
