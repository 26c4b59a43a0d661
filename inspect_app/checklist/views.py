"""Pages: browse the checklists and the violation catalogue by kind and department, with their basis."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request
from flask_babel import get_locale

from ..auth.permissions import permission_required
from . import catalogue as labels
from .services import PinnedContentChanged, UnknownChecklist, checklist_at, current_catalogue, pinned_versions

bp = Blueprint("checklist", __name__, url_prefix="/checklists")


def _ref():
    return current_app.extensions["inspect_reference"]


def _filters() -> dict:
    """kind and department from the query string; unknown codes are ignored (show everything)."""
    ref = _ref()
    kind = request.args.get("kind") or None
    department = request.args.get("department") or None
    return {"kind": kind if kind in ref.kinds else None,
            "department": department if department in ref.departments else None}


def _context(**extra) -> dict:
    return {"labels": labels, "en": str(get_locale()).startswith("en"), "kinds": _ref().kinds,
            "departments": _ref().departments, **extra}


@bp.route("/")
@permission_required("checklists.view")
def index():
    filters = _filters()
    catalogue = current_catalogue()
    found = catalogue.select(filters["kind"], filters["department"])
    inspecting = [d for d in _ref().departments.values() if d.inspects]
    return render_template("checklist/index.html", **_context(
        checklists=found, filters=filters, inspecting=inspecting,
        violation_count=len(catalogue.violation_types_for(filters["kind"], None))))


@bp.route("/violation-types")
@permission_required("checklists.view")
def violation_types():
    filters = _filters()
    catalogue = current_catalogue()
    found = catalogue.violation_types_for(filters["kind"], filters["department"])
    return render_template("checklist/violation_types.html", **_context(
        entries=found, filters=filters, using={v.code: catalogue.checklists_using(v.code) for v in found}))


@bp.route("/violation-types/<code>")
@permission_required("checklists.view")
def violation_type(code: str):
    catalogue = current_catalogue()
    entry = catalogue.violation_types.get(code)
    if entry is None:
        abort(404)
    return render_template("checklist/violation_type.html", **_context(
        entry=entry, using=[catalogue.checklists[c] for c in catalogue.checklists_using(code)]))


@bp.route("/<code>")
@permission_required("checklists.view")
def detail(code: str):
    version = request.args.get("version") or None
    try:
        checklist = checklist_at(code, version)
    except UnknownChecklist:
        abort(404)
    except PinnedContentChanged:
        current_app.logger.error("pinned checklist %s@%s no longer matches its hash", code, version)
        abort(409)
    current = current_catalogue().checklists.get(code)
    return render_template("checklist/detail.html", **_context(
        checklist=checklist, current=current, is_current=current is not None and current.version == checklist.version,
        pinned=pinned_versions(code)))
