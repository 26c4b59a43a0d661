"""Cases: formed from a completed inspection's violations, moved along an explicit transition table,
re-inspected when the rectification deadline passes, penalised with the party's rights respected, or
transferred. Validate, flush, audit (every step is a CaseEvent with its reason); never commit.

The transition table::

    open ─┬─ rectification_ordered ─┬─ reinspection_due ─┬─ rectified ─┬─ closed
          │                         │                    │             └─ penalty_proposed
          │                         └────────────────────┴─ not_rectified ─┬─ penalty_proposed
          ├─ penalty_proposed ─┬─ hearing_requested ─ decided              └─ transferred
          │                    └─ decided ─┬─ executed (paid / suspended / revoked) ─ closed
          │                                └─ closed (nothing to execute)
          ├─ transferred ─ acknowledged ─ outcome_recorded ─ closed
          └─ closed (撤销立案: minor and corrected, 行政处罚法 Art 33; 劳动保障监察条例 Art 18)
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app, g
from flask_babel import lazy_gettext as _l

from ..audit.services import record_event
from ..auth.models import User, UserRole
from ..errors import InvalidData
from ..extensions import db
from ..inspection.models import Answer, Inspection, InspectionMember, Referral, Violation
from ..inspection.services import violation_type_for
from ..registry.services import IllegalTransition
from ..util import now_utc
from ..workdays import add_workdays, is_workday
from .clocks import (BEFORE_DECISION, awaiting_service, decision_due, decision_extendable,
                     deemed_served, local_today, payment_due_from, refresh_due)
from .models import (ADJUSTMENTS, CASE_STATUSES, EXECUTIONS, PARTY_TYPES, SERVICE_MANNERS, Case, CaseEvent,
                     CaseOfficer)
from .penalty import HEARING_MEASURES, INPUTS, case_range
from .rules import rules

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "open": ("rectification_ordered", "penalty_proposed", "transferred", "closed"),
    "rectification_ordered": ("reinspection_due", "rectified", "not_rectified", "transferred"),
    "reinspection_due": ("rectified", "not_rectified", "transferred"),
    "rectified": ("penalty_proposed", "closed"),
    "not_rectified": ("penalty_proposed", "transferred"),
    "penalty_proposed": ("hearing_requested", "decided"),
    "hearing_requested": ("decided",),
    "decided": ("executed", "closed"),
    "executed": ("closed",),
    "transferred": ("acknowledged",),
    "acknowledged": ("outcome_recorded",),
    "outcome_recorded": ("closed",),
    "closed": (),
}
assert set(TRANSITIONS) == set(CASE_STATUSES)

STATUS_LABELS = {
    "open": _l("Open (filed)"),
    "rectification_ordered": _l("Ordered to rectify"),
    "reinspection_due": _l("Re-inspection due"),
    "rectified": _l("Rectified"),
    "not_rectified": _l("Not rectified"),
    "penalty_proposed": _l("Penalty proposed (advance notice)"),
    "hearing_requested": _l("Hearing requested"),
    "decided": _l("Penalty decided"),
    "executed": _l("Executed"),
    "transferred": _l("Transferred"),
    "acknowledged": _l("Receipt acknowledged"),
    "outcome_recorded": _l("Outcome recorded"),
    "closed": _l("Case closed"),
}
EXECUTION_LABELS = {"paid": _l("Fine paid"), "suspended": _l("Business suspended"), "revoked": _l("Licence revoked")}
ADJUSTMENT_LABELS = {
    "none": _l("Within the range"),
    "lighter": _l("Lighter, within the range (从轻)"),
    "heavier": _l("Heavier, within the range (从重)"),
    "mitigated": _l("Mitigated below the minimum (减轻, 行政处罚法 Art 32)"),
    "exempted": _l("No penalty (不予处罚, 行政处罚法 Art 33)"),
}
PARTY_TYPE_LABELS = {"organisation": _l("Legal person or other organisation"), "natural_person": _l("Natural person")}
SERVICE_MANNER_LABELS = {
    "on_the_spot": _l("Handed over when announced (行政处罚法 Art 61)"),
    "in_person": _l("Served in person (直接送达, 民事诉讼法 Art 87)"),
    "left": _l("Left at the premises on refusal, before a witness or recorded (留置送达, Art 89)"),
    "post": _l("By post: the day on the return receipt (邮寄送达, Art 91)"),
    "electronic": _l("Electronically, with the party's consent (电子送达, Art 90; 行政处罚法 Art 61)"),
    "announcement": _l("By public announcement: deemed served 30 days after publication (公告送达, Art 95)"),
}
assert set(SERVICE_MANNER_LABELS) == set(SERVICE_MANNERS)

# Who may make each step: the head of the department (supervisor) decides, closes and approves transfers
# (移送规定 Art 5: the head decides on a criminal transfer); the receiving department acknowledges.
TRANSITION_PERMISSIONS = {"decided": "cases.decide", "closed": "cases.decide", "transferred": "cases.decide",
                          "reinspection_due": "cases.schedule",
                          "acknowledged": "referrals.receive", "outcome_recorded": "referrals.receive"}
# Steps made through their own procedure, never as a bare transition
PROCEDURE_STEPS = {
    "penalty_proposed": _l("Propose the penalty with its amount and reason (the penalty proposal)."),
    "acknowledged": _l("The receiving department acknowledges the referral in its inbox."),
    "outcome_recorded": _l("The receiving department records the outcome in its inbox."),
}
REASON_MAX = 2000


class IllegalCaseTransition(IllegalTransition):
    """A step the transition table does not allow from the case's status (409, the allowed ones named)."""

    transitions = TRANSITIONS
    labels = STATUS_LABELS


class CaseStateError(Exception):
    """The case's state forbids the action (409); the message says why."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def transition_permission(to_status: str) -> str:
    return TRANSITION_PERMISSIONS.get(to_status, "cases.manage")


def _reference():
    return current_app.extensions["inspect_reference"]


def _user_id(user) -> int | None:
    return getattr(user, "id", None) if user is not None and getattr(user, "is_authenticated", True) else None


def _date(value, field: str, errors: dict, default: date | None = None) -> date | None:
    if value in (None, ""):
        return default
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[field] = [_l("Must be a date (YYYY-MM-DD).")]
        return None


def _int(value, field: str, errors: dict, minimum: int = 0) -> int | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        errors[field] = [_l("Must be a whole number.")]
        return None
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        errors[field] = [_l("Must be a whole number.")]
        return None
    if number < minimum:
        errors[field] = [_l("Must be at least %(n)d.", n=minimum)]
        return None
    return number


def _clean_reason(reason, errors: dict) -> str:
    text = " ".join(str(reason or "").split())
    if not text:
        errors["reason"] = [_l("Give the reason for this step.")]
    elif len(text) > REASON_MAX:
        errors["reason"] = [_l("At most %(n)d characters.", n=REASON_MAX)]
    return text


def keep_refusal() -> None:
    """A refused step is audited: let the request commit the refusal event despite the error status."""
    g.keep_changes_on_error = True


# --------------------------------------------------------------------------------------------
# Formation

def _handling_department(inspection: Inspection, acting: str) -> str:
    team = {m.department_code for m in inspection.members} | {inspection.lead_department}
    return acting if acting in team else inspection.lead_department


def _linked_referral(violations: list[Violation]) -> Referral | None:
    ids = [v.id for v in violations]
    return db.session.scalar(sa.select(Referral).where(Referral.violation_id.in_(ids),
                                                       Referral.kind == "criminal").order_by(Referral.id))


def form_cases(inspection: Inspection, actor_id: int | None = None) -> list[Case]:
    """React to a completed inspection: settle the cases it re-inspected (rectified or not), then
    group its remaining open violations by acting department into new cases. Idempotent: a
    violation already in a case is left alone."""
    actor_id = actor_id if actor_id is not None else inspection.completed_by_id
    violations = [v for v in inspection.violations if v.case_id is None and v.status == "open"]
    for case in db.session.scalars(sa.select(Case).where(Case.reinspection_id == inspection.id,
                                                         Case.status == "reinspection_due").with_for_update()):
        violations = _settle_follow_up(case, inspection, violations, actor_id)
    groups: dict[str, list[Violation]] = {}
    for violation in violations:
        groups.setdefault(violation.acting_department, []).append(violation)
    today = local_today()
    created = []
    for acting, members in sorted(groups.items()):
        case = Case(entity_id=inspection.entity_id, region_code=inspection.region_code, acting_department=acting,
                    handling_department=_handling_department(inspection, acting), inspection_id=inspection.id,
                    status="open", filed_on=today, opened_by_id=actor_id)
        db.session.add(case)
        for violation in members:
            case.violations.append(violation)
        case.referral = _linked_referral(members)
        titles = "、".join(_violation_title(v) for v in members)
        case.events.append(CaseEvent(from_status=None, to_status="open", actor_id=actor_id,
                                     reason=f"检查（编号{inspection.id}）发现违法行为，立案：{titles}",
                                     data={"violations": [v.id for v in members]}))
        db.session.flush()
        refresh_due(case)
        assign_default_officers(case)
        created.append(case)
    db.session.flush()
    return created


def _violation_title(violation: Violation) -> str:
    vtype = violation_type_for(violation)
    return vtype.title_zh if vtype else violation.type_code


def _settle_follow_up(case: Case, inspection: Inspection, violations: list[Violation],
                      actor_id: int | None) -> list[Violation]:
    """The re-inspection decides: the same violation found again (or a focus item failed) means not
    rectified, and the new findings join this case; otherwise rectified. Returns the violations left."""
    types = {v.type_code for v in case.violations}
    again = [v for v in violations if v.type_code in types]
    focus = set(inspection.focus_items or [])
    failed_items = sorted(a.item_code for a in db.session.scalars(
        sa.select(Answer).where(Answer.inspection_id == inspection.id, Answer.result == "fail"))
        if a.item_code in focus)
    if again or failed_items:
        for violation in again:
            case.violations.append(violation)
        detail = "、".join([_violation_title(v) for v in again] + failed_items)
        _apply(case, "not_rectified", actor_id, f"复查（检查编号{inspection.id}）发现仍未整改：{detail}",
               {"reinspection_id": inspection.id, "violations": [v.id for v in again], "failed_items": failed_items})
        return [v for v in violations if v not in again]
    _apply(case, "rectified", actor_id, f"复查（检查编号{inspection.id}）确认已整改",
           {"reinspection_id": inspection.id})
    return violations


# --------------------------------------------------------------------------------------------
# Handling officers (承办人员, 行政处罚法 Art 42)

MIN_OFFICERS = 2


def _officer_refusal(case: Case, user: User | None):
    """Why ``user`` may not handle ``case`` (a message), or None."""
    if user is None:
        return _l("Unknown user.")
    if not user.is_active:
        return _l("%(name)s: the account is deactivated.", name=user.full_name)
    if "inspector" not in user.roles:
        return _l("%(name)s is not an inspector.", name=user.full_name)
    if not user.credential_number:
        return _l("%(name)s holds no enforcement credential number.", name=user.full_name)
    if user.department_code != case.handling_department:
        return _l("%(name)s is not an officer of the department handling the case.", name=user.full_name)
    if not _reference().region_contains(user.region_code, case.region_code):
        return _l("%(name)s works outside the county of the case.", name=user.full_name)
    return None


def eligible_officers(case: Case) -> list[User]:
    """The users who may handle the case: active inspectors of its handling department with a credential,
    of its county or city-wide."""
    city = _reference().city.code
    return list(db.session.scalars(
        sa.select(User).join(UserRole).where(UserRole.role == "inspector", User.is_active.is_(True),
                                             User.credential_number.is_not(None),
                                             User.department_code == case.handling_department,
                                             User.region_code.in_((case.region_code, city)))
        .order_by(User.full_name, User.id)))


def valid_officers(case: Case) -> list[User]:
    """The case's handling officers who may still act (an account deactivated since does not count)."""
    return [u for u in case.handling_officers if _officer_refusal(case, u) is None]


def officers_missing(case: Case):
    """The message saying a second officer must be assigned, or None when the case has two."""
    if len(valid_officers(case)) >= MIN_OFFICERS:
        return None
    return _l("Assign at least two handling officers of the department handling the case, each with an "
              "enforcement credential (行政处罚法 Art 42): the case has %(n)d.", n=len(valid_officers(case)))


def assign_default_officers(case: Case) -> None:
    """The inspection team's officers of the handling department, when they may handle the case."""
    if case.officers or case.inspection is None:
        return
    seen = set()
    for member in case.inspection.members:
        user = member.user or db.session.get(User, member.user_id)
        if (member.department_code == case.handling_department and user is not None and user.id not in seen
                and _officer_refusal(case, user) is None):
            seen.add(user.id)
            case.officers.append(CaseOfficer(user_id=user.id, user=user, position=len(seen) - 1))
    db.session.flush()


def set_case_officers(case: Case, actor, user_ids) -> list[User]:
    """Name the case's handling officers (at least two of its handling department, with credentials);
    raises InvalidData with the refusal under ``officers``."""
    errors: dict[str, list] = {}
    if not isinstance(user_ids, (list, tuple)):
        raise InvalidData({"officers": [_l("Choose officers from the list.")]})
    try:
        ids = list(dict.fromkeys(int(i) for i in user_ids))
    except (TypeError, ValueError):
        raise InvalidData({"officers": [_l("Choose officers from the list.")]}) from None
    users = []
    for user_id in ids:
        user = db.session.get(User, user_id)
        refusal = _officer_refusal(case, user)
        if refusal is not None:
            errors.setdefault("officers", []).append(refusal)
        else:
            users.append(user)
    if not errors and len(users) < MIN_OFFICERS:
        errors["officers"] = [_l("At least two handling officers (行政处罚法 Art 42).")]
    if errors:
        raise InvalidData(errors)
    _lock(case)
    if case.is_closed:
        raise CaseStateError(_l("The case is closed."))
    before = [o.user_id for o in case.officers]
    case.officers.clear()
    db.session.flush()
    for position, user in enumerate(users):
        case.officers.append(CaseOfficer(user_id=user.id, user=user, position=position))
    record_event(db.session, "case.officers_set", "cases", case.id, before={"officers": before},
                 after={"officers": [u.id for u in users]})
    db.session.flush()
    return users


def require_officers(case: Case, errors: dict) -> None:
    """A penalty is carried out by at least two officers with credentials (行政处罚法 Art 42)."""
    missing = officers_missing(case)
    if missing is not None:
        errors["officers"] = [missing]


# --------------------------------------------------------------------------------------------
# Transitions

def _lock(case: Case) -> None:
    """Re-read the case under a row lock (PostgreSQL), so two officers' steps cannot interleave."""
    if case.id is not None:
        db.session.flush()  # keep the caller's pending changes: refresh would discard them
        db.session.refresh(case, with_for_update=True)


def _apply(case: Case, to_status: str, actor_id: int | None, reason: str, data: dict | None = None) -> CaseEvent:
    event = CaseEvent(from_status=case.status, to_status=to_status, reason=reason, data=data or None,
                      actor_id=actor_id)
    case.events.append(event)
    case.status = to_status
    if to_status == "closed":
        case.closed_dt = now_utc()
        for violation in case.violations:
            if violation.status == "open":
                violation.status = "closed"
    db.session.flush()
    refresh_due(case)
    db.session.flush()
    return event


def transition(case: Case, to_status: str, user, reason: str, data: dict | None = None, *,
               today: date | None = None, procedure: bool = False) -> CaseEvent:
    """Move ``case`` to ``to_status``; raises IllegalCaseTransition (409, the allowed steps named),
    InvalidData (422) for missing or bad data. ``procedure`` is set by the services that make the
    steps of PROCEDURE_STEPS (penalty proposal, referral inbox)."""
    data = dict(data or {})
    today = today or local_today()
    errors: dict[str, list] = {}
    reason = _clean_reason(reason, errors)
    if to_status not in CASE_STATUSES:
        raise InvalidData({"to": [_l("Unknown status.")]})
    _lock(case)
    if to_status not in TRANSITIONS[case.status]:
        record_event(db.session, "case.transition_refused", "cases", case.id,
                     before={"status": case.status}, after={"status": to_status})
        raise IllegalCaseTransition(case.status, to_status)
    if to_status in PROCEDURE_STEPS and not procedure:
        raise InvalidData({"to": [PROCEDURE_STEPS[to_status]]})
    prepare = _PREPARE.get(to_status)
    event_data = prepare(case, data, errors, today, user) if prepare else {}
    if errors:
        raise InvalidData(errors)
    if to_status in _AFTER:
        _AFTER[to_status](case, data, user, event_data)
    return _apply(case, to_status, _user_id(user), reason, event_data)


def suggested_deadline(case: Case, ordered_on: date) -> date:
    """The catalogue's deadline for the case: the longest of its violations' (each item has time), each as
    its inspection pinned the catalogue."""
    types = [violation_type_for(v) for v in case.violations]
    days = [(vtype.rectification or {}).get("deadline_working_days") or 0 for vtype in types if vtype]
    return add_workdays(ordered_on, max(days, default=0))


def _prepare_order(case, data, errors, today, user) -> dict:
    ordered_on = _date(data.get("ordered_on"), "ordered_on", errors, today)
    deadline = _date(data.get("deadline"), "deadline", errors)
    if ordered_on is None:
        return {}
    if deadline is None and "deadline" not in errors:
        deadline = suggested_deadline(case, ordered_on)
    if deadline is not None and deadline < ordered_on:
        errors["deadline"] = [_l("The deadline cannot be before the order.")]
    if errors:
        return {}
    case.rectification_ordered_on, case.rectification_deadline = ordered_on, deadline
    case.reinspection_id = None
    return {"ordered_on": ordered_on.isoformat(), "deadline": deadline.isoformat()}


def _prepare_reinspection(case, data, errors, today, user) -> dict:
    day = _date(data.get("date"), "date", errors)
    if "date" in errors:
        return {}
    if day is None:
        day = reinspection_day(case.rectification_deadline or today, today)
    elif day < today:
        errors["date"] = [_l("The re-inspection cannot be in the past.")]
        return {}
    team = data.get("team") or []
    follow_up = _create_follow_up(case, day, team, _user_id(user), errors)
    if follow_up is None:
        return {}
    case.reinspection = follow_up
    return {"reinspection_id": follow_up.id, "date": day.isoformat(),
            "team": [m.user_id for m in follow_up.members]}


def _prepare_hearing(case, data, errors, today, user) -> dict:
    if not case.hearing_offered:
        errors["to"] = [_l("No hearing was offered for this penalty.")]
        return {}
    requested = _date(data.get("requested_on"), "requested_on", errors, today)
    if requested and case.reply_deadline and requested > case.reply_deadline:
        errors["requested_on"] = [_l("The request came after the window that ended on %(day)s (行政处罚法 Art 64).",
                                     day=case.reply_deadline.isoformat())]
    if errors:
        return {}
    case.hearing_requested_on = requested
    return {"requested_on": requested.isoformat()}


def _prepare_decision(case, data, errors, today, user) -> dict:
    require_officers(case, errors)
    decided_on = _date(data.get("decided_on"), "decided_on", errors, today)
    amount = _int(data.get("amount"), "amount", errors)
    waived = bool(data.get("waived"))
    on_the_spot = bool(data.get("served_on_the_spot"))
    held = _date(data.get("hearing_held_on"), "hearing_held_on", errors)
    if errors:
        return {}
    if case.status == "penalty_proposed" and not waived and case.reply_deadline and decided_on <= case.reply_deadline:
        errors["waived"] = [_l("The party may reply and ask for a hearing until %(day)s (行政处罚法 Arts 44, 62, 64): "
                               "decide after that day, or record that the party waived these rights.",
                               day=case.reply_deadline.isoformat())]
    if case.status == "hearing_requested" and held is None:
        errors["hearing_held_on"] = [_l("Record the day the hearing was held (行政处罚法 Art 64).")]
    if held is not None and held > decided_on:
        errors["hearing_held_on"] = [_l("The hearing must come before the decision.")]
    proposed = case.penalty_amount or 0
    if amount is None:
        amount = proposed
    elif amount > proposed:
        errors["amount"] = [_l("The decision may not be heavier than the proposal because the party stated or "
                               "defended its case (行政处罚法 Art 45): at most %(max)d yuan.", max=proposed)]
    if errors:
        return {}
    clocks = rules().clocks
    case.decided_on, case.penalty_amount, case.hearing_held_on = decided_on, amount, held or case.hearing_held_on
    case.rights_waived = waived  # the file and the decision say so (it was only in the case's history)
    # Art 67: the 15 days run from the day the party receives the decision, known only once it is served
    # (handed over when announced, Art 61, or served afterwards: record_decision_service)
    if on_the_spot:
        case.decision_served_on, case.decision_service_manner = decided_on, "on_the_spot"
    case.payment_due_on = payment_due_from(decided_on) if amount and on_the_spot else None
    publish = amount > 0 or bool(case.penalty_measures)  # a warning alone is not published
    case.publication_due_on = add_workdays(decided_on, clocks["publication_working_days"]) if publish else None
    return {"decided_on": decided_on.isoformat(), "amount": amount, "proposed_amount": proposed,
            "waived": waived, "hearing_held_on": held.isoformat() if held else None,
            "served_on_the_spot": on_the_spot}


def _prepare_execution(case, data, errors, today, user) -> dict:
    execution = data.get("execution")
    executed_on = _date(data.get("executed_on"), "executed_on", errors, today)
    if execution not in EXECUTIONS:
        errors["execution"] = [_l("Choose how the decision was executed.")]
    if errors:
        return {}
    case.execution, case.executed_on = execution, executed_on
    return {"execution": execution, "executed_on": executed_on.isoformat()}


def _after_execution(case, data, user, event_data) -> None:
    """A suspension or revocation changes the entity's status in the registry where the lifecycle allows."""
    from ..registry.services import TRANSITIONS as ENTITY_TRANSITIONS
    from ..registry.services import change_status
    target = {"suspended": "suspended", "revoked": "revoked"}.get(case.execution)
    entity = case.entity
    if target and target in ENTITY_TRANSITIONS.get(entity.status, ()):
        change_status(entity, target, f"案件（编号{case.id}）处罚决定执行", legal_basis=None)
        event_data["entity_status"] = target


def _prepare_transfer(case, data, errors, today, user) -> dict:
    to = data.get("to_department") or data.get("transfer_to")
    if to not in _reference().departments:
        errors["to_department"] = [_l("Choose the department that receives the case.")]
    elif to == case.handling_department:
        errors["to_department"] = [_l("The case is already with this department.")]
    if errors:
        return {}
    from .referrals import referral_for_transfer
    referral = referral_for_transfer(case, to, user, data)
    case.transfer_to, case.referral = to, referral
    return {"to_department": to, "referral_id": referral.id}


def _prepare_close(case, data, errors, today, user) -> dict:
    if case.status == "decided" and case.execution is None and ((case.penalty_amount or 0) > 0
                                                                or case.penalty_measures):
        errors["to"] = [_l("Record the execution of the decision before closing the case.")]
    elif awaiting_service(case):
        errors["to"] = [_l("Record the service of the decision before closing the case (行政处罚法 Art 61).")]
    return {}


_PREPARE = {"rectification_ordered": _prepare_order, "reinspection_due": _prepare_reinspection,
            "hearing_requested": _prepare_hearing, "decided": _prepare_decision, "executed": _prepare_execution,
            "transferred": _prepare_transfer, "closed": _prepare_close}
_AFTER = {"executed": _after_execution}


# --------------------------------------------------------------------------------------------
# Re-inspection

def reinspection_day(deadline: date, today: date) -> date:
    """The first working day after the deadline, and not in the past."""
    day = max(deadline + timedelta(days=1), today)
    while not is_workday(day):
        day += timedelta(days=1)
    return day


def _eligible_officers(ids) -> list[User]:
    if not ids:
        return []
    users = db.session.scalars(sa.select(User).where(User.id.in_(ids))).all()
    by_id = {u.id: u for u in users}
    return [by_id[i] for i in ids if i in by_id and by_id[i].is_active and by_id[i].credential_number
            and "inspector" in by_id[i].roles]


def _auto_team(case: Case) -> list[User]:
    """The original team's officers of the handling department, then the rest of that team, then the
    department's other inspectors in the county: at least two (行政处罚法 Art 42)."""
    original = case.inspection.members if case.inspection else []
    ordered = ([m.user_id for m in original if m.department_code == case.handling_department]
               + [m.user_id for m in original if m.department_code != case.handling_department])
    team = _eligible_officers(list(dict.fromkeys(ordered)))
    mine = [u for u in team if u.department_code == case.handling_department]
    team = (mine + [u for u in team if u not in mine])[:max(2, len(mine))]
    if len(team) < 2:
        others = db.session.scalars(
            sa.select(User).join(UserRole).where(UserRole.role == "inspector", User.is_active.is_(True),
                                                 User.department_code == case.handling_department,
                                                 User.region_code == case.region_code,
                                                 User.credential_number.is_not(None),
                                                 User.id.not_in([u.id for u in team] or [0]))
            .order_by(User.id).limit(2 - len(team))).all()
        team += list(others)
    return team


def _create_follow_up(case: Case, day: date, team_ids: list, actor_id: int | None, errors: dict):
    if team_ids:
        try:
            ids = [int(i) for i in team_ids]
        except (TypeError, ValueError):
            errors["team"] = [_l("Choose officers from the list.")]
            return None
        team = _eligible_officers(list(dict.fromkeys(ids)))
        if len(team) != len(set(ids)):
            errors["team"] = [_l("Every officer must be an inspector with a credential number.")]
            return None
    else:
        team = _auto_team(case)
    if len(team) < 2:
        errors["team"] = [_l("At least two officers with credentials (行政处罚法 Art 42).")]
        return None
    focus = sorted({v.item_code for v in case.violations if v.item_code})
    deadline = case.rectification_deadline.isoformat() if case.rectification_deadline else ""
    follow_up = Inspection(entity_id=case.entity_id, origin="follow_up", scheduled_date=day,
                           region_code=case.region_code, lead_department=case.handling_department, status="planned",
                           created_by_id=actor_id, follows_id=case.inspection_id, focus_items=focus,
                           cause_note=f"复查：案件（编号{case.id}）责令改正期限{deadline}届满，核查整改情况")
    for index, user in enumerate(team):
        follow_up.members.append(InspectionMember(user_id=user.id, department_code=user.department_code,
                                                  position=index))
    db.session.add(follow_up)
    db.session.flush()
    return follow_up


def tick(today: date | None = None, user=None) -> dict:
    """The daily job (`flask --app wsgi cases tick`, also on the supervisor's page): every case whose
    rectification deadline has passed gets its follow-up inspection and becomes ``reinspection_due``.
    Idempotent: a case is picked only while ``rectification_ordered``; on PostgreSQL concurrent runs
    skip each other's locked rows."""
    today = today or local_today()
    stmt = (sa.select(Case).where(Case.status == "rectification_ordered", Case.rectification_deadline < today,
                                  Case.reinspection_id.is_(None))
            .order_by(Case.rectification_deadline, Case.id).with_for_update(skip_locked=True))
    scheduled, problems = [], []
    for case in db.session.scalars(stmt).all():
        try:  # a refusal happens before anything is written (the team is checked first)
            event = transition(case, "reinspection_due", user,
                               f"责令改正期限{case.rectification_deadline.isoformat()}已届满，安排复查", today=today)
        except (InvalidData, IllegalCaseTransition) as exc:
            problems.append({"case_id": case.id, "problem": str(exc)})
            continue
        scheduled.append({"case_id": case.id, "inspection_id": event.data["reinspection_id"],
                          "date": event.data["date"]})
    return {"today": today.isoformat(), "scheduled": scheduled, "problems": problems}


# --------------------------------------------------------------------------------------------
# Penalty proposal, and what follows the decision

def refuse_if_transfer_pending(case: Case) -> None:
    referral = case.referral
    if referral is not None and referral.kind == "criminal" and referral.status == "pending":
        raise CaseStateError(_l("The suspected crime must be transferred to the police first: an administrative "
                                "penalty may not replace the transfer (移送规定 Art 11)."))


def clean_inputs(raw, case: Case, errors: dict) -> dict:
    """``{violation id: {input: number}}`` for the case's own violations only."""
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        errors["inputs"] = [_l("Invalid value.")]
        return {}
    ids = {v.id for v in case.violations}
    clean = {}
    for key, values in raw.items():
        try:
            vid = int(key)
        except (TypeError, ValueError):
            vid = None
        if vid not in ids or not isinstance(values, dict):
            errors["inputs"] = [_l("Inputs must name violations of this case.")]
            return {}
        row = {}
        for name, value in values.items():
            if name not in INPUTS:
                errors[f"inputs.{vid}.{name}"] = [_l("Unknown field.")]
                continue
            number = _int(value, f"inputs.{vid}.{name}", errors)
            if number is not None:
                row[name] = number
        clean[vid] = row
    return clean


def propose_penalty(case: Case, user, data: dict, today: date | None = None) -> CaseEvent:
    """行政处罚事先告知: the catalogue's range under the case's facts, the officer's amount and reason,
    and the party's rights (hearing when the amount reaches the department's threshold or the measure
    is a suspension, revocation or closure: 行政处罚法 Art 63)."""
    today = today or local_today()
    _lock(case)
    if "penalty_proposed" not in TRANSITIONS[case.status]:
        record_event(db.session, "case.transition_refused", "cases", case.id,
                     before={"status": case.status}, after={"status": "penalty_proposed"})
        raise IllegalCaseTransition(case.status, "penalty_proposed")
    refuse_if_transfer_pending(case)
    errors: dict[str, list] = {}
    require_officers(case, errors)
    inputs = clean_inputs(data.get("inputs"), case, errors)
    serious = bool(data.get("serious"))
    party_type = data.get("party_type") or "organisation"
    if party_type not in PARTY_TYPES:
        errors["party_type"] = [_l("Invalid value.")]
    adjustment = data.get("adjustment") or "none"
    if adjustment not in ADJUSTMENTS:
        errors["adjustment"] = [_l("Invalid value.")]
    amount = _int(data.get("amount"), "amount", errors)
    if amount is None and "amount" not in errors:
        errors["amount"] = [_l("This field is required.")]
    reason = _clean_reason(data.get("reason"), errors)
    served = _date(data.get("notice_served_on"), "notice_served_on", errors, today)
    computed = case_range(case, inputs, serious=serious)
    if computed["missing"]:
        errors["inputs"] = [_l("Give %(input)s for violation %(id)d.", input=INPUTS[m["input"]], id=m["violation_id"])
                            for m in computed["missing"]]
    measures = data.get("measures") or []
    offered = {m["type"] for m in computed["measures"]}
    if not isinstance(measures, list) or any(m not in offered for m in measures):
        errors["measures"] = [_l("Only the measures the penalty articles provide under these facts.")]
        measures = []
    if errors:
        raise InvalidData(errors)
    low, high = computed["min"], computed["max"]
    if amount > high:
        errors["amount"] = [_l("Above the statutory maximum of %(max)d yuan: a heavier penalty (从重) stays within "
                               "the statutory range.", max=high)]
    elif adjustment == "exempted" and (amount or measures):
        errors["amount"] = [_l("No penalty (行政处罚法 Art 33) means no fine and no other measure.")]
    elif amount < low and adjustment not in ("mitigated", "exempted"):
        errors["amount"] = [_l("Below the statutory minimum of %(min)d yuan: only with mitigation (减轻, 行政处罚法 "
                               "Art 32) or no penalty (Art 33), and the reason.", min=low)]
    elif adjustment == "mitigated" and amount >= low:
        errors["adjustment"] = [_l("Mitigation (减轻) means below the minimum; within the range choose lighter (从轻).")]
    if errors:
        raise InvalidData(errors)
    threshold = rules().threshold(case.acting_department)
    limit = threshold.for_party(party_type)
    hearing = amount >= limit or bool(set(measures) & HEARING_MEASURES)
    clocks = rules().clocks
    window = clocks["hearing_request_working_days"] if hearing else clocks["statement_working_days"]
    case.party_type, case.penalty_serious, case.penalty_measures = party_type, serious, measures
    case.penalty_min, case.penalty_max, case.penalty_amount = low, high, amount
    case.proposed_amount, case.penalty_reason, case.penalty_adjustment = amount, reason, adjustment
    case.penalty_inputs = {"inputs": {str(k): v for k, v in inputs.items()}, "items": computed["items"],
                           "refused_to_rectify": computed["refused_to_rectify"], "serious": serious,
                           "hearing_threshold": limit, "threshold_unconfirmed": threshold.unconfirmed}
    case.notice_served_on, case.hearing_offered = served, hearing
    case.reply_deadline = add_workdays(served, window)
    return _apply(case, "penalty_proposed", _user_id(user), reason,
                  {"amount": amount, "min": low, "max": high, "adjustment": adjustment, "measures": measures,
                   "hearing_offered": hearing, "hearing_threshold": limit, "reply_deadline":
                   case.reply_deadline.isoformat(), "notice_served_on": served.isoformat()})


def record_publication(case: Case, user, published_on=None) -> None:
    """The decision was published (信用信息公示); stops the publication clock."""
    errors: dict = {}
    day = _date(published_on, "published_on", errors, local_today())
    if errors:
        raise InvalidData(errors)
    if case.decided_on is None:
        raise CaseStateError(_l("Only a decided case is published."))
    if day < case.decided_on:
        raise InvalidData({"published_on": [_l("Publication cannot precede the decision.")]})
    case.published_on = day
    record_event(db.session, "case.published", "cases", case.id, after={"published_on": day})
    refresh_due(case)
    db.session.flush()


def _notice_ids(notice) -> set[int]:
    return {d.get("id") for d in ((notice.snapshot or {}).get("body") or {}).get("documents") or []}


def _service_receipt(case: Case, receipt_id, errors: dict):
    """The issued 送达回证 of this case that lists its issued penalty decision, or None."""
    if receipt_id in (None, ""):
        return None
    from ..notices.models import Notice
    number = _int(receipt_id, "receipt_id", errors, minimum=1)
    if number is None:
        return None
    receipt = db.session.get(Notice, number)
    decisions = set(db.session.scalars(sa.select(Notice.id).where(
        Notice.case_id == case.id, Notice.type == "penalty_decision", Notice.status == "issued")))
    if (receipt is None or receipt.case_id != case.id or receipt.type != "service_receipt"
            or receipt.status != "issued" or not (_notice_ids(receipt) & decisions)):
        errors["receipt_id"] = [_l("Choose an issued service receipt of this case that lists its penalty decision.")]
        return None
    return receipt


def service_receipts(case: Case) -> list:
    """The case's issued service receipts that list its issued penalty decision (for the service form)."""
    from ..notices.models import Notice
    decisions = set(db.session.scalars(sa.select(Notice.id).where(
        Notice.case_id == case.id, Notice.type == "penalty_decision", Notice.status == "issued")))
    if not decisions:
        return []
    receipts = db.session.scalars(sa.select(Notice).where(
        Notice.case_id == case.id, Notice.type == "service_receipt", Notice.status == "issued").order_by(Notice.id))
    return [r for r in receipts if _notice_ids(r) & decisions]


def record_decision_service(case: Case, user, data: dict, today: date | None = None) -> None:
    """The penalty decision was served (行政处罚法 Art 61; 民事诉讼法 Arts 87-95): the day and manner, and
    the 送达回证 when issued here. The payment period (Art 67) runs from the day served; by announcement,
    from the day deemed served (``on`` is then the day of publication)."""
    today = today or local_today()
    errors: dict = {}
    manner = data.get("manner")
    if manner not in SERVICE_MANNERS:
        errors["manner"] = [_l("Choose how the decision was served.")]
    day = _date(data.get("served_on"), "served_on", errors, today)
    receipt = _service_receipt(case, data.get("receipt_id"), errors)
    _lock(case)
    if case.decided_on is None or case.status not in ("decided", "executed"):
        raise CaseStateError(_l("The case is %(status)s: there is no decision awaiting service.",
                                status=STATUS_LABELS[case.status]))
    if case.decision_served_on is not None:
        raise CaseStateError(_l("The decision was already served on %(day)s.", day=case.decision_served_on.isoformat()))
    if day is not None and "served_on" not in errors:
        if day < case.decided_on:
            errors["served_on"] = [_l("Service cannot precede the decision of %(day)s.",
                                      day=case.decided_on.isoformat())]
        elif day > today:
            errors["served_on"] = [_l("The day cannot be in the future.")]
        elif manner == "on_the_spot" and day != case.decided_on:
            errors["manner"] = [_l("Handed over when announced means on the day of the decision (%(day)s); "
                                   "a later day is service in person, by post or otherwise.",
                                   day=case.decided_on.isoformat())]
    if errors:
        raise InvalidData(errors)
    served = deemed_served(manner, day)
    before = {"payment_due_on": case.payment_due_on}
    case.decision_served_on, case.decision_service_manner = served, manner
    case.decision_receipt_id = receipt.id if receipt is not None else None
    case.payment_due_on = payment_due_from(served) if (case.penalty_amount or 0) > 0 else None
    record_event(db.session, "case.decision_served", "cases", case.id, before=before,
                 after={"served_on": served, "manner": manner, "on": day,
                        "receipt": receipt.number if receipt is not None else None,
                        "payment_due_on": case.payment_due_on})
    refresh_due(case)
    db.session.flush()


def extend_decision(case: Case, user, reason: str) -> None:
    """Market regulation's decision period (90 days from filing) extended once by 30 days with the head's
    approval (市场监督管理行政处罚程序规定, recalled: registries/enforcement.yaml)."""
    errors: dict = {}
    reason = _clean_reason(reason, errors)
    if errors:
        raise InvalidData(errors)
    _lock(case)
    if not decision_extendable(case):
        raise CaseStateError(_l("Only a market regulation case has this extension of the decision period."))
    if case.decision_extended:
        raise CaseStateError(_l("The decision period was already extended once."))
    if case.status not in BEFORE_DECISION:
        raise CaseStateError(_l("The decision period is no longer running: the case is %(status)s.",
                                status=STATUS_LABELS[case.status]))
    before = decision_due(case)
    case.decision_extended = True
    record_event(db.session, "case.decision_extended", "cases", case.id, before={"decision_due_on": before},
                 after={"decision_due_on": decision_due(case), "reason": reason,
                        "days": rules().clocks["decision_extension_days"]})
    refresh_due(case)
    db.session.flush()


def extend_investigation(case: Case, user, reason: str) -> None:
    """劳动保障监察条例 Art 17: the 60 working days may be extended once by 30, with the head's approval."""
    errors: dict = {}
    reason = _clean_reason(reason, errors)
    if errors:
        raise InvalidData(errors)
    if case.acting_department not in rules().clocks["labour_departments"]:
        raise CaseStateError(_l("Only a labour inspection case has this extension."))
    if case.investigation_extended:
        raise CaseStateError(_l("The investigation was already extended once."))
    case.investigation_extended = True
    record_event(db.session, "case.investigation_extended", "cases", case.id, after={"reason": reason})
    refresh_due(case)
    db.session.flush()
