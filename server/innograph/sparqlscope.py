"""What a SPARQL-based constraint reads from ``$this``: its triple patterns as step words.

https://www.w3.org/TR/shacl/#sparql-constraints — the query is parsed by rdflib (prefixes from
the shapes graph's sh:declare), every basic graph pattern in it (also inside FILTER EXISTS,
OPTIONAL, UNION...) is taken as read, and the words are grown from ``$this`` along the patterns'
predicates and property paths until no variable learns a new word.  Over-approximating is sound
(more is read, nothing is missed).  What cannot be bounded raises ``Unbounded`` (zero-or-more
paths, cycles) and what cannot be anchored on ``$this`` raises ``Unanchored``: a pattern with a
variable predicate, a negated path, a constant subject, a variable no walk from ``$this``
reaches, or ``$PATH`` (property-shape SPARQL constraints): the caller then validates everything.
"""

from __future__ import annotations

from rdflib import Graph, URIRef, Variable
from rdflib.namespace import SH
from rdflib.paths import AlternativePath, InvPath, MulPath, SequencePath
from rdflib.plugins.sparql import prepareQuery
from rdflib.plugins.sparql.parserutils import CompValue

Step = tuple[URIRef | None, bool]
Word = tuple[Step, ...]
MAX_LENGTH = 8


class Unbounded(Exception):
    """The query reads paths of unbounded length."""


class Unanchored(Exception):
    """The query reads triples that no walk from $this bounds."""


def prefixes(shapes: Graph) -> dict[str, str]:
    """Every sh:declare of the shapes graph (SHACL prefix declarations)."""
    out = {}
    for decl in shapes.objects(None, SH.declare):
        prefix, namespace = shapes.value(decl, SH.prefix), shapes.value(decl, SH.namespace)
        if prefix is not None and namespace is not None:
            out[str(prefix)] = str(namespace)
    return out


def constraint_words(select: str, ns: dict[str, str]) -> set[Word]:
    """The words the SELECT of a SPARQL constraint reads from $this (prefix-closed)."""
    if "$PATH" in select:
        raise Unanchored("$PATH (property-shape SPARQL constraint)")
    patterns: list[tuple] = []
    _collect(prepareQuery(select, initNs=ns).algebra, patterns)
    # Reach the variables breadth-first from $this; a variable keeps the words of the round that
    # first reaches it (every binding must satisfy that pattern too: a superset, so sound).
    reach: dict[Variable, set[Word]] = {Variable("this"): {()}}
    while True:
        found: dict[Variable, set[Word]] = {}
        for s, p, o in patterns:
            for start, end, seqs in ((s, o, _path(p)), (o, s, {_reverse(q) for q in _path(p)})):
                if start in reach and isinstance(end, Variable) and end not in reach:
                    found.setdefault(end, set()).update(w + q for w in reach[start] for q in seqs)
        if not found:
            break
        reach.update(found)
    reads: set[Word] = set()
    for s, p, o in patterns:
        if s in reach:
            words = {w + q for w in reach[s] for q in _path(p)}
        elif o in reach:
            words = {w + _reverse(q) for w in reach[o] for q in _path(p)}
        else:
            raise Unanchored(f"pattern on {s.n3()} is not reached from $this")
        if any(len(w) > MAX_LENGTH for w in words):
            raise Unbounded("patterns too long")
        for w in words:
            reads.update(w[:i] for i in range(1, len(w) + 1))
    return reads


def _collect(node, out: list) -> None:
    """Every triple pattern in the algebra tree (BGPs anywhere, EXISTS included)."""
    if isinstance(node, CompValue):
        if node.name == "BGP":
            out.extend(node.triples)
        for value in node.values():
            _collect(value, out)
    elif isinstance(node, (list, tuple)):
        for value in node:
            _collect(value, out)


def _path(p) -> set[Word]:
    if isinstance(p, Variable):
        raise Unanchored("variable predicate")
    if isinstance(p, URIRef):
        return {((p, True),)}
    if isinstance(p, InvPath):
        return {_reverse(q) for q in _path(p.arg)}
    if isinstance(p, SequencePath):
        seqs: set[Word] = {()}
        for member in p.args:
            seqs = {a + b for a in seqs for b in _path(member)}
        return seqs
    if isinstance(p, AlternativePath):
        return set().union(*(_path(member) for member in p.args))
    if isinstance(p, MulPath):
        if p.mod == "?":
            return {()} | _path(p.path)
        raise Unbounded("zero-or-more / one-or-more path")
    raise Unanchored(f"path {p!r}")


def _reverse(word: Word) -> Word:
    return tuple((p, not forward) for p, forward in reversed(word))
