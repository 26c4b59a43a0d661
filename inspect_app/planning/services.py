"""Campaigns: create, commit (freeze the inputs), draw, verify, add cause-based inspections,
publish. Validate, flush, audit; never commit."""
from __future__ import annotations

import re
import time
from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from ..audit.services import record_event
from ..auth.models import User, UserRole
from ..bulk import allocate_ids, bulk_insert, driver_rows
from ..errors import InvalidData
from ..extensions import db
from ..inspection.models import Inspection, InspectionMember
from ..registry.models import Entity
from ..util import SerializedJSON, now_utc
from ..workdays import workdays_between
from .draw import ALGORITHM, SeedMismatch, canonical, canonical_spliced, run_draw, sha256_hex
from .models import CAMPAIGN_STATUSES, Campaign, Draw, InspectorConflict, InspectorLeave

HEX64 = re.compile(r"^[0-9a-f]{64}$")
DRAWABLE_STATUSES = ("active", "suspended", "unlicensed")


class CampaignStateError(Exception):
    """The campaign is not in a state that allows this step."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


# The campaign's lifecycle. committed and drawn are reached by their own steps (the commitment,
# the seed); published, in_progress and closed by change_campaign_status. A published campaign
# moves to in_progress by itself when its first inspection starts (refresh_campaign_status).
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("committed",),
    "committed": ("drawn",),
    "drawn": ("published",),
    "published": ("in_progress", "closed"),
    "in_progress": ("closed",),
    "closed": (),
}
MANUAL_STATUSES = ("published", "in_progress", "closed")
assert set(TRANSITIONS) == set(CAMPAIGN_STATUSES)
OPEN_INSPECTION_STATUSES = ("planned", "in_progress")


class IllegalCampaignTransition(CampaignStateError):
    """A step the lifecycle does not allow; names the allowed ones."""

    def __init__(self, current: str, wanted: str):
        from ..i18n import campaign_status_label
        self.current, self.wanted, self.allowed = current, wanted, TRANSITIONS.get(current, ())
        allowed = "、".join(campaign_status_label(s) for s in self.allowed) or str(_l("none"))
        super().__init__(_l("Cannot move the campaign from %(current)s to %(wanted)s. Allowed: %(allowed)s.",
                            current=campaign_status_label(current), wanted=campaign_status_label(wanted),
                            allowed=allowed))


def _open_inspections(campaign: Campaign) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Inspection).where(
        Inspection.campaign_id == campaign.id, Inspection.status.in_(OPEN_INSPECTION_STATUSES))) or 0


def change_campaign_status(campaign: Campaign, status: str) -> Campaign:
    """Publish (drawn -> published), begin (published -> in_progress) or close a campaign.

    Raises IllegalCampaignTransition (409) naming the allowed steps, CampaignStateError (409) when
    a campaign with unfinished inspections would close, InvalidData for an unknown status."""
    if status not in CAMPAIGN_STATUSES:
        raise InvalidData({"status": [_l("Unknown status.")]})
    refresh_campaign_status(campaign)
    if status not in TRANSITIONS[campaign.status] or status not in MANUAL_STATUSES:
        record_event(db.session, "campaign.status_refused", "campaigns", campaign.id, {"status": campaign.status},
                     {"status": status})
        raise IllegalCampaignTransition(campaign.status, status)
    now = now_utc()
    if status == "closed":
        unfinished = _open_inspections(campaign)
        if unfinished:
            raise CampaignStateError(_l("%(n)d inspections are neither completed nor cancelled; the campaign "
                                        "closes when every inspection is done.", n=unfinished))
        campaign.closed_dt = now
    elif status == "published":
        campaign.published_dt = now
    elif status == "in_progress":
        campaign.started_dt = now
    before = campaign.status
    campaign.status = status
    record_event(db.session, f"campaign.{status}", "campaigns", campaign.id, {"status": before}, {"status": status})
    db.session.flush()
    return campaign


def refresh_campaign_status(campaign: Campaign) -> str:
    """A published campaign whose first inspection has started is in progress (checked when read)."""
    if campaign.status == "published":
        begun, started = db.session.execute(sa.select(sa.func.count(), sa.func.min(Inspection.started_dt)).where(
            Inspection.campaign_id == campaign.id, Inspection.status.in_(("in_progress", "completed")))).one()
        if begun:
            campaign.status, campaign.started_dt = "in_progress", started or now_utc()
            record_event(db.session, "campaign.in_progress", "campaigns", campaign.id, {"status": "published"},
                         {"status": "in_progress", "automatic": True})
            db.session.flush()
    return campaign.status


def refresh_campaign_statuses(campaigns: list[Campaign]) -> None:
    """refresh_campaign_status for a list, with one query."""
    published = {c.id: c for c in campaigns if c.status == "published"}
    if not published:
        return
    begun = set(db.session.scalars(sa.select(Inspection.campaign_id).where(
        Inspection.campaign_id.in_(published), Inspection.status.in_(("in_progress", "completed"))).distinct()))
    for campaign_id in begun:
        refresh_campaign_status(published[campaign_id])


def _ref():
    return current_app.extensions["inspect_reference"]


def _actor_id():
    try:
        return current_user.id if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):
        return None


def _date(value, field: str, errors: dict):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except (TypeError, ValueError):
        errors[field] = [_l("Must be a date (YYYY-MM-DD).")]
        return None


def clean_campaign_data(data: dict) -> dict:
    """Validate a campaign's parameters (the API body of design.md 4.2); raises InvalidData."""
    ref = _ref()
    errors: dict[str, list] = {}
    clean: dict = {}
    name = " ".join(str(data.get("name") or "").split())
    if not name or len(name) > 200:
        errors["name"] = [_l("Give a name of at most 200 characters.")]
    clean["name"] = name
    departments = data.get("departments") or []
    if not isinstance(departments, list) or not departments or \
            any(d not in ref.departments for d in departments):
        errors["departments"] = [_l("Choose the participating departments.")]
    clean["departments"] = sorted(set(departments)) if isinstance(departments, list) else []
    lead = data.get("lead_department")
    if lead not in ref.departments or lead not in clean["departments"]:
        errors["lead_department"] = [_l("The lead department must be one of the participating departments.")]
    clean["lead_department"] = lead
    kinds = data.get("kinds") or []
    if not isinstance(kinds, list) or not kinds or any(k not in ref.kinds for k in kinds):
        errors["kinds"] = [_l("Choose the kinds of business to inspect.")]
    clean["kinds"] = sorted(set(kinds)) if isinstance(kinds, list) else []
    regions = data.get("region_codes") or [r.code for r in ref.counties]
    if not isinstance(regions, list) or any(r not in ref.regions or ref.regions[r].is_city for r in regions):
        errors["region_codes"] = [_l("Choose county-level regions.")]
    clean["region_codes"] = sorted(set(regions)) if isinstance(regions, list) else []
    start = _date(data.get("start_date"), "start_date", errors)
    end = _date(data.get("end_date"), "end_date", errors)
    if start and end:
        if end < start:
            errors["end_date"] = [_l("The end is before the start.")]
        elif not workdays_between(start, end):
            errors["end_date"] = [_l("The period has no working day.")]
    clean.update(start_date=start, end_date=end)
    rate, size = data.get("sample_rate"), data.get("sample_size")
    if (rate in (None, "")) == (size in (None, "")):
        errors["sample_rate"] = [_l("Give either a sampling rate or a number of targets.")]
    try:
        clean["sample_rate"] = None if rate in (None, "") else float(rate)
        if clean["sample_rate"] is not None and not 0 < clean["sample_rate"] <= 1:
            errors["sample_rate"] = [_l("A rate between 0 and 1 (e.g. 0.05 for 5%).")]
    except (TypeError, ValueError):
        errors["sample_rate"] = [_l("Must be a number.")]
    try:
        clean["sample_size"] = None if size in (None, "") else int(size)
        if clean["sample_size"] is not None and clean["sample_size"] < 1:
            errors["sample_size"] = [_l("Must be at least %(n)s.", n=1)]
    except (TypeError, ValueError):
        errors["sample_size"] = [_l("Must be a whole number.")]
    tiers = []
    for index, tier in enumerate(data.get("risk_tiers") or []):
        try:
            min_risk, tier_rate = int(tier["min_risk"]), float(tier["rate"])
            if not (0 <= min_risk <= 100 and 0 < tier_rate <= 1):
                raise ValueError
            tiers.append({"min_risk": min_risk, "rate": tier_rate})
        except (KeyError, TypeError, ValueError):
            errors[f"risk_tiers.{index}"] = [_l("A tier is {min_risk: 0-100, rate: 0-1}.")]
    clean["risk_tiers"] = sorted(tiers, key=lambda t: t["min_risk"])
    for key, low, high, default in (("team_size", 2, 10, 2), ("max_per_team_day", 1, 30, 6),
                                    ("recusal_months", 0, 60, 12)):
        raw = data.get(key, default)
        try:
            value = int(raw if raw not in (None, "") else default)
            if not low <= value <= high:
                raise ValueError
            clean[key] = value
        except (TypeError, ValueError):
            errors[key] = [_l("A whole number from %(low)d to %(high)d.", low=low, high=high)]
    if clean.get("team_size") and clean["departments"] and clean["team_size"] < len(clean["departments"]):
        clean["team_size"] = len(clean["departments"])  # one officer from every department at least
    commitment = data.get("seed_commitment")
    if commitment not in (None, ""):
        if not HEX64.match(str(commitment).lower()):
            errors["seed_commitment"] = [_l("The commitment is the SHA-256 of the seed: 64 hexadecimal characters.")]
        clean["seed_commitment"] = str(commitment).lower()
    if errors:
        raise InvalidData(errors)
    return clean


def create_campaign(data: dict, timings: dict | None = None) -> Campaign:
    """Create a campaign; with a seed commitment it is committed at once (inputs frozen)."""
    clean = clean_campaign_data(data)
    commitment = clean.pop("seed_commitment", None)
    campaign = Campaign(status="draft", created_by_id=_actor_id(), **clean)
    db.session.add(campaign)
    db.session.flush()
    if commitment:
        commit_campaign(campaign, commitment, timings)
    return campaign


def _population_filter(campaign: Campaign):
    return sa.and_(Entity.kind.in_(campaign.kinds), Entity.region_code.in_(campaign.region_codes),
                   Entity.status.in_(DRAWABLE_STATUSES))


def _population(campaign: Campaign) -> list[list]:
    """[id, county, kind, risk, lat, lon] of every entity the campaign may draw, by id: one query,
    rows straight from the driver (no ORM, no per-row attribute lookups)."""
    return list(map(list, driver_rows(db.session, sa.select(
        Entity.id, Entity.region_code, Entity.kind, Entity.risk_score, Entity.lat, Entity.lon)
        .where(_population_filter(campaign)).order_by(Entity.id))))


def _inspector_pool(campaign: Campaign) -> list[list]:
    rows = db.session.execute(
        sa.select(User.id, User.department_code, User.region_code)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "inspector", User.is_active.is_(True), User.credential_number.is_not(None),
               User.department_code.in_(campaign.departments))
        .order_by(User.id)).all()
    return [[r.id, r.department_code, r.region_code] for r in rows]


def _unavailable(users: list[int], days: list[date]) -> list[list]:
    if not users or not days:
        return []
    leaves = db.session.scalars(sa.select(InspectorLeave).where(
        InspectorLeave.user_id.in_(users), InspectorLeave.end_date >= days[0],
        InspectorLeave.start_date <= days[-1])).all()
    return sorted({(leave.user_id, d.isoformat()) for leave in leaves for d in days
                   if leave.start_date <= d <= leave.end_date})


def _exclusions(campaign: Campaign, users: list[int], population: list[list], today: date) -> list[list]:
    """(inspector, entity) pairs excluded by recusal: declared conflicts with the entity or its legal
    representative, and inspections of the entity within ``recusal_months``."""
    if not users or not population:
        return []
    pairs = set()
    conflicts = db.session.execute(sa.select(InspectorConflict.user_id, InspectorConflict.entity_id,
                                             InspectorConflict.legal_representative)
                                   .where(InspectorConflict.user_id.in_(users))).all()
    by_rep: dict[str, list[int]] = {}
    for user_id, entity_id, rep in conflicts:
        if entity_id:
            pairs.add((user_id, entity_id))
        if rep:
            by_rep.setdefault(rep, []).append(user_id)
    if by_rep:  # the population's filter, not its ids: an IN list of 100,000 ids is slow everywhere
        for entity_id, rep in db.session.execute(sa.select(Entity.id, Entity.legal_representative).where(
                Entity.legal_representative.in_(sorted(by_rep)), _population_filter(campaign))):
            pairs.update((user_id, entity_id) for user_id in by_rep[rep])
    if campaign.recusal_months:
        since = today - timedelta(days=round(campaign.recusal_months * 30.44))
        recent = db.session.execute(
            sa.select(InspectionMember.user_id, Inspection.entity_id).join(Inspection)
            .where(InspectionMember.user_id.in_(users), Inspection.status != "cancelled",
                   Inspection.scheduled_date >= since)).all()
        pairs.update(recent)
    wanted = {row[0] for row in population}
    return sorted([u, e] for u, e in pairs if e in wanted)


def build_record(campaign: Campaign, commitment: str, today: date | None = None,
                 timings: dict | None = None) -> tuple[SerializedJSON, str]:
    """Freeze everything the draw will use (nothing personal); returns the record (with its canonical
    JSON, which is what the database stores) and its hash."""
    started = time.perf_counter()
    today = today or date.today()
    ref = _ref()
    days = workdays_between(campaign.start_date, campaign.end_date)
    population = _population(campaign)
    mark = _lap(timings, "population", started)
    population_json = canonical(population)
    mark = _lap(timings, "population_hash", mark)
    pool = _inspector_pool(campaign)
    users = [row[0] for row in pool]
    unavailable = [list(p) for p in _unavailable(users, days)]
    exclusions = _exclusions(campaign, users, population, today)
    mark = _lap(timings, "recusal", mark)
    record = {
        "algorithm": ALGORITHM,
        "campaign": {"id": campaign.id, "lead_department": campaign.lead_department,
                     "departments": campaign.departments, "kinds": campaign.kinds,
                     "region_codes": campaign.region_codes, "start_date": campaign.start_date.isoformat(),
                     "end_date": campaign.end_date.isoformat(), "sample_rate": campaign.sample_rate,
                     "sample_size": campaign.sample_size, "risk_tiers": campaign.risk_tiers,
                     "team_size": campaign.team_size, "max_per_team_day": campaign.max_per_team_day},
        "workdays": [d.isoformat() for d in days],
        "offices": {r.code: [r.seat_lat, r.seat_lon] for r in ref.counties},
        "population": population,
        "population_hash": sha256_hex(population_json),
        "inspectors": pool,
        "unavailable": unavailable,
        "exclusions": exclusions,
        "seed_commitment": commitment,
    }
    text = canonical_spliced(record, "population", population_json)
    _lap(timings, "record_hash", mark)
    return SerializedJSON(record, text), sha256_hex(text)


def commit_campaign(campaign: Campaign, commitment: str, timings: dict | None = None) -> Draw:
    """Record the seed commitment and freeze the population and the inspector pool."""
    # reading campaign.draw here (no row yet: cheap) spares the flush two loads of the new megabyte record
    if campaign.status != "draft" or campaign.draw is not None:
        raise CampaignStateError(_l("Only a draft campaign can be committed."))
    commitment = (commitment or "").strip().lower()
    if not HEX64.match(commitment):
        raise InvalidData({"seed_commitment": [
            _l("The commitment is the SHA-256 of the seed: 64 hexadecimal characters.")]})
    record, inputs_hash = build_record(campaign, commitment, timings=timings)
    started = time.perf_counter()
    draw = Draw(campaign=campaign, algorithm=ALGORITHM, population_hash=record["population_hash"],
                population_size=len(record["population"]), inputs_hash=inputs_hash, record=record,
                seed_commitment=commitment)
    campaign.seed_commitment = commitment
    campaign.status = "committed"
    db.session.add(draw)
    db.session.flush()
    _lap(timings, "record_insert", started)
    return draw


def draw_campaign(campaign: Campaign, seed: str, timings: dict | None = None) -> Draw:
    """Reveal the seed, run the draw from the frozen record and create the inspections."""
    draw = campaign.draw
    if campaign.status != "committed" or draw is None:
        if campaign.status in ("drawn", "published", "in_progress", "closed"):
            raise CampaignStateError(_l("This campaign has been drawn already; a second draw is refused."))
        raise CampaignStateError(_l("Record the seed commitment before the draw."))
    started = time.perf_counter()
    try:
        result = run_draw(draw.record, seed)
    except SeedMismatch:
        record_event(db.session, "campaign.seed_refused", "campaigns", campaign.id)
        raise
    _lap(timings, "draw", started)
    draw.seed, draw.result, draw.result_hash = seed, result, sha256_hex(result)
    draw.drawn_dt, draw.drawn_by_id = now_utc(), _actor_id()
    campaign.status = "drawn"
    _create_drawn_inspections(campaign, draw, result, timings)
    record_event(db.session, "campaign.drawn", "campaigns", campaign.id, None,
                 {"result_hash": draw.result_hash, "targets": len(result["targets"]),
                  "team_days": len(result["team_days"]), "shortfalls": len(result["shortfalls"])})
    db.session.flush()
    return draw


def _lap(timings: dict | None, phase: str, started: float) -> float:
    now = time.perf_counter()
    if timings is not None:
        timings[phase] = timings.get(phase, 0.0) + now - started
    return now


_INSPECTION_COLUMNS = [c.key for c in Inspection.__table__.columns]


def _create_drawn_inspections(campaign: Campaign, draw: Draw, result: dict, timings: dict | None) -> None:
    """The drawn visits as inspections with their teams, each team-day in its route's order.

    Thousands of rows: written in bulk (not through the ORM's unit of work) with one audit event
    per inspection naming its team. Ids are allocated first, ascending in the drawn order, so the
    route computed here is the one :func:`team_day_route` computes again for the route sheet."""
    started = time.perf_counter()
    rows = {row[0]: row for row in draw.record["population"]}
    ids = iter(allocate_ids(db.session, Inspection.__table__,
                            sum(len(day["entity_ids"]) for day in result["team_days"])))
    now, actor = now_utc(), _actor_id()
    defaults = dict.fromkeys(_INSPECTION_COLUMNS)
    defaults.update(campaign_id=campaign.id, origin="random", lead_department=campaign.lead_department,
                    status="planned", created_by_id=actor, created_dt=now)
    inspections, members, routing = [], [], 0.0
    for day in result["team_days"]:
        stops = [(next(ids), entity_id) for entity_id in day["entity_ids"]]
        mark = time.perf_counter()
        positions = _route_positions(day["region"], [(i, rows[e][4], rows[e][5]) for i, e in stops])
        routing += time.perf_counter() - mark
        scheduled = date.fromisoformat(day["date"])
        for inspection_id, entity_id in stops:
            inspections.append(dict(defaults, id=inspection_id, entity_id=entity_id, scheduled_date=scheduled,
                                    team_day=day["id"], route_position=positions[inspection_id],
                                    region_code=rows[entity_id][1]))
            members += [{"inspection_id": inspection_id, "user_id": member["user_id"],
                         "department_code": member["department"], "position": index}
                        for index, member in enumerate(day["team"])]
    if timings is not None:
        timings["routes"] = routing
    bulk_insert(db.session, Inspection.__table__, inspections)
    bulk_insert(db.session, InspectionMember.__table__, members)
    team = {day["id"]: [[m["user_id"], m["department"]] for m in day["team"]] for day in result["team_days"]}
    for row in inspections:
        record_event(db.session, "create", "inspections", row["id"], None,
                     {key: row[key] for key in ("entity_id", "campaign_id", "origin", "scheduled_date", "team_day",
                                                "route_position", "region_code", "status")}
                     | {"team": team[row["team_day"]]})
    if timings is not None:
        timings["insert"] = time.perf_counter() - started - routing


def _route_positions(region_code: str, stops: list[tuple]) -> dict:
    """{stop id: position from 1} of a team-day's stops ``(id, lat, lon)`` given in ascending id order:
    the route's order, then the stops without coordinates in their given order."""
    _office, route, unplaced = _route(region_code, stops)
    return {stop_id: position for position, stop_id in enumerate([*route.order, *unplaced], start=1)}


def _route(region_code: str, stops: list[tuple]):
    from .routes import plan_route
    region = _ref().regions[region_code]
    office = (region.seat_lat, region.seat_lon)
    placed = [stop for stop in stops if stop[1] is not None and stop[2] is not None]
    unplaced = [stop[0] for stop in stops if stop[1] is None or stop[2] is None]
    return office, plan_route(office, placed), unplaced


def verify_draw(draw: Draw) -> dict:
    """Re-compute the draw from its published record and seed; compare with what is stored."""
    problems = []
    if draw.seed is None:
        return {"ok": False, "problems": ["not drawn yet"]}
    if sha256_hex(draw.record["population"]) != draw.population_hash:
        problems.append("population does not match its hash")
    if sha256_hex(draw.record) != draw.inputs_hash:
        problems.append("published inputs do not match their hash")
    try:
        recomputed = run_draw(draw.record, draw.seed)
    except SeedMismatch:
        return {"ok": False, "problems": ["seed does not match the commitment"]}
    recomputed_hash = sha256_hex(recomputed)
    if recomputed_hash != draw.result_hash:
        problems.append("re-computed result differs from the recorded result hash")
    if sha256_hex(draw.result) != draw.result_hash:
        problems.append("stored result does not match its hash")
    teams: dict[int, list] = {}
    for inspection_id, entity_id, day, user_id in db.session.execute(
            sa.select(Inspection.id, Inspection.entity_id, Inspection.scheduled_date, InspectionMember.user_id)
            .outerjoin(InspectionMember, InspectionMember.inspection_id == Inspection.id)
            .where(Inspection.campaign_id == draw.campaign_id, Inspection.origin == "random")):
        entry = teams.setdefault(inspection_id, [entity_id, day.isoformat() if day else None, []])
        if user_id is not None:
            entry[2].append(user_id)
    stored = {(entity_id, day, tuple(sorted(users))) for entity_id, day, users in teams.values()}
    expected = {(e, d["date"], tuple(sorted(m["user_id"] for m in d["team"])))
                for d in recomputed["team_days"] for e in d["entity_ids"]}
    if stored != expected:
        problems.append("the planned inspections differ from the draw")
    return {"ok": not problems, "problems": problems, "algorithm": draw.algorithm,
            "population_hash": draw.population_hash, "result_hash": recomputed_hash,
            "seed_commitment": draw.seed_commitment, "seed": draw.seed}


def published_record(draw: Draw) -> dict:
    """What anyone needs to re-check the draw (design.md 5): inputs, seed, result, hashes."""
    return {"algorithm": draw.algorithm, "record": draw.record, "inputs_hash": draw.inputs_hash,
            "population_hash": draw.population_hash, "seed_commitment": draw.seed_commitment,
            "seed": draw.seed, "result": draw.result, "result_hash": draw.result_hash}


CAUSE_NOTE_MAX = 1000


def _conflicted(user_ids: list[int], entity: Entity) -> set[int]:
    """Those of ``user_ids`` with a declared conflict with the entity or its legal representative."""
    if not user_ids:
        return set()
    match = InspectorConflict.entity_id == entity.id
    if entity.legal_representative:
        match = sa.or_(match, InspectorConflict.legal_representative == entity.legal_representative)
    return set(db.session.scalars(sa.select(InspectorConflict.user_id).where(
        InspectorConflict.user_id.in_(user_ids), match)))


def _on_leave(user_ids: list[int], day: date) -> set[int]:
    if not user_ids or day is None:
        return set()
    return set(db.session.scalars(sa.select(InspectorLeave.user_id).where(
        InspectorLeave.user_id.in_(user_ids), InspectorLeave.start_date <= day, InspectorLeave.end_date >= day)))


def add_cause_inspection(campaign: Campaign | None, entity: Entity, data: dict) -> Inspection:
    """有因检查: a target outside the draw (tip-off, complaint, previous violation), never random.

    ``data``: ``cause_note`` (why), ``date`` (optional), ``team`` (user ids: at least two inspectors
    with credential numbers, none with a declared conflict with the entity or on leave that day).
    A closed campaign takes none (CampaignStateError)."""
    if campaign is not None and campaign.status == "closed":
        raise CampaignStateError(_l("The campaign is closed."))
    errors = {}
    note = " ".join(str(data.get("cause_note") or "").split())
    if not note:
        errors["cause_note"] = [_l("Say why this target is inspected.")]
    elif len(note) > CAUSE_NOTE_MAX:
        errors["cause_note"] = [_l("At most %(n)d characters.", n=CAUSE_NOTE_MAX)]
    day = _date(data.get("date"), "date", errors) if data.get("date") else None
    members = data.get("team") or []
    if not isinstance(members, list) or not all(isinstance(m, int) and not isinstance(m, bool) for m in members):
        members = []
    users = {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_(members)))} if members else {}
    if len(members) < 2 or len(users) != len(members):
        errors["team"] = [_l("At least two officers with credentials (行政处罚法 Art 42).")]
    elif any(not u.credential_number or "inspector" not in u.roles or not u.is_active for u in users.values()):
        errors["team"] = [_l("Every officer must be an inspector with a credential number.")]
    else:
        conflicted, on_leave = _conflicted(members, entity), _on_leave(members, day)
        names = "、".join(users[u].full_name for u in members if u in conflicted)
        if names:
            errors["team"] = [_l("%(names)s declared a conflict with this business and must recuse (行政处罚法 Art 43).",
                                 names=names)]
        away = "、".join(users[u].full_name for u in members if u in on_leave)
        if away:
            errors.setdefault("team", []).append(_l("%(names)s is on leave that day.", names=away))
    if errors:
        raise InvalidData(errors)
    lead = campaign.lead_department if campaign else users[members[0]].department_code
    inspection = Inspection(entity_id=entity.id, campaign_id=campaign.id if campaign else None, origin="cause",
                            cause_note=note, scheduled_date=day, region_code=entity.region_code,
                            lead_department=lead, status="planned", created_by_id=_actor_id())
    for index, user_id in enumerate(members):
        inspection.members.append(InspectionMember(user_id=user_id, department_code=users[user_id].department_code,
                                                   position=index))
    db.session.add(inspection)
    db.session.flush()
    return inspection


# --- declared conflicts and leave (what the next draws must respect) ----------------------------

REASON_MAX = 500


def _inspector(user_id, errors: dict, field: str = "user_id") -> User | None:
    user = db.session.get(User, user_id) if isinstance(user_id, int) and not isinstance(user_id, bool) else None
    if user is None or "inspector" not in user.roles:
        errors[field] = [_l("Choose an inspector.")]
        return None
    return user


def add_conflict(data: dict) -> InspectorConflict:
    """A declared conflict of interest: with an entity (``entity_id``) or with everything a person
    represents (``legal_representative``, a name), and the ``reason`` (relative, former employer ...).
    Draws committed afterwards exclude the pair; a cause-based team may not include the officer."""
    errors: dict = {}
    user = _inspector(data.get("user_id"), errors)
    entity_id = data.get("entity_id")
    rep = " ".join(str(data.get("legal_representative") or "").split()) or None
    if (entity_id in (None, "")) == (rep is None):
        errors["entity_id"] = [_l("Name either the business or its legal representative.")]
    elif entity_id not in (None, "") and (not isinstance(entity_id, int) or db.session.get(Entity, entity_id) is None):
        errors["entity_id"] = [_l("No such business in the registry.")]
    if rep is not None and len(rep) > 100:
        errors["legal_representative"] = [_l("At most %(n)d characters.", n=100)]
    reason = " ".join(str(data.get("reason") or "").split())
    if not reason or len(reason) > REASON_MAX:
        errors["reason"] = [_l("Give the reason (at most %(n)d characters).", n=REASON_MAX)]
    if errors:
        raise InvalidData(errors)
    conflict = InspectorConflict(user_id=user.id, entity_id=entity_id if rep is None else None,
                                 legal_representative=rep, reason=reason)
    db.session.add(conflict)
    db.session.flush()
    return conflict


def add_leave(data: dict) -> InspectorLeave:
    """An inspector's leave (from ``start_date`` to ``end_date``, both included): no team on those days."""
    errors: dict = {}
    user = _inspector(data.get("user_id"), errors)
    start = _date(data.get("start_date"), "start_date", errors)
    end = _date(data.get("end_date"), "end_date", errors)
    if start and end and end < start:
        errors["end_date"] = [_l("The end is before the start.")]
    elif start and end and (end - start).days > 366:
        errors["end_date"] = [_l("At most a year at a time.")]
    note = " ".join(str(data.get("note") or "").split()) or None
    if note and len(note) > 200:
        errors["note"] = [_l("At most %(n)d characters.", n=200)]
    if errors:
        raise InvalidData(errors)
    leave = InspectorLeave(user_id=user.id, start_date=start, end_date=end, note=note)
    db.session.add(leave)
    db.session.flush()
    return leave


def find_entity(value) -> Entity | None:
    """An entity by its id or its credit code (as typed: spaces and case do not matter)."""
    text = "".join(str(value or "").split()).upper()
    if not text:
        return None
    if text.isdigit() and len(text) < 12:
        return db.session.get(Entity, int(text))
    return db.session.scalar(sa.select(Entity).where(Entity.credit_code == text))


def team_day_route(inspections: list[Inspection]):
    """The visiting order of one team-day from the county seat and back (routes.plan_route);
    stops without coordinates come last, in their drawn order. Returns (office, route, unplaced
    inspections)."""
    # by id: the same input order every time, so a tour and its mirror image never swap
    ordered = sorted(inspections, key=lambda i: i.id)
    by_id = {i.id: i for i in ordered}
    office, route, unplaced = _route(ordered[0].region_code, [(i.id, i.entity.lat, i.entity.lon) for i in ordered])
    unplaced_rows = sorted((by_id[i] for i in unplaced), key=lambda i: (i.route_position or 0, i.id))
    return office, route, unplaced_rows
