"""The whole dataset as files: RDF dumps, network exports, and the /dumps/ blueprint.

Dumps: TriG and N-Quads keep each statement's named graph (its source); Turtle and N-Triples hold
the union of the graphs, each triple once; JSON-LD keeps the graphs. Each also comes gzipped
(``innograph.nq.gz``, served as ``application/gzip``: a file download, which is what curl and wget
users expect, not a ``Content-Encoding`` their client may silently undo). Network exports
(``network/*``) are written by netexport.py.

Memory stays flat: pyoxigraph writes quad formats straight from the store; the union formats
stream the graphs one after the other through ``pyoxigraph.serialize``, largest graph first, and
drop a triple from a later graph only if an earlier one states it (one SPARQL join per graph finds
those; its result is as small as the overlap between sources). No set of all triples is built.

Files are written once per data version under ``STORE/dumps/<version>/`` (atomic rename, one
writer per file) by the process that holds the store, and served with ``send_file`` (ETag,
Range). ``innograph export`` calls :func:`export`, which writes the same bytes.
"""

from __future__ import annotations

import fcntl
import gzip
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from flask import (Blueprint, Flask, Response, abort, current_app, jsonify, make_response, redirect, render_template,
                   request, send_file, url_for)
from pyoxigraph import DefaultGraph, NamedNode, RdfFormat, Store, Triple, serialize

from . import i18n, negotiation, netexport, void

GZIP = "application/gzip"
GZIP_LEVEL = 6  # zlib's default: level 9 is ~3x slower for ~5 % smaller files
STEM = "innograph"


@dataclass(frozen=True)
class Dump:
    """One downloadable file of the whole dataset."""

    format: RdfFormat
    gzip: bool = False

    @property
    def name(self) -> str:
        return f"{STEM}.{self.format.file_extension}" + (".gz" if self.gzip else "")

    @property
    def union(self) -> bool:
        """True: the union of the graphs (the format has no graphs)."""
        return not self.format.supports_datasets

    @property
    def media_type(self) -> str:
        return GZIP if self.gzip else self.format.media_type


# In the order of the /dumps/ page: graphs kept first, then the union, then JSON-LD.
DUMP_FORMATS = (RdfFormat.TRIG, RdfFormat.N_QUADS, RdfFormat.TURTLE, RdfFormat.N_TRIPLES, RdfFormat.JSON_LD)
DUMPS: dict[str, Dump] = {d.name: d for f in DUMP_FORMATS for d in (Dump(f), Dump(f, gzip=True))}
_PREFIXED = (RdfFormat.TRIG, RdfFormat.TURTLE)  # formats where prefixes shorten the output


def find(name: str) -> Dump | None:
    """The dump for a format short name, extension or media type, ``.gz`` suffix for gzip."""
    key, packed = (name[:-3], True) if name.endswith(".gz") else (name, False)
    key = {"turtle": "ttl", "ntriples": "nt", "nquads": "nq", "json-ld": "jsonld"}.get(key.lower(), key.lower())
    fmt = RdfFormat.from_media_type(key) if "/" in key else RdfFormat.from_extension(key)
    return DUMPS.get(Dump(fmt, packed).name) if fmt is not None else None


def distributions() -> list[tuple[str, str, str, bool, str | None]]:
    """(name under /dumps/, media type, format or specification IRI, gzipped, network) of every file."""
    files = [(d.name, d.format.media_type, d.format.iri, d.gzip, None) for d in DUMPS.values()]
    files += [(name, netexport.MEDIA_TYPES[kind], netexport.STANDARDS[kind], False, net) for name, (net, kind) in netexport.FILES.items()]
    return files


# -- writing (in the process that holds the store) ----------------------------------------------


def graph_order(store: Store) -> list[NamedNode | DefaultGraph]:
    """The default graph (if not empty), then the named graphs, largest first, then by IRI."""
    counts = {row["g"]: int(row["n"].value) for row in store.query("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    order: list[NamedNode | DefaultGraph] = sorted(counts, key=lambda g: (-counts[g], str(g)))
    if next(store.quads_for_pattern(None, None, None, DefaultGraph()), None) is not None:
        order.insert(0, DefaultGraph())
    return order


def _stated_before(store: Store, graph: NamedNode | DefaultGraph, before: list[NamedNode | DefaultGraph]) -> set[Triple]:
    """The triples of ``graph`` that a graph of ``before`` also states (IRIs from the store are
    safe to write between ``<>``)."""
    if not isinstance(graph, NamedNode):
        return set()
    named = ", ".join(f"<{g.value}>" for g in before if isinstance(g, NamedNode))
    patterns = [f"GRAPH ?h {{ ?s ?p ?o }} FILTER(?h IN ({named}))"] if named else []
    if DefaultGraph() in before:
        patterns.append("?s ?p ?o")  # the default graph itself: this query is not on the union
    found: set[Triple] = set()
    for pattern in patterns:
        rows = store.query(f"SELECT ?s ?p ?o WHERE {{ GRAPH <{graph.value}> {{ ?s ?p ?o }} {pattern} }}")
        found.update(Triple(r["s"], r["p"], r["o"]) for r in rows)
    return found


def union_triples(store: Store) -> Iterator[Triple]:
    """Each triple of the union of the graphs once, graph after graph."""
    order = graph_order(store)
    for index, graph in enumerate(order):
        skip = _stated_before(store, graph, order[:index])
        for quad in store.quads_for_pattern(None, None, None, graph):
            if not skip or quad.triple not in skip:
                yield quad.triple


def write_dump(store: Store, dump: Dump, output: IO[bytes], prefixes: Mapping[str, str] | None = None) -> None:
    """Write ``dump`` of ``store`` to the binary stream ``output`` (gzip applied here)."""
    prefixes = dict(prefixes or {}) if dump.format in _PREFIXED else None
    if dump.gzip:
        # The name and time in the gzip header are fixed: same data, same bytes (and `gunzip -N` names it well).
        with gzip.GzipFile(dump.name[:-3], "wb", GZIP_LEVEL, output, mtime=0) as packed:
            write_dump(store, Dump(dump.format), packed, prefixes)
        return
    if dump.union:
        serialize(union_triples(store), output, dump.format, prefixes=prefixes)
    else:
        store.dump(output, dump.format, prefixes=prefixes)


def produce(store: Store, name: str, path: str | os.PathLike[str], prefixes: Mapping[str, str] | None = None) -> int:
    """Write the file ``name`` (a key of :data:`DUMPS` or of ``netexport.FILES``) to ``path``;
    returns its size. This is what the runtime runs in an executor for the blueprint."""
    with open(path, "wb") as output:
        if name in DUMPS:
            write_dump(store, DUMPS[name], output, prefixes)
        elif name in netexport.FILES:
            netexport.write(store, name, output)
        else:
            raise KeyError(f"no such file: {name}")
    return os.path.getsize(path)


def export(store: Store, fmt: str, output: IO[bytes], prefixes: Mapping[str, str] | None = None) -> Dump:
    """``innograph export --format F``: the same bytes as ``/dumps/innograph.F``."""
    dump = find(fmt)
    if dump is None:
        raise ValueError(f"unknown dump format {fmt!r}; one of: " + ", ".join(d.name.removeprefix(STEM + ".") for d in DUMPS.values()))
    write_dump(store, dump, output, prefixes)
    return dump


# -- the files on disk (in the web process) -----------------------------------------------------


class FileCache:
    """Files generated once per data version: ``root/<version>/<name>``.

    ``version`` changes whenever the data may have changed (a write, a restart), so a file is
    never served for data it was not built from. Names come only from the fixed tables
    (:data:`DUMPS`, ``netexport.FILES``), never from a request path.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._lock = threading.Lock()

    def path(self, version: str, name: str) -> Path:
        return self.root / version / name

    def get(self, version: str, name: str, build: Callable[[str, Path], object]) -> Path:
        """The file, built first if needed by ``build(name, temporary path)``."""
        target = self.path(version, name)
        if target.is_file():
            return target
        with self._lock:
            self._prune(version)
            target.parent.mkdir(parents=True, exist_ok=True)
        with open(self.root / version / f".{name.replace('/', '-')}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one builder per file, across threads and processes
            if not target.is_file():
                partial = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
                try:
                    build(name, partial)
                    os.replace(partial, target)
                finally:
                    partial.unlink(missing_ok=True)
        return target

    def _prune(self, keep: str) -> None:
        """Remove the files of other data versions (open downloads keep their inode)."""
        if self.root.is_dir():
            for old in self.root.iterdir():
                if old.is_dir() and old.name != keep:
                    shutil.rmtree(old, ignore_errors=True)


# -- HTTP: /dumps/ and /.well-known/void ----------------------------------------------------------

VOID_FORMATS = (RdfFormat.TURTLE, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.N_TRIPLES)


def _setup(app: Flask) -> None:
    """Generated files go under ``STORE/dumps``; ``boot`` makes a restart a new data version."""
    app.extensions["innograph.dumps"] = {"cache": FileCache(Path(app.config["STORE"]) / "dumps"), "boot": uuid.uuid4().hex[:12]}
    i18n.init_app(app)


bp = Blueprint("dumps", __name__)
bp.record_once(lambda state: _setup(state.app))


def _state() -> tuple[object, FileCache, str]:
    """(runtime, file cache, data version): the version changes with every write and restart."""
    runtime = current_app.extensions.get("innograph")
    if runtime is None:
        abort(503, "no store in this app")
    state = current_app.extensions["innograph.dumps"]
    return runtime, state["cache"], f"{state['boot']}-{getattr(runtime, 'generation', 0)}"


def _build(runtime: object) -> Callable[[str, Path], object]:
    """How the file ``name`` gets written: by the runtime, in the process that holds the store."""
    export = getattr(runtime, "export", None)
    if export is None:
        abort(503, "this runtime cannot write dumps yet (QueryService.export)")
    return lambda name, path: export(name, str(path))


def _send(name: str) -> Response:
    runtime, cache, version = _state()
    path = cache.get(version, name, _build(runtime))
    media = DUMPS[name].media_type if name in DUMPS else netexport.MEDIA_TYPES[netexport.FILES[name][1]]
    if media.startswith("text/"):
        media += "; charset=utf-8"
    return send_file(path, mimetype=media, as_attachment=True, download_name=name.rsplit("/", 1)[-1], conditional=True, etag=True, max_age=60)


@bp.get("/dumps/<name>")
def dump(name: str) -> Response:
    if name not in DUMPS:  # only names of the table: no path from the request reaches the disk
        abort(404)
    return _send(name)


@bp.get("/dumps/network/<name>")
def network(name: str) -> Response:
    if f"network/{name}" not in netexport.FILES:
        abort(404)
    return _send(f"network/{name}")


@bp.get("/dumps/network/")
def network_index() -> Response:
    return redirect(url_for("dumps.index") + "#network", 303)


def _sizes(cache: FileCache, version: str) -> dict[str, int]:
    return {name: path.stat().st_size for name, *_ in distributions() if (path := cache.path(version, name)).is_file()}


@bp.get("/dumps/")
def index() -> Response:
    """The files, as HTML for browsers, JSON for everyone else (the RDF listing is the VoID)."""
    _, cache, version = _state()
    sizes, root = _sizes(cache, version), request.url_root.rstrip("/")
    files = [{"name": name, "url": f"{root}/dumps/{name}", "media_type": GZIP if packed else media, "format": media,
              "gzip": packed, "network": network, "bytes": sizes.get(name),
              "graphs": name in DUMPS and not DUMPS[name].union} for name, media, _, packed, network in distributions()]
    wants_html = request.args.get("format") == "html" or (not request.args.get("format") and negotiation.prefers_html(request.headers.get("Accept")))
    if wants_html:
        response = make_response(render_template("dumps.html", files=files, description=url_for("dumps.description")))
        response.headers["Content-Language"] = i18n.request_lang()
        response.vary.update(("Accept", "Accept-Language", "Cookie"))
        return response
    response = jsonify({"dataset": void.DATASET, "description": f"{root}/.well-known/void", "license": void.LICENSE, "files": files})
    response.vary.add("Accept")
    return response


@bp.get("/.well-known/void")
def description() -> Response:
    """The VoID + DCAT description from graph/void, with the sizes of the files generated so far;
    browsers go to the dataset's page."""
    accept, fmt_param = request.headers.get("Accept"), request.args.get("format")
    if fmt_param == "html" or (not fmt_param and negotiation.prefers_html(accept)):
        return redirect(request.script_root + "/" + void.DATASET.removeprefix(void.BASE), 303)  # the dataset's page
    fmt = negotiation.negotiate(accept, fmt_param, VOID_FORMATS)
    if fmt is None:
        abort(406, "Not acceptable: " + ", ".join(f.media_type for f in VOID_FORMATS))
    runtime, cache, version = _state()
    _, triples, _ = runtime.terms(f"CONSTRUCT {{ ?s ?p ?o }} WHERE {{ GRAPH <{void.GRAPH}> {{ ?s ?p ?o }} }}", max_rows=1_000_000)
    if not triples:
        abort(503, "the dataset description is not computed yet (graph/void is empty)")
    response = make_response(void.serialize(void.with_byte_sizes(triples, _sizes(cache, version)), fmt))
    response.headers["Content-Type"] = fmt.media_type
    response.vary.add("Accept")
    return response

