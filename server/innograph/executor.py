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

import collections
import os
import pickle
import socket
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from .evaluate import Export, Job
from .pool import NotApplied, Pool, QueryError, QueryTimeout
from .worker import _FRAME, send_msg

__all__ = ["Job", "QueryOutcome", "QueryError", "QueryTimeout", "QueryService"]
EXPORT_TIMEOUT_FACTOR = 20  # a dump of the whole dataset is one long, legitimate query
DESCRIBE_DELAY = 1.0  # seconds of quiet after writes before graph/void is refreshed


def executor_memory(workers: int) -> int:
    """Bytes an executor may allocate beyond the store it shares: half the machine's memory split
    between the executors, at least 1 GiB (tests and config may set EXECUTOR_MEMORY instead)."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return max(1 << 30, total // 2 // workers)


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


class QueryService:
    """Executors and writes for one app. Thread-safe; ``close()`` (also at exit) stops everything."""

    def __init__(self, settings: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> None:
        self.store_dir = os.path.abspath(str(settings["STORE"]))
        self.mode = str(settings.get("STORE_MODE", "memory"))
        self.timeout = float(settings.get("QUERY_TIMEOUT", 30.0))
        self.max_rows = int(settings.get("MAX_ROWS", 100000))
        workers = max(1, int(settings.get("WORKERS", 2)))
        config = {"store": self.store_dir, "mode": self.mode, "repo": os.path.abspath(str(settings.get("REPO_DIR", "."))),
                  "max_rows": self.max_rows, "prefixes": dict(prefixes or {}),
                  "executor_memory": int(settings.get("EXECUTOR_MEMORY") or executor_memory(workers))}
        self.pool = Pool(config, workers)
        self._write_lock = threading.Lock()
        self._contribution_lock = threading.Lock()  # write_lock
        self._journal: Any = None
        self._describe_due: float | None = None  # when graph/void is to be refreshed after writes
        self._describer: threading.Thread | None = None
        # Queries whose process ended under them (a crash of pyoxigraph's recursive parser on some
        # long inputs, or the memory allowance), by (text, dataset, generation): not run again on
        # the same data, where each try would cost an executor and its copy of the store.
        self._fatal: collections.OrderedDict[tuple[Any, ...], str] = collections.OrderedDict()

    @property
    def generation(self) -> int:
        return self.pool.generation

    @property
    def info(self) -> dict[str, Any]:
        """What the fork server said when the store was open: graphs (triples each), open_seconds."""
        return self.pool.info

    @property
    def ready(self) -> bool:
        return self.pool.ready

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any]:
        """Block until the store is loaded; raise QueryError("unavailable") if it failed."""
        return self.pool.wait_ready(timeout)

    def close(self) -> None:
        """Kill the executors, stop the fork server (idempotent; also run at exit)."""
        self.pool.close()
        if self._journal is not None:
            self._journal.close()
            self._journal = None

    # -- queries -----------------------------------------------------------------------------
    def _exchange(self, job: Job | Export, timeout: float | None = None) -> tuple[bytes, Any, list[bytes], float]:
        """Send ``job`` to an executor; (final frame type, its payload, body chunks, seconds)."""
        timeout = self.timeout if timeout is None else timeout
        generation = self.generation
        if self._fatal and _fatal_key(job, generation) in self._fatal:  # empty but after a crash: nothing built per query
            raise QueryError("syntax", f"This query ended its query process when it last ran on this data ({self._fatal[_fatal_key(job, generation)]}); "
                                       "it is not run again until the data changes. Simplify it (fewer chained operators or "
                                       "terms) or make it lighter.")
        started = time.monotonic()
        executor = self.pool.checkout(started + timeout)
        deadline = time.monotonic() + timeout
        try:
            send_msg(executor.sock, job)
            kind, payload, chunks = _read_frames(executor.sock, deadline)
        except TimeoutError:
            self.pool.discard(executor)
            raise QueryTimeout(f"the query ran longer than {timeout:g} s and was stopped", executor.pid) from None
        except (EOFError, ConnectionError, OSError) as error:
            self.pool.discard(executor)
            if (fatal := _fatal_key(job, generation)) is not None:
                self._fatal[fatal] = "a crash, or its memory allowance"
                while len(self._fatal) > FATAL_REMEMBERED:
                    self._fatal.popitem(last=False)
            raise QueryError("unavailable", f"the query's process ended: it ran out of its memory allowance, or crashed ({error})") from None
        except BaseException:
            self.pool.discard(executor)
            raise
        self.pool.checkin(executor)
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

    def export(self, name: str, path: str) -> int:
        """Write the dump file ``name`` (dumps.DUMPS, netexport.FILES) to ``path`` in an executor;
        returns its size. Deadline: EXPORT_TIMEOUT_FACTOR x QUERY_TIMEOUT, at least 10 minutes."""
        _, (_, size, _), _, _ = self._exchange(Export(name, str(path)), max(600.0, EXPORT_TIMEOUT_FACTOR * self.timeout))
        return size

    # -- writes ------------------------------------------------------------------------------
    def apply_write(self, ops: Iterable[Mapping[str, Any]], **meta: Any) -> int:
        """Apply one write atomically and durably; returns the new generation.

        ``ops``: ``{"op": "put_graph", "graph": IRI, "data": Turtle or N-Triples}``, ``{"op": "drop_graph",
        "graph": IRI}``, ``{"op": "add"|"remove", "data": N-Quads}``. ``meta`` (JSON values: who,
        contribution id...) is kept in the journal record. Returns once the record is fsync'ed and
        the store updated; raises ValueError for an invalid write, DiskFull when the journal cannot
        be written (in both cases nothing journaled, nothing applied).
        """
        from . import journal, store

        record = {"id": uuid.uuid4().hex, "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "ops": store.check_ops(ops), **meta}
        self.wait_ready()
        with self._write_lock:
            if self._journal is None:
                self._journal = journal.Journal(os.path.join(self.store_dir, store.JOURNAL))
            self._journal.append(record)  # durable first
            if self.mode == "disk":
                self.pool.drain()  # RocksDB: no reader may be open while the fork server writes
            reply = self.pool.request(("write", record))
            if reply[0] != "written":
                raise NotApplied(f"the write is journaled but the store could not apply it now ({reply[1]})")
            self.pool.new_generation(reply[1])
            self._describe_due = time.monotonic() + DESCRIBE_DELAY
            if self._describer is None:
                self._describer = threading.Thread(target=self._describe_later, name="innograph-void", daemon=True)
                self._describer.start()
        return self.generation

    @contextmanager
    def write_lock(self, deadline: float | None = None) -> Iterator[None]:
        """A contribution's validation and write, one at a time (contributions.py). A lock of this
        process is enough: no other process writes the store (the journal's lock). ``deadline``
        is for an external store's lease (remote.py); here the wait is as long as it takes."""
        with self._contribution_lock:
            yield

    def _describe_later(self) -> None:
        """Refresh graph/void once writes have been quiet for DESCRIBE_DELAY seconds: counting every
        graph takes seconds at 1M triples, so a burst of contributions pays for it once, after
        their 201s. Until then graph/void describes the dataset as it was before the burst."""
        while not self.pool.is_closed:
            with self._write_lock:
                due = self._describe_due
                if due is not None and time.monotonic() >= due:
                    self._describe_due = None
                    try:
                        self._describe()
                    except Exception:  # noqa: BLE001 - a derived graph; the next write retries
                        self._describe_due = time.monotonic() + DESCRIBE_DELAY
            time.sleep(0.1 if due is None else max(0.05, min(0.5, due - time.monotonic())))

    def describe_now(self) -> None:
        """Refresh graph/void at once if a write left it stale (tests, and before a dump)."""
        with self._write_lock:
            if self._describe_due is not None:
                self._describe_due = None
                self._describe()

    def _describe(self) -> None:
        """Called with ``_write_lock`` held: the fork server refreshes graph/void; a new generation."""
        reply = self.pool.request(("describe",))
        if reply[0] == "written":
            self.pool.new_generation(reply[1])

    def status(self, counts: bool = False) -> dict[str, Any]:
        """For /health: generation, mode, executor pids, seconds the store took to open, and the
        triples per graph at start (``graphs_at_start``). ``counts=True`` adds the current
        ``graphs`` (a query: about a second at 1M triples)."""
        reply = self.pool.request(("status",))
        info = {**reply[1], "open_seconds": self.info.get("open_seconds"), "graphs_at_start": self.info.get("graphs"), "store": self.store_dir}
        if counts:
            _, (_, rows), _ = self.terms("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", max_rows=10**9)
            info["graphs"] = {g.value: int(n.value) for g, n in rows}
        return info


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


FATAL_REMEMBERED = 256  # queries that ended their process, kept (oldest forgotten first)


def _fatal_key(job: Any, generation: int) -> tuple[Any, ...] | None:
    """What identifies a query's run for :attr:`QueryService._fatal` (None: not a query)."""
    if not isinstance(job, Job):
        return None
    bound = tuple(sorted((name, str(term)) for name, term in job.substitutions.items()))
    return (job.query, tuple(job.default_graph_uris), tuple(job.named_graph_uris), bound, generation)
