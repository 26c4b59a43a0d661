"""An entity's history in one chronological view: licences, status changes, inspections, violations,
cases, referrals, notices and tip-offs.

Each source is a provider registered with :func:`timeline_provider` (like the registry's risk
providers): ``provider(entity, user) -> list[Entry]``. An area that is not installed (no ``notices``
package or table) simply contributes nothing; an area may register its own provider instead.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Callable

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from ..auth.permissions import can
from ..extensions import db
from ..inspection.models import Inspection, Referral, Violation
from ..inspection.services import violation_type_for
from ..util import now_utc
from .models import Case, TipOff

log = logging.getLogger(__name__)

KIND_LABELS = {
    "licence": _l("Licence"), "status": _l("Status"), "inspection": _l("Inspection"),
    "violation": _l("Violation"), "case": _l("Case"), "referral": _l("Referral"), "notice": _l("Notice"),
    "tipoff": _l("Tip-off"),
}


@dataclass
class Entry:
    at: datetime
    kind: str
    title: str
    detail: str = ""
    url: str | None = None
    tags: list[str] = field(default_factory=list)

    @property
    def kind_label(self) -> str:
        return str(KIND_LABELS.get(self.kind, self.kind))


TimelineProvider = Callable[[object, object], list[Entry]]
TIMELINE_PROVIDERS: list[TimelineProvider] = []


def timeline_provider(func: TimelineProvider) -> TimelineProvider:
    TIMELINE_PROVIDERS.append(func)
    return func


def _at(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0, 0), tzinfo=now_utc().tzinfo) if day else None


def entity_timeline(entity, user, limit: int = 200) -> list[Entry]:
    """Newest first."""
    entries = [entry for provider in TIMELINE_PROVIDERS for entry in provider(entity, user)]
    entries.sort(key=lambda e: e.at, reverse=True)
    return entries[:limit]


@timeline_provider
def _registry(entity, user) -> list[Entry]:
    from ..registry.services import LICENCE_STATUS_LABELS, STATUS_LABELS
    out = [Entry(c.created_dt, "status", str(STATUS_LABELS.get(c.to_status, c.to_status)), c.reason)
           for c in entity.status_changes]
    for lic in entity.licences:
        out.append(Entry(_at(lic.issued_on) or lic.created_dt, "licence", f"{lic.type} {lic.number}",
                         str(LICENCE_STATUS_LABELS.get(lic.status, lic.status))))
    return out


@timeline_provider
def _inspections(entity, user) -> list[Entry]:
    out = []
    for inspection in db.session.scalars(sa.select(Inspection).where(Inspection.entity_id == entity.id)):
        at = inspection.completed_dt or _at(inspection.scheduled_date) or inspection.created_dt
        title = str(_l("Follow-up inspection")) if inspection.origin == "follow_up" else str(_l("Inspection"))
        out.append(Entry(at, "inspection", f"{title} #{inspection.id}", inspection.status,
                         tags=[inspection.origin] + ([inspection.outcome] if inspection.outcome else [])))
    for violation in db.session.scalars(sa.select(Violation).where(Violation.entity_id == entity.id)):
        vtype = violation_type_for(violation)
        detail = "" if violation.restricted and not can(user, "cases.manage", violation) else violation.description
        out.append(Entry(violation.created_dt, "violation", vtype.title(_locale()) if vtype else violation.type_code,
                         detail, tags=["criminal"] if violation.criminal else []))
    return out


@timeline_provider
def _cases(entity, user) -> list[Entry]:
    from .services import STATUS_LABELS
    out = []
    for case in db.session.scalars(sa.select(Case).where(Case.entity_id == entity.id)):
        url = url_for("cases.detail", case_id=case.id) if can(user, "cases.view", case) else None
        for event in case.events:
            out.append(Entry(event.created_dt, "case", f"{_l('Case')} #{case.id}: "
                                                       f"{STATUS_LABELS.get(event.to_status, event.to_status)}",
                             event.reason, url=url))
    for referral in db.session.scalars(sa.select(Referral).where(Referral.entity_id == entity.id)):
        from .referrals import KIND_LABELS as REFERRAL_KINDS
        out.append(Entry(referral.created_dt, "referral", str(REFERRAL_KINDS.get(referral.kind, referral.kind)),
                         _department(referral.to_department), tags=[referral.status]))
    return out


@timeline_provider
def _tipoffs(entity, user) -> list[Entry]:
    from .tipoffs import CATEGORY_LABELS, STATUS_LABELS
    triage = can(user, "tipoffs.triage")
    out = []
    for tipoff in db.session.scalars(sa.select(TipOff).where(TipOff.entity_id == entity.id)):
        # the description may name the reporter: only triage sees it; nobody sees the contact here
        out.append(Entry(tipoff.received_dt, "tipoff", str(CATEGORY_LABELS.get(tipoff.category, tipoff.category)),
                         tipoff.description[:300] if triage else str(STATUS_LABELS[tipoff.status]),
                         url=url_for("tipoffs.triage", tipoff_id=tipoff.id) if triage else None))
    return out


@timeline_provider
def _notices(entity, user) -> list[Entry]:
    """Notices when the notices area is installed; read through the columns it has."""
    try:
        from ..notices.models import Notice  # type: ignore[import-not-found]
    except ImportError:
        return []
    table = Notice.__table__
    columns = set(table.c.keys())
    stmt = sa.select(Notice)
    if "entity_id" in columns:
        stmt = stmt.where(table.c.entity_id == entity.id)
    elif {"case_id", "inspection_id"} & columns:
        conditions = []
        if "case_id" in columns:
            conditions.append(table.c.case_id.in_(sa.select(Case.id).where(Case.entity_id == entity.id)))
        if "inspection_id" in columns:
            conditions.append(table.c.inspection_id.in_(
                sa.select(Inspection.id).where(Inspection.entity_id == entity.id)))
        stmt = stmt.where(sa.or_(*conditions))
    else:
        log.warning("notices table has no entity, case or inspection column: left out of the timeline")
        return []
    out = []
    for notice in db.session.scalars(stmt):
        at = next((getattr(notice, name) for name in ("issued_dt", "created_dt", "issued_at")
                   if isinstance(getattr(notice, name, None), datetime)), None)
        if at is None:
            continue
        title = " ".join(str(getattr(notice, name)) for name in ("type", "number")
                         if getattr(notice, name, None))
        out.append(Entry(at, "notice", title or str(_l("Notice"))))
    return out


def _department(code: str) -> str:
    from ..i18n import department_short
    return department_short(code)


def _locale() -> str:
    from flask_babel import get_locale
    return str(get_locale() or "zh_CN")
