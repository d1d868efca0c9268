"""Where the dataset lives on disk, and how a store is opened from it.

Layout of the ``STORE`` directory (nothing in it is committed; ``var/`` is ignored)::

    STORE/CURRENT.json   which database is current + its manifest (graphs, triples, files loaded);
                         replaced atomically (write, fsync, rename), so a crash mid-load keeps the old one
                         (and a full disk too: the half-written database is removed, DiskFull raised)
    STORE/db-<stamp>/    one database built by ``innograph load``: the repository's files (or the
                         files given), the journal applied, graph/inferred; either
                         ``snapshot.nq`` (N-Quads, for STORE_MODE=memory: parsed at start, ~5 s per
                         1M triples) or ``oxigraph/`` (a RocksDB store, for STORE_MODE=disk)
    STORE/journal        the fsync'ed record of accepted writes (see journal.py), replayed at start

The database plus the journal is the source of truth. ``STORE_MODE=memory`` (the default) parses
the snapshot into an in-memory store at start (measured: RocksDB is 6-19x slower on non-trivial
queries at 1M triples; building RocksDB takes 30 s per 1M triples, an N-Quads snapshot 1 s) and
replays the journal; ``STORE_MODE=disk`` queries the RocksDB store directly (graphs larger than
memory). A database of the other kind is converted once. This module imports neither Flask nor rdflib: the fork
server and the executors (executor.py, worker.py) import it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pyoxigraph import DefaultGraph, NamedNode, Quad, QueryResultsFormat, RdfFormat, Store, parse

from . import inference, journal, void
from .diskfull import raising_disk_full

BASE = "https://w3id.org/innograph/"  # same as namespaces.BASE (that module pulls in rdflib)
CURRENT = "CURRENT.json"
JOURNAL = "journal"


def graph_iri(name: str) -> str:
    return f"{BASE}graph/{name}"


class StorePaths:
    """The files of one STORE directory."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.current_file = self.root / CURRENT
        self.journal = self.root / JOURNAL

    def manifest(self) -> dict[str, Any] | None:
        """The manifest of the current database, or None if ``innograph load`` never completed."""
        try:
            manifest = json.loads(self.current_file.read_text("utf-8"))
        except FileNotFoundError:
            return None
        return manifest if (self.root / manifest["db"]).is_dir() else None

    def current_db(self) -> Path | None:
        manifest = self.manifest()
        return None if manifest is None else self.root / manifest["db"]

    def new_db(self) -> Path:
        self.root.mkdir(parents=True, exist_ok=True)
        path = self.root / f"db-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns() % 10**6}"
        path.mkdir()
        return path

    @contextmanager
    def building(self, db: Path) -> Iterator[None]:
        """Around writing the new database ``db`` up to its commit: if that fails, ``db`` is
        removed unless it became current (a half-written database is never read, and on a full
        disk it holds the space), and a full disk is raised as DiskFull naming it."""
        try:
            with raising_disk_full(f"the new database {db}"):
                yield
        except BaseException:
            if self.current_db() != db:
                shutil.rmtree(db, ignore_errors=True)
            raise

    def commit(self, db: Path, manifest: dict[str, Any]) -> None:
        """Make ``db`` current (atomic rename of CURRENT.json), then remove the older databases.
        If the new CURRENT.json cannot be written, the old one stays and so does its database."""
        manifest = {**manifest, "db": db.name}
        tmp = self.current_file.with_suffix(".tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as out:
                json.dump(manifest, out, indent=1, sort_keys=True)
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, self.current_file)
        _fsync_dir(self.root)
        for old in self.root.glob("db-*"):
            if old.name != db.name:
                shutil.rmtree(old, ignore_errors=True)


def apply_ops(store: Store, ops: Iterable[Mapping[str, Any]]) -> tuple[set[str], bool]:
    """Apply the operations of one journal record to ``store``.

    ``put_graph`` (graph, data in Turtle or N-Triples): the graph becomes exactly ``data``.
    ``drop_graph`` (graph): the graph is removed. ``add`` / ``remove`` (data in N-Quads): these
    quads become present / absent. Each operation sets quads regardless of the state before, so
    replaying a journal twice equals replaying it once. Returns (graphs added to, whether anything
    may have been removed): what inference needs to know.
    """
    added: set[str] = set()
    removed = False
    for op in ops:
        kind = op["op"]
        if kind in ("put_graph", "drop_graph"):
            graph = NamedNode(op["graph"])
            if store.contains_named_graph(graph):
                store.remove_graph(graph)
                removed = True
            if kind == "put_graph":
                store.add_graph(graph)
                store.load(op.get("data", ""), format=RdfFormat.TURTLE, to_graph=graph)
                added.add(graph.value)
        elif kind == "add":
            quads = list(parse(op["data"], format=RdfFormat.N_QUADS))
            store.extend(quads)
            added.update(q.graph_name.value for q in quads)
        elif kind == "remove":
            for quad in parse(op["data"], format=RdfFormat.N_QUADS):
                store.remove(quad)
            removed = True
        else:
            raise ValueError(f"unknown journal operation {kind!r}")
    return added, removed


def apply_write(store: Store, ops: Iterable[Mapping[str, Any]], describe: bool = True) -> None:
    """Apply one write and bring the derived graphs up to date: graph/inferred incrementally when
    the write only adds instance data (a contribution), by a rebuild after a removal or a schema
    change; then graph/void (its counts describe every graph) unless ``describe`` is False — the
    server passes False and refreshes graph/void a moment later, once for a burst of writes,
    because counting every graph takes seconds at 1M triples (a contribution must not wait)."""
    added, removed = apply_ops(store, ops)
    if removed or inference.touches_schema(store, added):
        inference.rebuild(store)
    else:
        inference.extend(store, added)
    if describe:
        void.refresh(store)


def check_ops(ops: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate operations before they are journaled (a bad record would fail every restart).

    Raises ValueError (invalid IRI, RDF syntax error, unknown operation, a default-graph quad)."""
    try:
        return _check_ops(ops)
    except SyntaxError as error:
        raise ValueError(f"invalid RDF in the write: {error}") from None


def _check_ops(ops: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    checked = []
    for op in ops:
        kind = op.get("op")
        if kind in ("put_graph", "drop_graph"):
            NamedNode(op["graph"])  # raises ValueError on an invalid IRI
            if kind == "put_graph":
                list(parse(op.get("data", ""), format=RdfFormat.TURTLE))
        elif kind in ("add", "remove"):
            for quad in parse(op["data"], format=RdfFormat.N_QUADS):
                if isinstance(quad.graph_name, DefaultGraph):
                    raise ValueError("a write must name its graph (the default graph is the union)")
        else:
            raise ValueError(f"unknown write operation {kind!r}")
        checked.append(dict(op))
    return checked


def replay(store: Store, records: Iterable[Mapping[str, Any]]) -> int:
    """Apply journal records in order; returns how many were applied."""
    count = 0
    for record in records:
        apply_ops(store, record["ops"])
        count += 1
    return count


SNAPSHOT = "snapshot.nq"
ROCKSDB = "oxigraph"


def write_snapshot(store: Store, db: Path) -> None:
    """Dump ``store`` as ``db/snapshot.nq``, fsync'ed with its directory entry (the commit that
    follows makes it current)."""
    with open(db / SNAPSHOT, "wb") as out:
        store.dump(out, format=RdfFormat.N_QUADS)
        out.flush()
        os.fsync(out.fileno())
    _fsync_dir(db)


_fsync_dir = journal._fsync_dir  # one implementation of the directory fsync


def read_database(db: Path, manifest: Mapping[str, Any]) -> Store:
    """An in-memory store holding the database ``db`` (whatever its kind)."""
    memory = Store()
    if manifest.get("kind", "nquads") == "nquads":
        memory.load(path=str(db / SNAPSHOT), format=RdfFormat.N_QUADS, lenient=True)
    else:
        memory.load(Store.read_only(str(db / ROCKSDB)).dump(format=RdfFormat.N_QUADS), format=RdfFormat.N_QUADS, lenient=True)
    return memory


def _to_rocksdb(paths: StorePaths, manifest: dict[str, Any]) -> dict[str, Any]:
    """Convert an N-Quads database to a RocksDB one (STORE_MODE=disk on a memory-mode load)."""
    db = paths.new_db()
    with paths.building(db):
        disk = Store(str(db / ROCKSDB))
        disk.bulk_load(path=str(paths.root / manifest["db"] / SNAPSHOT), format=RdfFormat.N_QUADS, lenient=True)
        disk.flush()
        del disk
        manifest = {**manifest, "kind": "rocksdb"}
        paths.commit(db, manifest)
    return {**manifest, "db": db.name}


def rocksdb_path(root: str | os.PathLike[str]) -> Path:
    """The RocksDB store of the current database (STORE_MODE=disk)."""
    paths = StorePaths(root)
    manifest = paths.manifest()
    if manifest is None or manifest.get("kind") != "rocksdb":
        raise FileNotFoundError(f"no RocksDB database in {paths.root}")
    return paths.root / manifest["db"] / ROCKSDB


def open_for_queries(root: str | os.PathLike[str], mode: str = "memory") -> Store:
    """The store queries run on: the current database, the journal replayed, inference redone if
    the journal added anything.

    ``mode="memory"``: an in-memory store. ``mode="disk"``: the RocksDB database itself, after
    replaying the journal records it has not seen into it (needs exclusive access: the caller
    closes it before executors open it read-only).
    """
    paths = StorePaths(root)
    manifest = paths.manifest()
    if manifest is None:
        raise FileNotFoundError(f"no store in {paths.root} (run `innograph load`)")
    records = journal.read(paths.journal)
    pending = records[manifest.get("journal_applied", 0):]
    if mode == "disk":
        if manifest.get("kind", "nquads") != "rocksdb":
            manifest = _to_rocksdb(paths, manifest)
        db = paths.root / manifest["db"]
        store = Store(str(db / ROCKSDB))
        if pending:
            _catch_up(store, pending)
            store.flush()
            paths.commit(db, {**manifest, "journal_applied": len(records)})
        return store
    store = read_database(paths.root / manifest["db"], manifest)
    _catch_up(store, pending)
    return store


def _catch_up(store: Store, pending: list[dict[str, Any]]) -> None:
    """Apply the journal records the database has not seen (one: incrementally)."""
    if len(pending) == 1:
        apply_write(store, pending[0]["ops"])
    elif pending:
        replay(store, pending)
        inference.rebuild(store)
        void.refresh(store)


def graph_counts(store: Store) -> dict[str, int]:
    """Triples per named graph (the default graph, if not empty, as ``""``)."""
    results = store.query("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")
    counts = {row["g"].value: int(row["n"].value) for row in results}
    default = int(next(iter(store.query("SELECT (COUNT(*) AS ?n) { ?s ?p ?o }")))["n"].value)
    if default:
        counts[""] = default
    return counts


def ask_tsv(store: Store, query: str) -> bytes:
    """A SELECT on the union of the graphs as TSV bytes (used by the CLI and the tests)."""
    return store.query(query, use_default_graph_as_union=True).serialize(format=QueryResultsFormat.TSV)


def quads_in(store: Store, graph: str) -> list[Quad]:
    return list(store.quads_for_pattern(None, None, None, NamedNode(graph)))
