"""Latency of the entity list/search API against the raw SQL of the same page, at 200,000 entities.

Product: ``GET /api/v1/entities`` (bearer token of a city-wide registrar) served by
``gunicorn -w 2 -k sync``, on a fresh migrated database (SQLite by default, PostgreSQL with
``--database-url``) bulk-loaded by ``bench/datagen.py``.

Floor: the product's own SQL for the same page, executed directly with the database driver
(``sqlite3`` / ``psycopg``, one persistent connection, rows fetched, nothing decoded) in the
process that times the API. The statements are captured, with their parameters, from one
request served in-process by the same code (a SQLAlchemy ``before_cursor_execute`` listener,
keeping the statements that read ``entities``: today the COUNT over the filtered query and the
page SELECT ... LIMIT/OFFSET), so the floor follows the product's SQL as it changes. The ratio
thus isolates what the product adds around its SQL (ORM, serialization, HTTP, framework).

Reference, not judged: the same page written by hand as a developer would (``hand``), also
timed; it checks that the API's page is right (the ids in order and the total) and shows when
the product's SQL costs more than a plain query (e.g. ``lower(name) LIKE lower(?)``).

Requests, one at a time (latency, not throughput): floor, hand and API interleaved, for
``--seconds`` per query (at least ``--min-samples``, at most ``--max-samples`` each); medians.
Also printed, less sensitive to other load on the machine: ``SQL CPU``, the CPU time of this
process running the floor (on SQLite the whole query; on PostgreSQL only the driver's share),
and ``srv CPU``, the CPU time of gunicorn's workers per request (the database server excluded).

Target (issue 3): for every query, API median / floor median <= 3. Exit status 0 when met,
1 when missed, 2 when the benchmark could not measure.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import socket
import statistics
import sys
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import quote, urlencode

from benchlib import (BENCH_DIR, EXIT_ERROR, EXIT_MISSED, EXIT_OK, PROJECT_ROOT, BenchError, GunicornServer,
                      ProductInstance, build_get, cpu_seconds, http_request, install_signal_handlers, machine,
                      machine_busy_seconds, record)

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import sqlalchemy as sa  # noqa: E402

import datagen  # noqa: E402

NAME = "list"
TARGET_RATIO = 3.0
USERNAME = "benchlist"
PASSWORD = "bench-password-123"
PATH = "/api/v1/entities"
PROTECTED_DATABASES = {"inspect_dev", "test", "postgres", "template0", "template1"}
NAME_FRAGMENT = "鸿运"  # a stock brand word of datagen.WORDS: in about 0.7 % of the names


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=200_000, help="entities to load (default 200,000)")
    parser.add_argument("--database-url", default=None,
                        help="postgresql://user@host/<new database>: created, used and dropped by this run "
                             "(default: a temporary SQLite file)")
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="measuring time per query, floor and API interleaved (default 6)")
    parser.add_argument("--min-samples", type=int, default=7, help="at least this many of each per query (7)")
    parser.add_argument("--max-samples", type=int, default=200, help="at most this many of each per query (200)")
    parser.add_argument("--per-page", type=int, default=50, help="page size (default 50, the API's default)")
    parser.add_argument("--deep-page", type=int, default=200, help="page number of the deep-page query (200)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--seed", type=int, default=datagen.DEFAULT_SEED, help="data generator seed")
    parser.add_argument("--only", default=None, help="comma-separated query names to measure (default all)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 5,000 entities, 1 s per query, 3 samples minimum (figures meaningless)")
    parser.add_argument("--target", type=float, default=TARGET_RATIO,
                        help=f"maximum API/floor ratio of the medians, per query (default {TARGET_RATIO:g})")
    parser.add_argument("--keep", action="store_true",
                        help="keep the database and instance directory afterwards (for profiling); "
                             "prints how to reach them")
    parser.add_argument("--results-dir", default=None, help="where to write the JSON (default bench/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.entities, args.seconds, args.min_samples, args.max_samples = 5_000, 1.0, 3, 50
    if min(args.entities, args.min_samples, args.max_samples, args.per_page, args.workers, args.deep_page) < 1 \
            or args.seconds <= 0 or args.max_samples < args.min_samples:
        parser.error("--entities, --seconds, --min/--max-samples, --per-page, --workers, --deep-page must be positive")
    if args.per_page > 200:
        parser.error("--per-page is at most 200 (the API's maximum)")
    if args.database_url:
        url = sa.engine.make_url(args.database_url)
        if not url.drivername.startswith("postgres"):
            parser.error("--database-url must be a postgresql:// URL (SQLite is the default)")
        if not url.database or url.database in PROTECTED_DATABASES:
            parser.error(f"--database-url must name a new database of its own, not {url.database!r}")
    return args


# --------------------------------------------------------------------------------------------
# The database: a temporary SQLite file, or a PostgreSQL database created and dropped here

class Database:
    def __init__(self, instance: ProductInstance, url: str | None):
        self.dialect = "postgresql" if url else "sqlite"
        if url:
            parsed = sa.engine.make_url(url)
            self.name = parsed.database
            self.sa_url = parsed.set(drivername="postgresql+psycopg")
            self.env_url = url
        else:
            self.name = str(instance.dir / "bench.sqlite3")
            self.env_url = instance.env["DATABASE_URL"]
            self.sa_url = sa.engine.make_url(self.env_url)
        self.created = False

    def _admin(self):
        import psycopg
        params = {"host": self.sa_url.host, "port": self.sa_url.port, "user": self.sa_url.username,
                  "password": self.sa_url.password, "dbname": "postgres", "autocommit": True}
        return psycopg.connect(**{k: v for k, v in params.items() if v is not None})

    def create(self) -> None:
        if self.dialect != "postgresql":
            return
        with self._admin() as admin:
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.name,)).fetchone()
            if exists:
                raise BenchError(f"database {self.name!r} exists already; this benchmark creates and drops its own. "
                                 f"Drop it (psql -c 'drop database {self.name}') or name another one.")
            admin.execute(f'CREATE DATABASE "{self.name}"')
        self.created = True

    def drop(self) -> None:
        if self.dialect == "postgresql" and self.created:
            with self._admin() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            self.created = False

    def connect(self):
        """A raw driver connection (the floor's)."""
        if self.dialect == "postgresql":
            import psycopg
            params = {"host": self.sa_url.host, "port": self.sa_url.port, "user": self.sa_url.username,
                      "password": self.sa_url.password, "dbname": self.name, "autocommit": True}
            return psycopg.connect(**{k: v for k, v in params.items() if v is not None})
        import sqlite3
        return sqlite3.connect(self.name)


# --------------------------------------------------------------------------------------------
# The queries and their floor

@dataclass
class Query:
    name: str
    description: str
    filters: dict
    page: int = 1
    hand_count: tuple[str, list] = ("", [])
    hand_page: tuple[str, list] = ("", [])
    floor: list[tuple[str, object]] = field(default_factory=list)  # the product's statements and parameters
    api_path: str = ""
    total: int = 0
    samples: dict[str, list[float]] = field(default_factory=lambda: {"floor": [], "hand": [], "api": [], "bare": []})
    body: bytes = b""
    server_cpu: float = 0.0
    floor_cpu: float = 0.0

    def median_ms(self, what: str) -> float:
        return statistics.median(self.samples[what]) * 1000 if self.samples[what] else math.nan

    def ratio(self) -> float:
        return self.median_ms("api") / self.median_ms("floor")


TABLE_COLUMNS = [column.name for column in datagen.Entity.__table__.columns]
FIELD_COLUMNS = {"updated_at": "updated_dt"}  # API field -> column, where they differ


def page_columns(item: dict) -> list[str]:
    """The columns behind the fields of one API item (``id`` first): what the floor selects."""
    columns = ["id"] + [FIELD_COLUMNS.get(key, key) for key in item if key != "id"]
    unknown = [column for column in columns if column not in TABLE_COLUMNS]
    if unknown:
        raise BenchError(f"API fields without a column of their own: {unknown}; teach FIELD_COLUMNS")
    return columns


SORT_SQL = {None: "updated_dt DESC, id DESC", "-risk": "risk_score DESC, id"}


def hand_sql(filters: dict, dialect: str, today: date, per_page: int, page: int, columns: list[str]):
    """``(count_sql, params), (page_sql, params)`` written by hand for the driver's paramstyle."""
    mark = "?" if dialect == "sqlite" else "%s"
    like = "LIKE" if dialect == "sqlite" else "ILIKE"  # SQLite's LIKE ignores ASCII case already
    where, params = [], []
    q = (filters.get("q") or "").strip()
    if q:
        pattern = f"%{q}%"
        terms = [f"name {like} {mark}", f"legal_representative {like} {mark}", f"address {like} {mark}"]
        params += [pattern] * 3
        code = "".join(ch for ch in q if not ch.isspace() and ch not in "-_").upper()
        if len(code) >= 4:
            terms.append(f"credit_code LIKE {mark}")
            params.append(code + "%")
        where.append("(" + " OR ".join(terms) + ")")
    for key, column in (("kind", "kind"), ("region", "region_code"), ("status", "status")):
        if filters.get(key):
            where.append(f"{column} = {mark}")
            params.append(filters[key])
    if filters.get("licence_expiring"):
        where.append(f"id IN (SELECT entity_id FROM licences WHERE status = 'valid' "
                     f"AND expires_on >= {mark} AND expires_on <= {mark})")
        horizon = today + timedelta(days=int(filters["licence_expiring"]))
        params += [today.isoformat(), horizon.isoformat()] if dialect == "sqlite" else [today, horizon]
    clause = (" WHERE " + " AND ".join(where)) if where else ""
    order = SORT_SQL[filters.get("sort")]
    count = (f"SELECT count(*) FROM entities{clause}", list(params))
    page_sql = (f"SELECT {', '.join(columns)} FROM entities{clause} ORDER BY {order} "
                f"LIMIT {mark} OFFSET {mark}", params + [per_page, (page - 1) * per_page])
    return count, page_sql


class SqlCapture:
    """The product in this process (same code, same database), to capture the SQL of a request."""

    def __init__(self, env: dict[str, str]):
        saved = dict(os.environ)
        os.environ.update(env)
        try:
            from inspect_app import create_app
            self.app = create_app()
        finally:
            os.environ.clear()
            os.environ.update(saved)
        from inspect_app.extensions import db as flask_db
        with self.app.app_context():
            self.engine = flask_db.engine
        self.client = self.app.test_client()

    def statements(self, path: str, headers: dict[str, str]) -> list[tuple[str, object]]:
        """The SELECTs reading ``entities`` that serving ``path`` executes, with their DB-API parameters."""
        captured = []

        def listener(conn, cursor, statement, parameters, context, executemany):
            captured.append((statement, parameters))
        sa.event.listen(self.engine, "before_cursor_execute", listener)
        try:
            response = self.client.get(path, headers=headers)
        finally:
            sa.event.remove(self.engine, "before_cursor_execute", listener)
        if response.status_code != 200:
            raise BenchError(f"GET {path} in-process answered {response.status_code}: {response.data[:300]!r}")
        return [(statement, parameters) for statement, parameters in captured
                if statement.lstrip().upper().startswith("SELECT") and "entities" in statement]

    def close(self) -> None:
        self.engine.dispose()


def sample_values(db: Database) -> dict:
    """A credit-code prefix and a legal representative's name, from the middle of the loaded data."""
    conn = db.connect()
    try:
        middle = conn.execute("SELECT max(id) / 2 FROM entities").fetchone()[0]
        mark = "?" if db.dialect == "sqlite" else "%s"
        code, rep = conn.execute(f"SELECT credit_code, legal_representative FROM entities WHERE id >= {mark} "
                                 "AND credit_code IS NOT NULL ORDER BY id LIMIT 1", (middle,)).fetchone()
    finally:
        conn.close()
    return {"code_prefix": code[:14], "rep": rep}


def build_queries(values: dict, region: str, deep_page: int) -> list[Query]:
    return [
        Query("first_page", "no filter, first page (sort -updated)", {}),
        Query("filters", f"kind=entertainment_venue region={region} status=active",
              {"kind": "entertainment_venue", "region": region, "status": "active"}),
        Query("q_name", f"q={NAME_FRAGMENT} (name fragment)", {"q": NAME_FRAGMENT}),
        Query("q_code", f"q={values['code_prefix']} (credit-code prefix)", {"q": values["code_prefix"]}),
        Query("q_rep", f"q={values['rep']} (legal representative)", {"q": values["rep"]}),
        Query("expiring", "licence_expiring=30", {"licence_expiring": 30}),
        Query("risk", "sort=-risk", {"sort": "-risk"}),
        Query("deep_page", f"no filter, page {deep_page}", {}, page=deep_page),
    ]


def run_sql(cursor, count: tuple[str, list], page: tuple[str, list]) -> tuple[int, list]:
    cursor.execute(count[0], count[1])
    total = cursor.fetchone()[0]
    cursor.execute(page[0], page[1])
    return total, cursor.fetchall()


def run_floor(cursor, statements: list[tuple[str, object]]) -> list[list]:
    results = []
    for statement, parameters in statements:
        cursor.execute(statement, parameters)
        results.append(cursor.fetchall())
    return results


def fetch(port: int, payload: bytes) -> bytes:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    try:
        sock.sendall(payload)
        chunks = []
        while True:
            data = sock.recv(262144)
            if not data:
                break
            chunks.append(data)
    finally:
        sock.close()
    return b"".join(chunks)


def api_body(response: bytes, what: str) -> dict:
    head, _, body = response.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200 ") and not head.startswith(b"HTTP/1.0 200 "):
        raise BenchError(f"{what} answered {head[:200].decode('latin-1', 'replace')}: {body[:300]!r}")
    if b"transfer-encoding: chunked" in head.lower():
        raise BenchError(f"{what}: chunked response not expected from gunicorn's sync worker")
    return json.loads(body)


def get_token(port: int) -> str:
    body = json.dumps({"username": USERNAME, "password": PASSWORD, "label": "bench"}).encode()
    status, answer = http_request(port, "POST", "/api/v1/auth/token", body=body,
                                  headers={"Content-Type": "application/json"})
    if status != 201:
        raise BenchError(f"POST /api/v1/auth/token answered {status}: {answer[:300]!r}")
    return json.loads(answer)["token"]


def other_load(seconds: float) -> float:
    """Cores kept busy by other processes while this benchmark pauses (before each query). Measured in
    pauses because the database server's own processes (PostgreSQL's parallel workers come and go)
    cannot all be told apart from strangers while measuring."""
    before, own_before = machine_busy_seconds(), cpu_seconds([os.getpid()])
    time.sleep(seconds)
    return max(0.0, (machine_busy_seconds() - before) - (cpu_seconds([os.getpid()]) - own_before)) / seconds


# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    instance = db = product = bare = floor_conn = None
    try:
        instance = ProductInstance()
        # Keys a newer configuration may require (harmless to one that does not know them).
        instance.env.setdefault("INSPECT_ID_ENCRYPTION_KEY", os.urandom(32).hex())
        db = Database(instance, args.database_url)
        print(f"{NAME}: GET {PATH} (bearer token, gunicorn -w {args.workers} sync) vs raw SQL of the same page "
              f"on {db.dialect}; {args.entities:,} entities; {args.per_page} per page; "
              f"{args.seconds:g} s per query", flush=True)
        db.create()
        instance.env["DATABASE_URL"] = db.env_url
        instance.flask("db", "upgrade")
        instance.flask("users", "create", USERNAME, "--password", PASSWORD, "--role", "registrar",
                       "--department", "samr")
        stats = datagen.load_registry(db.sa_url.render_as_string(hide_password=False), args.entities, seed=args.seed)
        print(f"data load: {stats.entities:,} entities, {stats.licences:,} licences, "
              f"{stats.status_changes:,} status changes in {stats.seconds:.1f} s "
              f"({stats.rate():,.0f} entities/s)", flush=True)

        product = GunicornServer("product", "wsgi:app", cwd=PROJECT_ROOT, env=instance.env, log_dir=instance.dir,
                                 workers=args.workers)
        product.launch()
        product.wait_ready("/api/v1/health")
        auth = {"Authorization": f"Bearer {get_token(product.port)}"}

        today = date.today()
        queries = build_queries(sample_values(db), "140602", args.deep_page)
        if args.only:
            wanted = set(args.only.split(","))
            unknown = wanted - {query.name for query in queries}
            if unknown:
                raise BenchError(f"unknown query name(s) {sorted(unknown)}; "
                                 f"known: {', '.join(query.name for query in queries)}")
            queries = [query for query in queries if query.name in wanted]
        capture = SqlCapture(instance.env)
        floor_conn = db.connect()
        cursor = floor_conn.cursor()
        first = api_body(fetch(product.port, build_get(f"{PATH}?per_page=1", product.port, auth)), PATH)
        columns = page_columns(first["items"][0])
        for query in queries:
            if query.page > 1:  # the deep page: no further than the middle of the data
                count_sql, _page = hand_sql(query.filters, db.dialect, today, args.per_page, 1, columns)
                total = run_sql(cursor, count_sql, ("SELECT 1", []))[0]
                query.page = max(1, min(query.page, total // args.per_page // 2))
                query.description = f"no filter, page {query.page}"
            query.hand_count, query.hand_page = hand_sql(query.filters, db.dialect, today, args.per_page,
                                                         query.page, columns)
            params = {**query.filters, "page": query.page, "per_page": args.per_page}
            query.api_path = PATH + "?" + urlencode(params, quote_via=quote)
            query.floor = capture.statements(query.api_path, auth)
            # The same page from the API and by hand, and the product's statements yield it, or no figures.
            total, rows = run_sql(cursor, query.hand_count, query.hand_page)
            raw_body = fetch(product.port, build_get(query.api_path, product.port, auth))
            body = api_body(raw_body, f"GET {query.api_path}")
            query.body = raw_body.split(b"\r\n\r\n", 1)[1]
            ids = [row[0] for row in rows]
            api_ids = [item["id"] for item in body["items"]]
            if api_ids != ids or body["total"] != total:
                raise BenchError(f"{query.name}: the API's page ({body['total']} in all, ids {api_ids[:5]}...) "
                                 f"is not the one written by hand ({total}, {ids[:5]}...)")
            if not ids:
                raise BenchError(f"{query.name}: an empty page measures nothing; pick other values")
            results = run_floor(cursor, query.floor)
            counted = any(result == [(total,)] for result in results) or (
                len(ids) < args.per_page and total == (query.page - 1) * args.per_page + len(ids))
            if not any([row[0] for row in result] == ids for result in results) or not counted:
                raise BenchError(f"{query.name}: the captured statements do not give the page and its total:\n"
                                 + "\n".join(statement for statement, _params in query.floor))
            query.total = total
        capture.close()
        # Reference, not judged: the same bodies from a bare Flask app under the same gunicorn (no database,
        # ORM or authentication): what HTTP and the framework alone cost for a page of that size.
        pages = instance.dir / "bare-pages"
        pages.mkdir(exist_ok=True)
        for query in queries:
            (pages / f"{query.name}.json").write_bytes(query.body)
        bare = GunicornServer("bare", "bare_app:app", cwd=BENCH_DIR, env={**instance.env, "BARE_PAGES_DIR": str(pages)},
                              log_dir=instance.dir, workers=args.workers)
        bare.launch()
        bare.wait_ready("/health")

        server_pids = product.worker_pids()
        quiet_samples = []
        print(f"{'query':<11} {'rows':>7} {'SQL ms':>8} {'hand ms':>8} {'API ms':>8} {'ratio':>6} "
              f"{'bare ms':>8} {'SQL CPU':>8} {'srv CPU':>8} {'n':>4}  request", flush=True)
        for query in queries:
            payload = build_get(query.api_path, product.port, auth)
            bare_payload = build_get(f"/page/{query.name}", bare.port)
            quiet_samples.append(other_load(0.4))
            for _ in range(2):  # warm-up: page cache, statement caches, the worker's first request
                run_floor(cursor, query.floor)
                run_sql(cursor, query.hand_count, query.hand_page)
                api_body(fetch(product.port, payload), query.name)
                fetch(bare.port, bare_payload)
            cpu_before, floor_cpu = cpu_seconds(server_pids), 0.0
            deadline = time.monotonic() + args.seconds
            samples = query.samples
            while len(samples["api"]) < args.max_samples and (
                    len(samples["api"]) < args.min_samples or time.monotonic() < deadline):
                began, began_cpu = time.perf_counter(), time.process_time()
                run_floor(cursor, query.floor)
                middle = time.perf_counter()
                floor_cpu += time.process_time() - began_cpu
                run_sql(cursor, query.hand_count, query.hand_page)
                sent = time.perf_counter()
                response = fetch(product.port, payload)
                done = time.perf_counter()
                if not response.startswith(b"HTTP/1.1 200 "):
                    api_body(response, f"GET {query.api_path}")  # raises with the answer
                bare_response = fetch(bare.port, bare_payload)
                samples["bare"].append(time.perf_counter() - done)
                if not bare_response.startswith(b"HTTP/1.1 200 "):
                    raise BenchError(f"the bare app did not answer /page/{query.name}: {bare_response[:200]!r}")
                samples["floor"].append(middle - began)
                samples["hand"].append(sent - middle)
                samples["api"].append(done - sent)
            query.server_cpu = (cpu_seconds(server_pids) - cpu_before) / len(samples["api"])
            query.floor_cpu = floor_cpu / len(samples["floor"])
            print(f"{query.name:<11} {query.total:>7} {query.median_ms('floor'):8.2f} {query.median_ms('hand'):8.2f} "
                  f"{query.median_ms('api'):8.2f} {query.ratio():6.2f} {query.median_ms('bare'):8.2f} "
                  f"{query.floor_cpu * 1000:8.2f} "
                  f"{query.server_cpu * 1000:8.2f} "
                  f"{len(samples['api']):>4}  {query.description}", flush=True)
        other_share = max(quiet_samples)

        ratios = [query.ratio() for query in queries]
        worst = max(queries, key=Query.ratio)
        geomean = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
        floor_sum = sum(query.median_ms("floor") for query in queries)
        api_sum = sum(query.median_ms("api") for query in queries)
        met = worst.ratio() <= args.target
        print(f"data load: {stats.seconds:.1f} s for {stats.entities:,} entities on {db.dialect}")
        print(f"SQL median sum: {floor_sum:.2f} ms; API median sum: {api_sum:.2f} ms "
              f"(overall ratio {api_sum / floor_sum:.2f}, geometric mean of ratios {geomean:.2f})")
        print(f"worst ratio (API/SQL): {worst.ratio():.2f} ({worst.name})  target <= {args.target:g} per query  "
              f"{'met' if met else 'MISSED'}")
        print(f"bare Flask answering {worst.name}'s body: {worst.median_ms('bare'):.2f} ms, "
              f"{worst.median_ms('bare') / worst.median_ms('floor'):.2f}x its SQL before any database work; "
              f"the product adds {worst.median_ms('api') - worst.median_ms('bare'):.2f} ms to that "
              f"(SQL {worst.median_ms('floor'):.2f} ms)")
        path = record(NAME, {
            "target": {"metric": "median(API) / median(the product's SQL of the same page run raw), every query",
                       "max": args.target, "met": met},
            "database": db.dialect,
            "worst_ratio": round(worst.ratio(), 3),
            "overall_ratio": round(api_sum / floor_sum, 3),
            "geomean_ratio": round(geomean, 3),
            "load": stats.figures(),
            "parameters": {"entities": args.entities, "seconds": args.seconds, "min_samples": args.min_samples,
                           "max_samples": args.max_samples, "per_page": args.per_page, "workers": args.workers,
                           "seed": args.seed, "quick": args.quick},
            "other_load_cores": round(other_share, 2),
            "queries": [{
                "name": query.name, "description": query.description, "api_path": query.api_path,
                "total": query.total, "samples": len(query.samples["api"]),
                "sql_ms_p50": round(query.median_ms("floor"), 3),
                "hand_sql_ms_p50": round(query.median_ms("hand"), 3),
                "api_ms_p50": round(query.median_ms("api"), 3),
                "bare_flask_ms_p50": round(query.median_ms("bare"), 3),
                "ratio": round(query.ratio(), 3),
                "server_cpu_ms_per_request": round(query.server_cpu * 1000, 3),
                "sql_client_cpu_ms": round(query.floor_cpu * 1000, 3),
                "sql": [statement for statement, _params in query.floor],
                "hand_sql": [query.hand_count[0], query.hand_page[0]],
            } for query in queries],
        }, args.results_dir)
        if other_share > 0.2:
            print(f"warning: other processes used up to {other_share:.2f} of the {machine()['cpus']} cores "
                  "(sampled in pauses before each query); the figures are disturbed (see README)")
        print(f"recorded {path}")
        return EXIT_OK if met else EXIT_MISSED
    except BenchError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{NAME}: interrupted", file=sys.stderr)
        return 130
    finally:
        if floor_conn is not None:
            floor_conn.close()
        if product is not None:
            product.stop()
        if bare is not None:
            bare.stop()
        if args.keep and instance is not None and db is not None:
            print(f"kept: DATABASE_URL={db.env_url} INSPECT_INSTANCE_DIR={instance.dir} "
                  f"(SECRET_KEY and INSPECT_ID_HMAC_KEY: {instance.dir}/env.json)")
            (instance.dir / "env.json").write_text(json.dumps(
                {k: instance.env[k] for k in ("DATABASE_URL", "SECRET_KEY", "INSPECT_ID_HMAC_KEY",
                                              "INSPECT_INSTANCE_DIR", "INSPECT_DATA_DIR")}, indent=1))
            instance._tmp._finalizer.detach()  # TemporaryDirectory: not removed at exit
        else:
            if db is not None:
                try:
                    db.drop()
                except Exception as exc:  # noqa: BLE001 - report, still clean the rest
                    print(f"{NAME}: could not drop database {db.name}: {exc}", file=sys.stderr)
            if instance is not None:
                instance.cleanup()


if __name__ == "__main__":
    sys.exit(main())
