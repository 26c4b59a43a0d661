"""Requests per second of an authenticated JSON endpoint against a bare Flask floor.

Product: ``GET /api/v1/auth/me`` with ``Authorization: Bearer <token>`` (token from
``POST /api/v1/auth/token``), on a fresh migrated SQLite database. Floor: ``bench/bare_app.py``
answering a JSON of the same shape with no database, extension or authentication. Both are
served by ``gunicorn -w 2 -k sync`` and loaded in the same run by the same load generator
(one process per connection, raw sockets), alternating between the two servers round by round.

Target: product RPS / bare RPS >= 0.6. Exit status 0 when met, 1 when missed, 2 when the
benchmark could not measure.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from benchlib import (BENCH_DIR, EXIT_ERROR, EXIT_MISSED, EXIT_OK, PROJECT_ROOT, BenchError,
                      GunicornServer, LoadGenerator, ProductInstance, build_get, http_request,
                      install_signal_handlers, machine, record)

NAME = "api_auth"
TARGET_RATIO = 0.6
USERNAME = "benchuser"
PASSWORD = "bench-password-123"
PRODUCT_PATH = "/api/v1/auth/me"
BARE_PATH = "/me"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0,
                        help="seconds measured per server per round (default 10)")
    parser.add_argument("--warmup", type=float, default=2.0,
                        help="seconds of unmeasured load before each measurement (default 2)")
    parser.add_argument("--concurrency", type=int, default=4,
                        help="concurrent client connections, one process each (default 4)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="measurements per server, alternating bare/product (default 3)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers per server (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 1 round of 1 s after 0.5 s warm-up (overrides the above)")
    parser.add_argument("--target", type=float, default=TARGET_RATIO,
                        help=f"minimum product/bare ratio (default {TARGET_RATIO})")
    parser.add_argument("--results-dir", default=None, help="where to write the JSON (default bench/results)")
    args = parser.parse_args(argv)
    if args.quick:
        args.duration, args.warmup, args.rounds = 1.0, 0.5, 1
    if args.duration <= 0 or args.warmup < 0 or args.rounds < 1 or args.concurrency < 1 or args.workers < 1:
        parser.error("--duration and --rounds, --concurrency, --workers must be positive, --warmup >= 0")
    return args


def get_token(port: int) -> str:
    body = json.dumps({"username": USERNAME, "password": PASSWORD, "label": "bench"}).encode()
    status, answer = http_request(port, "POST", "/api/v1/auth/token", body=body,
                                  headers={"Content-Type": "application/json"})
    if status != 201:
        raise BenchError(f"POST /api/v1/auth/token answered {status}: {answer[:300]!r}")
    return json.loads(answer)["token"]


def check_endpoint(port: int, path: str, headers: dict[str, str] | None = None) -> dict:
    status, answer = http_request(port, "GET", path, headers=headers)
    if status != 200:
        raise BenchError(f"GET {path} answered {status}: {answer[:300]!r}")
    data = json.loads(answer)
    if data.get("username") != USERNAME:
        raise BenchError(f"GET {path} did not name {USERNAME}: {data!r}")
    return data


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    install_signal_handlers()
    instance = product = bare = load = None
    try:
        print(f"{NAME}: GET {PRODUCT_PATH} (bearer token) vs bare Flask GET {BARE_PATH}; "
              f"gunicorn -w {args.workers} sync each; {args.concurrency} client processes; "
              f"{args.rounds} x {args.duration:g} s per server after {args.warmup:g} s warm-up", flush=True)
        instance = ProductInstance()
        bare_env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        bare = GunicornServer("bare", "bare_app:app", cwd=BENCH_DIR, env=bare_env,
                              log_dir=instance.dir, workers=args.workers)
        bare.launch()  # starts while the product's database is being set up
        instance.flask("db", "upgrade")
        instance.flask("users", "create", USERNAME, "--password", PASSWORD, "--role", "viewer",
                       "--department", "hrss")
        product = GunicornServer("product", "wsgi:app", cwd=PROJECT_ROOT, env=instance.env,
                                 log_dir=instance.dir, workers=args.workers)
        product.launch()
        bare.wait_ready("/health")
        product.wait_ready("/api/v1/health")

        token = get_token(product.port)
        auth = {"Authorization": f"Bearer {token}"}
        product_body = check_endpoint(product.port, PRODUCT_PATH, auth)
        bare_body = check_endpoint(bare.port, BARE_PATH)
        if sorted(product_body) != sorted(bare_body):
            print(f"  note: the JSON keys differ: product {sorted(product_body)}, bare {sorted(bare_body)}")
        servers = {
            "bare": (bare, build_get(BARE_PATH, bare.port)),
            "product": (product, build_get(PRODUCT_PATH, product.port, auth)),
        }

        load = LoadGenerator(args.concurrency)
        totals = {}
        rounds = []
        for number in range(args.rounds):
            order = ("bare", "product") if number % 2 == 0 else ("product", "bare")
            this_round = {}
            for name in order:
                server, payload = servers[name]
                result = load.run(server.port, payload, warmup=args.warmup, duration=args.duration,
                                  server_pids=server.worker_pids())
                this_round[name] = result.figures()
                totals[name] = totals[name].merge(result) if name in totals else result
                print(f"  round {number + 1} {name:<8} {result.rps:8.1f} req/s  "
                      f"p50 {result.latency_ms(0.5):6.2f} ms  p99 {result.latency_ms(0.99):6.2f} ms  "
                      f"server CPU {result.server_cpu_ms_per_request:.3f} ms/req  "
                      f"other load {result.other_cpu_share:.2f} cores  errors {result.errors}", flush=True)
            if this_round["bare"]["rps"]:
                this_round["ratio"] = round(this_round["product"]["rps"] / this_round["bare"]["rps"], 4)
                print(f"  round {number + 1} ratio {this_round['ratio']:.3f}")
            rounds.append(this_round)

        bare_total, product_total = totals["bare"], totals["product"]
        failed = {name: total for name, total in totals.items() if total.errors}
        if bare_total.requests == 0 or product_total.requests == 0 or failed:
            for name, total in failed.items():
                print(f"  {name}: {total.errors} failed requests, e.g. {total.error_samples[:2]}")
            raise BenchError("requests failed or none completed; no figures")

        ratio = product_total.rps / bare_total.rps
        cpu_ratio = (bare_total.server_cpu_ms_per_request / product_total.server_cpu_ms_per_request
                     if product_total.server_cpu_ms_per_request else 0.0)
        met = ratio >= args.target
        print(f"bare RPS: {bare_total.rps:.1f}")
        print(f"product RPS: {product_total.rps:.1f}")
        print(f"ratio (product/bare): {ratio:.3f}  target >= {args.target:g}  {'met' if met else 'MISSED'}")
        print(f"server CPU per request: product {product_total.server_cpu_ms_per_request:.3f} ms, "
              f"bare {bare_total.server_cpu_ms_per_request:.3f} ms (bare/product {cpu_ratio:.3f})")
        path = record(NAME, {
            "target": {"metric": "product_rps / bare_rps", "min": args.target, "met": met},
            "ratio": round(ratio, 4),
            "cpu_ratio": round(cpu_ratio, 4),
            "parameters": {"duration": args.duration, "warmup": args.warmup, "rounds": args.rounds,
                           "concurrency": args.concurrency, "workers": args.workers, "quick": args.quick,
                           "load_generator": "one process per connection, raw sockets, Connection: close"},
            "product": {"endpoint": f"GET {PRODUCT_PATH}", **product_total.figures()},
            "bare": {"endpoint": f"GET {BARE_PATH} (bench/bare_app.py)", **bare_total.figures()},
            "rounds": rounds,
        }, args.results_dir)
        other = max(total.other_cpu_share for total in totals.values())
        if other > 0.2:
            print(f"warning: other processes used up to {other:.2f} of the {machine()['cpus']} cores while "
                  "measuring; the figures are disturbed (see README)")
        print(f"recorded {path}")
        return EXIT_OK if met else EXIT_MISSED
    except BenchError as exc:
        print(f"{NAME}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"{NAME}: interrupted", file=sys.stderr)
        return 130
    finally:
        if load is not None:
            load.close()
        for server in (product, bare):
            if server is not None:
                server.stop()
        if instance is not None:
            instance.cleanup()


if __name__ == "__main__":
    sys.exit(main())
