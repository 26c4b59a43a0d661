"""The data of a notice, read from the inspection or the case and frozen as plain JSON at issue.

Nothing here changes data. :func:`build_draft` returns everything a notice prints except its number and
verification data, which :func:`finalize` adds once the number is taken. Cases are read through these
attributes of :class:`~inspect_app.cases.models.Case` (``case.id, entity, region_code, acting_department,
inspection, violations, status, filed_on, opened_dt, rectification_deadline, penalty_amount, penalty_reason,
hearing_offered, transfer_to, referral``), so this module does not import the cases area.
"""
from __future__ import annotations

import base64
import hashlib
import json
from datetime import date, datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from ..errors import InvalidData
from ..extensions import db
from .config import NOTICE_TYPES, NoticeSettings
from .render import zh_date

SCHEMA = 1
LOCAL_TZ = ZoneInfo("Asia/Shanghai")
ORIGIN_ZH = {"random": "双随机抽查", "cause": "有因检查", "follow_up": "复查", "manual": "专项检查"}
RESULT_ZH = {"pass": "符合", "fail": "不符合", "na": "不适用"}
# What the party must do, by the catalogue's measures (violation_types.yaml); otherwise "改正上述违法行为".
REQUIREMENTS_ZH = {
    "order_refund": "退还向劳动者收取的押金或者费用",
    "order_return_documents": "退还扣押的居民身份证等证件",
    "order_return_child": "将童工送回原居住地，交其父母或者其他监护人，所需费用由你单位承担",
    "order_to_stop": "停止违法行为",
    "stop_advertisement": "停止发布虚假广告，消除影响",
}
# 劳动保障监察条例 Art 18(1)(二): 对应当改正未改正的，依法责令改正 [RC for the item number]
ORDER_BASIS = ["《中华人民共和国行政处罚法》第二十八条"]
ORDER_BASIS_HRSS = ["《劳动保障监察条例》第十八条第一款第（二）项"]


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def snapshot_sha256(snapshot: dict) -> str:
    return hashlib.sha256(canonical(snapshot)).hexdigest()


def local_day(moment: datetime | None = None) -> date:
    return (moment or datetime.now(timezone.utc)).astimezone(LOCAL_TZ).date()


def local_minute(moment: datetime | None) -> str | None:
    """A timestamp as the documents print it: Beijing time to the minute, ISO form (2026-11-30T09:05)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(LOCAL_TZ).strftime("%Y-%m-%dT%H:%M")


# --------------------------------------------------------------------------------------------
# Citations in the documents' form: 《人力资源市场暂行条例》第三十二条第一款第（四）项

def _cn(value) -> str:
    import cn2an
    return cn2an.an2cn(int(value))


def _article_zh(article: str) -> str:
    text = str(article).strip()
    main, _, sub = text.partition("-")
    if main.isdigit():
        out = f"第{_cn(main)}条"
        return out + (f"之{_cn(sub)}" if sub.isdigit() else "")
    return f"第{text}条"


def cite(ref: dict | None) -> str | None:
    if not ref or not ref.get("law_name_zh"):
        return None
    text = f"《{ref['law_name_zh']}》"
    if ref.get("article") not in (None, ""):
        text += _article_zh(ref["article"])
    if ref.get("paragraph"):
        text += f"第{_cn(ref['paragraph'])}款"
    if ref.get("item"):
        text += f"第（{_cn(ref['item'])}）项"
    return text


def _unique(values) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


# --------------------------------------------------------------------------------------------
# Pieces

def department_data(settings: NoticeSettings, code: str) -> dict:
    reference = current_app.extensions["inspect_reference"]
    department = reference.departments[code]
    own = settings.department(code)
    return {"code": code, "name": department.name_zh, "abbr": department.abbr,
            "address": own.address if own else "", "phone": own.phone if own else ""}


def party_data(entity) -> dict:
    return {"id": entity.id, "name": entity.name, "credit_code": entity.credit_code, "address": entity.address,
            "legal_representative": entity.legal_representative, "kind": entity.kind}


def officer_data(user, department_names: dict) -> dict:
    return {"user_id": user.id, "name": user.full_name, "credential_number": user.credential_number,
            "department": department_names.get(user.department_code, user.department_code)}


class ViolationTypes:
    """Catalogue entries as the inspection pinned them (its catalogue and checklist versions); without an
    inspection, the current YAML. A violation is read as its own inspection pinned it (:meth:`of`)."""

    def __init__(self, inspection=None):
        from ..checklist.services import checklist_at
        from ..inspection.services import violation_types_of
        if inspection is not None:
            self.types = dict(violation_types_of(inspection))
        else:
            self.types = dict(current_app.extensions["inspect_checklists"].violation_types)
        self.questions: dict[str, str] = {}
        self.checklist_titles: list[str] = []
        for pinned in getattr(inspection, "checklists", None) or []:
            try:
                checklist = checklist_at(pinned.code, pinned.version)
            except Exception:  # noqa: BLE001 - an unknown pinned version: fall back to the current YAML
                continue
            self.types.update(checklist.violation_types)
            self.checklist_titles.append(checklist.title_zh)
            for item in checklist.items:
                self.questions[item.code] = item.question_zh
                self.questions.setdefault(item.local_code, item.question_zh)

    def get(self, code: str):
        return self.types.get(code)

    def of(self, violation):
        """A recorded violation's entry as its inspection pinned it (a follow-up's violation by the
        follow-up's pin)."""
        from ..inspection.services import violation_type_for
        if getattr(violation, "inspection", None) is not None:
            return violation_type_for(violation)
        return self.get(violation.type_code)


def violation_data(violation, types: ViolationTypes, *, deadline: date | None = None) -> dict:
    vtype = types.of(violation)
    penalty = (vtype.penalty or {}) if vtype else {}
    measures = [m.get("type") for m in penalty.get("measures") or []]
    requirement = "；".join(REQUIREMENTS_ZH[m] for m in measures if m in REQUIREMENTS_ZH) or "改正上述违法行为"
    crimes = []
    if vtype and vtype.referral and vtype.referral.get("type") == "criminal":
        for crime in vtype.referral.get("crimes") or []:
            crimes.append({"article": cite(crime) or "", "name": crime.get("name_zh") or ""})
    return {
        "id": violation.id,
        "type_code": violation.type_code,
        "title": vtype.title_zh if vtype else violation.type_code,
        "description": violation.description or "",
        "basis": _unique(cite(ref) for ref in (vtype.basis if vtype else ())),
        "penalty_basis": _unique([cite(penalty.get("article"))]),
        "penalty_text": penalty.get("text_zh") or "",
        "requirement": requirement,
        "deadline": deadline.isoformat() if deadline else None,
        "criminal": bool(violation.criminal),
        "crimes": crimes,
        "acting_department": violation.acting_department,
    }


def evidence_data(items) -> list[dict]:
    rows, seen = [], set()
    for e in items:
        if e.id in seen:
            continue
        seen.add(e.id)
        form = "照片" if (e.mime or "").startswith("image/") else "电子文件"
        rows.append({"id": e.id, "caption": e.caption or e.original_name or "现场照片", "form": form,
                     "taken": local_minute(e.taken_dt or e.created_dt), "sha256": e.sha256})
    return rows


def signature_data(sig) -> dict:
    return {"name": sig.signer_name, "role": sig.role, "refused": bool(sig.refused), "note": sig.note,
            "png": base64.b64encode(sig.image_png).decode("ascii") if sig.image_png else None,
            "sha256": sig.sha256, "at": local_minute(sig.signed_dt)}


def _filed_on(case) -> date | None:
    """立案日: the day the case was filed (its statutory clocks run from it), else the day it was opened."""
    filed = getattr(case, "filed_on", None)
    if filed is not None:
        return filed
    return local_day(case.opened_dt) if case.opened_dt else None


def _open(violations) -> list:
    return [v for v in violations if getattr(v, "status", "open") != "withdrawn"]


def _team(inspection, department_names) -> list[dict]:
    return [officer_data(m.user, department_names) for m in inspection.members]


# A case's documents name its handling officers (承办人员) of the deciding department, not the joint team
# (the service receipt of a case: they serve its documents); the on-site record keeps the whole team: it
# records who was there. The penalty ones need two (Art 42).
CASE_OFFICER_NOTICES = ("rectification_order", "penalty_advance_notice", "penalty_decision", "service_receipt")
PENALTY_NOTICES = ("penalty_advance_notice", "penalty_decision")


def _case_officers(notice_type: str, case, department_names) -> list[dict] | None:
    from ..cases.services import officers_missing, valid_officers
    if notice_type in PENALTY_NOTICES:
        missing = officers_missing(case)
        if missing is not None:
            raise InvalidData({"officers": [str(missing)]})
    officers = valid_officers(case)
    return [officer_data(u, department_names) for u in officers] or None


# --------------------------------------------------------------------------------------------
# Drafts by type

def build_draft(notice_type: str, settings: NoticeSettings, department: str, *, user, today: date,
                inspection=None, case=None, served: list | None = None) -> dict:
    """Everything the notice prints except its number and verification; raises InvalidData (422)
    when the inspection or case does not support this notice."""
    if notice_type not in NOTICE_TYPES:
        raise InvalidData({"type": [_("Unknown notice type.")]})
    own = settings.department(department)
    if own is None:
        raise InvalidData({"type": [_("Your department does not issue notices.")]})
    reference = current_app.extensions["inspect_reference"]
    names = {code: d.name_zh for code, d in reference.departments.items()}
    if case is not None and inspection is None:
        inspection = getattr(case, "inspection", None)
    entity = case.entity if case is not None else inspection.entity
    types = ViolationTypes(inspection)
    officers = None
    if case is not None and notice_type in CASE_OFFICER_NOTICES:
        officers = _case_officers(notice_type, case, names)
    if officers is None and inspection is not None and inspection.members:
        officers = _team(inspection, names)
    if officers is None:
        officers = [officer_data(user, names)]
    draft = {
        "schema": SCHEMA, "type": notice_type, "title": own.title(notice_type),
        "issued_date": today.isoformat(), "department": department_data(settings, department),
        "party": party_data(entity),
        "source": {"inspection_id": inspection.id if inspection is not None else None,
                   "case_id": case.id if case is not None else None},
        "officers": officers,
        "issued_by": officer_data(user, names),
        "review": {"body": settings.review_body, "court": settings.court, "days": settings.review_days,
                   "months": settings.litigation_months},
        "violations": [], "evidence": [], "seal": None, "body": {},
    }
    builder = _BUILDERS[notice_type]
    builder(draft, settings=settings, department=department, inspection=inspection, case=case, types=types,
            today=today, names=names, served=served or [])
    return draft


def _inspection_record(draft, *, inspection, types, **unused):
    if inspection is None:
        raise InvalidData({"inspection_id": [_("An on-site record is made from an inspection.")]})
    if inspection.status != "completed":
        raise InvalidData({"inspection_id": [_("The inspection is not completed yet.")]})
    checks = []
    for answer in inspection.answers:
        if answer.result is None:
            continue
        checks.append({"item_code": answer.item_code,
                       "question": types.questions.get(answer.item_code, answer.item_code),
                       "result": RESULT_ZH.get(answer.result, answer.result), "note": answer.note or ""})
    signatures = {"officers": [], "party": None, "witness": None}
    for sig in inspection.signatures:
        data = signature_data(sig)
        if sig.role == "officer":
            signatures["officers"].append(data)
        else:
            signatures[sig.role] = data
    attestations = [{"name": a.user.full_name if a.user else "", "at": local_minute(a.attested_dt),
                     "credential_number": a.credential_number} for a in inspection.attestations]
    draft["violations"] = [violation_data(v, types) for v in _open(inspection.violations)]
    draft["evidence"] = evidence_data(inspection.evidence)
    campaign = None
    if inspection.campaign_id:
        from ..planning.models import Campaign
        row = db.session.get(Campaign, inspection.campaign_id)
        campaign = row.name if row else None
    draft["body"] = {
        "started": local_minute(inspection.started_dt), "completed": local_minute(inspection.completed_dt),
        "place": inspection.entity.address, "present": {"name": inspection.party_name, "role": inspection.party_role},
        "origin": ORIGIN_ZH.get(inspection.origin, inspection.origin), "campaign": campaign,
        "attestations": attestations, "checks": checks, "signatures": signatures,
        "checklists": types.checklist_titles,
    }


def _rectification_order(draft, *, department, inspection, case, types, today, **unused):
    from ..workdays import add_workdays
    if case is not None:
        candidates = _open(case.violations)
        fixed = getattr(case, "rectification_deadline", None)
    else:
        if inspection.status != "completed":
            raise InvalidData({"inspection_id": [_("The inspection is not completed yet.")]})
        candidates = [v for v in _open(inspection.violations) if v.acting_department == department]
        fixed = None
    rows = []
    for violation in candidates:
        vtype = types.of(violation)
        rule = (vtype.rectification if vtype else None) or {}
        if case is None and not rule.get("required"):
            continue
        days = rule.get("deadline_working_days", 0)
        deadline = fixed or (add_workdays(today, days) if days else None)
        rows.append(violation_data(violation, types, deadline=deadline))
    if not rows:
        field = "case_id" if case is not None else "inspection_id"
        raise InvalidData({field: [_("There is no violation your department must order to be rectified.")]})
    draft["violations"] = rows
    draft["evidence"] = evidence_data(e for v in candidates for e in v.evidence)
    # found at the inspection (a case's own one too); a case without one: the day it was filed
    found = (inspection.completed_dt or inspection.started_dt) if inspection is not None else None
    found_on = local_day(found) if found else (_filed_on(case) if case is not None else None)
    hrss = department == "hrss"
    short = "指令" if draft["title"].endswith("指令书") else "通知"
    if all(r["deadline"] is None for r in rows) and draft["title"] == NOTICE_TYPES["rectification_order"]:
        draft["title"] = "责令改正通知书"  # every item at once: no time limit to name
    draft["body"] = {
        "hrss": hrss, "short_name": short,
        "found_on": (found_on or today).isoformat(),
        "order_basis": ORDER_BASIS + (ORDER_BASIS_HRSS if hrss else []),
        "consequence_basis": _unique(b for r in rows for b in r["penalty_basis"]),
    }


def _require_case(case, notice_type):
    if case is None:
        raise InvalidData({"case_id": [_("This notice is issued from a case.")]})


def _penalty_common(draft, *, settings, case, types):
    violations = _open(case.violations)
    if not violations:
        raise InvalidData({"case_id": [_("The case has no violation.")]})
    if case.penalty_amount is None and not case.penalty_reason:
        raise InvalidData({"case_id": [_("The case has no proposed penalty.")]})
    if case.penalty_amount is not None and (not isinstance(case.penalty_amount, int) or case.penalty_amount <= 0):
        raise InvalidData({"case_id": [_("The penalty amount must be a positive whole number of yuan.")]})
    rows = [violation_data(v, types) for v in violations]
    draft["violations"] = rows
    draft["evidence"] = evidence_data(e for v in violations for e in v.evidence)
    draft["body"] = {
        "opened": _filed_on(case).isoformat() if _filed_on(case) else draft["issued_date"],
        "amount": case.penalty_amount, "reason": case.penalty_reason or "",
        "hearing": bool(case.hearing_offered),
        "breach_basis": _unique(b for r in rows for b in r["basis"]),
        "penalty_basis": _unique(b for r in rows for b in r["penalty_basis"]),
    }


def _penalty_advance_notice(draft, *, settings, case, types, **unused):
    _require_case(case, "penalty_advance_notice")
    _penalty_common(draft, settings=settings, case=case, types=types)
    draft["body"].update(statement_days=settings.statement_working_days,
                         hearing_days=settings.hearing_request_working_days)


def _penalty_decision(draft, *, settings, case, types, department, **unused):
    from .models import Notice
    _require_case(case, "penalty_decision")
    _penalty_common(draft, settings=settings, case=case, types=types)
    # 行政处罚法 Art 62: no decision without the advance notice of Art 44
    advance = db.session.scalar(sa.select(Notice).where(
        Notice.case_id == case.id, Notice.type == "penalty_advance_notice", Notice.status == "issued",
        Notice.department == department).order_by(Notice.id.desc()).limit(1)) if case.id is not None else None
    if advance is None:
        raise InvalidData({"case_id": [_("A penalty decision needs the advance notice of the penalty first "
                                         "(Administrative Penalty Law, Art. 62).")]})
    if case.decided_on is None:  # the document records a decision taken, with its amount; not the proposal
        raise InvalidData({"case_id": [_("Record the decision on the case (its date and amount) before issuing "
                                         "the penalty decision.")]})
    draft["body"].update(
        advance={"title": advance.title, "number": advance.number, "date": advance.snapshot.get("issued_date")},
        defence=_defence(case), payment_days=settings.payment_days, late_fee_percent=settings.late_fee_percent,
        payment_note=settings.payment_note)


def _defence(case) -> str:
    """What the decision says of the party's statement, defence and hearing, where the case records it."""
    if getattr(case, "hearing_held_on", None):
        return f"本机关于{zh_date(case.hearing_held_on.isoformat())}依法举行了听证。"
    if getattr(case, "rights_waived", False):
        return "你单位书面表示放弃陈述、申辩和要求听证的权利。"
    return ""


# the referral's list names the transfer letter itself; the letter does not list itself as its attachment
LETTER_CODES = ("transfer_letter", "case_transfer_letter")


def _attachments(referral, evidence: list, record_number: str | None) -> list[dict]:
    items = []
    for entry in (getattr(referral, "attachments", None) or []):
        title = str(entry.get("title") or "").strip()
        if title and entry.get("code") not in LETTER_CODES:
            count = entry.get("pages")
            items.append({"title": title, "count": f"{count}页" if count else "1份"})
    if not items:
        items.append({"title": "案件调查报告", "count": "1份"})
        if record_number:
            items.append({"title": f"现场检查笔录（{record_number}）", "count": "1份"})
        if evidence:
            items.append({"title": "证据材料（照片、电子数据等，清单见正文）", "count": f"{len(evidence)}项"})
        items.append({"title": "涉案物品清单", "count": "1份"})
    return items


def _referral_reason(referral, rows: list[dict]) -> str:
    """The referral's reason, unless it only repeats the violations' titles (the default a transfer without
    a reason gets), which the letter lists already."""
    reason = (getattr(referral, "reason", None) or "").strip()
    return "" if reason == "、".join(r["title"] for r in rows) else reason


def _record_number(inspection) -> str | None:
    if inspection is None:
        return None
    from .models import Notice
    return db.session.scalar(sa.select(Notice.number).where(
        Notice.inspection_id == inspection.id, Notice.type == "inspection_record", Notice.status == "issued")
        .order_by(Notice.id).limit(1))


def _criminal_transfer(draft, *, case, types, names, inspection, **unused):
    _require_case(case, "criminal_transfer")
    violations = [v for v in _open(case.violations)]
    if not violations:
        raise InvalidData({"case_id": [_("The case has no violation.")]})
    rows = [violation_data(v, types) for v in violations]
    referral = getattr(case, "referral", None)
    to = getattr(referral, "to_department", None) or "police"
    draft["violations"] = rows
    draft["evidence"] = evidence_data(e for v in violations for e in v.evidence)
    crimes = list({c["article"] + c["name"]: c for r in rows for c in r["crimes"]}.values())
    draft["body"] = {
        "to": to, "to_name": names.get(to, to), "crimes": crimes,
        "crime_names": _unique(c["name"] for c in crimes),
        "reason": _referral_reason(referral, rows),
        "attachments": _attachments(referral, draft["evidence"], _record_number(inspection)),
    }


def _case_transfer(draft, *, case, types, names, department, settings, inspection, **unused):
    _require_case(case, "case_transfer")
    to = getattr(case, "transfer_to", None)
    if not to or to not in names:
        raise InvalidData({"case_id": [_("The case names no department to transfer it to.")]})
    if to == department:
        raise InvalidData({"case_id": [_("A case is not transferred to its own department.")]})
    violations = _open(case.violations)
    rows = [violation_data(v, types) for v in violations]
    referral = getattr(case, "referral", None)
    draft["violations"] = rows
    draft["evidence"] = evidence_data(e for v in violations for e in v.evidence)
    draft["body"] = {
        "to": to, "to_name": names[to], "basis": settings.department(department).case_transfer_basis,
        "reason": _referral_reason(referral, rows),
        "attachments": _attachments(referral, draft["evidence"], _record_number(inspection)),
    }


def _service_receipt(draft, *, inspection, case, served, **unused):
    if not served:
        raise InvalidData({"notice_ids": [_("There is no issued notice to serve.")]})
    place = (case.entity if case is not None else inspection.entity).address
    draft["body"] = {"place": place,
                     "documents": [{"id": n.id, "title": n.title, "number": n.number, "pages": n.page_count}
                                   for n in served]}


_BUILDERS = {
    "inspection_record": _inspection_record,
    "rectification_order": _rectification_order,
    "penalty_advance_notice": _penalty_advance_notice,
    "penalty_decision": _penalty_decision,
    "criminal_transfer": _criminal_transfer,
    "case_transfer": _case_transfer,
    "service_receipt": _service_receipt,
}


def finalize(draft: dict, *, number: str, year: int, seq: int, verify_url: str, short_code: str,
             note: str, seal_sha256: str | None, template_version: str) -> dict:
    snapshot = dict(draft)
    snapshot.update(number=number, year=year, seq=seq, template_version=template_version,
                    verify={"url": verify_url, "short_code": short_code, "note": note},
                    seal={"sha256": seal_sha256} if seal_sha256 else None)
    # a round trip through JSON: what is stored is exactly what was rendered
    return json.loads(canonical(snapshot))
