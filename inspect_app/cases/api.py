"""/api/v1/cases, /api/v1/referrals and /api/v1/tipoffs (design.md 4.2)."""
from __future__ import annotations

from flask import jsonify, request
from flask.views import MethodView
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_smorest import Blueprint
from marshmallow import EXCLUDE, Schema, fields, validate

from ..api.idempotency import never_stored
from ..api.schemas import PageArgsSchema, page_schema, paginate
from ..auth.permissions import authorize, can, login_required, permission_required, public
from ..errors import ApiError, InvalidData
from ..extensions import db, limiter
from ..inspection.models import REFERRAL_STATUSES, Referral
from ..inspection.services import violation_type_for
from ..registry.models import Entity
from . import referrals as referral_services
from . import tipoffs as tipoff_services
from .clocks import (awaiting_service, case_clocks, horizon_for, late_fee, local_today, payment_terms, scoped_cases,
                     service_due)
from .models import CASE_STATUSES, SERVICE_MANNERS, Case
from .penalty import case_range
from .services import (STATUS_LABELS, TRANSITIONS, CaseStateError, IllegalCaseTransition, extend_decision,
                       extend_investigation, keep_refusal, officers_missing, propose_penalty, record_decision_service,
                       set_case_officers, transition, transition_permission, valid_officers)
from .tipoff_views import check_request_size, status_limit, submit_limit

blp = Blueprint("api_cases", __name__, url_prefix="/api/v1/cases", description="Cases and their clocks")
referrals_blp = Blueprint("api_referrals", __name__, url_prefix="/api/v1/referrals",
                          description="Referrals to the police and other departments")
tipoffs_blp = Blueprint("api_tipoffs", __name__, url_prefix="/api/v1/tipoffs", description="Tip-offs (public)")


def _locale() -> str:
    return str(get_locale() or "zh_CN")


# --------------------------------------------------------------------------------------------
# Cases

def _violation(v, case) -> dict:
    vtype = violation_type_for(v)
    hidden = v.restricted and not can(current_user, "cases.manage", case)
    return {"id": v.id, "type_code": v.type_code, "title": vtype.title(_locale()) if vtype else v.type_code,
            "item_code": v.item_code, "acting_department": v.acting_department, "severity": v.severity,
            "description": None if hidden else v.description, "quantities": v.quantities, "criminal": v.criminal,
            "restricted": v.restricted, "status": v.status, "inspection_id": v.inspection_id}


def _dump(schema, value):
    return None if value is None else schema().dump(value)


def case_clock_rows(case) -> list[dict]:
    today = local_today()
    horizon = horizon_for(today)
    return [{"code": c.code, "label": c.label, "due_on": c.due_on, "due_dt": c.due_dt, "basis": c.basis,
             "state": c.state(today, horizon)} for c in case_clocks(case)]


class ClockSchema(Schema):
    code = fields.String()
    label = fields.String()
    due_on = fields.Date()
    due_dt = fields.DateTime(allow_none=True)
    basis = fields.String()
    state = fields.String(metadata={"description": "overdue | due_soon | running"})


class CaseEventSchema(Schema):
    id = fields.Integer()
    from_status = fields.String(allow_none=True)
    to_status = fields.String()
    reason = fields.String()
    data = fields.Dict(allow_none=True)
    actor_id = fields.Integer(allow_none=True)
    created_dt = fields.DateTime()


class PenaltySchema(Schema):
    min = fields.Integer(attribute="penalty_min", allow_none=True)
    max = fields.Integer(attribute="penalty_max", allow_none=True)
    amount = fields.Integer(attribute="penalty_amount", allow_none=True)
    proposed_amount = fields.Integer(allow_none=True)
    reason = fields.String(attribute="penalty_reason", allow_none=True)
    adjustment = fields.String(attribute="penalty_adjustment", allow_none=True)
    measures = fields.List(fields.String(), attribute="penalty_measures", allow_none=True)
    serious = fields.Boolean(attribute="penalty_serious")
    party_type = fields.String()
    inputs = fields.Dict(attribute="penalty_inputs", allow_none=True)
    notice_served_on = fields.Date(allow_none=True)
    hearing_offered = fields.Boolean()
    reply_deadline = fields.Date(allow_none=True)
    hearing_requested_on = fields.Date(allow_none=True)
    hearing_held_on = fields.Date(allow_none=True)


class PaymentTermsSchema(Schema):
    days = fields.Integer(metadata={"description": "calendar days to pay (行政处罚法 Art 67)"})
    counted_from = fields.String(metadata={"description": "service (the day the decision was served) | decision "
                                                          "(cases decided before service was recorded)"})
    served_on = fields.Date(allow_none=True)
    due_on = fields.Date(allow_none=True, metadata={"description": "null until the decision is served"})
    text = fields.String()
    basis = fields.String()


class LateFeeSchema(Schema):
    days_overdue = fields.Integer()
    percent_per_day = fields.Integer()
    fine = fields.Integer(metadata={"description": "the fine, yuan: also the cap of the late fee"})
    start = fields.Date(data_key="from", attribute="from", metadata={"description": "first day counted"})
    until = fields.Date(metadata={"description": "today, or the day paid"})
    paid = fields.Boolean()
    amount_fen = fields.Integer()
    amount = fields.String(metadata={"description": "yuan with two decimals, exact"})
    capped = fields.Boolean(metadata={"description": "the late fee has reached the fine (Art 72: at most the fine)"})
    basis = fields.String()


def _officers(case) -> list[dict]:
    valid = {u.id for u in valid_officers(case)}
    return [{"user_id": u.id, "name": u.full_name, "department": u.department_code,
             "credential_number": u.credential_number, "may_act": u.id in valid} for u in case.handling_officers]


def _officers_missing(case):
    missing = officers_missing(case)
    return None if missing is None else str(missing)


class CaseSchema(Schema):
    id = fields.Integer()
    entity_id = fields.Integer()
    entity_name = fields.Function(lambda c: c.entity.name)
    region_code = fields.String()
    acting_department = fields.String()
    handling_department = fields.String()
    inspection_id = fields.Integer(allow_none=True)
    status = fields.String()
    status_label = fields.Function(lambda c: str(STATUS_LABELS[c.status]))
    opened_dt = fields.DateTime()
    filed_on = fields.Date()
    violations = fields.Function(lambda c: [_violation(v, c) for v in c.violations])
    handling_officers = fields.Function(_officers, metadata={
        "description": "承办人员: the handling department's officers named on the penalty documents and the order "
                       "to rectify; may_act is false for one who may no longer act (deactivated, moved ...)"})
    officers_missing = fields.Function(_officers_missing, metadata={
        "description": "null, or why the case needs another officer before a penalty (行政处罚法 Art 42)"})
    rectification_ordered_on = fields.Date(allow_none=True)
    rectification_deadline = fields.Date(allow_none=True)
    reinspection_id = fields.Integer(allow_none=True)
    penalty_amount = fields.Integer(allow_none=True)
    penalty_reason = fields.String(allow_none=True)
    hearing_offered = fields.Boolean()
    penalty = fields.Function(lambda c: PenaltySchema().dump(c))
    decided_on = fields.Date(allow_none=True)
    decision_served_on = fields.Date(allow_none=True)
    decision_service_manner = fields.String(allow_none=True)
    decision_receipt_id = fields.Integer(allow_none=True)
    decision_service_due_on = fields.Function(
        lambda c: service_due(c).isoformat() if awaiting_service(c) else None,
        metadata={"description": "last day to serve the decision (7 working days, 行政处罚法 Arts 61, 85)"})
    payment_due_on = fields.Date(allow_none=True)
    payment = fields.Function(lambda c: _dump(PaymentTermsSchema, payment_terms(c, _locale())))
    late_fee = fields.Function(lambda c: _dump(LateFeeSchema, late_fee(c, local_today(), _locale())),
                               metadata={"description": "加处罚款 accrued on an overdue fine (行政处罚法 Art 72)"})
    execution = fields.String(allow_none=True)
    executed_on = fields.Date(allow_none=True)
    publication_due_on = fields.Date(allow_none=True)
    published_on = fields.Date(allow_none=True)
    investigation_extended = fields.Boolean()
    decision_extended = fields.Boolean()
    rights_waived = fields.Boolean(metadata={"description": "the party waived in writing its rights to "
                                   "state, defend and ask for a hearing"})
    transfer_to = fields.String(allow_none=True)
    referral_id = fields.Integer(allow_none=True)
    next_due_on = fields.Date(allow_none=True)
    next_due_kind = fields.String(allow_none=True)
    # through ClockSchema: a bare date would leave as an HTTP date ("Sun, 28 Feb 2027 ..."), not ISO 8601
    clocks = fields.Function(lambda c: ClockSchema(many=True).dump(case_clock_rows(c)))
    allowed_transitions = fields.Function(lambda c: list(TRANSITIONS[c.status]))
    closed_dt = fields.DateTime(allow_none=True)


class CaseDetailSchema(CaseSchema):
    events = fields.List(fields.Nested(CaseEventSchema))


class CaseListArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf(CASE_STATUSES + ("active",)))
    department = fields.String(metadata={"description": "handling department"})
    acting_department = fields.String()
    entity_id = fields.Integer()
    region = fields.String()
    due = fields.String(validate=validate.OneOf(("overdue", "due_soon")),
                        metadata={"description": "overdue: a clock has run out; due_soon: one runs out within "
                                                 "the next working days (registries/enforcement.yaml)"})
    scope = fields.String(load_default="all", validate=validate.OneOf(("mine", "department", "all")))


class TransitionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    to = fields.String(required=True, validate=validate.OneOf(CASE_STATUSES))
    reason = fields.String(required=True)
    ordered_on = fields.Date()
    deadline = fields.Date()
    date = fields.Date(metadata={"description": "re-inspection day (reinspection_due)"})
    team = fields.List(fields.Integer(), metadata={"description": "officers of the re-inspection"})
    requested_on = fields.Date()
    decided_on = fields.Date()
    amount = fields.Integer(validate=validate.Range(min=0))
    waived = fields.Boolean()
    hearing_held_on = fields.Date()
    served_on_the_spot = fields.Boolean(metadata={"description": "decided: the decision was handed to the party "
                                                                 "when announced (行政处罚法 Art 61)"})
    execution = fields.String()
    executed_on = fields.Date()
    to_department = fields.String()


class DecisionServiceSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    served_on = fields.Date(required=True, metadata={"description": "by announcement: the day published (deemed "
                                                                    "served 30 days later, 民事诉讼法 Art 95)"})
    manner = fields.String(required=True, validate=validate.OneOf(SERVICE_MANNERS))
    receipt_id = fields.Integer(allow_none=True, metadata={"description": "an issued service receipt (送达回证) of "
                                                                          "the case listing its penalty decision"})


class ExtensionSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    clock = fields.String(required=True, validate=validate.OneOf(("decision", "labour_investigation")),
                          metadata={"description": "decision: market regulation, 30 days; labour_investigation: "
                                                   "劳动保障监察条例 Art 17, 30 working days"})
    reason = fields.String(required=True)


class PenaltyInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    amount = fields.Integer(required=True, validate=validate.Range(min=0))
    reason = fields.String(required=True)
    adjustment = fields.String(load_default="none")
    serious = fields.Boolean(load_default=False)
    party_type = fields.String(load_default="organisation")
    measures = fields.List(fields.String(), load_default=list)
    notice_served_on = fields.Date()
    inputs = fields.Dict(keys=fields.String(), values=fields.Dict(),
                         metadata={"description": "{violation id: {persons, months, illegal_income, "
                                                  "advertising_fee}} replacing the recorded quantities"})


class OfficersSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    officers = fields.List(fields.Integer(), required=True,
                           metadata={"description": "user ids: at least two inspectors of the handling department "
                                                    "with credentials, of the case's county or city-wide"})


class PenaltyArgsSchema(Schema):
    serious = fields.Boolean(load_default=False)


def _load_case(case_id: int, permission: str = "cases.view") -> Case:
    case = db.session.get(Case, case_id)
    if case is None:
        raise ApiError(404, _("Not found."))
    authorize(permission, case)
    return case


def _illegal(exc: IllegalCaseTransition):
    """409 naming the allowed steps (message) and listing their codes (``error.allowed``)."""
    keep_refusal()
    response = jsonify({"error": {"code": "illegal_transition", "message": exc.message(),
                                  "fields": {"to": [exc.message()]}, "allowed": list(exc.allowed)}})
    response.status_code = 409
    return response


@blp.route("")
class Cases(MethodView):
    @permission_required("cases.view")
    @blp.arguments(CaseListArgsSchema, location="query")
    @blp.response(200, page_schema(CaseSchema, "CasePage"))
    def get(self, args):
        """Cases the user may see (county scope; ``scope=mine`` for the user's inspections), paginated."""
        stmt = scoped_cases(current_user, args["scope"])
        if args.get("status") == "active":
            stmt = stmt.where(Case.status != "closed")
        elif args.get("status"):
            stmt = stmt.where(Case.status == args["status"])
        for key, column in (("department", Case.handling_department), ("acting_department", Case.acting_department),
                            ("entity_id", Case.entity_id), ("region", Case.region_code)):
            if args.get(key) is not None:
                stmt = stmt.where(column == args[key])
        today = local_today()
        if args.get("due") == "overdue":  # the stored earliest clock has run out (hour clocks: by their day)
            stmt = stmt.where(Case.next_due_on < today)
        elif args.get("due") == "due_soon":
            stmt = stmt.where(Case.next_due_on >= today, Case.next_due_on <= horizon_for(today))
        return paginate(db.session, stmt.order_by(Case.next_due_on.is_(None), Case.next_due_on, Case.id), args)


@blp.route("/<int:case_id>")
class CaseItem(MethodView):
    @permission_required("cases.view")
    @blp.response(200, CaseDetailSchema)
    def get(self, case_id):
        """A case with its violations, clocks, allowed steps and history."""
        return _load_case(case_id)


@blp.route("/<int:case_id>/transitions")
class CaseTransitions(MethodView):
    @permission_required("cases.view")
    @blp.arguments(TransitionSchema)
    @blp.response(201, CaseDetailSchema)
    @blp.alt_response(409, description="Not allowed from the case's status: `error.allowed` lists the steps that are")
    def post(self, data, case_id):
        """Move the case one step, with the reason (and the step's data: deadline, date, amount ...)."""
        case = _load_case(case_id)
        to = data.pop("to")
        authorize(transition_permission(to), case)
        reason = data.pop("reason")
        try:
            transition(case, to, current_user, reason, data)
        except IllegalCaseTransition as exc:
            return _illegal(exc)
        return case


@blp.route("/<int:case_id>/penalty")
class CasePenalty(MethodView):
    @permission_required("cases.view")
    @blp.arguments(PenaltyArgsSchema, location="query")
    def get(self, args, case_id):
        """The catalogue's range under the case's facts: each violation's fine, inputs, missing inputs."""
        case = _load_case(case_id)
        from .rules import rules
        threshold = rules().threshold(case.acting_department)
        body = case_range(case, serious=args["serious"])
        body["hearing_threshold"] = {"natural_person": threshold.natural_person,
                                     "organisation": threshold.organisation, "unconfirmed": threshold.unconfirmed,
                                     "note": threshold.note(_locale())}
        return jsonify(body)

    @permission_required("cases.manage")
    @blp.arguments(PenaltyInputSchema)
    @blp.response(201, CaseDetailSchema)
    @blp.alt_response(409, description="Not allowed from the case's status, or a criminal transfer is pending")
    def post(self, data, case_id):
        """Propose the penalty (行政处罚事先告知): amount and reasons; the hearing right follows the threshold."""
        case = _load_case(case_id, "cases.manage")
        try:
            propose_penalty(case, current_user, data)
        except IllegalCaseTransition as exc:
            return _illegal(exc)
        except CaseStateError as exc:
            raise ApiError(409, exc.message, code="case_state") from None
        return case


@blp.route("/<int:case_id>/officers")
class CaseOfficers(MethodView):
    @permission_required("cases.manage")
    @blp.arguments(OfficersSchema)
    @blp.response(200, CaseDetailSchema)
    @blp.alt_response(409, description="The case is closed")
    def put(self, data, case_id):
        """Name the case's handling officers (承办人员, 行政处罚法 Art 42): they replace the current ones."""
        case = _load_case(case_id, "cases.manage")
        try:
            set_case_officers(case, current_user, data["officers"])
        except CaseStateError as exc:
            raise ApiError(409, exc.message, code="case_state") from None
        return case


@blp.route("/<int:case_id>/decision-service")
class CaseDecisionService(MethodView):
    @permission_required("cases.manage")
    @blp.arguments(DecisionServiceSchema)
    @blp.response(201, CaseDetailSchema)
    @blp.alt_response(409, description="No decision awaiting service (not decided, closed, or already served)")
    def post(self, data, case_id):
        """Record the service of the penalty decision: the payment period (15 days) runs from the day served."""
        case = _load_case(case_id, "cases.manage")
        try:
            record_decision_service(case, current_user, data)
        except CaseStateError as exc:
            raise ApiError(409, exc.message, code="case_state") from None
        return case


@blp.route("/<int:case_id>/extensions")
class CaseExtensions(MethodView):
    @permission_required("cases.decide")
    @blp.arguments(ExtensionSchema)
    @blp.response(201, CaseDetailSchema)
    @blp.alt_response(409, description="Not this department's extension, already extended, or the period is over")
    def post(self, data, case_id):
        """Extend a period once with the head's approval and the reason: market regulation's decision period
        (``decision``) or the labour inspection period (``labour_investigation``)."""
        case = _load_case(case_id, "cases.decide")
        extend = extend_decision if data["clock"] == "decision" else extend_investigation
        try:
            extend(case, current_user, data["reason"])
        except CaseStateError as exc:
            raise ApiError(409, exc.message, code="case_state") from None
        return case


# --------------------------------------------------------------------------------------------
# Referrals

class AttachmentSchema(Schema):
    code = fields.String()
    title = fields.String()
    pages = fields.Integer()
    evidence_id = fields.Integer()


class ReferralRecordSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    from_department = fields.String()
    to_department = fields.String()
    entity_id = fields.Integer()
    entity_name = fields.Function(lambda r: r.entity.name)
    inspection_id = fields.Integer(allow_none=True)
    violation_id = fields.Integer(allow_none=True)
    case_id = fields.Function(lambda r: db.session.scalar(db.select(Case.id).where(Case.referral_id == r.id)))
    urgent = fields.Boolean()
    due_dt = fields.DateTime(allow_none=True)
    reason = fields.String()
    attachments = fields.List(fields.Nested(AttachmentSchema))
    has_restricted_data = fields.Function(lambda r: r.restricted_data is not None)
    status = fields.String()
    created_dt = fields.DateTime()
    sent_dt = fields.DateTime(allow_none=True)
    acknowledged_dt = fields.DateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    outcome_dt = fields.DateTime(allow_none=True)


class ReferralInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(required=True, validate=validate.OneOf(("criminal", "case", "victim_relief")))
    to_department = fields.String(required=True)
    entity_id = fields.Integer()
    case_id = fields.Integer(metadata={"description": "a criminal or case referral of a case transfers the case"})
    inspection_id = fields.Integer()
    violation_id = fields.Integer()
    reason = fields.String(required=True)
    urgent = fields.Boolean()
    attachments = fields.List(fields.Raw(), metadata={"description": "[{title, code?, pages?, evidence_id?}]; "
                                                                     "empty: the kind's standard list"})
    restricted_data = fields.Raw(metadata={"description": "victims' details: sealed, read only by the receiver"})


class ReferralListArgsSchema(PageArgsSchema):
    box = fields.String(load_default="inbox", validate=validate.OneOf(("inbox", "sent")))
    status = fields.String(validate=validate.OneOf(REFERRAL_STATUSES))


class NoteSchema(Schema):
    note = fields.String()


class OutcomeSchema(Schema):
    outcome = fields.String(required=True)


class RevealSchema(Schema):
    reason = fields.String(required=True)


class RevealedSchema(Schema):
    restricted_data = fields.Raw(allow_none=True)


def _load_referral(referral_id: int) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        raise ApiError(404, _("Not found."))
    if not referral_services.may_view(current_user, referral):
        raise ApiError(403, _("You do not have permission to do this."))
    return referral


@referrals_blp.route("")
class Referrals(MethodView):
    @login_required
    @referrals_blp.arguments(ReferralListArgsSchema, location="query")
    @referrals_blp.response(200, page_schema(ReferralRecordSchema, "ReferralPage"))
    def get(self, args):
        """The receiving department's inbox (``box=inbox``, needs referrals.receive) or what the user's
        department sent (``box=sent``)."""
        if args["box"] == "inbox":
            authorize("referrals.receive")
            stmt = referral_services.inbox_query(current_user)
        else:
            authorize("cases.view")
            stmt = referral_services.sent_query(current_user)
        if args.get("status"):
            stmt = stmt.where(Referral.status == args["status"])
        return paginate(db.session, stmt, args)

    @permission_required("referrals.create")
    @referrals_blp.arguments(ReferralInputSchema)
    @referrals_blp.response(201, ReferralRecordSchema)
    def post(self, data):
        """Refer a suspected crime (police), a case (the department with authority) or victims (civil
        affairs, the women's federation). With ``case_id`` a criminal or case referral transfers the case
        (the head's step: cases.decide)."""
        case_id = data.pop("case_id", None)
        if case_id is not None:
            case = _load_case(case_id)
            data.setdefault("entity_id", case.entity_id)
            if data["entity_id"] != case.entity_id:
                raise InvalidData({"entity_id": [_("Not the case's entity.")]})
            if data["kind"] != "victim_relief":
                authorize("cases.decide", case)
                try:
                    transition(case, "transferred", current_user, data["reason"],
                               {"to_department": data["to_department"], "referral_reason": data["reason"],
                                "attachments": data.get("attachments"),
                                "restricted_data": data.get("restricted_data")})
                except IllegalCaseTransition as exc:
                    return _illegal(exc)
                return case.referral
            authorize("cases.manage", case)
            data.setdefault("inspection_id", case.inspection_id)
        entity = db.session.get(Entity, data.get("entity_id") or 0)
        if entity is not None:
            authorize("entities.view", entity)
        return referral_services.create_referral(current_user, data)


@referrals_blp.route("/<int:referral_id>")
class ReferralItem(MethodView):
    @login_required
    @referrals_blp.response(200, ReferralRecordSchema)
    def get(self, referral_id):
        """A referral (never the victims' details: see /reveal)."""
        return _load_referral(referral_id)


@referrals_blp.route("/<int:referral_id>/acknowledge")
class ReferralAcknowledge(MethodView):
    @permission_required("referrals.receive")
    @referrals_blp.arguments(NoteSchema)
    @referrals_blp.response(200, ReferralRecordSchema)
    def post(self, data, referral_id):
        """The receiving department confirms receipt (the linked case becomes acknowledged)."""
        referral = _load_referral(referral_id)
        authorize("referrals.receive", referral)
        return referral_services.acknowledge_referral(referral, current_user, data.get("note"))


@referrals_blp.route("/<int:referral_id>/outcome")
class ReferralOutcome(MethodView):
    @permission_required("referrals.receive")
    @referrals_blp.arguments(OutcomeSchema)
    @referrals_blp.response(200, ReferralRecordSchema)
    def post(self, data, referral_id):
        """The receiving department records what became of the referral."""
        referral = _load_referral(referral_id)
        authorize("referrals.receive", referral)
        return referral_services.record_outcome(referral, current_user, data["outcome"])


@referrals_blp.route("/<int:referral_id>/reveal")
class ReferralReveal(MethodView):
    @permission_required("referrals.restricted")
    @referrals_blp.arguments(RevealSchema)
    @referrals_blp.response(200, RevealedSchema)
    @never_stored
    def post(self, data, referral_id):
        """Victims' details for the receiving department's liaison roles; the reading is audited."""
        referral = _load_referral(referral_id)
        authorize("referrals.restricted", referral)
        return {"restricted_data": referral_services.reveal_restricted(referral, current_user, data["reason"])}


# --------------------------------------------------------------------------------------------
# Tip-offs (public)

class TipOffInputSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    target_name = fields.String(required=True)
    target_address = fields.String()
    target_kind = fields.String(metadata={"description": "job_agency | marriage_agency | entertainment_venue | "
                                                         "online | unknown"})
    region_code = fields.String()
    category = fields.String(required=True)
    description = fields.String(required=True)
    contact = fields.String(metadata={"description": "optional; sealed, seen only by planners"})


class TipOffReceiptSchema(Schema):
    tracking_code = fields.String()
    status = fields.String()
    status_label = fields.String()
    received_on = fields.Date()


class TipOffStatusSchema(Schema):
    status = fields.String()
    status_label = fields.String()
    received_on = fields.Date()
    updated_on = fields.Date()
    reward_eligible = fields.Boolean()


def _tipoff_input() -> tuple[dict, list]:
    if request.mimetype == "multipart/form-data":
        raw, photos = request.form.to_dict(), [f for f in request.files.getlist("photos") if f and f.filename]
    else:
        raw, photos = request.get_json(silent=True), []
        if not isinstance(raw, dict):
            raise ApiError(400, _("The body is not valid JSON."))
    errors = TipOffInputSchema().validate(raw)
    if errors:
        from ..errors import _flatten_fields
        raise ApiError(422, str(_("Some fields are not valid.")), fields=_flatten_fields(errors))
    return TipOffInputSchema().load(raw), photos


@tipoffs_blp.route("")
class TipOffs(MethodView):
    @public
    @tipoffs_blp.doc(security=[], requestBody={"content": {
        "application/json": {"schema": TipOffInputSchema},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "photos": {"type": "array", "items": {"type": "string", "format": "binary"}}}}}}})
    @limiter.shared_limit(submit_limit, scope="tipoff-submit", methods=["POST"])
    @tipoffs_blp.response(201, TipOffReceiptSchema)
    @tipoffs_blp.alt_response(429, description="Too many reports from this address")
    def post(self):
        """Report a suspected illegal agency, venue or false advertisement; no sign-in. Keep the tracking
        code: it is shown once and is the only way to follow the report."""
        check_request_size()
        data, photos = _tipoff_input()
        tipoff, code = tipoff_services.submit_tipoff(data, photos, channel="api")
        return {"tracking_code": code, **{k: v for k, v in tipoff_services.public_status(tipoff).items()
                                          if k in ("status", "status_label", "received_on")}}


@tipoffs_blp.route("/<tracking_code>")
class TipOffStatus(MethodView):
    @public
    @tipoffs_blp.doc(security=[])
    @limiter.shared_limit(status_limit, scope="tipoff-status")
    @tipoffs_blp.response(200, TipOffStatusSchema)
    def get(self, tracking_code):
        """The status of a report by its tracking code (the status only)."""
        tipoff = tipoff_services.find_by_code(tracking_code)
        if tipoff is None:
            raise ApiError(404, _("Not found."))
        return tipoff_services.public_status(tipoff)
