"""Load: concurrent clients running a query mix against `innograph serve`, quiet and with runaways.

    python bench/load.py --triples 1m                 # the 1M-triple synthetic graph, 4 and 16 clients, 60 s each
    python bench/load.py --repo --seconds 10          # the repository's own data, the competency queries
    python bench/load.py --url http://127.0.0.1:8000  # a server already running (its settings are its own)

For each number of clients it runs the mix twice for ``--seconds``: quiet, then with one runaway
query per second sent alongside (a count over a triple cross product, which would run far past
the server's QUERY_TIMEOUT; started servers get ``--query-timeout``, 2 s by default, so about two
runaways are always running). Each client is a closed loop on one keep-alive connection, in its own
process (bench/endpoint.py's raw-socket client: little CPU, every request has a timeout). Reported
per run: requests answered, errors (any status but 200, any timeout), throughput, p50 and p99
latency of the mix; for runaways, how many were stopped with 503 and after how long. The check:
with runaways, p99 of the mix stays within ``--max-p99-ratio`` (2) of the quiet run, and no
request of the mix fails.

The mix: bench/queries/*.rq (templates filled with values found in the graph, as
bench/endpoint.py does) on the synthetic graph; queries/*.rq (the competency queries) with
``--repo`` or when the graph has no synthetic values. Results go to
bench/out/load-<label>-<date>.json; ``--readme`` also rewrites the "## Load" section of
bench/README.md with the table. Exit status 1 if a check failed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import socket
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
from array import array
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
RUNAWAY = ("SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }")
REQUEST_TIMEOUT = 120.0  # a request of the mix not answered by then counts as an error (a hang)


def _endpoint() -> Any:
    """bench/endpoint.py, for its data and store helpers, server process and raw-socket client."""
    spec = importlib.util.spec_from_file_location("bench_endpoint", BENCH / "endpoint.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


ep = _endpoint()


# -- the mix ---------------------------------------------------------------------------------------


RESULTS_JSON = "application/sparql-results+json"
Mix = tuple[list[str], list[str], list[str]]  # names, queries, Accept headers


def competency_mix() -> Mix:
    """queries/*.rq (SELECT and ASK: SPARQL JSON results)."""
    files = sorted((ROOT / "queries").glob("*.rq"))
    return [f.stem for f in files], [f.read_text("utf-8") for f in files], [RESULTS_JSON] * len(files)


def template_mix(host: str, port: int, rounds: int = 20) -> Mix:
    """bench/queries/*.rq filled with values the server holds (seeded), each with its # accept."""
    if host != ep.HOST:
        raise RuntimeError("template discovery needs a server on 127.0.0.1")
    templates = ep.load_templates(BENCH / "queries")
    items = ep.build_sequence(templates, ep.discover(port, "/sparql"), None, rounds)
    return ([templates[i.template].name for i in items], [i.query for i in items], [templates[i.template].accept for i in items])


def request(host: str, port: int, query: str, accept: str = RESULTS_JSON) -> bytes:
    target = f"/sparql?{urllib.parse.urlencode({'query': query})}"
    return (f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: {accept}\r\n"
            "User-Agent: innograph-load\r\n\r\n").encode()


# -- clients ---------------------------------------------------------------------------------------


class Server(ep.InnographServer):
    """bench/endpoint.py's `innograph serve --store DIR`, with these INNOGRAPH_* settings added."""

    def __init__(self, port: int, log_file: Path, store: Path, settings: dict[str, str]) -> None:
        super().__init__(port, log_file, store)
        self.settings = settings

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.settings}


class Connection(ep.Connection):
    """bench/endpoint.py's keep-alive client, with a timeout on every socket operation."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        super().__init__(port)
        self.host, self.timeout = host, timeout

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()


def _client(host: str, port: int, requests: list[bytes], offset: int, start: float, deadline: float, conn: Any) -> None:
    """One closed-loop client (its own process): (index, latency, status) of each request done
    before ``deadline``; status 0 for a timeout or a broken connection."""
    client = Connection(host, port, REQUEST_TIMEOUT)
    done_i, done_lat, done_status = array("I"), array("d"), array("H")
    while time.monotonic() < start:
        time.sleep(0.0005)
    i, n = offset, len(requests)
    while (began := time.monotonic()) < deadline:
        try:
            status, _, _ = client.request(requests[i % n])
        except OSError:
            status = 0
            client.close()
        ended = time.monotonic()
        if ended > deadline and status == 200:
            break  # finished after the end: not part of this run
        done_i.append(i % n)
        done_lat.append(ended - began)
        done_status.append(status)
        i += 1
    client.close()
    conn.send((done_i.tobytes(), done_lat.tobytes(), done_status.tobytes()))
    conn.close()


class Runaways:
    """One runaway query every ``every`` seconds, each on its own connection and thread (open
    loop: a slow answer does not delay the next one)."""

    def __init__(self, host: str, port: int, every: float) -> None:
        self.host, self.port, self.every = host, port, every
        self.results: list[tuple[int, float]] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._ticker = threading.Thread(target=self._tick, daemon=True)

    def start(self, at: float) -> None:
        self._at = at
        self._ticker.start()

    def _tick(self) -> None:
        next_at = self._at
        while not self._stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self._stop.wait(delay):
                break
            thread = threading.Thread(target=self._one, daemon=True)
            thread.start()
            self._threads.append(thread)
            next_at += self.every

    def _one(self) -> None:
        client = Connection(self.host, self.port, REQUEST_TIMEOUT)
        began = time.monotonic()
        try:
            status, _, _ = client.request(request(self.host, self.port, RUNAWAY))
        except OSError:
            status = 0
        finally:
            client.close()
        self.results.append((status, time.monotonic() - began))

    def stop(self) -> None:
        self._stop.set()
        self._ticker.join()
        for thread in self._threads:
            thread.join(REQUEST_TIMEOUT)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(host: str, port: int, mix: Mix, clients: int, seconds: float, runaway_every: float | None) -> dict[str, Any]:
    """``clients`` closed-loop clients for ``seconds`` (plus runaways if ``runaway_every``)."""
    ctx = multiprocessing.get_context("fork")
    names, queries, accepts = mix
    requests = [request(host, port, q, a) for q, a in zip(queries, accepts)]
    start = time.monotonic() + 0.5
    deadline = start + seconds
    runaways = Runaways(host, port, runaway_every) if runaway_every else None
    pipes, procs = [], []
    for k in range(clients):
        ours, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_client, args=(host, port, requests, k * len(requests) // clients, start, deadline, theirs), daemon=True)
        proc.start()
        theirs.close()
        pipes.append(ours)
        procs.append(proc)
    if runaways:
        runaways.start(start)
    results = [pipe.recv() for pipe in pipes]
    for proc in procs:
        proc.join()
    if runaways:
        runaways.stop()
    latencies, errors, slowest = [], {}, {}
    for i_bytes, lat_bytes, status_bytes in results:
        idx, lat, status = array("I"), array("d"), array("H")
        idx.frombytes(i_bytes)
        lat.frombytes(lat_bytes)
        status.frombytes(status_bytes)
        for i, latency, code in zip(idx, lat, status):
            if code == 200:
                latencies.append(latency)
                slowest[names[i]] = max(slowest.get(names[i], 0.0), latency)
            else:
                errors[str(code or "timeout")] = errors.get(str(code or "timeout"), 0) + 1
    report: dict[str, Any] = {
        "clients": clients, "seconds": seconds, "runaway_every": runaway_every, "answered": len(latencies), "errors": errors,
        "throughput": round(len(latencies) / seconds, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "slowest_query": max(slowest, key=slowest.get) if slowest else None, "loadavg": round(os.getloadavg()[0], 2),
    }
    if runaways:
        stopped = [t for status, t in runaways.results if status == 503]
        report["runaways"] = {"sent": len(runaways.results), "stopped_503": len(stopped),
                              "other": {str(s): sum(1 for x, _ in runaways.results if x == s) for s, _ in runaways.results if s != 503},
                              "median_stop_s": round(percentile(stopped, 0.5), 2) if stopped else None}
    return report


def compare(quiet: dict[str, Any], loud: dict[str, Any], max_ratio: float) -> dict[str, Any]:
    ratio = loud["p99_ms"] / quiet["p99_ms"] if quiet["p99_ms"] and loud["p99_ms"] else None
    runaways = loud.get("runaways", {})
    return {"clients": quiet["clients"], "p99_ratio": round(ratio, 2) if ratio else None,
            "p99_within": ratio is not None and ratio <= max_ratio,
            "no_errors": not quiet["errors"] and not loud["errors"],
            "runaways_stopped": runaways.get("sent", 0) > 0 and runaways.get("stopped_503") == runaways.get("sent")}


def measure(host: str, port: int, mix: Mix, clients_list: list[int], seconds: float,
            every: float, max_ratio: float, log: Any = print) -> dict[str, Any]:
    """Quiet and runaway runs for each number of clients, after a short warm-up."""
    run(host, port, mix, max(clients_list), min(5.0, seconds), None)
    runs, checks = [], []
    for clients in clients_list:
        quiet = run(host, port, mix, clients, seconds, None)
        log(f"  {clients:>3} clients, quiet:    {_line(quiet)}")
        loud = run(host, port, mix, clients, seconds, every)
        log(f"  {clients:>3} clients, runaways: {_line(loud)}")
        runs += [quiet, loud]
        checks.append(compare(quiet, loud, max_ratio))
    return {"runs": runs, "checks": checks, "passed": all(c["p99_within"] and c["no_errors"] and c["runaways_stopped"] for c in checks)}


def _line(r: dict[str, Any]) -> str:
    extra = ""
    if "runaways" in r:
        extra = f", runaways {r['runaways']['stopped_503']}/{r['runaways']['sent']} stopped after {r['runaways']['median_stop_s']} s"
    return f"{r['answered']} answered ({r['throughput']}/s), p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, errors {r['errors'] or 0}{extra}"


def table(report: dict[str, Any]) -> str:
    """The markdown table of a report (bench/README.md, docs/reliability.md)."""
    rows = ["| clients | runaways | answered | req/s | p50 ms | p99 ms | errors | runaways stopped (503) | p99 vs quiet |",
            "| ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |"]
    ratios = {c["clients"]: c["p99_ratio"] for c in report["result"]["checks"]}
    for r in report["result"]["runs"]:
        loud = r["runaway_every"] is not None
        stopped = f"{r['runaways']['stopped_503']}/{r['runaways']['sent']} after {r['runaways']['median_stop_s']} s" if loud else ""
        errors = sum(r["errors"].values()) if r["errors"] else 0
        ratio = f"{ratios[r['clients']]}×" if loud and ratios.get(r["clients"]) else ""
        rows.append(f"| {r['clients']} | {'1/s' if loud else 'none'} | {r['answered']} | {r['throughput']} | {r['p50_ms']} | {r['p99_ms']} | "
                    f"{errors} | {stopped} | {ratio} |")
    return "\n".join(rows)


def write_readme(report: dict[str, Any], command: str) -> Path:
    """Rewrite the "## Load" section of bench/README.md (other sections are left as they are)."""
    readme = BENCH / "README.md"
    text = readme.read_text("utf-8") if readme.exists() else "# Benchmarks\n"
    m = report["machine"]
    how = textwrap.fill(
        "Closed-loop clients (one keep-alive connection each, in their own processes, a timeout on every request) run the "
        "query mix for the given time, quiet, then with one runaway query per second sent alongside (a count over a "
        "three-way cross product; the server started here has QUERY_TIMEOUT 2 s). Held means: no request of the mix "
        "failed, every runaway was stopped with 503, and the mix's p99 with runaways is within 2× of the quiet run. "
        "`--url` measures a server already running, `--repo` the repository's data with the competency queries; "
        "`--readme` rewrites this section. The same check, 10 s per run on the repository's data, is tests/test_load.py; "
        "docs/reliability.md says what makes it hold and where it does not.", 100)
    latest = textwrap.fill(
        f"{report['label']}, {report['mix_size']} queries in the mix ({report['mix']}), {report['seconds']:g} s per run, server "
        f"QUERY_TIMEOUT {report['query_timeout']}. Measured {report['date']} on {m['cpus']} CPUs ({m['cpu']}) shared with other "
        f"work (load average {report['loadavg_before']} before the run), innograph {report['code']}. Check: "
        f"**{'held' if report['result']['passed'] else 'not held'}**. Raw figures: bench/out/{report['out']}.", 100)
    section = f"## Load\n\n### How to run\n\n    .venv/bin/{command}\n\n{how}\n\n### Latest figures\n\n{latest}\n\n{table(report)}\n"
    pattern = re.compile(r"^## Load\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    text = pattern.sub(lambda _m: section + "\n", text) if pattern.search(text) else text.rstrip("\n") + "\n\n" + section
    readme.write_text(text.rstrip("\n") + "\n", "utf-8")
    return readme


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Concurrent clients against innograph serve, quiet and with runaway queries.")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--triples", help="the synthetic graph of this size (100k, 1m, 10m), generated and loaded if needed")
    where.add_argument("--repo", action="store_true", help="a store built from this repository (the default without --triples/--url)")
    where.add_argument("--url", help="a server already running (http://HOST:PORT); its settings are its own")
    parser.add_argument("--store", type=Path, help="with --triples: the store directory (default bench/data/store-load-N, "
                                                   "built with `innograph load` if missing or older than the data)")
    parser.add_argument("--mix", choices=["templates", "competency"],
                        help="bench/queries/*.rq filled with values of the graph (default with --triples) or queries/*.rq (default otherwise)")
    parser.add_argument("--clients", type=int, nargs="+", default=[4, 16], help="concurrent clients (default 4 16)")
    parser.add_argument("--seconds", type=float, default=60, help="seconds per run (default 60)")
    parser.add_argument("--runaway-every", type=float, default=1.0, help="seconds between runaway queries (default 1)")
    parser.add_argument("--query-timeout", type=float, default=2.0, help="QUERY_TIMEOUT of the server started (default 2)")
    parser.add_argument("--workers", type=int, help="WORKERS (executors) of the server started (default: the server's)")
    parser.add_argument("--max-p99-ratio", type=float, default=2.0)
    parser.add_argument("--out-dir", type=Path, default=BENCH / "out")
    parser.add_argument("--readme", action="store_true", help="rewrite the '## Load' section of bench/README.md")
    args = parser.parse_args(argv)
    ep.stop_on_sigterm()  # SIGTERM/SIGHUP: the finally below still stops the server

    server = None
    settings = {"INNOGRAPH_QUERY_TIMEOUT": str(args.query_timeout), **({"INNOGRAPH_WORKERS": str(args.workers)} if args.workers else {})}
    try:
        if args.url:
            parts = urllib.parse.urlsplit(args.url)
            host, port, label = parts.hostname, parts.port or 80, args.url
        else:
            if args.triples:
                triples = ep.parse_size(args.triples)
                data = ep.ensure_data(triples, BENCH / "data")
                # a store of its own: bench/endpoint.py's may be serving at the same time
                snapshot, _ = ep.ensure_store(data, args.store or BENCH / "data" / f"store-load-{triples}")
                store, label = snapshot.parent.parent, f"synthetic graph, {args.triples} triples"
            else:
                store, label = Path(tempfile.mkdtemp(prefix="innograph-load-")) / "store", "the repository's data"
            server = Server(ep.free_port(), args.out_dir / f"load-server-{time.strftime('%Y%m%dT%H%M%S')}.log", store, settings)
            print(f"starting innograph serve --store {store} ({', '.join(f'{k}={v}' for k, v in settings.items())}) ...")
            server.start()
            host, port = ep.HOST, server.port
        try:
            templates = args.mix == "templates" or (args.mix is None and args.triples)
            mix, mix_name = (template_mix(host, port), "bench/queries/*.rq") if templates else (competency_mix(), "queries/*.rq")
        except RuntimeError:
            mix, mix_name = competency_mix(), "queries/*.rq"
        names = mix[0]
        report: dict[str, Any] = {
            "date": time.strftime("%Y-%m-%d %H:%M %z"), "label": label, "mix": mix_name, "mix_size": len(set(names)),
            "seconds": args.seconds, "clients": args.clients, "runaway": RUNAWAY, "runaway_every": args.runaway_every,
            "query_timeout": f"{args.query_timeout:g} s" if not args.url else "the server's", "max_p99_ratio": args.max_p99_ratio,
            "settings": settings if not args.url else {}, "loadavg_before": round(os.getloadavg()[0], 2), "code": _git_commit(),
            "machine": {"cpus": os.cpu_count(), "cpu": _cpu_model(), "platform": platform.platform(), "python": platform.python_version()},
        }
        print(f"{label}: {len(set(names))} queries, clients {args.clients}, {args.seconds:g} s per run")
        report["result"] = measure(host, port, mix, args.clients, args.seconds, args.runaway_every, args.max_p99_ratio)
    finally:
        if server is not None:
            server.stop()
            if not args.triples:
                shutil.rmtree(store.parent, ignore_errors=True)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9]+", "-", (args.triples or ("url" if args.url else "repo")).lower())
    out = args.out_dir / f"load-{slug}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    report["out"] = out.name
    out.write_text(json.dumps(report, indent=1), "utf-8")
    print(table(report))
    print(f"\n{'passed' if report['result']['passed'] else 'FAILED'}; written {out}")
    if args.readme:
        command = "python bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:])
        print(f"updated {write_readme(report, command.strip())}")
    return 0 if report["result"]["passed"] else 1


def _git_commit() -> str | None:
    import subprocess

    try:
        commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "server"], capture_output=True, text=True).stdout.strip()
        return commit + (" + working tree" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


if __name__ == "__main__":
    random.seed(42)
    sys.exit(main())
