"""graph/inferred: the entailments of the ontology's alignments, materialized by pyoxigraph itself.

Why materialize: researchers query with W3C ORG, schema.org, FOAF and PROV terms, and our data
states ``ino:`` terms that the ontology aligns to them (``rdfs:subClassOf``,
``rdfs:subPropertyOf``, ``owl:inverseOf``, ``owl:equivalentClass``/``owl:equivalentProperty``).
Storing the entailed triples in their own graph keeps the sources' graphs exactly as stated
(DESIGN.md, "The dataset") while the union default graph answers in any of the vocabularies.

Why not owlrl: its OWL-RL closure in Python takes minutes at 1M triples. Here the schema (small)
is closed in Python: for each class its superclasses (subclass and equivalence, transitively), for
each property the properties it entails, forwards or inverted (subproperty, equivalence and
inverse, composed transitively). Then two SPARQL updates run by pyoxigraph apply these closed
mappings to the instance triples in one pass each (properties first, then classes); no fixpoint
loop is needed because the mappings are already closed (measured: ~3 s for 1M triples). Only
triples not already stated in some graph are inserted, so graph/inferred holds exactly what
inference added. Limits: one pass, so ``rdf:type`` as the target of a property alignment is not
chained; no domain/range, no sameAs.

``rebuild`` recomputes everything (at load, after a removal or a schema change); ``extend`` adds
the entailments of newly added graphs only (a contribution).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from pyoxigraph import NamedNode, Quad, Store

INFERRED = "https://w3id.org/innograph/graph/inferred"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
OWL = "http://www.w3.org/2002/07/owl#"
SUB_CLASS, SUB_PROPERTY = RDFS + "subClassOf", RDFS + "subPropertyOf"
EQ_CLASS, EQ_PROPERTY, INVERSE = OWL + "equivalentClass", OWL + "equivalentProperty", OWL + "inverseOf"
SCHEMA_PREDICATES = frozenset({SUB_CLASS, SUB_PROPERTY, EQ_CLASS, EQ_PROPERTY, INVERSE})


def _pairs(store: Store, predicate: str) -> list[tuple[str, str]]:
    """(subject, object) IRIs of ``predicate`` in every graph but graph/inferred, which holds the closure
    itself (read back, its ``owl:inverseOf`` for "p entails q backwards" would be read as symmetric;
    ``p owl:inverseOf p`` is kept: symmetric)."""
    return [(q.subject.value, q.object.value) for q in store.quads_for_pattern(None, NamedNode(predicate), None, None)
            if q.graph_name != NamedNode(INFERRED) and isinstance(q.subject, NamedNode) and isinstance(q.object, NamedNode) and (q.subject != q.object or predicate == INVERSE)]


def _closure(edges: dict[tuple[str, bool], set[tuple[str, bool]]], start: tuple[str, bool]) -> set[tuple[str, bool]]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def class_closure(store: Store) -> dict[str, set[str]]:
    """class -> every class it is a subclass of (subClassOf, equivalentClass; transitive)."""
    edges: dict[tuple[str, bool], set[tuple[str, bool]]] = defaultdict(set)
    for sub, sup in _pairs(store, SUB_CLASS):
        edges[(sub, True)].add((sup, True))
    for a, b in _pairs(store, EQ_CLASS):
        edges[(a, True)].add((b, True))
        edges[(b, True)].add((a, True))
    return {c: {d for d, _ in _closure(edges, (c, True)) if d != c} for c, _ in list(edges)}


def property_closure(store: Store) -> dict[str, set[tuple[str, bool]]]:
    """property -> {(q, forward)}: ``s p o`` entails ``s q o`` (forward) or ``o q s``."""
    edges: dict[tuple[str, bool], set[tuple[str, bool]]] = defaultdict(set)

    def link(p: str, q: str, forward: bool) -> None:
        for direction in (True, False):  # a state is (property, read forwards?)
            edges[(p, direction)].add((q, direction == forward))

    for sub, sup in _pairs(store, SUB_PROPERTY):
        link(sub, sup, True)
    for a, b in _pairs(store, EQ_PROPERTY):
        link(a, b, True)
        link(b, a, True)
    for a, b in _pairs(store, INVERSE):
        link(a, b, False)
        link(b, a, False)
    return {p: {s for s in _closure(edges, (p, True)) if s != (p, True)} for p, forward in list(edges) if forward}


def _values(rows: Iterable[tuple[str, ...]]) -> str:
    return " ".join("(" + " ".join(str(NamedNode(v)) for v in row) + ")" for row in rows)


def _instance_updates(store: Store, graph: str) -> list[str]:
    """The updates that apply the closed mappings to the triples of ``graph`` (``?g``: all)."""
    scope = graph if graph == "?g" else str(NamedNode(graph))
    inferred = str(NamedNode(INFERRED))
    updates = []
    props = property_closure(store)
    forward = _values((p, q) for p, targets in props.items() for q, fwd in targets if fwd)
    inverse = _values((p, q) for p, targets in props.items() for q, fwd in targets if not fwd)
    if forward:
        updates.append(f"""INSERT {{ GRAPH {inferred} {{ ?s ?q ?o }} }} WHERE {{ VALUES (?p ?q) {{ {forward} }}
  GRAPH {scope} {{ ?s ?p ?o }} FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?q ?o }} }} }}""")
    if inverse:
        updates.append(f"""INSERT {{ GRAPH {inferred} {{ ?o ?q ?s }} }} WHERE {{ VALUES (?p ?q) {{ {inverse} }}
  GRAPH {scope} {{ ?s ?p ?o }} FILTER(!isLiteral(?o)) FILTER NOT EXISTS {{ GRAPH ?h {{ ?o ?q ?s }} }} }}""")
    classes = _values((c, d) for c, supers in class_closure(store).items() for d in supers)
    if classes:
        updates.append(f"""INSERT {{ GRAPH {inferred} {{ ?x a ?d }} }} WHERE {{ VALUES (?c ?d) {{ {classes} }}
  GRAPH {scope} {{ ?x a ?c }} FILTER NOT EXISTS {{ GRAPH ?h {{ ?x a ?d }} }} }}""")
    return updates


def _schema_triples(store: Store) -> list[Quad]:
    """The closed schema itself (transitive subClassOf/subPropertyOf, symmetric inverseOf).

    ``p`` entailing ``q`` read backwards says p ⊑ q⁻, and ``p owl:inverseOf q`` says p ≡ q⁻: it is
    written only when the converse holds too (q entails p read backwards). ``ino:carries`` (inverse
    of ``ino:carriedBy``, a subproperty of ``prov:wasAssociatedWith``) is only *contained* in the
    inverse of ``prov:wasAssociatedWith``; OWL has no named-property triple for that, so none is
    written, while the instance triples it entails are."""
    graph = NamedNode(INFERRED)
    quads = [Quad(NamedNode(c), NamedNode(SUB_CLASS), NamedNode(d), graph) for c, ds in class_closure(store).items() for d in ds]
    props = property_closure(store)
    for p, targets in props.items():
        quads += [Quad(NamedNode(p), NamedNode(SUB_PROPERTY if fwd else INVERSE), NamedNode(q), graph)
                  for q, fwd in targets if fwd or (p, False) in props.get(q, ()) or p == q]
    stated = lambda q: any(True for _ in store.quads_for_pattern(q.subject, q.predicate, q.object, None))  # noqa: E731
    return [q for q in quads if not stated(q)]


def _size(store: Store) -> int:
    return int(next(iter(store.query(f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{INFERRED}> {{ ?s ?p ?o }} }}")))["n"].value)


def rebuild(store: Store) -> int:
    """Drop and recompute graph/inferred; returns its number of triples."""
    graph = NamedNode(INFERRED)
    if store.contains_named_graph(graph):
        store.remove_graph(graph)
    store.extend(_schema_triples(store))
    for update in _instance_updates(store, "?g"):
        store.update(update)
    return _size(store)


def extend(store: Store, graphs: Iterable[str]) -> int:
    """Add the entailments of the triples of ``graphs`` (just added, no schema triple among them)."""
    for graph in graphs:
        for update in _instance_updates(store, graph):
            store.update(update)
    return _size(store)


def touches_schema(store: Store, graphs: Iterable[str]) -> bool:
    """Whether any of ``graphs`` states a schema triple (then ``rebuild``, not ``extend``)."""
    return any(any(True for _ in store.quads_for_pattern(None, NamedNode(p), None, NamedNode(g))) for g in graphs for p in SCHEMA_PREDICATES)
