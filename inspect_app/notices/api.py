"""/api/v1/notices and /api/v1/verify (design.md 4.2).

``POST /api/v1/notices {"type", "inspection_id" | "case_id"}`` -> ``{"id", "number", "sha256", "pdf_url",
"verify_url", ...}``; a resend with the same ``Idempotency-Key`` returns the first notice and takes no number.
"""
from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, request, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from ..api.schemas import PageArgsSchema, page_schema, paginate
from ..auth.permissions import permission_required, public
from ..errors import ApiError, InvalidData
from ..extensions import db
from .config import NOTICE_TYPES
from .fonts import FontProblem
from .models import Notice
from .services import NoticeConflict, check_upload, find_by_token, issue_notice, public_view, void_notice
from .views import (authorize_issue, load_case, load_notice, notice_pdf, restricted_clause,
                    verify_upload_limit)

blp = Blueprint("api_notices", __name__, url_prefix="/api/v1", description="Enforcement notices and verification")


class NoticeInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True, validate=validate.OneOf(list(NOTICE_TYPES)))
    inspection_id = fields.Integer(load_default=None, allow_none=True)
    case_id = fields.Integer(load_default=None, allow_none=True)
    notice_ids = fields.List(fields.Integer(), load_default=None, allow_none=True)  # service_receipt: what is served
    replaces_id = fields.Integer(load_default=None, allow_none=True)


class NoticeSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    title = fields.String()
    number = fields.String()
    status = fields.String()
    department = fields.String()
    year = fields.Integer()
    seq = fields.Integer()
    inspection_id = fields.Integer(allow_none=True)
    case_id = fields.Integer(allow_none=True)
    entity_id = fields.Integer()
    party = fields.String(attribute="party_name")
    sha256 = fields.String(attribute="pdf_sha256")
    size = fields.Integer(attribute="pdf_size")
    pages = fields.Integer(attribute="page_count")
    short_code = fields.String()
    issued_at = fields.DateTime(attribute="issued_dt")
    voided_at = fields.DateTime(attribute="voided_dt", allow_none=True)
    void_reason = fields.String(allow_none=True)
    replaces_id = fields.Integer(allow_none=True)
    pdf_url = fields.Function(lambda n: url_for("api_notices.NoticePdf", notice_id=n.id, _external=True))
    verify_url = fields.Function(lambda n: n.snapshot["verify"]["url"])


class NoticeListArgsSchema(PageArgsSchema):
    type = fields.String(load_default=None, validate=validate.OneOf(list(NOTICE_TYPES)))
    status = fields.String(load_default=None, validate=validate.OneOf(["issued", "void"]))
    inspection_id = fields.Integer(load_default=None)
    case_id = fields.Integer(load_default=None)
    entity_id = fields.Integer(load_default=None)


class VoidSchema(Schema):
    reason = fields.String(required=True)


class NoticeVerifySchema(Schema):
    type = fields.String()
    title = fields.String()
    number = fields.String()
    status = fields.String()
    party = fields.String()
    issued_on = fields.String()
    department = fields.String()
    department_code = fields.String()
    sha256 = fields.String()
    pages = fields.Integer()
    size = fields.Integer()
    voided_on = fields.String(allow_none=True)


class NoticeVerifyResultSchema(Schema):
    genuine = fields.Boolean()
    void = fields.Boolean()
    uploaded_sha256 = fields.String()
    expected_sha256 = fields.String()
    notice = fields.Nested(NoticeVerifySchema)


def _issue_errors(call):
    try:
        return call()
    except FontProblem as exc:
        raise ApiError(503, _("Notices cannot be issued on this server: %(problem)s", problem=str(exc)),
                       code="fonts_missing") from None
    except NoticeConflict as exc:
        raise ApiError(409, exc.message, code="notice_exists" if exc.existing and exc.existing.status == "issued"
                       else "conflict") from None


@blp.route("/notices")
class Notices(MethodView):
    @permission_required("notices.issue")
    @blp.arguments(NoticeInputSchema)
    @blp.response(201, NoticeSchema)
    @blp.alt_response(409, description="Already issued for this inspection or case")
    @blp.alt_response(503, description="The CJK font or HarfBuzz subsetting is missing on the server")
    def post(self, data):
        """Issue a notice: number, frozen snapshot, PDF with its SHA-256 and verification link."""
        from ..inspection.models import Inspection
        inspection = case = None
        if data["case_id"] is not None:
            case = load_case(data["case_id"])
            if case is None:
                raise InvalidData({"case_id": [_("No such case.")]})
        elif data["inspection_id"] is not None:
            inspection = db.session.get(Inspection, data["inspection_id"])
            if inspection is None:
                raise InvalidData({"inspection_id": [_("No such inspection.")]})
        else:
            raise InvalidData({"inspection_id": [_("Give either an inspection or a case.")]})
        authorize_issue(inspection=inspection, case=case, notice_type=data["type"])
        replaces = load_notice(data["replaces_id"]) if data["replaces_id"] else None
        # the department: the user's for an inspection, the case's (issuing_department) for a case
        return _issue_errors(lambda: issue_notice(
            data["type"], current_user, inspection=inspection, case=case, notice_ids=data["notice_ids"],
            replaces=replaces))

    @permission_required("notices.view")
    @blp.arguments(NoticeListArgsSchema, location="query")
    @blp.response(200, page_schema(NoticeSchema, "NoticePage"))
    def get(self, args):
        """Notices in the user's county, newest first."""
        reference = current_app.extensions["inspect_reference"]
        stmt = (sa.select(Notice).where(restricted_clause(current_user))
                .order_by(Notice.issued_dt.desc(), Notice.id.desc()))
        if current_user.region_code != reference.city.code:
            stmt = stmt.where(Notice.region_code == current_user.region_code)
        for key, column in (("type", Notice.type), ("status", Notice.status), ("inspection_id", Notice.inspection_id),
                            ("case_id", Notice.case_id), ("entity_id", Notice.entity_id)):
            if args.get(key) is not None:
                stmt = stmt.where(column == args[key])
        return paginate(db.session, stmt, args)


@blp.route("/notices/<int:notice_id>")
class NoticeItem(MethodView):
    @permission_required("notices.view")
    @blp.response(200, NoticeSchema)
    def get(self, notice_id):
        """A notice."""
        return load_notice(notice_id)


@blp.route("/notices/<int:notice_id>/pdf")
class NoticePdf(MethodView):
    @permission_required("notices.view")
    @blp.response(200, description="The PDF exactly as issued (ETag: its SHA-256)",
                  content_type="application/pdf")
    def get(self, notice_id):
        """The issued PDF: the same bytes on every download."""
        return notice_pdf(load_notice(notice_id))


@blp.route("/notices/<int:notice_id>/void")
class NoticeVoid(MethodView):
    @permission_required("notices.void")
    @blp.arguments(VoidSchema)
    @blp.response(200, NoticeSchema)
    @blp.alt_response(409, description="Already void")
    def post(self, data, notice_id):
        """Void a notice; its number stays recorded as void and is never given again."""
        notice = load_notice(notice_id, "notices.void")
        return _issue_errors(lambda: void_notice(notice, current_user, data["reason"]))


@blp.route("/verify/<token>")
class Verify(MethodView):
    @public
    @blp.response(200, NoticeVerifySchema)
    def get(self, token):
        """Public: what the notice behind a verification token is (no personal data)."""
        notice = find_by_token(token)
        if notice is None:
            raise ApiError(404, _("Not found."))
        return public_view(notice)

    @public
    @blp.response(200, NoticeVerifyResultSchema)
    def post(self, token):
        """Public: upload a PDF (multipart ``file``) and learn whether it is the genuine notice."""
        with verify_upload_limit():
            notice = find_by_token(token)
        if notice is None:
            raise ApiError(404, _("Not found."))
        upload = request.files.get("file")
        if upload is None:
            raise InvalidData({"file": [_("Choose the PDF file to check.")]})
        result = check_upload(notice, upload.stream)
        return {**result, "notice": public_view(notice)}
