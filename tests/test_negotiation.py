"""Content negotiation (server/innograph/negotiation.py): table-driven, pure.

The Accept cases follow the oxigraph server's tests (star, substar, good, bad, explicit/implicit
priority, specific and wildcard exclusion, parameter specificity, empty header) plus q=0,
browsers, aliases and the ``format`` parameter.
"""

import pytest
from pyoxigraph import QueryResultsFormat as Q
from pyoxigraph import RdfFormat as R

from innograph.negotiation import FORMATS, choose_format, prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

CASES = [
    # (kind, Accept, format parameter, expected format or None for 406)
    ("solutions", None, None, Q.JSON),  # no header: default
    ("solutions", "", None, Q.JSON),  # empty header: default
    ("solutions", "   ", None, Q.JSON),
    ("solutions", "*/*", None, Q.JSON),  # star
    ("solutions", "text/*", None, Q.CSV),  # substar: the first text/ format we offer
    ("solutions", "application/sparql-results+json;charset=utf-8", None, Q.JSON),  # good, with a parameter
    ("solutions", "application/sparql-results+xml", None, Q.XML),
    ("solutions", "text/tab-separated-values", None, Q.TSV),
    ("solutions", "application/foo", None, None),  # bad
    ("solutions", "text/foo;q=0.5 , text/json ; q = 0.7", None, Q.JSON),  # explicit priority
    ("solutions", "text/json,text/foo", None, Q.JSON),  # implicit priority
    ("solutions", "text/foo;q=0.9,text/csv", None, Q.CSV),  # implicit and explicit priority
    ("solutions", "text/*;q=0.5, text/csv;q=0", None, Q.TSV),  # specific exclusion
    ("solutions", "*/*, application/sparql-results+json;q=0", None, Q.XML),  # wildcard with an exclusion
    ("solutions", "*/*;q=0", None, None),  # wildcard exclusion
    ("solutions", "text/csv;q=0", None, None),  # q=0 is "not acceptable"
    ("solutions", "*/*;q=0.1, text/csv", None, Q.CSV),  # specific beats wildcard
    ("solutions", "*/*, text/csv", None, Q.CSV),  # same q: the more specific range wins
    ("solutions", "text/csv;q=0.4, text/*;q=0.6", None, Q.TSV),  # the most specific range sets the quality
    ("triples", "text/turtle;q=0.9, text/turtle;charset=utf-8;q=0", None, None),  # parameter specificity
    ("triples", "text/turtle;charset=utf-8;q=0.2, text/turtle;q=0.9", None, R.TURTLE),
    ("triples", "text/turtle;charset=iso-8859-1", None, None),  # we only write UTF-8
    ("solutions", "json", None, None),  # not a media range
    ("solutions", "application/json", None, Q.JSON),  # pyoxigraph's aliases
    ("triples", "application/json", None, R.JSON_LD),
    ("triples", "text/plain", None, R.N_TRIPLES),
    ("boolean", "application/sparql-results+xml", None, Q.XML),
    ("boolean", None, None, Q.JSON),
    ("triples", None, None, R.TURTLE),
    ("triples", "*/*", None, R.TURTLE),
    ("triples", "application/*", None, R.N_TRIPLES),
    ("triples", "application/n-quads", None, R.N_QUADS),
    ("triples", "application/trig, text/turtle;q=0.5", None, R.TRIG),
    ("triples", "application/rdf+xml", None, R.RDF_XML),
    ("triples", "application/ld+json;profile=\"http://www.w3.org/ns/json-ld#expanded\"", None, R.JSON_LD),
    ("triples", "application/sparql-results+json", None, None),  # a results format for a graph
    ("solutions", "text/turtle", None, None),  # a graph format for solutions
    ("solutions", "text/csv;q=foo, text/tab-separated-values;q=0.5", None, Q.TSV),  # invalid q: range ignored
    # browsers (HTML first) asking with a query get the default, not XML because of application/xml;q=0.9
    ("solutions", BROWSER, None, Q.JSON),
    ("triples", BROWSER, None, R.TURTLE),
    ("solutions", "text/html", None, Q.JSON),
    ("solutions", "text/html;q=0.5, text/csv", None, Q.CSV),  # HTML not preferred: ordinary negotiation
    # the format parameter overrides Accept
    ("solutions", "text/csv", "json", Q.JSON),
    ("solutions", None, "xml", Q.XML),
    ("solutions", None, "csv", Q.CSV),
    ("solutions", None, "tsv", Q.TSV),
    ("solutions", None, "srj", Q.JSON),
    ("solutions", None, "application/sparql-results+xml", Q.XML),
    ("solutions", None, "text/tab-separated-values", Q.TSV),
    ("boolean", None, "JSON", Q.JSON),
    ("triples", None, "ttl", R.TURTLE),
    ("triples", None, "turtle", R.TURTLE),
    ("triples", None, "nt", R.N_TRIPLES),
    ("triples", None, "jsonld", R.JSON_LD),
    ("triples", None, "json", R.JSON_LD),
    ("triples", None, "rdfxml", R.RDF_XML),
    ("triples", None, "rdf+xml", R.RDF_XML),  # SPARQLWrapper's names
    ("triples", None, "json-ld", R.JSON_LD),
    ("triples", None, "xml", R.RDF_XML),
    ("triples", None, "trig", R.TRIG),
    ("triples", None, "nq", R.N_QUADS),
    ("triples", None, "application/n-triples", R.N_TRIPLES),
    ("triples", "*/*", "csv", None),  # a format this kind of result cannot take: 406
    ("solutions", None, "ttl", None),
    ("solutions", None, "html", None),
    ("triples", None, "n3", None),  # pyoxigraph knows N3, we do not offer it
    ("solutions", "application/sparql-results+json", "", Q.JSON),  # an empty format parameter is no override
]


def test_case_count():
    assert len(CASES) == 67


@pytest.mark.parametrize(("kind", "accept", "format_param", "expected"), CASES)
def test_choose_format(kind, accept, format_param, expected):
    chosen = choose_format(kind, accept, format_param)
    if expected is None:
        assert chosen is None
    else:
        assert chosen == (expected.media_type, expected)


def test_media_types_come_from_pyoxigraph():
    """The Content-Type we send is the enum's own (with its charset for CSV/TSV)."""
    assert choose_format("solutions", "text/csv", None) == ("text/csv; charset=utf-8", Q.CSV)
    assert {f for formats in FORMATS.values() for f in formats} == {
        Q.JSON, Q.XML, Q.CSV, Q.TSV, R.TURTLE, R.N_TRIPLES, R.JSON_LD, R.RDF_XML, R.TRIG, R.N_QUADS,
    }


HTML_CASES = [
    (BROWSER, True),
    ("text/html", True),
    ("application/xhtml+xml", True),
    ("text/html;q=0.5, application/sparql-results+json", False),
    ("application/sparql-results+json, text/html", True),  # equal first: a browser-like client
    ("*/*", False),
    ("text/*", False),
    ("text/html;q=0", False),
    (None, False),
    ("", False),
]


def test_html_case_count():
    assert len(HTML_CASES) == 10


@pytest.mark.parametrize(("accept", "expected"), HTML_CASES)
def test_prefers_html(accept, expected):
    assert prefers_html(accept) is expected
