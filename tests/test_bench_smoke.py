"""The API benchmark runs end to end in its quick mode (figures only; the ratio is not asserted)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_api_auth_quick_mode_measures_both_servers(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_api_auth.py"), "--quick",
                           "--results-dir", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    output = done.stdout + done.stderr
    # 0: target met, 1: target missed (timing-dependent, not judged here), 2: could not measure
    assert done.returncode in (0, 1), output

    bare = re.search(r"^bare RPS: ([0-9.]+)$", done.stdout, re.MULTILINE)
    product = re.search(r"^product RPS: ([0-9.]+)$", done.stdout, re.MULTILINE)
    ratio = re.search(r"^ratio \(product/bare\): ([0-9.]+) ", done.stdout, re.MULTILINE)
    assert bare and product and ratio, output
    assert float(bare.group(1)) > 0, output
    assert float(product.group(1)) > 0, output  # the product answered the bearer-token requests

    recorded = list(tmp_path.glob("api_auth-*.json"))
    assert len(recorded) == 1, output
    data = json.loads(recorded[0].read_text())
    assert data["product"]["requests"] > 0 and data["product"]["errors"] == 0
    assert data["bare"]["requests"] > 0 and data["bare"]["errors"] == 0
    assert data["parameters"]["quick"] is True


def test_bench_field_quick_mode_measures_answers_and_photos(tmp_path):
    """bench/bench_field.py end to end on SQLite (figures only; the targets are judged by the benchmark)."""
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "bench_field.py"), "--quick", "--sqlite-only",
                           "--results-dir", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output  # 2 would mean it could not measure
    answers = re.search(r"^sqlite answer ms: p50 ([0-9.]+) p95 ([0-9.]+)  floor ms: ([0-9.]+)", done.stdout,
                        re.MULTILINE)
    photos = re.search(r"^sqlite photo ms: p50 ([0-9.]+) max ([0-9.]+)  floor ms: ([0-9.]+)", done.stdout,
                       re.MULTILINE)
    assert answers and photos, output
    assert all(float(v) > 0 for v in answers.groups() + photos.groups()), output
    [recorded] = tmp_path.glob("field-*.json")
    data = json.loads(recorded.read_text())
    assert data["parameters"]["quick"] is True and data["parameters"]["items"] == 10
    assert data["backends"]["sqlite"]["answers"]["count"] == 10 and data["backends"]["sqlite"]["photos"]["count"] == 2
