"""/ontology and /shapes (ontology_docs.py, ontology_pages.py): negotiation, an anchor for every
ino: term and inosh: shape, both languages side by side, hierarchy, alignments and shapes.

They read the repository's files, not the store: the app runs without executors.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, RdfFormat, parse

from innograph import create_app
from innograph.namespaces import INO, INOSH

REPO = Path(__file__).resolve().parents[1]
HTML_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def iris_in(folder: str, namespace: str) -> set[str]:
    """Every IRI of ``namespace`` used anywhere in ``folder``'s RDF files."""
    found: set[str] = set()
    for path in sorted((REPO / folder).rglob("*")):
        fmt = {".ttl": RdfFormat.TURTLE, ".trig": RdfFormat.TRIG}.get(path.suffix)
        if fmt is None:
            continue
        for q in parse(path=str(path), format=fmt):
            found |= {t.value for t in (q.subject, q.predicate, q.object) if isinstance(t, NamedNode) and t.value.startswith(namespace)}
    return found


INO_TERMS = sorted(iris_in("ontology", str(INO)) | iris_in("data", str(INO)) | iris_in("shapes", str(INO)))
SHAPES = sorted(iris_in("shapes", str(INOSH)))


@pytest.fixture(scope="module")
def client():
    return create_app({"TESTING": True, "START_STORE": False, "REPO_DIR": str(REPO)}).test_client()


@pytest.fixture(scope="module")
def ontology_html(client):
    return client.get("/ontology", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)


NEGOTIATION = [
    (HTML_ACCEPT, None, "text/html", "html"),
    ("text/turtle", None, "text/turtle", "ttl"),
    ("application/ld+json", None, "application/ld+json", "jsonld"),
    ("application/rdf+xml", None, "application/rdf+xml", "rdf"),
    ("application/n-triples", None, "application/n-triples", "nt"),
    ("application/n-quads", None, "application/n-quads", "nq"),
    ("*/*", None, "text/turtle", "ttl"),
    (None, None, "text/turtle", "ttl"),
    (HTML_ACCEPT, "jsonld", "application/ld+json", "jsonld"),
    (HTML_ACCEPT, "rdf", "application/rdf+xml", "rdf"),
    (HTML_ACCEPT, "nt", "application/n-triples", "nt"),
    (HTML_ACCEPT, "trig", "application/trig", "trig"),
    ("text/turtle", "html", "text/html", "html"),
]


@pytest.mark.parametrize("path,folder", [("/ontology", "ontology"), ("/shapes", "shapes")])
@pytest.mark.parametrize("accept,format_param,expected,name", NEGOTIATION)
def test_negotiation(client, path, folder, accept, format_param, expected, name):
    headers = {"Accept": accept} if accept else {}
    response = client.get(path, query_string={"format": format_param} if format_param else None, headers=headers)
    assert response.status_code == 200
    assert response.mimetype == expected
    assert "Accept" in response.vary
    assert response.headers["Content-Location"] == f"{path}?format={name}"
    if expected != "text/html":
        served = [q.triple for q in parse(response.data, format=RdfFormat.from_media_type(expected))]
        subject = NamedNode(str(INO).rstrip("#") if folder == "ontology" else str(INOSH).rstrip("#"))
        # The document of the ontology or shapes header: every triple of its file(s), once.
        files = [[q.triple for q in parse(path=str(f), format=RdfFormat.TURTLE)] for f in sorted((REPO / folder).glob("*.ttl"))]
        stated = [t for triples in files if subject in {t.subject for t in triples} for t in triples]
        assert len(set(served)) == len(set(stated)) > 100


def test_ontology_turtle_is_the_file_itself(client):
    assert client.get("/ontology?format=ttl").data == (REPO / "ontology" / "innograph.ttl").read_bytes()


def test_nothing_acceptable(client):
    assert client.get("/ontology", headers={"Accept": "image/png"}).status_code == 406


def test_every_ino_term_has_an_anchor(ontology_html):
    assert len(INO_TERMS) >= 80, "the ontology declares classes and properties"
    anchors = set(re.findall(r'<section class="term" id="([^"]+)"', ontology_html))
    missing = [t for t in INO_TERMS if t.rsplit("#", 1)[1] not in anchors]
    assert not missing, f"ino: terms with no entry on /ontology: {missing}"


def test_every_shape_has_an_anchor(client):
    assert len(SHAPES) >= 50
    html = client.get("/shapes", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    anchors = set(re.findall(r' id="([^"]+)"', html))
    missing = [s for s in SHAPES if s.rsplit("#", 1)[1] not in anchors]
    assert not missing, f"inosh: shapes with no entry on /shapes: {missing}"


def test_term_entry_in_both_languages_with_hierarchy_alignments_and_shapes(ontology_html):
    entry = ontology_html.split('id="Membership"', 1)[1].split('<section class="term"', 1)[0]
    assert '<div lang="fr">' in entry and '<div lang="en">' in entry
    assert "adhésion" in entry and "membership" in entry
    assert "Relation n-aire entre un membre" in entry and "N-ary relation between a member" in entry
    assert 'href="http://www.w3.org/ns/org#Membership"' in entry  # alignment
    assert 'href="/shapes#MembershipShape"' in entry  # constrained by
    pole = ontology_html.split('id="CompetitivenessPole"', 1)[1].split('<section class="term"', 1)[0]
    assert 'href="/ontology#InnovationNetwork"' in pole  # superclass, on this page


def test_property_entry_with_domain_range_and_inverse(ontology_html):
    entry = ontology_html.split('id="carriedBy"', 1)[1].split('<section class="term"', 1)[0]
    assert 'href="/ontology#Project"' in entry and 'href="/ontology#Organisation"' in entry
    assert 'href="/ontology#carries"' in entry


def test_page_language_first(client):
    html = client.get("/ontology?lang=en", headers={"Accept": HTML_ACCEPT}).get_data(as_text=True)
    entry = html.split('id="Membership"', 1)[1]
    assert entry.index('<div lang="en">') < entry.index('<div lang="fr">')
    assert "<h1>innograph ontology of innovation networks</h1>" in html


def test_the_version_iri_and_see_also_of_the_ontology_resolve(client):
    """The owl:versionIRI (/ontology/0.1.0) answers as /ontology does; another version is 404
    naming the one served; rdfs:seeAlso (/docs/modelling) is the Markdown of docs/modelling.md."""
    triples = list(parse(path=str(REPO / "ontology" / "innograph.ttl"), format=RdfFormat.TURTLE))
    version_iri = next(t.object.value for t in triples if t.predicate.value == "http://www.w3.org/2002/07/owl#versionIRI")
    see_also = next(t.object.value for t in triples if t.predicate.value == "http://www.w3.org/2000/01/rdf-schema#seeAlso")
    base = "https://w3id.org/innograph"
    versioned = client.get(version_iri.removeprefix(base), headers={"Accept": "text/turtle"})
    assert versioned.status_code == 200 and versioned.data == (REPO / "ontology" / "innograph.ttl").read_bytes()
    assert versioned.headers["Content-Location"] == "/ontology?format=ttl"
    page = client.get(version_iri.removeprefix(base), headers={"Accept": HTML_ACCEPT})
    assert page.status_code == 200 and page.mimetype == "text/html" and "0.1.0" in page.text
    other = client.get("/ontology/9.9.9")
    assert other.status_code == 404 and "version 0.1.0" in other.text
    doc = client.get(see_also.removeprefix(base))
    assert doc.status_code == 200 and doc.mimetype == "text/markdown"
    assert doc.data == (REPO / "docs" / "modelling.md").read_bytes()
    for name in ("README", "nothing", "modelling.md"):
        missing = client.get(f"/docs/{name}")
        assert missing.status_code == 404 and "modelling" in missing.text
    traversal = client.get("/docs/..%2FREADME")
    assert traversal.status_code == 404 and "innograph" not in traversal.text
