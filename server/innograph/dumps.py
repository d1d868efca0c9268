"""The whole dataset as files: what the dumps are and how they are written from a store.

Dumps: TriG and N-Quads keep each statement's named graph (its source); Turtle and N-Triples hold
the union of the graphs, each triple once; JSON-LD keeps the graphs. Each also comes gzipped
(``innograph.nq.gz``, served as ``application/gzip``: a file download, which is what curl and wget
users expect, not a ``Content-Encoding`` their client may silently undo). Network exports
(``network/*``) are written by netexport.py.

Memory stays flat: pyoxigraph writes quad formats straight from the store; the union formats
write the graphs one after the other, largest first, with pyoxigraph's own dump, except that a
triple an earlier graph states is left out of a later one (overlap.py finds those; the set is as
small as the overlap between sources). No set of all triples is built.

:func:`produce` writes one file where the store is (an executor, for publish.py's /dumps/);
``innograph export`` calls :func:`export`, which writes the same bytes. No Flask here.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import IO

from pyoxigraph import DefaultGraph, NamedNode, RdfFormat, Store, Triple, serialize

from . import netexport, overlap

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
_PREFIXED = (RdfFormat.TRIG, RdfFormat.TURTLE, RdfFormat.RDF_XML)  # formats where prefixes shorten the output


def find(name: str) -> Dump | None:
    """The dump for a format short name, extension or media type, ``.gz`` suffix for gzip
    (any format pyoxigraph writes: ``innograph export`` also offers RDF/XML, the server does not)."""
    key, packed = (name[:-3], True) if name.endswith(".gz") else (name, False)
    key = {"turtle": "ttl", "ntriples": "nt", "nquads": "nq", "json-ld": "jsonld", "rdfxml": "rdf"}.get(key.lower(), key.lower())
    fmt = RdfFormat.from_media_type(key) if "/" in key else RdfFormat.from_extension(key)
    return Dump(fmt, packed) if fmt is not None and fmt != RdfFormat.N3 else None


def distributions() -> list[tuple[str, str, str, bool, str | None]]:
    """(name under /dumps/, media type, format or specification IRI, gzipped, network) of every file."""
    files = [(d.name, d.format.media_type, d.format.iri, d.gzip, None) for d in DUMPS.values()]
    files += [(name, netexport.MEDIA_TYPES[kind], netexport.STANDARDS[kind], False, net) for name, (net, kind) in netexport.FILES.items()]
    return files


# -- writing (in the process that holds the store) ----------------------------------------------


class _AfterPrefixes:
    """Passes output on, without the ``@prefix`` lines it starts with (already written once)."""

    def __init__(self, output: IO[bytes]) -> None:
        self.output, self.head = output, b""

    def write(self, data: bytes) -> int:
        if self.head is None:
            return self.output.write(data)
        self.head += bytes(data)
        while self.head.startswith(b"@prefix ") and b"\n" in self.head:
            self.head = self.head.split(b"\n", 1)[1]
        if self.head and not b"@prefix ".startswith(self.head[:8]):
            self.output.write(self.head)
            self.head = None
        return len(data)

    def flush(self) -> None:
        pass


def _skips(store: Store) -> Iterator[tuple[NamedNode | DefaultGraph, set[Triple]]]:
    """Each graph, with the triples of it that an earlier graph states (overlap.py)."""
    from . import void  # void.py lists the dumps (distributions): imported here, not at the top

    # The per-graph counts graph/void keeps spare a scan of the store (checked against its size).
    census = overlap.described(store.query, void.GRAPH, void.DATASET, len(store)) if not store.query("ASK { ?s ?p ?o }") else None
    for graph, query in overlap.repeats(census or overlap.census(store.query, with_default=True)):  # the store's own default graph
        yield graph, ({Triple(r["s"], r["p"], r["o"]) for r in store.query(query)} if query else set())


def union_triples(store: Store) -> Iterator[Triple]:
    """Each triple of the union of the graphs once, graph after graph."""
    for graph, skip in _skips(store):
        yield from (q.triple for q in store.quads_for_pattern(None, None, None, graph) if not skip or q.triple not in skip)


def write_union(store: Store, output: IO[bytes], fmt: RdfFormat, prefixes: dict[str, str] | None) -> None:
    """Each triple of the union of the graphs once, graph after graph: pyoxigraph's own dump for
    a graph that repeats nothing, a filtered stream for one that repeats an earlier graph. Only
    Turtle and N-Triples documents can be concatenated; other formats get one stream."""
    if fmt not in (RdfFormat.TURTLE, RdfFormat.N_TRIPLES):
        serialize(union_triples(store), output, fmt, prefixes=prefixes)
        return
    for index, (graph, skip) in enumerate(_skips(store)):
        out = output if index == 0 or not prefixes else _AfterPrefixes(output)
        if skip:
            quads = store.quads_for_pattern(None, None, None, graph)
            serialize((q.triple for q in quads if q.triple not in skip), out, fmt, prefixes=prefixes)
        else:
            store.dump(out, fmt, from_graph=graph, prefixes=prefixes)


def write_dump(store: Store, dump: Dump, output: IO[bytes], prefixes: Mapping[str, str] | None = None) -> None:
    """Write ``dump`` of ``store`` to the binary stream ``output`` (gzip applied here)."""
    prefixes = dict(prefixes or {}) if dump.format in _PREFIXED else None
    if dump.gzip:
        # The name and time in the gzip header are fixed: same data, same bytes (and `gunzip -N` names it well).
        with gzip.GzipFile(dump.name[:-3], "wb", GZIP_LEVEL, output, mtime=0) as packed:
            write_dump(store, Dump(dump.format), packed, prefixes)
        return
    if dump.union:
        write_union(store, output, dump.format, prefixes)
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
        raise ValueError(f"unknown dump format {fmt!r}; one of: " + ", ".join(d.name.removeprefix(STEM + ".") for d in DUMPS.values()) + ", rdf")
    write_dump(store, dump, output, prefixes)
    return dump
