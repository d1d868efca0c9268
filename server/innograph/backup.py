"""``innograph backup DIR`` / ``innograph restore DIR``: a consistent copy of the embedded store.

What is copied (the whole state of a deployment on the embedded store, DESIGN.md "Runtime"):
the current database (``CURRENT.json`` and the ``db-*`` directory it names: an N-Quads snapshot or
a RocksDB database), the journal of accepted writes, the archive of submissions (its journal and
payloads) and the TOKENS file. ``DIR/innograph-backup.json`` lists every file with its size and
SHA-256; ``restore`` checks them before it writes anything.

Why it is consistent while the server runs, without stopping it:

- a database never changes once ``innograph load`` made it current (a snapshot is written once;
  a RocksDB database is copied with RocksDB's own checkpoint, ``Store.backup``); the loader's lock
  is held meanwhile, so no load replaces it under the copy;
- the manifest copied says how many journal records the database holds (``journal_applied``);
  the journal is copied after it, so it holds at least those records, and a restore replays the
  rest (replaying a record twice equals replaying it once: journal.py);
- journals are append-only and framed: what is copied is cut after the last whole record, so a
  write in flight is in the copy entirely or not at all; payloads are copied after the archive's
  journal (a record is written after its payload), so every record's payload is there;
- the TOKENS file is append-only lines: cut after the last whole line.

``restore`` writes into an empty (or missing) STORE directory and a missing (or empty) TOKENS
file: it never overwrites a deployment. The server started on the restored directory replays the
journal and serves what the original served when the copy was taken.

An external store (SPARQL_QUERY_URL) is backed up with the engine's own tools (``oxigraph
backup``, Virtuoso's ``backup_online``); this command copies only the embedded store.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from . import journal
from .config import load_settings
from .store import CURRENT, JOURNAL, ROCKSDB, SNAPSHOT, StorePaths

INDEX = "innograph-backup.json"
FORMAT = "innograph-backup/1"
ARCHIVE = "archive"
ARCHIVE_JOURNAL = "submissions.journal"


class BackupError(Exception):
    """The copy cannot be made or restored (exit code 2)."""


@contextmanager
def _load_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the loader's lock (loader._locked): no load meanwhile
        yield


def _empty(path: Path) -> bool:
    return not path.exists() or (path.is_dir() and not any(path.iterdir()))


def _whole_records(path: Path) -> bytes:
    """The journal at ``path`` up to its last whole record (b"" if it does not exist)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return b""
    return data[: journal.scan(data)[1]]


def _whole_lines(path: Path) -> bytes | None:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return data[: data.rfind(b"\n") + 1]


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def _files(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_tree(root: Path) -> None:
    for directory in [root, *(p for p in root.rglob("*") if p.is_dir())]:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def backup(store_dir: str | os.PathLike[str], tokens_file: str | os.PathLike[str], target: str | os.PathLike[str]) -> dict[str, Any]:
    """Copy the embedded store at ``store_dir`` (and ``tokens_file``) into the empty ``target``."""
    paths, out = StorePaths(store_dir), Path(target)
    if not _empty(out):
        raise BackupError(f"{out} is not empty: a backup goes into a new directory")
    started = time.perf_counter()
    with _load_lock(paths.root):
        manifest = paths.manifest()
        if manifest is None:
            raise BackupError(f"no store in {paths.root} (nothing to back up)")
        db = paths.root / manifest["db"]
        store_out = out / "store"
        (store_out / db.name).mkdir(parents=True)
        if manifest.get("kind", "nquads") == "rocksdb":
            from pyoxigraph import Store

            Store.read_only(str(db / ROCKSDB)).backup(str(store_out / db.name / ROCKSDB))
        else:
            shutil.copyfile(db / SNAPSHOT, store_out / db.name / SNAPSHOT)
        _write(store_out / CURRENT, json.dumps(manifest, indent=1, sort_keys=True).encode())
    records = _whole_records(paths.journal)
    _write(store_out / JOURNAL, records)
    archive = paths.root / ARCHIVE
    if archive.is_dir():
        _write(store_out / ARCHIVE / ARCHIVE_JOURNAL, _whole_records(archive / ARCHIVE_JOURNAL))
        for payload in _files(archive / "payloads"):
            if not payload.name.startswith("."):  # a payload being written (tmp name) is not archived yet
                target_file = store_out / ARCHIVE / "payloads" / payload.name
                target_file.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(payload, target_file)
    tokens = _whole_lines(Path(tokens_file))
    if tokens is not None:
        _write(out / "tokens", tokens)
    index = {"format": FORMAT, "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "store": str(paths.root),
             "tokens": str(Path(tokens_file).resolve()), "journal_records": len(journal.scan(records)[0]),
             "database": manifest["db"], "kind": manifest.get("kind", "nquads"),
             "files": {str(p.relative_to(out)): {"bytes": p.stat().st_size, "sha256": _sha256(p)} for p in _files(out)}}
    _write(out / INDEX, json.dumps(index, indent=1, sort_keys=True).encode())
    _fsync_tree(out)
    return {**index, "seconds": round(time.perf_counter() - started, 2)}


def restore(source: str | os.PathLike[str], store_dir: str | os.PathLike[str], tokens_file: str | os.PathLike[str]) -> dict[str, Any]:
    """Copy the backup ``source`` into the empty ``store_dir`` (and the missing ``tokens_file``)."""
    src, root, tokens = Path(source), Path(store_dir), Path(tokens_file)
    try:
        index = json.loads((src / INDEX).read_text("utf-8"))
    except (FileNotFoundError, ValueError) as error:
        raise BackupError(f"{src} is not an innograph backup ({INDEX}: {error})") from None
    if index.get("format") != FORMAT:
        raise BackupError(f"{src}: unknown backup format {index.get('format')!r}")
    if not _empty(root):
        raise BackupError(f"{root} is not empty: restore into a new store directory")
    if tokens.exists() and tokens.stat().st_size and "tokens" in index["files"]:
        raise BackupError(f"{tokens} exists: restore the tokens into a new file (setting TOKENS)")
    for name, facts in index["files"].items():  # check everything before writing anything
        path = src / name
        if not path.is_file() or path.stat().st_size != facts["bytes"] or _sha256(path) != facts["sha256"]:
            raise BackupError(f"{path} is missing or differs from the backup's index: the backup is damaged")
    root.mkdir(parents=True, exist_ok=True)
    for name in sorted(index["files"]):
        if name.startswith("store/"):
            target = root / name.removeprefix("store/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / name, target)
    if "tokens" in index["files"]:
        _write(tokens, (src / "tokens").read_bytes())
        os.chmod(tokens, 0o600)
    _fsync_tree(root)
    if StorePaths(root).manifest() is None:
        raise BackupError(f"{root}: the restored store has no current database")
    return index


# -- the commands -------------------------------------------------------------------------------


class _Failed(click.ClickException):
    exit_code = 2  # the CLI's code for input errors (cli.py)


def register(main: click.Group) -> None:
    main.add_command(backup_command)
    main.add_command(restore_command)


def _settings(store: str | None) -> dict[str, Any]:
    return load_settings({"STORE": store} if store else {})


@click.command("backup")
@click.argument("target", type=click.Path(file_okay=False))
@click.option("--store", "store", metavar="DIR", help="Store directory (setting STORE, default ./var/store).")
def backup_command(target: str, store: str | None) -> None:
    """Copy the embedded store (database, journal, archive) and the TOKENS file into TARGET, a new
    directory; consistent while the server runs. Exit 2 if it cannot."""
    settings = _settings(store)
    try:
        done = backup(settings["STORE"], settings["TOKENS"], target)
    except (BackupError, OSError) as error:
        raise _Failed(str(error)) from None
    size = sum(f["bytes"] for f in done["files"].values())
    click.echo(f"{target}: {len(done['files'])} files, {size} bytes, database {done['database']} + {done['journal_records']} "
               f"journal record(s), {done['seconds']} s")


@click.command("restore")
@click.argument("source", type=click.Path(exists=True, file_okay=False))
@click.option("--store", "store", metavar="DIR", help="Store directory to create (setting STORE); it must be empty.")
def restore_command(source: str, store: str | None) -> None:
    """Restore a backup made by `innograph backup` into an empty store directory (and the TOKENS
    file, which must not exist yet). Exit 2 if it cannot."""
    settings = _settings(store)
    try:
        index = restore(source, settings["STORE"], settings["TOKENS"])
    except (BackupError, OSError) as error:
        raise _Failed(str(error)) from None
    click.echo(f"{settings['STORE']}: restored from {source} (made {index['created']}, database {index['database']} + "
               f"{index['journal_records']} journal record(s)); `innograph serve` replays the journal at start")
