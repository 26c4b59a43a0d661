"""/api/v1/checklists and /api/v1/violation-types: the checklists and the catalogue over HTTP."""
from __future__ import annotations

from flask import current_app
from flask.views import MethodView
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_smorest import Blueprint
from marshmallow import Schema, fields

from ..api.schemas import PageArgsSchema, page_schema, page_slice
from ..auth.permissions import permission_required
from ..errors import ApiError
from .services import PinnedContentChanged, UnknownChecklist, checklist_at, current_catalogue

blp = Blueprint("api_checklists", __name__, url_prefix="/api/v1",
                description="Checklists and the violation catalogue, with their legal basis")


class CitationSchema(Schema):
    law = fields.String()
    law_name_zh = fields.String()
    law_name_en = fields.String()
    article = fields.String(allow_none=True)
    paragraph = fields.Integer(allow_none=True)
    item = fields.Integer(allow_none=True)
    display_zh = fields.String()
    display_en = fields.String()
    unconfirmed = fields.Boolean()
    note_zh = fields.String(allow_none=True)
    note_en = fields.String(allow_none=True)


class CrimeSchema(CitationSchema):
    name_zh = fields.String()
    name_en = fields.String()


class FineSchema(Schema):
    min = fields.Float()
    max = fields.Float()
    unit = fields.String(metadata={"description": "yuan, yuan_per_person, yuan_per_person_month, "
                                                  "multiple_of_illegal_income, multiple_of_advertising_fee"})
    when = fields.List(fields.String(), metadata={"description": "conditions that must all hold"})
    payer = fields.String()
    income_below = fields.Float(allow_none=True)


class MeasureSchema(Schema):
    type = fields.String()
    when = fields.List(fields.String())
    months_min = fields.Integer(allow_none=True)
    months_max = fields.Integer(allow_none=True)


class PenaltySchema(Schema):
    article = fields.Nested(CitationSchema, allow_none=True)
    text_zh = fields.String()
    text_en = fields.String()
    fines = fields.List(fields.Nested(FineSchema))
    measures = fields.List(fields.Nested(MeasureSchema))


class RectificationSchema(Schema):
    required = fields.Boolean()
    deadline_working_days = fields.Integer(allow_none=True)


class ReferralSchema(Schema):
    type = fields.String(metadata={"description": "criminal (to police within 24 h of approval) or case"})
    department = fields.String()
    mandatory = fields.Boolean()
    within_hours = fields.Integer(allow_none=True)
    crimes = fields.List(fields.Nested(CrimeSchema))
    basis = fields.List(fields.Nested(CitationSchema))
    when_zh = fields.String(allow_none=True)
    when_en = fields.String(allow_none=True)


class ViolationTypeSchema(Schema):
    code = fields.String()
    title = fields.String()
    title_zh = fields.String()
    title_en = fields.String()
    basis = fields.List(fields.Nested(CitationSchema))
    penalty = fields.Nested(PenaltySchema, allow_none=True)
    acting_department = fields.String()
    rectification = fields.Nested(RectificationSchema)
    referral = fields.Nested(ReferralSchema, allow_none=True)
    severity = fields.String()
    unconfirmed = fields.Boolean()
    unconfirmed_note_zh = fields.String(allow_none=True)
    unconfirmed_note_en = fields.String(allow_none=True)
    checklists = fields.List(fields.String())


class FailIfSchema(Schema):
    op = fields.String()
    value = fields.Float()
    parameter = fields.String(allow_none=True)


class RosterRuleSchema(Schema):
    under = fields.Integer()
    violation = fields.String()
    group = fields.String()


class RosterSchema(Schema):
    subject = fields.String()
    rules = fields.List(fields.Nested(RosterRuleSchema))
    counts_from = fields.String(allow_none=True)


class ItemSchema(Schema):
    code = fields.String(metadata={"description": "unique across checklists: <checklist>.<item>"})
    local_code = fields.String()
    question = fields.String()
    question_zh = fields.String()
    question_en = fields.String()
    answer_type = fields.String()
    fail_on = fields.String(allow_none=True)
    fail_if = fields.Nested(FailIfSchema, allow_none=True)
    unit = fields.String(allow_none=True)
    help_zh = fields.String()
    help_en = fields.String()
    basis = fields.List(fields.Nested(CitationSchema))
    violation = fields.String(allow_none=True)
    evidence_required = fields.Boolean()
    unconfirmed = fields.Boolean()
    unconfirmed_note_zh = fields.String(allow_none=True)
    unconfirmed_note_en = fields.String(allow_none=True)
    subtypes = fields.List(fields.String())
    roster = fields.Nested(RosterSchema, allow_none=True)


class ChecklistSummarySchema(Schema):
    code = fields.String()
    kind = fields.String(allow_none=True)
    department = fields.String(allow_none=True)
    joint = fields.Boolean()
    title = fields.String()
    title_zh = fields.String()
    title_en = fields.String()
    version = fields.String(metadata={"description": "SHA-256 of the checklist's canonical content"})
    item_count = fields.Integer()
    unconfirmed_count = fields.Integer()


class ParameterSchema(Schema):
    code = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    value = fields.Raw()
    value_from = fields.String(allow_none=True)
    unit = fields.String(allow_none=True)
    unconfirmed = fields.Boolean()
    note_zh = fields.String(allow_none=True)
    note_en = fields.String(allow_none=True)


class ChecklistDetailSchema(ChecklistSummarySchema):
    description_zh = fields.String()
    description_en = fields.String()
    current = fields.Boolean(metadata={"description": "false when a pinned older version was asked for"})
    items = fields.List(fields.Nested(ItemSchema))
    violation_types = fields.List(fields.Nested(ViolationTypeSchema))
    parameters = fields.List(fields.Nested(ParameterSchema))


class ChecklistArgsSchema(PageArgsSchema):
    kind = fields.String(metadata={"description": "a kind code: the checklists an inspection of it carries"})
    department = fields.String(metadata={"description": "an inspecting department (joint lists always match)"})


class ChecklistVersionArgsSchema(Schema):
    version = fields.String(metadata={"description": "a pinned version (default: the current one)"})


class ViolationTypeArgsSchema(PageArgsSchema):
    kind = fields.String(metadata={"description": "raised by the checklists of this kind"})
    department = fields.String(metadata={"description": "acted on (or referred to) by this department"})


def _locale() -> str:
    return str(get_locale())


def _check_filters(args: dict) -> None:
    reference = current_app.extensions["inspect_reference"]
    problems = {}
    if args.get("kind") and args["kind"] not in reference.kinds:
        problems["kind"] = [_("Unknown kind.")]
    if args.get("department") and args["department"] not in reference.departments:
        problems["department"] = [_("Unknown department.")]
    if problems:
        raise ApiError(422, _("Some fields are not valid."), fields=problems)


def summary(checklist) -> dict:
    return {"code": checklist.code, "kind": checklist.kind, "department": checklist.department,
            "joint": checklist.joint, "title": checklist.title(_locale()), "title_zh": checklist.title_zh,
            "title_en": checklist.title_en, "version": checklist.version, "item_count": len(checklist.items),
            "unconfirmed_count": checklist.unconfirmed_count}


def violation_dict(entry, checklists: list[str]) -> dict:
    return {**entry.to_dict(), "title": entry.title(_locale()), "checklists": checklists}


@blp.route("/checklists")
class Checklists(MethodView):
    @permission_required("checklists.view")
    @blp.arguments(ChecklistArgsSchema, location="query")
    @blp.response(200, page_schema(ChecklistSummarySchema, "ChecklistPage"))
    def get(self, args):
        """Checklists (checklists/*.yaml) with their current versions; filter by kind and department."""
        _check_filters(args)
        found = current_catalogue().select(args.get("kind"), args.get("department"))
        return page_slice([summary(c) for c in found], args)


@blp.route("/checklists/<code>")
class ChecklistDetail(MethodView):
    @permission_required("checklists.view")
    @blp.arguments(ChecklistVersionArgsSchema, location="query")
    @blp.response(200, ChecklistDetailSchema)
    def get(self, args, code):
        """One checklist with its items, their basis and the catalogue entries they raise.

        ``?version=`` returns a pinned version exactly as an inspection used it."""
        try:
            checklist = checklist_at(code, args.get("version"))
        except UnknownChecklist:
            raise ApiError(404, _("Not found.")) from None
        except PinnedContentChanged:
            current_app.logger.error("pinned checklist %s@%s no longer matches its hash", code, args.get("version"))
            raise ApiError(409, _("This pinned version was altered in the database."),
                           code="pinned_content_changed") from None
        locale = _locale()
        current = current_catalogue().checklists.get(code)
        return {**summary(checklist), "description_zh": checklist.description_zh,
                "description_en": checklist.description_en,
                "current": current is not None and current.version == checklist.version,
                "items": [{**item.to_dict(), "question": item.question(locale)} for item in checklist.items],
                "violation_types": [violation_dict(v, [checklist.code]) for v in checklist.violation_types.values()],
                "parameters": list(checklist.parameters.values())}


@blp.route("/violation-types")
class ViolationTypes(MethodView):
    @permission_required("checklists.view")
    @blp.arguments(ViolationTypeArgsSchema, location="query")
    @blp.response(200, page_schema(ViolationTypeSchema, "ViolationTypePage"))
    def get(self, args):
        """The violation catalogue: breached article, penalty article and range, acting department,
        order to rectify, mandatory referral; filter by kind and department."""
        _check_filters(args)
        catalogue = current_catalogue()
        found = catalogue.violation_types_for(args.get("kind"), args.get("department"))
        return page_slice([violation_dict(v, catalogue.checklists_using(v.code)) for v in found], args)


@blp.route("/violation-types/<code>")
class ViolationTypeDetail(MethodView):
    @permission_required("checklists.view")
    @blp.response(200, ViolationTypeSchema)
    def get(self, code):
        """One entry of the violation catalogue."""
        catalogue = current_catalogue()
        entry = catalogue.violation_types.get(code)
        if entry is None:
            raise ApiError(404, _("Not found."))
        return violation_dict(entry, catalogue.checklists_using(code))
