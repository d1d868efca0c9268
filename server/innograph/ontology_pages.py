"""``GET /ontology`` and ``GET /shapes``: the documentation of ontology_docs.py for browsers, the
files' RDF for everyone else, negotiated like the things' pages (pages.choose: HTML, Turtle,
JSON-LD, RDF/XML, N-Triples, TriG, N-Quads; ``?format=``; ``Vary: Accept``; Content-Location).

The Turtle of a single file is the file itself (comments and layout kept); other formats are
pyoxigraph's serialization of its triples (TriG and N-Quads in graph/ontology or graph/shapes).
Files are read from ``REPO_DIR`` and parsed again only when one changes.
"""

from __future__ import annotations

from pathlib import Path

from flask import current_app, make_response, render_template, request
from pyoxigraph import NamedNode, Quad, RdfFormat, Triple, parse, serialize

from . import i18n, ontology_docs
from .namespaces import PREFIXES, graph_iri
from .pages import HTML, bp, choose, format_links, link, negotiated, not_acceptable

OWL_ONTOLOGY = Triple(NamedNode(ontology_docs.ONTOLOGY_IRI), NamedNode(ontology_docs.RDF + "type"), NamedNode(ontology_docs.OWL + "Ontology"))


def _files(folder: str) -> list[Path]:
    root = Path(current_app.config.get("REPO_DIR") or ".") / folder
    return sorted(root.glob("*.ttl")) if root.is_dir() else []


def _read(folder: str) -> list[tuple[Path, list[Triple]]]:
    """(file, triples) of ``folder``/*.ttl, cached in the app until a file changes."""
    cache = current_app.extensions.setdefault("innograph.docs", {})
    files = _files(folder)
    key = (folder, tuple((str(f), f.stat().st_mtime_ns) for f in files))
    if cache.get(folder, (None,))[0] != key:
        cache[folder] = (key, [(f, [q.triple for q in parse(path=str(f), format=RdfFormat.TURTLE)]) for f in files])
    return cache[folder][1]


def _ontology_files() -> list[tuple[Path, list[Triple]]]:
    """The files of ontology/ that hold the owl:Ontology header (the concept schemes of
    ontology/concepts.ttl are things, served under /id/)."""
    files = _read("ontology")
    return [(f, ts) for f, ts in files if OWL_ONTOLOGY in ts] or files


@bp.route("/ontology")
def ontology():
    files = _ontology_files()
    shapes = [t for _, ts in _read("shapes") for t in ts]

    def page(lang: str) -> str:
        index = ontology_docs.Index([t for _, ts in files for t in ts], lang, link)
        shape_index = ontology_docs.Index(shapes, lang, link) if shapes else None
        return render_template("ontology.html", head=ontology_docs.header(index, ontology_docs.ONTOLOGY_IRI),
                               groups=ontology_docs.ontology_entries(index, shape_index), formats=format_links("/ontology"))

    return _document(files, "ontology", page)


@bp.route("/ontology/<version>")
def ontology_version(version: str):
    """The owl:versionIRI of the ontology (``/ontology/0.1.0``): this version is the one served at
    /ontology, so it is answered the same (Content-Location says so); any other version is 404 with
    the one that exists. Earlier versions are in the repository's history."""
    files = _ontology_files()
    current = next((t.object.value for _, ts in files for t in ts if t.predicate.value == ontology_docs.OWL + "versionInfo"), None)
    if version != current:
        response = make_response(f"No version {version} of the ontology here: this server has version {current}, "
                                 f"at {request.script_root}/ontology/{current} and {request.script_root}/ontology.\n", 404)
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        return response
    return ontology()


@bp.route("/docs/<name>")
def doc(name: str):
    """The repository's documents (``docs/NAME.md``, e.g. ``/docs/modelling``, which the ontology
    cites with rdfs:seeAlso), as Markdown (RFC 7763). Only names of files in docs/ are served."""
    folder = Path(current_app.config.get("REPO_DIR") or ".") / "docs"
    known = {f.stem: f for f in folder.glob("*.md")} if folder.is_dir() else {}
    if name not in known:
        response = make_response(f"No document {name!r}: {', '.join(sorted(known)) or 'none'} are served under /docs/.\n", 404)
        response.headers["Content-Type"] = "text/plain; charset=utf-8"
        return response
    response = make_response(known[name].read_bytes())
    response.headers["Content-Type"] = "text/markdown; charset=utf-8"
    return response


@bp.route("/shapes")
def shapes():
    files = _read("shapes")
    labels = ontology_docs.Index([t for _, ts in _ontology_files() for t in ts], "fr", link).labels

    def page(lang: str) -> str:
        index = ontology_docs.Index([t for _, ts in files for t in ts], lang, link, labels)
        return render_template("shapes.html", head=ontology_docs.header(index, ontology_docs.SHAPES_IRI),
                               shapes=ontology_docs.shape_entries(index), formats=format_links("/shapes"))

    return _document(files, "shapes", page)


def _document(files: list[tuple[Path, list[Triple]]], name: str, page):
    fmt = choose(request.headers.get("Accept"), request.args.get("format"))
    if fmt is None:
        return not_acceptable()
    location = f"{request.script_root}/{name}?format={'html' if fmt == HTML else fmt.file_extension}"
    if fmt == HTML:
        return negotiated(HTML, page(i18n.request_lang()), location=location)
    if fmt == RdfFormat.TURTLE and len(files) == 1:
        body = files[0][0].read_bytes()
    else:
        triples = list(dict.fromkeys(t for _, ts in files for t in ts))
        if fmt in (RdfFormat.TRIG, RdfFormat.N_QUADS):
            graph = NamedNode(graph_iri(name))
            body = serialize([Quad(t.subject, t.predicate, t.object, graph) for t in triples], format=fmt, prefixes=PREFIXES)
        else:
            body = serialize(triples, format=fmt, prefixes=PREFIXES)
    return negotiated(fmt, body, location=location)
