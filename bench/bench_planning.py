"""A whole campaign's planning at scale: freeze, draw, teams, schedule, routes and the commit, in seconds.

Product: the planner's two steps as the pages and the API run them, in-process on a migrated
database (SQLite, and PostgreSQL when ``--database-url`` or ``TEST_DATABASE_URL`` is given, in a
schema of the run's own): ``create_campaign`` with a seed commitment (the population and the
inspector pool frozen and hashed, recusal and leave collected) and ``draw_campaign`` (the seed
revealed, targets drawn, team-days scheduled over the working days, teams drawn, the inspections
and their teams written, each team-day's route ordered), then the commit that writes the audit
events. Data: ``--entities`` entities from ``bench/datagen.py`` (about 81 % drawable: active,
suspended, unlicensed), ``--inspectors`` inspectors with credential numbers in three departments
(hrss, samr, culture) over the six counties (a tenth city-wide), some on leave, some with
declared conflicts (with an entity or a legal representative's name), and ``--past`` inspections
of the last year (recusal). The campaign: every kind and county, December 2026 (23 working
days), ``--targets`` targets with a risk tier, teams of three, at most ``--per-team-day`` visits a
team-day.

Floor: the bare SELECT of the same population (id, county, kind, risk, coordinates; the
campaign's filters, ordered by id) with the database driver, rows fetched, in the same run.

Checks (the run is an error when one fails): the draw re-computes (``verify_draw``); every
target is either visited once or listed as a shortfall; every team-day is within its cap, has an
officer of every department and nobody twice a day; route positions are 1..n per team-day and the
exact routes are optimal by brute force on a sample. Route quality beyond the exact limit: instances
of ``--route-min``-``--route-max`` stops cut from the drawn targets of each county (their real
coordinates), the product's route against the best of ``--route-runs`` random-restart 2-opt runs.

Targets (issue 5): planning under 5 s on each database; every route within 3 % of the reference.
Exit status 0 when met, 1 when missed, 2 when the benchmark could not measure.
"""
from __future__ import annotations

import argparse
import itertools

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from benchlib import (EXIT_ERROR, EXIT_MISSED, EXIT_OK, PROJECT_ROOT, Backend, BenchError, install_signal_handlers,
                      machine_busy_seconds, make_app, other_load, own_cpu_seconds, record)

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import sqlalchemy as sa  # noqa: E402

import datagen  # noqa: E402

NAME = "planning"
TARGET_SECONDS = 5.0
TARGET_GAP_PERCENT = 3.0
SEED = 20261130
DEPARTMENTS = ("culture", "hrss", "samr")
START, END = date(2026, 12, 1), date(2026, 12, 31)
DRAW_SEED = "2026-12-01 朔州市联席办公开摇号 bench"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=200_000, help="entities in the registry (default 200,000)")
    parser.add_argument("--inspectors", type=int, default=600, help="inspectors, three departments (default 600)")
    parser.add_argument("--targets", type=int, default=2_000, help="targets to draw (default 2,000)")
    parser.add_argument("--per-team-day", type=int, default=6, help="visits per team-day at most (default 6)")
    parser.add_argument("--past", type=int, default=4_000, help="inspections in the last year (default 4,000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds per database; the medians count (default 3)")
    parser.add_argument("--route-instances", type=int, default=12,
                        help="route-quality instances from the drawn targets (default 12; 0: none)")
    parser.add_argument("--route-min", type=int, default=13, help="fewest stops of a route instance (default 13)")
    parser.add_argument("--route-max", type=int, default=60, help="most stops of a route instance (default 60)")
    parser.add_argument("--route-runs", type=int, default=200, help="random-restart 2-opt runs (default 200)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL to measure as well (default: $TEST_DATABASE_URL if set); the run works "
                             "in a schema of its own and drops it")
    parser.add_argument("--sqlite-only", action="store_true", help="do not measure PostgreSQL")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5,000 entities, 60 inspectors, 100 targets, 1 round, 2 route instances "
                             "of 13-20 stops against 20 runs (figures meaningless)")
    parser.add_argument("--target-seconds", type=float, default=TARGET_SECONDS,
                        help=f"most seconds for the planning (default {TARGET_SECONDS:g})")
    parser.add_argument("--target-gap", type=float, default=TARGET_GAP_PERCENT,
                        help=f"largest gap of a route to its reference, percent (default {TARGET_GAP_PERCENT:g})")
    parser.add_argument("--profile", default=None,
                        help="write a cProfile of each database's first round to PROFILE.sqlite, PROFILE.postgresql")
    parser.add_argument("--results-dir", default=None, help="where to write the JSON (default bench/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.entities, args.inspectors, args.targets, args.past, args.repeat = 5_000, 60, 100, 100, 1
        args.route_instances, args.route_max, args.route_runs = 2, 20, 20
    if min(args.entities, args.inspectors, args.targets, args.repeat, args.route_runs) < 1 or args.past < 0:
        parser.error("--entities, --inspectors, --targets, --repeat and --route-runs must be positive")
    if not 1 <= args.per_team_day <= 30:
        parser.error("--per-team-day is 1 to 30 (the campaign's own limits)")
    if not 11 <= args.route_min <= args.route_max:
        parser.error("--route-min must be beyond the exact limit (11 or more) and at most --route-max")
    if args.database_url is None and not args.sqlite_only:
        args.database_url = os.environ.get("TEST_DATABASE_URL") or None
    return args


# --------------------------------------------------------------------------------------------
# The data: registry (datagen), officers, leave, conflicts, last year's inspections

def add_people(engine, args, rng: random.Random) -> dict:
    """Inspectors, a planner, leave, declared conflicts and past inspections, as plain bulk inserts."""
    from inspect_app.auth.models import User, UserRole
    from inspect_app.inspection.models import Inspection, InspectionMember
    from inspect_app.planning.models import InspectorConflict, InspectorLeave
    from inspect_app.registry.models import Entity

    now = datetime.now(timezone.utc).replace(microsecond=0)
    counties = list(datagen.COUNTIES)
    shares = [datagen.COUNTIES[c][3] for c in counties]
    with engine.begin() as conn:
        first = datagen.next_id(conn, User.__table__)
        users, roles = [], []

        def user(uid, username, department, region, credential, role):
            users.append({"id": uid, "username": username, "full_name": f"测试{uid}", "department_code": department,
                          "region_code": region, "credential_number": credential, "password_hash": "!",
                          "pin_hash": None, "session_nonce": os.urandom(8).hex(), "locale": None, "is_active": True,
                          "failed_login_count": 0, "locked_until_dt": None, "last_login_dt": None,
                          "created_dt": now})
            roles.append({"user_id": uid, "role": role})

        user(first, "bench.planner", "samr", "140600", None, "planner")
        inspectors = []
        for number in range(args.inspectors):
            uid = first + 1 + number
            department = DEPARTMENTS[number % len(DEPARTMENTS)]
            region = "140600" if rng.random() < 0.1 else rng.choices(counties, shares)[0]
            user(uid, f"bench.inspector{number}", department, region, f"{department[:2].upper()}{140600 + number:08d}",
                 "inspector")
            inspectors.append(uid)
        datagen.bulk_insert(conn, User.__table__, users)
        datagen.bulk_insert(conn, UserRole.__table__, roles)

        entity_rows = conn.execute(sa.select(Entity.id, Entity.region_code, Entity.legal_representative)
                                   .where(Entity.status.in_(("active", "suspended", "unlicensed")))).all()
        leaves = []
        for uid in rng.sample(inspectors, max(1, len(inspectors) // 10)):
            start = START + timedelta(days=rng.randrange(0, 25))
            leaves.append({"id": len(leaves) + 1, "user_id": uid, "start_date": start,
                           "end_date": start + timedelta(days=rng.choice((0, 2, 6))), "note": None})
        datagen.bulk_insert(conn, InspectorLeave.__table__, leaves)
        conflicts = []
        for number, uid in enumerate(rng.sample(inspectors, max(1, len(inspectors) // 2))):
            row = rng.choice(entity_rows)
            by_name = number % 4 == 0
            conflicts.append({"id": number + 1, "user_id": uid, "entity_id": None if by_name else row.id,
                              "legal_representative": row.legal_representative if by_name else None,
                              "reason": "亲属" if by_name else "曾在该单位任职", "created_dt": now})
        datagen.bulk_insert(conn, InspectorConflict.__table__, conflicts)
        past, members = [], []
        member_id = datagen.next_id(conn, InspectionMember.__table__)
        first_inspection = datagen.next_id(conn, Inspection.__table__)
        for number in range(args.past):
            row = rng.choice(entity_rows)
            day = date.today() - timedelta(days=rng.randrange(1, 365))
            iid = first_inspection + number
            past.append({"id": iid, "entity_id": row.id, "campaign_id": None, "origin": "manual", "cause_note": None,
                         "scheduled_date": day, "team_day": None, "route_position": None,
                         "region_code": row.region_code, "lead_department": "samr", "status": "completed",
                         "created_by_id": None, "created_dt": now, "started_dt": None, "party_name": None,
                         "party_role": None, "completed_dt": None, "completed_by_id": None, "outcome": "compliant",
                         "record": None, "record_sha256": None, "follows_id": None, "focus_items": None})
            for position, uid in enumerate(rng.sample(inspectors, 2)):
                members.append({"id": member_id, "inspection_id": iid, "user_id": uid,
                                "department_code": DEPARTMENTS[(uid - first - 1) % len(DEPARTMENTS)],
                                "position": position})
                member_id += 1
        datagen.bulk_insert(conn, Inspection.__table__, past)
        datagen.bulk_insert(conn, InspectionMember.__table__, members)
        for table in (User.__table__, InspectorLeave.__table__, InspectorConflict.__table__, Inspection.__table__,
                      InspectionMember.__table__):
            datagen.reset_sequence(conn, table)
    return {"planner_id": first, "inspectors": len(inspectors), "leaves": len(leaves), "conflicts": len(conflicts),
            "past_inspections": len(past)}


def campaign_data(args) -> dict:
    from inspect_app.planning.draw import commitment_of
    return {"name": "2026年12月人力资源市场和娱乐场所联合“双随机”抽查（基准）", "lead_department": "samr",
            "departments": list(DEPARTMENTS), "kinds": ["entertainment_venue", "job_agency", "marriage_agency"],
            "region_codes": list(datagen.COUNTIES), "start_date": START.isoformat(), "end_date": END.isoformat(),
            "sample_size": args.targets, "risk_tiers": [{"min_risk": 40, "rate": 0.05}], "team_size": 3,
            "max_per_team_day": args.per_team_day, "recusal_months": 12, "seed_commitment": commitment_of(DRAW_SEED)}


# --------------------------------------------------------------------------------------------
# The floor

def population_sql(dialect: str, data: dict) -> tuple[str, list]:
    from inspect_app.planning.services import DRAWABLE_STATUSES
    mark = "?" if dialect == "sqlite" else "%s"
    groups = (data["kinds"], data["region_codes"], list(DRAWABLE_STATUSES))
    where = " AND ".join(f"{column} IN ({', '.join([mark] * len(values))})"
                         for column, values in zip(("kind", "region_code", "status"), groups))
    return (f"SELECT id, region_code, kind, risk_score, lat, lon FROM entities WHERE {where} ORDER BY id",
            [value for values in groups for value in values])


def time_floor(engine, data: dict) -> tuple[float, int]:
    sql, params = population_sql(engine.dialect.name, data)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        started = time.perf_counter()
        cursor.execute(sql, params)
        rows = cursor.fetchall()
        seconds = time.perf_counter() - started
        raw.rollback()
    finally:
        raw.close()
    return seconds, len(rows)


# --------------------------------------------------------------------------------------------
# The product, and what must hold of its result

def run_product(app, args, planner_id: int, profile: str | None) -> dict:
    from inspect_app.audit.services import set_actor
    from inspect_app.extensions import db
    from inspect_app.planning.models import Campaign
    from inspect_app.planning.services import create_campaign, draw_campaign

    timings: dict[str, float] = {}
    db.session.remove()
    set_actor(db.session, planner_id, "bench.planner")
    profiler = None
    if profile:
        import cProfile
        profiler = cProfile.Profile()
        profiler.enable()
    busy0, own0 = machine_busy_seconds(), own_cpu_seconds()
    started = time.perf_counter()
    # two requests, as on the pages and the API: create with the commitment (freeze), then draw
    campaign_id = create_campaign(campaign_data(args), timings).id
    timings["freeze"] = time.perf_counter() - started
    mark = time.perf_counter()
    db.session.commit()
    timings["freeze_commit"] = time.perf_counter() - mark
    db.session.remove()
    set_actor(db.session, planner_id, "bench.planner")
    mark = time.perf_counter()
    campaign = db.session.get(Campaign, campaign_id)
    draw_campaign(campaign, DRAW_SEED, timings=timings)
    timings["draw_request"] = time.perf_counter() - mark
    mark = time.perf_counter()
    db.session.commit()
    timings["draw_commit"] = time.perf_counter() - mark
    seconds = time.perf_counter() - started
    cpu = own_cpu_seconds() - own0
    other = other_load(busy0, own0, seconds)
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    db.session.remove()
    return {"seconds": seconds, "cpu_seconds": cpu, "other_load": other, "campaign_id": campaign_id,
            "phases": timings}


def check_result(campaign_id: int, per_team_day: int, rng: random.Random) -> dict:
    """What must hold of a drawn campaign; raises BenchError."""
    from inspect_app.extensions import db
    from inspect_app.inspection.models import Inspection, InspectionMember
    from inspect_app.planning.models import Campaign
    from inspect_app.planning.routes import distance_matrix, tour_length
    from inspect_app.planning.services import verify_draw

    campaign = db.session.get(Campaign, campaign_id)
    outcome = verify_draw(campaign.draw)
    if not outcome["ok"]:
        raise BenchError(f"the draw does not verify: {outcome['problems']}")
    result = campaign.draw.result
    rows = db.session.execute(sa.select(Inspection.id, Inspection.entity_id, Inspection.team_day,
                                        Inspection.scheduled_date, Inspection.route_position)
                              .where(Inspection.campaign_id == campaign_id)).all()
    members = db.session.execute(sa.select(InspectionMember.inspection_id, InspectionMember.user_id,
                                           InspectionMember.department_code)
                                 .join(Inspection).where(Inspection.campaign_id == campaign_id)).all()
    visited = [row.entity_id for row in rows]
    left_out = [s["entity_id"] for s in result["shortfalls"]]
    if len(set(visited)) != len(visited) or sorted(visited + left_out) != sorted(result["targets"]):
        raise BenchError("targets are not partitioned into visits and shortfalls")
    team_of: dict[int, set] = {}
    for member in members:
        team_of.setdefault(member.inspection_id, set()).add((member.user_id, member.department_code))
    days: dict[str, list] = {}
    for row in rows:
        days.setdefault(row.team_day, []).append(row)
    busy: set = set()
    for team_day, day_rows in days.items():
        team = team_of[day_rows[0].id]
        if len(day_rows) > per_team_day or any(team_of[r.id] != team for r in day_rows):
            raise BenchError(f"team-day {team_day}: over its cap or not one team")
        if {department for _user, department in team} != set(DEPARTMENTS) or len(team) < 3:
            raise BenchError(f"team-day {team_day}: not every department")
        for user_id, _department in team:
            if (user_id, day_rows[0].scheduled_date) in busy:
                raise BenchError(f"inspector {user_id} in two teams on {day_rows[0].scheduled_date}")
            busy.add((user_id, day_rows[0].scheduled_date))
        if sorted(r.route_position for r in day_rows) != list(range(1, len(day_rows) + 1)):
            raise BenchError(f"team-day {team_day}: route positions are not 1..n")
    # exact routes: optimal by brute force on a sample of team-days
    coords = {row[0]: (row[4], row[5]) for row in campaign.draw.record["population"]}
    offices = campaign.draw.record["offices"]
    sample = rng.sample(sorted(days), min(10, len(days)))
    for team_day in sample:
        day_rows = sorted(days[team_day], key=lambda r: r.route_position)
        points = [tuple(offices[team_day.split("-")[0]])] + [coords[r.entity_id] for r in day_rows]
        matrix = distance_matrix(points)
        n = len(day_rows)
        length = tour_length([0, *range(1, n + 1), 0], matrix)
        best = min(tour_length([0, *perm, 0], matrix) for perm in itertools.permutations(range(1, n + 1)))
        if length > best + 1e-6:
            raise BenchError(f"team-day {team_day}: route {length:.1f} m, the optimum {best:.1f} m")
    return {"targets": len(result["targets"]), "visits": len(visited), "shortfalls": len(left_out),
            "team_days": len(days), "routes_checked_by_brute_force": len(sample)}


def forget_campaign(engine, campaign_id: int) -> None:
    """Remove a round's campaign so the next one starts from the same registry (its planned
    inspections would otherwise count as recent inspections for recusal)."""
    from inspect_app.inspection.models import Inspection, InspectionMember
    from inspect_app.planning.models import Campaign, Draw
    with engine.begin() as conn:
        ids = sa.select(Inspection.id).where(Inspection.campaign_id == campaign_id).scalar_subquery()
        conn.execute(sa.delete(InspectionMember).where(InspectionMember.inspection_id.in_(ids)))
        conn.execute(sa.delete(Inspection).where(Inspection.campaign_id == campaign_id))
        conn.execute(sa.delete(Draw).where(Draw.campaign_id == campaign_id))
        conn.execute(sa.delete(Campaign).where(Campaign.id == campaign_id))


def route_quality(record: dict, result: dict, args, rng: random.Random) -> list[dict]:
    """Instances of ``route_min``-``route_max`` stops from each county's drawn targets: the product's
    route against the best of ``route_runs`` random-restart 2-opt runs."""
    from inspect_app.planning.routes import best_of_random_2opt, plan_route
    rows = {row[0]: row for row in record["population"]}
    by_region: dict[str, list] = {}
    for entity_id in result["targets"]:
        row = rows[entity_id]
        if row[4] is not None and row[5] is not None:
            by_region.setdefault(row[1], []).append((entity_id, row[4], row[5]))
    regions = sorted(r for r in by_region if len(by_region[r]) >= args.route_min)
    out = []
    for number in range(args.route_instances if regions else 0):
        region = regions[number % len(regions)]
        count = rng.randint(args.route_min, min(args.route_max, len(by_region[region])))
        stops = rng.sample(by_region[region], count)
        office = tuple(record["offices"][region])
        started = time.process_time()
        route = plan_route(office, stops)
        cpu = time.process_time() - started
        reference = best_of_random_2opt(office, stops, runs=args.route_runs, seed=number)
        if sorted(route.order) != sorted(s[0] for s in stops):
            raise BenchError("a route does not visit every stop once")
        if plan_route(office, stops).order != route.order:
            raise BenchError("the same instance gave two routes")
        gap = (route.total_m / reference.total_m - 1) * 100
        out.append({"region": region, "stops": count, "product_m": round(route.total_m, 1),
                    "reference_m": round(reference.total_m, 1), "gap_percent": round(gap, 3),
                    "cpu_ms": round(cpu * 1000, 1)})
    return out


# --------------------------------------------------------------------------------------------

def measure_backend(backend: Backend, args, workdir: Path) -> dict:
    from flask_migrate import upgrade

    from inspect_app.extensions import db
    from inspect_app.planning.models import Campaign

    rng = random.Random(SEED)
    backend.create()
    app = make_app(backend.url, workdir)
    try:
        with app.app_context():
            upgrade()
            engine = db.engine
            started = time.perf_counter()
            stats = datagen.load_registry(engine, args.entities, seed=SEED, today=date(2026, 11, 30))
            people = add_people(engine, args, rng)
            if engine.dialect.name == "postgresql":
                datagen.vacuum_analyze(engine, ["users", "user_roles", "inspections", "inspection_members",
                                                "inspector_conflicts", "inspector_leaves"])
            print(f"  {backend.name}: loaded {stats.entities:,} entities, {people['inspectors']} inspectors, "
                  f"{people['leaves']} leaves, {people['conflicts']} conflicts, {people['past_inspections']:,} "
                  f"past inspections in {time.perf_counter() - started:.1f} s", flush=True)
            rounds = []
            for number in range(args.repeat):
                floor, population = time_floor(engine, campaign_data(args))
                product = run_product(app, args, people["planner_id"],
                                      f"{args.profile}.{backend.name}" if number == 0 and args.profile else None)
                floor_after, _ = time_floor(engine, campaign_data(args))
                floor = min(floor, floor_after)
                checks = check_result(product["campaign_id"], args.per_team_day, rng)
                phases = {k: round(v, 4) for k, v in product["phases"].items()}
                rounds.append({"product_seconds": round(product["seconds"], 4),
                               "product_cpu_seconds": round(product["cpu_seconds"], 4),
                               "floor_seconds": round(floor, 4), "population": population,
                               "other_load_cores": round(product["other_load"], 2), "phases": phases,
                               "checks": checks})
                print(f"  {backend.name} round {number + 1}: planning {product['seconds']:.3f} s (CPU "
                      f"{product['cpu_seconds']:.3f}; " + ", ".join(f"{k} {v:.3f}" for k, v in phases.items())
                      + f"), floor {floor * 1000:.1f} ms for {population:,} rows, other load "
                      f"{product['other_load']:.2f} cores; {checks['visits']:,} visits in {checks['team_days']} "
                      f"team-days, {checks['shortfalls']} shortfalls", flush=True)
                if product["other_load"] > 0.2:
                    print(f"  warning: other processes used {product['other_load']:.2f} cores meanwhile; "
                          "re-run on a quiet machine", flush=True)
                if number == args.repeat - 1:
                    campaign = db.session.get(Campaign, product["campaign_id"])
                    routes = route_quality(campaign.draw.record, campaign.draw.result, args, rng)
                    db.session.remove()
                else:
                    forget_campaign(engine, product["campaign_id"])
            engine.dispose()
    finally:
        backend.drop()
    product = statistics.median(r["product_seconds"] for r in rounds)
    floor = statistics.median(r["floor_seconds"] for r in rounds)
    return {"product_seconds": round(product, 4), "floor_seconds": round(floor, 4),
            "ratio": round(product / floor, 1), "rounds": rounds, "routes": routes,
            "registry": stats.figures(), "people": people}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    try:
        import inspect_app  # noqa: F401
    except ImportError as exc:
        print(f"{NAME}: error: cannot import the product: {exc}", file=sys.stderr)
        return EXIT_ERROR
    workdir = Path(tempfile.mkdtemp(prefix="inspect-bench-planning-"))
    try:
        print(f"{NAME}: {args.entities:,} entities, {args.inspectors} inspectors, {args.targets:,} targets, "
              f"at most {args.per_team_day} a team-day, {args.repeat} round(s); targets: planning < "
              f"{args.target_seconds:g} s, routes within {args.target_gap:g} % of the best of {args.route_runs} "
              f"random-restart 2-opt runs", flush=True)
        backends = [Backend("sqlite", None, workdir, "bench-planning")]
        if args.database_url:
            backends.append(Backend("postgresql", args.database_url, workdir, "bench_planning"))
        results, met = {}, True
        for backend in backends:
            figures = measure_backend(backend, args, workdir)
            results[backend.name] = figures
            ok = figures["product_seconds"] < args.target_seconds
            met = met and ok
            print(f"{backend.name} planning seconds: {figures['product_seconds']:.3f}  target < "
                  f"{args.target_seconds:g}  {'met' if ok else 'MISSED'}  (floor: bare SELECT of the population "
                  f"{figures['floor_seconds'] * 1000:.1f} ms, ratio {figures['ratio']:.1f})", flush=True)
            routes = figures["routes"]
            if routes:
                worst = max(r["gap_percent"] for r in routes)
                ok = worst <= args.target_gap
                met = met and ok
                print(f"{backend.name} routes: {len(routes)} instances of "
                      f"{min(r['stops'] for r in routes)}-{max(r['stops'] for r in routes)} stops, worst gap "
                      f"{worst:.3f} %, mean {statistics.mean(r['gap_percent'] for r in routes):.3f} %, median "
                      f"{statistics.median(r['cpu_ms'] for r in routes):.0f} ms CPU a route  target <= "
                      f"{args.target_gap:g} %  {'met' if ok else 'MISSED'}", flush=True)
        parameters = {k: getattr(args, k) for k in ("entities", "inspectors", "targets", "per_team_day", "past",
                                                    "repeat", "route_instances", "route_min", "route_max",
                                                    "route_runs", "quick")}
        path = record(NAME, {
            "target": {"seconds_max": args.target_seconds, "gap_percent_max": args.target_gap, "met": met},
            "backends": results, "parameters": dict(parameters, postgresql=bool(args.database_url)),
        }, args.results_dir)
        print(f"recorded {path}")
        return EXIT_OK if met else EXIT_MISSED
    except BenchError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{NAME}: interrupted", file=sys.stderr)
        return 130
    finally:
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
