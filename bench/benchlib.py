"""Shared plumbing for the benchmark scripts: servers, load generator, CPU accounting, results.

Imported by ``bench/bench_*.py`` (the script's directory is on ``sys.path``). Only the
standard library is used here, so the load generator stays light on a two-core machine.
"""
from __future__ import annotations

import datetime as _dt
import json
import multiprocessing
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"

# Exit statuses shared by every benchmark script (and understood by run.py).
EXIT_OK = 0
EXIT_MISSED = 1
EXIT_ERROR = 2


class BenchError(RuntimeError):
    """The benchmark could not measure (a server did not start, requests failed ...)."""


# --------------------------------------------------------------------------------------------
# Signals: turn SIGTERM into an exception so that ``finally`` blocks stop the servers.

def _raise_terminated(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def install_signal_handlers() -> None:
    signal.signal(signal.SIGTERM, _raise_terminated)


# --------------------------------------------------------------------------------------------
# Servers

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    """One request with http.client (set-up and checks only, never under load)."""
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


class GunicornServer:
    """``python -m gunicorn`` in its own session; stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, name: str, app: str, *, cwd: Path, env: dict[str, str], log_dir: Path,
                 workers: int = 2, extra_args: tuple[str, ...] = ()):
        self.name = name
        self.app = app
        self.cwd = cwd
        self.env = env
        self.workers = workers
        self.extra_args = extra_args
        self.port = free_port()
        self.log_path = log_dir / f"gunicorn-{name}.log"
        self.process: subprocess.Popen | None = None
        self._log = None

    def launch(self) -> None:
        """Start gunicorn without waiting (see :meth:`wait_ready`)."""
        command = [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-k", "sync",
                   "-b", f"127.0.0.1:{self.port}", *self.extra_args, self.app]
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)

    def wait_ready(self, health_path: str, timeout: float = 60.0) -> None:
        """Wait until ``health_path`` answers 200 and every worker is up."""
        if self.process is None:
            raise BenchError(f"{self.name} server was not launched")
        deadline = time.monotonic() + timeout
        last_error = "no answer"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise BenchError(f"{self.name} server exited with status {self.process.returncode}:\n"
                                 + self.log_tail())
            try:
                status, _body = http_request(self.port, "GET", health_path, timeout=2)
            except OSError as exc:
                last_error = str(exc)
            else:
                if status == 200 and len(self.worker_pids()) >= self.workers:
                    return
                last_error = f"HTTP {status}"
            time.sleep(0.1)
        raise BenchError(f"{self.name} server did not answer {health_path} with 200 within {timeout:.0f} s "
                         f"({last_error}):\n" + self.log_tail())

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        return child_pids(self.process.pid)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout)
        if self._log is not None:
            self._log.close()
            self._log = None


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's workers), from /proc."""
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                found.extend(int(part) for part in handle.read().split())
    except OSError:
        pass
    return found


_CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time consumed so far by ``pids`` (Linux /proc; 0 elsewhere)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields_ = stat[stat.rindex(")") + 2:].split()
        total += int(fields_[11]) + int(fields_[12])  # utime, stime (fields 14 and 15)
    return total / _CLOCK_TICKS


def machine_busy_seconds() -> float:
    """CPU time spent busy by the whole machine since boot, all cores (Linux /proc/stat)."""
    try:
        with open("/proc/stat") as handle:
            values = [int(v) for v in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _CLOCK_TICKS


# --------------------------------------------------------------------------------------------
# Load generator: one process per concurrent connection, raw sockets, one request per
# connection (gunicorn's sync workers close the connection after each response anyway).

@dataclass
class LoadResult:
    requests: int
    errors: int
    seconds: float
    latencies: list[float] = field(repr=False)
    client_cpu_seconds: float
    server_cpu_seconds: float
    other_cpu_seconds: float
    error_samples: list[str] = field(default_factory=list)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def latency_ms(self, quantile: float) -> float:
        if not self.latencies:
            return 0.0
        index = min(len(self.latencies) - 1, int(quantile * len(self.latencies)))
        return self.latencies[index] * 1000

    @property
    def other_cpu_share(self) -> float:
        """CPU used by processes outside the benchmark, in cores (the machine is not ours alone)."""
        return self.other_cpu_seconds / self.seconds if self.seconds else 0.0

    @property
    def server_cpu_ms_per_request(self) -> float:
        return self.server_cpu_seconds * 1000 / self.requests if self.requests else 0.0

    def merge(self, other: LoadResult) -> LoadResult:
        return LoadResult(self.requests + other.requests, self.errors + other.errors,
                          self.seconds + other.seconds, sorted(self.latencies + other.latencies),
                          self.client_cpu_seconds + other.client_cpu_seconds,
                          self.server_cpu_seconds + other.server_cpu_seconds,
                          self.other_cpu_seconds + other.other_cpu_seconds,
                          (self.error_samples + other.error_samples)[:5])

    def figures(self) -> dict:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "seconds": round(self.seconds, 3),
            "rps": round(self.rps, 1),
            "latency_ms_p50": round(self.latency_ms(0.50), 2),
            "latency_ms_p99": round(self.latency_ms(0.99), 2),
            "server_cpu_ms_per_request": round(self.server_cpu_ms_per_request, 3),
            "client_cpu_seconds": round(self.client_cpu_seconds, 2),
            "other_cpu_seconds": round(self.other_cpu_seconds, 2),
            "error_samples": self.error_samples,
        }


def build_get(path: str, port: int, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "User-Agent: inspect-bench",
             "Accept: application/json", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def _fetch(address: tuple[str, int], payload: bytes) -> bytes:
    sock = socket.create_connection(address, timeout=30)
    try:
        sock.sendall(payload)
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    finally:
        sock.close()
    return b"".join(chunks)


def _client_main(conn) -> None:
    """A load-generator process: runs the jobs it receives until it receives None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C and stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    while True:
        job = conn.recv()
        if job is None:
            return
        address, payload, start, measure_from, end = job
        latencies = array("d")
        errors = 0
        samples: list[str] = []
        now = time.monotonic()
        if now < start:
            time.sleep(start - now)
        now = time.monotonic()
        while now < end:
            began = now
            try:
                response = _fetch(address, payload)
                ok = response.startswith(b"HTTP/1.1 200 ") or response.startswith(b"HTTP/1.0 200 ")
                problem = None if ok else response[:200].decode("latin-1", "replace")
            except OSError as exc:
                ok, problem = False, f"{type(exc).__name__}: {exc}"
            now = time.monotonic()
            if began >= measure_from and now <= end:
                if ok:
                    latencies.append(now - began)
                else:
                    errors += 1
                    if len(samples) < 3:
                        samples.append(problem)
        conn.send((latencies.tobytes(), errors, samples))


class LoadGenerator:
    """``concurrency`` client processes, kept alive across measurements."""

    def __init__(self, concurrency: int):
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        context = multiprocessing.get_context("fork")
        self.clients = []
        for _ in range(concurrency):
            parent, child = context.Pipe()
            process = context.Process(target=_client_main, args=(child,), daemon=True)
            process.start()
            child.close()
            self.clients.append((process, parent))

    def run(self, port: int, payload: bytes, *, warmup: float, duration: float,
            server_pids: list[int]) -> LoadResult:
        """Warm up for ``warmup`` s, then count the requests completed in the next ``duration`` s."""
        start = time.monotonic() + 0.1
        measure_from = start + warmup
        end = measure_from + duration
        for _process, conn in self.clients:
            conn.send((("127.0.0.1", port), payload, start, measure_from, end))
        client_pids = [process.pid for process, _conn in self.clients]
        own_pids = [os.getpid()]
        time.sleep(max(0.0, measure_from - time.monotonic()))
        before = (cpu_seconds(server_pids), cpu_seconds(client_pids), cpu_seconds(own_pids),
                  machine_busy_seconds())
        time.sleep(max(0.0, end - time.monotonic()))
        after = (cpu_seconds(server_pids), cpu_seconds(client_pids), cpu_seconds(own_pids),
                 machine_busy_seconds())
        server_cpu, client_cpu, own_cpu, busy = (b - a for a, b in zip(before, after))
        other_cpu = max(0.0, busy - server_cpu - client_cpu - own_cpu)
        latencies = array("d")
        errors, samples = 0, []
        for _process, conn in self.clients:
            if not conn.poll(60):
                raise BenchError("a load-generator process did not report within 60 s")
            raw, job_errors, job_samples = conn.recv()
            latencies.frombytes(raw)
            errors += job_errors
            samples.extend(job_samples)
        return LoadResult(len(latencies), errors, duration, sorted(latencies), client_cpu, server_cpu,
                          other_cpu, samples[:5])

    def close(self) -> None:
        for process, conn in self.clients:
            try:
                conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + 1.0  # idle clients exit at once; busy ones (interrupted) are ended
        for process, conn in self.clients:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()
                process.join(2)
            conn.close()
        self.clients = []


# --------------------------------------------------------------------------------------------
# The product, in a throw-away instance directory

class ProductInstance:
    """A migrated SQLite database and an environment for the product under a temporary directory."""

    def __init__(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="inspect-bench-")
        self.dir = Path(self._tmp.name)
        env = dict(os.environ)
        for name in ("INSPECT_DEMO", "FLASK_DEBUG", "FLASK_APP", "INSPECT_PROXY_FIX"):
            env.pop(name, None)
        env.update({
            "DATABASE_URL": f"sqlite:///{self.dir / 'bench.sqlite3'}",
            "SECRET_KEY": os.urandom(32).hex(),
            "INSPECT_ID_HMAC_KEY": os.urandom(32).hex(),
            "INSPECT_ID_ENCRYPTION_KEY": os.urandom(32).hex(),
            "INSPECT_INSTANCE_DIR": str(self.dir),
            "INSPECT_DATA_DIR": str(self.dir / "data"),
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        self.env = env

    def flask(self, *args: str) -> str:
        command = [sys.executable, "-m", "flask", "--app", "wsgi", *args]
        done = subprocess.run(command, cwd=PROJECT_ROOT, env=self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=300)
        if done.returncode != 0:
            output = "\n".join((done.stdout + done.stderr).splitlines()[-15:])
            raise BenchError(f"`flask --app wsgi {' '.join(args)}` failed ({done.returncode}):\n{output}")
        return done.stdout

    def cleanup(self) -> None:
        self._tmp.cleanup()


# --------------------------------------------------------------------------------------------
# In-process benchmarks: a migrated database of the run's own and the product's app on it

class Backend:
    """A database for one run: a temporary SQLite file under ``workdir``, or a schema of its own in
    the PostgreSQL database of ``url`` (created by :meth:`create`, dropped with everything in it by
    :meth:`drop`; the database's other schemas are not touched)."""

    def __init__(self, name: str, url: str | None, workdir: Path, label: str = "bench"):
        self.name = name
        self.schema = None
        self._admin_url = None
        if name == "sqlite":
            self.url = f"sqlite:///{workdir / f'{label}.sqlite3'}"
        else:
            from sqlalchemy.engine import make_url
            base = make_url(url.replace("postgresql://", "postgresql+psycopg://", 1)
                            if url.startswith("postgresql://") else url)
            self.schema = f"{label.replace('-', '_')}_{os.getpid()}"
            self._admin_url = base
            self.url = base.update_query_dict({"options": f"-csearch_path={self.schema}"}) \
                .render_as_string(hide_password=False)

    def create(self) -> None:
        if self.schema is None:
            return
        import sqlalchemy as sa
        engine = sa.create_engine(self._admin_url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{self.schema}"'))
        except sa.exc.OperationalError as exc:
            raise BenchError(f"PostgreSQL is unreachable: {exc}") from None
        finally:
            engine.dispose()

    def drop(self) -> None:
        if self.schema is None:
            return
        import sqlalchemy as sa
        engine = sa.create_engine(self._admin_url)
        try:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        finally:
            engine.dispose()


def make_app(url: str, workdir: Path, **config):
    """The product's app on ``url`` with throw-away keys (``config`` added to its settings)."""
    from inspect_app import create_app
    return create_app({"SECRET_KEY": os.urandom(32).hex(), "ID_HMAC_KEY": os.urandom(32).hex(),
                       "ID_ENCRYPTION_KEY": os.urandom(32).hex(),
                       "SQLALCHEMY_DATABASE_URI": url, "INSPECT_DATA_DIR": str(workdir / "data"), **config})


def own_cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def other_load(busy0: float, own0: float, wall: float) -> float:
    """Cores used by other processes while the product ran (the machine is not ours alone), from
    :func:`machine_busy_seconds` and :func:`own_cpu_seconds` read before."""
    if wall <= 0:
        return 0.0
    return max(0.0, (machine_busy_seconds() - busy0) - (own_cpu_seconds() - own0)) / wall


# --------------------------------------------------------------------------------------------
# Results

def git_commit() -> str | None:
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def machine() -> dict:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count()
    model = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": cpus, "cpu_model": model, "python": platform.python_version(),
            "platform": platform.platform()}


def record(name: str, data: dict, results_dir: Path | None = None) -> Path:
    """Write ``data`` (plus machine and commit) to ``<results_dir>/<name>-<timestamp>.json``."""
    directory = Path(results_dir) if results_dir else RESULTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    now = _dt.datetime.now(_dt.timezone.utc)
    stamp = now.strftime("%Y%m%dT%H%M%S") + f"{now.microsecond // 1000:03d}Z"
    path = directory / f"{name}-{stamp}.json"
    payload = {"benchmark": name, "recorded_at": now.isoformat(timespec="seconds"),
               "commit": git_commit(), "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path
