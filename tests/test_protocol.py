"""SPARQL 1.1 Protocol parsing and the SERVICE scan (server/innograph/protocol.py): pure, table-driven.

The HTTP-level behaviour of /sparql (status codes through Flask, read-only, safety guards with
a real store) is in test_sparql_endpoint.py; these tests pin the rules themselves.
"""

import pytest

from innograph.errors import ProtocolError, render
from innograph.protocol import QueryRequest, parse_request, uses_service

FORM = "application/x-www-form-urlencoded"
DIRECT = "application/sparql-query"
G1, G2 = "http://example.org/g1", "http://example.org/g2"

GOOD = [
    # (method, content type, URL params, body, expected request)
    ("GET", None, [("query", "ASK {}")], b"", QueryRequest("ASK {}")),
    ("HEAD", None, [("query", "ASK {}")], b"", QueryRequest("ASK {}")),
    ("GET", None, [], b"", QueryRequest(None)),  # service description / UI
    ("GET", None, [("query", "ASK {}"), ("default-graph-uri", G1), ("named-graph-uri", G2)], b"", QueryRequest("ASK {}", [G1], [G2])),
    ("GET", None, [("query", "ASK {}"), ("format", "csv")], b"", QueryRequest("ASK {}", format="csv")),
    ("POST", FORM, [], b"query=ASK%20%7B%7D", QueryRequest("ASK {}")),
    ("POST", FORM + "; charset=UTF-8", [], b"query=ASK+%7B%7D", QueryRequest("ASK {}")),
    # form: dataset parameters may come from the URL (W3C query_post_form) or the body
    ("POST", FORM, [("default-graph-uri", G1)], b"query=ASK%20%7B%7D&named-graph-uri=" + G2.encode(), QueryRequest("ASK {}", [G1], [G2])),
    ("POST", FORM, [("query", "ASK {}")], b"", QueryRequest("ASK {}")),  # the query in the URL, nothing in the body
    ("POST", DIRECT, [], b"ASK {}", QueryRequest("ASK {}")),
    ("POST", "application/sparql-query;charset=utf-8", [("default-graph-uri", G1)], b"ASK {}", QueryRequest("ASK {}", [G1])),
    ("POST", DIRECT, [], "ASK { ?s ?p \"caf\u00e9\" }".encode(), QueryRequest("ASK { ?s ?p \"caf\u00e9\" }")),
    # a form body is decoded once: %2520 in the body is the three characters %20 in the query
    ("POST", FORM, [], b"query=SELECT%20*%20%7B%20%3Chttp%3A%2F%2Fex.org%2Fa%2520b%3E%20%3Fp%20%3Fo%20%7D",
     QueryRequest("SELECT * { <http://ex.org/a%20b> ?p ?o }")),
    ("POST", FORM, [], b"query=ASK%20%7B%7D&format=json", QueryRequest("ASK {}", format="json")),
    # SPARQLWrapper sends format twice for TSV, JSON-LD and RDF/XML: the first value counts
    ("GET", None, [("query", "ASK {}"), ("format", "tsv"), ("format", "text/tab-separated-values")], b"", QueryRequest("ASK {}", format="tsv")),
]

BAD = [
    # (method, content type, URL params, body, status)
    ("PUT", FORM, [("query", "ASK {}")], b"", 405),  # W3C bad_query_method
    ("DELETE", None, [], b"", 405),
    ("GET", None, [("query", "ASK {}"), ("query", "SELECT * {}")], b"", 400),  # W3C bad_multiple_queries
    ("POST", "text/plain", [], b"ASK {}", 415),  # W3C bad_query_wrong_media_type
    ("POST", None, [], b"query=ASK%20%7B%7D", 400),  # W3C bad_query_missing_form_type
    ("POST", "", [], b"ASK {}", 400),  # W3C bad_query_missing_direct_type
    ("POST", "application/sparql-query; charset=UTF-16", [], "ASK {}".encode("utf-16"), 415),  # W3C bad_query_non_utf8
    ("POST", DIRECT, [], b"ASK { \xff }", 400),  # not UTF-8 although it says so
    ("POST", FORM, [], b"query=ASK%20%7B%7D&query=ASK%20%7B%7D", 400),
    ("POST", FORM, [("query", "ASK {}")], b"query=ASK%20%7B%7D", 400),  # in both the URL and the body
    ("POST", DIRECT, [("query", "ASK {}")], b"ASK {}", 400),
    ("GET", None, [("query", "")], b"", 400),  # empty query
    ("POST", DIRECT, [], b"  ", 400),
    ("GET", None, [("query", "ASK {}"), ("default-graph-uri", "not an iri")], b"", 400),
    ("GET", None, [("query", "ASK {}"), ("named-graph-uri", "http://ex.org/a b")], b"", 400),
    # read-only: updates are refused whatever way they come
    ("GET", None, [("update", "CLEAR ALL")], b"", 400),  # W3C bad_update_get
    ("POST", FORM, [], b"update=CLEAR+ALL", 400),  # W3C update_post_form
    ("POST", FORM, [], b"update=CLEAR%20NAMED&update=CLEAR%20DEFAULT", 400),  # W3C bad_multiple_updates
    ("POST", FORM, [("using-graph-uri", G1)], b"query=ASK%20%7B%7D", 400),
    ("POST", "application/sparql-update", [], b"CLEAR ALL", 415),  # W3C update_post_direct
    ("POST", "application/sparql-update; charset=UTF-16", [], "CLEAR NAMED".encode("utf-16"), 415),
]


def test_case_counts():
    assert (len(GOOD), len(BAD)) == (15, 21)


@pytest.mark.parametrize(("method", "content_type", "url", "body", "expected"), GOOD)
def test_parse_request(method, content_type, url, body, expected):
    assert parse_request(method, content_type, url, body) == expected


@pytest.mark.parametrize(("method", "content_type", "url", "body", "status"), BAD)
def test_parse_request_refuses(method, content_type, url, body, status):
    with pytest.raises(ProtocolError) as caught:
        parse_request(method, content_type, url, body)
    assert caught.value.status == status
    assert "Traceback" not in caught.value.message


def test_method_not_allowed_names_the_allowed_methods():
    with pytest.raises(ProtocolError) as caught:
        parse_request("PATCH", None, [], b"")
    assert caught.value.headers == {"Allow": "GET, HEAD, POST, OPTIONS"}


def test_updates_are_refused_with_a_read_only_message():
    for args in (("GET", None, [("update", "CLEAR ALL")], b""), ("POST", "application/sparql-update", [], b"CLEAR ALL")):
        with pytest.raises(ProtocolError) as caught:
            parse_request(*args)
        assert "read-only" in caught.value.message


ERROR_RENDERING = [
    (None, "text/plain; charset=utf-8"),
    ("*/*", "text/plain; charset=utf-8"),
    ("text/html", "text/plain; charset=utf-8"),
    ("application/json", "application/json"),
    ("application/sparql-results+json", "application/json"),
    ("application/ld+json, text/plain;q=0.5", "application/json"),
    ("text/plain, application/json;q=0.5", "text/plain; charset=utf-8"),
]


def test_error_rendering_count():
    assert len(ERROR_RENDERING) == 7


@pytest.mark.parametrize(("accept", "media_type"), ERROR_RENDERING)
def test_error_rendering(accept, media_type):
    body, rendered_type = render(ProtocolError(400, "bad \"thing\""), accept)
    assert rendered_type == media_type
    if media_type == "application/json":
        import json

        assert json.loads(body) == {"ok": False, "error": 'bad "thing"', "status": 400}
    else:
        assert body == 'bad "thing"\n'


# -- SERVICE scan ---------------------------------------------------------------------------
# True: the query may call SERVICE; False: the word only appears where the parser cannot read the
# keyword. test_sparql_endpoint.py checks the True cases against pyoxigraph really calling out.
SERVICE_CASES = [
    ("SELECT * { SERVICE <http://ex.org/sparql> { ?s ?p ?o } }", True),
    ("select * { service<http://ex.org/sparql>{} }", True),
    ("SELECT * { SERVICE SILENT <http://ex.org/sparql> {} }", True),
    ("SELECT * { SERVICE ?endpoint {} }", True),
    ("SELECT * { ?s ?p ?o .SERVICE<http://ex.org/sparql>{} }", True),
    ("SELECT * { ?s ?p ?o.SERVICE<http://ex.org/sparql>{} }", True),
    ("SELECT * { OPTIONAL { ?s ?p ?o }SERVICE<http://ex.org/sparql>{} }", True),
    ("PREFIX ex: <http://ex.org/> SELECT * { SERVICEex:sparql {} }", True),  # the parser reads SERVICE ex:sparql
    ("SELECT * { ?s ?p 1SERVICE<http://ex.org/sparql>{} }", True),
    ("SELECT * { SERVICESILENT <http://ex.org/sparql> {} }", True),
    ("SELECT * { \\u0053ERVICE <http://ex.org/sparql> {} }", True),  # codepoint escape
    ("SELECT * { FILTER(?a<?b) SERVICE ?x {} }", True),  # '<' as less-than, not an IRI
    ("SELECT * { ?s ?p \"x\" } # comment\nSERVICE", True),
    ("PREFIX services: <http://ex.org/> SELECT * { services:a ?p ?o }", True),  # conservative
    ("SELECT ?service { ?service ?p \"SERVICE\" }", False),
    ("SELECT $service { $service ?p ?o }", False),
    ("SELECT * { <http://ex.org/SERVICE> ?p ?o } # SERVICE", False),
    ("PREFIX ex: <http://ex.org/> SELECT * { ?s ex:SERVICE ?o }", False),
    ("PREFIX ex: <http://ex.org/> SELECT * { ?s ex:a.SERVICE ?o }", False),
    ("SELECT * { ?s ?p \"\"\"a \"SERVICE\" b\"\"\" }", False),
    ("SELECT * { ?s ?p '''SERVICE''' }", False),
    ("SELECT * { ?s ?p 'it''s SERVICE' }", False),
    ("SELECT * { ?s ?p \"a\\\"SERVICE\" }", False),
    ("SELECT * { _:service ?p ?o }", False),
    ("SELECT * { ?s ?p \"x\"@service }", False),
    ("SELECT * { ?s ?p ?o FILTER(?o < 3) } # x", False),
    ("SELECT * { ?s <http://ex.org/\\u0053ERVICE> ?o }", False),
]


def test_service_case_count():
    assert len(SERVICE_CASES) == 27


@pytest.mark.parametrize(("query", "expected"), SERVICE_CASES)
def test_uses_service(query, expected):
    assert uses_service(query) is expected


# -- service description (pure) ---------------------------------------------------------------

def _sd_store(allow_service: bool, fmt_index: int = 0):
    """The service description parsed back (by pyoxigraph) into a store."""
    from pyoxigraph import Store

    from innograph import service_description as sd

    fmt = sd.FORMATS[fmt_index]
    store = Store()
    store.load(sd.render("http://example.org/sparql", {"http://example.org/g1": 3, "http://example.org/g2": 5}, allow_service, fmt), format=fmt)
    return store


SD_QUERY = """
PREFIX sd: <http://www.w3.org/ns/sparql-service-description#>
PREFIX void: <http://rdfs.org/ns/void#>
SELECT ?endpoint ?language (COUNT(DISTINCT ?format) AS ?formats) (GROUP_CONCAT(DISTINCT STR(?feature)) AS ?features)
       (SUM(DISTINCT ?all) AS ?total) (GROUP_CONCAT(DISTINCT CONCAT(STR(?name), "=", STR(?n)); separator=" ") AS ?graphs)
WHERE {
  ?service a sd:Service ; sd:endpoint ?endpoint ; sd:supportedLanguage ?language ; sd:resultFormat ?format ;
           sd:feature ?feature ; sd:defaultDataset ?dataset .
  ?dataset sd:defaultGraph [ void:triples ?all ] ; sd:namedGraph [ sd:name ?name ; sd:graph [ void:triples ?n ] ] .
} GROUP BY ?endpoint ?language
"""


@pytest.mark.parametrize("fmt_index", range(4))
def test_service_description_in_each_format(fmt_index):
    rows = list(_sd_store(False, fmt_index).query(SD_QUERY))
    assert len(rows) == 1
    row = {key: rows[0][key].value for key in ("endpoint", "language", "formats", "features", "total", "graphs")}
    row["graphs"] = " ".join(sorted(row["graphs"].split()))
    assert row == {
        "endpoint": "http://example.org/sparql",
        "language": "http://www.w3.org/ns/sparql-service-description#SPARQL11Query",
        "formats": "10",  # 4 result formats + 6 RDF formats
        "features": "http://www.w3.org/ns/sparql-service-description#UnionDefaultGraph",
        "total": "8",
        "graphs": "http://example.org/g1=3 http://example.org/g2=5",
    }


def test_service_description_federation_only_when_allowed():
    ask = "ASK { ?s <http://www.w3.org/ns/sparql-service-description#feature> <http://www.w3.org/ns/sparql-service-description#BasicFederatedQuery> }"
    assert not _sd_store(False).query(ask)
    assert _sd_store(True).query(ask)


DATASET_CASES = [
    ("SELECT * FROM <http://ex.org/g> WHERE { ?s ?p ?o }", True),
    ("select * from named <http://ex.org/g> { graph ?g { ?s ?p ?o } }", True),
    ("PREFIX ex: <http://ex.org/> ASK FROM ex:g { ?s ?p ?o }", True),
    ("CONSTRUCT { ?s ?p ?o } FROM<http://ex.org/g> WHERE { ?s ?p ?o }", True),
    ("SELECT * WHERE { ?s ?p ?o }", False),
    ("SELECT ?from WHERE { ?from ?p \"FROM\" } # FROM <x>", False),
    ("PREFIX ex: <http://ex.org/> SELECT * WHERE { ?s ex:from <http://ex.org/FROM> }", False),
]


def test_dataset_case_count():
    assert len(DATASET_CASES) == 7


@pytest.mark.parametrize(("query", "expected"), DATASET_CASES)
def test_has_dataset_clause(query, expected):
    from innograph.protocol import has_dataset_clause

    assert has_dataset_clause(query) is expected
