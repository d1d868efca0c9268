"""graph/inferred: the entailments of the ontology's alignments, materialized by pyoxigraph itself.

Why materialize: researchers query with W3C ORG, schema.org, FOAF and PROV terms, and our data
states ``ino:`` terms that the ontology aligns to them (``rdfs:subClassOf``,
``rdfs:subPropertyOf``, ``owl:inverseOf``, ``owl:equivalentClass``/``owl:equivalentProperty``).
Storing the entailed triples in their own graph keeps the sources' graphs exactly as stated
(DESIGN.md, "The dataset") while the union default graph answers in any of the vocabularies.

Why SPARQL updates and not owlrl: owlrl's full OWL-RL closure in Python takes minutes at 1M
triples. These few rules run inside pyoxigraph (a join per rule), to a fixpoint:

1. schema: equivalentClass/equivalentProperty -> subClassOf/subPropertyOf both ways, both made
   transitive; ``owl:inverseOf`` made symmetric;
2. instances: ``?x a ?c . ?c rdfs:subClassOf ?d`` -> ``?x a ?d``; ``?s ?p ?o . ?p
   rdfs:subPropertyOf ?q`` -> ``?s ?q ?o``; ``?s ?p ?o . ?p owl:inverseOf ?q`` -> ``?o ?q ?s``.

Patterns use ``GRAPH ?g`` so the rules see every graph (the alignment may sit in graph/ontology and
the data in a source graph). Only triples not already stated somewhere are inserted, so
graph/inferred holds exactly what inference added. Rebuilt at load and after each write.
"""

from __future__ import annotations

from pyoxigraph import NamedNode, Store

INFERRED = "https://w3id.org/innograph/graph/inferred"

_PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
"""


def _equivalence(equiv: str, sub: str) -> str:
    return f"""INSERT {{ GRAPH <{INFERRED}> {{ ?a {sub} ?b }} }} WHERE {{
  {{ GRAPH ?g {{ ?a {equiv} ?b }} }} UNION {{ GRAPH ?g {{ ?b {equiv} ?a }} }}
  FILTER(?a != ?b && isIRI(?b)) FILTER NOT EXISTS {{ GRAPH ?h {{ ?a {sub} ?b }} }} }}"""


def _transitive(sub: str) -> str:
    return f"""INSERT {{ GRAPH <{INFERRED}> {{ ?a {sub} ?c }} }} WHERE {{
  GRAPH ?g1 {{ ?a {sub} ?b }} GRAPH ?g2 {{ ?b {sub} ?c }}
  FILTER(?a != ?c) FILTER NOT EXISTS {{ GRAPH ?h {{ ?a {sub} ?c }} }} }}"""


SCHEMA_RULES = _PREFIXES + " ;\n".join([
    _equivalence("owl:equivalentClass", "rdfs:subClassOf"),
    _equivalence("owl:equivalentProperty", "rdfs:subPropertyOf"),
    _transitive("rdfs:subClassOf"),
    _transitive("rdfs:subPropertyOf"),
    f"""INSERT {{ GRAPH <{INFERRED}> {{ ?q owl:inverseOf ?p }} }} WHERE {{
  GRAPH ?g {{ ?p owl:inverseOf ?q }} FILTER(isIRI(?q)) FILTER NOT EXISTS {{ GRAPH ?h {{ ?q owl:inverseOf ?p }} }} }}""",
])

INSTANCE_RULES = _PREFIXES + " ;\n".join([
    f"""INSERT {{ GRAPH <{INFERRED}> {{ ?x a ?d }} }} WHERE {{
  GRAPH ?g1 {{ ?c rdfs:subClassOf ?d }} FILTER(isIRI(?d))
  GRAPH ?g2 {{ ?x a ?c }} FILTER NOT EXISTS {{ GRAPH ?h {{ ?x a ?d }} }} }}""",
    f"""INSERT {{ GRAPH <{INFERRED}> {{ ?s ?q ?o }} }} WHERE {{
  GRAPH ?g1 {{ ?p rdfs:subPropertyOf ?q }} FILTER(isIRI(?p) && isIRI(?q))
  GRAPH ?g2 {{ ?s ?p ?o }} FILTER NOT EXISTS {{ GRAPH ?h {{ ?s ?q ?o }} }} }}""",
    f"""INSERT {{ GRAPH <{INFERRED}> {{ ?o ?q ?s }} }} WHERE {{
  GRAPH ?g1 {{ ?p owl:inverseOf ?q }} FILTER(isIRI(?p) && isIRI(?q))
  GRAPH ?g2 {{ ?s ?p ?o }} FILTER(!isLiteral(?o)) FILTER NOT EXISTS {{ GRAPH ?h {{ ?o ?q ?s }} }} }}""",
])

MAX_ROUNDS = 50  # a guard: each schema round doubles the path lengths closed, instance rounds are few


def _size(store: Store) -> int:
    query = f"SELECT (COUNT(*) AS ?n) {{ GRAPH <{INFERRED}> {{ ?s ?p ?o }} }}"
    return int(next(iter(store.query(query)))["n"].value)


def _fixpoint(store: Store, rules: str) -> None:
    size = _size(store)
    for _ in range(MAX_ROUNDS):
        store.update(rules)
        new_size = _size(store)
        if new_size == size:
            return
        size = new_size


def rebuild(store: Store) -> int:
    """Drop and recompute graph/inferred; returns its number of triples."""
    graph = NamedNode(INFERRED)
    if store.contains_named_graph(graph):
        store.remove_graph(graph)
    _fixpoint(store, SCHEMA_RULES)
    _fixpoint(store, INSTANCE_RULES)
    size = _size(store)
    if size:
        store.add_graph(graph)
    return size
