"""The floor under a cheap lookup: what a request costs before any query, per web stack.

    python bench/floor.py --requests 4000 --blocks 5        # add --nice -10 on a shared machine

Issue #3 asks for cheap lookups (one IRI's description) at p50 <= 2 x the Oxigraph server's.
This measures, one closed-loop client on one keep-alive connection (the raw-socket client of
bench/endpoint.py), the p50 of:

* the Oxigraph server (in memory, the store's quads): ``ASK {}`` and ``DESCRIBE <org>``;
* a WSGI app that answers a constant (the bytes of an empty SPARQL result) under gunicorn with
  innograph's settings (one gthread worker, 8 threads, no access log) and under granian (a web
  server in Rust: one worker, 8 blocking threads);
* a one-route Flask app answering the same constant, under both;
* innograph itself (``innograph serve``): ``ASK {}`` and ``DESCRIBE <org>``.

The servers run one at a time; the measurement is split into ``--blocks`` rounds that visit every
server in turn (a drift of the machine touches all of them alike) and keeps each server's median
over its rounds. Store: the repository's own graphs (`innograph load` into
``bench/data/store-floor``), or ``--store DIR`` (e.g. the 1M-triple store of bench/endpoint.py).
Report: bench/out/floor-DATE.json. Needs granian (`pip install granian`), not a dependency of
innograph itself.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import endpoint  # noqa: E402
from endpoint import BIN, HOST, ROOT, Connection, Server, free_port, request_bytes  # noqa: E402

BODY = b'{"head":{"vars":[]},"results":{"bindings":[]}}'
HEADERS = [("Content-Type", "application/sparql-results+json"), ("Content-Length", str(len(BODY)))]


def constant_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """The cheapest WSGI answer: no routing, no parsing."""
    start_response("200 OK", HEADERS)
    return [BODY]


def flask_app() -> Any:
    """One Flask route answering the same bytes (``floor:flask_app()`` for the servers)."""
    from flask import Flask, Response

    app = Flask("floor")
    app.add_url_rule("/sparql", "sparql", lambda: Response(BODY, headers=HEADERS[:1]))
    return app


class WsgiServer(Server):
    """A WSGI callable of this module under gunicorn or granian."""

    path = "/sparql"

    def __init__(self, port: int, log_file: Path, runner: str, target: str) -> None:
        super().__init__(port, log_file)
        self.runner, self.target = runner, target
        self.name = f"{runner}: {'constant WSGI' if target == 'constant_app' else 'Flask route'}"

    def command(self) -> list[str]:
        app = f"floor:{self.target}"
        if self.runner == "gunicorn":
            return [str(BIN / "gunicorn"), "--chdir", str(Path(__file__).parent), "-w", "1", "-k", "gthread",
                    "--threads", "8", "-b", f"{HOST}:{self.port}", app if self.target == "constant_app" else app + "()"]
        return [str(BIN / "granian"), "--interface", "wsgi", "--working-dir", str(Path(__file__).parent), "--workers", "1",
                "--blocking-threads", "8", "--host", HOST, "--port", str(self.port), "--no-access-log",
                *(["--factory"] if self.target == "flask_app" else []), app]

    def wait_ready(self) -> None:
        self._poll("/sparql", lambda status: status == 200, timeout=60)


def p50(port: int, request: bytes, count: int) -> float:
    """Median seconds of ``count`` sequential requests on one connection (after 200 warm-ups)."""
    conn = Connection(port)
    for _ in range(200):
        conn.request(request)
    times = []
    for _ in range(count):
        started = time.perf_counter()
        status, _size, _ = conn.request(request)
        times.append(time.perf_counter() - started)
        if status != 200:
            raise RuntimeError(f"HTTP {status} on port {port}")
    conn.close()
    return statistics.median(times)


def an_org(port: int, path: str) -> str:
    """One organisation IRI of the store (the first in IRI order that has a label)."""
    conn = Connection(port)
    query = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> SELECT ?o WHERE { ?o a ?k ; rdfs:label ?l "
             "FILTER(STRSTARTS(STR(?o), 'https://w3id.org/innograph/id/organisation/')) } ORDER BY ?o LIMIT 1")
    status, _, body = conn.request(request_bytes(path, port, query, "application/sparql-results+json"), keep=True)
    conn.close()
    return json.loads(body)["results"]["bindings"][0]["o"]["value"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=4000, help="requests per server and block")
    parser.add_argument("--blocks", type=int, default=5, help="rounds over every server")
    parser.add_argument("--store", type=Path, help="an innograph store (default: the repository's graphs)")
    parser.add_argument("--nice", type=int, default=0, help="scheduling nice of the servers and the client (root)")
    parser.add_argument("--out-dir", type=Path, default=endpoint.BENCH / "out")
    args = parser.parse_args(argv)
    endpoint.NICE["value"] = args.nice
    if args.nice:
        endpoint.set_autogroup_nice("self", args.nice)
    store = args.store or endpoint.BENCH / "data" / "store-floor"
    if not (store / "CURRENT.json").exists():
        subprocess.run([str(BIN / "innograph"), "load", "--store", str(store)], check=True, cwd=ROOT,
                       env={**endpoint.InnographServer(0, Path("/dev/null"), store).env()})
    manifest = json.loads((store / "CURRENT.json").read_text())
    snapshot = store / manifest["db"] / "snapshot.nq"
    logs = args.out_dir / "floor-logs"
    servers: list[Server] = [endpoint.OxigraphServer(free_port(), logs / "oxigraph.log", snapshot),
                             *(WsgiServer(free_port(), logs / f"{r}-{t}.log", r, t)
                               for r in ("gunicorn", "granian") for t in ("constant_app", "flask_app")),
                             endpoint.InnographServer(free_port(), logs / "innograph.log", store)]
    results: dict[str, list[float]] = {}
    org = None
    for block in range(args.blocks):
        for server in servers:
            server.start()
            try:
                ask = request_bytes(server.path, server.port, "ASK {}", "application/sparql-results+json")
                requests = {"constant" if isinstance(server, WsgiServer) else "ASK {}": ask}
                if not isinstance(server, WsgiServer):
                    org = org or an_org(server.port, server.path)
                    requests["DESCRIBE <org>"] = request_bytes(server.path, server.port, f"DESCRIBE <{org}>", "application/n-triples")
                for what, request in requests.items():
                    results.setdefault(f"{server.name}|{what}", []).append(p50(server.port, request, args.requests))
            finally:
                server.stop()
        print(f"block {block + 1}/{args.blocks} done", file=sys.stderr)
    oxigraph_describe = statistics.median(results["oxigraph|DESCRIBE <org>"])
    rows = []
    print("\n| server | request | p50 ms | × Oxigraph's DESCRIBE |\n| --- | --- | ---: | ---: |")
    for key, values in results.items():
        name, what = key.split("|")
        median = statistics.median(values)
        rows.append({"server": name, "request": what, "p50_ms": median * 1e3, "blocks_ms": [v * 1e3 for v in values]})
        print(f"| {name} | {what} | {median * 1e3:.3f} | {median / oxigraph_describe:.2f} |")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"floor-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "store": str(store), "org": org,
                               "requests": args.requests, "blocks": args.blocks, "nice": args.nice,
                               "load_average": list(__import__("os").getloadavg()), "rows": rows}, indent=1))
    print(f"\nreport: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
