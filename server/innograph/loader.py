"""``innograph load``: build the store from RDF files, one named graph per source.

Where each file goes (the contract of DESIGN.md, "The dataset"):

- ``ontology/**`` -> ``graph/ontology``; ``shapes/**`` -> ``graph/shapes``;
- ``data/**``: a TriG / N-Quads file keeps the graphs it names; a triples file (Turtle, N-Triples,
  RDF/XML, JSON-LD), and the default-graph triples of a TriG file, go into the graph named after
  the file's path under ``data/`` without its extension: ``data/meta.ttl`` -> ``graph/meta``,
  ``data/source/seed-003.ttl`` -> ``graph/source/seed-003``;
- files given on the command line (``innograph load FILE-OR-DIR...``, user data, benchmark
  graphs): the same, named ``graph/file/<path under the directory given, or the file name>``.

A rebuild (no files given) builds a new database from the repository alone, replays the journal
(accepted contributions are kept) and recomputes graph/inferred, then makes it current in one
rename: loading twice gives the same triples, and a crash mid-load leaves the previous database
(so does a full disk: the new one is removed and DiskFull raised).
Loading files adds them to the current database the same way (re-loading a file replaces its graph).
"""

from __future__ import annotations

import fcntl
import gzip
import io
import os
import re
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from pyoxigraph import NamedNode, RdfFormat, Store

from . import inference, journal, void
from .store import ROCKSDB, SNAPSHOT, StorePaths, graph_counts, graph_iri, read_database, replay, write_snapshot

Report = Callable[[str], None]
PROGRESS_BYTES = 64 << 20
_SKIP = re.compile(r"(^|/)(\.|_)|README|\.md$|\.txt$|\.rq$|\.json$|\.csv$|\.py$")


def rdf_format(path: Path) -> RdfFormat | None:
    """The RDF format of ``path`` from its extension (``.gz`` allowed), None if it is not RDF."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    return RdfFormat.RDF_XML if ext == "owl" else RdfFormat.from_extension(ext)


def slug(relative: str) -> str:
    """A graph name from a relative file path: extension(s) dropped, lowercase, [a-z0-9-/] only."""
    stem = re.sub(r"(\.[A-Za-z0-9]+)+$", "", relative.replace(os.sep, "/"))
    return re.sub(r"[^a-z0-9/]+", "-", stem.lower()).strip("-/") or "unnamed"


def rdf_files(root: Path) -> list[Path]:
    """The RDF files under ``root`` (or ``root`` itself), sorted, hidden and non-RDF files skipped."""
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("*") if p.is_file() and rdf_format(p) and not _SKIP.search(str(p.relative_to(root))))


def repository_plan(repo: Path) -> list[tuple[Path, str]]:
    """(file, graph IRI for its triples) for the repository's ontology/, shapes/ and data/."""
    plan: list[tuple[Path, str]] = []
    for folder, graph in (("ontology", "ontology"), ("shapes", "shapes")):
        plan += [(f, graph_iri(graph)) for f in rdf_files(repo / folder)] if (repo / folder).is_dir() else []
    data = repo / "data"
    if data.is_dir():
        plan += [(f, graph_iri(slug(str(f.relative_to(data))))) for f in rdf_files(data)]
    return plan


def files_plan(paths: Iterable[str | os.PathLike[str]]) -> list[tuple[Path, str]]:
    """(file, graph IRI) for files and directories given on the command line."""
    plan: list[tuple[Path, str]] = []
    for given in map(Path, paths):
        if not given.exists():
            raise FileNotFoundError(f"{given}: no such file or directory")
        for f in rdf_files(given):
            relative = f.name if given.is_file() else str(f.relative_to(given))
            plan.append((f, graph_iri("file/" + slug(relative))))
        if given.is_dir() and not rdf_files(given):
            raise FileNotFoundError(f"{given}: no RDF file in this directory")
    return plan


@contextmanager
def _open(path: Path) -> Iterator[IO[bytes]]:
    with (gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")) as stream:
        yield stream


class _Progress(io.RawIOBase):
    """A reader that reports how much of a large file the loader has read (about once a second)."""

    def __init__(self, stream: IO[bytes], size: int, report: Report) -> None:
        self.stream, self.size, self.report, self.done, self.shown = stream, size, report, 0, 0.0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = self.stream.readinto(buffer) or 0  # type: ignore[attr-defined]
        self.done += count
        if time.monotonic() - self.shown > 1:
            self.shown = time.monotonic()
            self.report(f"{100 * self.done / self.size:5.1f}%\b\b\b\b\b\b")
        return count


def _load_file(store: Store, path: Path, graph: str, bulk: bool, replace: bool = True, report: Report | None = None) -> None:
    fmt = rdf_format(path)
    if fmt is None:
        raise ValueError(f"{path}: unknown RDF format (by extension)")
    if replace and not fmt.supports_datasets and store.contains_named_graph(NamedNode(graph)):
        store.remove_graph(NamedNode(graph))  # re-loading a triples file replaces its graph
    load = store.bulk_load if bulk else store.load
    base = path.resolve().as_uri()
    try:
        with _open(path) as stream:
            size = path.stat().st_size
            if report is not None and size > PROGRESS_BYTES and not path.name.endswith(".gz"):
                stream = _Progress(stream, size, report)  # type: ignore[assignment]
            load(stream, format=fmt, to_graph=NamedNode(graph), base_iri=base)
    except SyntaxError as error:
        raise SyntaxError(f"{path}: {error}") from None


def _load_all(store: Store, plan: list[tuple[Path, str]], report: Report, bulk: bool, progress: bool) -> None:
    """Load the plan's files in order. A graph is replaced only by the first file of the plan
    that goes into it: ontology/*.ttl (or shapes/*.ttl) all go into one graph, and each later
    file adds to it instead of replacing what the earlier ones loaded."""
    loaded: set[str] = set()
    for number, (path, graph) in enumerate(plan, 1):
        started = time.perf_counter()
        report(f"[{number}/{len(plan)}] {path} ... ")
        _load_file(store, path, graph, bulk, replace=graph not in loaded, report=report if progress else None)
        loaded.add(graph)
        report(f"{time.perf_counter() - started:.1f} s\n")


@contextmanager
def _locked(paths: StorePaths) -> Iterator[None]:
    """One load at a time per STORE (two would race for CURRENT.json)."""
    paths.root.mkdir(parents=True, exist_ok=True)
    with open(paths.root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _finish(store: Store, paths: StorePaths, report: Report, files: list[dict[str, str]]) -> dict[str, Any]:
    """Replay the journal, recompute graph/inferred, count: the manifest of the new database."""
    records = journal.read(paths.journal)
    if records:
        report(f"replaying {len(records)} accepted write(s) from the journal\n")
        replay(store, records)
    report("computing graph/inferred ... ")
    started = time.perf_counter()
    inferred = inference.rebuild(store)
    report(f"{inferred} triples, {time.perf_counter() - started:.1f} s\n")
    report("describing the dataset (graph/void) ... ")
    started = time.perf_counter()
    report(f"{void.refresh(store)} triples, {time.perf_counter() - started:.1f} s\n")
    return {"graphs": graph_counts(store), "files": files, "journal_applied": len(records), "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}


def _start(paths: StorePaths, previous: dict[str, Any] | None, db: Path, mode: str) -> Store:
    """The store of the new database ``db``: empty, or a copy of the ``previous`` one."""
    if mode != "disk":
        return Store() if previous is None else read_database(paths.root / previous["db"], previous)
    if previous is not None and previous.get("kind") == "rocksdb":
        Store(str(paths.root / previous["db"] / ROCKSDB)).backup(str(db / ROCKSDB))  # hard links: cheap
        return Store(str(db / ROCKSDB))
    store = Store(str(db / ROCKSDB))
    if previous is not None:
        store.bulk_load(path=str(paths.root / previous["db"] / SNAPSHOT), format=RdfFormat.N_QUADS, lenient=True)
    return store


def load(store_dir: str | os.PathLike[str], repo_dir: str | os.PathLike[str] | None = None,
         files: Iterable[str | os.PathLike[str]] = (), mode: str = "memory", report: Report = lambda _: None,
         progress: bool = False) -> dict[str, Any]:
    """Rebuild from the repository (``files`` empty) or add ``files``; returns the new manifest.

    ``mode`` picks the kind of database: an N-Quads snapshot (memory) or RocksDB (disk).
    ``report`` gets progress text; ``progress`` adds a percentage while a large file is read
    (reading through Python costs ~15 %, so only for a terminal).
    """
    paths = StorePaths(store_dir)
    files = list(files)
    plan = files_plan(files) if files else repository_plan(Path(repo_dir or "."))
    with _locked(paths):
        previous = paths.manifest()
        adding = bool(files) and previous is not None
        record = [{"file": str(p), "graph": g} for p, g in plan]
        if adding:
            record = previous.get("files", []) + record  # type: ignore[union-attr]
        db = paths.new_db()
        with paths.building(db):  # on failure (a full disk, say) CURRENT.json keeps naming the previous database
            store = _start(paths, previous if adding else None, db, mode)
            _load_all(store, plan, report, bool(files) or mode == "disk", progress)
            manifest = _finish(store, paths, report, record)
            manifest["kind"] = "rocksdb" if mode == "disk" else "nquads"
            if mode == "disk":
                store.flush()
            else:
                write_snapshot(store, db)
            del store
            paths.commit(db, manifest)
    return {**manifest, "db": db.name}
