"""/api/v1/inspector-conflicts and /api/v1/inspector-leave: what the next draws must respect.

Declared conflicts (relatives, former employers ...) and leave are read when a campaign's seed
commitment is recorded (they are frozen into its record then); a change afterwards concerns
later campaigns and cause-based teams only."""
from __future__ import annotations

import sqlalchemy as sa
from flask.views import MethodView
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields

from ..api.schemas import PageArgsSchema, page_schema, paginate
from ..auth.permissions import permission_required
from ..errors import ApiError
from ..extensions import db
from .models import InspectorConflict, InspectorLeave
from .services import add_conflict, add_leave

blp = Blueprint("api_recusal", __name__, url_prefix="/api/v1", description="Inspectors' declared conflicts and leave")


class ConflictInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    user_id = fields.Raw(required=True)
    entity_id = fields.Raw(load_default=None)
    legal_representative = fields.String(load_default=None, allow_none=True)
    reason = fields.String(required=True)


class ConflictSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    entity_id = fields.Integer(allow_none=True)
    legal_representative = fields.String(allow_none=True)
    reason = fields.String()
    created_at = fields.DateTime(attribute="created_dt")


class LeaveInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    user_id = fields.Raw(required=True)
    start_date = fields.Raw(required=True)
    end_date = fields.Raw(required=True)
    note = fields.String(load_default=None, allow_none=True)


class LeaveSchema(Schema):
    id = fields.Integer()
    user_id = fields.Integer()
    start_date = fields.Date()
    end_date = fields.Date()
    note = fields.String(allow_none=True)


class UserFilterSchema(PageArgsSchema):
    user_id = fields.Integer()


def _get_or_404(model, item_id: int):
    found = db.session.get(model, item_id)
    if found is None:
        raise ApiError(404, _("Not found."))
    return found


@blp.route("/inspector-conflicts")
class Conflicts(MethodView):
    @permission_required("campaigns.plan")
    @blp.arguments(UserFilterSchema, location="query")
    @blp.response(200, page_schema(ConflictSchema, "ConflictPage"))
    def get(self, args):
        """Declared conflicts, newest first (``user_id`` filters)."""
        stmt = sa.select(InspectorConflict).order_by(InspectorConflict.id.desc())
        if args.get("user_id"):
            stmt = stmt.where(InspectorConflict.user_id == args["user_id"])
        return paginate(db.session, stmt, args)

    @permission_required("campaigns.plan")
    @blp.arguments(ConflictInputSchema)
    @blp.response(201, ConflictSchema)
    def post(self, data):
        """Declare a conflict: an inspector with a business (``entity_id``) or a legal representative's name."""
        return add_conflict(data)


@blp.route("/inspector-conflicts/<int:conflict_id>")
class ConflictItem(MethodView):
    @permission_required("campaigns.plan")
    @blp.response(204)
    def delete(self, conflict_id):
        """Withdraw a declared conflict (audited)."""
        db.session.delete(_get_or_404(InspectorConflict, conflict_id))
        db.session.flush()


@blp.route("/inspector-leave")
class Leaves(MethodView):
    @permission_required("campaigns.plan")
    @blp.arguments(UserFilterSchema, location="query")
    @blp.response(200, page_schema(LeaveSchema, "LeavePage"))
    def get(self, args):
        """Leave, latest first (``user_id`` filters)."""
        stmt = sa.select(InspectorLeave).order_by(InspectorLeave.start_date.desc(), InspectorLeave.id.desc())
        if args.get("user_id"):
            stmt = stmt.where(InspectorLeave.user_id == args["user_id"])
        return paginate(db.session, stmt, args)

    @permission_required("campaigns.plan")
    @blp.arguments(LeaveInputSchema)
    @blp.response(201, LeaveSchema)
    def post(self, data):
        """Record an inspector's leave (both days included)."""
        return add_leave(data)


@blp.route("/inspector-leave/<int:leave_id>")
class LeaveItem(MethodView):
    @permission_required("campaigns.plan")
    @blp.response(204)
    def delete(self, leave_id):
        """Cancel a leave record (audited)."""
        db.session.delete(_get_or_404(InspectorLeave, leave_id))
        db.session.flush()
