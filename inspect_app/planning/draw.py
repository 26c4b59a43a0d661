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
import heapq
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


def canonical_spliced(value: dict, key: str, part: bytes) -> bytes:
    """``canonical(value)`` when ``canonical(value[key])`` is known already as ``part``: the rest is
    serialised and the part put in its place, so a large part (the population) is not serialised
    twice."""
    token = canonical({key: 0})[1:-1]  # b'"population":0'
    before, found, after = canonical(dict(value, **{key: 0})).partition(token)
    if not found or token in after:  # cannot happen with canonical JSON (quotes in strings are escaped)
        return canonical(value)
    return b"".join((before, token[:-1], part, after))


def commitment_of(seed: str) -> str:
    """The commitment published before the draw: SHA-256 of the seed's UTF-8 bytes."""
    return hashlib.sha256(seed.encode("utf-8")).hexdigest()


def _uniform(seed: bytes, label: str) -> float:
    digest = hmac.digest(seed, label.encode("utf-8"), "sha256")
    return (int.from_bytes(digest[:8], "big") + 0.5) / 2.0 ** 64


class Uniforms:
    """``u(label)`` for one seed: exactly :func:`_uniform`, with the HMAC's inner and outer SHA-256
    states computed once (RFC 2104) and copied per label, about 2.5 times faster; the draw calls
    it for every entity of the population."""

    def __init__(self, seed: bytes):
        key = hashlib.sha256(seed).digest() if len(seed) > 64 else seed
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in key)).copy
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in key)).copy

    def __call__(self, label: str) -> float:
        inner = self._inner()
        inner.update(label.encode("utf-8"))
        outer = self._outer()
        outer.update(inner.digest())
        return (int.from_bytes(outer.digest()[:8], "big") + 0.5) / 2.0 ** 64


def _rate(risk: int, campaign: dict, base: float | None) -> float | None:
    rate = base
    for tier in campaign.get("risk_tiers") or []:
        if risk >= tier["min_risk"] and (rate is None or tier["rate"] > rate):
            rate = tier["rate"]
    return rate


def select_targets(record: dict, seed: bytes) -> list[int]:
    uniform = Uniforms(seed)
    campaign = record["campaign"]
    population = record["population"]  # [id, region, kind, risk, lat, lon]
    if campaign.get("sample_size"):
        base = min(1.0, campaign["sample_size"] / max(len(population), 1))
        keyed = []
        for row in population:
            weight = _rate(row[3], campaign, base)
            if weight <= 0:
                continue
            keyed.append((math.log(uniform(f"target:{row[0]}")) / weight, row[0]))
        # the sample_size largest keys (ties: the smaller id); nsmallest = sorted(...)[:n], without the full sort
        chosen = heapq.nsmallest(campaign["sample_size"], keyed, key=lambda k: (-k[0], k[1]))
        return sorted(entity_id for _, entity_id in chosen)
    groups: dict[float, list[int]] = defaultdict(list)
    for row in population:
        rate = _rate(row[3], campaign, campaign.get("sample_rate")) or 0.0
        if rate > 0:
            groups[rate].append(row[0])
    chosen = []
    for rate, ids in groups.items():
        count = min(len(ids), math.ceil(round(rate * len(ids), 9)))
        chosen += sorted(ids, key=lambda i: (uniform(f"target:{i}"), i))[:count]
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
    by_department: dict[str, list[int]] = defaultdict(list)
    for user, info in inspectors.items():
        by_department[info["department"]].append(user)
    participating = [u for u, info in inspectors.items() if info["department"] in departments]
    unavailable = {(user, day) for user, day in record["unavailable"]}
    excluded: dict[int, set[int]] = defaultdict(set)
    for user, entity in record["exclusions"]:
        excluded[entity].add(user)
    busy: set[tuple[int, str]] = set()
    shortfalls: list[dict] = []
    planned: list[dict] = []
    team_size = max(2, campaign["team_size"], len(departments))
    no_one: frozenset = frozenset()
    uniform = Uniforms(seed)

    def free_of(users: list[int], team: list[int], day: str) -> list[int]:
        """Those of ``users`` not in ``team``, not on leave and not in another team on ``day``."""
        return [u for u in users if u not in team and (u, day) not in unavailable and (u, day) not in busy]

    def recused(group: list[int]) -> set[int] | frozenset:
        """Everyone excluded from at least one target of the group."""
        sets = [excluded[e] for e in group if e in excluded]
        return set().union(*sets) if sets else no_one

    def pick(candidates: list[int], team_day: str, region: str) -> int | None:
        if not candidates:
            return None
        local = [u for u in candidates if inspectors[u]["region"] == region]
        pool = local or candidates
        return min(pool, key=lambda u: (uniform(f"officer:{team_day}:{u}"), u))

    for day in days:
        group = list(day["entity_ids"])
        team: list[int] = []
        for department in departments:
            while True:
                free = free_of(by_department[department], team, day["date"])
                blocked_users = recused(group)
                chosen = pick([u for u in free if u not in blocked_users], day["id"], day["region"])
                if chosen is not None or not group:
                    break
                # nobody may visit the whole group: leave out the targets nobody of this department may visit
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
            blocked_users = recused(group)
            candidates = [u for u in free_of(participating, team, day["date"]) if u not in blocked_users]
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
