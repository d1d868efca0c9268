"""Linked-data pages: every IRI under ``BASE_IRI`` served at the same path on this host.

``GET /id/{kind}/{slug}`` answers 200 with content negotiation (``Vary: Accept``): HTML for
browsers, Turtle (also for ``*/*`` and no Accept), JSON-LD, RDF/XML, N-Triples, and TriG /
N-Quads for the form that keeps each statement's named graph (its source). ``?format=`` (html,
ttl, jsonld, rdf, nt, trig, nq, or a media type) overrides Accept, and ``Content-Location`` always
names the format-specific URL (``/id/pole/biowin?format=ttl``). Unknown IRIs get a 404 in the
negotiated format. The IRI looked up is the path as sent (percent-encoding kept), then its IRI
form (RFC 3987: UTF-8 escapes decoded), so an IRI written ``…/caf%C3%A9`` or ``…/café`` resolves.

The home page and the ontology and shapes documentation are registered on the same blueprint
(home.py, ontology_pages.py); this module holds the routes of things and the HTTP glue.
``GET /graph/{name}`` describes a named graph the same way (its record in graph/meta).
"""

from __future__ import annotations

import logging
import re
import string
from collections.abc import Iterable, Mapping
from urllib.parse import quote, urlencode

from flask import Blueprint, Response, current_app, make_response, render_template, request
from pyoxigraph import NamedNode, Quad, RdfFormat, serialize
from werkzeug.urls import iri_to_uri

from . import describe, i18n, negotiation, shape
from .executor import QueryError
from .namespaces import PREFIXES
from .page_text import MESSAGES

bp = Blueprint("pages", __name__)
log = logging.getLogger(__name__)
bp.record_once(lambda state: i18n.init_app(state.app))

HTML = "html"
RDF_FORMATS: tuple[RdfFormat, ...] = negotiation.GRAPH_FORMATS  # Turtle first: the default
QUAD_FORMATS = (RdfFormat.TRIG, RdfFormat.N_QUADS)
_HTML_NAMES = {"html", "htm", "text/html", "application/xhtml+xml"}


# -- negotiation and URLs -----------------------------------------------------------------------


def choose(accept: str | None, format_param: str | None) -> str | RdfFormat | None:
    """HTML, an RDF format, or None (406): ``?format=`` first, then Accept (HTML when the client
    ranks it highest, as browsers do; Turtle for ``*/*`` and no Accept)."""
    if format_param is not None and format_param.strip():
        if format_param.strip().lower() in _HTML_NAMES:
            return HTML
        return negotiation.negotiate(None, format_param, RDF_FORMATS)
    if negotiation.prefers_html(accept):
        return HTML
    return negotiation.negotiate(accept, None, RDF_FORMATS)


def format_name(fmt: str | RdfFormat) -> str:
    """The ``?format=`` value naming ``fmt``: html, ttl, nt, jsonld, rdf, trig, nq."""
    return HTML if fmt == HTML else fmt.file_extension


def media_type(fmt: str | RdfFormat) -> str:
    return "text/html; charset=utf-8" if fmt == HTML else fmt.media_type


def base_iri() -> str:
    return current_app.config.get("BASE_IRI") or "https://w3id.org/innograph/"


def link(iri: str) -> str:
    """The href of ``iri``: IRIs under BASE_IRI are served here (root-relative), others as is."""
    base = base_iri()
    if iri.startswith(base):
        return f"{request.script_root}/{iri_to_uri(iri[len(base):])}"
    return iri


def raw_path() -> str:
    """The request path as the client sent it (percent-encoding kept), without the app root."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw:
        path = raw.split("?", 1)[0].split("#", 1)[0]
        if "://" in path:  # absolute-form request target
            path = "/" + path.split("://", 1)[1].partition("/")[2]
        path = path.encode("latin-1").decode("utf-8", "replace")
    else:
        path = quote(request.path, safe="/:@!$&'()*+,;=-._~")
    root = request.script_root
    return path[len(root):] if root and path.startswith(root) else path


def candidate_iris(path: str, base: str) -> list[str]:
    """The IRIs a request path may name under ``base``: as sent, then in IRI form (RFC 3987
    §3.2: escapes of non-ASCII UTF-8 and of unreserved characters decoded, the others kept, so
    ``%26`` stays ``%26``: ``&`` would name another resource)."""
    found: list[str] = []
    for form in (path, iri_form(path)):
        iri = base.rstrip("/") + form
        if iri not in found:
            try:
                NamedNode(iri)
            except ValueError:
                continue
            found.append(iri)
    return found


_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2})+")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")


def iri_form(path: str) -> str:
    """``/id/x/caf%C3%A9-r%26d`` → ``/id/x/café-r%26d``."""

    def decode(match: re.Match[str]) -> str:
        try:
            text = bytes.fromhex(match.group(0).replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return match.group(0)
        return "".join(c if ord(c) > 127 or c in _UNRESERVED else f"%{ord(c):02X}" for c in text)

    return _ESCAPES.sub(decode, path)


def sparql_query(iri: str) -> str:
    """A query that reproduces the description (statements of and about ``iri``, by graph)."""
    term = str(NamedNode(iri))
    return (f"# {shape.compact(iri)}: what each source (named graph) says of it and about it\n"
            "SELECT ?g ?s ?p ?o WHERE {\n"
            f"  {{\n    GRAPH ?g {{ {term} ?p ?o }}\n    BIND({term} AS ?s)\n  }}\n"
            f"  UNION\n  {{\n    GRAPH ?g {{ ?s ?p {term} }}\n    BIND({term} AS ?o)\n  }}\n"
            "}\nORDER BY ?g ?s ?p ?o")


def sparql_links(query: str) -> dict[str, str]:
    """Links that open ``query`` in the query editor, or run it and return SPARQL JSON."""
    root = request.script_root
    return {"editor": f"{root}/sparql#{urlencode({'query': query})}",
            "run": f"{root}/sparql?{urlencode({'query': query, 'format': 'json'})}"}


# -- the store ----------------------------------------------------------------------------------


def select(query: str, bindings: Mapping[str, object]) -> Iterable[Mapping[str, object]]:
    """Run a SELECT with bound terms (substitutions) in an executor; rows as {variable: term}."""
    _, (names, rows), _ = current_app.extensions["innograph"].terms(query, substitutions=bindings)
    for row in rows:
        yield {name: term for name, term in zip(names, row) if term is not None}


def rdf_body(quads: list[Quad], fmt: RdfFormat) -> bytes:
    """The quads (TriG, N-Quads) or their distinct triples (other formats), with the prefixes used."""
    used = {t.value for q in quads for t in (q.subject, q.predicate, q.object, q.graph_name) if isinstance(t, NamedNode)}
    prefixes = {p: ns for p, ns in PREFIXES.items() if any(u.startswith(ns) for u in used)}
    if fmt in QUAD_FORMATS:
        return serialize(quads, format=fmt, prefixes=prefixes)
    triples = list(dict.fromkeys(q.triple for q in quads))
    return serialize(triples, format=fmt, prefixes=prefixes)


def negotiated(fmt: str | RdfFormat, body: bytes | str, status: int = 200, location: str | None = None) -> Response:
    response = make_response(body, status)
    response.headers["Content-Type"] = media_type(fmt)
    response.vary.add("Accept")
    if location:
        response.headers["Content-Location"] = location
    if fmt == HTML:
        response.headers["Content-Language"] = i18n.request_lang()
    return response


@bp.errorhandler(QueryError)
def _store_unavailable(error: QueryError) -> Response:
    """A page whose queries timed out or found no executor: 503, to be retried."""
    log.warning("page %s: %s (%s)", request.path, error.message, error.reason)
    public = getattr(error, "public", None)  # remote.StoreUnreachable names the external store
    response = make_response(f"{public or 'The store is busy or unavailable; retry in a few seconds.'}\n", 503)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.headers["Retry-After"] = "5"
    return response


def not_acceptable() -> Response:
    offered = ", ".join(["text/html"] + [negotiation.base_type(f.media_type) for f in RDF_FORMATS])
    response = make_response(f"Not acceptable: this resource is available as {offered} (or ?format=).\n", 406)
    response.headers["Content-Type"] = "text/plain; charset=utf-8"
    response.vary.add("Accept")
    return response


def format_links(path: str) -> list[tuple[str, str, str]]:
    """(name, media type, href) of each representation of the resource at ``path``."""
    root = request.script_root
    return [(f.name, negotiation.base_type(f.media_type), f"{root}{path}?format={f.file_extension}") for f in RDF_FORMATS]


# -- things ------------------------------------------------------------------------------------


@bp.route("/id/<path:rest>")
@bp.route("/graph/<path:rest>")  # named graphs: what graph/meta says of them (source, record)
def thing(rest: str) -> Response:
    fmt = choose(request.headers.get("Accept"), request.args.get("format"))
    if fmt is None:
        return not_acceptable()
    path = raw_path()
    gathered = None
    for iri in candidate_iris(path, base_iri()):
        gathered = describe.gather(select, iri)
        if gathered.exists:
            break
    location = f"{request.script_root}{path}?format={format_name(fmt)}"
    if gathered is None or not gathered.exists:
        return _not_found(fmt, path)
    if fmt != HTML:
        return negotiated(fmt, rdf_body(gathered.quads, fmt), location=location)
    page = shape.shape(gathered, i18n.request_lang(), link)
    body = render_template("resource.html", page=page, formats=format_links(path),
                           sparql=sparql_links(sparql_query(gathered.iri)))
    return negotiated(HTML, body, location=location)


def _not_found(fmt: str | RdfFormat, path: str) -> Response:
    if fmt == HTML:
        body = render_template("not_found.html", iri=base_iri().rstrip("/") + path)
        return negotiated(HTML, body, status=404)
    return negotiated(fmt, rdf_body([], fmt), status=404)


@bp.context_processor
def _messages() -> dict[str, object]:
    """``m``: this blueprint's interface texts in the page's language."""
    lang = i18n.request_lang()
    return {"m": {key: i18n.text(MESSAGES, key, lang) for key in MESSAGES}}


from . import home, ontology_pages  # noqa: E402,F401  (their routes are on this blueprint)
