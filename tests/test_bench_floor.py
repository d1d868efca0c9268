"""bench/floor.py runs end to end (smoke test, not a measurement): every server starts, answers
its requests with 200, and the report has one row per server and request."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.mark.slow
@pytest.mark.skipif(not (BIN / "oxigraph").exists(), reason="the oxigraph server (PyPI package oxigraph) is not installed")
def test_floor_benchmark_runs_end_to_end(tmp_path):
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "floor.py"), "--blocks", "1", "--requests", "30",
                          "--store", str(tmp_path / "store"), "--out-dir", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    report = json.loads(next((tmp_path / "out").glob("floor-*.json")).read_text())
    assert [(r["server"], r["request"]) for r in report["rows"]] == [
        ("oxigraph", "ASK {}"), ("oxigraph", "DESCRIBE <org>"),
        ("gunicorn: constant WSGI", "constant"), ("gunicorn: Flask route", "constant"),
        ("granian: constant WSGI", "constant"), ("granian: Flask route", "constant"),
        ("innograph", "ASK {}"), ("innograph", "DESCRIBE <org>")]
    assert all(0 < r["p50_ms"] < 100 for r in report["rows"])
    assert report["org"].startswith("https://w3id.org/innograph/id/organisation/")
    assert "| innograph | DESCRIBE <org> |" in run.stdout
