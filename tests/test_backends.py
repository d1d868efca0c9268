"""The external store (server/innograph/remote.py) and what comes with it: the store it holds
equals the embedded one, the competency queries answer the same through /sparql, a reload keeps
the contributions, a store that goes away gives 503s and comes back without a restart, and
replicas share one store.

The behaviour tests of the other modules run on every backend too (conftest.py, "Backends");
these are the ones that only make sense with an external store, or about it.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest
from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Store

import backends
import browser
from innograph import lease, loader, remote, sparqltext, store, tokens
from test_contribution_effects import COMPANY, turtle
from test_queries import EXPECTED, QUERIES, is_ordered, normalized

REPO = Path(__file__).resolve().parents[1]
MINIREPO = Path(__file__).parent / "fixtures" / "minirepo"
BASE = "https://w3id.org/innograph/"
EX = "http://example.org/"
needs_oxigraph = pytest.mark.skipif(backends.unavailable("oxigraph") is not None, reason=backends.unavailable("oxigraph") or "")


# -- SPARQL text: substitutions as VALUES, prefixes declared ---------------------------------------


@pytest.mark.parametrize("query,expected", [
    ("SELECT * WHERE { GRAPH ?g { ?s ?p ?o } }",
     "SELECT * WHERE { VALUES (?g) { (<http://example.org/g>) }\n GRAPH <http://example.org/g> { ?s ?p ?o } }"),
    ("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }",
     "CONSTRUCT { ?s ?p ?o } WHERE { VALUES (?g) { (<http://example.org/g>) }\n GRAPH <http://example.org/g> { ?s ?p ?o } }"),
    ("CONSTRUCT WHERE { ?g ?p ?o }",  # the short form allows no VALUES: the template is spelled out
     "CONSTRUCT { ?g ?p ?o } WHERE { VALUES (?g) { (<http://example.org/g>) }\n <http://example.org/g> ?p ?o }"),
    ("ASK { ?s ?p \"{ WHERE }\" FILTER(?g != ?s) }",  # braces and keywords in strings are text
     "ASK { VALUES (?g) { (<http://example.org/g>) }\n ?s ?p \"{ WHERE }\" FILTER(<http://example.org/g> != ?s) }"),
    ("DESCRIBE ?g LIMIT 1", "DESCRIBE ?g WHERE { VALUES (?g) { (<http://example.org/g>) } }\nLIMIT 1"),
])
def test_bind_joins_the_values_first_in_the_where_group(query, expected):
    assert sparqltext.bind(query, {"g": NamedNode(EX + "g")}) == expected


def test_bind_leaves_sub_selects_minus_and_assignments_alone():
    text = sparqltext.bind("SELECT * { ?x ?p ?o { SELECT ?x { ?x ?q ?r } } MINUS { ?x ?z ?w } BIND(1 AS ?x) }", {"x": Literal("a", language="fr")})
    assert text.startswith('SELECT * { VALUES (?x) { ("a"@fr) }\n "a"@fr ?p ?o { SELECT ?x { ?x ?q ?r } } MINUS { ?x ?z ?w } BIND(1 AS ?x)')


def test_declare_adds_only_the_prefixes_used_and_not_declared():
    prefixes = {"ino": BASE + "ontology#", "prov": "http://www.w3.org/ns/prov#", "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
    text = "PREFIX prov: <http://other/> SELECT * { ?s a ino:Pole ; prov:x \"rdf:type\" ; <urn:rdf:x> ?o }"
    assert sparqltext.declare(text, prefixes) == f"PREFIX ino: <{BASE}ontology#>\n{text}"
    assert sparqltext.form("PREFIX select: <x:> # SELECT\nBASE <http://b/> ASK { }") == "ASK"


# -- The same store and the same answers on every backend ------------------------------------------


def _named(quads) -> set[Quad]:
    """The quads without blank nodes and without graph/void (its blank nodes and stamp differ)."""
    void = NamedNode(BASE + "graph/void")
    return {q for q in quads if q.graph_name != void and not any(isinstance(t, BlankNode) for t in (q.subject, q.object))}


@pytest.fixture(scope="module")
def both_stores(store_backend, external_stores, tmp_path_factory):
    """(embedded store, the quads of the external one) loaded from this repository."""
    if store_backend == "embedded":
        pytest.skip("the reference itself")
    root = tmp_path_factory.mktemp("reference")
    loader.load(root / "store", REPO)
    service = remote.RemoteQueryService(external_stores.settings(repo=REPO))
    try:
        held = service._fetch_dataset(120.0)
    finally:
        service.close()
    return store.open_for_queries(root / "store"), [q for q in held if q.graph_name.value.startswith(BASE)]


def test_the_external_store_holds_what_the_embedded_one_does(both_stores):
    """`innograph load` into the engine gives the embedded store's quads (ontology, shapes,
    sources, meta, graph/inferred), blank nodes included (counted)."""
    embedded, ours = both_stores
    assert _named(ours) == _named(embedded)
    blanks = lambda quads: Counter(q.graph_name.value for q in quads if isinstance(q.subject, BlankNode) or isinstance(q.object, BlankNode))  # noqa: E731
    void = BASE + "graph/void"
    assert {g: n for g, n in blanks(ours).items() if g != void} == {g: n for g, n in blanks(embedded).items() if g != void}


def test_graph_void_describes_the_same_dataset(both_stores):
    """graph/void: the same description, plus dcterms:modified (the replicas' generation stamp)."""
    embedded, ours = both_stores
    void = NamedNode(BASE + "graph/void")
    assert len([q for q in ours if q.graph_name == void]) == len([q for q in embedded if q.graph_name == void]) + 1


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_competency_queries_answer_the_same_through_the_endpoint(repo_app, store_backend, path):
    """queries/*.rq through /sparql give tests/expected/*.srj (test_queries.py compares them on
    a store in this process; here through the app, on each backend)."""
    text = path.read_text(encoding="utf-8")
    response = repo_app.test_client().post("/sparql", data={"query": text}, headers={"Accept": "application/sparql-results+json"})
    assert response.status_code == 200, response.get_data(as_text=True)
    actual, expected = json.loads(response.data), json.loads((EXPECTED / f"{path.stem}.srj").read_text("utf-8"))
    assert actual["head"]["vars"] == expected["head"]["vars"]
    got, want = [normalized(b) for b in actual["results"]["bindings"]], [normalized(b) for b in expected["results"]["bindings"]]
    assert (got == want) if is_ordered(text) else (Counter(got) == Counter(want))


def test_reloading_keeps_contributions_and_gives_the_same_store(store_backend, external_stores, tmp_path):
    """A write, then `innograph load` again: the contribution's graph and record stay, and the
    store is the one a fresh load plus the same write gives (idempotent, as on the embedded store)."""
    if store_backend == "embedded":
        pytest.skip("the embedded store's reload: test_store.py")
    settings = external_stores.settings(repo=MINIREPO)
    service = remote.RemoteQueryService({**settings, "QUERY_TIMEOUT": 30})
    graph = BASE + "graph/contribution/test-1"
    try:
        service.apply_write([{"op": "put_graph", "graph": graph, "data": f"<{BASE}id/org/x> <{BASE}ontology#memberOf> <{BASE}id/pole/y> ."},
                             {"op": "add", "data": f"<{graph}> <http://purl.org/dc/terms/identifier> \"test-1\" <{BASE}graph/meta> .\n"}])
        before = _named(service._fetch_dataset(60.0))
        remote.load({**settings, "REPO_DIR": str(MINIREPO)})
        after = _named(service._fetch_dataset(60.0))
    finally:
        service.close()
    assert Quad(NamedNode(graph), NamedNode("http://purl.org/dc/terms/identifier"), Literal("test-1"), NamedNode(BASE + "graph/meta")) in after
    assert any(q.graph_name.value == graph for q in after)
    assert after == before


# -- An external store that goes away, replicas -----------------------------------------------------


def _get(url: str, accept: str = "application/sparql-results+json", timeout: float = 30) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _ask(base: str, query: str) -> tuple[int, bytes]:
    return _get(f"{base}/sparql?{urllib.parse.urlencode({'query': query})}")


def _serve(workdir: Path, store: backends.StoreServer, **settings: str) -> browser.LiveServer:
    env = {"INNOGRAPH_REPO_DIR": str(REPO), "INNOGRAPH_STORE": str(workdir / "store"), "INNOGRAPH_TOKENS": str(workdir.parent / "tokens"),
           **store.env, **{f"INNOGRAPH_{k}": v for k, v in settings.items()}}
    workdir.mkdir(parents=True, exist_ok=True)
    return browser.start_server(workdir, env, ready_path="/sparql?query=ASK%7B%7D")


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory):
    """One Oxigraph server holding this repository, for the tests below (stopped at the end)."""
    if backends.unavailable("oxigraph"):
        pytest.skip(backends.unavailable("oxigraph"))
    server = backends.start_store("oxigraph", tmp_path_factory.mktemp("shared-oxigraph"), REPO, cli=True)
    yield server
    server.stop()


@needs_oxigraph
def test_a_store_that_goes_away_gives_503s_and_comes_back_without_restart(shared_store, tmp_path):
    """Traffic while the Oxigraph server is stopped: 503 naming the store (queries, pages,
    contributions, dumps), no 500, no hang; restarted on the same port: 200s again, same server."""
    server = _serve(tmp_path / "app", shared_store, QUERY_TIMEOUT="5")
    statuses: list[tuple[float, int]] = []
    stop = threading.Event()

    def traffic() -> None:
        while not stop.is_set():
            statuses.append((time.monotonic(), _ask(server.url, f"ASK {{ <{BASE}id/pole/biowin> ?p ?o }}")[0]))
            time.sleep(0.02)

    worker = threading.Thread(target=traffic)
    try:
        worker.start()
        time.sleep(0.5)
        down_at = time.monotonic()
        shared_store.stop()
        time.sleep(1.0)
        status, body = _ask(server.url, "SELECT * { ?s ?p ?o } LIMIT 1")
        assert status == 503 and f"The external store at http://127.0.0.1:{shared_store.port} does not answer" in json.loads(body)["error"]
        status, body = _get(f"{server.url}/id/pole/biowin", accept="text/html")
        assert status == 503 and b"does not answer" in body
        assert _get(f"{server.url}/dumps/innograph.nt.gz", accept="*/*")[0] == 503
        assert _get(f"{server.url}/health", accept="application/json")[0] == 503  # the proxy takes it out of rotation
        refused = urllib.request.Request(f"{server.url}/validate", data=b"<urn:a> <urn:b> <urn:c> .", method="POST",
                                         headers={"Content-Type": "application/n-triples"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(refused, timeout=30)
        assert caught.value.code == 503 and "does not answer" in json.loads(caught.value.read())["error"]
        up_at = time.monotonic()
        shared_store.start()
        deadline = time.monotonic() + 10
        while _ask(server.url, "ASK {}")[0] != 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(max(0.5, up_at + 2 - time.monotonic()))  # traffic goes on after the return
        health = json.loads(_get(f"{server.url}/health", accept="application/json")[1])
        assert health["ok"] and health["mode"] == "external"
    finally:
        stop.set()
        worker.join()
        server.stop()
    during = {s for t, s in statuses if down_at + 0.2 < t < up_at}
    after = [s for t, s in statuses if t > up_at + 1]
    assert during == {503}
    assert after and set(after) == {200}
    assert {s for _, s in statuses} <= {200, 503}
    assert "Traceback" not in server.log.read_text(errors="replace")


@needs_oxigraph
def test_replicas_share_the_store_and_see_each_others_contributions(shared_store, tmp_path):
    """Two `innograph serve` on one Oxigraph server: the same answers; a contribution accepted by
    one is in the other's queries, records and dumps at once (no restart, no cache to wait for
    beyond remote.GENERATION_PROBE_SECONDS)."""
    token = tokens.create(tmp_path / "tokens", "Replica Tester", "contributor")
    a, b = _serve(tmp_path / "a", shared_store), _serve(tmp_path / "b", shared_store)
    try:
        queries = [f"SELECT ?p ?o WHERE {{ <{BASE}id/pole/biowin> ?p ?o }} ORDER BY ?p ?o",
                   "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"]
        for query in queries:
            assert _ask(a.url, query) == _ask(b.url, query)
        assert _get(f"{a.url}/id/pole/biowin", accept="text/turtle") == _get(f"{b.url}/id/pole/biowin", accept="text/turtle")
        _get(f"{b.url}/dumps/innograph.nt.gz", accept="*/*")  # B makes its dump of the data before the contribution
        body = turtle(COMPANY.replace("effect-co", "replica-co"))
        request = urllib.request.Request(f"{a.url}/contributions?source=https://example.org/replica", data=body, method="POST",
                                         headers={"Content-Type": "text/turtle", "Authorization": f"Bearer {token}"})
        with urllib.request.urlopen(request, timeout=60) as response:
            assert response.status == 201
            cid = json.loads(response.read())["id"]
        seen = json.loads(_ask(b.url, f"ASK {{ GRAPH <{BASE}graph/contribution/{cid}> {{ <{BASE}id/organisation/replica-co> ?p ?o }} }}")[1])
        assert seen["boolean"] is True
        assert json.loads(_get(f"{b.url}/contributions/{cid}", accept="application/json")[1])["contributor"] == "Replica Tester"
        assert _ask(a.url, queries[1]) == _ask(b.url, queries[1])
        time.sleep(remote.GENERATION_PROBE_SECONDS + 0.1)
        import gzip

        assert b"replica-co" in gzip.decompress(_get(f"{b.url}/dumps/innograph.nt.gz", accept="*/*")[1])
    finally:
        a.stop()
        b.stop()


@needs_oxigraph
def test_the_command_line_works_on_the_external_store(shared_store, tmp_path):
    """`innograph query` and `innograph export` read the external store when SPARQL_QUERY_URL is
    set; `innograph load` into a store that does not answer exits 2 and says which one."""
    import subprocess
    import sys

    cli = [str(Path(sys.executable).with_name("innograph"))]
    env = {"PATH": "/usr/bin:/bin", "INNOGRAPH_STORE": str(tmp_path / "nothing-here"), **shared_store.env}
    done = subprocess.run([*cli, "query", f"SELECT ?o WHERE {{ <{BASE}id/pole/biowin> <http://www.w3.org/2000/01/rdf-schema#label> ?o }}"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "BioWin" in done.stdout, done.stderr
    done = subprocess.run([*cli, "export", "--format", "nq", "--out", str(tmp_path / "all.nq")], env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exported = Store()
    exported.load(path=str(tmp_path / "all.nq"), format=RdfFormat.N_QUADS)
    assert NamedNode(BASE + "graph/meta") in set(exported.named_graphs()) and len(exported) > 5000
    assert not (tmp_path / "nothing-here").exists()  # no embedded store was made on the way
    port = backends.free_port()
    down = {**env, "INNOGRAPH_SPARQL_QUERY_URL": f"http://127.0.0.1:{port}/query", "INNOGRAPH_SPARQL_UPDATE_URL": f"http://127.0.0.1:{port}/update",
            "INNOGRAPH_SPARQL_GSP_URL": f"http://127.0.0.1:{port}/store", "INNOGRAPH_REPO_DIR": str(REPO)}
    done = subprocess.run([*cli, "load"], env=down, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"the external store at http://127.0.0.1:{port} does not answer" in done.stderr


# -- The write lease: one contribution validated and written at a time across replicas (issue #6) --

SH_MAX_COUNT = "http://www.w3.org/ns/shacl#MaxCountConstraintComponent"
DATE = "http://purl.org/dc/terms/date"
UNDATED = BASE + "id/document/sirris-agoria-press"  # a source document with no dcterms:date (sh:maxCount 1)


@pytest.fixture(scope="module")
def lease_store(store_backend, external_stores, request):
    """The settings of one external store of the current backend holding this repository, which
    the replicas of the tests below share (given back at the end of the module)."""
    if store_backend == "embedded":
        pytest.skip("the write lease is an external store's: the embedded store has one process")
    return external_stores.settings(repo=REPO, finalizer=request.addfinalizer)


def _leases(service: remote.RemoteQueryService) -> list[tuple[str, str]]:
    _, (_, rows), _ = service.terms(f"SELECT ?s ?p WHERE {{ GRAPH {lease.GRAPH} {{ ?s ?p ?o }} }}")
    return sorted((s.value, p.value) for s, p in rows)


def test_the_write_lease_is_held_by_one_replica_at_a_time(lease_store, tmp_path):
    """Two services on one store (two replicas): while A holds the lease B waits, then gets a
    503-kind error naming the store; A's write under it refreshes graph/void, which does not count
    the lease graph, nor does a dump hold it; released, the graph is empty and B gets the lease at
    once; a lease whose time is past (a replica that crashed holding it) is taken over."""
    a, b = (remote.RemoteQueryService({**lease_store, "QUERY_TIMEOUT": 10}) for _ in range(2))
    try:
        with a.write_lock(time.monotonic() + 5):
            started = time.monotonic()
            with pytest.raises(lease.WriteBusy) as busy, b.write_lock(time.monotonic() + 0.5):
                pass
            assert 0.45 < time.monotonic() - started < 5
            assert busy.value.reason == "timeout"  # a QueryTimeout: 503 wherever the app maps those
            assert f"another replica is writing (the write lease of the external store at {b.client.where} is held until 20" in busy.value.message
            assert [p for _, p in _leases(a)] == [lease.HOLDER.value, lease.UNTIL.value]  # A's two triples: B took its own back
            graph = BASE + "graph/contribution/lease-test"
            a.apply_write([{"op": "put_graph", "graph": graph, "data": f"<{BASE}id/org/lease-test> <{EX}p> \"x\" ."}])
            _, (_, described), _ = b.terms(f"SELECT ?s ?o WHERE {{ GRAPH <{BASE}graph/void> {{ ?s ?p ?o }} }}", max_rows=10**6)
            terms = {t.value for row in described for t in row}
            assert graph in terms and not [t for t in terms if t.startswith(lease.PREFIX)]  # refreshed, the lease not counted
            b.export("innograph.nq", str(tmp_path / "dump.nq"))
            dumped = (tmp_path / "dump.nq").read_text(encoding="utf-8")
            assert "lease-test" in dumped and lease.PREFIX not in dumped
            assert graph in b.status(counts=True)["graphs"] and not [g for g in b.status(counts=True)["graphs"] if g.startswith(lease.PREFIX)]
        assert _leases(a) == []
        started = time.monotonic()
        with b.write_lock(time.monotonic() + 0.5):
            assert len(_leases(a)) == 2
        assert time.monotonic() - started < 2 and _leases(a) == []
        crashed = NamedNode(lease.PREFIX + "lease:crashed")
        past = Literal(f"{time.time() - 1:.6f}", datatype=lease.DECIMAL)
        a.client.update(f"INSERT DATA {{ GRAPH {lease.GRAPH} {{ {crashed} {lease.HOLDER} \"gone\" . {crashed} {lease.UNTIL} {past} }} }}", 30)
        with b.write_lock(time.monotonic() + 0.5):
            assert crashed.value not in {s for s, _ in _leases(a)} and len(_leases(a)) == 2
        assert _leases(a) == []
    finally:
        a.close()
        b.close()


def test_a_contribution_that_cannot_get_the_lease_is_503_and_writes_nothing(lease_store, tmp_path):
    """While another replica holds the lease past QUERY_TIMEOUT: POST and DELETE /contributions
    answer 503 with Retry-After and the store's address, and nothing is written."""
    from innograph import create_app

    who = {role: tokens.create(tmp_path / "tokens", f"Busy {role}", role) for role in ("contributor", "curator")}
    app = create_app({"REPO_DIR": str(REPO), "STORE": str(tmp_path / "store"), "TOKENS": str(tmp_path / "tokens"), **lease_store,
                      "QUERY_TIMEOUT": 1})
    other = remote.RemoteQueryService(lease_store)
    body = f"<{BASE}id/organisation/busy-co> <http://www.w3.org/2000/01/rdf-schema#label> \"Busy\"@en ."
    try:
        with other.write_lock(time.monotonic() + 5):
            client = app.test_client()
            posted = client.post("/contributions?source=https://example.org/busy", data=body,
                                 headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {who['contributor']}"})
            deleted = client.delete("/contributions/20260101-000000-00000000", headers={"Authorization": f"Bearer {who['curator']}"})
        for answer in (posted, deleted):
            assert answer.status_code == 503 and answer.headers["Retry-After"] == "2"
            assert answer.json["error"].startswith(f"Another replica is writing (the write lease of the external store at {other.client.where}")
        assert not other.terms(f"ASK {{ <{BASE}id/organisation/busy-co> ?p ?o }}")[1]
    finally:
        other.close()
        app.extensions.get("innograph.contributions") and app.extensions["innograph.contributions"].archive.close()
        app.extensions["innograph"].close()


def test_a_lease_past_its_half_writes_nothing():
    """A holder writes only while half of its lease is left: past that another replica could take
    it over (its clock a little ahead) while the write still runs."""
    fresh = lease.Held(NamedNode(lease.PREFIX + "lease:x"), time.time() + 100, 100)
    fresh.check()
    with pytest.raises(lease.WriteBusy):
        lease.Held(fresh.subject, time.time() + 49, 100).check()
    assert lease.duration(30) == lease.LEASE_SECONDS and lease.duration(60) == 600


RACERS = 6


def test_replicas_accept_only_one_of_contributions_that_only_one_may_pass(lease_store, tmp_path):
    """The race of issue #6, on two real `innograph serve` on one store: RACERS contributions, each
    giving the same undated document a different dcterms:date (sh:maxCount 1), each conforming
    alone, sent at once to the replicas in turn: exactly one is accepted, the others are 422 with
    the maxCount violation, and the store holds one date. (Without the lease, each replica
    accepts one: two 201s and two dates.)"""
    token = tokens.create(tmp_path / "tokens", "Racer", "contributor")
    store = SimpleNamespace(env={f"INNOGRAPH_{k}": str(v) for k, v in lease_store.items()})
    replicas = [_serve(tmp_path / name, store, QUERY_TIMEOUT="60") for name in ("a", "b")]
    barrier = threading.Barrier(RACERS)
    answers: list[tuple[int, dict]] = [(0, {})] * RACERS

    def send(number: int) -> None:
        body = f'<{UNDATED}> <{DATE}> "{2010 + number}"^^<http://www.w3.org/2001/XMLSchema#gYear> .'.encode()
        request = urllib.request.Request(f"{replicas[number % 2].url}/contributions?source=https://example.org/race", data=body, method="POST",
                                         headers={"Content-Type": "application/n-triples", "Authorization": f"Bearer {token}"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                answers[number] = (response.status, json.loads(response.read()))
        except urllib.error.HTTPError as error:
            answers[number] = (error.code, json.loads(error.read()))

    try:
        for replica in replicas:  # each replica's first request loads the shapes: not in the race
            warm = urllib.request.Request(f"{replica.url}/validate", data=f"<{UNDATED}> <{DATE}> \"2010\" .".encode(), method="POST",
                                          headers={"Content-Type": "application/n-triples"})
            with urllib.request.urlopen(warm, timeout=120) as response:
                assert response.status == 200
        threads = [threading.Thread(target=send, args=(n,)) for n in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        dates = json.loads(_ask(replicas[1].url, f"SELECT DISTINCT ?d WHERE {{ <{UNDATED}> <{DATE}> ?d }}")[1])["results"]["bindings"]
    finally:
        for replica in replicas:
            replica.stop()
    assert sorted(status for status, _ in answers) == [201] + [422] * (RACERS - 1), answers
    for status, report in answers:
        if status == 422:
            assert [(r["sourceConstraintComponent"], r["resultPath"]) for r in report["results"]] == [(SH_MAX_COUNT, DATE)]
    assert len(dates) == 1
