"""The query service of the web process: a pool of killable executor processes, and writes.

``QueryService(settings)`` starts the fork server (worker.py), which loads the store, and keeps up
to WORKERS executors forked from it. ``run(job)`` checks one out, sends the job and reads the
result frames under the QUERY_TIMEOUT deadline; past it the executor is SIGKILLed (its CPU is
free at once, other executors keep answering), replaced, and ``QueryTimeout`` is raised. The whole
result is read before ``run`` returns, so the truncation flag is known before the first byte is
sent and a slow client never holds an executor.

``apply_write(ops)`` journals the write (fsync) before anything else, then has the fork server
apply it and recompute graph/inferred; the generation counter goes up and executors of older
generations are retired, so every query issued after ``apply_write`` returns sees the write.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .evaluate import Job
from .worker import _FRAME, recv_msg, send_msg

__all__ = ["Job", "QueryOutcome", "QueryError", "QueryTimeout", "QueryService"]


class QueryError(Exception):
    """A query that has no answer. ``reason``: "syntax" (400), "not-acceptable" (406, ``kind``
    says which result kind had no acceptable format), "evaluation" (the query failed while it
    ran), "unavailable" (the store could not be opened or an executor died)."""

    def __init__(self, reason: str, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.kind = reason, message, kind


class QueryTimeout(QueryError):
    """The query ran past QUERY_TIMEOUT (its executor, ``pid``, was killed), or no executor
    became free in time (``pid`` None)."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__("timeout", message)
        self.pid = pid


@dataclass
class QueryOutcome:
    kind: str  # "solutions" | "boolean" | "triples"
    media_type: str
    chunks: Iterator[bytes]
    truncated: bool
    rows: int  # rows (or triples) in the body; for CSV/JSON an upper bound
    seconds: float

    def body(self) -> bytes:
        return b"".join(self.chunks)


@dataclass
class _Executor:
    pid: int
    pidfd: int
    sock: socket.socket
    generation: int


class QueryService:
    """Executors and writes for one app. Thread-safe; ``close()`` (also at exit) stops everything."""

    def __init__(self, settings: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> None:
        self.store_dir = os.path.abspath(str(settings["STORE"]))
        self.mode = str(settings.get("STORE_MODE", "memory"))
        self.size = max(1, int(settings.get("WORKERS", 2)))
        self.timeout = float(settings.get("QUERY_TIMEOUT", 30.0))
        self.max_rows = int(settings.get("MAX_ROWS", 100000))
        self.info: dict[str, Any] = {}
        self.generation = 0
        self._config = {"store": self.store_dir, "mode": self.mode, "repo": os.path.abspath(str(settings.get("REPO_DIR", "."))),
                        "max_rows": self.max_rows, "prefixes": dict(prefixes or {})}
        self._idle: list[_Executor] = []
        self._live = 0
        self._cond = threading.Condition()
        self._ctl_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._journal = None
        self._closed = False
        self._ctl, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self._proc = subprocess.Popen([sys.executable, "-m", "innograph.worker", str(child.fileno()), json.dumps(self._config)],
                                      pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL)
        child.close()
        atexit.register(self.close)
        self._ready = threading.Event()
        self._failure: str | None = None
        threading.Thread(target=self._await_ready, name="innograph-store-open", daemon=True).start()

    # -- lifecycle ---------------------------------------------------------------------------
    def _await_ready(self) -> None:
        try:
            message, _ = recv_msg(self._ctl)
            if message[0] == "ready":
                self.info = message[1]
            else:
                self._failure = message[1]
        except (EOFError, ConnectionError, OSError) as error:
            self._failure = f"the store process ended: {error}"
        self._ready.set()

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the store is loaded; raise QueryError("unavailable") if it failed."""
        if not self._ready.wait(timeout):
            raise QueryError("unavailable", "the store is still loading")
        if self._failure:
            raise QueryError("unavailable", self._failure)
        return self.info

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self._failure

    def close(self) -> None:
        """Kill the executors, stop the fork server (idempotent; registered with atexit)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for executor in idle:
            self._kill(executor)
        try:
            with self._ctl_lock:
                self._ctl.close()  # EOF: the fork server kills its executors and exits
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._journal is not None:
            self._journal.close()
        atexit.unregister(self.close)

    # -- the pool ----------------------------------------------------------------------------
    def _ctl_request(self, message: tuple[Any, ...], fds: tuple[int, ...] = ()) -> tuple[Any, ...]:
        self.wait_ready()
        with self._ctl_lock:
            if self._closed:
                raise QueryError("unavailable", "the query service is closed")
            try:
                send_msg(self._ctl, message, fds)
                return recv_msg(self._ctl)[0]
            except (EOFError, ConnectionError, OSError) as error:
                raise QueryError("unavailable", f"the store process ended: {error}") from None

    def _spawn(self) -> _Executor:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            _, pid, generation = self._ctl_request(("spawn",), (theirs.fileno(),))
        finally:
            theirs.close()
        return _Executor(pid, os.pidfd_open(pid), ours, generation)

    def _checkout(self, deadline: float) -> _Executor:
        self.wait_ready(max(0.0, deadline - time.monotonic()))
        with self._cond:
            while True:
                if self._closed:
                    raise QueryError("unavailable", "the query service is closed")
                while self._idle and self._idle[-1].generation != self.generation:
                    self._retire(self._idle.pop())
                if self._idle:
                    return self._idle.pop()
                if self._live < self.size:
                    self._live += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QueryTimeout("no query executor became free in time")
                self._cond.wait(remaining)
        try:
            return self._spawn()
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise

    def _checkin(self, executor: _Executor) -> None:
        with self._cond:
            if not self._closed and executor.generation == self.generation:
                self._idle.append(executor)
                self._cond.notify()
                return
            self._retire(executor)

    def _retire(self, executor: _Executor) -> None:
        """Called with ``_cond`` held: the executor leaves the pool."""
        self._live -= 1
        self._cond.notify()
        self._kill(executor)

    @staticmethod
    def _kill(executor: _Executor) -> None:
        """SIGKILL through a pidfd (no PID-reuse race), and wait until the process is gone."""
        try:
            signal.pidfd_send_signal(executor.pidfd, signal.SIGKILL)
            select.select([executor.pidfd], [], [], 5.0)
        except ProcessLookupError:
            pass
        finally:
            os.close(executor.pidfd)
            executor.sock.close()

    def _discard(self, executor: _Executor) -> None:
        with self._cond:
            self._retire(executor)

    # -- queries -----------------------------------------------------------------------------
    def _exchange(self, job: Job) -> tuple[bytes, Any, list[bytes], float]:
        """Send ``job`` to an executor; (final frame type, its payload, body chunks, seconds)."""
        import pickle

        started = time.monotonic()
        executor = self._checkout(started + self.timeout)
        deadline = time.monotonic() + self.timeout
        try:
            send_msg(executor.sock, job)
            kind, payload, chunks = _read_frames(executor.sock, deadline)
        except TimeoutError:
            self._discard(executor)
            raise QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped", executor.pid) from None
        except (EOFError, ConnectionError, OSError) as error:
            self._discard(executor)
            raise QueryError("unavailable", f"the query executor died: {error}") from None
        except BaseException:
            self._discard(executor)
            raise
        self._checkin(executor)
        value = pickle.loads(payload)
        if kind == b"X":
            raise QueryError(value[0], value[2], value[1])
        return kind, value, chunks, time.monotonic() - started

    def run(self, job: Job) -> QueryOutcome:
        """Evaluate ``job``; the body is pyoxigraph's serialization in the negotiated format."""
        _, (kind, media_type, truncated, rows), chunks, seconds = self._exchange(job)
        return QueryOutcome(kind, media_type, iter(chunks), truncated, rows, seconds)

    def query(self, query: str, format: str | None = "json", **fields: Any) -> bytes:
        """A query's serialized result as bytes (tests, CLI, scripts)."""
        return self.run(Job(query, format=format, **fields)).body()

    def terms(self, query: str, substitutions: Mapping[str, Any] | None = None, max_rows: int | None = None) -> tuple[str, Any, bool]:
        """(kind, value, truncated): value is a bool, a list of pyoxigraph Triples, or
        (variable names, rows as tuples of terms or None). For pages; bind values with
        ``substitutions`` (variable name -> NamedNode/Literal), never by building the query text."""
        job = Job(query, substitutions=dict(substitutions or {}), max_rows=max_rows, want="terms")
        _, (kind, value, cap), _, _ = self._exchange(job)
        if kind == "triples":
            return kind, value[:cap], len(value) > cap
        if kind == "solutions":
            return kind, (value[0], value[1][:cap]), len(value[1]) > cap
        return kind, value, False

    def graph(self, query: str, substitutions: Mapping[str, Any] | None = None, media_type: str = "text/turtle",
              prefixes: Mapping[str, str] | None = None) -> bytes:
        """A CONSTRUCT/DESCRIBE result serialized as ``media_type`` (pages: Turtle, N-Quads...)."""
        job = Job(query, substitutions=dict(substitutions or {}), format=media_type, prefixes=dict(prefixes) if prefixes else None)
        return self.run(job).body()

    # -- writes ------------------------------------------------------------------------------
    def apply_write(self, ops: Iterable[Mapping[str, Any]], **meta: Any) -> int:
        """Apply one write atomically and durably; returns the new generation.

        ``ops``: ``{"op": "put_graph", "graph": IRI, "data": Turtle or N-Triples}``, ``{"op": "drop_graph",
        "graph": IRI}``, ``{"op": "add"|"remove", "data": N-Quads}``. ``meta`` (JSON values: who,
        contribution id...) is kept in the journal record. Returns once the record is fsync'ed and
        the store updated; raises ValueError for an invalid write (nothing journaled).
        """
        from . import journal, store

        record = {"id": uuid.uuid4().hex, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "ops": store.check_ops(ops), **meta}
        self.wait_ready()
        with self._write_lock:
            if self._journal is None:
                self._journal = journal.Journal(os.path.join(self.store_dir, store.JOURNAL))
            self._journal.append(record)  # durable first
            if self.mode == "disk":
                self._drain()  # RocksDB: no reader may be open while the fork server writes
            reply = self._ctl_request(("write", record))
            if reply[0] != "written":
                raise QueryError("unavailable", f"the write is journaled but could not be applied: {reply[1]}")
            with self._cond:
                self.generation = reply[1]
                while self._idle:
                    self._retire(self._idle.pop())
        return self.generation

    def _drain(self) -> None:
        """Wait until every executor is back, then stop them all (disk mode writes)."""
        with self._cond:
            while self._live > len(self._idle):
                self._cond.wait()
            while self._idle:
                self._retire(self._idle.pop())

    def status(self) -> dict[str, Any]:
        """Liveness for /health: generation, mode, executor pids, triples per graph."""
        reply = self._ctl_request(("status",))
        return {**reply[1], "open_seconds": self.info.get("open_seconds"), "store": self.store_dir}


def _read_frames(sock: socket.socket, deadline: float) -> tuple[bytes, bytes, list[bytes]]:
    """Read result frames until E, V or X, honouring ``deadline`` (TimeoutError past it)."""
    chunks: list[bytes] = []
    buffer = bytearray()
    offset = 0
    while True:
        while len(buffer) - offset >= _FRAME.size:
            kind, length = _FRAME.unpack_from(buffer, offset)
            end = offset + _FRAME.size + length
            if len(buffer) < end:
                break
            payload = bytes(buffer[offset + _FRAME.size:end])
            offset = end
            if kind == b"C":
                chunks.append(payload)
            elif kind == b"R":
                chunks.clear()
            else:
                return kind, payload, chunks
        if offset:
            del buffer[:offset]
            offset = 0
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError()
        sock.settimeout(remaining)
        try:
            data = sock.recv(1 << 20)
        except socket.timeout:
            raise TimeoutError() from None
        if not data:
            raise EOFError("the executor closed its socket")
        buffer += data
