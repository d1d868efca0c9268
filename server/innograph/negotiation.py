"""Content negotiation for SPARQL results: pure functions, no Flask.

The formats, their media types and their aliases all come from pyoxigraph's ``QueryResultsFormat``
and ``RdfFormat`` enums; the only table here is the list of formats offered per kind of result
(in order of preference) and a few short names for the ``format`` parameter that the enums do not
know (``turtle``, ``rdfxml``).

The format is chosen after the query ran, from the kind of its result (as the oxigraph server
does): ``solutions`` and ``boolean`` use result formats, ``triples`` use RDF formats.

Matching follows RFC 9110 §12.5.1 (parsed with werkzeug's ``parse_accept_header``): the quality of
a format is that of the most specific range that matches it (``*/*`` < ``type/*`` < ``type/sub`` <
``type/sub;param``), a quality of 0 excludes, ties go to the more specific match, then to our
order. A concrete range matches a format when pyoxigraph's ``from_media_type`` maps it to that
format, so aliases (``application/json``) and parameters (``;charset=utf-8``) are handled the
way pyoxigraph handles them.
"""

from __future__ import annotations

import functools

from pyoxigraph import QueryResultsFormat, RdfFormat
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header, parse_options_header

Format = QueryResultsFormat | RdfFormat

RESULT_FORMATS: tuple[QueryResultsFormat, ...] = (
    QueryResultsFormat.JSON,
    QueryResultsFormat.XML,
    QueryResultsFormat.CSV,
    QueryResultsFormat.TSV,
)
GRAPH_FORMATS: tuple[RdfFormat, ...] = (
    RdfFormat.TURTLE,
    RdfFormat.N_TRIPLES,
    RdfFormat.JSON_LD,
    RdfFormat.RDF_XML,
    RdfFormat.TRIG,
    RdfFormat.N_QUADS,
)
# The formats offered for each kind of query result, the default first.
FORMATS: dict[str, tuple[Format, ...]] = {
    "solutions": RESULT_FORMATS,
    "boolean": RESULT_FORMATS,
    "triples": GRAPH_FORMATS,
}
# Short names of the `format` parameter that pyoxigraph's from_extension does not know.
_SHORT_NAMES: dict[str, str] = {"turtle": "ttl", "rdfxml": "rdf", "rdf+xml": "rdf", "json-ld": "jsonld", "ntriples": "nt", "nquads": "nq"}
_HTML = ("text/html", "application/xhtml+xml")


def base_type(media_type: str) -> str:
    """``'text/csv; charset=utf-8'`` → ``'text/csv'``."""
    return media_type.split(";", 1)[0].strip().lower()


def _resolve(name: str, formats: tuple[Format, ...]) -> Format | None:
    """The format among ``formats`` that pyoxigraph maps ``name`` (media type or extension) to."""
    name = name.strip()
    enum = type(formats[0])
    found = enum.from_media_type(name) if "/" in name else enum.from_extension(_SHORT_NAMES.get(name.lower(), name.lower()))
    # Compared by media type: a JSON-LD profile gives a format that is not == RdfFormat.JSON_LD.
    return next((f for f in formats if found is not None and base_type(f.media_type) == base_type(found.media_type)), None)


def _ranges(accept: str | None) -> list[tuple[str, float]]:
    """The media ranges of an Accept header with their quality (invalid q: range ignored)."""
    return list(parse_accept_header(accept, MIMEAccept)) if accept and accept.strip() else []


def _specificity(media_range: str, fmt: Format) -> tuple[int, int] | None:
    """How specifically ``media_range`` designates ``fmt`` (None: it does not)."""
    mtype, params = parse_options_header(media_range)
    if mtype == "*/*":
        return (0, 0)
    if "/" not in mtype:
        return None
    if mtype.endswith("/*"):
        return (1, 0) if base_type(fmt.media_type).split("/")[0] == mtype[:-2] else None
    return (2, len(params)) if _resolve(media_range, (fmt,)) is not None else None


def _quality(ranges: list[tuple[str, float]], fmt: Format) -> tuple[float, tuple[int, int]]:
    """Quality of ``fmt``: that of the most specific matching range (0 if none matches)."""
    best: tuple[tuple[int, int], float] | None = None
    for media_range, q in ranges:
        spec = _specificity(media_range, fmt)
        if spec is not None and (best is None or spec > best[0] or (spec == best[0] and q > best[1])):
            best = (spec, q)
    return (0.0, (-1, 0)) if best is None else (best[1], best[0])


def prefers_html(accept: str | None) -> bool:
    """True when the client (a browser) ranks an HTML type at least as high as anything else."""
    ranges = [(base_type(r), q) for r, q in _ranges(accept)]
    top = max((q for _, q in ranges), default=0.0)
    return top > 0 and any(r in _HTML and q == top for r, q in ranges)


def negotiate(accept: str | None, format_param: str | None, formats: tuple[Format, ...]) -> Format | None:
    """The format to answer in, among ``formats`` (the first is the default); None: 406.

    ``format_param`` (short name or media type) overrides the Accept header. No Accept (or an
    empty one) gives the default. A browser (HTML preferred) asking for results gets the
    default: the ``application/xml;q=0.9`` in browsers' headers is boilerplate, not a request
    for SPARQL XML.
    """
    if format_param is not None and format_param.strip():
        return _resolve(format_param, formats)
    ranges = _ranges(accept)
    if not ranges or prefers_html(accept):
        return formats[0]
    best: Format | None = None
    best_key: tuple[float, tuple[int, int]] = (0.0, (-1, 0))
    for fmt in formats:
        key = _quality(ranges, fmt)
        if key[0] > 0 and key > best_key:
            best, best_key = fmt, key
    return best


@functools.lru_cache(maxsize=512)  # pure, called on every query with a handful of distinct headers
def choose_format(kind: str, accept: str | None, format_param: str | None) -> tuple[str, Format] | None:
    """(media type, pyoxigraph format) for a result of ``kind`` ("solutions", "boolean" or
    "triples"), or None when nothing acceptable can be produced (the caller answers 406)."""
    fmt = negotiate(accept, format_param, FORMATS[kind])
    return None if fmt is None else (fmt.media_type, fmt)


def offered(kind: str) -> str:
    """The media types offered for ``kind``, for a 406 message."""
    return ", ".join(base_type(f.media_type) for f in FORMATS[kind])
