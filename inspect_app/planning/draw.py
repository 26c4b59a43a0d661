"""The double-random draw (双随机), algorithm ``inspect-draw-v1``: pure, deterministic, re-computable.

Everything the draw uses is in the published *record*, frozen when the seed commitment is
recorded: the population (entities matching the campaign's filters, sorted by id), the pool of
inspectors (ids, departments, counties), the days each is unavailable and the (inspector,
entity) pairs excluded by recusal, without reasons. At the draw the seed is revealed; its
SHA-256 must equal the commitment. Then, with ``u(label)`` = the first 8 bytes of
HMAC-SHA256(seed, label) read as a fraction in (0, 1):

1. **Targets.** Each entity's rate is the highest rate of the risk tiers it reaches
   (``risk_score >= min_risk``), else the base rate: ``sample_rate``, or with ``sample_size``
   the share ``sample_size / population``. With ``sample_size``: weighted sampling without
   replacement (Efraimidis-Spirakis): the ``sample_size`` largest ``ln(u("target:<id>")) / rate``.
   With ``sample_rate``: per rate group,
   the ``ceil(rate x n)`` entities with the smallest ``u("target:<id>")``.
2. **Team-days.** Per county, targets are ordered by bearing from the county seat (then
   distance, then id) and cut into groups of ``max_per_team_day``; group ``i`` of ``G`` falls on
   working day ``floor(i x W / G)`` of the campaign's ``W`` working days.
3. **Teams.** Team-days in (date, county, group) order. For each participating department,
   the eligible inspectors are those of that department available that day (not on leave,
   not already in a team that day) and not excluded for any target of the group; the county's
   own are preferred, else city-wide. The one with the smallest ``u("officer:<team day>:<user>")``
   is taken; the team is then filled to ``team_size`` the same way from all participating
   departments. A target no eligible inspector of a department may visit is left out with the
   reason; so is a group that cannot get two officers.

The result (targets, team-days with teams, shortfalls) is hashed with SHA-256 over its
canonical JSON (sorted keys, no spaces, UTF-8).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections import defaultdict
from datetime import date

ALGORITHM = "inspect-draw-v1"


class SeedMismatch(ValueError):
    """The revealed seed does not hash to the commitment."""


def canonical(value) -> bytes:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sha256_hex(value) -> str:
    return hashlib.sha256(value if isinstance(value, bytes) else canonical(value)).hexdigest()


def commitment_of(seed: str) -> str:
    """The commitment published before the draw: SHA-256 of the seed's UTF-8 bytes."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _uniform(seed: bytes, label: str) -> float:
    digest = hmac.new(seed, label.encode("utf-8"), hashlib.sha256).digest()
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2.0 ** 64


def _rate(risk: int, campaign: dict, base: float | None) -> float | None:
    rate = base
    for tier in campaign.get("risk_tiers") or []:
        if risk >= tier["min_risk"] and (rate is None or tier["rate"] > rate):
            rate = tier["rate"]
    return rate


def select_targets(record: dict, seed: bytes) -> list[int]:
    campaign = record["campaign"]
    population = record["population"]  # [id, region, kind, risk, lat, lon]
    if campaign.get("sample_size"):
        base = min(1.0, campaign["sample_size"] / max(len(population), 1))
        keyed = []
        for row in population:
            weight = _rate(row[3], campaign, base)
            if weight <= 0:
                continue
            keyed.append((math.log(_uniform(seed, f"target:{row[0]}")) / weight, row[0]))
        keyed.sort(key=lambda k: (-k[0], k[1]))
        return sorted(entity_id for _, entity_id in keyed[:campaign["sample_size"]])
    groups: dict[float, list[int]] = defaultdict(list)
    for row in population:
        rate = _rate(row[3], campaign, campaign.get("sample_rate")) or 0.0
        if rate > 0:
            groups[rate].append(row[0])
    chosen = []
    for rate, ids in groups.items():
        count = min(len(ids), math.ceil(round(rate * len(ids), 9)))
        chosen += sorted(ids, key=lambda i: (_uniform(seed, f"target:{i}"), i))[:count]
    return sorted(chosen)


def _bearing_key(office, lat, lon, entity_id):
    if lat is None or lon is None or office is None:
        return (10.0, 0.0, entity_id)
    dy = lat - office[0]
    dx = (lon - office[1]) * math.cos(math.radians(office[0]))
    return (math.atan2(dy, dx), dx * dx + dy * dy, entity_id)


def team_days(record: dict, targets: list[int]) -> list[dict]:
    campaign = record["campaign"]
    workdays = record["workdays"]
    rows = {row[0]: row for row in record["population"]}
    by_region: dict[str, list[int]] = defaultdict(list)
    for entity_id in targets:
        by_region[rows[entity_id][1]].append(entity_id)
    days = []
    cap = campaign["max_per_team_day"]
    for region in sorted(by_region):
        office = record["offices"].get(region)
        ordered = sorted(by_region[region], key=lambda i: _bearing_key(office, rows[i][4], rows[i][5], i))
        groups = [ordered[k:k + cap] for k in range(0, len(ordered), cap)]
        for index, group in enumerate(groups):
            day = workdays[(index * len(workdays)) // len(groups)]
            days.append({"id": f"{region}-{day}-{index + 1}", "date": day, "region": region, "group": index + 1,
                         "entity_ids": group})
    days.sort(key=lambda d: (d["date"], d["region"], d["group"]))
    return days


def draw_teams(record: dict, seed: bytes, days: list[dict]) -> tuple[list[dict], list[dict]]:
    campaign = record["campaign"]
    departments = sorted(campaign["departments"])
    inspectors = {row[0]: {"department": row[1], "region": row[2]} for row in record["inspectors"]}
    unavailable = {(user, day) for user, day in record["unavailable"]}
    excluded: dict[int, set[int]] = defaultdict(set)
    for user, entity in record["exclusions"]:
        excluded[entity].add(user)
    busy: set[tuple[int, str]] = set()
    shortfalls: list[dict] = []
    planned: list[dict] = []
    team_size = max(2, campaign["team_size"], len(departments))

    def available(user: int, day: str) -> bool:
        return (user, day) not in unavailable and (user, day) not in busy

    def pick(candidates: list[int], team_day: str, region: str) -> int | None:
        if not candidates:
            return None
        local = [u for u in candidates if inspectors[u]["region"] == region]
        pool = local or candidates
        return min(pool, key=lambda u: (_uniform(seed, f"officer:{team_day}:{u}"), u))

    for day in days:
        group = list(day["entity_ids"])
        team: list[int] = []
        for department in departments:
            while True:
                candidates = [u for u, info in inspectors.items()
                              if info["department"] == department and u not in team and available(u, day["date"])
                              and not any(u in excluded[e] for e in group)]
                chosen = pick(candidates, day["id"], day["region"])
                if chosen is not None or not group:
                    break
                # nobody may visit the whole group: leave out the targets nobody of this department may visit
                free = [u for u, info in inspectors.items() if info["department"] == department
                        and u not in team and available(u, day["date"])]
                if not free:
                    reason = f"no {department} inspector available on {day['date']}"
                    shortfalls += [{"entity_id": entity_id, "reason": reason} for entity_id in group]
                    group = []
                    break
                blocked = [e for e in group if all(u in excluded[e] for u in free)]
                if not blocked:  # conflicts spread over several inspectors: drop the most-excluded target
                    blocked = [max(group, key=lambda e: (len(excluded[e]), e))]
                for entity_id in blocked:
                    shortfalls.append({"entity_id": entity_id,
                                       "reason": f"every available {department} inspector must recuse"})
                group = [e for e in group if e not in blocked]
            if chosen is not None and group:
                team.append(chosen)
        while group and len(team) < team_size:
            candidates = [u for u, info in inspectors.items()
                          if info["department"] in departments and u not in team and available(u, day["date"])
                          and not any(u in excluded[e] for e in group)]
            chosen = pick(candidates, day["id"], day["region"])
            if chosen is None:
                break
            team.append(chosen)
        if group and len(team) < 2:
            for entity_id in group:
                shortfalls.append({"entity_id": entity_id, "reason": "fewer than two officers available"})
            group = []
        if not group:
            continue
        for user in team:
            busy.add((user, day["date"]))
        planned.append(dict(day, entity_ids=group,
                            team=[{"user_id": u, "department": inspectors[u]["department"]} for u in team]))
    return planned, shortfalls


def run_draw(record: dict, seed: str) -> dict:
    """Re-computable from the record and the seed alone; raises SeedMismatch."""
    if commitment_of(seed) != record["seed_commitment"]:
        raise SeedMismatch("the seed does not match the commitment")
    key = seed.encode("utf-8")
    targets = select_targets(record, key)
    planned, shortfalls = draw_teams(record, key, team_days(record, targets))
    result = {"algorithm": ALGORITHM, "targets": targets, "team_days": planned,
              "shortfalls": sorted(shortfalls, key=lambda s: s["entity_id"])}
    return result


def workday_strings(days: list[date]) -> list[str]:
    return [d.isoformat() for d in days]
