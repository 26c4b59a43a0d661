"""Import of 50,000 entities from a CSV against a bare executemany of the same rows, in the same run.

Product: ``inspect_app.registry.imports.import_entities`` -- the whole service, from the CSV bytes
to the commit: reading and decoding, header mapping, every row through the registry's rules
(``clean_entity_data``, credit codes with python-stdnum, coordinates, kind attributes, licences),
duplicates within the file and against the database, the entry gate's blocking rules, the bulk
inserts (entities, status changes, licences) and the commit that writes one hash-chained audit
event per entity. The file: a UTF-8 CSV with the template's Chinese headers, ``--rows`` valid rows
(job agencies, marriage agencies and venues across the six counties, credit codes from
``make_credit_code``, coordinates, kind attributes, a business licence each), fixed seed.

Floor: the same entity rows, as the import stored them, inserted into the same emptied table with
the DB-API cursor's ``executemany`` in one transaction (``sqlite3`` / ``psycopg``).

Each round imports, reads the stored rows back, empties the tables, times the floor and empties
the tables again; the medians over ``--repeat`` rounds give the ratio. SQLite always (a temporary
file); PostgreSQL too when ``--database-url`` or ``TEST_DATABASE_URL`` is given (in a schema of
this run's own, dropped at the end: the database's other schemas are not touched).

Target (issue 3): product / floor <= 4. Exit status 0 when met on every backend, 1 when missed,
2 when the benchmark could not measure.
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (EXIT_ERROR, EXIT_MISSED, EXIT_OK, PROJECT_ROOT, Backend, BenchError, install_signal_handlers,
                      machine_busy_seconds, make_app, other_load, own_cpu_seconds, record)

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

NAME = "import"
TARGET_RATIO = 4.0
SEED = 20261129
COUNTIES = {"140602": "朔城区", "140603": "平鲁区", "140621": "山阴县", "140622": "应县", "140623": "右玉县",
            "140681": "怀仁市"}
WORDS = ["鑫源", "恒达", "众诚", "金桥", "华兴", "博远", "富民", "晋北", "应州", "玉龙", "桑干", "雁门", "朔方",
         "宏图", "盛世", "同心", "安泰", "顺通", "佳和", "新程", "旭日", "长城", "瑞丰", "锦程"]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马胡朱郭何罗高林郑梁谢唐许冯宋韩邓彭曹曾田"
GIVEN = "建国伟强军磊洋勇艳杰娟涛明超秀兰霞平刚桂英华玉芳敏静丽红梅飞鹏辉斌宇浩凯"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=50_000, help="rows in the file (default 50,000)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds; the medians count (default 3)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL to measure as well (default: $TEST_DATABASE_URL if set); the run works "
                             "in a schema of its own and drops it")
    parser.add_argument("--sqlite-only", action="store_true", help="do not measure PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="smoke run: 2,000 rows, 1 round (figures meaningless)")
    parser.add_argument("--target-ratio", type=float, default=TARGET_RATIO,
                        help=f"maximum product/floor ratio (default {TARGET_RATIO:g})")
    parser.add_argument("--results-dir", default=None, help="where to write the JSON (default bench/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.rows, args.repeat = 2_000, 1
    if args.rows < 1 or args.repeat < 1:
        parser.error("--rows and --repeat must be positive")
    if args.database_url is None and not args.sqlite_only:
        args.database_url = os.environ.get("TEST_DATABASE_URL") or None
    return args


# --------------------------------------------------------------------------------------------
# The file

def make_rows(count: int, seed: int = SEED) -> tuple[list[str], list[list[str]]]:
    """``count`` valid rows with the template's Chinese headers (deterministic)."""
    from inspect_app.registry.codes import make_credit_code
    rng = random.Random(seed)
    headers = ["类别", "子类", "名称", "统一社会信用代码", "法定代表人", "联系电话", "地址", "所属区县", "纬度", "经度",
               "坐标系", "从业人员数", "服务项目", "是否涉外婚姻介绍", "核定容纳消费者人数", "包厢数", "所在楼层（地下为负）",
               "是否位于含住宅用途的建筑内", "营业执照编号", "营业执照发证日期"]
    seats = {"140602": (39.33, 112.43), "140603": (39.51, 112.29), "140621": (39.52, 112.82),
             "140622": (39.56, 113.19), "140623": (39.99, 112.47), "140681": (39.83, 113.10)}
    rows = []
    codes = list(COUNTIES)
    for n in range(count):
        region = codes[n % len(codes)]
        lat, lon = seats[region]
        kind = ("job_agency", "job_agency", "marriage_agency", "entertainment_venue")[n % 4]
        word = rng.choice(WORDS)
        person = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        row = dict.fromkeys(headers, "")
        row.update({"名称": f"{COUNTIES[region]}{word}第{n}号", "统一社会信用代码": make_credit_code(region, 10_000_000 + n),
                    "法定代表人": person, "联系电话": f"0349-{rng.randint(2000000, 8999999)}",
                    "地址": f"{COUNTIES[region]}{word}路{rng.randint(1, 300)}号", "所属区县": COUNTIES[region],
                    "纬度": f"{lat + rng.uniform(-0.03, 0.03):.6f}", "经度": f"{lon + rng.uniform(-0.04, 0.04):.6f}",
                    "坐标系": "wgs84", "营业执照编号": f"{region}{n:09d}", "营业执照发证日期": "2024-01-05"})
        if kind == "job_agency":
            row.update({"类别": "职业中介机构", "子类": "职业中介", "从业人员数": str(rng.randint(2, 40))})
            row["名称"] += "人力资源服务有限公司"
        elif kind == "marriage_agency":
            row.update({"类别": "婚姻介绍机构", "是否涉外婚姻介绍": "否", "服务项目": "婚恋介绍"})
            row["名称"] += "婚姻介绍所"
        else:
            row.update({"类别": "娱乐场所", "子类": "歌舞娱乐场所", "核定容纳消费者人数": str(rng.randint(20, 400)),
                        "包厢数": str(rng.randint(0, 30)), "所在楼层（地下为负）": str(rng.randint(1, 5)),
                        "是否位于含住宅用途的建筑内": "否"})
            row["名称"] += "量贩式KTV"
        rows.append([row[h] for h in headers])
    return headers, rows


def csv_file(headers: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def empty_tables(conn, dialect: str) -> None:
    """Remove the imported rows and the audit trail (the chain starts again), keep the account."""
    from inspect_app.audit.models import GENESIS_HASH
    cursor = conn.cursor()
    if dialect == "postgresql":
        cursor.execute("TRUNCATE entity_status_changes, licences, entities, audit_events CASCADE")
    else:
        for table in ("entity_status_changes", "licences", "entities", "audit_events"):
            cursor.execute(f"DELETE FROM {table}")
    cursor.execute(f"UPDATE audit_heads SET last_seq = 0, last_hash = '{GENESIS_HASH}' WHERE id = 1")
    conn.commit()


def measure_backend(backend: Backend, data: bytes, rows: int, repeat: int, workdir: Path) -> dict:
    from flask_babel import force_locale
    from flask_migrate import upgrade

    from inspect_app.audit.services import set_actor, verify_chain
    from inspect_app.auth.models import User
    from inspect_app.auth.services import create_user
    from inspect_app.extensions import db
    from inspect_app.registry.imports import import_entities

    backend.create()
    app = make_app(backend.url, workdir, IMPORT_MAX_BYTES=1 << 30, IMPORT_MAX_ROWS=10_000_000)
    rounds = []
    try:
        with app.app_context(), force_locale("zh_CN"):
            upgrade()
            user = create_user({"username": "bench.import", "full_name": "bench", "roles": ["registrar"],
                                "department_code": "samr", "region_code": "140600",
                                "password": "bench-password-123"})
            db.session.commit()
            user_id = user.id
            engine = db.engine
            dialect = engine.dialect.name
            columns = [c.name for c in db.metadata.tables["entities"].columns]
            for number in range(repeat):
                # -- product: the whole service and its commit
                db.session.remove()
                user = db.session.get(User, user_id)
                set_actor(db.session, user.id, user.username)
                busy0, own0 = machine_busy_seconds(), own_cpu_seconds()
                started = time.perf_counter()
                result = import_entities(data, user, filename="bench.csv")
                if result.error_count:
                    raise BenchError(f"the generated file has errors: {result.errors[:3]}")
                commit_started = time.perf_counter()
                db.session.commit()
                product = time.perf_counter() - started
                product_cpu = own_cpu_seconds() - own0
                other = other_load(busy0, own0, product)
                timings = dict(result.timings, commit=time.perf_counter() - commit_started)
                if result.created != rows:
                    raise BenchError(f"imported {result.created} of {rows} rows")
                if number == 0:
                    checked, problem = verify_chain(db.session)
                    if problem is not None or checked != rows + 3:  # the account's two events and the summary
                        raise BenchError(f"audit chain after the import: {checked} events, {problem}")
                db.session.remove()
                # -- floor: the same stored rows, a bare executemany into the emptied table
                raw = engine.raw_connection()
                try:
                    cursor = raw.cursor()
                    cursor.execute(f"SELECT {', '.join(columns)} FROM entities ORDER BY id")
                    stored = cursor.fetchall()
                    if dialect == "postgresql":
                        from psycopg.types.json import Json
                        stored = [tuple(Json(v) if isinstance(v, (dict, list)) else v for v in row) for row in stored]
                    empty_tables(raw, dialect)
                    marks = ", ".join(["?" if dialect == "sqlite" else "%s"] * len(columns))
                    sql = f"INSERT INTO entities ({', '.join(columns)}) VALUES ({marks})"
                    cursor = raw.cursor()
                    started, floor_cpu = time.perf_counter(), own_cpu_seconds()
                    if dialect == "sqlite":  # one transaction, as the product's: the app's connections autocommit
                        cursor.execute("BEGIN")  # unless told (inspect_app/sqlite.py begins them itself)
                    cursor.executemany(sql, stored)
                    raw.commit()
                    floor = time.perf_counter() - started
                    floor_cpu = own_cpu_seconds() - floor_cpu
                    cursor.execute("SELECT count(*) FROM entities")
                    if cursor.fetchone()[0] != rows:
                        raise BenchError("the floor did not insert every row")
                    empty_tables(raw, dialect)
                finally:
                    raw.close()
                rounds.append({"product_seconds": round(product, 4), "floor_seconds": round(floor, 4),
                               "ratio": round(product / floor, 3), "phases": {k: round(v, 4) for k, v in
                                                                              timings.items()},
                               "product_cpu_seconds": round(product_cpu, 4), "floor_cpu_seconds": round(floor_cpu, 4),
                               "other_load_cores": round(other, 2)})
                phases = ", ".join(f"{k} {v:.2f}" for k, v in timings.items())
                print(f"  {backend.name} round {number + 1}: product {product:.3f} s ({phases}), "
                      f"floor {floor:.3f} s, ratio {product / floor:.2f}, other load {other:.2f} cores", flush=True)
                if other > 0.2:
                    print(f"  warning: other processes used {other:.2f} cores meanwhile; re-run on a quiet machine",
                          flush=True)
            db.session.remove()
            engine.dispose()
    finally:
        backend.drop()
    product = statistics.median(r["product_seconds"] for r in rounds)
    floor = statistics.median(r["floor_seconds"] for r in rounds)
    product_cpu = statistics.median(r["product_cpu_seconds"] for r in rounds)
    floor_cpu = statistics.median(r["floor_cpu_seconds"] for r in rounds)
    phases = {k: round(statistics.median(r["phases"][k] for r in rounds) / rows * 1e6, 1) for k in rounds[0]["phases"]}
    return {"product_seconds": round(product, 4), "floor_seconds": round(floor, 4),
            "ratio": round(product / floor, 3), "rounds": rounds,
            "cpu": {"product_seconds": round(product_cpu, 4), "floor_seconds": round(floor_cpu, 4),
                    "ratio": round(product_cpu / floor_cpu, 3) if floor_cpu else None},
            "per_row_us": {"product": round(product / rows * 1e6, 1), "floor": round(floor / rows * 1e6, 1),
                           "phases": phases}}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    try:
        import inspect_app  # noqa: F401
    except ImportError as exc:
        print(f"{NAME}: error: cannot import the product: {exc}", file=sys.stderr)
        return EXIT_ERROR
    workdir = Path(tempfile.mkdtemp(prefix="inspect-bench-import-"))
    try:
        headers, rows = make_rows(args.rows)
        data = csv_file(headers, rows)
        print(f"{NAME}: {args.rows:,} rows, CSV {len(data) / 1e6:.1f} MB, {args.repeat} round(s); "
              f"target product/floor <= {args.target_ratio:g}", flush=True)
        backends = [Backend("sqlite", None, workdir, "bench-import")]
        if args.database_url:
            backends.append(Backend("postgresql", args.database_url, workdir, "bench_import"))
        results, met = {}, True
        for backend in backends:
            figures = measure_backend(backend, data, args.rows, args.repeat, workdir)
            results[backend.name] = figures
            ok = figures["ratio"] <= args.target_ratio
            met = met and ok
            print(f"{backend.name} product seconds: {figures['product_seconds']:.3f}  "
                  f"floor seconds: {figures['floor_seconds']:.3f}  "
                  f"ratio (product/floor): {figures['ratio']:.2f}  target <= {args.target_ratio:g}  "
                  f"{'met' if ok else 'MISSED'}", flush=True)
            per_row = figures["per_row_us"]
            print(f"{backend.name} per row: product {per_row['product']:.1f} us ("
                  + ", ".join(f"{k} {v:.1f}" for k, v in per_row["phases"].items())
                  + f"), floor {per_row['floor']:.1f} us", flush=True)
            if backend.name == "sqlite" and figures["cpu"]["ratio"]:
                # in-process on SQLite: CPU time is less disturbed by other processes than wall time
                print(f"{backend.name} CPU seconds (information): product {figures['cpu']['product_seconds']:.3f}, "
                      f"floor {figures['cpu']['floor_seconds']:.3f}, ratio {figures['cpu']['ratio']:.2f}", flush=True)
        path = record(NAME, {
            "target": {"ratio_max": args.target_ratio, "met": met},
            "backends": results,
            "parameters": {"rows": args.rows, "repeat": args.repeat, "quick": args.quick, "seed": SEED,
                           "csv_bytes": len(data), "postgresql": bool(args.database_url)},
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
