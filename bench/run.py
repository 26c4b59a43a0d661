"""Run the benchmarks: every ``bench/bench_*.py``, or the ones named on the command line.

    .venv/bin/python bench/run.py                     # all of them (``make bench``)
    .venv/bin/python bench/run.py api_auth            # one, by name (or bench_api_auth[.py])
    .venv/bin/python bench/run.py --quick             # each in its quickest mode
    .venv/bin/python bench/run.py api_auth -- --duration 30 --concurrency 8
    .venv/bin/python bench/run.py --list

Each script runs in its own process with this interpreter, prints its figures and records them
under ``bench/results/``. Exit status: 0 when every target is met, 1 when a target is missed,
2 when a benchmark could not measure (or a name is unknown), 130 when interrupted.
"""
from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent

EXIT_OK, EXIT_MISSED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


def discover() -> dict[str, Path]:
    """``{"api_auth": bench/bench_api_auth.py, ...}`` in name order."""
    return {path.stem[len("bench_"):]: path for path in sorted(BENCH_DIR.glob("bench_*.py"))}


def resolve(names: list[str], available: dict[str, Path]) -> tuple[list[str], list[str]]:
    chosen, unknown = [], []
    for raw in names:
        name = Path(raw).name
        name = name[:-3] if name.endswith(".py") else name
        name = name[len("bench_"):] if name.startswith("bench_") else name
        if name in available:
            if name not in chosen:
                chosen.append(name)
        else:
            unknown.append(raw)
    return chosen, unknown


def describe(status: int) -> str:
    if status == EXIT_OK:
        return "met"
    if status == EXIT_MISSED:
        return "MISSED"
    if status < 0:
        return f"ERROR (killed by signal {-status})"
    if status == EXIT_INTERRUPTED:
        return "INTERRUPTED"
    return f"ERROR (exit {status})"


def run_one(path: Path, extra: list[str]) -> int:
    """Run one script; on Ctrl-C wait for it to stop its servers (it receives the SIGINT too)."""
    process = subprocess.Popen([sys.executable, str(path), *extra], cwd=PROJECT_ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        try:
            return process.wait(30)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.kill()
            process.wait()
            return EXIT_INTERRUPTED


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    extra: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, extra = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(description="Run the benchmarks in bench/ and check their targets.",
                                     epilog="Arguments after -- are passed to every benchmark script.")
    parser.add_argument("names", nargs="*", help="benchmarks to run (default: every bench/bench_*.py)")
    parser.add_argument("--quick", action="store_true", help="run each benchmark in its quickest mode")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)

    available = discover()
    if args.list:
        for name, path in available.items():
            print(f"{name:<24} {path.relative_to(PROJECT_ROOT)}")
        return EXIT_OK
    chosen, unknown = resolve(args.names, available) if args.names else (list(available), [])
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available) or 'none'}",
              file=sys.stderr)
        return EXIT_ERROR
    if not chosen:
        print("no benchmarks found (bench/bench_*.py)", file=sys.stderr)
        return EXIT_ERROR
    if args.quick:
        extra = ["--quick", *extra]

    summary: list[tuple[str, int, float]] = []
    for name in chosen:
        print(f"=== {name} ===", flush=True)
        started = time.monotonic()
        status = run_one(available[name], extra)
        summary.append((name, status, time.monotonic() - started))
        if status == EXIT_INTERRUPTED or status == -signal.SIGINT:
            break

    print("=== summary ===")
    for name, status, seconds in summary:
        print(f"{name:<24} {describe(status):<28} {seconds:6.1f} s")
    statuses = [status for _name, status, _seconds in summary]
    if any(status in (EXIT_INTERRUPTED, -signal.SIGINT) for status in statuses):
        return EXIT_INTERRUPTED
    if any(status not in (EXIT_OK, EXIT_MISSED) for status in statuses):
        return EXIT_ERROR
    return EXIT_MISSED if EXIT_MISSED in statuses else EXIT_OK


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(EXIT_INTERRUPTED)
