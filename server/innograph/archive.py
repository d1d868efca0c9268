"""The archive of submissions: every contribution sent, accepted or rejected, kept for audit.

Layout under ``{STORE}/archive/``:

- ``payloads/{sha256}``: the payload bytes, content-addressed (the same payload sent twice is
  stored once), written to a temporary file, fsync'ed, renamed, directory fsync'ed;
- ``submissions.journal``: one record a submission (id, time, contributor, cited source,
  message, media type, payload hash, size, triple count, verdict, HTTP status, error), appended
  through :class:`innograph.journal.Journal` (framed, checksummed, fsync'ed; a torn tail from a
  crash is cut on open).

``record`` returns only once both are on disk, so the answer is sent after the archive holds
the submission.  The archive says what was *sent* and how it was *judged*; whether an accepted
contribution is in the data is said by ``graph/meta`` and the store's journal. On a full disk
``record`` raises ``DiskFull`` and keeps no record (journal.py cuts a partial one), and a
contribution archived as accepted whose write to the store then failed is withdrawn
(``withdraw``): the client gets 507 (contributions.py) and the archive does not claim a 201.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .diskfull import DiskFull, raising_disk_full
from .journal import Journal


def new_id(now: datetime | None = None) -> str:
    """A contribution id: sortable by time, unique, a lowercase slug (``20250102-130405-9f3a1c7e``)."""
    now = now or datetime.now(timezone.utc)
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(4)}"


@dataclass(frozen=True)
class Submission:
    """What the archive keeps of one submission (the payload itself is kept by hash)."""

    id: str
    at: str
    contributor: str
    source: str | None
    message: str | None
    media_type: str | None
    payload_sha256: str | None
    bytes: int
    triples: int | None
    verdict: str  # "conforms" | "violations" | "refused"
    status: int  # the HTTP status answered
    error: str | None = None
    results: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Archive:
    """The archive directory, opened by one process (the journal is locked)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)
        self.payloads = self.root / "payloads"
        self.payloads.mkdir(parents=True, exist_ok=True)
        self._journal = Journal(self.root / "submissions.journal")
        self._lock = threading.Lock()

    def record(self, submission: Submission, payload: bytes | None) -> int:
        """Archive ``submission`` (and ``payload`` unless None) durably, then return its sequence
        number (for :meth:`withdraw`). On a full disk DiskFull is raised and no record is kept; a
        payload file already written stays (content-addressed: a resend of it reuses the file, and
        removing it could race with a submission of the same bytes)."""
        if payload is not None:
            self.store_payload(payload, submission.payload_sha256)
        with self._lock:
            return self._journal.append(asdict(submission))

    def withdraw(self, sequence: int, instead: Submission) -> None:
        """Replace record ``sequence`` by ``instead``: a submission archived with the answer it was
        to get (201) whose write then failed on a full disk. The old record is cut if nothing came
        after it (needs no space); ``instead`` is archived if it fits, else left out (the client
        was told that nothing was recorded). Readers take the last record of an id."""
        with self._lock:
            self._journal.undo(sequence)
            try:
                self._journal.append(asdict(instead))
            except DiskFull:
                pass

    def store_payload(self, payload: bytes, sha256: str | None) -> Path:
        """Keep ``payload`` under its hash. On a full disk the temporary file is removed (it would
        hold the space) and DiskFull raised."""
        if not sha256:
            raise ValueError("a payload is archived under its sha256")
        target = self.payloads / sha256
        if target.exists():
            return target
        tmp = self.payloads / f".{sha256}.{secrets.token_hex(4)}.tmp"
        try:
            with raising_disk_full(f"the archive's payload {target}"):
                _write_durably(tmp, payload)
        except OSError:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, target)
        dir_fd = os.open(self.payloads, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
        return target

    def payload(self, sha256: str) -> bytes | None:
        path = self.payloads / sha256
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256) or not path.exists():
            return None
        return path.read_bytes()

    def submissions(self) -> Iterator[Submission]:
        with self._lock:
            records = list(self._journal)
        for r in records:
            yield Submission(**r)

    def get(self, submission_id: str) -> Submission | None:
        """The last record of ``submission_id`` (a later one replaces it: see :meth:`withdraw`)."""
        found = None
        for s in self.submissions():
            if s.id == submission_id:
                found = s
        return found

    def close(self) -> None:
        self._journal.close()


def _write_durably(path: Path, data: bytes) -> None:
    """Create ``path`` holding ``data``, fsync'ed (the caller renames it into place)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
