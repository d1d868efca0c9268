"""Which triples of a graph an earlier graph also states, found without a set of all triples.

The union dumps (dumps.py) and the counts of the dataset description (void.py) take each triple of
the union once. A triple that two graphs state is found by a join: one index lookup per quad of
the later graph (3-6 µs each in pyoxigraph 0.5's in-memory store, so seconds per million quads).
To pay that only where a repeat is possible, one scan first counts each graph's quads by key: its
predicates, and its classes for ``rdf:type`` (a GROUP BY over a few hundred keys; void.py's counts
come from it too). The join then runs over the quads whose key an earlier graph also has. graph/inferred, for
instance, holds what no source states (superclasses, inverse and super-properties), so its
keys hardly meet the sources' and checking it costs nothing beyond that scan.

Order: the default graph if it holds anything (never, for the data of DESIGN.md), then the named
graphs, largest first (the largest is never checked), then by IRI.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from pyoxigraph import DefaultGraph, NamedNode

Select = Callable[[str], Iterable[Mapping[str, Any]]]  # runs a SELECT, rows by variable name
Graph = NamedNode | DefaultGraph
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


Key = tuple[str, "str | None"]  # (predicate, class IRI for rdf:type or None)
KEY_BIND = f"BIND(IF(?p = <{RDF_TYPE}> && isIRI(?o), ?o, ?none) AS ?c)"


def census(select: Select, with_default: bool = False) -> list[tuple[Graph, dict[Key, int]]]:
    """The graphs in checking order, each with its quads counted by key: one scan of the store.

    The default graph comes first, if ``with_default`` and it holds anything (``select`` must
    then run on the store's own default graph, not on the union).
    """
    keys: dict[Graph, dict[Key, int]] = {}
    for row in select(f"SELECT ?g ?p ?c (COUNT(*) AS ?n) {{ GRAPH ?g {{ ?s ?p ?o }} {KEY_BIND} }} GROUP BY ?g ?p ?c"):
        if isinstance(row["g"], NamedNode):
            keys.setdefault(row["g"], {})[(row["p"].value, _value(row["c"]))] = int(row["n"].value)
    graphs: list[Graph] = sorted(keys, key=lambda g: (-sum(keys[g].values()), g.value))  # type: ignore[union-attr]
    if with_default:
        default = {(r["p"].value, _value(r["c"])): int(r["n"].value) for r in select(f"SELECT ?p ?c (COUNT(*) AS ?n) {{ ?s ?p ?o {KEY_BIND} }} GROUP BY ?p ?c")}
        if default:
            graphs.insert(0, DefaultGraph())
            keys[DefaultGraph()] = default
    return [(g, keys[g]) for g in graphs]


def described(select: Select, description: str, dataset: str, quads: int) -> list[tuple[Graph, dict[Key, int]]] | None:
    """The census as void.py stored it (per-graph partitions in the graph ``description``), plus
    that graph itself; None if it does not account for all ``quads`` of the store (stale, absent)."""
    v = "http://rdfs.org/ns/void#"
    keys: dict[Graph, dict[Key, int]] = {}
    totals: dict[tuple[Graph, str], int] = {}
    for row in select(f"""SELECT ?g ?p ?c ?n WHERE {{ GRAPH <{description}> {{ <{dataset}> <{v}subset> ?g .
        {{ ?g <{v}propertyPartition> ?x . ?x <{v}property> ?p ; <{v}triples> ?n }} UNION
        {{ ?g <{v}classPartition> ?x . ?x <{v}class> ?c ; <{v}entities> ?n BIND(<{RDF_TYPE}> AS ?p) }} }} }}"""):
        graph, prop, n = row["g"], row["p"].value, int(row["n"].value)
        if row["c"] is not None:
            keys.setdefault(graph, {})[(prop, row["c"].value)] = n
        else:
            totals[(graph, prop)] = n
    for (graph, prop), n in totals.items():  # rdf:type: what the class partitions do not cover
        rest = n - sum(count for (p, c), count in keys.get(graph, {}).items() if c is not None) if prop == RDF_TYPE else n
        if rest:
            keys.setdefault(graph, {})[(prop, None)] = rest
    itself = NamedNode(description)
    keys[itself] = {(r["p"].value, _value(r["c"])): int(r["n"].value)
                    for r in select(f"SELECT ?p ?c (COUNT(*) AS ?n) {{ GRAPH <{description}> {{ ?s ?p ?o }} {KEY_BIND} }} GROUP BY ?p ?c")}
    if sum(sum(k.values()) for k in keys.values()) != quads:
        return None
    return [(g, keys[g]) for g in sorted(keys, key=lambda g: (-sum(keys[g].values()), g.value))]  # type: ignore[union-attr]


def _value(term: Any) -> str | None:
    return None if term is None else term.value


def _in(graph: Graph, pattern: str = "?s ?p ?o") -> str:
    """``pattern`` in ``graph`` (IRIs from the store are safe between ``<>``)."""
    return f"{{ {pattern} }}" if isinstance(graph, DefaultGraph) else f"GRAPH <{graph.value}> {{ {pattern} }}"


def _query(graph: Graph, before: list[Graph], shared: set[Key]) -> str:
    """SELECT DISTINCT ?s ?p ?o: the triples of ``graph`` with a shared key that ``before`` states.

    The earlier graphs are asked in a FILTER EXISTS, evaluated per quad with its terms bound (an
    index lookup): as a join, pyoxigraph may scan the earlier graphs for the key and hash-join.
    """
    predicates = " ".join(sorted(f"<{p}>" for p, c in shared if c is None))
    classes = " ".join(sorted(f"<{c}>" for p, c in shared if c is not None))
    type_ = f"<{RDF_TYPE}>"
    mine = ([(f"VALUES ?p {{ {predicates} }} {_in(graph)}", "?s ?p ?o", "")] if predicates else []) + (
        [(f"VALUES ?o {{ {classes} }} {_in(graph, f'?s {type_} ?o')}", f"?s {type_} ?o", f"BIND({type_} AS ?p)")] if classes else [])
    named = " ".join(f"<{g.value}>" for g in before if isinstance(g, NamedNode))
    branches = []
    for key_and_mine, triple, bind in mine:
        theirs = ([f"{{ VALUES ?h {{ {named} }} GRAPH ?h {{ {triple} }} }}"] if named else []) + (
            [f"{{ {triple} }}"] if DefaultGraph() in before else [])
        branches.append(f"{{ {key_and_mine} FILTER EXISTS {{ {' UNION '.join(theirs)} }} {bind} }}")
    return f"SELECT DISTINCT ?s ?p ?o WHERE {{ {' UNION '.join(branches)} }}"


def repeats(graphs: list[tuple[Graph, dict[Key, int]]]) -> Iterator[tuple[Graph, str | None]]:
    """(graph, the query of its triples an earlier graph states, or None when none can be), in
    the order of :func:`census`."""
    seen: set[Key] = set()
    for index, (graph, keys) in enumerate(graphs):
        shared = keys.keys() & seen
        seen |= keys.keys()
        yield graph, (_query(graph, [g for g, _ in graphs[:index]], shared) if shared else None)
