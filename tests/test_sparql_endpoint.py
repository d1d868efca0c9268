"""/sparql through Flask's test client, with real executors over a real store.

The protocol (methods, content types, dataset parameters, formats, negotiation, errors), the
read-only rule and the safety guards: SERVICE refused (and proof that pyoxigraph would call out
otherwise), FROM never fetching, the body cap, the row cap and the timeout.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from urllib.parse import quote

import pytest
from pyoxigraph import QueryBoolean, QueryResultsFormat, RdfFormat, Store, parse, parse_query_results

from innograph.protocol import uses_service
from test_protocol import SERVICE_CASES

EX = "http://ex.org/"
DATA = f"""
<{EX}a> <{EX}p> "x" <{EX}g1> .
<{EX}a%20b> <{EX}p> "y" <{EX}g2> .
<{EX}b> <{EX}q> "1"^^<http://www.w3.org/2001/XMLSchema#integer> <{EX}g2> .
<{EX}c> <{EX}q> "2"^^<http://www.w3.org/2001/XMLSchema#integer> <{EX}g2> .
<{EX}d> <{EX}q> "3"^^<http://www.w3.org/2001/XMLSchema#integer> <{EX}g2> .
<{EX}e> <{EX}q> "4"^^<http://www.w3.org/2001/XMLSchema#integer> <{EX}g2> .
<{EX}f> <{EX}q> "5"^^<http://www.w3.org/2001/XMLSchema#integer> <{EX}g2> .
""".encode()
# The test data's triples only: the loader adds graph/void and its listing in graph/meta.
ALL = 'SELECT * WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?p), "http://ex.org/")) }'
JSON = "application/sparql-results+json"


@pytest.fixture(scope="module")
def client(sparql_app):
    return sparql_app(DATA, PUBLIC_URL="http://sparql.test").test_client()


@pytest.fixture(scope="module")
def limited(sparql_app):
    """Small limits: 3 rows, 1.5 s, 2000-byte bodies."""
    return sparql_app(DATA, MAX_ROWS=3, QUERY_TIMEOUT=1.5, MAX_BODY=2000).test_client()


@pytest.fixture(scope="module")
def federated(sparql_app):
    return sparql_app(DATA, ALLOW_SERVICE=True).test_client()


class Recorder(http.server.ThreadingHTTPServer):
    """A local HTTP server that records every request it gets (and answers an empty result)."""

    def __init__(self):
        self.requests: list[str] = []
        recorder = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                recorder.requests.append(f"{self.command} {self.path}")
                body = b'{"head":{"vars":[]},"results":{"bindings":[{}]}}'
                self.send_response(200)
                self.send_header("Content-Type", JSON)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}/"


@pytest.fixture
def recorder():
    server = Recorder()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def solutions(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.get_data(as_text=True)
    results = parse_query_results(response.get_data(), format=QueryResultsFormat.from_media_type(response.content_type))
    return [{v.value: row[v].value for v in results.variables if row[v] is not None} for row in results]


def objects(response) -> list[str]:
    return sorted(row["o"] for row in solutions(response))


# -- the three ways of sending a query, and the dataset ---------------------------------------

def test_get(client):
    response = client.get("/sparql", query_string={"query": ALL})
    assert response.content_type == JSON
    assert objects(response) == ["1", "2", "3", "4", "5", "x", "y"]  # default graph = union of the graphs


def test_post_form_and_direct(client):
    assert objects(client.post("/sparql", data={"query": ALL})) == ["1", "2", "3", "4", "5", "x", "y"]
    direct = client.post("/sparql", data=ALL, content_type="application/sparql-query; charset=UTF-8")
    assert objects(direct) == ["1", "2", "3", "4", "5", "x", "y"]


def test_form_body_is_decoded_once(client):
    """%20 inside an IRI survives form encoding (rdflib-endpoint decoded twice)."""
    query = f"SELECT ?o WHERE {{ <{EX}a%20b> ?p ?o }}"
    body = "query=" + quote(query, safe="")
    assert "a%2520b" in body
    response = client.post("/sparql", data=body, content_type="application/x-www-form-urlencoded")
    assert objects(response) == ["y"]


def test_dataset_parameters(client):
    only_g1 = client.get("/sparql", query_string={"query": ALL, "default-graph-uri": f"{EX}g1"})
    assert objects(only_g1) == ["x"]
    named = client.get("/sparql", query_string=[
        ("query", "SELECT ?g ?o WHERE { GRAPH ?g { ?s ?p ?o } }"), ("named-graph-uri", f"{EX}g1")])
    assert [(row["g"], row["o"]) for row in solutions(named)] == [(f"{EX}g1", "x")]
    both = client.get("/sparql", query_string=[("query", ALL), ("default-graph-uri", f"{EX}g1"), ("default-graph-uri", f"{EX}g2")])
    assert len(objects(both)) == 7


def test_default_graph_uri_alone_means_no_named_graphs(client):
    response = client.get("/sparql", query_string={"query": "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", "default-graph-uri": f"{EX}g1"})
    assert solutions(response) == []


def test_relative_iris_resolve_against_the_endpoint(client):
    response = client.post("/sparql", data="CONSTRUCT { <s> <p> 1 } WHERE {}", content_type="application/sparql-query",
                           headers={"Accept": "application/n-triples"})
    assert [t.subject.value for t in parse(response.get_data(), format=RdfFormat.N_TRIPLES)] == ["http://sparql.test/s"]


def test_query_in_url_and_body_is_refused(client):
    response = client.post("/sparql?query=ASK%20%7B%7D", data={"query": "ASK {}"})
    assert response.status_code == 400


# -- formats ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", [QueryResultsFormat.JSON, QueryResultsFormat.XML, QueryResultsFormat.CSV, QueryResultsFormat.TSV])
def test_select_and_ask_in_each_results_format(client, fmt):
    response = client.get("/sparql", query_string={"query": f"SELECT ?o WHERE {{ <{EX}a> ?p ?o }}"}, headers={"Accept": fmt.media_type})
    assert response.content_type == fmt.media_type
    body = response.get_data()
    if fmt == QueryResultsFormat.CSV:  # pyoxigraph reads no CSV: check the text
        assert body == b"o\r\nx\r\n"
    else:
        assert objects(response) == ["x"]
    ask = client.get("/sparql", query_string={"query": "ASK { ?s ?p ?o }"}, headers={"Accept": fmt.media_type})
    assert ask.content_type == fmt.media_type
    if fmt == QueryResultsFormat.CSV:
        assert ask.get_data() == b"true"
    else:
        assert isinstance(result := parse_query_results(ask.get_data(), format=fmt), QueryBoolean) and bool(result)


GRAPH_FORMATS = [RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.TRIG, RdfFormat.N_QUADS]


@pytest.mark.parametrize("fmt", GRAPH_FORMATS)
def test_construct_and_describe_in_each_rdf_format(client, fmt):
    for query in (f"CONSTRUCT WHERE {{ <{EX}a> ?p ?o }}", f"DESCRIBE <{EX}a>"):
        response = client.get("/sparql", query_string={"query": query}, headers={"Accept": fmt.media_type})
        assert response.status_code == 200
        assert response.content_type == fmt.media_type
        store = Store()
        store.load(response.get_data(), format=fmt)
        assert [(q.subject.value, q.object.value) for q in store] == [(f"{EX}a", "x")]


def test_defaults_without_accept(client):
    assert client.get("/sparql", query_string={"query": "ASK {}"}).content_type == JSON
    assert client.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }"}).content_type == "text/turtle"


def test_format_parameter_overrides_accept(client):
    response = client.get("/sparql", query_string={"query": ALL, "format": "tsv"}, headers={"Accept": JSON})
    assert response.content_type.startswith("text/tab-separated-values")
    construct = 'CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o FILTER(STRSTARTS(STR(?p), "http://ex.org/")) }'
    graph = client.post("/sparql", data={"query": construct, "format": "nt"})
    assert graph.content_type == "application/n-triples"
    assert len(list(parse(graph.get_data(), format=RdfFormat.N_TRIPLES))) == 7


def test_not_acceptable(client):
    response = client.get("/sparql", query_string={"query": ALL}, headers={"Accept": "text/turtle"})
    assert response.status_code == 406
    assert "application/sparql-results+json" in response.get_data(as_text=True)
    assert "Accept" in response.headers["Vary"]
    assert client.get("/sparql", query_string={"query": ALL, "format": "ttl"}).status_code == 406


def test_browser_with_a_query_gets_json(client):
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    response = client.get("/sparql", query_string={"query": ALL}, headers={"Accept": browser})
    assert response.content_type == JSON


def test_browser_without_a_query_gets_the_query_ui(client):
    response = client.get("/sparql", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert "Accept" in response.headers["Vary"]
    assert "<form" in response.get_data(as_text=True) or "yasgui" in response.get_data(as_text=True).lower()


@pytest.mark.parametrize("fmt", [RdfFormat.TURTLE, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.N_TRIPLES])
def test_service_description(client, fmt):
    response = client.get("/sparql", headers={"Accept": fmt.media_type})
    assert response.status_code == 200 and response.content_type == fmt.media_type
    store = Store()
    store.load(response.get_data(), format=fmt)
    sd = "http://www.w3.org/ns/sparql-service-description#"
    rows = store.query(f"""SELECT ?name ?n WHERE {{ <http://sparql.test/sparql> <{sd}endpoint> <http://sparql.test/sparql> ;
        <{sd}defaultDataset> [ <{sd}namedGraph> [ <{sd}name> ?name ; <{sd}graph> [ <http://rdfs.org/ns/void#triples> ?n ] ] ] }}""")
    counts = {row["name"].value: int(row["n"].value) for row in rows}
    assert counts[f"{EX}g1"] == 1 and counts[f"{EX}g2"] == 6


def test_service_description_counts_follow_writes(sparql_app):
    app = sparql_app(DATA)
    client = app.test_client()

    def counts():
        store = Store()
        store.load(client.get("/sparql", headers={"Accept": "application/n-triples"}).get_data(), format=RdfFormat.N_TRIPLES)
        sd = "http://www.w3.org/ns/sparql-service-description#"
        rows = store.query(f"SELECT ?name ?n WHERE {{ [] <{sd}name> ?name ; <{sd}graph> [ <http://rdfs.org/ns/void#triples> ?n ] }}")
        return {row["name"].value: int(row["n"].value) for row in rows}

    assert counts()[f"{EX}g1"] == 1 and f"{EX}g3" not in counts()
    app.extensions["innograph"].apply_write([{"op": "put_graph", "graph": f"{EX}g3", "data": f"<{EX}s> <{EX}p> <{EX}o> , <{EX}o2> ."}])
    assert counts()[f"{EX}g3"] == 2


def test_service_description_by_default_is_turtle(client):
    assert client.get("/sparql").content_type == "text/turtle"


# -- errors -----------------------------------------------------------------------------------

def test_syntax_error_has_position_and_no_trace(client):
    response = client.get("/sparql", query_string={"query": "SELECT * WHERE { ?s ?p "})
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert text.startswith("error at 1:24: expected one of")  # pyoxigraph's position in the query as sent
    assert "Traceback" not in text and "File \"" not in text
    as_json = client.get("/sparql", query_string={"query": "SELECT"}, headers={"Accept": JSON})
    assert as_json.content_type == "application/json"
    body = json.loads(as_json.get_data())
    assert body["ok"] is False and body["status"] == 400 and "1:" in body["error"]


def test_other_methods(client):
    response = client.put("/sparql", data="ASK {}", content_type="application/sparql-query")
    assert response.status_code == 405
    assert response.headers["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert client.delete("/sparql").status_code == 405


def test_missing_and_unknown_content_types(client):
    assert client.post("/sparql", data=b"ASK {}").status_code == 400
    assert client.post("/sparql", data=b"ASK {}", content_type="text/plain").status_code == 415


def test_head(client):
    response = client.head("/sparql", query_string={"query": ALL})
    assert response.status_code == 200 and response.content_type == JSON and response.get_data() == b""


def test_cors(client):
    preflight = client.options("/sparql", headers={
        "Origin": "https://elsewhere.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "content-type"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    response = client.get("/sparql", query_string={"query": "ASK {}"}, headers={"Origin": "https://elsewhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/sparql", query_string={"query": "ASK {"}).headers["Access-Control-Allow-Origin"] == "*"


# -- read-only --------------------------------------------------------------------------------

UPDATES = [
    ("query", lambda c: c.get("/sparql", query_string={"query": f"INSERT DATA {{ <{EX}z> <{EX}p> \"new\" }}"}), 400),
    ("update parameter (GET)", lambda c: c.get("/sparql", query_string={"update": "CLEAR ALL"}), 400),
    ("update parameter (form)", lambda c: c.post("/sparql", data={"update": "DROP ALL"}), 400),
    ("sparql-update body", lambda c: c.post("/sparql", data=f"INSERT DATA {{ <{EX}z> <{EX}p> \"new\" }}",
                                             content_type="application/sparql-update"), 415),
    ("LOAD as query", lambda c: c.post("/sparql", data=f"LOAD <{EX}x>", content_type="application/sparql-query"), 400),
]


@pytest.mark.parametrize(("how", "send", "status"), UPDATES, ids=[u[0] for u in UPDATES])
def test_updates_are_refused_and_change_nothing(client, how, send, status):
    before = client.get("/sparql", query_string={"query": ALL, "format": "tsv"}).get_data()
    assert send(client).status_code == status
    assert client.get("/sparql", query_string={"query": ALL, "format": "tsv"}).get_data() == before


# -- safety -----------------------------------------------------------------------------------

def test_service_is_refused_and_nothing_goes_out(client, recorder):
    response = client.get("/sparql", query_string={"query": f"SELECT * WHERE {{ SERVICE <{recorder.url}> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 403
    assert "ALLOW_SERVICE" in response.get_data(as_text=True)
    time.sleep(0.2)
    assert recorder.requests == []


def test_service_would_go_out_if_allowed(federated, recorder):
    """The control: with ALLOW_SERVICE, pyoxigraph really sends the request."""
    response = federated.get("/sparql", query_string={"query": f"SELECT * WHERE {{ SERVICE <{recorder.url}> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 200
    assert len(recorder.requests) == 1


def test_store_failure_is_500_without_internals(federated, recorder):
    closed = recorder.url.replace(str(recorder.server_address[1]), "9")  # discard port: nothing listens
    response = federated.get("/sparql", query_string={"query": f"SELECT * WHERE {{ SERVICE <{closed}> {{ ?s ?p ?o }} }}"})
    assert response.status_code == 500
    text = response.get_data(as_text=True)
    assert "logged" in text and "Error" not in text and "127.0.0.1" not in text


@pytest.mark.parametrize(("query", "flagged"), SERVICE_CASES)
def test_scan_finds_every_query_pyoxigraph_sends_out(recorder, query, flagged):
    """Run each scan case on pyoxigraph itself, aimed at the recorder: whenever pyoxigraph calls
    out, the scan must have flagged the query (no false negatives)."""
    aimed = query.replace("http://ex.org/sparql", recorder.url).replace("<http://ex.org/>", f"<{recorder.url}>")
    try:
        list(Store().query(aimed.replace("?endpoint", f"<{recorder.url}>")))
    except (SyntaxError, OSError, RuntimeError):
        pass
    if recorder.requests:
        assert uses_service(aimed) and flagged


def test_from_fetches_nothing(client, recorder, tmp_path):
    """FROM / FROM NAMED name graphs of the store: no file is read, no URL fetched."""
    secret = tmp_path / "secret.nt"
    secret.write_text(f'<{EX}secret> <{EX}p> "local file content" .\n')
    for iri in (secret.as_uri(), f"{recorder.url}data.nt"):
        for query in (f"SELECT * FROM <{iri}> WHERE {{ ?s ?p ?o }}", f"SELECT * FROM NAMED <{iri}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"):
            response = client.get("/sparql", query_string={"query": query})
            assert response.status_code == 200
            assert "local file content" not in response.get_data(as_text=True)
            assert f"{EX}secret" not in response.get_data(as_text=True)
    time.sleep(0.2)
    assert recorder.requests == []


def test_from_selects_a_graph_of_the_store(client, tmp_path):
    assert objects(client.get("/sparql", query_string={"query": f"SELECT * FROM <{EX}g1> WHERE {{ ?s ?p ?o }}"})) == ["x"]
    assert objects(client.get("/sparql", query_string={"query": f"SELECT * FROM <{tmp_path.as_uri()}/x.nt> WHERE {{ ?s ?p ?o }}"})) == []


def test_body_cap(limited):
    padding = "#" + "x" * 3000 + "\n"
    assert limited.post("/sparql", data=padding + "ASK {}", content_type="application/sparql-query").status_code == 413
    assert limited.post("/sparql", data={"query": padding + "ASK {}"}).status_code == 413
    assert limited.post("/sparql", data="ASK {}", content_type="application/sparql-query").status_code == 200


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_row_cap(limited, fmt):
    response = limited.get("/sparql", query_string={"query": ALL, "format": fmt})
    assert response.headers["Innograph-Truncated"] == "true"
    assert response.headers["Innograph-Max-Rows"] == "3"
    if fmt != "csv":
        assert len(solutions(response)) == 3
    small = limited.get("/sparql", query_string={"query": f"SELECT * WHERE {{ <{EX}a> ?p ?o }}", "format": fmt})
    assert "Innograph-Truncated" not in small.headers


def test_row_cap_on_graphs(limited):
    response = limited.get("/sparql", query_string={"query": "CONSTRUCT WHERE { ?s ?p ?o }", "format": "nt"})
    assert response.headers["Innograph-Truncated"] == "true"
    assert len(list(parse(response.get_data(), format=RdfFormat.N_TRIPLES))) == 3


def test_timeout(limited):
    values = " ".join(str(n) for n in range(40))
    endless = "SELECT (COUNT(*) AS ?n) WHERE { " + " ".join(f"VALUES ?v{i} {{ {values} }}" for i in range(8)) + " }"
    started = time.monotonic()
    response = limited.get("/sparql", query_string={"query": endless}, headers={"Accept": JSON})
    assert response.status_code == 503
    assert time.monotonic() - started < 10
    assert json.loads(response.get_data())["error"].startswith("The query was stopped after 1.5 s")
    assert objects(limited.get("/sparql", query_string={"query": f"SELECT ?o WHERE {{ <{EX}a> ?p ?o }}"})) == ["x"]
