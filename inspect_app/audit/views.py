"""Reading and verifying the audit log."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, render_template, request

from ..auth.permissions import permission_required
from ..extensions import db
from .models import AuditEvent
from .services import verify_chain

bp = Blueprint("audit", __name__, url_prefix="/audit")
PER_PAGE = 50


@bp.route("/")
@permission_required("audit.view")
def events():
    query = sa.select(AuditEvent).order_by(AuditEvent.seq.desc())
    for arg, column in (("object_type", AuditEvent.object_type), ("object_id", AuditEvent.object_id),
                        ("actor", AuditEvent.actor), ("action", AuditEvent.action)):
        value = (request.args.get(arg) or "").strip()
        if value:
            query = query.where(column == value)
    page = max(request.args.get("page", 1, type=int), 1)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return render_template("audit/events.html", events=rows, total=total, page=page,
                           per_page=PER_PAGE, args=request.args)


@bp.route("/verify")
@permission_required("audit.view")
def verify():
    count, problem = verify_chain(db.session)
    return render_template("audit/verify.html", count=count, problem=problem)
