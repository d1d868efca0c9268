"""What the graph says about one thing, with where each statement comes from.

``gather`` runs a few fixed SPARQL queries, each with the thing bound to ``?this`` through
substitutions (the IRI is never written into the query text), and returns the quads of the
thing's description across all named graphs: its outgoing and incoming statements, plus the
statements of the n-ary nodes around it (memberships, participations, fundings, recognitions,
sourced statements, observations) and of the blank or temporal nodes under those (periods), so
that a membership shows with its role and period. The graph of each quad is its provenance:
``sources`` turns the named graphs into the documents they come from, described in graph/meta.

The IO goes through the ``select`` callable given (query text, bindings → solutions); shaping
the result for a page is ``shape.py``'s job, so this module stays free of Flask.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, Triple

from .namespaces import graph_iri

Term = NamedNode | BlankNode | Literal | Triple
Select = Callable[[str, Mapping[str, Term]], Iterable[Mapping[str, Term]]]

_PREFIXES = """PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <http://schema.org/>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX time: <http://www.w3.org/2006/time#>
PREFIX qb: <http://purl.org/linked-data/cube#>
PREFIX ino: <https://w3id.org/innograph/ontology#>
"""

# Classes whose instances are relations rather than things (n-ary nodes), and those of periods.
# Only rdf:type is read, not rdfs:subClassOf* (a property path costs 30x more): graph/inferred
# holds the supertypes of every instance, and our own classes are listed with the standard ones.
NARY_CLASSES = (
    "org:Membership org:Post prov:Influence prov:Association prov:Attribution prov:Delegation "
    "schema:Role qb:Observation ino:Membership ino:Participation ino:Funding ino:Recognition "
    "ino:Partnership ino:IndicatorObservation ino:SourcedStatement"
)
PERIOD_LINKS = "org:memberDuring ino:period ino:refPeriod time:hasTime prov:qualifiedStart prov:qualifiedEnd"
LABEL_PREDICATES = "rdfs:label skos:prefLabel schema:name foaf:name dcterms:title"


def _is(var: str, classes: str) -> str:
    """SPARQL condition: ``var`` is a blank node or has one of ``classes`` as rdf:type."""
    return (f"(isBlank({var}) || EXISTS {{ {var} rdf:type ?_c{var[1:]} . "
            f"FILTER(?_c{var[1:]} IN ({', '.join(classes.split())})) }})")


def _around(tail: str) -> str:
    """``tail`` for each n-ary node ?n linked to ?this, either way.

    pyoxigraph answers a UNION followed by a join by scanning the whole store for the joined
    pattern, so ``tail`` goes inside each branch, where ?n is bound (0.1 ms instead of 15).
    """
    nary = f"FILTER(?n != ?this && {_is('?n', NARY_CLASSES)})"
    return " UNION ".join(f"{{ {link} {nary} {tail} }}" for link in ("?this ?_p1 ?n .", "?n ?_p1 ?this ."))


# Under a node: its period (or a blank node), then the period's ends (or a blank node). Known
# predicates rather than a type test on every object (10x faster on a node with many links).
_UNDER = f"?n ?_p2 ?m . FILTER(isBlank(?m) || ?_p2 IN ({', '.join(PERIOD_LINKS.split())}))"
_UNDER2 = f"{_UNDER} ?m ?_p3 ?i . FILTER(isBlank(?i) || ?_p3 IN (time:hasBeginning, time:hasEnd))"
LABEL_CHUNK = 20  # IRIs per labels query
_LABEL_RANK = {iri: rank for rank, iri in enumerate((  # the order of LABEL_PREDICATES
    "http://www.w3.org/2000/01/rdf-schema#label", "http://www.w3.org/2004/02/skos/core#prefLabel",
    "http://schema.org/name", "http://xmlns.com/foaf/0.1/name", "http://purl.org/dc/terms/title"))}
_LABEL_IRIS = set(_LABEL_RANK)


def labels_query(size: int) -> str:
    """A query for the labels of ``size`` IRIs, bound to ?x0 … ?x{size-1} by substitution.

    One branch per IRI, its subject bound: no join order for the optimizer to get wrong (a
    label pattern joined to the description's patterns made pyoxigraph start from every label
    of the store, 10-40 ms per page and growing with the store; this takes 1-2 ms per query).
    """
    condition = f"FILTER(isLiteral(?l) && ?lp IN ({', '.join(LABEL_PREDICATES.split())}))"
    branches = " UNION ".join(f"{{ ?x{i} ?lp ?l . {condition} BIND(?x{i} AS ?x) }}" for i in range(size))
    return _PREFIXES + f"SELECT {' '.join(f'?x{i}' for i in range(size))} ?x ?lp ?l WHERE {{ {branches} }}"

QUERIES: dict[str, str] = {
    "outgoing": "SELECT ?this ?g ?p ?o WHERE { GRAPH ?g { ?this ?p ?o } }",
    "incoming": "SELECT ?this ?g ?s ?p WHERE { GRAPH ?g { ?s ?p ?this } } LIMIT %(limit)d",
    # The statements of the n-ary nodes, then of the periods (or blank nodes) one and two levels
    # under them (membership → org:memberDuring interval → its beginning and end instants).
    "nodes": _PREFIXES + f"SELECT DISTINCT ?this ?n ?g ?p ?o WHERE {{\n  {_around('GRAPH ?g { ?n ?p ?o }')}\n}}",
    "subnodes": _PREFIXES + f"SELECT DISTINCT ?this ?m ?g ?p ?o WHERE {{\n  {_around(_UNDER + ' GRAPH ?g { ?m ?p ?o }')}\n}}",
    "subsubnodes": _PREFIXES + f"SELECT DISTINCT ?this ?i ?g ?p ?o WHERE {{\n  {_around(_UNDER2 + ' GRAPH ?g { ?i ?p ?o }')}\n}}",
    # A named graph's record in graph/meta, and the document it was derived from.
    "source": _PREFIXES + """SELECT ?meta ?g ?p ?o ?d ?dp ?do WHERE {
  { GRAPH ?meta { ?g ?p ?o } }
  UNION
  { GRAPH ?meta { ?g prov:wasDerivedFrom ?d . ?d ?dp ?do } }
}""",
}

MAX_INCOMING = 2000


@dataclass
class Gathered:
    """The raw material of a description, still as RDF terms."""

    iri: str
    quads: list[Quad] = field(default_factory=list)
    nary: set[Term] = field(default_factory=set)  # the n-ary nodes around the thing
    labels: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    graphs: dict[str, dict[str, list[Term]]] = field(default_factory=dict)  # graph → meta record
    documents: dict[str, dict[str, list[Term]]] = field(default_factory=dict)  # document → record
    derived_from: dict[str, list[str]] = field(default_factory=dict)  # graph → documents
    truncated: bool = False  # more incoming statements than MAX_INCOMING

    @property
    def exists(self) -> bool:
        return bool(self.quads)


def gather(select: Select, iri: str, max_incoming: int = MAX_INCOMING) -> Gathered:
    """Run the description queries for ``iri`` (bound, never pasted) and collect the quads."""
    this = NamedNode(iri)
    bound = {"this": this}
    out = Gathered(iri)
    seen: set[Quad] = set()

    def add(quad: Quad) -> None:
        if quad not in seen:
            seen.add(quad)
            out.quads.append(quad)

    for row in select(QUERIES["outgoing"], bound):
        add(Quad(this, row["p"], row["o"], row["g"]))
    incoming = list(select(QUERIES["incoming"] % {"limit": max_incoming + 1}, bound))
    out.truncated = len(incoming) > max_incoming
    for row in incoming[:max_incoming]:
        add(Quad(row["s"], row["p"], this, row["g"]))
    if not out.quads:
        return out
    for row in select(QUERIES["nodes"], bound):
        out.nary.add(row["n"])
        add(Quad(row["n"], row["p"], row["o"], row["g"]))
    for name, var in (("subnodes", "m"), ("subsubnodes", "i")):
        for row in select(QUERIES[name], bound):
            add(Quad(row[var], row["p"], row["o"], row["g"]))
    for name in sorted({q.graph_name.value for q in out.quads if isinstance(q.graph_name, NamedNode)}):
        _gather_source(select, out, name)
    records = [*out.graphs.values(), *out.documents.values()]
    referenced = {v for record in records for values in record.values() for v in values if isinstance(v, NamedNode)}
    _gather_labels(select, out, {t for q in out.quads for t in (q.subject, q.predicate, q.object)} | referenced)
    return out


def _gather_source(select: Select, out: Gathered, name: str) -> None:
    """The meta record of graph ``name`` and of the documents it derives from."""
    record = out.graphs.setdefault(name, {})
    bound = {"meta": NamedNode(graph_iri("meta")), "g": NamedNode(name)}
    for row in select(QUERIES["source"], bound):
        if row.get("p") is not None:
            _add_unique(record.setdefault(row["p"].value, []), row["o"])
        if row.get("d") is not None:
            doc = row["d"].value
            _add_unique(out.derived_from.setdefault(name, []), doc)
            _add_unique(out.documents.setdefault(doc, {}).setdefault(row["dp"].value, []), row["do"])


def _gather_labels(select: Select, out: Gathered, terms: set) -> None:
    """The labels of the IRIs among ``terms``: those of the first labelling property (in the
    order of LABEL_PREDICATES) that the IRI has, in every language."""
    # (Not the label predicates themselves: ?x0 ?lp ?l with ?x0 = rdfs:label is 30x slower.)
    iris = sorted({t.value for t in terms if isinstance(t, NamedNode)} - _LABEL_IRIS)
    found: dict[str, list[tuple[int, str, str | None]]] = {}
    for start in range(0, len(iris), LABEL_CHUNK):
        chunk = iris[start:start + LABEL_CHUNK]
        for row in select(labels_query(len(chunk)), {f"x{i}": NamedNode(iri) for i, iri in enumerate(chunk)}):
            rank = _LABEL_RANK.get(row["lp"].value, len(_LABEL_RANK))
            found.setdefault(row["x"].value, []).append((rank, row["l"].value, row["l"].language))
    for iri, labels in found.items():
        best = min(rank for rank, _, _ in labels)
        out.labels[iri] = [(text, lang) for rank, text, lang in sorted(set(labels)) if rank == best]


def _add_unique(values: list, value) -> None:
    if value not in values:
        values.append(value)
