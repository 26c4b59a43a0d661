"""The OpenAPI document, generated from the code, and a readable page of it (no CDN)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from ..auth.permissions import public

bp = Blueprint("api_docs", __name__)

METHODS = ("get", "post", "put", "patch", "delete")


def openapi_document() -> dict:
    return current_app.extensions["inspect_api"].spec.to_dict()


@bp.route("/api/v1/openapi.json")
@public
def openapi_json():
    return jsonify(openapi_document())


@bp.route("/api/docs")
@public
def api_page():
    spec = openapi_document()
    operations = []
    for path, item in sorted(spec.get("paths", {}).items()):
        for method in METHODS:
            if method in item:
                op = item[method]
                operations.append({"path": path, "method": method.upper(), "op": op,
                                   "is_public": op.get("security") == []})
    return render_template("api/docs.html", spec=spec, operations=operations)
