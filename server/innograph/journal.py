"""The journal: an append-only, fsync'ed record of the writes the server accepted.

Why a journal: queries run on an in-memory store, so the accepted contributions must live on disk
somewhere that survives a crash. A write is acknowledged only after its record is on disk
(``os.fsync``), so a restart that replays the journal loses nothing acknowledged.

Why this framing: each record is ``MAGIC | length | crc32 | payload``. A ``kill -9`` (or power cut)
in the middle of an append leaves a torn tail: a short header, a short payload or a checksum that
does not match. Reading stops at the first such record and ignores the rest, and opening for append
cuts the file back to the last whole record, so a write is applied entirely or not at all. An
append that fails (a full disk) is cut back the same way at once: a partial record left in the
middle would hide every later one from the next start.

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

from .diskfull import raising_disk_full

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
        with raising_disk_full(f"the journal {self.path}"):  # creating it may need a directory block
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
        self._last_start: int | None = None  # where the last record appended by this process begins
        _fsync_dir(self.path.parent)

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(list(self.records))

    def append(self, record: dict[str, Any]) -> int:
        """Write ``record`` durably; returns its sequence number (1-based). Raises on IO errors.

        If the write or the fsync fails (a full disk: :class:`DiskFull`), the file is cut back to
        where the record began: a partial frame left in the middle would make every record
        appended after it invisible to the next start (reading stops at the first torn record)."""
        frame = encode(record)
        start = os.lseek(self._fd, 0, os.SEEK_CUR)
        try:
            with raising_disk_full(f"the journal {self.path}"):
                view = memoryview(frame)
                while view:
                    view = view[os.write(self._fd, view):]
                os.fsync(self._fd)
        except OSError:
            self._cut(start)
            raise
        self.records.append(json.loads(json.dumps(record)))
        self._last_start = start
        return len(self.records)

    def undo(self, sequence: int) -> bool:
        """Remove record ``sequence`` if it is still the last one appended by this process (a
        submission archived before a write that then failed); False if anything followed it."""
        if sequence != len(self.records) or self._last_start is None:
            return False
        self._cut(self._last_start)
        self.records.pop()
        self._last_start = None
        return True

    def _cut(self, offset: int) -> None:
        """Truncate the file to ``offset`` and append from there (needs no free space)."""
        os.ftruncate(self._fd, offset)
        os.lseek(self._fd, offset, os.SEEK_SET)
        try:
            os.fsync(self._fd)
        except OSError:  # the cut is in the page cache; a torn tail left by a crash is cut on open
            pass

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
