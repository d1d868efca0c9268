"""The same requests to `innograph serve` on the embedded store and on external ones (remote.py).

    .venv/bin/python bench/external.py [--lookups 300] [--pages 60] [--writes 10] [--backends embedded oxigraph virtuoso]

For each backend: a store loaded from this repository (the external ones by `innograph load`, as
tests/backends.py starts them: a real server on 127.0.0.1 with a temporary database), one
`innograph serve` on it, then sequentially, one keep-alive client: SPARQL lookups (JSON), the
HTML page of a pole, contributions (POST /contributions, each validated, written, inferred and
described), and the first /dumps/innograph.nt.gz after them. Prints p50/p90 per kind as a Markdown
table (docs/deploy.md quotes it). Sequential on purpose: the cost of one request, not throughput.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import backends  # noqa: E402
import browser  # noqa: E402

from innograph import tokens  # noqa: E402

BASE = "https://w3id.org/innograph/"
COMPANY = """@prefix ino: <https://w3id.org/innograph/ontology#> . @prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix dcterms: <http://purl.org/dc/terms/> .
<{id}organisation/bench-{n}> a ino:Company ; rdfs:label "Banc {n}"@fr , "Bench {n}"@en ; ino:sizeClass <{id}size-class/sme> .
<{id}membership/bench-{n}> a ino:Membership ; rdfs:label "Banc {n} membre de BioWin"@fr , "Bench {n} member of BioWin"@en ;
    org:member <{id}organisation/bench-{n}> ; org:organization <{id}pole/biowin> ; org:role <{id}role/member> ;
    dcterms:source <{id}document/ccimag-2016-biowin> ; ino:quote "Banc {n} rejoint BioWin"@fr .
"""


def timed(connection: http.client.HTTPConnection, method: str, path: str, body: bytes | None = None,
          headers: dict[str, str] | None = None) -> tuple[float, int, bytes]:
    started = time.perf_counter()
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    return (time.perf_counter() - started) * 1000, response.status, data


def percentiles(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
    return f"{statistics.median(values):.1f} / {p90:.1f}"


def run(backend: str, args: argparse.Namespace, workdir: Path) -> dict[str, str]:
    store = None
    env = {"INNOGRAPH_REPO_DIR": str(ROOT), "INNOGRAPH_STORE": str(workdir / "store"), "INNOGRAPH_TOKENS": str(workdir / "tokens")}
    token = tokens.create(workdir / "tokens", "Bench", "contributor")
    if backend != "embedded":
        store = backends.start_store(backend, workdir / backend, ROOT, cli=True)
        env.update(store.env)
    server = browser.start_server(workdir, env, ready_path="/sparql?query=ASK%7B%7D")
    try:
        host, port = server.url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        query = urllib.parse.urlencode({"query": f"SELECT ?p ?o WHERE {{ <{BASE}id/pole/biowin> ?p ?o }}"})
        lookups = [timed(connection, "GET", f"/sparql?{query}", headers={"Accept": "application/sparql-results+json"})
                   for _ in range(args.lookups)]
        pages = [timed(connection, "GET", "/id/pole/biowin", headers={"Accept": "text/html"}) for _ in range(args.pages)]
        writes = []
        for n in range(args.writes):
            body = COMPANY.format(id=BASE + "id/", n=f"{backend}-{n}").encode()
            writes.append(timed(connection, "POST", "/contributions?source=https://example.org/bench", body=body,
                                headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"}))
        dump = timed(connection, "GET", "/dumps/innograph.nt.gz")
        for kind, results, expected in (("lookups", lookups, 200), ("pages", pages, 200), ("writes", writes, 201)):
            bad = [status for _, status, _ in results if status != expected]
            if bad:
                raise SystemExit(f"{backend} {kind}: unexpected statuses {bad[:5]}")
        return {"backend": backend, "lookup": percentiles([t for t, _, _ in lookups]), "page": percentiles([t for t, _, _ in pages]),
                "write": percentiles([t for t, _, _ in writes]), "dump": f"{dump[0]:.0f}"}
    finally:
        server.stop()
        if store is not None:
            store.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lookups", type=int, default=300)
    parser.add_argument("--pages", type=int, default=60)
    parser.add_argument("--writes", type=int, default=10)
    parser.add_argument("--backends", nargs="+", default=[b for b in backends.BACKENDS if b == "embedded" or not backends.unavailable(b)])
    args = parser.parse_args()
    rows = []
    for backend in args.backends:
        with tempfile.TemporaryDirectory(prefix=f"bench-external-{backend}-") as tmp:
            rows.append(run(backend, args, Path(tmp)))
            print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"{time.strftime('%Y-%m-%d %H:%M %z')}, {os.cpu_count()} CPUs, {platform.platform()}, load average "
          f"{os.getloadavg()[0]:.1f}; {args.lookups} lookups, {args.pages} pages, {args.writes} contributions, one client\n")
    print("| store | lookup p50 / p90 ms | page p50 / p90 ms | contribution p50 / p90 ms | first dump after them, ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for row in rows:
        print(f"| {row['backend']} | {row['lookup']} | {row['page']} | {row['write']} | {row['dump']} |")


if __name__ == "__main__":
    main()
