"""Rules beyond SHACL: what a contribution may write at all (pure).

A contribution adds triples to its own graph, ``graph/contribution/{id}``, and nothing else:

- it names no graph: quads in a dataset graph (ontology, shapes, source/…, meta, inferred,
  another contribution) are a 403, in any other named graph a 400;
- it says nothing about the ontology, the shapes or the graphs: no subject in ``ino:``,
  ``inosh:`` or ``graph/``, no schema statement (sub-class, sub-property, domain, range,
  equivalence, inverse, imports) and no class, property, ontology or shape declaration.
  Those would change what every other node means or how it is validated (and the incremental
  validation's reasoning, which takes the class hierarchy from the store as it is);
- it removes nothing: the payload is RDF, which can only add; retracting a whole contribution is
  a curator's DELETE.
"""

from __future__ import annotations

from rdflib import OWL, RDF, RDFS, URIRef
from rdflib.namespace import SH

from .rdfinput import InputError, Payload

SCHEMA_PREDICATES = frozenset({
    RDFS.subClassOf, RDFS.subPropertyOf, RDFS.domain, RDFS.range,
    OWL.equivalentClass, OWL.equivalentProperty, OWL.inverseOf, OWL.imports, OWL.sameAs,
})
SCHEMA_TYPES = frozenset({
    OWL.Class, RDFS.Class, RDF.Property, OWL.ObjectProperty, OWL.DatatypeProperty,
    OWL.AnnotationProperty, OWL.Ontology, OWL.TransitiveProperty, OWL.SymmetricProperty,
    SH.NodeShape, SH.PropertyShape, SH.Shape,
})


def check(payload: Payload, base_iri: str) -> None:
    """Raise InputError (403 or 400) if ``payload`` would write outside its own graph."""
    dataset_graphs = base_iri + "graph/"
    for name in sorted(payload.graph_names):
        if name.startswith(dataset_graphs):
            raise InputError(403, f"A contribution cannot write into <{name}>: it adds triples to its own graph only")
        raise InputError(400, f"Named graphs are not accepted (<{name}>): send triples; they go into the contribution's own graph")
    protected = (base_iri + "ontology#", base_iri + "shapes#", dataset_graphs)
    for s, p, o in payload.graph:
        if isinstance(s, URIRef) and str(s).startswith(protected):
            raise InputError(403, f"A contribution cannot state facts about <{s}> (ontology, shapes and graphs are not contributions)")
        if p in SCHEMA_PREDICATES:
            raise InputError(403, f"A contribution cannot make schema statements ({p.n3()} on <{s}>)")
        if p == RDF.type and o in SCHEMA_TYPES:
            raise InputError(403, f"A contribution cannot declare classes, properties or shapes (<{s}> a {o.n3()})")
        if str(p).startswith(str(SH)):
            raise InputError(403, f"A contribution cannot contain SHACL ({p.n3()})")
