"""The W3C SPARQL 1.1 Protocol tests (``sparql11/protocol/manifest.ttl``) against /sparql.

Each ``mf:ProtocolTest`` is a list of HTTP requests with expected responses. Query tests must
pass as written. This endpoint is read-only, so for update tests (and the ``bad_update_*`` ones)
the test is that the update is refused with a 4xx and that the store is exactly as before; the
follow-up requests of an update test (which check the update's effect) are not sent.
``ht:absolutePath`` starts with ``/sparql/``, replaced by our ``/sparql``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import rdflib
from pyoxigraph import QueryBoolean, QueryResultsFormat, QuerySolutions, RdfFormat, parse, parse_query_results

from w3c import SPARQL11, conformance_missing

PROTOCOL = SPARQL11 / "protocol"
MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
HT = rdflib.Namespace("http://www.w3.org/2011/http#")
HTS = rdflib.Namespace("http://www.w3.org/2011/http-statusCodes#")
CNT = rdflib.Namespace("http://www.w3.org/2011/content#")
UT = rdflib.Namespace("http://www.w3.org/2009/sparql/tests/test-update#")

pytestmark = pytest.mark.skipif(conformance_missing(), reason=conformance_missing() or "")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    statuses: frozenset[int]  # expected status classes: 2, 3, 4
    boolean: bool | None
    format: str | None  # "boolean", "tabular", "RDF"


@dataclass(frozen=True)
class ProtocolTest:
    name: str
    requests: tuple[Request, ...]
    graph_data: tuple[tuple[str, str], ...]  # (graph IRI, file name)

    @property
    def is_update(self) -> bool:
        return "update" in self.name


def collect() -> list[ProtocolTest]:
    graph = rdflib.Graph().parse(PROTOCOL / "manifest.ttl", format="turtle")
    manifest = next(graph.subjects(rdflib.RDF.type, MF.Manifest))
    tests = []
    for test in rdflib.collection.Collection(graph, graph.value(manifest, MF.entries)):
        action = graph.value(test, MF.action)
        requests = tuple(_request(graph, r) for r in rdflib.collection.Collection(graph, graph.value(action, HT.requests)))
        graph_data = tuple(sorted(
            (str(graph.value(d, rdflib.RDFS.label)), str(graph.value(d, UT.graph)).rsplit("/", 1)[-1])
            for d in graph.objects(test, UT.graphData)
        ))
        tests.append(ProtocolTest(str(test).rsplit("#", 1)[-1], requests, graph_data))
    return tests


def _request(graph: rdflib.Graph, node) -> Request:
    response = graph.value(node, HT.resp)
    body_node = graph.value(node, HT.body)
    body = None
    if body_node is not None:
        encoding = str(graph.value(body_node, CNT.characterEncoding) or "UTF-8")
        body = str(graph.value(body_node, CNT.chars)).encode(encoding.lower())
    headers_list = graph.value(node, HT.headers)
    headers = tuple(
        (str(graph.value(h, HT.fieldName)), str(graph.value(h, HT.fieldValue)))
        for h in (rdflib.collection.Collection(graph, headers_list) if headers_list is not None else [])
    )
    statuses = frozenset(int(str(s).rsplit("StatusCode", 1)[-1][0]) for s in graph.objects(response, MF.expectedStatus))
    boolean = graph.value(response, MF.expectedBoolean)
    fmt = graph.value(response, MF.expectedFormat)
    return Request(
        method=str(graph.value(node, HT.methodName)),
        path=str(graph.value(node, HT.absolutePath)).replace("/sparql/", "/sparql", 1),
        headers=headers,
        body=body,
        statuses=statuses,
        boolean=None if boolean is None else boolean.toPython(),
        format=None if fmt is None else str(fmt),
    )


TESTS = [] if conformance_missing() else collect()


def test_collection_count():
    assert len(TESTS) == 34
    kinds = [t.name.split("_", 1)[0] + ("_update" if t.is_update and t.name.startswith("bad") else "") for t in TESTS]
    assert {k: kinds.count(k) for k in set(kinds)} == {"query": 13, "update": 7, "bad": 7, "bad_update": 7}


def protocol_quads() -> bytes:
    """data1..3.nt, each in the named graph the manifest gives it (rdfs:label)."""
    from pyoxigraph import NamedNode, Store

    store = Store()
    for iri, name in sorted({pair for t in TESTS for pair in t.graph_data}):
        store.load(path=PROTOCOL / name, format=RdfFormat.N_TRIPLES, to_graph=NamedNode(iri))
    return store.dump(format=RdfFormat.N_QUADS)


@pytest.fixture(scope="module")
def protocol_client(sparql_app):
    return sparql_app(protocol_quads()).test_client()


def send(client, request: Request):
    return client.open(request.path, method=request.method, headers=list(request.headers), data=request.body)


def snapshot(client) -> bytes:
    """Every quad of the store, sorted, through the endpoint itself."""
    response = client.get("/sparql", query_string={
        "query": "SELECT * { { ?s ?p ?o } UNION { GRAPH ?g { ?s ?p ?o } } } ORDER BY ?g ?s ?p ?o",
        "format": "tsv",
    })
    assert response.status_code == 200
    return response.get_data()


def check_response(request: Request, response) -> None:
    assert response.status_code // 100 in request.statuses, response.get_data(as_text=True)[:500]
    if request.format is None:
        return
    body = response.get_data()
    if request.format == "RDF":
        parse(body, format=RdfFormat.from_media_type(response.content_type))
        return
    results = parse_query_results(body, format=QueryResultsFormat.from_media_type(response.content_type))
    if request.format == "boolean":
        assert isinstance(results, QueryBoolean)
        if request.boolean is not None:
            assert bool(results) is request.boolean
    else:
        assert isinstance(results, QuerySolutions)
        assert len(list(results)) >= 0


@pytest.mark.parametrize("test", TESTS, ids=lambda t: t.name)
def test_protocol(test: ProtocolTest, protocol_client):
    if not test.is_update:
        for request in test.requests:
            check_response(request, send(protocol_client, request))
        return
    before = snapshot(protocol_client)
    response = send(protocol_client, test.requests[0])
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert snapshot(protocol_client) == before
