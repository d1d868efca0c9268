"""Start-up time and memory of `innograph serve` (and, for scale, of the in-memory Oxigraph server).

    python bench/startup.py --triples 1m [10m ...]

For each size: makes sure bench/data/synthetic-N.nq exists (bench/generate.py), then

1. ``innograph load --store DIR FILE`` into a fresh store: wall time and peak RSS;
2. ``innograph serve --store DIR``: time until the port answers (gunicorn up: /health, or any
   HTTP answer), and until a query answers 200 (the fork server has parsed the snapshot);
3. runs the benchmark's query mix (bench/queries) on 2 clients for a few seconds so that every
   executor exists and has evaluated queries, then reads, for every process of the server (gunicorn
   arbiter and worker, fork server, executors), RSS and, from /proc/PID/smaps_rollup, PSS (which
   splits the pages the executors share copy-on-write with the fork server) and private memory;
4. the same data in ``oxigraph serve`` (memory): time to load over /store and RSS.

Prints a table and writes bench/out/startup-DATE.json.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import endpoint  # noqa: E402  (the benchmark's servers, process tree and memory readers)

BENCH = endpoint.BENCH


def _answers(port: int, path: str) -> int | None:
    try:
        conn = http.client.HTTPConnection(endpoint.HOST, port, timeout=5)
        conn.request("GET", path, headers={"Accept": "application/sparql-results+json"})
        status = conn.getresponse().status
        conn.close()
        return status
    except OSError:
        return None


def timed_load(data: Path, store: Path) -> dict[str, Any]:
    """`innograph load` into a fresh ``store``: seconds and peak RSS (MiB) of the process."""
    if store.exists():
        shutil.rmtree(store)
    started = time.perf_counter()
    proc = subprocess.Popen([str(endpoint.BIN / "innograph"), "load", "--store", str(store), str(data)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env={**os.environ, **endpoint.INNOGRAPH_ENV})  # in our (niced) autogroup
    output = proc.stdout.read().decode()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"innograph load failed:\n{output}")
    manifest = json.loads((store / "CURRENT.json").read_text())
    snapshot = store / manifest["db"] / "snapshot.nq"
    return {"seconds": round(time.perf_counter() - started, 2), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "quads": sum(manifest["graphs"].values()), "snapshot_mib": round(snapshot.stat().st_size / 2**20, 1)}


def innograph_startup(store: Path, out_dir: Path, mix_seconds: float) -> dict[str, Any]:
    port = endpoint.free_port()
    server = endpoint.InnographServer(port, out_dir / f"startup-innograph-{port}.log", store)
    started = time.perf_counter()
    server.proc = subprocess.Popen(server.command(), stdout=open(server.log_file, "wb"), stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, env=server.env(), start_new_session=True)
    if endpoint.NICE["value"]:
        endpoint.set_autogroup_nice(server.proc.pid, endpoint.NICE["value"])
    result: dict[str, Any] = {}
    try:
        http_at = health_at = None
        while True:
            if server.proc.poll() is not None:
                raise RuntimeError(f"innograph serve exited; see {server.log_file}")
            now = time.perf_counter() - started
            if http_at is None:
                status = _answers(port, "/health")
                if status is not None:
                    http_at = now
                    result["health_status_first"] = status
            if http_at is not None and health_at is None and _answers(port, "/health") == 200:
                health_at = time.perf_counter() - started
            if http_at is not None and _answers(port, "/sparql?query=ASK%7B%7D") == 200:
                result["query_ready_seconds"] = round(time.perf_counter() - started, 2)
                break
            if now > 3600:
                raise TimeoutError("innograph serve did not answer a query within an hour")
            time.sleep(0.05)
        # A query sent while the store loads waits for it, so the loop above may end without
        # having seen /health answer 200: poll it now (it answers as soon as the store is ready).
        while health_at is None and time.perf_counter() - started < 3600:
            if _answers(port, "/health") == 200:
                health_at = time.perf_counter() - started
            else:
                time.sleep(0.05)
        result["http_seconds"] = round(http_at, 2)
        result["health_200_seconds"] = round(health_at, 2) if health_at is not None else None
        result["memory_idle"] = endpoint.memory(server.pids())
        result["mix"] = exercise(server, mix_seconds)
        result["memory"] = endpoint.memory(server.pids())
        return result
    finally:
        server.stop()


def exercise(server: endpoint.Server, seconds: float) -> dict[str, Any]:
    """The benchmark's full mix on 2 clients (as many as the default executors) for ``seconds``."""
    templates = endpoint.load_templates(BENCH / "queries")
    values = endpoint.discover(server.port, server.path)
    items = endpoint.build_sequence(templates, values, None, 50)
    run = endpoint.run_load(server, items, templates, 2, seconds)
    return {"completed": run["completed"], "errors": run["errors"]}


def oxigraph_memory(snapshot: Path, out_dir: Path, mix_seconds: float) -> dict[str, Any]:
    port = endpoint.free_port()
    server = endpoint.OxigraphServer(port, out_dir / f"startup-oxigraph-{port}.log", snapshot)
    try:
        server.start()
        result = {"ready_seconds": round(server.start_seconds, 2), "load_seconds": round(server.load_seconds or 0, 2)}
        result["mix"] = exercise(server, mix_seconds)
        result["memory"] = endpoint.memory(server.pids())
        return result
    finally:
        server.stop()


def measure(triples: int, args: argparse.Namespace) -> dict[str, Any]:
    data = endpoint.ensure_data(triples, args.data_dir)
    store = args.data_dir / f"startup-store-{triples}"
    print(f"[{triples}] innograph load ...", flush=True)
    load = timed_load(data, store)
    print(f"[{triples}]   {load}", flush=True)
    print(f"[{triples}] innograph serve ...", flush=True)
    serve = innograph_startup(store, args.out_dir, args.mix_seconds)
    print(f"[{triples}]   query ready in {serve['query_ready_seconds']} s, RSS {serve['memory']['rss_mib']} MiB, "
          f"PSS {serve['memory'].get('pss_mib')} MiB", flush=True)
    result = {"triples": triples, "data_mib": round(data.stat().st_size / 2**20, 1), "load": load, "serve": serve}
    if not args.no_oxigraph:
        snapshot = store / json.loads((store / "CURRENT.json").read_text())["db"] / "snapshot.nq"
        print(f"[{triples}] oxigraph serve (memory) ...", flush=True)
        result["oxigraph"] = oxigraph_memory(snapshot, args.out_dir, args.mix_seconds)
        print(f"[{triples}]   loaded in {result['oxigraph']['load_seconds']} s, RSS {result['oxigraph']['memory']['rss_mib']} MiB", flush=True)
    if not args.keep_store:
        shutil.rmtree(store)
    return result


def _role(row: dict[str, Any], tree: list[dict[str, Any]]) -> str:
    """What a process of the server is: its command line, and for the store's processes (same
    command line) whether its parent is one of them (an executor) or not (the fork server)."""
    if "innograph.worker" in row["cmd"]:
        parent_is_worker = any(r["pid"] == row.get("ppid") and "innograph.worker" in r["cmd"] for r in tree)
        return "executor" if parent_is_worker else "fork server (store)"
    if "oxigraph" in row["cmd"]:
        return "oxigraph"
    parent_is_gunicorn = any(r["pid"] == row.get("ppid") for r in tree)
    return "gunicorn worker" if parent_is_gunicorn else "gunicorn arbiter"


def print_table(results: list[dict[str, Any]]) -> None:
    for r in results:
        s, mem = r["serve"], r["serve"]["memory"]
        print(f"\n{r['triples']:,} triples ({r['load']['quads']:,} quads, N-Quads {r['data_mib']} MiB)")
        print(f"  innograph load: {r['load']['seconds']} s, peak RSS {r['load']['peak_rss_mib']} MiB")
        print(f"  innograph serve: HTTP up {s['http_seconds']} s, /health 200 {s['health_200_seconds']} s, first query 200 {s['query_ready_seconds']} s")
        print(f"  memory after the mix: RSS total {mem['rss_mib']} MiB, PSS total {mem.get('pss_mib')} MiB")
        for p in mem["processes"]:
            print(f"    {p['pid']:>7} {p.get('role', ''):<20} RSS {p.get('vmrss', 0):8.1f}  PSS {p.get('pss', 0):8.1f}  "
                  f"private {p.get('private_dirty', 0) + p.get('private_clean', 0):8.1f} MiB")
        if "oxigraph" in r:
            o = r["oxigraph"]
            print(f"  oxigraph serve (memory): load over /store {o['load_seconds']} s, RSS {o['memory']['rss_mib']} MiB, "
                  f"PSS {o['memory'].get('pss_mib')} MiB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Start-up time and memory of innograph serve (and the in-memory Oxigraph server).")
    parser.add_argument("--triples", nargs="+", default=["1m"], help="graph sizes (default 1m)")
    parser.add_argument("--mix-seconds", type=float, default=10, help="seconds of query mix before memory is read (default 10)")
    parser.add_argument("--no-oxigraph", action="store_true", help="skip the Oxigraph server")
    parser.add_argument("--keep-store", action="store_true", help="keep bench/data/startup-store-N afterwards")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument("--out-dir", type=Path, default=BENCH / "out")
    parser.add_argument("--src", default="worktree", metavar="REF", help="innograph code to run: 'worktree' (default) or a git ref (see endpoint.py)")
    parser.add_argument("--nice", type=int, default=0, help="autogroup nice of everything measured (see endpoint.py --nice)")
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.nice:
        if os.getpid() != os.getsid(0):
            os.setsid()
        if not endpoint.set_autogroup_nice("self", args.nice):
            parser.error("--nice: cannot set /proc/self/autogroup")
        endpoint.NICE["value"] = args.nice
    code = endpoint.use_source(args.src, args.out_dir)
    results = []
    for size in args.triples:
        result = measure(endpoint.parse_size(size), args)
        for mem in (result["serve"]["memory_idle"], result["serve"]["memory"]):
            for p in mem["processes"]:
                p["role"] = _role(p, mem["processes"])
        results.append(result)
    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "innograph_code": code,
              "machine": {"cpus": os.cpu_count(), "cpu": endpoint._cpu_model(),
                          "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
              "loadavg_at_end": os.getloadavg(), "nice": args.nice, "results": results}
    out = args.out_dir / f"startup-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(report, indent=1))
    print_table(results)
    print(f"\nwritten {out}")
    return 0


if __name__ == "__main__":
    endpoint.stop_on_sigterm()
    sys.exit(main())
