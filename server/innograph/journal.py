"""The journal: an append-only, fsync'ed record of the writes the server accepted.

Why a journal: queries run on an in-memory store, so the accepted contributions must live on disk
somewhere that survives a crash. A write is acknowledged only after its record is on disk
(``os.fsync``), so a restart that replays the journal loses nothing acknowledged.

Why this framing: each record is ``MAGIC | length | crc32 | payload``. A ``kill -9`` (or power cut)
in the middle of an append leaves a torn tail: a short header, a short payload or a checksum that
does not match. Reading stops at the first such record and ignores the rest, and opening for append
cuts the file back to the last whole record, so a write is applied entirely or not at all.

Records are JSON objects ``{"id", "at", "ops": [...]}``; ``ops`` are the operations of
``store.apply_ops`` (put_graph, drop_graph, add, remove). Replaying a journal twice gives the same
store as replaying it once (each operation sets quads present or absent regardless of the state
before), which is what makes ``innograph load`` and a restart idempotent.
"""

from __future__ import annotations

import fcntl
import json
import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

MAGIC = b"IGJ1"
_HEADER = struct.Struct(">4sII")  # magic, payload length, crc32 of the payload


def encode(record: dict[str, Any]) -> bytes:
    """One framed record (header + JSON payload)."""
    payload = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return _HEADER.pack(MAGIC, len(payload), zlib.crc32(payload)) + payload


def scan(data: bytes) -> tuple[list[dict[str, Any]], int]:
    """The whole records at the start of ``data`` and the offset where they end (torn tail after)."""
    records: list[dict[str, Any]] = []
    offset = 0
    while offset + _HEADER.size <= len(data):
        magic, length, crc = _HEADER.unpack_from(data, offset)
        start = offset + _HEADER.size
        payload = data[start:start + length]
        if magic != MAGIC or len(payload) != length or zlib.crc32(payload) != crc:
            break
        try:
            records.append(json.loads(payload))
        except ValueError:
            break
        offset = start + length
    return records, offset


def read(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every whole record of the journal at ``path`` (none if it does not exist)."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    return scan(data)[0]


class Journal:
    """The journal file opened for appending, locked against a second writer (another server)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            raise RuntimeError(f"{self.path} is held by another innograph process") from None
        data = Path(self.path).read_bytes()
        self.records, end = scan(data)
        if end != len(data):  # a torn tail from a crash: cut it so the next record follows a whole one
            os.ftruncate(self._fd, end)
            os.fsync(self._fd)
        os.lseek(self._fd, end, os.SEEK_SET)
        _fsync_dir(self.path.parent)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.records))

    def append(self, record: dict[str, Any]) -> int:
        """Write ``record`` durably; returns its sequence number (1-based). Raises on IO errors."""
        frame = encode(record)
        view = memoryview(frame)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fsync(self._fd)
        self.records.append(json.loads(json.dumps(record)))
        return len(self.records)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # also releases the flock
            self._fd = -1


def _fsync_dir(path: Path) -> None:
    """Make the file's directory entry durable too (a new journal must survive a power cut)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
