"""kill -9 of the real server during a stream of contributions: what got a 201 survives, whole.

A real ``innograph serve`` (gunicorn, the fork server and its executors, in one process group)
on a store built from this repository takes valid contributions from several threads at once,
with a contributor token made by ``innograph token create``. At a few kill points the whole
process group gets SIGKILL; the server is restarted on the same store and, through /sparql and
GET /contributions/{id}:

- every contribution that was answered 201 is there: its record in graph/meta says accepted with
  the triple count sent, and graph/contribution/{id} holds exactly those triples;
- nothing is partial: each contribution graph has its record and each accepted record its graph,
  with as many triples as the record says; a contribution that was in flight when the server
  died (no answer) is either wholly there or not at all.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pyoxigraph as ox
import pytest

import browser

REPO = Path(__file__).resolve().parent.parent
ID = "https://w3id.org/innograph/id/"
CONTRIBUTION = "https://w3id.org/innograph/graph/contribution/"
META = "https://w3id.org/innograph/graph/meta"
THREADS = 4
# (201s to see in the round, then when to SIGKILL: seconds later, or "journal": as soon as the
# store's journal grows, i.e. a write is fsync'ed and its answer most likely not yet sent).
KILL_POINTS = ((3, 0.0), (2, "journal"), (4, 0.031))
NETWORKS = ("pole/biowin", "pole/wagralim", "pole/skywin", "cluster/tweed", "cluster/cap-2020")


def payload(tag: str, rnd: random.Random) -> bytes:
    """A new company and its membership of an existing network; some carry a project too."""
    org, network = f"<{ID}organisation/crash-{tag}>", f"<{ID}{rnd.choice(NETWORKS)}>"
    membership = f"<{ID}membership/crash-{tag}>"
    lines = [
        "@prefix ino: <https://w3id.org/innograph/ontology#> .",
        "@prefix org: <http://www.w3.org/ns/org#> .",
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .",
        "@prefix dcterms: <http://purl.org/dc/terms/> .",
        f'{org} a ino:Company ; rdfs:label "Crash {tag}"@fr , "Crash {tag}"@en ; ino:sizeClass <{ID}size-class/sme> .',
        f'{membership} a ino:Membership ; rdfs:label "adhésion {tag}"@fr , "membership {tag}"@en ;',
        f"  org:member {org} ; org:organization {network} ; org:role <{ID}role/member> ;",
        f'  dcterms:source <{ID}document/ccimag-2016-biowin> ; ino:quote "{tag}"@fr .',
    ]
    if rnd.random() < 0.5:
        lines.append(f'<{ID}project/crash-{tag}> a ino:ResearchProject ; rdfs:label "Projet {tag}"@fr , "Project {tag}"@en ;'
                     f" ino:carriedBy {org} , <{ID}organisation/chc-groupe-sante> .")
    return "\n".join(lines).encode()


def triples_in(body: bytes) -> int:
    return len(set(ox.parse(body, format=ox.RdfFormat.TURTLE)))


@dataclass
class Attempt:
    tag: str
    triples: int
    status: int | None = None  # None: no answer (the server died meanwhile)
    cid: str | None = None
    error: str = ""


class Stream:
    """THREADS threads POSTing contributions until stopped; every attempt is recorded."""

    def __init__(self, url: str, token: str, round_no: int) -> None:
        self.url, self.token, self.round = url, token, round_no
        self.attempts: list[Attempt] = []
        self.accepted = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._post_loop, args=(t,), daemon=True) for t in range(THREADS)]

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in self.threads), "a client thread hung"

    def _post_loop(self, thread: int) -> None:
        rnd = random.Random(f"{self.round}-{thread}")
        k = 0
        while not self.stop.is_set():
            tag = f"r{self.round}-t{thread}-{k}"
            k += 1
            body = payload(tag, rnd)
            attempt = Attempt(tag, triples_in(body))
            with self.lock:
                self.attempts.append(attempt)
            query = urllib.parse.urlencode({"source": f"https://example.org/crash/{tag}", "message": tag})
            request = urllib.request.Request(f"{self.url}/contributions?{query}", data=body, method="POST", headers={
                "Content-Type": "text/turtle", "Accept": "application/json", "Authorization": f"Bearer {self.token}"})
            try:
                with urllib.request.urlopen(request, timeout=30) as response:
                    attempt.status, attempt.cid = response.status, json.loads(response.read())["id"]
                with self.lock:
                    self.accepted += 1
            except urllib.error.HTTPError as error:
                attempt.status, attempt.error = error.code, error.read().decode(errors="replace")[:2000]
            except (urllib.error.URLError, ConnectionError, OSError):
                return  # the server is gone: this attempt's outcome is unknown, and the thread stops


def get_json(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as error:
        return error.code, {}


def select(url: str, query: str) -> list[dict[str, str]]:
    status, body = get_json(f"{url}/sparql?" + urllib.parse.urlencode({"query": query}))
    assert status == 200, query
    return [{k: v["value"] for k, v in row.items()} for row in body["results"]["bindings"]]


def kill_group(server: browser.LiveServer) -> None:
    """SIGKILL to the server's whole process group; return once no process of it is left."""
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(server.process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    raise AssertionError("processes of the killed server are still alive")


def check_store(url: str, attempts: list[Attempt]) -> int:
    """The invariants of the module docstring; returns how many contributions are in the store."""
    records = {r["g"]: r for r in select(url, f"""
        PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX void: <http://rdfs.org/ns/void#>
        PREFIX adms: <http://www.w3.org/ns/adms#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?g ?n ?status ?msg WHERE {{ GRAPH <{META}> {{
          ?g void:triples ?n ; adms:status ?status ; prov:wasGeneratedBy ?act . ?act rdfs:comment ?msg }} }}""")}
    graphs = {r["g"]: int(r["n"]) for r in select(url, f"""
        SELECT ?g (COUNT(*) AS ?n) WHERE {{ GRAPH ?g {{ ?s ?p ?o }} FILTER(STRSTARTS(STR(?g), "{CONTRIBUTION}")) }} GROUP BY ?g""")}
    accepted = {g for g, r in records.items() if r["status"].endswith("/accepted")}
    assert set(graphs) == accepted, f"graphs without a record: {set(graphs) - accepted}; records without a graph: {accepted - set(graphs)}"
    for g, count in graphs.items():
        assert count == int(records[g]["n"]), f"{g} holds {count} triples, its record says {records[g]['n']}"

    by_tag = {a.tag: a for a in attempts}
    for g, record in records.items():
        sent = by_tag.get(record["msg"])
        assert sent is not None, f"{g}: a record for nothing this test sent ({record['msg']})"
        assert int(record["n"]) == sent.triples, f"{g}: {record['n']} triples recorded, {sent.triples} sent"
        if sent.status is not None:  # answered: it must have been a 201 with this very id
            assert sent.status == 201 and sent.cid and g == CONTRIBUTION + sent.cid, (g, sent)

    acked = [a for a in attempts if a.status == 201]
    assert all(a.status in (201, None) for a in attempts), [(a.tag, a.status, a.error) for a in attempts if a.status not in (201, None)]
    for a in acked:
        assert CONTRIBUTION + a.cid in records, f"{a.tag} got a 201 ({a.cid}) and is gone after the restart"
        status, shown = get_json(f"{url}/contributions/{a.cid}")
        assert status == 200 and shown["status"] == "accepted" and shown["triples"] == a.triples, (a, status, shown)
        assert shown["message"] == a.tag and shown["source"] == f"https://example.org/crash/{a.tag}"
    return len(records)


@pytest.mark.slow
def test_kill_9_during_contributions_loses_nothing_acknowledged_and_leaves_nothing_partial(tmp_path):
    env = {"INNOGRAPH_REPO_DIR": str(REPO), "INNOGRAPH_STORE": str(tmp_path / "store"), "INNOGRAPH_TOKENS": str(tmp_path / "tokens"),
           "INNOGRAPH_WORKERS": "2"}
    innograph = str(Path(sys.executable).with_name("innograph"))
    created = subprocess.run([innograph, "token", "create", "Crash Tester", "--role", "contributor"], env={**os.environ, **env},
                             capture_output=True, text=True, check=True)
    token = created.stdout.split()[0]
    attempts: list[Attempt] = []
    runs = iter(range(100))

    def start() -> browser.LiveServer:  # each run logs into its own directory
        run = tmp_path / f"run-{next(runs)}"
        run.mkdir()
        return browser.start_server(run, env)

    server = start()
    try:
        for round_no, (after, delay) in enumerate(KILL_POINTS):
            stream = Stream(server.url, token, round_no)
            stream.start()
            deadline = time.monotonic() + 30
            while stream.accepted < after and time.monotonic() < deadline:
                time.sleep(0.005)
            assert stream.accepted >= after, f"round {round_no}: only {stream.accepted} contributions accepted in 30 s"
            if delay == "journal":
                journal, size = tmp_path / "store" / "journal", (tmp_path / "store" / "journal").stat().st_size
                while journal.stat().st_size == size and time.monotonic() < deadline:
                    pass
            else:
                time.sleep(delay)
            kill_group(server)
            stream.join()
            attempts += stream.attempts
            in_flight = [a for a in stream.attempts if a.status is None]
            assert in_flight, f"round {round_no}: the kill hit no request in flight"
            server = start()
            present = check_store(server.url, attempts)
            print(f"round {round_no}: {stream.accepted} answered 201, {len(in_flight)} in flight at the kill, "
                  f"{present} contributions in the store after the restart ({present - sum(a.status == 201 for a in attempts)} unanswered)")
    finally:
        server.stop()
