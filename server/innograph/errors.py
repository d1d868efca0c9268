"""One error shape for the SPARQL endpoint (pure: no Flask).

Errors are classified by cause with small named constructors, as the oxigraph server does
(``bad_request``, ``unsupported_media_type``…); the blueprint renders them with
:func:`render`: ``{"ok": false, "error": msg, "status": N}`` (datasette's shape) when the client
accepts JSON, ``text/plain`` otherwise. A store failure is not a ``ProtocolError``: it is logged
and answered 500 without internals (see ``sparql.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header


class ProtocolError(Exception):
    """A request the endpoint will not answer with results: an HTTP status and a message for
    the client (never a stack trace), plus headers such as ``Allow``."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}

    def __repr__(self) -> str:
        return f"ProtocolError({self.status}, {self.message!r})"


def bad_request(message: str) -> ProtocolError:
    """400: malformed request or query (syntax errors carry the parser's message and position)."""
    return ProtocolError(400, message)


def forbidden_feature(feature: str, setting: str | None = None) -> ProtocolError:
    """403: a valid request this endpoint refuses by policy (e.g. ``SERVICE`` while
    ``ALLOW_SERVICE`` is off): understood, not a client mistake, not going to be served."""
    hint = f" (setting INNOGRAPH_{setting})" if setting else ""
    return ProtocolError(403, f"{feature} is disabled on this endpoint{hint}")


def method_not_allowed(method: str, allowed: Iterable[str]) -> ProtocolError:
    """405 with the ``Allow`` header RFC 9110 §15.5.6 requires."""
    allow = ", ".join(allowed)
    return ProtocolError(405, f"The method {method} is not allowed here; use one of {allow}", {"Allow": allow})


def not_acceptable(offered: str) -> ProtocolError:
    """406: nothing in the Accept header (or the ``format`` parameter) can be produced."""
    return ProtocolError(406, f"The Accept header or format parameter matches no format offered for this result: {offered}")


def payload_too_large(limit: int) -> ProtocolError:
    """413: the request body exceeds ``MAX_BODY``."""
    return ProtocolError(413, f"The request body exceeds {limit} bytes (setting INNOGRAPH_MAX_BODY)")


def unsupported_media_type(media_type: str, accepted: Iterable[str], why: str = "") -> ProtocolError:
    """415: a request body in a media type (or charset) this endpoint does not read."""
    return ProtocolError(415, f"Unsupported Content-Type {media_type!r}{why}; send one of {', '.join(accepted)}")


def timeout(seconds: float) -> ProtocolError:
    """503: the query ran past ``QUERY_TIMEOUT`` and was stopped.

    Not 504: that status says an upstream gateway failed, which sends people looking at the
    proxy; here the server itself declined to spend more time (Fuseki also answers 503). No
    ``Retry-After``: the same query would time out again.
    """
    return ProtocolError(503, f"The query was stopped after {seconds:g} s (setting INNOGRAPH_QUERY_TIMEOUT); make it more selective or add a LIMIT")


def insufficient_storage(what: str) -> ProtocolError:
    """507 (RFC 4918 §11.5): the store's disk is full, so ``what`` could not be written; whatever
    had begun was undone. Not 500 (nothing is broken: freeing space fixes it) nor 503 with a
    Retry-After (the server cannot know when space comes back)."""
    return ProtocolError(507, f"The store's disk is full: {what}. Try again once space has been freed on the server")


def wants_json(accept: str | None) -> bool:
    """Whether an error should be rendered as JSON for this Accept header: any JSON type (SPARQL
    JSON results, JSON-LD, ``application/json``) preferred to ``text/plain``."""
    ranges = parse_accept_header(accept, MIMEAccept)
    best = ranges.best_match(["text/plain", "application/json", "application/sparql-results+json", "application/ld+json"])
    return best is not None and best != "text/plain"


def render(error: ProtocolError, accept: str | None) -> tuple[str, str]:
    """(body, media type) of ``error`` for a client sending ``accept``."""
    if wants_json(accept):
        return json.dumps({"ok": False, "error": error.message, "status": error.status}), "application/json"
    return error.message + "\n", "text/plain; charset=utf-8"
