"""A deadline for reading each request, so that slow clients cannot hold the web server's threads.

gunicorn's gthread worker (23 to 27) waits at most 5 s for the first byte of a connection, but once
a request has begun it blocks a thread in ``recv()`` for as long as the client keeps the socket
open. THREADS + 2 clients that send half a header (slowloris) or trickle a body a byte at a time
left the server answering no one (tests/test_attacks.py::test_slow_clients_do_not_hold_the_server).

Here each request gets ``READ_TIMEOUT`` seconds from its first byte to read its line, headers and
body, plus one second per :data:`MIN_RATE` bytes received, as Apache's mod_reqtimeout does
(``header=20-40,MinRate=500 body=20,MinRate=500``): a large upload at any reasonable speed goes
through, a trickle does not. A client too slow with its headers gets ``408`` and the connection is
closed; one too slow with its body makes the body read raise ``RequestTimeout``, which the view's
error handler answers ``408``. Nothing the app does after reading (a query) is limited here.

``innograph serve`` uses :func:`worker_class`; this relies on gunicorn's gthread internals
(``TConn.sock``, ``ThreadWorker.handle`` / ``handle_request``), checked by the test above.
"""

from __future__ import annotations

import logging
import socket
import time
from typing import Any

from gunicorn.http.errors import NoMoreData
from gunicorn.workers.gthread import ThreadWorker
from werkzeug.exceptions import RequestTimeout

MIN_RATE = 500  # bytes received that earn one more second
_HEAD, _APP, _AFTER = "head", "app", "after"
_MESSAGE = b"The request was not received in time (setting INNOGRAPH_READ_TIMEOUT).\n"
_408 = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(_MESSAGE), _MESSAGE))
log = logging.getLogger("gunicorn.error")


class BodyTimeout(RequestTimeout):
    description = "The request body was not received in time (setting INNOGRAPH_READ_TIMEOUT)."


class DeadlineSocket:
    """A client socket whose ``recv`` gives up at the request's deadline; all else is the socket's."""

    def __init__(self, sock: socket.socket, seconds: float) -> None:
        self._sock = sock
        self.seconds = seconds
        self.phase = _HEAD
        self.deadline: float | None = None  # set by the request's first recv

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)

    def new_request(self) -> None:
        self.phase, self.deadline = _HEAD, None

    def recv(self, size: int, *flags: int) -> bytes:
        now = time.monotonic()
        if self.deadline is None:
            self.deadline = now + self.seconds
        remaining = self.deadline - now
        if remaining <= 0:
            raise self._expired()
        prior = self._sock.gettimeout()
        own = prior is None or remaining < prior
        self._sock.settimeout(remaining if own else prior)
        try:
            data = self._sock.recv(size, *flags)
        except TimeoutError:
            if not own:
                raise  # the caller's own, shorter timeout (gunicorn's drain after a response)
            raise self._expired() from None
        finally:
            self._sock.settimeout(prior)
        self.deadline += len(data) / MIN_RATE
        return data

    def _expired(self) -> Exception:
        if self.phase == _AFTER:
            return TimeoutError("request body not drained in time")  # gunicorn's drain then closes the connection
        try:
            peer = self._sock.getpeername()[0]
        except OSError:
            peer = "?"
        log.warning("Request %s from %s not received within its deadline: 408, connection closed",
                    "body" if self.phase == _APP else "line or headers", peer)
        if self.phase == _APP:
            return BodyTimeout()  # inside a view: answered 408 by its error handler
        try:  # best effort: the client may not be reading either
            self._sock.settimeout(1.0)
            self._sock.sendall(_408)
        except OSError:
            pass
        return NoMoreData()  # gunicorn closes the connection quietly


def worker_class(seconds: float) -> type[ThreadWorker]:
    """gunicorn's gthread worker with a read deadline of ``seconds`` per request."""

    class ReadDeadlineWorker(ThreadWorker):
        def handle(self, conn):  # type: ignore[no-untyped-def]
            if not isinstance(conn.sock, DeadlineSocket):
                conn.sock = DeadlineSocket(conn.sock, seconds)  # before conn.init(): the parser reads through it
            conn.sock.new_request()
            return super().handle(conn)

        def handle_request(self, req, conn):  # type: ignore[no-untyped-def]
            conn.sock.phase = _APP
            try:
                return super().handle_request(req, conn)
            finally:
                conn.sock.phase = _AFTER

    return ReadDeadlineWorker
