"""What the shapes read: the step words a SHACL validation walks from a focus node.

A *step* is ``(predicate, forward)``; ``predicate`` None means any predicate (sh:closed).  A
*word* is a sequence of steps from a focus node; validating a focus node reads, for each word,
the triples matching its last step from the nodes its prefix reaches.  The set of words is
prefix-closed.  It is computed once from the shapes graph, by following the SHACL Core
constraints that read the data graph (https://www.w3.org/TR/shacl/#core-components):

- property paths (sequence, alternative, inverse, zero-or-one; zero-or-more and one-or-more make
  the scope *unbounded*), https://www.w3.org/TR/shacl/#property-paths;
- sh:class reads ``rdf:type`` of the value nodes (the class hierarchy is added whole);
- sh:node, sh:property, sh:and, sh:or, sh:xone, sh:not, sh:qualifiedValueShape recurse into
  other shapes (a cycle makes the scope unbounded);
- sh:closed reads every predicate of the value node; sh:equals, sh:disjoint, sh:lessThan,
  sh:lessThanOrEquals read another predicate of the focus node;
- targets: sh:targetClass (and implicit class targets) read ``rdf:type`` of the focus node,
  sh:targetSubjectsOf / sh:targetObjectsOf read one predicate forward / backward.

SPARQL-based constraints are read by sparqlscope (their patterns from ``$this``); those it cannot
anchor, and SPARQL-based targets, make the scope *incomplete*: the caller validates everything.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import RDF, RDFS, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.term import Node

from . import sparqlscope

Step = tuple[URIRef | None, bool]
Word = tuple[Step, ...]

TYPE: Step = (RDF.type, True)
MAX_WORDS = 20000  # beyond this, treat the scope as unbounded (still sound, less precise)


class Unbounded(Exception):
    """The shapes read paths of unbounded length (zero-or-more, recursion)."""


@dataclass(frozen=True)
class Scope:
    """The words (or, when unbounded, just the steps) the shapes read from a focus node."""

    words: frozenset[Word] | None  # None: unbounded, use ``steps`` to any depth
    steps: frozenset[Step]
    complete: bool  # False: SPARQL-based parts; validate the whole graph
    type_is_terminal: bool = True  # no path walks on from a node's class (rdf:type only read last)

    @classmethod
    def of(cls, shapes: Graph) -> Scope:
        return _Analysis(shapes).scope()


class _Analysis:
    def __init__(self, g: Graph):
        self.g = g
        self.complete = not any(g.triples((None, SH.target, None)))  # SPARQL-based targets
        self.prefixes = sparqlscope.prefixes(g)
        self.steps: set[Step] = {TYPE}
        self.path_type = False  # rdf:type used inside a property path

    def scope(self) -> Scope:
        g = self.g
        focus_words: set[Word] = set()
        unbounded = False
        for shape in self._target_shapes():
            focus_words |= self._target_words(shape)
            try:
                focus_words |= self.reads(shape, ())
            except Unbounded:
                unbounded = True
            if len(focus_words) > MAX_WORDS:
                unbounded = True
        if unbounded:
            self._collect_all_steps()
        words = None if unbounded else frozenset(_prefix_closed(focus_words))
        return Scope(words, frozenset(self.steps), self.complete, not self.path_type)

    def _target_shapes(self) -> set[Node]:
        g = self.g
        out: set[Node] = set()
        for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target):
            out |= set(g.subjects(p, None))
        for cls in (RDFS.Class, URIRef("http://www.w3.org/2002/07/owl#Class")):
            out |= {s for s in g.subjects(RDF.type, cls) if _is_shape(g, s)}
        return out

    def _target_words(self, shape: Node) -> set[Word]:
        g = self.g
        words: set[Word] = set()
        if any(g.objects(shape, SH.targetClass)) or (shape, RDF.type, RDFS.Class) in g or (shape, RDF.type, URIRef("http://www.w3.org/2002/07/owl#Class")) in g:
            words.add((TYPE,))
        for p in g.objects(shape, SH.targetSubjectsOf):
            words.add((self._step(p, True),))
        for p in g.objects(shape, SH.targetObjectsOf):
            words.add((self._step(p, False),))
        return words

    def reads(self, shape: Node, stack: tuple[Node, ...]) -> set[Word]:
        """Words read when validating a node against ``shape`` (raises Unbounded)."""
        if shape in stack:
            raise Unbounded(f"recursive shape {shape}")
        stack = stack + (shape,)
        g = self.g
        value_words = self._value_node_reads(shape, stack)
        focus_words: set[Word] = set()
        for p in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals):
            for other in g.objects(shape, p):
                focus_words.add((self._step(other, True),))
        focus_words |= self._sparql_reads(shape)
        path = g.value(shape, SH.path)
        if path is None:
            return value_words | focus_words
        words = set(focus_words)
        for seq in self._path(path):
            words.add(seq)
            words |= {seq + w for w in value_words}
        if len(words) > MAX_WORDS:
            raise Unbounded("too many words")
        return words

    def _value_node_reads(self, shape: Node, stack: tuple[Node, ...]) -> set[Word]:
        g = self.g
        words: set[Word] = set()
        if any(g.objects(shape, SH["class"])):
            words.add((TYPE,))
        if any(o.toPython() is True for o in g.objects(shape, SH.closed) if hasattr(o, "toPython")):
            words.add(((None, True),))
        nested: list[Node] = list(g.objects(shape, SH.node)) + list(g.objects(shape, SH.property))
        nested += list(g.objects(shape, SH["not"])) + list(g.objects(shape, SH.qualifiedValueShape))
        for p in (SH["and"], SH["or"], SH.xone):
            for lst in g.objects(shape, p):
                nested += list(Collection(g, lst))
        if any(g.objects(shape, SH.qualifiedValueShapesDisjoint)):
            nested += list(g.objects(None, SH.qualifiedValueShape))  # siblings: over-approximate
        for other in nested:
            words |= self.reads(other, stack)
        return words

    def _sparql_reads(self, shape: Node) -> set[Word]:
        """Words of the shape's SPARQL constraints ($this is the focus node); see sparqlscope."""
        words: set[Word] = set()
        for constraint in self.g.objects(shape, SH.sparql):
            select = self.g.value(constraint, SH.select)
            try:
                if select is None:
                    raise sparqlscope.Unanchored("no sh:select")
                found = sparqlscope.constraint_words(str(select), self.prefixes)
            except sparqlscope.Unbounded as e:
                raise Unbounded(str(e)) from None
            except (sparqlscope.Unanchored, Exception):  # unparseable too: validate everything
                self.complete = False
                continue
            for w in found:
                for p, forward in w:
                    if p is not None:
                        self._step(p, forward)
            words |= found
        return words

    def _path(self, path: Node) -> set[Word]:
        g = self.g
        if isinstance(path, URIRef):
            return {(self._step(path, True),)}
        inverse = g.value(path, SH.inversePath)
        if inverse is not None:
            return {tuple((p, not fwd) for p, fwd in reversed(seq)) for seq in self._path(inverse)}
        alternative = g.value(path, SH.alternativePath)
        if alternative is not None:
            out: set[Word] = set()
            for member in Collection(g, alternative):
                out |= self._path(member)
            return out
        zero_or_one = g.value(path, SH.zeroOrOnePath)
        if zero_or_one is not None:
            return {()} | self._path(zero_or_one)
        if g.value(path, SH.zeroOrMorePath) is not None or g.value(path, SH.oneOrMorePath) is not None:
            raise Unbounded("zero-or-more / one-or-more path")
        if (path, RDF.first, None) in g:  # sequence path
            seqs: set[Word] = {()}
            for member in Collection(g, path):
                seqs = {a + b for a in seqs for b in self._path(member)}
            return seqs
        raise Unbounded(f"unknown path form {path}")

    def _step(self, p: Node, forward: bool) -> Step:
        step = (URIRef(p), forward)
        self.path_type = self.path_type or step[0] == RDF.type
        self.steps.add(step)
        return step

    def _collect_all_steps(self) -> None:
        """Unbounded mode: every predicate any path, comparison or target mentions, both ways as used."""
        g = self.g
        for path in g.objects(None, SH.path):
            self._path_steps(path, True)
        for p in (SH.equals, SH.disjoint, SH.lessThan, SH.lessThanOrEquals, SH.targetSubjectsOf):
            for other in g.objects(None, p):
                self._step(other, True)
        for other in g.objects(None, SH.targetObjectsOf):
            self._step(other, False)
        if any(g.triples((None, SH.closed, None))):
            self.steps.add((None, True))

    def _path_steps(self, path: Node, forward: bool) -> None:
        g = self.g
        if isinstance(path, URIRef):
            self._step(path, forward)
            return
        if (path, RDF.first, None) in g:
            for member in Collection(g, path):
                self._path_steps(member, forward)
            return
        for p, o in g.predicate_objects(path):
            if p == SH.inversePath:
                self._path_steps(o, not forward)
            elif p == SH.alternativePath:
                for member in Collection(g, o):
                    self._path_steps(member, forward)
            elif p in (SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
                self._path_steps(o, forward)


def _is_shape(g: Graph, node: Node) -> bool:
    return (node, RDF.type, SH.NodeShape) in g or (node, RDF.type, SH.PropertyShape) in g


def _prefix_closed(words: set[Word]) -> set[Word]:
    out: set[Word] = set()
    for w in words:
        for i in range(1, len(w) + 1):
            out.add(w[:i])
    return out

