"""A full disk: how the writes of the embedded store recognise it, so the server can answer 507.

Why a module of its own: the journal, the archive, the loader and the dump files all write to the
store's disk, and each must tell "no space" (the client may retry once space is freed; nothing was
recorded) from any other IO error (a bug or a broken disk: 500). The writer undoes what it began,
then raises :class:`DiskFull`; the blueprints answer it with ``errors.insufficient_storage`` (HTTP
507, RFC 4918 §11.5) and the CLI with a message. Pure: no Flask, so the fork server, the executors
and the loader can import it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager

# No space (ENOSPC), over the user's quota (EDQUOT), over the file size limit (EFBIG).
ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})
# pyoxigraph and RocksDB report IO errors as OSError without errno, the OS message in the text.
_MESSAGES = tuple(os.strerror(code) for code in ERRNOS)


class DiskFull(OSError):
    """A write the file system refused for lack of space; what the writer had begun is undone."""


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` says the disk (or the quota, or the file size limit) is full."""
    if not isinstance(error, OSError):
        return False
    return isinstance(error, DiskFull) or error.errno in ERRNOS or any(m in str(error) for m in _MESSAGES)


def as_disk_full(error: OSError, what: str) -> DiskFull:
    """``error`` as a DiskFull naming what could not be written (errno kept: ENOSPC if unknown)."""
    code = error.errno if error.errno in ERRNOS else errno.ENOSPC
    return DiskFull(code, f"{what}: {os.strerror(code)}")


@contextmanager
def raising_disk_full(what: str) -> Iterator[None]:
    """Turn a disk-full OSError raised inside into :class:`DiskFull`; other errors pass as they are."""
    try:
        yield
    except DiskFull:
        raise
    except OSError as error:
        if is_disk_full(error):
            raise as_disk_full(error, what) from error
        raise
