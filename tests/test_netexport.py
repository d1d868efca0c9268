"""Network exports: GraphML and GEXF load in networkx with the nodes and edges the store implies
(counted here with independent SPARQL), CSV tables have Gephi's columns, and the seed data gives
the networks it should."""

from __future__ import annotations

import csv
import io

import networkx as nx
import pytest
from pyoxigraph import Store

from innograph import netexport

import inprocess
from inprocess import fixture_store

ID = "https://w3id.org/innograph/id/"
PREFIXES = """PREFIX org: <http://www.w3.org/ns/org#> PREFIX ino: <https://w3id.org/innograph/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
"""
READERS = {"graphml": nx.read_graphml, "gexf": nx.read_gexf}


@pytest.fixture(scope="module")
def seed_store(tmp_path_factory) -> Store:
    return inprocess.repo_store(tmp_path_factory.mktemp("store"))


def export(store: Store, name: str) -> bytes:
    out = io.BytesIO()
    netexport.write(store, name, out)
    return out.getvalue()


def read(store: Store, network: str, kind: str) -> nx.Graph:
    return READERS[kind](io.BytesIO(export(store, f"network/{network}.{kind}")))


def count(store: Store, query: str) -> int:
    return int(next(iter(store.query(PREFIXES + query, use_default_graph_as_union=True)))["n"].value)


def expected(store: Store) -> dict[str, tuple[int, int]]:
    """(nodes, edges) of each network, from SPARQL written independently of netexport's queries."""
    stated = "FILTER(?g != <https://w3id.org/innograph/graph/inferred>)"
    members = count(store, f"SELECT (COUNT(DISTINCT ?n) AS ?n) {{ GRAPH ?g {{ ?m org:member|org:organization ?n }} {stated} }}")
    memberships = count(store, f"SELECT (COUNT(DISTINCT ?m) AS ?n) {{ GRAPH ?g {{ ?m org:member ?x }} {stated} ?m org:organization ?y }}")
    carriers = f"{{ GRAPH ?g {{ ?p ino:carriedBy ?o }} {stated} }} UNION {{ GRAPH ?g {{ ?o ino:carries ?p }} {stated} }}"
    orgs = count(store, f"SELECT (COUNT(DISTINCT ?o) AS ?n) {{ {{ {carriers} ?p a ino:Project }} UNION {{ GRAPH ?g {{ ?x ino:onBehalfOf ?o }} {stated} }} }}")
    co_project = count(store, f"""SELECT (COUNT(*) AS ?n) {{ SELECT DISTINCT ?p ?a ?b {{
        {carriers.replace('?o', '?a')} {carriers.replace('?o', '?b').replace('?g', '?h')} ?p a ino:Project FILTER(STR(?a) < STR(?b)) }} }}""")
    co_event = count(store, f"""SELECT (COUNT(*) AS ?n) {{ SELECT DISTINCT ?e ?a ?b {{
        GRAPH ?g {{ ?x ino:onBehalfOf ?a }} {stated} ?x ino:inEvent ?e . GRAPH ?h {{ ?y ino:onBehalfOf ?b }} FILTER(?h != <https://w3id.org/innograph/graph/inferred>)
        ?y ino:inEvent ?e FILTER(STR(?a) < STR(?b)) }} }}""")
    return {"membership": (members, memberships), "collaboration": (orgs, co_project + co_event)}


@pytest.mark.parametrize("kind", ["graphml", "gexf"])
def test_fixture_networks_load_in_networkx(kind):
    store = fixture_store()
    for network, (nodes, edges) in expected(store).items():
        graph = read(store, network, kind)
        assert (graph.number_of_nodes(), graph.number_of_edges()) == (nodes, edges), network
    assert expected(store) == {"membership": (3, 2), "collaboration": (3, 5)}


def test_nodes_and_edges_carry_what_a_researcher_needs():
    store = fixture_store()
    membership = read(store, "membership", "graphml")
    pole = membership.nodes[ID + "pole/p"]
    assert pole == {"label": "Pole P", "label_fr": "Pôle P", "label_en": "Pole P", "kind": "CompetitivenessPole",
                    "sector": "health", "place": "liege", "region": "wallonie", "bipartite": 1}
    assert membership.nodes[ID + "person/x"]["bipartite"] == 0
    edge = membership.edges[ID + "organisation/c1", ID + "pole/p"]
    assert edge["role"] == "founding-member" and edge["period"] == "2006-2010"
    assert edge["via"] == ID + "membership/p-c1" and edge["graph"] == "https://w3id.org/innograph/graph/source/a"
    collaboration = read(store, "collaboration", "gexf")
    assert isinstance(collaboration, nx.MultiGraph)  # one edge per project or event
    relations = sorted((d["relation"], d["via"].rsplit("/", 1)[1]) for *_, d in collaboration.edges(data=True))
    assert relations == [("co-participation", "ev1"), ("co-participation", "ev1"), ("co-pitch", "ev1"),
                         ("co-project", "pr1"), ("co-project", "pr2")]
    c2 = collaboration.nodes[ID + "organisation/c2"]
    assert c2["label_fr"] == "Entreprise 2" and c2["label"] == "Entreprise 2"  # \u0001 dropped: XML cannot carry it
    assert "label_en" not in c2  # empty attributes are left out


def test_csv_tables_use_gephis_columns():
    store = fixture_store()
    for network in netexport.NETWORKS:
        nodes = list(csv.DictReader(io.StringIO(export(store, f"network/{network}-nodes.csv").decode("utf-8"))))
        edges = list(csv.DictReader(io.StringIO(export(store, f"network/{network}-edges.csv").decode("utf-8"))))
        assert list(nodes[0])[:2] == ["Id", "Label"] and {"label_fr", "label_en", "kind", "sector", "region"} <= set(nodes[0])
        assert list(edges[0]) == ["Source", "Target", "Type", "Id", "Label", "relation", "via", "role", "period", "graph"]
        assert {e["Source"] for e in edges} | {e["Target"] for e in edges} <= {n["Id"] for n in nodes}
        assert (len(nodes), len(edges)) == expected(store)[network]


def test_the_same_data_gives_the_same_bytes():
    assert export(fixture_store(), "network/collaboration.graphml") == export(fixture_store(), "network/collaboration.graphml")


def test_seed_networks(seed_store):
    counts = expected(seed_store)
    for network, (nodes, edges) in counts.items():
        for kind in READERS:
            graph = read(seed_store, network, kind)
            assert (graph.number_of_nodes(), graph.number_of_edges()) == (nodes, edges), (network, kind)
    # The seed data as of the first release: SynHERA's 18 researchers; 9 organisations at InnoGO 2025
    # (15 co-pitches, the talk BioWin and NCP Brussels gave together, HELMo and HEPL's VR Diagnostix).
    assert counts == {"membership": (19, 18), "collaboration": (9, 17)}
