"""graph/inferred (server/innograph/inference.py): what the closure of the schema reads."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, Store

from innograph import inference

BASE = "https://w3id.org/innograph/"
EX = "http://example.org/"
PROV, INO = "http://www.w3.org/ns/prov#", BASE + "ontology#"
RDFS, OWL = "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#"
ONTOLOGY, DATA = NamedNode(BASE + "graph/ontology"), NamedNode(BASE + "graph/data")


def _inferred(store: Store) -> set[tuple[str, str, str]]:
    """graph/inferred after a rebuild, as (s, p, o) IRIs."""
    inference.rebuild(store)
    return {(q.subject.value, q.predicate.value, q.object.value) for q in store.quads_for_pattern(None, None, None, NamedNode(inference.INFERRED))}


def _store(schema: list[tuple[str, str, str]], data: list[tuple[str, str, str]]) -> Store:
    """A store with ``schema`` triples in graph/ontology and ``data`` triples in graph/data."""
    store = Store()
    store.extend([Quad(NamedNode(s), NamedNode(p), NamedNode(o), graph) for triples, graph in ((schema, ONTOLOGY), (data, DATA))
                  for s, p, o in triples])
    return store


def test_inference_does_not_read_its_own_output():
    """``p owl:inverseOf q`` written into graph/inferred for "p entails q read backwards" is
    stronger than what the ontology says; read back, it made ``event carriedBy person`` out of
    ``event prov:wasAssociatedWith person``. The closure reads the stated schema only."""
    s = _store([(INO + "carriedBy", RDFS + "subPropertyOf", PROV + "wasAssociatedWith"), (INO + "carriedBy", OWL + "inverseOf", INO + "carries")],
               [(EX + "meeting", PROV + "wasAssociatedWith", EX + "jobs"), (EX + "project", INO + "carriedBy", EX + "org")])
    inferred = _inferred(s)
    assert (EX + "org", INO + "carries", EX + "project") in inferred and (EX + "project", PROV + "wasAssociatedWith", EX + "org") in inferred
    assert not {t for t in inferred if EX + "meeting" in t or EX + "jobs" in t}
    assert _inferred(s) == inferred


def test_schema_closure_writes_inverse_of_only_both_ways():
    """``ino:carries`` is the inverse of ``ino:carriedBy``, a subproperty of
    ``prov:wasAssociatedWith``: ``org carries project`` entails ``project wasAssociatedWith org``,
    but ``ino:carries owl:inverseOf prov:wasAssociatedWith`` would say that every association
    is a project carried. The closed schema holds the true inverses and subproperties only."""
    inferred = _inferred(_store([(INO + "carriedBy", RDFS + "subPropertyOf", PROV + "wasAssociatedWith"), (INO + "carries", OWL + "inverseOf", INO + "carriedBy")],
                                [(EX + "org", INO + "carries", EX + "project")]))
    schema = {t for t in inferred if t[1] in (RDFS + "subPropertyOf", OWL + "inverseOf")}
    assert schema == {(INO + "carriedBy", OWL + "inverseOf", INO + "carries")}, schema
    assert (EX + "project", PROV + "wasAssociatedWith", EX + "org") in inferred
    assert (EX + "project", INO + "carriedBy", EX + "org") in inferred


def test_ontology_inferred_inverses_are_mutual():
    """On the repository's own ontology: every ``owl:inverseOf`` in graph/inferred is stated or
    entailed both ways (no "p inverseOf q" that only holds one way)."""
    s = Store()
    s.load(path=str(Path(__file__).resolve().parents[1] / "ontology" / "innograph.ttl"), format=RdfFormat.TURTLE, to_graph=ONTOLOGY)
    inverses = {(a, b) for a, p, b in _inferred(s) if p == OWL + "inverseOf"}
    inverses |= {(q.subject.value, q.object.value) for q in s.quads_for_pattern(None, NamedNode(OWL + "inverseOf"), None, ONTOLOGY)}
    assert len(inverses) >= 4, inverses
    assert not {(a, b) for a, b in inverses if (b, a) not in inverses}
