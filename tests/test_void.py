"""The VoID + DCAT description: its counts agree with the store (computed here in Python, without
SPARQL), partitions sum to the totals, it is queryable in graph/void (listed in graph/meta), and
/.well-known/void serves it by content negotiation."""

from __future__ import annotations

import pytest
from pyoxigraph import NamedNode, Quad, RdfFormat, Store, parse

from innograph import create_app, dumps, overlap, void

import inprocess
from inprocess import LocalRuntime, fixture_store

V, DCAT, RDF = "http://rdfs.org/ns/void#", "http://www.w3.org/ns/dcat#", "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
DS = NamedNode(void.DATASET)




@pytest.fixture(scope="module")
def repo_store(tmp_path_factory) -> Store:
    return inprocess.repo_store(tmp_path_factory.mktemp("store"))


def values(store: Store, subject: NamedNode, prop: str) -> list:
    return [q.object for q in store.quads_for_pattern(subject, NamedNode(prop), None, NamedNode(void.GRAPH))]


def number(store: Store, subject, prop: str) -> int:
    (value,) = values(store, subject, prop)
    return int(value.value)


def partitions(store: Store, kind: str, key: str, measure: str) -> dict:
    out = {}
    for part in values(store, DS, V + kind):
        (term,) = values(store, part, V + key)
        out[term] = number(store, part, V + measure)
    return out


def described_quads(store: Store) -> list[Quad]:
    return [q for q in store if q.graph_name != NamedNode(void.GRAPH)]


@pytest.mark.parametrize("which", ["fixture", "repository"])
def test_counts_agree_with_the_store_and_partitions_sum_to_totals(which, request):
    store = fixture_store(described=True) if which == "fixture" else request.getfixturevalue("repo_store")
    quads = described_quads(store)
    union = {q.triple for q in quads}
    assert number(store, DS, V + "triples") == len(union) < len(quads)  # graphs overlap: each triple once
    properties = partitions(store, "propertyPartition", "property", "triples")
    assert sum(properties.values()) == len(union)
    assert properties == {p: sum(1 for t in union if t.predicate == p) for p in {t.predicate for t in union}}
    assert number(store, DS, V + "properties") == len(properties)
    classes = partitions(store, "classPartition", "class", "entities")
    typed = {(t.subject, t.object) for t in union if t.predicate.value == RDF + "type"}
    assert classes == {c: sum(1 for _, k in typed if k == c) for c in {c for _, c in typed}}
    assert number(store, DS, V + "classes") == len(classes)
    subsets = {g: number(store, g, V + "triples") for g in values(store, DS, V + "subset")}
    assert subsets == {g: sum(1 for q in quads if q.graph_name == g) for g in {q.graph_name for q in quads}}
    assert sum(subsets.values()) == len(quads)


def test_it_is_queryable_and_listed_in_graph_meta():
    store = fixture_store(described=True)
    rows = list(store.query(f"""PREFIX void: <{V}> PREFIX foaf: <http://xmlns.com/foaf/0.1/>
        SELECT ?n WHERE {{ GRAPH <{void.META}> {{ ?d a void:DatasetDescription ; foaf:primaryTopic ?ds }}
                           GRAPH ?d {{ ?ds void:triples ?n }} }}"""))
    assert [int(r["n"].value) for r in rows] == [number(store, DS, V + "triples")]
    sources = {s.value for s in values(store, DS, "http://purl.org/dc/terms/source")}
    assert sources == {"https://w3id.org/innograph/id/document/a", "https://w3id.org/innograph/id/document/b"}
    assert values(store, DS, "http://purl.org/dc/terms/license") == [NamedNode("https://creativecommons.org/licenses/by/4.0/")]
    assert {t.language for t in values(store, DS, "http://purl.org/dc/terms/title")} == {"fr", "en"}


def test_every_file_is_a_distribution_with_its_download_url():
    store = fixture_store(described=True)
    urls = set()
    for owner in [DS, *values(store, DS, "http://purl.org/dc/terms/relation")]:
        for dist in values(store, owner, DCAT + "distribution"):
            (url,) = values(store, dist, DCAT + "downloadURL")
            urls.add(url.value.removeprefix(void.BASE + "dumps/"))
    assert urls == {name for name, *_ in dumps.distributions()} and len(urls) == 18
    gz = NamedNode(void.DATASET + "#innograph.nq.gz")
    assert values(store, gz, DCAT + "compressFormat") == [NamedNode(void.IANA + "application/gzip")]
    assert values(store, gz, DCAT + "mediaType") == [NamedNode(void.IANA + "application/n-quads")]


def test_refreshing_twice_gives_the_same_quads():
    store = fixture_store(described=True)
    before = set(store)
    void.refresh(store)
    assert set(store) == before


# -- HTTP ----------------------------------------------------------------------------------------


@pytest.fixture
def client(tmp_path):
    app = create_app({"TESTING": True, "START_STORE": False, "STORE": str(tmp_path / "store")})
    app.extensions["innograph"] = LocalRuntime(fixture_store(described=True))
    return app.test_client()


@pytest.mark.parametrize("accept, fmt", [
    (None, RdfFormat.TURTLE), ("*/*", RdfFormat.TURTLE), ("application/ld+json", RdfFormat.JSON_LD),
    ("application/rdf+xml", RdfFormat.RDF_XML), ("application/n-triples", RdfFormat.N_TRIPLES),
])
def test_well_known_void_by_content_negotiation(client, accept, fmt):
    response = client.get("/.well-known/void", headers={"Accept": accept} if accept else {})
    assert response.status_code == 200 and response.mimetype == fmt.media_type
    assert "Accept" in response.headers["Vary"]
    triples = {q.triple for q in parse(response.data, format=fmt)}
    assert triples == set(void.stored(client.application.extensions["innograph"].store))


def test_browsers_go_to_the_dataset_page_and_the_rest_is_406(client):
    page = client.get("/.well-known/void", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert page.status_code == 303 and page.headers["Location"].endswith("/id/dataset/innograph")
    assert client.get("/.well-known/void?format=nt").mimetype == "application/n-triples"
    assert client.get("/.well-known/void", headers={"Accept": "image/png"}).status_code == 406


def test_byte_sizes_of_the_files_already_made(client):
    size = f"<{void.DATASET}#innograph.nt.gz> <{DCAT}byteSize>".encode()
    assert size not in client.get("/.well-known/void?format=nt").data
    made = client.get("/dumps/innograph.nt.gz").data
    assert size + f' "{len(made)}"'.encode() in client.get("/.well-known/void?format=nt").data


def test_the_census_kept_in_graph_void_is_the_counted_one():
    store = fixture_store(described=True)
    assert overlap.described(store.query, void.GRAPH, void.DATASET, len(store)) == overlap.census(store.query)
    store.add(Quad(NamedNode(void.BASE + "id/thing/x"), NamedNode(V + "p"), NamedNode(V + "o"), NamedNode(void.BASE + "graph/x")))
    assert overlap.described(store.query, void.GRAPH, void.DATASET, len(store)) is None  # stale: counted again
