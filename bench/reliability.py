"""The reliability summary of docs/reliability.md: run the suites, then rewrite the table.

    python bench/reliability.py            # the suites below (about 6 minutes), then the table
    python bench/reliability.py --no-run   # the table again from the last run (bench/out/reliability/)

The suites run with pytest's JUnit XML report and ``INNOGRAPH_RELIABILITY_OUT`` set, so that
test_fuzz, test_schemathesis and test_load also write what they sent and measured there. The
table between the ``<!-- reliability:begin -->`` and ``<!-- reliability:end -->`` markers of
docs/reliability.md is replaced; the rest of the file is left as it is. The newest
bench/out/load-1m-*.json (``python bench/load.py --triples 1m``), if any, adds a row.
Exit status: pytest's.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "reliability"
DOC = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- reliability:begin -->", "<!-- reliability:end -->"
# (suite, what it is evidence of)
SUITES = {
    "test_load": "load held",
    "test_crash": "faults survived",
    "test_executor": "faults survived",
    "test_diskfull": "faults survived",
    "test_attacks": "bad inputs (named attacks)",
    "test_fuzz": "bad inputs (hypothesis)",
    "test_schemathesis": "bad inputs (schemathesis)",
    "test_openapi": "the interface described",
    "test_ratelimit": "bad inputs (token guessing)",
}


def run_suites() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={OUT / 'junit.xml'}",
               *(f"tests/{suite}.py" for suite in SUITES)]
    print(" ".join(command[2:]), flush=True)
    started = time.monotonic()
    status = subprocess.run(command, cwd=ROOT, env={**os.environ, "INNOGRAPH_RELIABILITY_OUT": str(OUT)}).returncode
    (OUT / "run.json").write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M %z"), "seconds": round(time.monotonic() - started),
                                             "exit": status, "commit": _commit(), "loadavg": round(os.getloadavg()[0], 1)}))
    return status


def suites() -> dict[str, dict[str, Any]]:
    """{suite: tests, failed, skipped, seconds} from the JUnit report."""
    found: dict[str, dict[str, Any]] = {s: {"tests": 0, "failed": 0, "skipped": 0, "seconds": 0.0} for s in SUITES}
    for case in ET.parse(OUT / "junit.xml").getroot().iter("testcase"):
        suite = case.get("classname", "").split(".")[-1]
        if suite not in found:
            continue
        row = found[suite]
        row["tests"] += 1
        row["seconds"] += float(case.get("time", 0))
        if case.find("failure") is not None or case.find("error") is not None:
            row["failed"] += 1
        elif case.find("skipped") is not None:
            row["skipped"] += 1
    return found


def _read(name: str) -> Any:
    path = OUT / name
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def _ok(*rows: dict[str, Any]) -> str:
    ran = sum(r["tests"] for r in rows)
    failed = sum(r["failed"] for r in rows)
    if not ran:
        return "not run"
    return f"**{'held' if not failed else f'{failed} failed'}** ({ran - failed}/{ran} tests)"


def summary() -> str:
    s = suites()
    run, fuzz, schema, load = _read("run.json") or {}, _read("fuzz.json") or {}, _read("schemathesis.json") or {}, _read("load.json") or {}
    lines = [f"Last run: {run.get('date', '?')}, commit {run.get('commit', '?')}, {run.get('seconds', '?')} s, "
             f"load average {run.get('loadavg', '?')} at the end (2 CPUs shared with other work).", "",
             "| property | evidence | result |", "| --- | --- | --- |"]
    quiet = [r for r in load.get("runs", []) if r.get("runaway_every") is None]
    loud = [r for r in load.get("runs", []) if r.get("runaway_every") is not None]
    alone = quiet[:-1] if loud else quiet  # the last quiet run is the one paired with the runaways
    load_text = "; ".join(f"{r['clients']} clients × {r['seconds']:g} s: {r['answered']} answers, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                          f"{sum(r['errors'].values()) if r['errors'] else 0} errors" for r in alone)
    if loud and quiet:
        r, q = loud[-1], quiet[-1]  # the quiet run just before it
        load_text += (f"; with 1 runaway query/s ({r['clients']} clients): {r['runaways']['stopped_503']}/{r['runaways']['sent']} runaways "
                      f"stopped with 503 after {r['runaways']['median_stop_s']} s, {sum(r['errors'].values()) if r['errors'] else 0} errors in the mix, "
                      f"its p99 {r['p99_ms']} ms vs {q['p99_ms']} ms just before without them ({r['throughput']} vs {q['throughput']} req/s)")
    lines.append(f"| Load held | tests/test_load.py on a real server (QUERY_TIMEOUT 2 s), the 20 competency queries: {load_text or 'no figures'} "
                 f"| {_ok(s['test_load'])} |")
    bench = _latest_bench()
    if bench:
        rows = bench["result"]["runs"]
        text = "; ".join(f"{r['clients']} clients{' + 1 runaway/s' if r['runaway_every'] else ''}: {r['throughput']} req/s, p99 {r['p99_ms']} ms, "
                         f"{sum(r['errors'].values()) if r['errors'] else 0} errors" for r in rows)
        lines.append(f"| Load held (1M triples) | `python bench/load.py --triples 1m`, {bench['date']}, {bench['seconds']:g} s per run: {text} "
                     f"| **{'held' if bench['result']['passed'] else 'failed'}** (see bench/README.md) |")
    lines.append("| Faults survived | kill -9 of the server during concurrent contributions, restarted on the same store (test_crash); "
                 "executors killed at the timeout, out of their memory allowance or crashing, the store still answering (test_executor); "
                 "slow clients cut off with 408 while others are served, queries nested thousands deep refused with 400 before parsing, a query that crashed its executor refused when sent again (test_attacks, test_executor); "
                 "the store's disk full: contributions answered 507, nothing half-written, queries answered, 201 again once space is freed, "
                 "`innograph load` refused with CURRENT.json untouched (test_diskfull) "
                 f"| {_ok(s['test_crash'], s['test_executor'], s['test_diskfull'])} |")
    total = sum(fuzz.values()) + schema.get("requests", 0)
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(fuzz.items()))
    lines.append(f"| Bad inputs tried | {total} generated requests: hypothesis ({kinds}); schemathesis {schema.get('requests', 0)} requests over "
                 f"{schema.get('operations', '?')} documented operations; plus {s['test_attacks']['tests']} named attacks (SSRF via SERVICE/LOAD/FROM, "
                 "XML entities, remote JSON-LD contexts, deep nesting, path traversal, 413/408/414/431, token guessing, CORS) "
                 f"| {_ok(s['test_fuzz'], s['test_schemathesis'], s['test_attacks'], s['test_ratelimit'], s['test_openapi'])} |")
    lines.append("| Nothing lost | every refused request above left the triples per named graph and the contribution records as they were "
                 "(checked after each fuzzed contribution, each attack and each suite); every contribution answered 201 before a kill -9 is "
                 "there, whole, after the restart (test_crash), and so is every one answered 201 around a full disk, none answered 507 "
                 f"(test_diskfull) | {_ok(s['test_fuzz'], s['test_attacks'], s['test_crash'], s['test_diskfull'])} |")
    lines += ["", "| suite | evidence of | tests | failed | skipped | seconds |", "| --- | --- | ---: | ---: | ---: | ---: |"]
    for suite, what in SUITES.items():
        row = s[suite]
        lines.append(f"| tests/{suite}.py | {what} | {row['tests']} | {row['failed']} | {row['skipped']} | {row['seconds']:.0f} |")
    return "\n".join(lines)


def _latest_bench() -> dict[str, Any] | None:
    found = sorted((ROOT / "bench" / "out").glob("load-1m-*.json"))
    return json.loads(found[-1].read_text("utf-8")) if found else None


def write(table: str) -> None:
    text = DOC.read_text("utf-8")
    start, end = text.index(BEGIN) + len(BEGIN), text.index(END)
    DOC.write_text(text[:start] + "\n" + table + "\n" + text[end:], "utf-8")


def _commit() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run the reliability suites and rewrite the table of docs/reliability.md.")
    parser.add_argument("--no-run", action="store_true", help="only rewrite the table from bench/out/reliability/")
    args = parser.parse_args(argv)
    status = 0 if args.no_run else run_suites()
    write(summary())
    print(f"updated {DOC.relative_to(ROOT)}")
    return status


if __name__ == "__main__":
    sys.exit(main())
