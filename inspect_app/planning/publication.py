"""一公开: what the public may see of joint campaigns, by the policy in ``registries/publication.yaml``.

Published campaigns (published, in progress or closed) with their verifiable draw; their drawn
targets when the policy says so; and the results of their completed random inspections (entity,
credit code, kind, county, date, outcome, the violation types found). The queries here select
named columns only: inspectors, teams, credential numbers, party names, descriptions, evidence,
referral details and cause notes are never read, so they cannot leak into a page, the JSON or
the CSV. A restricted violation (possible victims, suspected crime) shows only that it was
referred, or nothing, per the policy; the legal representative's name only when the policy says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Iterator
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..extensions import db
from ..inspection.models import OUTCOMES, Inspection, Violation
from ..reference import ReferenceDataError, _flatten, _read_mapping
from ..registry.models import Entity
from ..workdays import add_workdays
from .models import Campaign

POLICY_FILE = "publication.yaml"
PUBLIC_STATUSES = ("published", "in_progress", "closed")
TARGETS_WHEN = ("at_publication", "at_close", "never")
OUTCOME_LABELS = {
    "compliant": _l("No problems found"),
    "violations": _l("Problems found and dealt with according to law"),
    "referred": _l("Problems found and referred to the competent authority"),
    "closed_premises": _l("Premises closed or not found at the registered address"),
    "refused_entry": _l("Refused or obstructed the inspection"),
}
assert set(OUTCOME_LABELS) == set(OUTCOMES)
REFERRED_TO_POLICE = ("referred_to_police", _l("Referred to the public security organ"))
RESTRICTED = ("restricted", _l("A violation concerning protected persons (details not published)"))


# --- the policy -------------------------------------------------------------------------------

class _ResultsSchema(Schema):
    class Meta:
        unknown = "raise"
    delay_workdays = fields.Integer(load_default=0, validate=validate.Range(min=0, max=60))
    deadline_workdays = fields.Integer(load_default=20, validate=validate.Range(min=1, max=60))


class _PolicySchema(Schema):
    class Meta:
        unknown = "raise"
    drawn_targets = fields.String(load_default="at_publication", validate=validate.OneOf(TARGETS_WHEN))
    results = fields.Nested(_ResultsSchema, load_default=lambda: {"delay_workdays": 0, "deadline_workdays": 20})
    legal_representative = fields.Boolean(load_default=False)
    restricted_violations = fields.String(load_default="referred", validate=validate.OneOf(("referred", "omit")))


@dataclass(frozen=True)
class PublicationPolicy:
    drawn_targets: str = "at_publication"
    delay_workdays: int = 0
    deadline_workdays: int = 20
    legal_representative: bool = False
    restricted_violations: str = "referred"


def load_policy(directory: str | Path) -> PublicationPolicy:
    """Read and check ``publication.yaml``; ReferenceDataError names the file and the field."""
    path = Path(directory) / POLICY_FILE
    try:
        data = _PolicySchema().load(_read_mapping(path))
    except ValidationError as exc:
        raise ReferenceDataError("\n".join(f"{path}: field '{f}': {m}" for f, m in _flatten(exc.messages))) from None
    results = data["results"]
    if results["delay_workdays"] > results["deadline_workdays"]:
        raise ReferenceDataError(f"{path}: field 'results.delay_workdays': {results['delay_workdays']} is beyond "
                                 f"the deadline of {results['deadline_workdays']} working days")
    return PublicationPolicy(drawn_targets=data["drawn_targets"], delay_workdays=results["delay_workdays"],
                             deadline_workdays=results["deadline_workdays"],
                             legal_representative=data["legal_representative"],
                             restricted_violations=data["restricted_violations"])


def init_policy(app) -> None:
    """Load the policy at start-up (a bad file stops the application like a bad registry)."""
    app.extensions["inspect_publication"] = load_policy(app.config["REGISTRIES_DIR"])


def policy() -> PublicationPolicy:
    return current_app.extensions["inspect_publication"]


# --- dates ------------------------------------------------------------------------------------

def _zone() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("BABEL_DEFAULT_TIMEZONE") or "Asia/Shanghai")


def local_date(moment: datetime | None) -> date | None:
    return moment.astimezone(_zone()).date() if moment is not None else None


def local_today() -> date:
    return datetime.now(_zone()).date()


def results_cutoff(today: date | None = None, delay: int | None = None) -> datetime:
    """Results completed before this moment (UTC) are public: the end of the latest local day D
    with add_workdays(D, delay) <= today."""
    today = today or local_today()
    delay = policy().delay_workdays if delay is None else delay
    day = today
    while delay and add_workdays(day, delay) > today:
        day -= timedelta(days=1)
    return datetime.combine(day + timedelta(days=1), time(0), _zone()).astimezone(timezone.utc)


def publication_deadline(campaign: Campaign) -> date | None:
    """For a campaign not yet published: the date by which the rule wants its results public
    (deadline_workdays after its first completed inspection), else None."""
    if campaign.status in PUBLIC_STATUSES:
        return None
    first = db.session.scalar(sa.select(sa.func.min(Inspection.completed_dt)).where(
        Inspection.campaign_id == campaign.id, Inspection.status == "completed"))
    return add_workdays(local_date(first), policy().deadline_workdays) if first else None


# --- campaigns and targets --------------------------------------------------------------------

def public_campaigns_query():
    return sa.select(Campaign).where(Campaign.status.in_(PUBLIC_STATUSES)) \
        .order_by(Campaign.published_dt.desc(), Campaign.id.desc())


def public_campaign(campaign_id: int) -> Campaign | None:
    campaign = db.session.get(Campaign, campaign_id)
    return campaign if campaign is not None and campaign.status in PUBLIC_STATUSES else None


def targets_are_public(campaign: Campaign) -> bool:
    when = policy().drawn_targets
    return campaign.status in PUBLIC_STATUSES and (when == "at_publication" or
                                                   (when == "at_close" and campaign.status == "closed"))


def _names() -> tuple[str, dict, dict]:
    locale = str(get_locale() or "zh_CN")
    ref = current_app.extensions["inspect_reference"]
    kinds = {code: kind.name(locale) for code, kind in ref.kinds.items()}
    counties = {code: region.name(locale) for code, region in ref.regions.items()}
    return locale, kinds, counties


def public_targets(campaign: Campaign) -> list[dict]:
    """The drawn targets (name, credit code, kind, county), when the policy makes them public."""
    if not targets_are_public(campaign) or campaign.draw is None or not campaign.draw.result:
        return []
    _locale, kinds, counties = _names()
    ids = campaign.draw.result["targets"]
    rows = db.session.execute(sa.select(Entity.id, Entity.name, Entity.credit_code, Entity.kind, Entity.region_code)
                              .where(Entity.id.in_(ids)).order_by(Entity.region_code, Entity.name, Entity.id)).all()
    return [{"entity_name": r.name, "credit_code": r.credit_code, "kind": r.kind,
             "kind_name": kinds.get(r.kind, r.kind), "region_code": r.region_code,
             "county": counties.get(r.region_code, r.region_code)} for r in rows]


def campaign_summary(campaign: Campaign) -> dict:
    """A published campaign as the public sees it, with what anyone needs to re-check its draw."""
    draw = campaign.draw
    return {
        "id": campaign.id, "name": campaign.name, "status": campaign.status,
        "lead_department": campaign.lead_department, "departments": campaign.departments, "kinds": campaign.kinds,
        "region_codes": campaign.region_codes, "start_date": campaign.start_date, "end_date": campaign.end_date,
        "published_at": campaign.published_dt, "closed_at": campaign.closed_dt,
        "targets_public": targets_are_public(campaign),
        "draw": None if draw is None or draw.seed is None else {
            "algorithm": draw.algorithm, "population_size": draw.population_size,
            "population_hash": draw.population_hash, "inputs_hash": draw.inputs_hash,
            "seed_commitment": draw.seed_commitment, "seed": draw.seed, "result_hash": draw.result_hash,
            "targets": len(draw.result["targets"]), "committed_at": draw.committed_dt, "drawn_at": draw.drawn_dt},
    }


# --- results ----------------------------------------------------------------------------------

RESULT_FIELDS = ("id", "campaign_id", "campaign", "entity_name", "credit_code", "kind", "kind_name", "region_code",
                 "county", "inspection_date", "outcome", "outcome_label", "violations")


def results_query(filters: dict | None = None, today: date | None = None):
    """The public results' rows (named columns only), newest first."""
    filters = filters or {}
    columns = [Inspection.id, Inspection.campaign_id, Campaign.name.label("campaign"),
               Entity.name.label("entity_name"), Entity.credit_code, Entity.kind, Entity.region_code,
               Inspection.completed_dt, Inspection.outcome]
    if policy().legal_representative:
        columns.append(Entity.legal_representative)
    stmt = (sa.select(*columns).join(Campaign, Campaign.id == Inspection.campaign_id)
            .join(Entity, Entity.id == Inspection.entity_id)
            .where(Campaign.status.in_(PUBLIC_STATUSES), Inspection.origin == "random",
                   Inspection.status == "completed", Inspection.outcome.is_not(None),
                   Inspection.completed_dt < results_cutoff(today)))
    if filters.get("campaign"):
        stmt = stmt.where(Inspection.campaign_id == filters["campaign"])
    if filters.get("region"):
        stmt = stmt.where(Entity.region_code == filters["region"])
    if filters.get("kind"):
        stmt = stmt.where(Entity.kind == filters["kind"])
    if filters.get("outcome"):
        stmt = stmt.where(Inspection.outcome == filters["outcome"])
    if filters.get("q"):
        pattern = "%" + filters["q"].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Entity.name.like(pattern, escape="\\"), Entity.credit_code.like(pattern, escape="\\")))
    return stmt.order_by(Inspection.completed_dt.desc(), Inspection.id.desc())


def _violations(inspection_ids: list[int], locale: str) -> dict[int, list[dict]]:
    """The violation types found, per inspection: catalogue titles as each inspection pinned the catalogue;
    restricted ones per the policy."""
    from ..inspection.services import pinned_types_by_inspection
    if not inspection_ids:
        return {}
    omit = policy().restricted_violations == "omit"
    found: dict[int, list[dict]] = {}
    rows = db.session.execute(sa.select(Violation.inspection_id, Violation.type_code, Violation.restricted,
                                        Violation.criminal)
                              .where(Violation.inspection_id.in_(inspection_ids), Violation.status != "withdrawn")
                              .order_by(Violation.inspection_id, Violation.id)).all()
    types = pinned_types_by_inspection({row.inspection_id for row in rows})
    for inspection_id, type_code, restricted, criminal in rows:
        if restricted:
            if omit:
                continue
            code, title = REFERRED_TO_POLICE if criminal else RESTRICTED
            title = str(title)
        else:
            entry = types[inspection_id].get(type_code)
            code = type_code
            title = (entry.title_zh if locale.startswith("zh") else entry.title_en) if entry else type_code
        items = found.setdefault(inspection_id, [])
        if not any(item["code"] == code for item in items):  # one line per type
            items.append({"code": code, "title": title})
    return found


def result_items(rows) -> list[dict]:
    """Plain dicts of result rows, with labels in the current language and the violation types."""
    locale, kinds, counties = _names()
    rows = list(rows)
    violations = _violations([r.id for r in rows], locale)
    with_rep = policy().legal_representative
    items = []
    for r in rows:
        item = {"id": r.id, "campaign_id": r.campaign_id, "campaign": r.campaign, "entity_name": r.entity_name,
                "credit_code": r.credit_code, "kind": r.kind, "kind_name": kinds.get(r.kind, r.kind),
                "region_code": r.region_code, "county": counties.get(r.region_code, r.region_code),
                "inspection_date": local_date(r.completed_dt), "outcome": r.outcome,
                "outcome_label": str(OUTCOME_LABELS.get(r.outcome, r.outcome)),
                "violations": violations.get(r.id, [])}
        if with_rep:
            item["legal_representative"] = r.legal_representative
        items.append(item)
    return items


def results_page(filters: dict, page: int, per_page: int) -> dict:
    stmt = results_query(filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    rows = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    return {"items": result_items(rows), "total": total, "page": page, "per_page": per_page}


def iter_results(filters: dict, batch: int = 1000) -> Iterator[dict]:
    """Every public result of the filters, in pages of ``batch`` (for the CSV)."""
    offset = 0
    stmt = results_query(filters)
    while True:
        rows = db.session.execute(stmt.limit(batch).offset(offset)).all()
        yield from result_items(rows)
        if len(rows) < batch:
            return
        offset += batch
