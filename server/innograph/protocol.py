"""SPARQL 1.1 Protocol request parsing, strict and pure (no Flask, no IO).

Implements the query operation of https://www.w3.org/TR/sparql11-protocol/#query-operation:
GET with a query string, POST ``application/x-www-form-urlencoded`` and POST
``application/sparql-query``. Like the oxigraph server it rejects ambiguity instead of guessing:
a parameter given twice, a query both in the URL and in the body, a missing or unknown
Content-Type, a charset other than UTF-8. The endpoint is read-only: an ``update`` parameter or an
``application/sparql-update`` body is refused before anything runs.

Also here: :func:`uses_service`, the cheap lexical check for the ``SERVICE`` keyword, and
:func:`check_nesting`, which refuses a query nested deeper than pyoxigraph's recursive parser can
take (a few thousand levels overflow its stack and kill the executor process).
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from pyoxigraph import NamedNode
from werkzeug.http import parse_options_header

from . import errors

FORM = "application/x-www-form-urlencoded"
QUERY = "application/sparql-query"
UPDATE = "application/sparql-update"
READ_METHODS = ("GET", "HEAD", "POST")
ALLOWED_METHODS = (*READ_METHODS, "OPTIONS")
MAX_NESTING = 256  # brackets ({, (, [) open at once; real queries use a dozen
_READ_ONLY = "This endpoint is read-only: SPARQL Update is not accepted (contributions go through /contributions)"

Params = Iterable[tuple[str, str]]


@dataclass(frozen=True)
class QueryRequest:
    """A parsed query request; ``query`` is None when the request carries none (service
    description or query UI). Empty graph lists mean the dataset is not set by the protocol."""

    query: str | None
    default_graph_uris: list[str] = field(default_factory=list)
    named_graph_uris: list[str] = field(default_factory=list)
    format: str | None = None


def parse_request(method: str, content_type: str | None, url_params: Params, body: bytes) -> QueryRequest:
    """Turn the parts of an HTTP request into a :class:`QueryRequest` or raise ``ProtocolError``.

    ``url_params`` are the decoded pairs of the URL's query string; ``body`` the raw body, already
    capped by the caller. A form body is decoded exactly once here.
    """
    if method not in READ_METHODS:
        raise errors.method_not_allowed(method, ALLOWED_METHODS)
    url = list(url_params)
    _refuse_update(url)
    if method != "POST":
        return _build(url, query=_single(url, "query"))
    if not content_type or not content_type.strip():
        raise errors.bad_request(f"A POST needs a Content-Type: {FORM} or {QUERY}")
    media_type, options = parse_options_header(content_type)
    if media_type == UPDATE:
        raise errors.unsupported_media_type(media_type, (QUERY, FORM), ": " + _READ_ONLY)
    if media_type not in (FORM, QUERY):
        raise errors.unsupported_media_type(media_type, (QUERY, FORM))
    charset = options.get("charset", "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise errors.unsupported_media_type(content_type, (QUERY, FORM), ": only UTF-8 is accepted")
    text = _decode(body)
    if media_type == QUERY:
        if _single(url, "query") is not None:
            raise errors.bad_request("The query cannot be set both in the URL query parameters and the request body")
        return _build(url, query=text)
    form = parse_qsl(text, keep_blank_values=True)
    _refuse_update(form)
    in_url, in_body = _single(url, "query"), _single(form, "query")
    if in_url is not None and in_body is not None:
        raise errors.bad_request("The query parameter cannot be set both in the URL query parameters and the request body")
    return _build(url + form, query=in_body if in_body is not None else in_url)


def _build(params: list[tuple[str, str]], query: str | None) -> QueryRequest:
    if query is not None and not query.strip():
        raise errors.bad_request("The query parameter is empty")
    if query is not None:
        check_nesting(query)
    return QueryRequest(
        query=query,
        default_graph_uris=_iris(params, "default-graph-uri"),
        named_graph_uris=_iris(params, "named-graph-uri"),
        # SPARQLWrapper repeats format (format=tsv&format=text/tab-separated-values): the first counts.
        format=next((v for k, v in params if k == "format"), None),
    )


def check_nesting(query: str) -> None:
    """Raise 400 if ``query`` opens more than :data:`MAX_NESTING` brackets at once, as the parser
    would read it: codepoint escapes decoded first, strings and comments left out, and brackets
    inside IRI-like tokens counted (``1<((1))>2`` is a comparison to the parser, whatever a lexer
    guessing IRIs thinks). Over-counting a real IRI's parentheses is harmless; missing a level is a
    dead executor. A query with fewer brackets than the limit costs three str.count calls; a
    larger one a few passes of C code (5 MB of brackets: well under a second), no Python loop
    per token."""
    text = _CODEPOINT.sub(_codepoint, query) if "\\u" in query or "\\U" in query else query
    if text.count("{") + text.count("(") + text.count("[") <= MAX_NESTING:
        return
    blanked = _STRING_OR_COMMENT.sub(_blank, text)
    steps = array("b", _NOT_BRACKET.sub("", blanked).encode("ascii").translate(_DELTA))
    if max(accumulate(steps), default=0) <= MAX_NESTING:
        return
    first = list(accumulate(steps)).index(MAX_NESTING + 1)  # depth moves by one: the first step past the limit
    found = re.compile(r"(?:[^{}()\[\]]*[{}()\[\]]){%d}" % (first + 1), re.DOTALL).match(blanked)
    start = found.end() - 1 if found else 0
    line, column = text.count("\n", 0, start) + 1, start - text.rfind("\n", 0, start)
    raise errors.bad_request(f"The query nests brackets more than {MAX_NESTING} levels deep (line {line}, column {column}"
                             f"{' once its codepoint escapes are decoded' if text is not query else ''}): refused before parsing")


_NOT_BRACKET = re.compile(r"[^{}()\[\]]+")
_DELTA = bytes.maketrans(b"{}()[]", bytes([1, 255, 1, 255, 1, 255]))  # open +1, close -1 (as signed bytes)
# What the parser reads as a string or a comment (a comment ends at \n or \r); IRI-like tokens are
# matched too, so that a '#' or a quote inside one starts nothing, but their brackets are kept.
_STRINGS_AND_COMMENTS = (
    r'"""(?:[^"\\]|\\.|"(?!""))*"""'  # long strings
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'  # short strings
    r"|'(?:[^'\\\n\r]|\\.)*'"
    r"|#[^\n\r]*"  # comments
)
_IRI = r'<(?:[^<>"{}|^`\\\x00-\x20]|\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8})*>'  # IRI-like (a lone '<' is less-than)
_STRING_OR_COMMENT = re.compile(f"(?P<skip>{_STRINGS_AND_COMMENTS})|{_IRI}", re.DOTALL)
_NOT_NEWLINE = re.compile(r"[^\n]")


def _blank(match: re.Match[str]) -> str:
    """A string or a comment becomes spaces (its newlines kept: offsets do not move); an IRI-like
    token stays as it is."""
    return match.group() if match.group("skip") is None else _NOT_NEWLINE.sub(" ", match.group())


def _single(params: list[tuple[str, str]], key: str) -> str | None:
    values = [v for k, v in params if k == key]
    if len(values) > 1:
        raise errors.bad_request(f"The parameter {key} must be set at most once")
    return values[0] if values else None


def _iris(params: list[tuple[str, str]], key: str) -> list[str]:
    iris = [v for k, v in params if k == key]
    for iri in iris:
        try:
            NamedNode(iri)
        except ValueError as e:
            raise errors.bad_request(f"Invalid IRI in {key}: {iri!r} ({e})") from None
    return iris


def _refuse_update(params: list[tuple[str, str]]) -> None:
    if any(k in ("update", "using-graph-uri", "using-named-graph-uri") for k, _ in params):
        raise errors.bad_request(_READ_ONLY)


def _decode(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise errors.bad_request(f"The request body is not valid UTF-8 ({e.reason} at byte {e.start})") from None


# -- SERVICE detection ------------------------------------------------------------------------
# A lexical scan, not a parse. Strings, IRIs and comments are blanked out first. pyoxigraph's
# parser reads a keyword at the start of a longer word (``SERVICEex:foo`` runs SERVICE ex:foo,
# ``1SERVICE<x>{}`` too), so any word containing SERVICE counts, except where the parser would
# read a longer token instead: a variable name, a language tag, the local part of a prefixed name
# or blank node label. It errs on the side of finding SERVICE (a prefix named ``services:`` is
# refused too); pyoxigraph's parser then decides what an accepted query means.

_SKIPPED = re.compile(f"{_STRINGS_AND_COMMENTS}|{_IRI}", re.DOTALL)
_VAR = r"[\w\u00b7\u0300-\u036f\u203f\u2040]"  # no '.': `?o.SERVICE` is ?o . SERVICE
_NAME = r"[\w\-.%\\\u00b7\u0300-\u036f\u203f\u2040]"
_TOKEN = re.compile(rf"[?$]{_VAR}*|@[A-Za-z0-9\-]+|({_NAME}*):(?:{_NAME}|:)*|{_NAME}+")
_CODEPOINT = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")


def uses_service(query: str) -> bool:
    """True if ``query`` may contain the ``SERVICE`` keyword (case-insensitive) outside strings,
    IRIs and comments. Codepoint escapes (``\\u0053ERVICE``) are checked decoded too, since the
    SPARQL grammar allows them anywhere."""
    return _has_service(query) or _has_service(_CODEPOINT.sub(_codepoint, query))


def _has_service(query: str) -> bool:
    for text, prefix in _words(query):
        if prefix is not None:
            if prefix.upper().startswith("SERVICE"):
                return True  # `services:x` may read as SERVICE s:x
        elif "SERVICE" in text.upper():
            return True
    return False


def has_dataset_clause(query: str) -> bool:
    """True if ``query`` names its own dataset (``FROM`` / ``FROM NAMED``): a bare word FROM
    outside strings, IRIs and comments (the keyword can appear nowhere else in a query)."""
    return any(prefix is None and text.upper() in ("FROM", "FROMNAMED") for text, prefix in _words(query))


def _words(query: str) -> Iterator[tuple[str, str | None]]:
    """(token, prefix part or None) for the tokens outside strings, IRIs and comments, except
    variables and language tags, which the parser reads whole."""
    for token in _TOKEN.finditer(_SKIPPED.sub(" ", query)):
        if token.group(0)[0] not in "?$@":
            yield token.group(0), token.group(1)


def _codepoint(match: re.Match[str]) -> str:
    code = int(match.group(1) or match.group(2), 16)
    return chr(code) if code < 0x110000 else ""
