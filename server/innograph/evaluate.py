"""What an executor does with a job: evaluate with pyoxigraph, serialize with pyoxigraph, cap rows.

The hot path stays in Rust: ``Store.query`` evaluates, ``QuerySolutions.serialize`` /
``pyoxigraph.serialize`` / the boolean's ``serialize`` write the negotiated format, and Python only
forwards 8 KiB chunks to the web process (``C`` frames, then ``E`` with the outcome).

The row cap (MAX_ROWS). pyoxigraph cannot serialize a Python iterator of solutions (QuerySolutions
has no constructor), so for SELECT the serializer's output is counted: an upper bound of the rows
written (TSV/CSV: newlines; XML: ``<result>``; JSON: ``},{``, which separates rows and is
over-counted only by literals that contain it). While the bound stays within the cap, that output
is exact and final. Past it, the executor sends ``R`` (the web process drops what it received),
evaluates again into TSV, where a row is exactly one line, keeps MAX_ROWS lines, and re-serializes
them with ``parse_query_results`` in the requested format: exact, and a well-formed document. Only
results larger than the cap (or adversarial literals) pay this. Graph results (CONSTRUCT,
DESCRIBE) are capped directly: ``pyoxigraph.serialize`` takes a Python iterator of triples.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from pyoxigraph import (NamedNode, QueryBoolean, QueryResultsFormat, QueryTriples, Store, Variable,
                        parse_query_results, serialize)

from .diskfull import is_disk_full
from .worker import frame, recv_msg
from .protocol import has_dataset_clause

TSV = QueryResultsFormat.TSV
_MARKERS = {QueryResultsFormat.JSON: (b"},{", 1), QueryResultsFormat.XML: (b"<result>", 0),
            QueryResultsFormat.CSV: (b"\n", -1), QueryResultsFormat.TSV: (b"\n", -1)}
FLUSH_BYTES = 1 << 18


@dataclass(frozen=True)
class Job:
    """One query for an executor. ``want="serialized"`` answers bytes in the negotiated format;
    ``want="terms"`` answers pyoxigraph terms (for pages that read results in Python)."""

    query: str
    default_graph_uris: tuple[str, ...] = ()
    named_graph_uris: tuple[str, ...] = ()
    substitutions: dict[str, Any] = field(default_factory=dict)  # variable name -> pyoxigraph term
    accept: str | None = None
    format: str | None = None  # the ?format= override (short name or media type)
    max_rows: int | None = None  # None: the MAX_ROWS setting
    want: str = "serialized"
    prefixes: dict[str, str] | None = None  # prefixes of a Turtle/TriG output (pages)


@dataclass(frozen=True)
class Export:
    """Write the dump file ``name`` (dumps.DUMPS or netexport.FILES) to ``path``, in the process
    that holds the store: the executor answers with the file's size."""

    name: str
    path: str


class _OverCap(Exception):
    pass


class RowCounter:
    """Counts the rows of serialized SELECT results as they go by: exact for TSV and XML, an
    upper bound for CSV (a literal may hold a newline) and JSON (a literal may hold ``},{``)."""

    def __init__(self, fmt: Any) -> None:
        self.marker, self.offset = _MARKERS.get(fmt, (b"", 0))
        self.count, self.tail = 0, b""

    def feed(self, data: bytes) -> None:
        if self.marker:
            overlap = self.tail[len(self.tail) - len(self.marker) + 1:] if len(self.marker) > 1 else b""
            self.count += (overlap + data).count(self.marker)
            self.tail = (self.tail + data[-8:])[-8:]

    @property
    def rows(self) -> int:
        if self.marker == b"},{" and self.tail.endswith(b"[]}}"):
            return 0
        return max(self.count + self.offset, 0)


class _Sender:
    """A binary writer for pyoxigraph that forwards what it gets as C frames, counting rows
    when given a cap (``_OverCap`` once the count passes it)."""

    def __init__(self, sock: socket.socket, fmt: Any = None, cap: int | None = None) -> None:
        self.sock, self.cap, self.pending, self.size = sock, cap, [], 0
        self.counter = RowCounter(fmt) if cap is not None else None

    @property
    def rows(self) -> int:
        return self.counter.rows if self.counter else 0

    def write(self, data: bytes) -> int:
        data = bytes(data)
        if self.counter:
            self.counter.feed(data)
            if self.counter.rows > self.cap:  # type: ignore[operator]
                raise _OverCap()
        self.pending.append(frame(b"C", data))
        self.size += len(data)
        if self.size >= FLUSH_BYTES:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.pending:
            self.sock.sendall(b"".join(self.pending))
            self.pending, self.size = [], 0

    def finish(self, end: bytes) -> None:
        """Send what is pending and the final frame in one system call."""
        self.pending.append(end)
        self.flush()


class _Lines:
    """Collects TSV output up to the header plus ``cap + 1`` rows."""

    def __init__(self, cap: int) -> None:
        self.cap, self.parts, self.lines = cap, [], 0

    def write(self, data: bytes) -> int:
        self.parts.append(bytes(data))
        self.lines += data.count(b"\n")
        if self.lines > self.cap + 1:
            raise _OverCap()
        return len(data)

    def flush(self) -> None:
        pass


def _query(store: Store, job: Job, prefixes: dict[str, str]) -> Any:
    kwargs: dict[str, Any] = {"prefixes": prefixes}
    if job.default_graph_uris or job.named_graph_uris:
        # The protocol's dataset replaces everything: the graphs it names and no others (an empty
        # named_graphs list means "no named graphs"; None would mean all of them).
        kwargs["default_graph"] = [NamedNode(g) for g in job.default_graph_uris]
        kwargs["named_graphs"] = [NamedNode(g) for g in job.named_graph_uris]
    elif not has_dataset_clause(job.query):
        # The union default graph only when the query names no dataset of its own: pyoxigraph
        # lets use_default_graph_as_union override FROM / FROM NAMED.
        kwargs["use_default_graph_as_union"] = True
    if job.substitutions:
        kwargs["substitutions"] = {Variable(k): v for k, v in job.substitutions.items()}
    return store.query(job.query, **kwargs)


def kind_of(result: Any) -> str:
    return "boolean" if isinstance(result, QueryBoolean) else "triples" if isinstance(result, QueryTriples) else "solutions"


def _capped(triples: Any, cap: int, state: dict[str, Any]) -> Any:
    for number, triple in enumerate(triples):
        if number >= cap:
            state["truncated"] = True
            return
        state["rows"] = number + 1
        yield triple


def _solutions(sock: socket.socket, store: Store, job: Job, result: Any, fmt: Any, cap: int, prefixes: dict[str, str]) -> tuple[bool, int, _Sender]:
    sender = _Sender(sock, fmt, cap)
    try:
        result.serialize(sender, format=fmt)
        return False, sender.rows, sender
    except _OverCap:
        pass
    sock.sendall(frame(b"R", b""))  # what was sent is dropped: the exact path follows
    lines = _Lines(cap)
    try:
        _query(store, job, prefixes).serialize(lines, format=TSV)
    except _OverCap:
        pass
    lines_out = b"".join(lines.parts).split(b"\n")
    complete = lines_out[1:-1]  # the last piece is a partial line (or empty)
    truncated = len(complete) > cap
    data = b"\n".join([lines_out[0], *complete[:cap]]) + b"\n"
    sender = _Sender(sock)
    if fmt == TSV:
        sender.write(data)
    else:
        parse_query_results(data, format=TSV).serialize(sender, format=fmt)
    return truncated, min(len(complete), cap), sender


def run_serialized(sock: socket.socket, store: Store, job: Job, config: dict[str, Any]) -> None:
    from .negotiation import choose_format

    prefixes = config.get("prefixes") or {}
    result = _query(store, job, prefixes)
    kind = kind_of(result)
    chosen = choose_format(kind, job.accept, job.format)
    if chosen is None:
        sock.sendall(frame(b"X", _dumps(("not-acceptable", kind, f"no acceptable format for a {kind} result"))))
        return
    media_type, fmt = chosen
    cap = job.max_rows if job.max_rows is not None else config["max_rows"]
    truncated, rows, sender = False, 1, _Sender(sock)
    if kind == "boolean":
        sender.write(result.serialize(format=fmt))
    elif kind == "triples":
        state = {"truncated": False, "rows": 0}
        serialize(_capped(result, cap, state), sender, format=fmt, prefixes=job.prefixes)
        truncated, rows = state["truncated"], state["rows"]
    else:
        truncated, rows, sender = _solutions(sock, store, job, result, fmt, cap, prefixes)
    sender.finish(frame(b"E", _dumps((kind, media_type, truncated, rows))))


def run_terms(sock: socket.socket, store: Store, job: Job, config: dict[str, Any]) -> None:
    result = _query(store, job, config.get("prefixes") or {})
    cap = job.max_rows if job.max_rows is not None else config["max_rows"]
    kind = kind_of(result)
    if kind == "boolean":
        value: Any = bool(result)
    elif kind == "triples":
        value = list(islice(result, cap + 1))
    else:
        names = [v.value for v in result.variables]
        value = (names, [tuple(s[n] for n in names) for s in islice(result, cap + 1)])
    sock.sendall(frame(b"V", _dumps((kind, value, cap))))


def run_export(sock: socket.socket, store: Store, job: Export, config: dict[str, Any]) -> None:
    from .dumps import produce  # only executors that write dumps pay for importing it

    try:
        size = produce(store, job.name, job.path, config.get("prefixes") or {})
    except OSError as error:
        if not is_disk_full(error):
            raise
        sock.sendall(frame(b"X", _dumps(("disk-full", None, f"{job.name}: {error}"))))  # the web process answers 507
        return
    sock.sendall(frame(b"V", _dumps(("export", size, 0))))


def _dumps(obj: Any) -> bytes:
    import pickle

    return pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)


def executor_loop(sock: socket.socket, store: Store | None, config: dict[str, Any]) -> None:
    """Answer jobs until the web process closes the socket."""
    if store is None:  # STORE_MODE=disk: each executor opens the RocksDB store read-only
        from .store import rocksdb_path

        store = Store.read_only(str(rocksdb_path(config["store"])))
    while True:
        try:
            job, _ = recv_msg(sock)
        except (EOFError, ConnectionError):
            return
        try:
            if isinstance(job, Export):
                run_export(sock, store, job, config)
            else:
                (run_terms if job.want == "terms" else run_serialized)(sock, store, job, config)
        except SyntaxError as error:
            sock.sendall(frame(b"X", _dumps(("syntax", None, str(error)))))
        except (ConnectionError, BrokenPipeError):
            return
        except Exception as error:  # noqa: BLE001 - any evaluation failure is the query's answer
            sock.sendall(frame(b"X", _dumps(("evaluation", None, f"{type(error).__name__}: {error}"))))
