"""Notices: one notice end to end vs the bare WeasyPrint render of the same HTML; a batch on two processes vs one.

Product, single: ``issue_notice("rectification_order", ...)`` on a completed inspection loaded in a fresh
session, then the commit: load, snapshot, number (counter row), render (fonts checked before and after),
SHA-256, store the file (fsync), insert the row, write the audit event. Floor: ``HTML(string=html).write_pdf()``
of the HTML the product rendered for that very notice (same QR code, signatures and fonts). The two are
measured alternately, one notice after the other, and compared by their medians (issue 7: at most 1.3x).

Product, batch: ``issue_many`` of the same type on N inspections (drafts and numbers in the parent, rendering
on the workers, files stored, one commit) with one worker (rendering in-process) and with two worker
processes, each on its own N inspections; the figure is the throughput ratio (issue 7: at least 1.6x).

The machine has 2 cores shared with other work: the busy cores of the whole machine during each phase are
printed beside the figures. Exit status 0 when both targets are met, 1 when one is missed, 2 when it could
not measure.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchlib import (EXIT_ERROR, EXIT_MISSED, EXIT_OK, PROJECT_ROOT, BenchError, install_signal_handlers,
                      machine_busy_seconds, record)

if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

NAME = "notices"
TARGET_SINGLE = 1.3
TARGET_BATCH = 1.6


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--single", type=int, default=50, help="notices timed one by one (default 50)")
    parser.add_argument("--batch", type=int, default=500, help="notices per batch (default 500)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes of the parallel batch (default 2)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 5 single notices, batches of 6")
    parser.add_argument("--results-dir", default=None, help="where to write the JSON (default bench/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.single, args.batch = 5, 6
    if args.single < 1 or args.batch < 3 or args.workers < 2:
        parser.error("--single must be >= 1, --batch >= 3 and --workers >= 2")
    return args


class Busy:
    """Busy cores of the whole machine and CPU of this process (and its finished children) over a phase."""

    def __enter__(self):
        self.wall, self.busy = time.monotonic(), machine_busy_seconds()
        self.own = self._own()
        return self

    @staticmethod
    def _own() -> float:
        usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        return sum(u.ru_utime + u.ru_stime for u in usage)

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.wall
        self.busy_cores = (machine_busy_seconds() - self.busy) / self.seconds if self.seconds else 0.0
        self.own_cores = (self._own() - self.own) / self.seconds if self.seconds else 0.0
        self.other_cores = max(0.0, self.busy_cores - self.own_cores)


def make_app(directory: Path):
    from inspect_app import create_app
    config = {"SECRET_KEY": os.urandom(16).hex(), "ID_HMAC_KEY": os.urandom(16).hex(),
              "ID_ENCRYPTION_KEY": os.urandom(32).hex(), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'b.db'}",
              "INSPECT_DATA_DIR": str(directory / "data"), "PUBLIC_BASE_URL": "https://jc.example.gov.cn",
              "PASSWORD_HASH_METHOD": "scrypt:1024:8:1"}
    return create_app(config)


def seed(app, count: int) -> tuple[int, list[int]]:
    """Two officers and ``count`` completed inspections of job agencies (two violations each)."""
    from inspect_app.auth.models import User
    from inspect_app.auth.services import create_user
    from inspect_app.demo.notices import DEMO_FINDINGS, make_completed_inspection
    from inspect_app.extensions import db
    from inspect_app.registry.codes import make_credit_code
    from inspect_app.registry.models import Entity
    with app.app_context():
        from flask_migrate import upgrade
        upgrade()
        officers = []
        for username, name, department, credential in (("liu", "刘人社", "hrss", "14060201001"),
                                                       ("chen", "陈市监", "samr", "14060202001")):
            officers.append(create_user({"username": username, "full_name": name, "roles": ["inspector"],
                                         "department_code": department, "region_code": "140602",
                                         "password": "bench-password-123", "credential_number": credential}))
        db.session.commit()
        ids = []
        for number in range(count):
            entity = Entity(kind="job_agency", subtype="placement", name=f"朔州市第{number + 1}人力资源服务有限公司",
                            credit_code=make_credit_code("140602", 9000 + number), legal_representative="李娟",
                            address=f"朔城区民福东街{number + 1}号", region_code="140602", status="active",
                            attributes={"staff_count": 6})
            db.session.add(entity)
            db.session.flush()
            ids.append(make_completed_inspection(entity, officers, findings=DEMO_FINDINGS[:2]).id)
            if number % 100 == 99:
                db.session.commit()
        db.session.commit()
        user_id = db.session.scalar(db.select(User.id).where(User.username == "liu"))
        db.session.remove()
    return user_id, ids


def single(app, user_id: int, ids: list[int], warmup: int = 2) -> dict:
    from weasyprint import HTML

    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    from inspect_app.inspection.models import Inspection
    from inspect_app.notices.render import notice_html
    from inspect_app.notices.services import issue_notice, seal_assets
    product, bare = [], []
    for position, inspection_id in enumerate(ids):
        with app.app_context():
            started = time.perf_counter()
            user = db.session.get(User, user_id)
            inspection = db.session.get(Inspection, inspection_id)
            notice = issue_notice("rectification_order", user, inspection=inspection)
            db.session.commit()
            elapsed = time.perf_counter() - started
            html = notice_html(notice.snapshot, seal_assets(notice.snapshot))
            size = notice.pdf_size
        started = time.perf_counter()
        pdf = HTML(string=html, base_url="about:blank").write_pdf()
        floor = time.perf_counter() - started
        if not pdf.startswith(b"%PDF") or abs(len(pdf) - size) > size // 5:
            raise BenchError(f"the bare render differs too much from the product's PDF ({len(pdf)} vs {size} bytes)")
        if position >= warmup:
            product.append(elapsed)
            bare.append(floor)
    return {"product_s": product, "bare_s": bare}


def batch(app, user_id: int, ids: list[int], workers: int) -> tuple[float, float]:
    from inspect_app.auth.models import User
    from inspect_app.extensions import db
    from inspect_app.inspection.models import Inspection
    from inspect_app.notices.services import issue_many, last_batch_stats
    with app.app_context():
        user = db.session.get(User, user_id)
        inspections = list(db.session.scalars(db.select(Inspection).where(Inspection.id.in_(ids))))
        started = time.perf_counter()
        notices, skipped = issue_many("rectification_order", user, inspections, workers=workers)
        db.session.commit()
        elapsed = time.perf_counter() - started
        if skipped or len(notices) != len(ids):
            raise BenchError(f"batch issued {len(notices)} of {len(ids)}: {skipped[:3]}")
    return elapsed, last_batch_stats.get("worker_cpu_seconds", 0.0)


def main(argv=None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    try:
        from inspect_app.notices.fonts import find_problems
    except ImportError as exc:
        print(f"{NAME}: error: cannot import the product: {exc}", file=sys.stderr)
        return EXIT_ERROR
    problems = find_problems()
    if problems:
        print(f"{NAME}: error: {problems[0]}", file=sys.stderr)
        return EXIT_ERROR
    warmup = 2 if args.single > 2 else 0
    with tempfile.TemporaryDirectory(prefix="bench-notices-") as tmp:
        try:
            app = make_app(Path(tmp))
            started = time.monotonic()
            user_id, ids = seed(app, args.single + warmup + 2 * args.batch)
            print(f"{NAME}: seeded {len(ids)} completed inspections in {time.monotonic() - started:.1f} s", flush=True)
            single_ids = ids[:args.single + warmup]
            one_ids = ids[args.single + warmup:args.single + warmup + args.batch]
            many_ids = ids[args.single + warmup + args.batch:]
            with Busy() as load_single:
                figures = single(app, user_id, single_ids, warmup)
            product_median = statistics.median(figures["product_s"])
            bare_median = statistics.median(figures["bare_s"])
            single_ratio = product_median / bare_median
            with Busy() as load_one:
                one_seconds, _cpu = batch(app, user_id, one_ids, 1)
            with Busy() as load_many:
                many_seconds, worker_cpu = batch(app, user_id, many_ids, args.workers)
            # the pool's processes are children of the forkserver, not of this process: count their CPU here
            load_many.other_cores = max(0.0, load_many.other_cores - worker_cpu / load_many.seconds)
        except BenchError as exc:
            print(f"{NAME}: error: {exc}", file=sys.stderr)
            return EXIT_ERROR
    one_rate, many_rate = args.batch / one_seconds, args.batch / many_seconds
    batch_ratio = many_rate / one_rate
    single_ok, batch_ok = single_ratio <= TARGET_SINGLE, batch_ratio >= TARGET_BATCH
    print(f"single notices: {len(figures['product_s'])} (median), other load {load_single.other_cores:.2f} cores")
    print(f"product median ms: {product_median * 1000:.1f}")
    print(f"bare median ms: {bare_median * 1000:.1f}")
    print(f"ratio (product/bare): {single_ratio:.3f}  target <= {TARGET_SINGLE}  {'met' if single_ok else 'MISSED'}")
    print(f"batch of {args.batch}: 1 worker {one_seconds:.1f} s ({one_rate:.2f}/s, other load "
          f"{load_one.other_cores:.2f} cores); {args.workers} workers {many_seconds:.1f} s ({many_rate:.2f}/s, "
          f"other load {load_many.other_cores:.2f} cores)")
    print(f"batch speed-up ({args.workers} workers/1): {batch_ratio:.3f}  target >= {TARGET_BATCH}  "
          f"{'met' if batch_ok else 'MISSED'}")
    if max(load_single.other_cores, load_one.other_cores, load_many.other_cores) > 0.2:
        print("warning: other processes used more than 0.2 cores while measuring; re-run on a quiet machine")
    path = record(NAME, {
        "parameters": {"single": args.single, "batch": args.batch, "workers": args.workers, "quick": args.quick},
        "single": {"product_ms_median": round(product_median * 1000, 2), "bare_ms_median": round(bare_median * 1000, 2),
                   "ratio": round(single_ratio, 4), "target": TARGET_SINGLE,
                   "product_ms": [round(v * 1000, 1) for v in figures["product_s"]],
                   "bare_ms": [round(v * 1000, 1) for v in figures["bare_s"]],
                   "other_load_cores": round(load_single.other_cores, 2)},
        "batch": {"one_worker_s": round(one_seconds, 2), "many_workers_s": round(many_seconds, 2),
                  "speedup": round(batch_ratio, 4), "target": TARGET_BATCH,
                  "other_load_cores": [round(load_one.other_cores, 2), round(load_many.other_cores, 2)]},
    }, args.results_dir)
    print(f"recorded: {path}")
    return EXIT_OK if single_ok and batch_ok else EXIT_MISSED


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
