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

from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import pyoxigraph as ox
from rdflib import RDFS, Graph, Literal, URIRef
from rdflib.term import Node

from .rdfinput import from_ox, to_ox
from .shapescope import TYPE, Scope, Step, Word

Triple = tuple[Node, Node, Node]


class TripleSource(Protocol):
    """Where the store's triples come from.

    ``match(nodes, p, forward)``: the triples whose subject (forward) or object (backward) is
    one of ``nodes``, with predicate ``p`` (None: any).  One call per walk step over a whole set
    of nodes, so that a store behind a process boundary answers in one query (sparqlsource.py).
    """

    def match(self, nodes: Collection[Node], p: Node | None, forward: bool) -> Iterable[Triple]: ...

    def all_triples(self, p: Node | None) -> Iterable[Triple]: ...


def match_steps(source: TripleSource, requests: Mapping[Step, Collection[Node]]) -> dict[Step, list[Triple]]:
    """``{step: nodes}`` -> ``{step: triples}``: every step of one walk level at once.  A source
    behind a process boundary answers it in a query or two (QuerySource.match_steps) instead of
    one query per step; other sources answer step by step."""
    batched = getattr(source, "match_steps", None)
    if batched is not None:
        return batched(requests)
    return {(p, forward): list(source.match(nodes, p, forward)) for (p, forward), nodes in requests.items()}


class GraphSource:
    """An rdflib graph as a TripleSource (tests, CLI)."""

    def __init__(self, graph: Graph):
        self.graph = graph

    def match(self, nodes, p, forward):
        for n in nodes:
            yield from self.graph.triples((n, p, None) if forward else (None, p, n))

    def all_triples(self, p):
        return self.graph.triples((None, p, None))


class StoreSource:
    """A pyoxigraph Store in this process: the union of its graphs but ``exclude``d ones."""

    def __init__(self, store: ox.Store, exclude: Iterable[str] = ()):
        self.store = store
        self.exclude = frozenset(ox.NamedNode(g) for g in exclude)

    def match(self, nodes, p, forward):
        pred = None if p is None else to_ox(p)
        for n in nodes:
            if isinstance(n, Literal) and forward:
                continue
            yield from self._quads((to_ox(n), pred, None) if forward else (None, pred, to_ox(n)))

    def all_triples(self, p):
        return self._quads((None, None if p is None else to_ox(p), None))

    def _quads(self, pattern) -> Iterator[Triple]:
        seen: set[Triple] = set()
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
    out = Graph()
    out += contribution
    for triple in source.all_triples(RDFS.subClassOf):
        out.add(triple)
    if scope.words is None:
        focus = _affected_unbounded(contribution, both, scope)
        _read_unbounded(focus, both, scope, out)
    else:
        focus = _affected(contribution, both, scope.words)
        _walk(focus, _Trie(scope.words), both, backwards=False, out=out)
    return Neighbourhood(out, frozenset(focus))


class _Union:
    """store ∪ contribution, for the walks; every call covers a set of nodes."""

    def __init__(self, source: TripleSource, contribution: Graph):
        self.source, self.contribution = source, contribution

    def step(self, nodes: Collection[Node], step: Step) -> Iterator[tuple[Triple, Node]]:
        """Triples leaving ``nodes`` by ``step``, each with the node it reaches."""
        p, forward = step
        nodes = [n for n in nodes if not (forward and isinstance(n, Literal))]
        if not nodes:
            return
        local = GraphSource(self.contribution)
        for t in _chain(self.source.match(nodes, p, forward), local.match(nodes, p, forward)):
            yield t, (t[2] if forward else t[0])

    def back(self, nodes: Collection[Node], step: Step) -> set[Node]:
        """Nodes from which ``step`` reaches one of ``nodes``."""
        p, forward = step
        return {reached for _t, reached in self.step(nodes, (p, not forward))}

    def steps(self, requests: Mapping[Step, set[Node]]) -> dict[Step, dict[Node, list[tuple[Triple, Node]]]]:
        """For each step and each of its nodes, the triples leaving the node by the step and the
        node each reaches (``step`` for every step of a walk level, in one source call)."""
        requests = {(p, fwd): [n for n in nodes if not (fwd and isinstance(n, Literal))] for (p, fwd), nodes in requests.items()}
        requests = {step: nodes for step, nodes in requests.items() if nodes}
        out: dict[Step, dict[Node, list[tuple[Triple, Node]]]] = {step: {} for step in requests}
        local = GraphSource(self.contribution)
        found = match_steps(self.source, requests) if requests else {}
        for (p, forward), nodes in requests.items():
            by_node = out[(p, forward)]
            for t in _chain(found.get((p, forward), ()), local.match(nodes, p, forward)):
                start, reached = (t[0], t[2]) if forward else (t[2], t[0])
                by_node.setdefault(start, []).append((t, reached))
        return out


def _chain(*iterables: Iterable[Triple]) -> Iterator[Triple]:
    for it in iterables:
        yield from it


def _affected(contribution: Graph, both: _Union, words: frozenset[Word]) -> set[Node]:
    """Focus nodes whose validation reads a triple of the contribution.

    For each word, the nodes where the contribution's triples match its last step, walked back
    along the word's prefix; the reversed prefixes share a trie so that each step is one call.
    """
    starts: dict[Step, set[Node]] = {}
    for s, p, o in contribution:
        starts.setdefault((p, True), set()).add(s)
        starts.setdefault((None, True), set()).add(s)
        if not isinstance(o, Literal):
            starts.setdefault((p, False), set()).add(o)
    # One walk for all the last steps: each has its own subtree, under a marker step from the root.
    marked: list[Word] = []
    start: dict[Step, set[Node]] = {}
    for number, (last, positions) in enumerate(starts.items()):
        prefixes = [tuple(reversed(w[:-1])) for w in words if w[-1] == last]
        if prefixes:
            marker = (URIRef(f"urn:innograph:walk:{number}"), True)
            marked += [(marker, *prefix) for prefix in prefixes]
            start[marker] = positions
    trie = _Trie(marked)
    out = _walk_from({trie.children[0][marker]: positions for marker, positions in start.items()}, trie, both, backwards=True)
    return {n for n in out if not isinstance(n, Literal)}


class _Trie:
    """Words as a trie: ``children[i]`` maps a step to a child index; 0 is the root."""

    def __init__(self, words: Iterable[Word]):
        self.children: list[dict[Step, int]] = [{}]
        self.ends: set[int] = set()
        for w in sorted(set(words)):
            at = 0
            for step in w:
                if step not in self.children[at]:
                    self.children.append({})
                    self.children[at][step] = len(self.children) - 1
                at = self.children[at][step]
            self.ends.add(at)


def _walk(start: set[Node], trie: _Trie, both: _Union, *, backwards: bool, out: Graph | None = None) -> set[Node]:
    """Walk the trie from ``start`` at its root; return the nodes where words end.

    Backwards, each step is taken in reverse (who reaches these nodes by it).  Forwards, every
    triple crossed is added to ``out``.
    """
    return _walk_from({0: set(start)}, trie, both, backwards=backwards, out=out)


def _walk_from(level: dict[int, set[Node]], trie: _Trie, both: _Union, *, backwards: bool, out: Graph | None = None) -> set[Node]:
    """Walk the trie from the nodes given at some of its positions, level by level: all the
    steps of a level are asked of the source at once (one or two queries, not one per edge)."""
    ends: set[Node] = set()
    seen: set[tuple[int, Node]] = set()
    while level:
        fresh: dict[int, set[Node]] = {}
        requests: dict[Step, set[Node]] = {}
        for at, nodes in level.items():
            nodes = {n for n in nodes if (at, n) not in seen}
            seen.update((at, n) for n in nodes)
            if not nodes:
                continue
            if at in trie.ends:
                ends |= nodes
            fresh[at] = nodes
            for p, forward in trie.children[at]:
                requests.setdefault((p, forward != backwards), set()).update(nodes)
        found = both.steps(requests) if requests else {}
        nxt: dict[int, set[Node]] = {}
        for at, nodes in fresh.items():
            for (p, forward), child in trie.children[at].items():
                by_node = found.get((p, forward != backwards), {})
                deeper = bool(trie.children[child])
                for n in nodes:
                    for triple, reached in by_node.get(n, ()):
                        if backwards:
                            nxt.setdefault(child, set()).add(reached)
                            continue
                        out.add(triple)
                        if deeper:
                            nxt.setdefault(child, set()).add(reached)
        level = nxt
    return ends


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
        nxt = {y for st in walk for y in both.back(frontier, st)} - seen
        seen |= nxt
        frontier = nxt
    return {n for n in seen if not isinstance(n, Literal)}


def _read_unbounded(focus: set[Node], both: _Union, scope: Scope, out: Graph) -> None:
    frontier, seen = set(focus), set(focus)
    while frontier:
        nxt: set[Node] = set()
        for st in scope.steps:
            for triple, reached in both.step(frontier, st):
                out.add(triple)
                if reached not in seen and not (scope.type_is_terminal and st == TYPE):
                    nxt.add(reached)
        seen |= nxt
        frontier = nxt
