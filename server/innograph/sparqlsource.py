"""A TripleSource over SPARQL: the store lives in other processes (executor.py), so each walk
step over a set of nodes is one SELECT with a VALUES block instead of one lookup per node.

The terms put in VALUES are serialized by pyoxigraph (``str(NamedNode)``, ``str(Literal)``),
which escapes them for SPARQL; they come from parsed RDF or from the store, never from raw
request text.  Blank nodes cannot be named in a query, so the store's blank nodes are bound one
by one with ``substitutions`` (SEP-0007), which pyoxigraph matches exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal
from rdflib.term import Node

from .neighbourhood import Triple
from .rdfinput import from_ox, to_ox

# run(query, substitutions) -> rows of pyoxigraph terms, in the order of the projection.
Run = Callable[[str, dict[str, Any]], Iterable[Sequence[Any]]]
CHUNK = 500  # nodes per VALUES block
PAIRS = 2000  # (node, predicate) pairs per VALUES block


class QuerySource:
    """The union of the store's named graphs but ``exclude``d ones, through ``run``."""

    def __init__(self, run: Run, exclude: Iterable[str] = ()):
        self.run = run
        names = ", ".join(str(ox.NamedNode(g)) for g in exclude)
        self.filter = f"FILTER(?g NOT IN ({names}))" if names else ""

    def match(self, nodes: Collection[Node], p: Node | None, forward: bool) -> Iterator[Triple]:
        pred = str(to_ox(p)) if p is not None else "?p"
        pattern = f"?n {pred} ?x" if forward else f"?x {pred} ?n"
        query = f"SELECT DISTINCT ?n ?p ?x WHERE {{ %s GRAPH ?g {{ {pattern} }} {self.filter} }}"
        named = [n for n in nodes if not isinstance(n, BNode) and not (forward and isinstance(n, Literal))]
        blanks = [n for n in nodes if isinstance(n, BNode)]
        for i in range(0, len(named), CHUNK):
            values = " ".join(str(to_ox(n)) for n in named[i:i + CHUNK])
            yield from self._triples(query % f"VALUES ?n {{ {values} }}", {}, p, forward)
        for b in blanks:
            yield from self._triples(query % "", {"n": to_ox(b)}, p, forward)

    def match_steps(self, requests: Mapping[tuple[Node | None, bool], Collection[Node]]) -> dict[tuple[Node | None, bool], list[Triple]]:
        """Every step of a walk level at once: ``{(p, forward): nodes}`` -> ``{(p, forward): triples}``.

        The (node, predicate) pairs of all the steps go in one ``VALUES (?n ?p)`` query per direction
        (in chunks of PAIRS): each query through the executors costs about a millisecond of round
        trip whatever it finds, and a contribution's walk has about a hundred steps, most of which
        find nothing. Blank nodes and steps on any predicate (sh:closed) go through ``match``."""
        out: dict[tuple[Node | None, bool], list[Triple]] = {step: [] for step in requests}
        names: dict[Node, str] = {}
        for forward in (True, False):
            pairs = []
            for (p, fwd), nodes in requests.items():
                if fwd != forward:
                    continue
                if p is None:
                    out[(p, fwd)] += self.match(nodes, p, fwd)
                    continue
                pred = str(to_ox(p))
                skip = (BNode, Literal) if forward else BNode
                pairs += [(names.get(n) or names.setdefault(n, str(to_ox(n))), pred) for n in nodes if not isinstance(n, skip)]
                blanks = [n for n in nodes if isinstance(n, BNode)]
                if blanks:
                    out[(p, fwd)] += self.match(blanks, p, fwd)
            pattern = "?n ?p ?x" if forward else "?x ?p ?n"
            for i in range(0, len(pairs), PAIRS):
                values = " ".join(f"({n} {pp})" for n, pp in pairs[i:i + PAIRS])
                query = f"SELECT DISTINCT ?n ?p ?x WHERE {{ VALUES (?n ?p) {{ {values} }} GRAPH ?g {{ {pattern} }} {self.filter} }}"
                for n, pp, x in self.run(query, {}):
                    pred = from_ox(pp)
                    out[(pred, forward)].append((from_ox(n), pred, from_ox(x)) if forward else (from_ox(x), pred, from_ox(n)))
        return out

    def all_triples(self, p: Node | None) -> Iterator[Triple]:
        pred = "?p" if p is None else str(to_ox(p))
        query = f"SELECT DISTINCT ?n ?p ?x WHERE {{ GRAPH ?g {{ ?n {pred} ?x }} {self.filter} }}"
        return self._triples(query, {}, p, True)

    def _triples(self, query: str, substitutions: dict[str, Any], p: Node | None, forward: bool) -> Iterator[Triple]:
        for n, pp, x in self.run(query, substitutions):
            pred = p if p is not None else from_ox(pp)
            yield (from_ox(n), pred, from_ox(x)) if forward else (from_ox(x), pred, from_ox(n))


def store_runner(store: ox.Store) -> Run:
    """``run`` over a pyoxigraph Store in this process (CLI, benchmarks, tests)."""

    def run(query: str, substitutions: dict[str, Any]) -> Iterator[tuple]:
        subs = {ox.Variable(k): v for k, v in substitutions.items()}
        for solution in store.query(query, substitutions=subs):
            yield tuple(solution[i] for i in range(3))

    return run


def service_runner(service: Any, max_rows: int = 10_000_000) -> Run:
    """``run`` over the runtime's QueryService (executor.py ``terms``)."""

    def run(query: str, substitutions: dict[str, Any]) -> list[tuple]:
        kind, value, truncated = service.terms(query, substitutions, max_rows=max_rows)
        if kind != "solutions" or truncated:
            raise RuntimeError(f"neighbourhood query gave {kind}{' (truncated)' if truncated else ''}")
        return [tuple(row) for row in value[1]]

    return run
