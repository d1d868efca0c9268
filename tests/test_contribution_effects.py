"""What an accepted contribution does to the dataset, on a store built from this repository.

- graph/inferred follows: a contributed ino:Company member is an org:Organization, its membership
  an org:Membership, a contributed project is prov:wasAssociatedWith its carriers (and they
  ino:carries it), all through /sparql with standard vocabulary only; a retraction takes the
  entailments away again.
- the data keeps conforming: a full pySHACL validation of the union of the data graphs (what
  tests/test_shapes.py validates from the files) gives, after a few accepted contributions, the
  same blocking results as before (none), so validating contributions by their neighbourhood
  lets nothing through that a whole-graph validation would refuse.
- the loader keeps every file of ontology/ in graph/ontology (the concept schemes of
  ontology/concepts.ttl were dropped when ontology/innograph.ttl replaced the graph, so every
  contribution using a role or a size class was refused).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import quote

import pytest
from rdflib import Graph
from rdflib.namespace import SH

from innograph import create_app, tokens
from innograph.validation import Shapes, validate

REPO = Path(__file__).resolve().parent.parent
ID = "https://w3id.org/innograph/id/"
GRAPH = "https://w3id.org/innograph/graph/"
PREFIXES = """@prefix ino: <https://w3id.org/innograph/ontology#> .
@prefix org: <http://www.w3.org/ns/org#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix dcterms: <http://purl.org/dc/terms/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
"""
COMPANY = PREFIXES + """
id:organisation/effect-co a ino:Company ; rdfs:label "Effet SA"@fr , "Effect Ltd"@en ;
    ino:sizeClass id:size-class/sme .
id:membership/effect-co-biowin a ino:Membership ; rdfs:label "Effet SA membre de BioWin"@fr , "Effect Ltd member of BioWin"@en ;
    org:member id:organisation/effect-co ; org:organization id:pole/biowin ; org:role id:role/member ;
    dcterms:source id:document/ccimag-2016-biowin ; ino:quote "Effet SA rejoint BioWin"@fr .
"""
PROJECT = PREFIXES + """
id:project/effect-trial a ino:ResearchProject ; rdfs:label "Essai Effet"@fr , "Effect trial"@en ;
    ino:carriedBy id:organisation/effect-co , id:organisation/chc-groupe-sante .
id:funding/effect-trial a ino:Funding ; rdfs:label "Financement de l'essai Effet"@fr , "Funding of the Effect trial"@en ;
    ino:fundedItem id:project/effect-trial ; ino:funder id:organisation/walloon-region ;
    ino:amount "250000"^^xsd:decimal ; ino:currency "EUR" ;
    dcterms:source id:document/ccimag-2016-biowin ; ino:quote "250 000 euros"@fr .
"""
PERSON = PREFIXES + """
id:person/effect-researcher a ino:Person ; rdfs:label "Chercheuse Effet"@fr , "Effect researcher"@en ;
    foaf:name "Ada Effet" .
id:membership/effect-researcher a ino:Membership ; rdfs:label "Ada Effet chez Effet SA"@fr , "Ada Effet at Effect Ltd"@en ;
    org:member id:person/effect-researcher ; org:organization id:organisation/effect-co ; org:role id:role/researcher ;
    dcterms:source id:document/ccimag-2016-biowin ; ino:quote "Ada Effet, chercheuse"@fr .
"""


@pytest.fixture(scope="module")
def repo_env(tmp_path_factory, request, external_stores):
    """An app over a fresh store built from this repository, with a contributor and a curator."""
    tmp = tmp_path_factory.mktemp("effects")
    token_file = tmp / "tokens"
    auth = {role: {"Authorization": "Bearer " + tokens.create(token_file, f"Effect {role}", role)} for role in tokens.ROLES}
    app = create_app({"REPO_DIR": str(REPO), "STORE": str(tmp / "store"), "TOKENS": str(token_file), "WORKERS": 1, "TESTING": True,
                      **external_stores.settings(repo=REPO, finalizer=request.addfinalizer)})  # conftest: backends
    app.extensions["innograph"].wait_ready(120)
    yield app, app.test_client(), auth
    contributions = app.extensions.get("innograph.contributions")
    if contributions is not None:
        contributions.archive.close()
    app.extensions["innograph"].close()


def sparql_ask(client, query: str) -> bool:
    r = client.get("/sparql?query=" + quote(query), headers={"Accept": "application/sparql-results+json"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return json.loads(r.data)["boolean"]


def turtle(body: str) -> bytes:
    """``id:kind/slug`` written in full (a Turtle prefixed name cannot hold the slash)."""
    return re.sub(r"\bid:([a-z-]+/[a-z0-9-]+)", lambda m: f"<{ID}{m.group(1)}>", body).encode()


def contribute(client, auth, body: str) -> str:
    r = client.post("/contributions?source=https://example.org/news/effect", data=turtle(body),
                    headers={"Content-Type": "text/turtle", **auth["contributor"]})
    assert r.status_code == 201, r.get_data(as_text=True)
    return r.json["id"]


def full_validation(app) -> set[tuple]:
    """Blocking results (violations, warnings) of pySHACL on the union of the data graphs as the
    store holds them now: the ontology, graph/meta, the sources' and the contributions' graphs
    (not the shapes, nor what the server derives: graph/inferred, graph/void)."""
    service = app.extensions["innograph"]
    nt = service.graph(f"""CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH ?g {{ ?s ?p ?o }}
        FILTER(?g IN (<{GRAPH}ontology>, <{GRAPH}meta>) || STRSTARTS(STR(?g), "{GRAPH}source/") || STRSTARTS(STR(?g), "{GRAPH}contribution/")) }}""",
                       media_type="application/n-triples")
    data = Graph().parse(data=nt.decode(), format="nt")
    assert len(data) > 1000
    report = validate(data, Shapes.from_paths(sorted((REPO / "shapes").glob("*.ttl"))), allow_warnings=True, with_ontology=False)
    return {(str(r.focus), str(r.path), str(r.shape)) for r in report.results if r.severity in (SH.Violation, SH.Warning)}


def test_every_ontology_file_is_in_graph_ontology(repo_env):
    _app, client, _auth = repo_env
    assert sparql_ask(client, f"ASK {{ GRAPH <{GRAPH}ontology> {{ <{ID}role/member> a <http://www.w3.org/ns/org#Role> }} }}")
    assert sparql_ask(client, f"ASK {{ GRAPH <{GRAPH}ontology> {{ <https://w3id.org/innograph/ontology#Company> ?p ?o }} }}")


def test_accepted_contributions_are_inferred_and_the_union_still_conforms(repo_env):
    app, client, auth = repo_env
    before = full_validation(app)
    assert before == set(), f"the shipped data should conform before any contribution: {sorted(before)[:5]}"
    ids = [contribute(client, auth, body) for body in (COMPANY, PROJECT, PERSON)]

    inferred = f"<{GRAPH}inferred>"
    company, project = f"<{ID}organisation/effect-co>", f"<{ID}project/effect-trial>"
    standard_only = {
        "an org:Organization": f"ASK {{ GRAPH {inferred} {{ {company} a <http://www.w3.org/ns/org#Organization> }} }}",
        "a foaf:Organization": f"ASK {{ {company} a <http://xmlns.com/foaf/0.1/Organization> }}",
        "a member through org:Membership": f"""PREFIX org: <http://www.w3.org/ns/org#>
            ASK {{ ?m a org:Membership ; org:member {company} ; org:organization <{ID}pole/biowin> }}""",
        "a prov:Activity associated with its carriers": f"""PREFIX prov: <http://www.w3.org/ns/prov#>
            ASK {{ {project} a prov:Activity ; prov:wasAssociatedWith {company}, <{ID}organisation/chc-groupe-sante> }}""",
        "carried (inverse)": f"ASK {{ GRAPH {inferred} {{ {company} <https://w3id.org/innograph/ontology#carries> {project} }} }}",
        "a schema:MonetaryGrant": f"ASK {{ <{ID}funding/effect-trial> a <http://schema.org/MonetaryGrant> }}",
        "a foaf:Person": f"ASK {{ <{ID}person/effect-researcher> a <http://xmlns.com/foaf/0.1/Person> }}",
    }
    missing = [name for name, query in standard_only.items() if not sparql_ask(client, query)]
    assert not missing, f"not inferred after acceptance: {missing}"

    after = full_validation(app)
    assert after == before, f"the union no longer conforms after {ids}: {sorted(after - before)}"

    # A retraction drops the graph, and graph/inferred is rebuilt without its entailments.
    assert client.delete(f"/contributions/{ids[0]}", headers=auth["curator"]).status_code == 200
    assert not sparql_ask(client, standard_only["an org:Organization"])
    assert sparql_ask(client, standard_only["a prov:Activity associated with its carriers"].replace(f", <{ID}organisation/chc-groupe-sante>", "").replace(company, f"<{ID}organisation/chc-groupe-sante>"))
