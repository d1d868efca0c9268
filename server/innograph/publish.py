"""Publication over HTTP: ``/dumps/`` (the files of dumps.py and netexport.py) and ``/.well-known/void``.

Files are made once per data version under ``STORE/dumps/<version>/`` (atomic rename, one writer
per file) by the runtime, in the process that holds the store (``QueryService.export``, which runs
``dumps.produce``), and sent with ``send_file`` (ETag, Range, ``Content-Disposition: attachment``).
Only names of the fixed tables reach the disk: a request path never does. The version is the
runtime's generation plus a token drawn at start, so a write or a restart means new files. A file
that cannot be written because the store's disk is full is answered 507 (nothing partial kept).

``/.well-known/void`` answers graph/void (void.py) by content negotiation, plus ``dcat:byteSize``
of the files already made; browsers go to the dataset's page, ``/id/dataset/innograph``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

from flask import (Blueprint, Flask, Response, abort, current_app, jsonify, make_response, redirect, render_template,
                   request, send_file, url_for)
from pyoxigraph import RdfFormat

from . import errors, i18n, negotiation, netexport, void
from .diskfull import is_disk_full
from .dumps import DUMPS, GZIP, distributions

log = logging.getLogger(__name__)


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
    app.extensions["innograph.publish"] = {"cache": FileCache(Path(app.config["STORE"]) / "dumps"), "boot": uuid.uuid4().hex[:12]}
    i18n.init_app(app)


bp = Blueprint("publish", __name__)
bp.record_once(lambda state: _setup(state.app))


def _state() -> tuple[object, FileCache, str]:
    """(runtime, file cache, data version): the version changes with every write and restart."""
    runtime = current_app.extensions.get("innograph")
    if runtime is None:
        abort(503, "no store in this app")
    state = current_app.extensions["innograph.publish"]
    return runtime, state["cache"], f"{state['boot']}-{getattr(runtime, 'generation', 0)}"


def _build(runtime: object) -> Callable[[str, Path], object]:
    """How the file ``name`` gets written: by the runtime, in the process that holds the store."""
    export = getattr(runtime, "export", None)
    if export is None:
        abort(503, "this runtime cannot write dumps yet (QueryService.export)")
    return lambda name, path: export(name, str(path))


def _send(name: str) -> Response:
    runtime, cache, version = _state()
    try:
        path = cache.get(version, name, _build(runtime))
    except Exception as error:  # the partial file is removed already (FileCache.get)
        if not _disk_full(error):
            raise
        log.error("/dumps/%s not written, the store's disk is full: %s", name, error)
        body, media_type = errors.render(errors.insufficient_storage(f"the file {name} could not be written"), request.headers.get("Accept"))
        return make_response(body, 507, {"Content-Type": media_type})
    media = DUMPS[name].media_type if name in DUMPS else netexport.MEDIA_TYPES[netexport.FILES[name][1]]
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
    return redirect(url_for("publish.index") + "#network", 303)


def _disk_full(error: Exception) -> bool:
    """Whether building a file failed for lack of space: here (OSError) or in the executor
    (QueryError "disk-full", evaluate.run_export)."""
    return is_disk_full(error) or getattr(error, "reason", None) == "disk-full"


def _sizes(cache: FileCache, version: str) -> dict[str, int]:
    return {name: path.stat().st_size for name, *_ in distributions() if (path := cache.path(version, name)).is_file()}


@bp.get("/dumps/")
def index() -> Response:
    """The files, as HTML for browsers, JSON for everyone else (the RDF listing is the VoID)."""
    _, cache, version = _state()
    sizes, root = _sizes(cache, version), current_app.config["PUBLIC_URL"]  # the server's public URL (setting)
    files = [{"name": name, "url": f"{root}/dumps/{name}", "href": f"{request.script_root}/dumps/{name}", "media_type": GZIP if packed else media, "format": media,
              "gzip": packed, "network": network, "bytes": sizes.get(name),
              "graphs": name in DUMPS and not DUMPS[name].union} for name, media, _, packed, network in distributions()]
    wants_html = request.args.get("format") == "html" or (not request.args.get("format") and negotiation.prefers_html(request.headers.get("Accept")))
    if wants_html:
        response = make_response(render_template("dumps.html", files=files, description=url_for("publish.description")))
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
    if not triples:  # a store loaded without void.refresh: computed through the executors, kept per version
        state = current_app.extensions["innograph.publish"]
        if state.get("void", (None,))[0] != version:
            state["void"] = (version, [q.triple for q in void.build_description(runtime)])
        triples = state["void"][1]
    response = make_response(void.serialize(void.with_byte_sizes(triples, _sizes(cache, version)), fmt))
    response.headers["Content-Type"] = fmt.media_type
    response.vary.add("Accept")
    return response

