"""Referrals (移送): a suspected crime to the police (24 hours: 行政执法机关移送涉嫌犯罪案件的规定 Art 5,
never replaced by a fine: Art 11), a case to the department with authority (案件移送函), possible victims
to civil affairs and the women's federation for relief and return (朔政办发〔2014〕37号).

Each referral carries its attachment list and arrives in the receiving department's inbox, which
acknowledges it and records the outcome; a linked case follows (transferred → acknowledged →
outcome_recorded). Victims' details are sealed (pii.seal_text) and opened only by the receiving
department's liaison roles, every opening audited with its reason.
"""
from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from ..audit.services import record_event
from ..auth.permissions import can
from ..errors import InvalidData
from ..extensions import db
from ..inspection.models import REFERRAL_KINDS, Inspection, Referral, Violation
from ..pii import open_text, seal_text
from ..registry.models import Entity
from ..util import now_utc
from .rules import rules

SEAL_PURPOSE = "referral-restricted"
KIND_LABELS = {"criminal": _l("Suspected crime (to the police)"), "case": _l("Case transfer"),
               "victim_relief": _l("Victims' relief and return")}
STATUS_LABELS = {"pending": _l("Awaiting approval"), "sent": _l("Sent"), "acknowledged": _l("Acknowledged"),
                 "outcome_recorded": _l("Outcome recorded"), "cancelled": _l("Cancelled")}
# Who may receive each kind (a criminal transfer goes to the police only: 移送规定 Art 3)
RECEIVERS = {"criminal": ("police",), "victim_relief": ("civil_affairs", "womens_federation", "police"),
             "case": None}
# The documents that go with each kind (移送规定 Art 6 for crimes)
ATTACHMENTS = {
    "criminal": [{"code": "transfer_letter", "title": "涉嫌犯罪案件移送书"},
                 {"code": "investigation_report", "title": "涉嫌犯罪案件情况的调查报告"},
                 {"code": "exhibit_list", "title": "涉案物品清单"},
                 {"code": "expert_reports", "title": "有关检验报告或者鉴定结论"},
                 {"code": "other_materials", "title": "其他有关涉嫌犯罪的材料"}],
    "case": [{"code": "case_transfer_letter", "title": "案件移送函"},
             {"code": "inspection_record", "title": "现场检查笔录"},
             {"code": "evidence", "title": "证据材料"}],
    "victim_relief": [{"code": "relief_request", "title": "救助移送函"},
                      {"code": "persons_list", "title": "被救助人员情况（受限查阅）"},
                      {"code": "inspection_record", "title": "现场检查笔录"}],
}
TEXT_MAX = 4000
ATTACHMENTS_MAX = 30


def _reference():
    return current_app.extensions["inspect_reference"]


def inbox_query(user) -> sa.Select:
    """Referrals to the user's department in the user's county; urgent first. Pending ones appear only
    when urgent (a suspected crime the police should know of at once, before the formal transfer)."""
    stmt = (sa.select(Referral).join(Entity, Referral.entity_id == Entity.id)
            .where(Referral.to_department == user.department_code,
                   sa.or_(Referral.status != "pending", Referral.urgent.is_(True)),
                   Referral.status != "cancelled"))
    if user.region_code != _reference().city.code:
        stmt = stmt.where(Entity.region_code == user.region_code)
    return stmt.order_by(Referral.urgent.desc(), Referral.created_dt.desc(), Referral.id.desc())


def sent_query(user) -> sa.Select:
    stmt = (sa.select(Referral).join(Entity, Referral.entity_id == Entity.id)
            .where(Referral.from_department == user.department_code))
    if user.region_code != _reference().city.code:
        stmt = stmt.where(Entity.region_code == user.region_code)
    return stmt.order_by(Referral.created_dt.desc(), Referral.id.desc())


def may_view(user, referral: Referral) -> bool:
    """The receiving department (its inbox) or the sending department (its cases)."""
    return can(user, "referrals.receive", referral) or (
        can(user, "cases.view", referral.entity) and referral.from_department == user.department_code)


def _clean_attachments(raw, kind: str, violation_ids: list[int], errors: dict) -> list[dict]:
    if raw in (None, []):
        items = [dict(a) for a in ATTACHMENTS[kind]]
        for violation in db.session.scalars(sa.select(Violation).where(Violation.id.in_(violation_ids or [0]))):
            items += [{"code": "photo", "title": ev.caption or ev.original_name or f"现场照片 {ev.id}",
                       "evidence_id": ev.id} for ev in violation.evidence]
        return items
    if not isinstance(raw, list) or len(raw) > ATTACHMENTS_MAX:
        errors["attachments"] = [_l("A list of at most %(n)d documents.", n=ATTACHMENTS_MAX)]
        return []
    items = []
    for entry in raw:
        title = entry.get("title") if isinstance(entry, dict) else entry
        title = " ".join(str(title or "").split())
        if not title or len(title) > 200:
            errors["attachments"] = [_l("Every document needs a title of at most 200 characters.")]
            return []
        item = {"title": title}
        if isinstance(entry, dict):
            for key in ("code", "pages", "evidence_id"):
                if entry.get(key) not in (None, ""):
                    item[key] = entry[key] if key == "code" else _small_int(entry[key], errors)
        items.append(item)
    return items


def _small_int(value, errors: dict) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        errors["attachments"] = [_l("Must be a whole number.")]
        return None
    return number


def seal_restricted(data) -> str | None:
    """Victims' details (a JSON object or text) as a sealed token, never stored in clear."""
    if data in (None, "", {}, []):
        return None
    return seal_text(json.dumps(data, ensure_ascii=False, sort_keys=True), SEAL_PURPOSE)


def create_referral(user, data: dict, *, status: str | None = None) -> Referral:
    """A referral from the user's department. A criminal transfer is sent at once when the user may
    approve it (the head of the department: cases.decide), else it awaits approval (移送规定 Art 5)."""
    errors: dict[str, list] = {}
    kind = data.get("kind")
    to = data.get("to_department")
    sender = data.get("from_department") or user.department_code
    if kind not in REFERRAL_KINDS:
        errors["kind"] = [_l("Invalid value.")]
    elif to not in _reference().departments:
        errors["to_department"] = [_l("Choose the department that receives the referral.")]
    elif RECEIVERS[kind] is not None and to not in RECEIVERS[kind]:
        errors["to_department"] = [_l("This kind of referral goes to: %(to)s.",
                                      to="、".join(_reference().departments[d].short(_locale())
                                                  for d in RECEIVERS[kind]))]
    elif to == sender:
        errors["to_department"] = [_l("A referral goes to another department.")]
    entity = db.session.get(Entity, data.get("entity_id")) if isinstance(data.get("entity_id"), int) else None
    if entity is None:
        errors["entity_id"] = [_l("Not found.")]
    inspection_id, violation_id = data.get("inspection_id"), data.get("violation_id")
    violation = db.session.get(Violation, violation_id) if isinstance(violation_id, int) else None
    inspection = db.session.get(Inspection, inspection_id) if isinstance(inspection_id, int) else None
    if violation_id is not None and (violation is None or (entity and violation.entity_id != entity.id)):
        errors["violation_id"] = [_l("Not a violation of this entity.")]
    if inspection_id is not None and (inspection is None or (entity and inspection.entity_id != entity.id)):
        errors["inspection_id"] = [_l("Not an inspection of this entity.")]
    reason = " ".join(str(data.get("reason") or "").split())
    if not reason:
        errors["reason"] = [_l("Say what is referred and why.")]
    elif len(reason) > TEXT_MAX:
        errors["reason"] = [_l("At most %(n)d characters.", n=TEXT_MAX)]
    restricted = data.get("restricted_data")
    if restricted is not None and not isinstance(restricted, (dict, list, str)):
        errors["restricted_data"] = [_l("Invalid value.")]
    elif restricted is not None and len(json.dumps(restricted, ensure_ascii=False)) > 20000:
        errors["restricted_data"] = [_l("Too long.")]
    if restricted and kind == "case":
        errors["restricted_data"] = [_l("Victims' details go with a criminal or a relief referral only.")]
    attachments = [] if errors else _clean_attachments(data.get("attachments"), kind,
                                                       [violation.id] if violation else [], errors)
    if errors:
        raise InvalidData(errors)
    if status is None:
        status = "pending" if kind == "criminal" and not can(user, "cases.decide", entity) else "sent"
    user_id = getattr(user, "id", None)
    now = now_utc()
    urgent = bool(data.get("urgent")) or kind == "criminal"
    referral = Referral(kind=kind, from_department=sender,
                        to_department=to, entity_id=entity.id, inspection_id=inspection.id if inspection else None,
                        violation_id=violation.id if violation else None, urgent=urgent,
                        due_dt=now + timedelta(hours=rules().clocks["criminal_transfer_hours"])
                        if kind == "criminal" else None,
                        reason=reason, attachments=attachments, restricted_data=seal_restricted(restricted),
                        status=status, created_by_id=user_id, sent_dt=now if status == "sent" else None)
    db.session.add(referral)
    db.session.flush()
    return referral


def referral_for_transfer(case, to: str, user, data: dict) -> Referral:
    """The referral behind a case's transfer: the criminal referral the inspection opened (now sent), or
    a new one (criminal when a violation is a suspected crime and the police receive it)."""
    existing = case.referral
    if existing is not None and existing.to_department == to and existing.status == "pending":
        existing.status, existing.sent_dt = "sent", now_utc()
        db.session.flush()
        return existing
    criminal = to == "police" and any(v.criminal for v in case.violations)
    reason = " ".join(str(data.get("referral_reason") or "").split()) or "、".join(
        _violation_summary(v) for v in case.violations) or f"案件（编号{case.id}）移送"
    return create_referral(user, {
        "kind": "criminal" if criminal else "case", "to_department": to, "entity_id": case.entity_id,
        "inspection_id": case.inspection_id, "violation_id": case.violations[0].id if case.violations else None,
        "reason": reason, "attachments": data.get("attachments"), "from_department": case.handling_department,
        "restricted_data": data.get("restricted_data") if criminal else None}, status="sent")


def _violation_summary(violation: Violation) -> str:
    from ..inspection.services import violation_type_for
    vtype = violation_type_for(violation)
    return vtype.title_zh if vtype else violation.type_code


def _linked_case(referral: Referral):
    from .models import Case
    return db.session.scalar(sa.select(Case).where(Case.referral_id == referral.id))


def send_referral(referral: Referral, user) -> Referral:
    """The head approves and sends a pending referral; a linked case becomes transferred."""
    if referral.status != "pending":
        raise InvalidData({"status": [_l("Only a referral awaiting approval can be sent.")]})
    case = _linked_case(referral)
    if case is not None and "transferred" in _transitions()[case.status]:
        from .services import transition
        transition(case, "transferred", user, "批准移送", {"to_department": referral.to_department})
    else:
        referral.status, referral.sent_dt = "sent", now_utc()
    db.session.flush()
    return referral


def acknowledge_referral(referral: Referral, user, note: str | None = None) -> Referral:
    """The receiving department confirms receipt (移送规定 Art 7: the police sign the 回执)."""
    if referral.status not in ("pending", "sent"):
        raise InvalidData({"status": [_l("This referral was already acknowledged.")]})
    referral.status, referral.acknowledged_dt, referral.acknowledged_by_id = "acknowledged", now_utc(), user.id
    if referral.sent_dt is None:
        referral.sent_dt = referral.acknowledged_dt
    db.session.flush()
    _follow_case(referral, "acknowledged", user, note or "接收部门确认收到移送")
    return referral


def record_outcome(referral: Referral, user, outcome: str) -> Referral:
    text = " ".join(str(outcome or "").split())
    if not text:
        raise InvalidData({"outcome": [
            _l("Describe the outcome (e.g. case filed, not filed and why, victims placed).")]})
    if len(text) > TEXT_MAX:
        raise InvalidData({"outcome": [_l("At most %(n)d characters.", n=TEXT_MAX)]})
    if referral.status != "acknowledged":
        raise InvalidData({"status": [_l("Acknowledge the referral before recording its outcome.")]})
    referral.status, referral.outcome, referral.outcome_dt = "outcome_recorded", text, now_utc()
    db.session.flush()
    _follow_case(referral, "outcome_recorded", user, text)
    return referral


def _follow_case(referral: Referral, to_status: str, user, reason: str) -> None:
    case = _linked_case(referral)
    if case is not None and to_status in _transitions()[case.status]:
        from .services import transition
        transition(case, to_status, user, reason, procedure=True)


def _transitions():
    from .services import TRANSITIONS
    return TRANSITIONS


def reveal_restricted(referral: Referral, user, reason: str):
    """Victims' details for the receiving department's liaison roles; the reading is audited (never
    the details themselves). Raises PermissionError for anyone else."""
    if not can(user, "referrals.restricted", referral):
        raise PermissionError("referrals.restricted")
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidData({"reason": [_l("Give the reason for reading the victims' details.")]})
    if referral.restricted_data is None:
        return None
    record_event(db.session, "reveal", "referral_restricted_data", referral.id,
                 after={"reason": reason[:500], "by": user.username})
    return json.loads(open_text(referral.restricted_data, SEAL_PURPOSE))


def attachment_label(item: dict) -> str:
    return item.get("title") or item.get("code") or ""


def _locale() -> str:
    from flask_babel import get_locale
    return str(get_locale() or "zh_CN")
