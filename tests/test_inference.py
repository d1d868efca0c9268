"""graph/inferred (server/innograph/inference.py): what the closure of the schema reads."""

from __future__ import annotations

from pyoxigraph import NamedNode, Quad, Store

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
