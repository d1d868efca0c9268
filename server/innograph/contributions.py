"""The contribution workflow: POST /validate, POST/GET /contributions, GET/DELETE /contributions/{id}.

Thin views over pure parts: rdfinput (safe parsing), policy (own graph only), validation (the
contribution plus its neighbourhood, sparqlsource over the runtime's executors), provenance (the
PROV record and the journal operations), archive (every submission, fsync'ed before the answer)
and tokens (hashed, roles).  A write is one ``apply_write`` of the runtime (executor.py): it is
journaled and fsync'ed before it returns, so a 201 leaves only once the contribution is durable.
Validation and write happen under the runtime's ``write_lock``, so two concurrent contributions
never both pass a check (a maxCount, say) that only one of them may pass: a lock of the process on
the embedded store, and on an external store also a write lease in the store (lease.py), which
replicas sharing it take in turn; one that cannot have it in time answers 503 (retry).
A full disk (archive or journal) is answered 507 with nothing recorded (diskfull.py); queries go
on meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, make_response, render_template, request, url_for
from rdflib import Graph

from . import errors, policy, provenance
from .archive import Archive, Submission, new_id
from .diskfull import DiskFull
from .lease import WriteBusy
from .pool import NotApplied, QueryError
from .ratelimit import FailureLimiter
from .rdfinput import InputError, format_for_media_type, parse_payload
from .records import list_records
from .sparqlsource import QuerySource, service_runner
from .tokens import Holder, Tokens, bearer
from .validation import Report, Shapes, validate_contribution

bp = Blueprint("contributions", __name__)
log = logging.getLogger(__name__)
NOT_VALIDATED = ("shapes", "inferred")  # graphs that are not data to validate
REPORT_TYPES = ("application/json", "text/turtle", "application/ld+json", "text/html")
STATUSES = ("accepted", "retracted")  # of a contribution record (provenance.py)


class Service:
    """The workflow's state: ``app.extensions["innograph.contributions"]``."""

    def __init__(self, app):
        settings = app.config
        runtime = app.extensions["innograph"]
        self.queries = getattr(runtime, "queries", runtime)  # executor.QueryService
        repo = Path(settings["REPO_DIR"])
        self.settings = settings
        self.shapes = Shapes.from_paths(sorted((repo / "shapes").glob("*.ttl")))
        self.tokens = Tokens(settings["TOKENS"])
        self.guard = FailureLimiter(int(settings["AUTH_FAILURES"]), float(settings["AUTH_WINDOW"]))
        self.archive = Archive(Path(settings["STORE"]) / "archive")
        self.iris = provenance.Iris(settings["BASE_IRI"])
        exclude = [str(self.iris.base) + "graph/" + g for g in NOT_VALIDATED]
        self.source = QuerySource(service_runner(self.queries), exclude)

    def validate(self, data: Graph) -> Report:
        self.queries.wait_ready()
        return validate_contribution(data, self.source, self.shapes, allow_warnings=True)

    def write_lock(self) -> Any:
        """The runtime's lock of validation + write (a context manager), waited for as long as a
        query may run."""
        return self.queries.write_lock(time.monotonic() + self.queries.timeout)


def service() -> Service:
    """The app's Service, made by the first request that needs it. Checked again under the lock:
    a Service opens the archive's journal (an exclusive lock), so concurrent first requests must
    not each build one (the second failed with "held by another innograph process": a 500)."""
    ext = current_app.extensions
    found = ext.get("innograph.contributions")
    if found is None:
        with _INIT:
            found = ext.get("innograph.contributions")
            if found is None:
                found = ext["innograph.contributions"] = Service(current_app)
    return found


_INIT = threading.Lock()


@bp.errorhandler(InputError)
def _input_error(error: InputError) -> Response:
    return make_response(jsonify(error.as_dict()), error.status)


def _read_body() -> bytes:
    cap = int(current_app.config["MAX_BODY"])
    if request.content_length is not None and request.content_length > cap:
        raise InputError(413, f"The payload has {request.content_length} bytes; the cap is {cap}")
    body = request.stream.read(cap + 1)
    if len(body) > cap:
        raise InputError(413, f"The payload is over the cap of {cap} bytes")
    return body


def _parse(body: bytes):
    return parse_payload(body, format_for_media_type(request.headers.get("Content-Type")),
                         max_bytes=int(current_app.config["MAX_BODY"]), max_triples=int(current_app.config["MAX_TRIPLES"]))


def _report_response(report: Report, status: int, headers: dict[str, str] | None = None, **extra: Any) -> Response:
    kind = request.accept_mimetypes.best_match(REPORT_TYPES, default="application/json")
    if request.args.get("format") in ("ttl", "jsonld", "json", "html"):
        kind = {"ttl": "text/turtle", "jsonld": "application/ld+json", "json": "application/json", "html": "text/html"}[request.args["format"]]
    if kind == "text/turtle":
        response = make_response(report.graph.serialize(format="turtle"), status)
    elif kind == "application/ld+json":
        response = make_response(report.graph.serialize(format="json-ld"), status)
    elif kind == "text/html":
        response = make_response(render_template("report.html", report=report, extra=extra), status)
    else:
        response = make_response(jsonify({**report.as_dict(), **extra}), status)
    response.headers["Content-Type"] = kind + ("; charset=utf-8" if kind in ("text/html", "text/turtle") else "")
    response.vary.add("Accept")
    response.headers.update(headers or {})
    return response


@bp.post("/validate")
def validate_view() -> Response:
    """Validate RDF against the shapes with the store's relevant data; write nothing."""
    payload = _parse(_read_body())
    report = service().validate(payload.graph).with_lines(payload.text, payload.prefixes)
    return _report_response(report, 200)


def _holder(role: str) -> Holder:
    svc, client = service(), request.remote_addr or "-"
    wait = svc.guard.retry_after(client)  # token guessing: see ratelimit.py
    if wait is not None:
        raise _Abort(_json_error(f"Too many unknown tokens from {client}; try again in {wait} s", 429, retry_after=wait))
    token = bearer(request.headers.get("Authorization"))
    holder = svc.tokens.holder(token)
    if holder is None and token:
        svc.guard.failed(client)
    if holder is None:
        response = _json_error("A token is required (Authorization: Bearer TOKEN)", 401)
        response.headers["WWW-Authenticate"] = 'Bearer realm="innograph"'
        raise _Abort(response)
    if not holder.may(role):
        raise _Abort(_json_error(f"This needs the {role} role", 403))
    return holder


class _Abort(Exception):
    def __init__(self, response: Response):
        self.response = response


def _json_error(message: str, status: int, retry_after: int | None = None) -> Response:
    """The JSON error of these routes: ``{"ok": false, "error", "status"}``, and Retry-After if given."""
    response = make_response(jsonify({"ok": False, "error": message, "status": status}), status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(_Abort)
def _abort(error: _Abort) -> Response:
    return error.response


@bp.errorhandler(DiskFull)
def _disk_full(error: DiskFull) -> Response:
    """A write of the archive or of the store's journal found the disk full and undid what it had
    begun: 507, and a log line for whoever has to free the space."""
    log.error("%s %s refused, the store's disk is full: %s", request.method, request.path, error)
    what = "the retraction was not made" if request.method == "DELETE" else "the contribution was not accepted"
    what += " and nothing of it was recorded in the data"
    problem = errors.insufficient_storage(what)
    return _json_error(problem.message, problem.status)


@bp.errorhandler(WriteBusy)
def _write_busy(error: WriteBusy) -> Response:
    """Another replica (or request) held the store's write lease past the wait: 503, nothing
    written, and a short Retry-After (a write takes seconds)."""
    message = error.message[:1].upper() + error.message[1:]
    return _json_error(message, 503, retry_after=2)


@bp.errorhandler(NotApplied)
def _not_applied(error: NotApplied) -> Response:
    """The write is in the journal but the store could not apply it: 503 saying exactly that, so
    that the client does not send it again (it would be a second contribution)."""
    log.error("%s %s journaled but not applied: %s", request.method, request.path, error)
    what = "retraction" if request.method == "DELETE" else "contribution"
    message = (f"The {what} is recorded in the store's journal, but the store could not apply it now "
               f"({error.message}); it will be applied when the server next starts. Do not send it again.")
    return _json_error(message, 503)


@bp.errorhandler(QueryError)
def _store_unavailable(error: QueryError) -> Response:
    """The store did not answer a validation query in time (or at all): 503, nothing written."""
    log.warning("%s %s: %s (%s)", request.method, request.path, error.message, error.reason)
    public = getattr(error, "public", None)  # remote.StoreUnreachable names the external store
    message = public or f"The store could not answer in time ({error.message}); nothing was written, retry shortly."
    return _json_error(message, 503, retry_after=5)


@bp.post("/contributions")
def contribute() -> Response:
    holder = _holder("contributor")
    svc = service()
    cid, now = new_id(), datetime.now(timezone.utc)
    source, message = request.args.get("source"), request.args.get("message")
    media_type = request.headers.get("Content-Type")
    meta = {"id": cid, "at": now.isoformat(timespec="seconds"), "contributor": holder.name, "source": source, "message": message, "media_type": media_type}
    try:
        body = _read_body()
    except InputError as e:
        svc.archive.record(Submission(**meta, payload_sha256=None, bytes=request.content_length or 0, triples=None, verdict="refused", status=e.status, error=e.message), None)
        raise
    sha, size, triples = None, len(body), None
    try:
        if not source or not source.strip():
            raise InputError(400, "The cited source is missing: add ?source=IRI-or-URL")
        _check_source(source)
        payload = _parse(body)
        sha, triples = payload.sha256, len(payload.graph)
        policy.check(payload, svc.iris.base)
    except InputError as e:
        import hashlib

        svc.archive.record(Submission(**meta, payload_sha256=sha or hashlib.sha256(body).hexdigest(), bytes=size, triples=triples,
                                      verdict="refused", status=e.status, error=e.message), body)
        raise
    with svc.write_lock():
        report = svc.validate(payload.graph).with_lines(payload.text, payload.prefixes)
        status = 201 if report.conforms else 422
        submission = Submission(**meta, payload_sha256=sha, bytes=size, triples=triples, verdict="conforms" if report.conforms else "violations",
                                status=status, results=len(report.results))
        archived = svc.archive.record(submission, body)
        if not report.conforms:
            return _report_response(report, 422, id=cid)
        record = provenance.Record(cid, holder.name, meta["at"], source.strip(), message, sha, payload.format.media_type, triples, "accepted")
        try:
            svc.queries.apply_write(provenance.accept_ops(record, payload.graph, svc.iris), contribution=cid, contributor=holder.name)
        except (DiskFull, WriteBusy) as error:  # the journal cut its partial record, or the lease ran out: nothing applied
            status = 507 if isinstance(error, DiskFull) else 503
            svc.archive.withdraw(archived, replace(submission, verdict="refused", status=status, error=str(error)))
            raise
        except NotApplied as error:  # durable, applied at the next start: neither accepted now nor refused
            svc.archive.withdraw(archived, replace(submission, verdict="journaled", status=503, error=str(error)))
            raise
    location = url_for("contributions.show", cid=cid)
    return _report_response(report, 201, {"Location": location}, id=cid, location=location, graph=str(svc.iris.graph(cid)))


def _check_source(source: str) -> None:
    import pyoxigraph as ox

    try:
        ox.NamedNode(source.strip())
    except ValueError:
        raise InputError(400, f"The cited source must be an absolute IRI or URL: {source!r}") from None


@bp.get("/contributions")
def index() -> Response:
    svc = service()
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        return _json_error(f"Unknown status {status!r}; use one of {', '.join(STATUSES)}", 400)
    records = list_records(svc.queries, svc.iris, status=status, contributor=request.args.get("contributor"))
    if request.accept_mimetypes.best_match(["application/json", "text/html"], default="application/json") == "text/html":
        return make_response(render_template("contribution.html", records=records, record=None, triples=None))
    return jsonify({"contributions": [r.as_dict() for r in records]})


@bp.get("/contributions/<cid>")
def show(cid: str) -> Response:
    svc = service()
    found = list_records(svc.queries, svc.iris, cid=cid)
    if not found:
        return _json_error(f"No contribution {cid}", 404)
    record = found[0]
    kind = request.accept_mimetypes.best_match(["text/html", "application/json", "text/turtle", "application/n-triples"], default="application/json")
    if kind in ("text/turtle", "application/n-triples"):
        body = svc.queries.graph("CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }", {"g": _ox(svc.iris.graph(cid))}, media_type=kind)
        response = make_response(body)
        response.headers["Content-Type"] = kind
    elif kind == "text/html":
        response = make_response(render_template("contribution.html", records=None, record=record))
    else:
        response = jsonify(record.as_dict())
    response.vary.add("Accept")
    return response


@bp.delete("/contributions/<cid>")
def retract(cid: str) -> Response:
    holder = _holder("curator")
    svc = service()
    with svc.write_lock():
        found = list_records(svc.queries, svc.iris, cid=cid)
        if not found:
            return _json_error(f"No contribution {cid}", 404)
        if found[0].status != "accepted":
            return _json_error(f"Contribution {cid} is already {found[0].status}", 409)
        svc.queries.apply_write(provenance.retract_ops(cid, holder.name, datetime.now(timezone.utc), svc.iris), retraction=cid, curator=holder.name)
    return jsonify(list_records(svc.queries, svc.iris, cid=cid)[0].as_dict())


def _ox(term):
    from .rdfinput import to_ox

    return to_ox(term)



