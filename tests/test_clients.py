"""Real clients against a real server process (``innograph serve``, the ``live_server`` fixture,
store built from this repository): SPARQLWrapper, rdflib's SPARQLStore and curl."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess

import pytest
import rdflib
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, JSONLD, POST, POSTDIRECTLY, RDFXML, TSV, TURTLE, XML, SPARQLWrapper
from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

ONTOLOGY_GRAPH = "https://w3id.org/innograph/graph/ontology"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CLASSES = f"CONSTRUCT {{ ?c a <http://www.w3.org/2002/07/owl#Class> }} WHERE {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?c a <http://www.w3.org/2002/07/owl#Class> }} }}"


@pytest.fixture(scope="module")
def endpoint(live_server):
    return live_server + "/sparql"


@pytest.fixture(scope="module")
def size(endpoint) -> int:
    """Triples in the union default graph, asked with SPARQLWrapper (JSON, GET)."""
    client = SPARQLWrapper(endpoint, returnFormat=JSON)
    client.setQuery(COUNT)
    result = client.queryAndConvert()
    assert result["head"]["vars"] == ["n"]
    binding = result["results"]["bindings"][0]["n"]
    assert binding["datatype"] == "http://www.w3.org/2001/XMLSchema#integer"
    return int(binding["value"])


def wrapper(endpoint, fmt, query, method=None):
    client = SPARQLWrapper(endpoint, returnFormat=fmt)
    client.setQuery(query)
    if method:
        client.setMethod(POST)
        client.setRequestMethod(method)
    return client.query()


def test_sparqlwrapper_json(size):
    assert size > 1000


@pytest.mark.parametrize("method", [None, "urlencoded", POSTDIRECTLY], ids=["get", "post-form", "post-direct"])
def test_sparqlwrapper_methods(endpoint, size, method):
    result = wrapper(endpoint, JSON, COUNT, method).convert()
    assert int(result["results"]["bindings"][0]["n"]["value"]) == size


def test_sparqlwrapper_xml(endpoint, size):
    document = wrapper(endpoint, XML, COUNT).convert()  # xml.dom.minidom
    literal = document.getElementsByTagName("literal")[0]
    assert int(literal.firstChild.data) == size


@pytest.mark.parametrize(("fmt", "delimiter"), [(CSV, ","), (TSV, "\t")])
def test_sparqlwrapper_csv_tsv(endpoint, size, fmt, delimiter):
    response = wrapper(endpoint, fmt, COUNT)
    rows = list(csv.reader(io.StringIO(response.convert().decode("utf-8")), delimiter=delimiter))
    assert rows[0] in (["n"], ["?n"])
    assert int(rows[1][0].split("^^")[0].strip('"')) == size


def test_sparqlwrapper_ask(endpoint):
    assert wrapper(endpoint, JSON, f"ASK {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} }}").convert()["boolean"] is True


@pytest.mark.parametrize("fmt", [XML, RDFXML, JSONLD, TURTLE])
def test_sparqlwrapper_construct(endpoint, fmt):
    converted = wrapper(endpoint, fmt, CLASSES).convert()
    graph = converted if isinstance(converted, rdflib.Graph) else rdflib.Graph().parse(data=converted, format="turtle")
    classes = set(graph.subjects(rdflib.RDF.type, rdflib.OWL.Class))
    assert len(classes) > 5
    assert all(str(c).startswith("https://w3id.org/innograph/ontology#") for c in classes)


def test_sparqlwrapper_syntax_error(endpoint):
    with pytest.raises(QueryBadFormed) as caught:
        wrapper(endpoint, JSON, "SELECT * WHERE { ?s ?p ").convert()
    assert "error at 1:" in str(caught.value)


def test_sparqlwrapper_update_is_refused(endpoint, size):
    client = SPARQLWrapper(endpoint)
    client.setMethod(POST)
    client.setQuery("INSERT DATA { <http://ex.org/s> <http://ex.org/p> <http://ex.org/o> }")
    assert client.isSparqlUpdateRequest()
    with pytest.raises(QueryBadFormed):
        client.query()
    assert int(wrapper(endpoint, JSON, COUNT).convert()["results"]["bindings"][0]["n"]["value"]) == size


def test_rdflib_sparqlstore(endpoint, size):
    store = SPARQLStore(endpoint)  # its default: Accept SPARQL XML results, or RDF/XML for graphs
    graph = rdflib.Graph(store=store)
    rows = list(graph.query(COUNT))
    assert int(rows[0][0]) == size
    owl_classes = list(graph.triples((None, rdflib.RDF.type, rdflib.OWL.Class)))
    assert len(owl_classes) > 5
    assert graph.query(f"ASK {{ GRAPH <{ONTOLOGY_GRAPH}> {{ ?s ?p ?o }} }}").askAnswer is True
    construct = graph.query(CLASSES).graph
    assert len(construct) == len(owl_classes)


def test_rdflib_sparqlstore_refuses_writes(endpoint):
    graph = rdflib.Graph(store=SPARQLStore(endpoint))
    with pytest.raises(TypeError):
        graph.add((rdflib.URIRef("http://ex.org/s"), rdflib.URIRef("http://ex.org/p"), rdflib.Literal("o")))


# -- curl -------------------------------------------------------------------------------------

def curl(*args: str) -> tuple[int, dict[str, str], str]:
    """(status, headers with lower-case names, body) of a curl call (the final response after
    any ``100 Continue``)."""
    if shutil.which("curl") is None:
        pytest.skip("curl is not installed")
    out = subprocess.run(["curl", "-s", "-i", "--max-time", "60", *args], capture_output=True, check=True).stdout.decode("utf-8")
    head, _, body = out.partition("\r\n\r\n")
    while head.startswith("HTTP/1.1 100"):
        head, _, body = body.partition("\r\n\r\n")
    lines = head.split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split()[1]), headers, body


def test_curl_get_with_accept(endpoint, size):
    status, headers, body = curl("-G", endpoint, "--data-urlencode", f"query={COUNT}", "-H", "Accept: text/csv")
    assert status == 200
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert "accept" in headers["vary"].lower()
    assert headers["access-control-allow-origin"] == "*"
    assert body.split("\r\n")[:2] == ["n", str(size)]


def test_curl_post_direct_and_format(endpoint, size):
    status, headers, body = curl(endpoint + "?format=json", "-H", "Content-Type: application/sparql-query", "--data-binary", COUNT)
    assert status == 200 and headers["content-type"] == "application/sparql-results+json"
    assert int(json.loads(body)["results"]["bindings"][0]["n"]["value"]) == size


def test_curl_errors(endpoint):
    status, headers, body = curl("-X", "PUT", endpoint)
    assert status == 405 and headers["allow"] == "GET, HEAD, POST, OPTIONS"
    status, _, body = curl(endpoint, "-H", "Content-Type: text/plain", "--data-binary", "ASK {}")
    assert status == 415
    status, _, body = curl("-G", endpoint, "--data-urlencode", "query=ASK {", "-H", "Accept: application/json")
    assert status == 400 and json.loads(body)["ok"] is False
    status, _, _ = curl("-G", endpoint, "--data-urlencode", "query=ASK {}", "-H", "Accept: image/png")
    assert status == 406


def test_curl_preflight_and_head(endpoint):
    status, headers, _ = curl("-X", "OPTIONS", endpoint, "-H", "Origin: https://elsewhere.example",
                              "-H", "Access-Control-Request-Method: POST", "-H", "Access-Control-Request-Headers: content-type")
    assert status == 204
    assert headers["access-control-allow-origin"] == "*" and "POST" in headers["access-control-allow-methods"]
    status, headers, body = curl("-I", endpoint + "?query=ASK%7B%7D")
    assert status == 200 and headers["content-type"] == "application/sparql-results+json" and body == ""


def test_curl_service_description(endpoint):
    status, headers, body = curl(endpoint, "-H", "Accept: application/n-triples")
    assert status == 200 and headers["content-type"] == "application/n-triples"
    graph = rdflib.Graph().parse(data=body, format="nt")
    sd = rdflib.Namespace("http://www.w3.org/ns/sparql-service-description#")
    assert (None, sd.endpoint, rdflib.URIRef(endpoint)) in graph
    assert rdflib.URIRef(ONTOLOGY_GRAPH) in set(graph.objects(None, sd.name))


def test_curl_body_cap(endpoint, tmp_path):
    big = tmp_path / "big.rq"
    big.write_bytes(b"# " + b"x" * (10 * 1024 * 1024) + b"\nASK {}")  # MAX_BODY is 10 MiB by default
    status, _, _ = curl(endpoint, "-H", "Content-Type: application/sparql-query", "--data-binary", f"@{big}")
    assert status == 413
