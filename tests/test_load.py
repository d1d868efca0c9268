"""Load on a real server (``guarded_server``: QUERY_TIMEOUT 2 s) with bench/load.py's clients and
the competency queries (queries/*.rq) as the mix: 4 and 16 concurrent clients for 10 s get every
answer; with one runaway query per second alongside, every runaway is stopped with 503, no query
of the mix fails, and the mix's p99 stays within 2x of the quiet run.

The 2x check is a timing assertion on a machine other runs share: it takes the best of three
attempts, and bench/load.py makes the same check over 60 s (bench/README.md, "## Load"). With
``INNOGRAPH_RELIABILITY_OUT=DIR`` the runs are written to ``DIR/load.json``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench"
SECONDS = 10.0
RUNS: list[dict] = []


def _bench_load():
    spec = importlib.util.spec_from_file_location("bench_load", BENCH / "load.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


load = _bench_load()


@pytest.fixture(scope="module")
def target(guarded_server):
    parts = urlsplit(guarded_server.url)
    mix = load.competency_mix()
    assert len(mix[0]) >= 10
    load.run(parts.hostname, parts.port, mix, 4, 3.0, None)  # warm-up
    yield parts.hostname, parts.port, mix
    out = os.environ.get("INNOGRAPH_RELIABILITY_OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "load.json").write_text(json.dumps({"seconds": SECONDS, "mix": "queries/*.rq", "runs": RUNS}, indent=1))


@pytest.mark.parametrize("clients", [4, 16])
def test_concurrent_clients_get_every_answer(target, clients):
    host, port, mix = target
    result = load.run(host, port, mix, clients, SECONDS, None)
    RUNS.append(result)
    print(f"{clients} clients: {load._line(result)}")
    assert result["errors"] == {}
    assert result["answered"] >= clients * 10


def test_runaways_are_stopped_and_do_not_starve_the_mix(target):
    host, port, mix = target
    attempts = []
    for _ in range(3):
        quiet = load.run(host, port, mix, 4, SECONDS, None)
        loud = load.run(host, port, mix, 4, SECONDS, 1.0)
        check = load.compare(quiet, loud, 2.0)
        attempts.append((check, quiet, loud))
        print(f"quiet:    {load._line(quiet)}\nrunaways: {load._line(loud)}\n{check}")
        assert check["no_errors"], (quiet["errors"], loud["errors"])
        assert check["runaways_stopped"], loud["runaways"]
        assert 1.5 <= loud["runaways"]["median_stop_s"] <= 2 + 10
        if check["p99_within"]:
            break
    RUNS.extend(attempts[-1][1:])
    assert any(check["p99_within"] for check, _, _ in attempts), [check["p99_ratio"] for check, _, _ in attempts]
