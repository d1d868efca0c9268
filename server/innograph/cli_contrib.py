"""The contribution commands of ``innograph``: validate, contribute, token create.

``validate FILE...`` validates the union of the files against the repository's shapes (with the
ontology's class hierarchy), like pySHACL's CLI: exit 0 conforms, 1 violations, 2 error.
``contribute FILE --source IRI`` sends the file to a running server's /contributions with a token
(``--token`` or INNOGRAPH_TOKEN), so that the same validation, archive and journal apply.
``token create NAME --role R`` prints a new token once and stores its hash in TOKENS.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import click

from . import tokens as token_store
from .config import load_settings
from .rdfinput import InputError, format_for_filename
from .validation import Shapes, validate_files


def register(main: click.Group) -> None:
    main.add_command(validate)
    main.add_command(contribute)
    main.add_command(token)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["text", "json", "turtle"]), default="text", help="Report format.")
def validate(files: tuple[Path, ...], fmt: str) -> None:
    """SHACL-validate FILE... (exit 0 conforms, 1 violations, 2 error)."""
    settings = load_settings()
    repo = Path(settings["REPO_DIR"])
    try:
        shapes = Shapes.from_paths(sorted((repo / "shapes").glob("*.ttl")), sorted((repo / "ontology").glob("*.ttl")))
        report = validate_files(files, shapes, max_bytes=int(settings["MAX_BODY"]) * 100, max_triples=int(settings["MAX_TRIPLES"]) * 100)
    except InputError as e:
        where = f" (line {e.line}, column {e.column})" if e.line else ""
        click.echo(f"error: {e.message}{where}", err=True)
        sys.exit(2)
    if fmt == "json":
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
    elif fmt == "turtle":
        click.echo(report.graph.serialize(format="turtle"))
    else:
        click.echo("conforms" if report.conforms else f"{len(report.results)} result(s)")
        for r in report.results:
            d = r.as_dict()
            click.echo(f"- {d['severity']}: {d['focusNode']} {d['resultPath'] or ''} {d['value'] or ''}\n  {r.message('en')}")
    sys.exit(0 if report.conforms else 1)


@click.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="The IRI or URL the contribution cites.")
@click.option("--message", default=None, help="What the contribution adds, and why.")
@click.option("--server", default=None, help="The server's URL (default: PUBLIC_URL).")
@click.option("--token", default=None, envvar="INNOGRAPH_TOKEN", help="The contribution token (or INNOGRAPH_TOKEN).")
def contribute(file: Path, source: str, message: str | None, server: str | None, token: str | None) -> None:
    """Send FILE as a contribution (exit 0 accepted, 1 violations, 2 error)."""
    settings = load_settings()
    if not token:
        click.echo("error: a token is needed (--token or INNOGRAPH_TOKEN)", err=True)
        sys.exit(2)
    try:
        media_type = format_for_filename(file.name).media_type
    except InputError as e:
        click.echo(f"error: {e.message}", err=True)
        sys.exit(2)
    query = urllib.parse.urlencode({"source": source, **({"message": message} if message else {})})
    url = f"{(server or settings['PUBLIC_URL']).rstrip('/')}/contributions?{query}"
    request = urllib.request.Request(url, data=file.read_bytes(), method="POST", headers={
        "Content-Type": media_type, "Authorization": f"Bearer {token}", "Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            answer, status = json.loads(response.read()), response.status
    except urllib.error.HTTPError as e:
        answer, status = json.loads(e.read() or b"{}"), e.code
    except urllib.error.URLError as e:
        click.echo(f"error: cannot reach {url}: {e.reason}", err=True)
        sys.exit(2)
    click.echo(json.dumps(answer, ensure_ascii=False, indent=2))
    sys.exit(0 if status == 201 else 1 if status == 422 else 2)


@click.group()
def token() -> None:
    """Contribution tokens."""


@token.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(token_store.ROLES), required=True)
def token_create(name: str, role: str) -> None:
    """Issue a token for NAME (printed once, stored hashed in TOKENS)."""
    path = load_settings()["TOKENS"]
    click.echo(token_store.create(path, name, role))
    click.echo(f"(stored hashed in {os.path.abspath(path)}; it cannot be shown again)", err=True)
