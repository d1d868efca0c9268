"""The incremental scope of a contribution: the small graph pySHACL must see, and whom to judge.

Given the store's data (which conforms) and a contribution C, the only focus nodes whose verdict
can change are those whose validation reads a triple of C (shapescope.Scope: the words the
shapes walk from a focus node).  For each triple of C and each word whose last step matches
it, walking the word's prefix *backwards* in store ∪ C gives those focus nodes.  The small graph
is then C, plus every triple those focus nodes' words read *forwards* in store ∪ C, plus the
class hierarchy (rdfs:subClassOf, for sh:class and sh:targetClass).  Validating it and keeping
the results about those focus nodes gives the verdict a full-graph validation gives; the
differential test (tests/test_incremental_validation.py) checks exactly that.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox
from rdflib import RDFS, Graph, Literal
from rdflib.term import Node

from .rdfinput import from_ox, to_ox
from .shapescope import TYPE, Scope, Step, Word

Triple = tuple[Node, Node, Node]


class TripleSource(Protocol):
    """Where the store's triples come from: one pattern lookup (None = any)."""

    def triples(self, s: Node | None, p: Node | None, o: Node | None) -> Iterable[Triple]: ...


class GraphSource:
    """An rdflib graph as a TripleSource (tests, CLI)."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def triples(self, s, p, o):
        return self.graph.triples((s, p, o))


class StoreSource:
    """A pyoxigraph Store as a TripleSource: the union of its graphs but ``exclude``d ones."""

    def __init__(self, store: ox.Store, exclude: Iterable[str] = ()):
        self.store = store
        self.exclude = frozenset(ox.NamedNode(g) for g in exclude)

    def triples(self, s, p, o):
        seen: set[Triple] = set()
        pattern = [None if t is None else to_ox(t) for t in (s, p, o)]
        for quad in self.store.quads_for_pattern(*pattern, None):
            if quad.graph_name in self.exclude:
                continue
            triple = (from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object))
            if triple not in seen:
                seen.add(triple)
                yield triple


@dataclass(frozen=True)
class Neighbourhood:
    """The small graph to validate and the focus nodes whose results count."""

    graph: Graph
    focus: frozenset[Node]


def neighbourhood(contribution: Graph, source: TripleSource, scope: Scope) -> Neighbourhood:
    """Build the small graph for ``contribution`` over ``source`` (see module docstring)."""
    both = _Union(source, contribution)
    focus = _affected(contribution, both, scope)
    out = Graph()
    out += contribution
    for triple in source.triples(None, RDFS.subClassOf, None):
        out.add(triple)
    if scope.words is None:
        _read_unbounded(focus, both, scope, out)
    else:
        trie = _trie(scope.words)
        seen: set[tuple[Node, int]] = set()
        for f in focus:
            _read_forward(f, trie, both, out, seen)
    return Neighbourhood(out, frozenset(focus))


class _Union:
    """store ∪ contribution, for the walks."""

    def __init__(self, source: TripleSource, contribution: Graph):
        self.source, self.contribution = source, contribution

    def triples(self, s, p, o) -> Iterator[Triple]:
        yield from self.source.triples(s, p, o)
        yield from self.contribution.triples((s, p, o))

    def step(self, node: Node, step: Step) -> Iterator[tuple[Triple, Node]]:
        """Triples leaving ``node`` by ``step``, with the node they reach."""
        p, forward = step
        if forward:
            if isinstance(node, Literal):
                return
            for t in self.triples(node, p, None):
                yield t, t[2]
        else:
            for t in self.triples(None, p, node):
                yield t, t[0]

    def back(self, node: Node, step: Step) -> Iterator[Node]:
        """Nodes from which ``step`` reaches ``node``."""
        p, forward = step
        if forward:
            for t in self.triples(None, p, node):
                yield t[0]
        elif not isinstance(node, Literal):
            for t in self.triples(node, p, None):
                yield t[2]


def _affected(contribution: Graph, both: _Union, scope: Scope) -> set[Node]:
    """Focus nodes whose validation reads a triple of the contribution."""
    if scope.words is None:
        return _affected_unbounded(contribution, both, scope)
    by_last: dict[Step, list[Word]] = {}
    for w in scope.words:
        by_last.setdefault(w[-1], []).append(w[:-1])
    out: set[Node] = set()
    for s, p, o in contribution:
        for last, ends_at in (((p, True), s), ((None, True), s), ((p, False), o)):
            for prefix in by_last.get(last, ()):
                out |= _walk_back(ends_at, prefix, both)
    return out


def _walk_back(node: Node, prefix: Word, both: _Union) -> set[Node]:
    current = {node}
    for step in reversed(prefix):
        current = {y for x in current for y in both.back(x, step)}
        if not current:
            break
    return {n for n in current if not isinstance(n, Literal)}


def _trie(words: Iterable[Word]) -> list[dict[Step, int]]:
    """Words as a trie: node index → {step: child index}; 0 is the root."""
    nodes: list[dict[Step, int]] = [{}]
    for w in sorted(words):
        at = 0
        for step in w:
            if step not in nodes[at]:
                nodes.append({})
                nodes[at][step] = len(nodes) - 1
            at = nodes[at][step]
    return nodes


def _read_forward(start: Node, trie: list[dict[Step, int]], both: _Union, out: Graph, seen: set) -> None:
    todo = [(start, 0)]
    while todo:
        node, at = todo.pop()
        if (node, at) in seen:
            continue
        seen.add((node, at))
        for step, child in trie[at].items():
            for triple, reached in both.step(node, step):
                out.add(triple)
                if trie[child]:
                    todo.append((reached, child))


def _affected_unbounded(contribution: Graph, both: _Union, scope: Scope) -> set[Node]:
    """Unbounded shapes: every node from which some walk over the scope's steps reads C."""
    steps = scope.steps
    frontier: set[Node] = set()
    for s, p, o in contribution:
        if (p, True) in steps or (None, True) in steps:
            frontier.add(s)
        if (p, False) in steps and not isinstance(o, Literal):
            frontier.add(o)
    seen = set(frontier)
    walk = [st for st in steps if not (scope.type_is_terminal and st == TYPE)]
    while frontier:
        nxt = {y for x in frontier for st in walk for y in both.back(x, st)} - seen
        seen |= nxt
        frontier = nxt
    return {n for n in seen if not isinstance(n, Literal)}


def _read_unbounded(focus: set[Node], both: _Union, scope: Scope, out: Graph) -> None:
    frontier, seen = set(focus), set(focus)
    while frontier:
        nxt: set[Node] = set()
        for node in frontier:
            for st in scope.steps:
                for triple, reached in both.step(node, st):
                    out.add(triple)
                    if reached not in seen and not (scope.type_is_terminal and st == TYPE):
                        nxt.add(reached)
        seen |= nxt
        frontier = nxt
