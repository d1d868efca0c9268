"""Safe parsing of RDF payloads sent by contributors (pure: no Flask, no IO beyond the bytes given).

Each refusal is an :class:`InputError` carrying the HTTP status it maps to and, where the
payload has one, the line and column:

- an unsupported media type is a 415 (N3 is refused: its formulas are not RDF);
- a body over ``max_bytes`` or with more than ``max_triples`` triples is a 413 (the triple
  count is checked while parsing, so a huge payload is never held as rdflib triples);
- RDF/XML with ``<!DOCTYPE`` or ``<!ENTITY`` is refused *before* any XML parser sees it
  (billion laughs: see shared/research/peers.md §4);
- JSON-LD is parsed by pyoxigraph, which has no document loader, so a remote ``@context``
  is never fetched: it is a 400 that says so;
- anything that does not parse is a 400 with line and column.

Parsing is done by pyoxigraph (fast, strict, positions in its errors); the triples are then
converted to rdflib terms the way oxrdflib does, so that pyshacl sees the same terms whether
they come from a payload or from the store.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from xml.parsers import expat

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

# The formats a contribution may use (media type → pyoxigraph format).
ACCEPTED_FORMATS: tuple[ox.RdfFormat, ...] = (
    ox.RdfFormat.TURTLE,
    ox.RdfFormat.TRIG,
    ox.RdfFormat.N_TRIPLES,
    ox.RdfFormat.N_QUADS,
    ox.RdfFormat.JSON_LD,
    ox.RdfFormat.RDF_XML,
)
ACCEPTED_MEDIA_TYPES: tuple[str, ...] = tuple(f.media_type for f in ACCEPTED_FORMATS)

_XML_DECLARATIONS = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# JSON-LD and RDF/XML nested deeper than this are refused before pyoxigraph sees them: its JSON-LD
# parser recurses (a few thousand levels deep it overflows the stack and kills the whole web process;
# only json.loads's RecursionError near 1,000 levels, itself a 500, kept it from being reached), and
# its RDF/XML parser takes time quadratic in the depth (10,000 levels: 3 s; 100,000, under the
# default body cap: minutes). Real payloads nest a few levels. tests/test_attacks.py.
MAX_NESTING = 256


class InputError(Exception):
    """A payload refused, with the HTTP status it maps to and where it went wrong."""

    def __init__(self, status: int, message: str, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.line = line
        self.column = column

    def as_dict(self) -> dict:
        out: dict = {"ok": False, "error": self.message, "status": self.status}
        if self.line is not None:
            out["line"] = self.line
        if self.column is not None:
            out["column"] = self.column
        return out


@dataclass(frozen=True)
class Payload:
    """A parsed payload: its default-graph triples as an rdflib graph, and what came with it."""

    graph: Graph
    format: ox.RdfFormat
    text: str
    sha256: str
    prefixes: dict[str, str] = field(default_factory=dict)
    # Names of the named graphs the payload tried to write into (TriG, N-Quads, JSON-LD);
    # the contribution rules refuse them: a contribution goes into its own graph only.
    graph_names: frozenset[str] = frozenset()


def format_for_media_type(content_type: str | None) -> ox.RdfFormat:
    """The format named by a Content-Type header, or a 415 InputError."""
    if not content_type or not content_type.strip():
        raise InputError(415, "Content-Type is missing; send one of: " + ", ".join(ACCEPTED_MEDIA_TYPES))
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    charset = _param(params, "charset")
    if charset is not None and charset.lower() not in {"utf-8", "utf8", "us-ascii"}:
        raise InputError(415, f"charset {charset} is not supported; send UTF-8")
    # Only the registered media types: no guessing (application/json is not JSON-LD, text/plain
    # is not N-Triples), so that what is accepted is what the docs list.
    fmt = next((f for f in ACCEPTED_FORMATS if f.media_type == media_type), None)
    if fmt is None:
        raise InputError(415, f"{media_type} is not supported; send one of: " + ", ".join(ACCEPTED_MEDIA_TYPES))
    return fmt


def format_for_filename(name: str) -> ox.RdfFormat:
    """The format of a file by its extension (CLI), or a 415 InputError."""
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    fmt = next((f for f in ACCEPTED_FORMATS if f.file_extension == ext), None)
    if fmt is None:
        raise InputError(415, f"{name}: cannot tell the RDF format from the extension .{ext}")
    return fmt


def parse_payload(
    body: bytes,
    fmt: ox.RdfFormat,
    *,
    max_bytes: int,
    max_triples: int,
) -> Payload:
    """Parse ``body`` safely into a :class:`Payload`, or raise :class:`InputError`."""
    if len(body) > max_bytes:
        raise InputError(413, f"The payload has {len(body)} bytes; the cap is {max_bytes}")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as e:
        line, column = _position(body, e.start)
        raise InputError(400, "The payload is not UTF-8", line, column) from None
    if fmt == ox.RdfFormat.RDF_XML:
        _refuse_xml_declarations(body)
        _refuse_deep_xml(body)
    if fmt == ox.RdfFormat.JSON_LD:
        _check_json(text)
    graph = Graph()
    names: set[str] = set()
    count = 0
    try:
        # No base IRI: a relative IRI is an error rather than a guess.  Blank nodes are
        # renamed so that they never collide with the store's.
        parser = ox.parse(body, format=fmt, rename_blank_nodes=True)
        for quad in parser:
            count += 1
            if count > max_triples:
                raise InputError(413, f"The payload has more than {max_triples} triples (the cap)")
            if isinstance(quad.graph_name, ox.DefaultGraph):
                graph.add((from_ox(quad.subject), from_ox(quad.predicate), from_ox(quad.object)))
            else:
                names.add(str(from_ox(quad.graph_name)))
        prefixes = dict(parser.prefixes)
    except SyntaxError as e:
        raise _syntax_error(e, fmt, body) from None
    except ValueError as e:  # e.g. an invalid language tag or IRI reported outside the parser
        raise InputError(400, f"Invalid RDF: {e}") from None
    if count == 0:
        raise InputError(400, "The payload holds no triples")
    return Payload(graph, fmt, text, hashlib.sha256(body).hexdigest(), prefixes, frozenset(names))


def from_ox(term: ox.NamedNode | ox.BlankNode | ox.Literal) -> Node:
    """A pyoxigraph term as the rdflib term oxrdflib would give for it."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise InputError(400, f"Unsupported term (RDF-star is not accepted): {term}")


def to_ox(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term (the inverse of :func:`from_ox`)."""
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)) if term.datatype else None)
    raise TypeError(f"Unexpected rdflib term {term!r}")


def _refuse_xml_declarations(body: bytes) -> None:
    match = _XML_DECLARATIONS.search(body)
    if match:
        line, column = _position(body, match.start())
        raise InputError(400, f"RDF/XML with <!{match.group(1).decode().upper()} is refused (entity expansion)", line, column)


def _check_json(text: str) -> None:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(400, f"Invalid JSON: {e.msg}", e.lineno, e.colno) from None
    except RecursionError:
        document = None
    if document is None or _json_depth(document) > MAX_NESTING:
        raise InputError(400, f"The JSON is nested more than {MAX_NESTING} levels deep") from None


def _json_depth(value: object) -> int:
    """How deep objects and arrays nest in ``value`` (iteratively: no recursion); stops past MAX_NESTING."""
    deepest, stack = 0, [(value, 1)]
    while stack and deepest <= MAX_NESTING:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is not None:
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in children)
    return deepest


class _TooDeep(Exception):
    pass


def _refuse_deep_xml(body: bytes) -> None:
    """400 if elements nest deeper than MAX_NESTING (expat, streaming; DOCTYPE already refused).
    Ill-formed XML is left to pyoxigraph, whose error says where."""
    parser = expat.ParserCreate()
    depth = 0

    def start(*_: object) -> None:
        nonlocal depth
        depth += 1
        if depth > MAX_NESTING:
            raise _TooDeep

    def end(*_: object) -> None:
        nonlocal depth
        depth -= 1

    parser.StartElementHandler, parser.EndElementHandler = start, end
    try:
        parser.Parse(body, True)
    except _TooDeep:
        raise InputError(400, f"The RDF/XML nests elements more than {MAX_NESTING} levels deep",
                         parser.CurrentLineNumber, parser.CurrentColumnNumber + 1) from None
    except expat.ExpatError:
        pass


def _syntax_error(e: SyntaxError, fmt: ox.RdfFormat, body: bytes) -> InputError:
    message = str(e.msg or e)
    if "LoadDocumentCallback" in message:
        return InputError(400, "Remote JSON-LD @context is not fetched; inline the context in the payload")
    line, column = e.lineno, e.offset
    if line is None and fmt == ox.RdfFormat.RDF_XML:
        line, column = _xml_position(body)
    return InputError(400, f"Invalid {fmt.name}: {message}", line, column)


def _xml_position(body: bytes) -> tuple[int | None, int | None]:
    """Line and column of an XML well-formedness error (expat; DOCTYPE already refused)."""
    parser = expat.ParserCreate()
    try:
        parser.Parse(body, True)
    except expat.ExpatError as e:
        return e.lineno, e.offset + 1
    return None, None


def _position(body: bytes, offset: int) -> tuple[int, int]:
    line = body.count(b"\n", 0, offset) + 1
    column = offset - (body.rfind(b"\n", 0, offset) + 1) + 1
    return line, column


def _param(params: str, name: str) -> str | None:
    for part in params.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return value.strip().strip('"')
    return None
