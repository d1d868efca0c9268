"""graph/inferred (server/innograph/inference.py): what the closure of the schema reads."""

from __future__ import annotations

from pathlib import Path

from pyoxigraph import NamedNode, Quad, RdfFormat, Store

from innograph import inference

BASE = "https://w3id.org/innograph/"
EX = "http://example.org/"


def test_inference_does_not_read_its_own_output():
    """``p owl:inverseOf q`` written into graph/inferred for "p entails q read backwards" is
    stronger than what the ontology says; read back, it made ``event carriedBy person`` out of
    ``event prov:wasAssociatedWith person``. The closure reads the stated schema only."""
    prov, ino = "http://www.w3.org/ns/prov#", BASE + "ontology#"
    rdfs, owl = "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#"
    onto, data = NamedNode(BASE + "graph/ontology"), NamedNode(BASE + "graph/data")
    s = Store()
    s.extend([Quad(NamedNode(ino + "carriedBy"), NamedNode(rdfs + "subPropertyOf"), NamedNode(prov + "wasAssociatedWith"), onto),
              Quad(NamedNode(ino + "carriedBy"), NamedNode(owl + "inverseOf"), NamedNode(ino + "carries"), onto),
              Quad(NamedNode(EX + "meeting"), NamedNode(prov + "wasAssociatedWith"), NamedNode(EX + "jobs"), data),
              Quad(NamedNode(EX + "project"), NamedNode(ino + "carriedBy"), NamedNode(EX + "org"), data)])
    inference.rebuild(s)
    inferred = {(q.subject.value, q.predicate.value, q.object.value) for q in s.quads_for_pattern(None, None, None, NamedNode(inference.INFERRED))}
    assert (EX + "org", ino + "carries", EX + "project") in inferred and (EX + "project", prov + "wasAssociatedWith", EX + "org") in inferred
    assert not {t for t in inferred if EX + "meeting" in t or EX + "jobs" in t}
    inference.rebuild(s)
    assert {(q.subject.value, q.predicate.value, q.object.value) for q in s.quads_for_pattern(None, None, None, NamedNode(inference.INFERRED))} == inferred


def test_schema_closure_writes_inverse_of_only_both_ways():
    """``ino:carries`` is the inverse of ``ino:carriedBy``, a subproperty of
    ``prov:wasAssociatedWith``: ``org carries project`` entails ``project wasAssociatedWith org``,
    but ``ino:carries owl:inverseOf prov:wasAssociatedWith`` would say that every association
    is a project carried. The closed schema holds the true inverses and subproperties only."""
    prov, ino = "http://www.w3.org/ns/prov#", BASE + "ontology#"
    rdfs, owl = "http://www.w3.org/2000/01/rdf-schema#", "http://www.w3.org/2002/07/owl#"
    onto, data = NamedNode(BASE + "graph/ontology"), NamedNode(BASE + "graph/data")
    s = Store()
    s.extend([Quad(NamedNode(ino + "carriedBy"), NamedNode(rdfs + "subPropertyOf"), NamedNode(prov + "wasAssociatedWith"), onto),
              Quad(NamedNode(ino + "carries"), NamedNode(owl + "inverseOf"), NamedNode(ino + "carriedBy"), onto),
              Quad(NamedNode(EX + "org"), NamedNode(ino + "carries"), NamedNode(EX + "project"), data)])
    inference.rebuild(s)
    inferred = {(q.subject.value, q.predicate.value, q.object.value) for q in s.quads_for_pattern(None, None, None, NamedNode(inference.INFERRED))}
    schema = {t for t in inferred if t[1] in (rdfs + "subPropertyOf", owl + "inverseOf")}
    assert schema == {(ino + "carriedBy", owl + "inverseOf", ino + "carries")}, schema
    assert (EX + "project", prov + "wasAssociatedWith", EX + "org") in inferred
    assert (EX + "project", ino + "carriedBy", EX + "org") in inferred


def test_ontology_inferred_inverses_are_mutual():
    """On the repository's own ontology: every ``owl:inverseOf`` in graph/inferred is stated or
    entailed both ways (no "p inverseOf q" that only holds one way)."""
    owl = "http://www.w3.org/2002/07/owl#"
    s = Store()
    s.load(path=str(Path(__file__).resolve().parents[1] / "ontology" / "innograph.ttl"), format=RdfFormat.TURTLE,
           to_graph=NamedNode(BASE + "graph/ontology"))
    inference.rebuild(s)
    inverses = {(q.subject.value, q.object.value) for q in s.quads_for_pattern(None, NamedNode(owl + "inverseOf"), None, None)}
    assert len(inverses) >= 4, inverses
    assert not {(a, b) for a, b in inverses if (b, a) not in inverses}
