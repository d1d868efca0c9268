"""Dumps: every format parses back to the store's quads (graph formats) or to the union of its
graphs (Turtle, N-Triples), each triple once; gzip variants hold the same; the HTTP surface serves
files made once per data version, as downloads, and no path outside the table reaches the disk."""

from __future__ import annotations

import gzip
import io
import json
import threading
import urllib.parse
import urllib.request

import pytest
from pyoxigraph import DefaultGraph, Literal, NamedNode, Quad, RdfFormat, Store, parse

from innograph import create_app, dumps, overlap, void
from innograph.namespaces import PREFIXES

import inprocess
from inprocess import LocalRuntime, fixture_store

EX = "https://w3id.org/innograph/id/"




def quads_of(data: bytes, fmt: RdfFormat) -> set:
    """The quads of a dataset format; the triples of a graph format."""
    parsed = parse(data, format=fmt)
    return set(parsed) if fmt.supports_datasets else {q.triple for q in parsed}


def union_of(store: Store) -> set:
    return {q.triple for q in store}


def dump_bytes(store: Store, name: str) -> bytes:
    out = io.BytesIO()
    dumps.write_dump(store, dumps.DUMPS[name], out, PREFIXES)
    return out.getvalue()


@pytest.fixture(scope="module")
def repo_store(tmp_path_factory) -> Store:
    return inprocess.repo_store(tmp_path_factory.mktemp("store"))


def test_the_table_offers_every_format_plain_and_gzipped():
    assert sorted(dumps.DUMPS) == sorted(f"innograph.{ext}{gz}" for ext in ("trig", "nq", "ttl", "nt", "jsonld") for gz in ("", ".gz"))
    assert dumps.DUMPS["innograph.nq.gz"].media_type == "application/gzip"
    assert dumps.find("nq.gz") == dumps.DUMPS["innograph.nq.gz"]
    assert dumps.find("turtle") == dumps.DUMPS["innograph.ttl"]
    assert dumps.find("application/n-triples") == dumps.DUMPS["innograph.nt"]
    assert dumps.find("../etc/passwd") is None and dumps.find("n3") is None
    assert dumps.find("rdfxml").name == "innograph.rdf" and "innograph.rdf" not in dumps.DUMPS  # export only


@pytest.mark.parametrize("name", ["innograph.trig", "innograph.nq", "innograph.jsonld"])
def test_graph_formats_hold_exactly_the_stores_quads(name):
    store = fixture_store()
    fmt = dumps.DUMPS[name].format
    assert quads_of(dump_bytes(store, name), fmt) == set(store)


@pytest.mark.parametrize("name", ["innograph.ttl", "innograph.nt", "innograph.rdf"])
def test_union_formats_hold_each_triple_of_the_union_once(name):
    store = fixture_store()
    out = io.BytesIO()
    dumps.write_dump(store, dumps.find(name.split(".", 1)[1]), out, PREFIXES)
    data = out.getvalue()
    assert quads_of(data, dumps.find(name.split(".", 1)[1]).format) == union_of(store)
    if name.endswith(".nt"):
        assert len(data.splitlines()) == len(union_of(store)) < len(store)  # the fixture's graphs overlap


def test_the_default_graph_counts_in_the_union():
    store = Store()
    a, p, b = NamedNode(EX + "a"), NamedNode(EX + "p"), NamedNode(EX + "b")
    store.extend([Quad(a, p, b), Quad(a, p, b, NamedNode(EX + "g")), Quad(a, p, Literal("x"), NamedNode(EX + "g"))])
    lines = dump_bytes(store, "innograph.nt").splitlines()
    assert len(lines) == 2 and quads_of(b"\n".join(lines), RdfFormat.N_TRIPLES) == union_of(store)
    assert [g for g, _ in overlap.census(store.query, with_default=True)] == [DefaultGraph(), NamedNode(EX + "g")]


@pytest.mark.parametrize("name", ["innograph.trig", "innograph.nq", "innograph.ttl", "innograph.nt", "innograph.jsonld"])
def test_gzip_variants_decompress_to_the_same_bytes(name):
    store = fixture_store()
    packed = dump_bytes(store, name + ".gz")
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == dump_bytes(store, name)


def test_export_writes_what_the_server_serves(tmp_path):
    store = fixture_store()
    size = dumps.produce(store, "innograph.ttl.gz", tmp_path / "served", PREFIXES)
    out = io.BytesIO()
    assert dumps.export(store, "ttl.gz", out, PREFIXES).name == "innograph.ttl.gz"
    assert out.getvalue() == (tmp_path / "served").read_bytes() and size == len(out.getvalue())
    with pytest.raises(ValueError, match="unknown dump format"):
        dumps.export(store, "docx", io.BytesIO())


def test_dumps_of_the_repository_match_the_store(repo_store):
    assert quads_of(dump_bytes(repo_store, "innograph.nq"), RdfFormat.N_QUADS) == set(repo_store)
    assert quads_of(gzip.decompress(dump_bytes(repo_store, "innograph.trig.gz")), RdfFormat.TRIG) == set(repo_store)
    nt = dump_bytes(repo_store, "innograph.nt")
    assert len(nt.splitlines()) == len(union_of(repo_store))
    assert quads_of(dump_bytes(repo_store, "innograph.ttl"), RdfFormat.TURTLE) == union_of(repo_store)


# -- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
def app(tmp_path):
    app = create_app({"TESTING": True, "START_STORE": False, "STORE": str(tmp_path / "store")})
    store = fixture_store()
    void.refresh(store)
    app.extensions["innograph"] = LocalRuntime(store)
    return app


@pytest.fixture
def client(app):
    return app.test_client()


def test_a_gzip_dump_is_a_file_download(client):
    response = client.get("/dumps/innograph.nq.gz")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/gzip"
    assert "Content-Encoding" not in response.headers
    assert response.headers["Content-Disposition"] == "attachment; filename=innograph.nq.gz"
    assert quads_of(gzip.decompress(response.data), RdfFormat.N_QUADS) == set(client.application.extensions["innograph"].store)
    again = client.get("/dumps/innograph.nq.gz", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_each_file_is_made_once_per_data_version(client):
    runtime = client.application.extensions["innograph"]
    first = client.get("/dumps/innograph.nt").data
    assert client.get("/dumps/innograph.nt").data == first and runtime.exports == ["innograph.nt"]
    runtime.write([Quad(NamedNode(EX + "new"), NamedNode(EX + "p"), Literal("after"), NamedNode(EX + "g"))])
    after = client.get("/dumps/innograph.nt")
    assert runtime.exports == ["innograph.nt", "innograph.nt"]
    assert b'"after"' in after.data and b'"after"' not in first
    assert after.headers["Content-Type"] == "application/n-triples"


def test_concurrent_requests_make_the_file_once(client):
    runtime = client.application.extensions["innograph"]
    results = []
    threads = [threading.Thread(target=lambda: results.append(client.application.test_client().get("/dumps/innograph.trig").status_code)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 4 and runtime.exports == ["innograph.trig"]


@pytest.mark.parametrize("path", [
    "/dumps/../../etc/passwd", "/dumps/..%2F..%2Fetc%2Fpasswd", "/dumps/%2e%2e/%2e%2e/etc/passwd",
    "/dumps/innograph.nq/../../../etc/passwd", "/dumps/network/..%2F..%2Finnograph.nq", "/dumps/%252e%252e%252fetc",
    "/dumps/.innograph.nq.lock", "/dumps/innograph.xml", "/dumps/network/membership.csv", "/dumps/network/../innograph.nq.gz/x",
])
def test_no_path_outside_the_table_is_served(client, path):
    response = client.get(path)
    assert response.status_code == 404, path
    assert b"root:" not in response.data


def test_the_index_lists_every_file_as_json_and_html(client):
    listing = client.get("/dumps/", headers={"Accept": "application/json"}).get_json()
    names = [f["name"] for f in listing["files"]]
    assert listing["files"][0]["url"] == "http://127.0.0.1:8000/dumps/innograph.trig"
    assert len(names) == 18 and "innograph.nq.gz" in names and "network/collaboration.gexf" in names
    client.get("/dumps/innograph.ttl")
    sizes = {f["name"]: f["bytes"] for f in client.get("/dumps/").get_json()["files"]}
    assert sizes["innograph.ttl"] > 0 and sizes["innograph.trig"] is None
    page = client.get("/dumps/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8", "Accept-Language": "en"})
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert b'href="/dumps/innograph.nq.gz"' in page.data and b"CC BY 4.0" in page.data
    assert b"curl -O http://127.0.0.1:8000/dumps/innograph.nq.gz" in page.data  # PUBLIC_URL
    assert client.get("/dumps/network/").status_code == 303


# -- a real server (executors, fork server, the repository's data) --------------------------------


def _get(url: str, accept: str = "*/*") -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, dict(response.headers), response.read()


def _count(live_server: str, query: str) -> int:
    url = f"{live_server}/sparql?" + urllib.parse.urlencode({"query": query})
    return int(json.loads(_get(url, "application/sparql-results+json")[2])["results"]["bindings"][0]["n"]["value"])


def test_a_real_server_serves_the_store_it_holds(live_server):
    status, headers, body = _get(f"{live_server}/dumps/innograph.nq.gz")
    assert status == 200 and headers["Content-Type"] == "application/gzip" and "Content-Encoding" not in headers
    quads = quads_of(gzip.decompress(body), RdfFormat.N_QUADS)
    assert len(quads) == _count(live_server, "SELECT (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } }")
    triples = quads_of(_get(f"{live_server}/dumps/innograph.nt")[2], RdfFormat.N_TRIPLES)
    assert triples == {q.triple for q in quads}
    described = _count(live_server, "SELECT ?n { GRAPH <https://w3id.org/innograph/graph/void> "
                                    "{ <https://w3id.org/innograph/id/dataset/innograph> <http://rdfs.org/ns/void#triples> ?n } }")
    assert described == len({q.triple for q in quads if q.graph_name.value != void.GRAPH})
    description = quads_of(_get(f"{live_server}/.well-known/void", "text/turtle")[2], RdfFormat.TURTLE)
    assert f'<{void.DATASET}#innograph.nq.gz> <http://www.w3.org/ns/dcat#byteSize> "{len(body)}"'.encode() in _get(
        f"{live_server}/.well-known/void?format=nt")[2] and len(description) > 100


def test_a_real_server_serves_the_networks(live_server):
    import networkx as nx

    status, headers, body = _get(f"{live_server}/dumps/network/collaboration.graphml")
    assert status == 200 and headers["Content-Type"] == "application/graphml+xml; charset=utf-8"
    assert headers["Content-Disposition"] == "attachment; filename=collaboration.graphml"
    assert nx.read_graphml(io.BytesIO(body)).number_of_nodes() > 0
    assert _get(f"{live_server}/dumps/network/collaboration-edges.csv")[1]["Content-Type"] == "text/csv; charset=utf-8"


def test_only_graphs_that_can_repeat_an_earlier_one_are_joined():
    store = fixture_store()
    graph = "https://w3id.org/innograph/graph/"
    queries = {g.value: q for g, q in overlap.repeats(overlap.census(store.query))}
    assert queries[graph + "ontology"] is None  # rdfs:subClassOf: no other graph has the predicate
    repeated = {(t["s"].value, t["p"].value, t["o"].value) for t in store.query(queries[graph + "inferred"])}
    assert repeated == {(EX + "project/pr1", "https://w3id.org/innograph/ontology#carriedBy", EX + "organisation/c1")}


def test_browsers_asking_for_the_description_land_on_the_dataset_page(live_server):
    status, headers, body = _get(f"{live_server}/.well-known/void", "text/html,application/xhtml+xml,*/*;q=0.8")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b"innograph" in body and b"void" in body.lower()


def test_the_export_benchmark_runs_on_a_tiny_graph(tmp_path, capsys):
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_export", inprocess.REPO / "bench" / "export.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    assert bench.main(["--source", str(inprocess.FIXTURE), "--plain", "--repeat", "1", "--triples", "66",
                       "--only", "innograph.nt", "network/collaboration-edges.csv", "void"]) == 0
    table = capsys.readouterr().out
    assert "| `innograph.nt` |" in table and "per-graph Store.dump" in table and "CONSTRUCT" in table
