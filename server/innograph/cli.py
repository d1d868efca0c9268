"""The ``innograph`` command line (DESIGN.md, "Command line"): serve, load, query, export.

Exit codes, the same for every command: 0 success; 1 no result (a query with no solution, ASK
false, an empty graph); 2 usage or input error (bad option, missing file, RDF or SPARQL syntax
error, unknown format), or a store whose disk is full (nothing changed). Settings come from the
defaults, then INNOGRAPH_* variables, then flags.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import click

from .config import load_settings
from .diskfull import is_disk_full

EXIT_OK, EXIT_EMPTY, EXIT_INPUT = 0, 1, 2
_store_option = click.option("--store", "store", metavar="DIR", help="Store directory (setting STORE, default ./var/store).")


class InputError(click.ClickException):
    """Bad input: exit code 2, like click's usage errors."""

    exit_code = EXIT_INPUT


def _settings(**flags: Any) -> dict[str, Any]:
    return load_settings({k.upper(): v for k, v in flags.items() if v is not None})


def _progress() -> Any:
    """Progress lines on stderr when it is a terminal, nothing otherwise (logs, pipes, CI)."""
    return (lambda text: (sys.stderr.write(text), sys.stderr.flush())) if sys.stderr.isatty() else (lambda _text: None)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="innograph")
def main() -> None:
    """innograph: a knowledge graph of innovation networks.

    Exit codes: 0 success, 1 no result, 2 usage or input error.
    """


def _do_load(settings: dict[str, Any], files: tuple[str, ...]) -> dict[str, Any]:
    from . import loader

    if settings.get("SPARQL_QUERY_URL"):  # an external store (remote.py): the same files, over the Graph Store Protocol
        from . import remote

        try:
            return remote.load(settings, files, report=_progress())
        except (FileNotFoundError, SyntaxError, ValueError, remote.QueryError) as error:
            raise InputError(str(error)) from None
    try:
        return loader.load(settings["STORE"], settings["REPO_DIR"], files, mode=settings["STORE_MODE"], report=_progress(),
                           progress=sys.stderr.isatty())
    except (FileNotFoundError, SyntaxError, ValueError) as error:
        raise InputError(str(error)) from None
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise InputError(f"the store's disk is full ({error.strerror or error}); nothing was changed: {Path(settings['STORE']) / 'CURRENT.json'} "
                         "still names the previous database. Free some space and load again") from None


@main.command()
@_store_option
@click.argument("paths", nargs=-1, type=click.Path(), metavar="[FILE-OR-DIR]...")
def load(store: str | None, paths: tuple[str, ...]) -> None:
    """(Re)build the store from the repository, or add RDF files.

    Without arguments: ontology/ -> graph/ontology, shapes/ -> graph/shapes, data/ (TriG and
    N-Quads keep their graphs; a triples file goes into graph/<its path under data/ without
    extension>). The journal of accepted contributions is replayed, graph/inferred recomputed.
    Loading twice gives the same triples.

    With FILE-OR-DIR: each file is added with pyoxigraph's bulk loader into its own graph
    graph/file/<name> (TriG/N-Quads keep their graphs). Formats by extension; .gz accepted.
    Prints the triples per graph.
    """
    settings = _settings(store=store)
    started = time.perf_counter()
    manifest = _do_load(settings, paths)
    for graph, count in sorted(manifest["graphs"].items()):
        click.echo(f"{count:>10}  {graph or '(default graph)'}")
    total = sum(manifest["graphs"].values())
    click.echo(f"{total:>10}  triples in {len(manifest['graphs'])} graphs, {time.perf_counter() - started:.1f} s, store {manifest.get('store') or settings['STORE']}")


@main.command()
@click.option("--host", help="Interface to listen on (default 127.0.0.1: loopback, so nothing is exposed by accident).")
@click.option("--port", type=int, help="TCP port (default 8000).")
@_store_option
def serve(host: str | None, port: int | None, store: str | None) -> None:
    """Serve the SPARQL endpoint and the linked-data pages (gunicorn).

    Builds the store from the repository first if it is empty.
    """
    from . import serve as server
    from .store import StorePaths

    overrides = {k.upper(): v for k, v in {"host": host, "port": port, "store": store}.items() if v is not None}
    settings = load_settings(overrides)
    if not settings.get("SPARQL_QUERY_URL") and StorePaths(settings["STORE"]).manifest() is None:  # external: `innograph load` it
        click.echo(f"the store {settings['STORE']} is empty: loading the repository {settings['REPO_DIR']}", err=True)
        _do_load(settings, ())
    server.run(settings, overrides)


def _open(settings: dict[str, Any]) -> Any:
    from .store import open_for_queries

    if settings.get("SPARQL_QUERY_URL"):  # an external store: its quads, read into memory (remote.py)
        from . import remote

        try:
            return remote.snapshot(settings)
        except remote.QueryError as error:
            raise InputError(str(error)) from None
    try:
        return open_for_queries(settings["STORE"], "memory")
    except FileNotFoundError as error:
        raise InputError(str(error)) from None


@main.command()
@click.argument("query")
@click.option("--format", "fmt", help="json, xml, csv, tsv for SELECT/ASK (default tsv); ttl, nt, jsonld, rdf, trig, nq for CONSTRUCT/DESCRIBE (default ttl); or a media type.")
@_store_option
def query(query: str, fmt: str | None, store: str | None) -> None:
    """Run QUERY (SPARQL text, or a .rq file) on the store and print the results.

    The default graph is the union of all graphs. Exit 1 if there is no result.
    """
    from .evaluate import kind_of
    from .namespaces import PREFIXES
    from .negotiation import choose_format

    text = Path(query).read_text("utf-8") if Path(query).is_file() else query
    dataset = _open(_settings(store=store))
    try:
        result = dataset.query(text, use_default_graph_as_union=True, prefixes=PREFIXES)
    except SyntaxError as error:
        raise InputError(f"SPARQL syntax error: {error}") from None
    kind = kind_of(result)
    chosen = choose_format(kind, None, fmt or ("ttl" if kind == "triples" else "tsv"))
    if chosen is None:
        raise InputError(f"--format {fmt}: not a format for a {kind} result")
    out = _Counting(sys.stdout.buffer, chosen[1])
    if kind == "boolean":
        out.write(result.serialize(format=chosen[1]))
        empty = not bool(result)
    else:
        result.serialize(out, format=chosen[1])
        empty = out.rows == 0 if kind == "solutions" else out.size == 0
    out.flush()
    sys.exit(EXIT_EMPTY if empty else EXIT_OK)


class _Counting:
    """Passes output through, counting what went by (rows as evaluate.RowCounter counts them)."""

    def __init__(self, stream: Any, fmt: Any) -> None:
        from .evaluate import RowCounter

        self.stream, self.size, self.counter = stream, 0, RowCounter(fmt)

    def write(self, data: bytes) -> int:
        self.stream.write(data)
        self.size += len(data)
        self.counter.feed(bytes(data))
        return len(data)

    def flush(self) -> None:
        self.stream.flush()

    @property
    def rows(self) -> int:
        return self.counter.rows


@main.command()
@click.option("--format", "fmt", required=True, help="trig, nq, jsonld (the graphs kept); ttl, nt (the union of the graphs, each triple once); a .gz suffix gzips.")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="File to write (default: standard output).")
@_store_option
def export(fmt: str, out: str | None, store: str | None) -> None:
    """Dump the whole dataset (graph/inferred included): the same bytes as /dumps/innograph.F."""
    from . import dumps
    from .namespaces import PREFIXES

    if dumps.find(fmt) is None:
        raise InputError(f"--format {fmt}: unknown dump format")
    dataset = _open(_settings(store=store))
    stream = open(out, "wb") if out else sys.stdout.buffer
    try:
        dumps.export(dataset, fmt, stream, PREFIXES)
    finally:
        if out:
            stream.close()
        else:
            stream.flush()

from .cli_contrib import register as _register_contrib  # noqa: E402  (contribution commands: validate, contribute, token)

_register_contrib(main)

from .backup import register as _register_backup  # noqa: E402  (backup, restore of the embedded store)

_register_backup(main)


if __name__ == "__main__":
    main()
