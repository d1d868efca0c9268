"""The /sparql blueprint: SPARQL 1.1 Protocol query endpoint, read-only.

Thin on purpose: protocol.py parses the request, the runtime's executor evaluates the query in a
killable process and serializes it with pyoxigraph in the format negotiation.py chooses, and this
module answers with those chunks (the runtime reads them whole first, so that the truncation
header is known before the first byte). Without a query it answers the query UI (browsers) or the service
description (everyone else). Every response varies on Accept and carries
``Access-Control-Allow-Origin: *`` (no credentials: the endpoint is public and read-only).
"""

from __future__ import annotations

import importlib
import logging
import re

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException

from . import errors, lease, negotiation, protocol, service_description
from .errors import ProtocolError
from .executor import Job, QueryError, QueryService, QueryTimeout

bp = Blueprint("sparql", __name__)
log = logging.getLogger(__name__)

# PUT, DELETE and PATCH are routed here so that they get our 405 (with Allow), not Flask's page.
ROUTED_METHODS = [*protocol.ALLOWED_METHODS, "PUT", "DELETE", "PATCH"]
TRUNCATED, MAX_ROWS = "Innograph-Truncated", "Innograph-Max-Rows"
_HEADER_LIST = re.compile(r"^[A-Za-z0-9\-, ]*$")
_POSITION = re.compile(r"(error at )(\d+):")


@bp.route("/sparql", methods=ROUTED_METHODS)
def endpoint() -> Response:
    if request.method == "OPTIONS":
        return _preflight()
    accept = request.headers.get("Accept")
    body = _body() if request.method == "POST" else b""
    query = protocol.parse_request(request.method, request.headers.get("Content-Type"), request.args.items(multi=True), body)
    if query.query is None:
        return _without_query(accept, query.format)
    config = current_app.config
    if not config["ALLOW_SERVICE"] and protocol.uses_service(query.query):
        raise errors.forbidden_feature("SERVICE (federated query)", "ALLOW_SERVICE")
    # The base IRI of a query sent to the endpoint is the endpoint's URL (so CONSTRUCT { <s> <p> 1 }
    # works, W3C query_content_type_construct). Job has no base_iri field: a BASE line says it.
    text = f"BASE <{_endpoint_url()}>\n{query.query}"
    job = Job(text, tuple(query.default_graph_uris), tuple(query.named_graph_uris), accept=accept, format=query.format)
    try:
        outcome = _runtime().run(job)
    except QueryError as error:
        raise _query_error(error) from None
    response = Response(b"".join(outcome.chunks), content_type=outcome.media_type)  # read whole already: one write
    if outcome.truncated:
        response.headers[TRUNCATED] = "true"
        response.headers[MAX_ROWS] = str(config["MAX_ROWS"])
    return response


def _query_error(error: QueryError) -> ProtocolError:
    """The executor's errors, classified by cause (timeout first: it is a QueryError too)."""
    if isinstance(error, QueryTimeout):
        return errors.timeout(current_app.config["QUERY_TIMEOUT"])
    if error.reason == "syntax":  # pyoxigraph's message, with line and column (one line less: the BASE line)
        return errors.bad_request(_POSITION.sub(lambda m: f"{m[1]}{int(m[2]) - 1}:", error.message))
    if error.reason == "not-acceptable":
        return errors.not_acceptable(negotiation.offered(error.kind or "solutions"))
    if error.reason == "unavailable":
        log.error("SPARQL query service unavailable: %s", error.message)
        public = getattr(error, "public", None)  # remote.StoreUnreachable names the external store
        return ProtocolError(503, public or "The store is not available right now (loading or restarting); try again shortly", {"Retry-After": "5"})
    log.error("SPARQL query failed during evaluation: %s", error.message)
    return ProtocolError(500, "The query failed while it was evaluated (the error has been logged)")


def _body() -> bytes:
    """The raw request body, read once, at most ``MAX_BODY`` bytes (413 beyond)."""
    limit = current_app.config["MAX_BODY"]
    if request.content_length is not None and request.content_length > limit:
        raise errors.payload_too_large(limit)
    data = request.stream.read(limit + 1)
    if len(data) > limit:
        raise errors.payload_too_large(limit)
    return data


def _without_query(accept: str | None, format_param: str | None) -> Response:
    """Browsers get the query UI; other clients the service description, negotiated."""
    if format_param is None and negotiation.prefers_html(accept):
        return _query_ui()
    fmt = negotiation.negotiate(accept, format_param, service_description.FORMATS)
    if fmt is None:
        raise errors.not_acceptable(", ".join(negotiation.base_type(f.media_type) for f in service_description.FORMATS))
    config = current_app.config
    body = service_description.render(_endpoint_url(), _graph_counts(), config["ALLOW_SERVICE"], fmt)
    return Response(body, content_type=fmt.media_type)


def _endpoint_url() -> str:
    return f"{current_app.config['PUBLIC_URL']}{request.script_root}/sparql"


def _query_ui() -> Response:
    try:
        render_query_ui = importlib.import_module(".ui", __package__).render_query_ui
    except (ImportError, AttributeError):
        return Response(_MINIMAL_FORM, content_type="text/html; charset=utf-8")
    return render_query_ui()


_MINIMAL_FORM = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>SPARQL</title></head>
<body><h1>SPARQL endpoint</h1>
<form method="post" action="sparql">
<textarea name="query" rows="12" cols="80">SELECT * WHERE { ?s ?p ?o } LIMIT 10</textarea><br>
<select name="format"><option>json</option><option>xml</option><option>csv</option><option>tsv</option></select>
<button type="submit">Run</button>
</form></body></html>
"""


def _preflight() -> Response:
    """CORS preflight: any origin, our methods, the headers asked for; no credentials."""
    response = Response(status=204)
    response.headers["Allow"] = ", ".join(protocol.ALLOWED_METHODS)
    response.headers["Access-Control-Allow-Methods"] = ", ".join(protocol.ALLOWED_METHODS)
    asked = request.headers.get("Access-Control-Request-Headers", "")
    response.headers["Access-Control-Allow-Headers"] = asked if _HEADER_LIST.match(asked) and asked else "Accept, Content-Type"
    response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.after_request
def _cors_and_vary(response: Response) -> Response:
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = f"{TRUNCATED}, {MAX_ROWS}"
    response.vary.add("Accept")
    return response


@bp.errorhandler(ProtocolError)
def _protocol_error(error: ProtocolError) -> Response:
    body, media_type = errors.render(error, request.headers.get("Accept"))
    return Response(body, status=error.status, content_type=media_type, headers=error.headers)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Response:
    headers = dict(error.get_headers())
    headers.pop("Content-Type", None)
    return _protocol_error(ProtocolError(error.code or 500, error.description or error.name, headers))


@bp.errorhandler(Exception)
def _internal_error(error: Exception) -> Response:
    """A failure of ours (store, executor): logged with its trace, answered without internals."""
    log.exception("SPARQL request failed: %s %s", request.method, request.full_path)
    return _protocol_error(ProtocolError(500, "Internal error while running the query (it has been logged)"))


_GRAPH_COUNTS = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def _graph_counts() -> dict[str, int | None]:
    """Named graphs and their sizes. Counting takes about a second per million triples, so it is
    done once per store generation: the counts the store opened with, then a query (through the
    pool, under the timeout) after each write, cached in ``app.extensions``."""
    service = _runtime()
    try:
        service.wait_ready(current_app.config["QUERY_TIMEOUT"])
        generation = service.generation
        if generation == 0 and service.info.get("graphs") is not None:
            return {g: n for g, n in service.info["graphs"].items() if g}  # "" is the default graph
        cache = current_app.extensions.setdefault("innograph.sparql.graph_counts", {})
        if generation not in cache:
            _, (_, rows), _ = service.terms(_GRAPH_COUNTS)
            cache.clear()
            cache[generation] = {g.value: int(n.value) for g, n in rows  # a write's lease (lease.py) is not data
                                 if g is not None and n is not None and not g.value.startswith(lease.PREFIX)}
        return cache[generation]
    except QueryError as error:
        raise _query_error(error) from None


def _runtime() -> QueryService:
    """The runtime's query service, ``app.extensions["innograph"]``."""
    return current_app.extensions["innograph"]
