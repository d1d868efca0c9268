"""Linked-data pages (pages.py, describe.py, shape.py, i18n.py): content negotiation, every thing
of the repository's data dereferences, 404s, percent-encoded IRIs, languages, provenance.

The apps run real executors over real stores: ``repo_app`` (conftest) over this repository,
``fixture_app`` over tests/fixtures/pages.trig (an IRI with percent-encoding, a membership with a
period, a participation with a quote, two sources).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from pyoxigraph import BlankNode, NamedNode, Quad, RdfFormat, parse, serialize

from innograph import i18n, pages

HERE = Path(__file__).parent
REPO = HERE.parent
ID = "https://w3id.org/innograph/id/"
ONTOLOGY_GRAPH = NamedNode("https://w3id.org/innograph/graph/ontology")
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"  # Chromium's
CAFE = "/id/org/caf%C3%A9-r%26d"


def repository_quads():
    """The quads of ontology/ and data/ as the loader places them (files read here, no store)."""
    quads = []
    for path in sorted((REPO / "ontology").glob("*.ttl")):
        quads += [Quad(t.subject, t.predicate, t.object, ONTOLOGY_GRAPH) for t in parse(path=str(path), format=RdfFormat.TURTLE)]
    for path in sorted((REPO / "data").rglob("*.trig")):
        quads += list(parse(path=str(path), format=RdfFormat.TRIG))
    return quads


QUADS = repository_quads()
THINGS = sorted({q.subject.value for q in QUADS if isinstance(q.subject, NamedNode) and q.subject.value.startswith(ID)})
MIN_THINGS = 250  # the seeds alone name more than 250 things (people, organisations, n-ary nodes…)


@pytest.fixture(scope="module")
def client(repo_app):
    return repo_app.test_client()


@pytest.fixture(scope="module")
def fixture_app(sparql_app):
    quads = list(parse(path=str(HERE / "fixtures" / "pages.trig"), format=RdfFormat.TRIG))
    quads += [Quad(t.subject, t.predicate, t.object, ONTOLOGY_GRAPH)
              for t in parse(path=str(REPO / "ontology" / "innograph.ttl"), format=RdfFormat.TURTLE)]
    return sparql_app(serialize(quads, format=RdfFormat.N_QUADS))


@pytest.fixture(scope="module")
def fixture_client(fixture_app):
    return fixture_app.test_client()


# -- Content negotiation -------------------------------------------------------------------------

NEGOTIATION = [
    # (Accept, ?format=, expected media type, format name in Content-Location)
    (HTML_ACCEPT, None, "text/html", "html"),
    ("text/turtle", None, "text/turtle", "ttl"),
    ("application/ld+json", None, "application/ld+json", "jsonld"),
    ("application/rdf+xml", None, "application/rdf+xml", "rdf"),
    ("application/n-triples", None, "application/n-triples", "nt"),
    ("application/trig", None, "application/trig", "trig"),
    ("application/n-quads", None, "application/n-quads", "nq"),
    ("*/*", None, "text/turtle", "ttl"),
    (None, None, "text/turtle", "ttl"),
    ("text/html;q=0.5, text/turtle", None, "text/turtle", "ttl"),
    ("text/*", None, "text/turtle", "ttl"),
    ("application/rdf+xml;q=0.4, application/ld+json;q=0.9", None, "application/ld+json", "jsonld"),
    (HTML_ACCEPT, "ttl", "text/turtle", "ttl"),
    (HTML_ACCEPT, "jsonld", "application/ld+json", "jsonld"),
    (HTML_ACCEPT, "rdf", "application/rdf+xml", "rdf"),
    (HTML_ACCEPT, "nt", "application/n-triples", "nt"),
    (HTML_ACCEPT, "trig", "application/trig", "trig"),
    (HTML_ACCEPT, "nq", "application/n-quads", "nq"),
    (HTML_ACCEPT, "turtle", "text/turtle", "ttl"),
    (HTML_ACCEPT, "application/n-triples", "application/n-triples", "nt"),
    ("text/turtle", "html", "text/html", "html"),
]


@pytest.mark.parametrize("accept,format_param,expected,name", NEGOTIATION)
def test_thing_negotiation(client, accept, format_param, expected, name):
    headers = {"Accept": accept} if accept is not None else {}
    response = client.get("/id/pole/biowin", query_string={"format": format_param} if format_param else None, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == expected
    assert "Accept" in response.vary
    assert response.headers["Content-Location"] == f"/id/pole/biowin?format={name}"
    if expected != "text/html":
        quads = list(parse(response.data, format=RdfFormat.from_media_type(expected), base_iri=ID))
        assert any(q.subject == NamedNode(ID + "pole/biowin") for q in quads)


@pytest.mark.parametrize("accept,format_param", [("image/png", None), ("application/pdf", None), (None, "xlsx")])
def test_nothing_acceptable_is_406(client, accept, format_param):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/id/pole/biowin", query_string={"format": format_param} if format_param else None, headers=headers)
    assert response.status_code == 406
    assert "Accept" in response.vary
    assert "text/turtle" in response.get_data(as_text=True)


def test_choose_is_html_only_for_browsers_or_on_request():
    assert pages.choose(HTML_ACCEPT, None) == "html"
    assert pages.choose("application/xhtml+xml", None) == "html"
    assert pages.choose("*/*", None) == RdfFormat.TURTLE
    assert pages.choose(HTML_ACCEPT, "nq") == RdfFormat.N_QUADS
    assert pages.choose(None, "HTML") == "html"


# -- Every thing dereferences -------------------------------------------------------------------


def test_the_repository_names_enough_things():
    assert len(THINGS) >= MIN_THINGS, f"only {len(THINGS)} things under {ID}: is data/ loaded?"


@pytest.mark.parametrize("iri", THINGS)
def test_every_thing_has_a_page_and_its_rdf(client, iri):
    path = "/" + iri[len("https://w3id.org/innograph/"):]
    html = client.get(path, headers={"Accept": HTML_ACCEPT})
    assert html.status_code == 200, f"{path}: {html.status_code}"
    assert html.mimetype == "text/html"
    response = client.get(path, headers={"Accept": "application/n-triples"})
    assert response.status_code == 200
    served = Counter(_without_blank_labels(q.triple) for q in parse(response.data, format=RdfFormat.N_TRIPLES))
    stated = Counter(_without_blank_labels(t) for t in {q.triple for q in QUADS if q.subject == NamedNode(iri)})
    assert stated, iri
    assert not stated - served, f"{path}: missing {sorted(map(str, stated - served))[:3]}"


def _without_blank_labels(triple):
    """A triple with its blank nodes as "_:" (their labels differ from one parse to another)."""
    return tuple("_:" if isinstance(t, BlankNode) else str(t) for t in (triple.subject, triple.predicate, triple.object))


def test_trig_keeps_each_statement_in_its_source_graph(client):
    response = client.get("/id/pole/biowin?format=nq")
    served = set(parse(response.data, format=RdfFormat.N_QUADS))
    stated = {q for q in QUADS if q.subject == NamedNode(ID + "pole/biowin")}
    assert stated <= served
    assert {q.graph_name.value.rsplit("/", 2)[-2] for q in served} >= {"source"}


def test_incoming_statements_are_part_of_the_description(client):
    served = set(parse(client.get("/id/pole/biowin?format=nq").data, format=RdfFormat.N_QUADS))
    incoming = {q for q in QUADS if q.object == NamedNode(ID + "pole/biowin")}
    assert incoming and incoming <= served


# -- Unknown IRIs -------------------------------------------------------------------------------


def test_unknown_thing_is_404_in_html(client):
    response = client.get("/id/pole/no-such-pole", headers={"Accept": HTML_ACCEPT})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "https://w3id.org/innograph/id/pole/no-such-pole" in response.get_data(as_text=True)


@pytest.mark.parametrize("fmt", ["ttl", "nt", "jsonld", "rdf", "trig", "nq"])
def test_unknown_thing_is_404_in_rdf(client, fmt):
    response = client.get(f"/id/pole/no-such-pole?format={fmt}")
    assert response.status_code == 404
    assert "Accept" in response.vary
    assert list(parse(response.data, format=RdfFormat.from_extension(fmt), base_iri=ID)) == []


# -- Percent-encoding ---------------------------------------------------------------------------


def test_percent_encoded_iri_round_trips(fixture_client):
    response = fixture_client.get(CAFE, headers={"Accept": "text/turtle"})
    assert response.status_code == 200
    triples = list(parse(response.data, format=RdfFormat.TURTLE))
    assert NamedNode(ID + "org/caf%C3%A9-r%26d") in {t.subject for t in triples}
    # The pole's page links to it with the same encoding, and following the link lands on it.
    html = fixture_client.get("/id/pole/biowin", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    assert f'href="{CAFE}"' in html
    assert fixture_client.get(CAFE, headers={"Accept": HTML_ACCEPT}).status_code == 200
    assert pages.candidate_iris("/id/org/caf%C3%A9-r%26d", "https://w3id.org/innograph/")[:2] == [ID + "org/caf%C3%A9-r%26d", ID + "org/café-r%26d"]


def test_an_encoded_character_is_not_decoded_into_another_iri(fixture_client):
    # %26 is '&', a reserved character: /id/org/café-r&d names another (absent) thing.
    assert fixture_client.get("/id/org/caf%C3%A9-r&d?format=ttl").status_code == 404


# -- The HTML page ------------------------------------------------------------------------------


def test_page_shows_labels_types_statements_and_sources_in_french(fixture_client):
    response = fixture_client.get("/id/person/thierry-ferain", headers={"Accept": HTML_ACCEPT, "Accept-Language": "fr"})
    html = response.get_data(as_text=True)
    assert response.headers["Content-Language"] == "fr"
    assert {"Accept", "Accept-Language", "Cookie"} <= set(response.vary)
    assert "<h1>Thierry Ferain</h1>" in html
    assert 'href="/ontology#Person"' in html  # the type links to the ontology documentation
    assert 'href="/id/pole/biowin"' in html and ">BioWin<" in html  # linked things on this host
    assert "2020 – 2025" in html and ">intervenant<" in html  # the membership's period and role
    assert "BioWin &amp; NCP Brussels – Thierry Ferain" in html  # the participation's quote
    assert "Clusters vs Pôles de Compétitivité" in html and "SynHERA, Odile MOHYMONT" in html and "2024-05-08" in html
    assert 'id="source-1"' in html and 'href="#source-1"' in html


def test_page_in_english_and_the_choice_sticks(fixture_client):
    response = fixture_client.get("/id/person/thierry-ferain?lang=en", headers={"Accept": HTML_ACCEPT, "Accept-Language": "fr"})
    html = response.get_data(as_text=True)
    assert ">speaker<" in html and "What the sources say" in html
    assert "lang=en" in response.headers.get("Set-Cookie", "")
    again = fixture_client.get("/id/person/thierry-ferain", headers={"Accept": HTML_ACCEPT, "Accept-Language": "fr"})
    assert again.headers["Content-Language"] == "en"
    fixture_client.get("/id/person/thierry-ferain?lang=fr", headers={"Accept": HTML_ACCEPT})


def test_literals_show_language_and_datatype(fixture_client):
    html = fixture_client.get("/id/pole/biowin", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    assert re.search(r'lang="en">Health competitiveness pole\.</span> <small class="tag"[^>]*>@en', html)
    assert re.search(r'>180</span> <small class="tag"[^>]*>xsd:integer', html)


def test_page_links_to_its_rdf_and_to_a_query_that_reproduces_it(fixture_client):
    html = fixture_client.get("/id/pole/biowin", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    for fmt in ("ttl", "jsonld", "rdf", "nt", "trig", "nq"):
        assert f'href="/id/pole/biowin?format={fmt}"' in html
    run = re.search(r'href="(/sparql\?query=[^"]+)"', html).group(1).replace("&amp;", "&")
    query = parse_qs(urlsplit(run).query)["query"][0]
    assert "<https://w3id.org/innograph/id/pole/biowin>" in query
    results = fixture_client.get(run, headers={"Accept": "application/sparql-results+json"}).get_json()
    described = list(parse(fixture_client.get("/id/pole/biowin?format=nq").data, format=RdfFormat.N_QUADS))
    direct = [q for q in described if NamedNode(ID + "pole/biowin") in (q.subject, q.object)]
    assert len(results["results"]["bindings"]) == len(direct)
    assert re.search(r'href="/sparql#query=[^"]+"', html)


# -- i18n ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("param,cookie,accept,expected", [
    (None, None, "en-US,en;q=0.9", "en"),
    (None, None, "fr-BE;q=0.5, en;q=0.4", "fr"),
    (None, None, "de, en;q=0.5, fr;q=0.7", "fr"),
    (None, None, "de", "fr"),
    (None, None, None, "fr"),
    ("en", "fr", "fr", "en"),
    (None, "en", "fr", "en"),
    ("xx", None, "en", "en"),
    (None, None, "fr;q=0, en;q=0.1", "en"),
])
def test_language_choice(param, cookie, accept, expected):
    assert i18n.choose(param, cookie, accept) == expected


def test_label_choice():
    assert i18n.pick([("A", "en"), ("B", "fr"), ("C", None)], "fr") == "B"
    assert i18n.pick([("A", "en-GB"), ("C", None)], "fr") == "A"
    assert i18n.pick([("C", None), ("D", "de")], "en") == "C"
    assert i18n.pick([], "en") is None


# -- Home ---------------------------------------------------------------------------------------


def test_home_page(client):
    response = client.get("/", headers={"Accept": HTML_ACCEPT, "Accept-Language": "en"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert '<meta name="viewport"' in html
    for href in ("/sparql", "/dumps/", "/ontology", "/shapes", "/contribute", "/.well-known/void"):
        assert f'href="{href}"' in html
    assert 'href="/id/pole/biowin"' in html and 'href="/id/organisation/synhera"' in html  # networks to browse
    assert 'href="/id/document/seed-000"' in html and "000_3d2994575429d5cc.txt" in html  # the sources
    assert re.search(r'href="/ontology#CompetitivenessPole">competitiveness pole</a> <span class="n">\d+</span>', html)
    assert re.search(r'href="/sparql#query=[^"]+"', html)  # example queries open in the editor


def test_home_embeds_the_void_description(client, repo_app):
    _, (_, rows), _ = repo_app.extensions["innograph"].terms(
        "SELECT (COUNT(*) AS ?n) WHERE { GRAPH <https://w3id.org/innograph/graph/void> { ?s ?p ?o } }")
    if not int(rows[0][0].value):
        pytest.skip("the store has no graph/void (void.refresh is not run by the loader or the runtime yet)")
    html = client.get("/", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    jsonld = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    described = list(parse(jsonld.replace("<\\/", "</").encode(), format=RdfFormat.JSON_LD))
    dataset = NamedNode(ID + "dataset/innograph")
    predicates = {t.predicate.value for t in described if t.subject == dataset}
    assert {"http://purl.org/dc/terms/title", "http://purl.org/dc/terms/license", "http://rdfs.org/ns/void#triples"} <= predicates
    distributions = {t.object for t in described if t.subject == dataset and t.predicate.value == "http://www.w3.org/ns/dcat#distribution"}
    assert distributions and all(any(t.subject == d for t in described) for d in distributions)  # described, not just named
    assert not predicates & {"http://rdfs.org/ns/void#classPartition", "http://rdfs.org/ns/void#propertyPartition"}
    assert len(jsonld) < 40_000, len(jsonld)  # the statistics are at /.well-known/void, not in every home page


def test_a_source_graph_is_served_with_its_document(client):
    response = client.get("/graph/source/seed-000", headers={"Accept": HTML_ACCEPT})
    assert response.status_code == 200
    assert 'href="/id/document/seed-000"' in response.get_data(as_text=True)
    html = client.get("/id/pole/biowin", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    assert 'href="/graph/source/seed-000"' in html
