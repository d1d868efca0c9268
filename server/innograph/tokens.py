"""Contribution tokens: issued once, stored hashed, checked in constant time.

A token is 32 random bytes (``secrets.token_urlsafe``), shown once by ``innograph token create``.
The TOKENS file keeps only its SHA-256, one JSON object a line:
``{"sha256": ..., "name": ..., "role": "contributor" | "curator", "created": ...}``.
A stolen file therefore gives no usable token.  SHA-256 without salt is enough here: the tokens
are 256-bit random, not passwords, so there is nothing to guess.  Lookups compare every stored
hash with ``hmac.compare_digest``, so the time taken does not tell which one was close.

A curator may do what a contributor may, and retract contributions.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

ROLES = ("contributor", "curator")


@dataclass(frozen=True)
class Holder:
    """Who holds a token: the name it was issued to and its role."""

    name: str
    role: str

    def may(self, role: str) -> bool:
        """Whether this holder has ``role`` (a curator has every role)."""
        return self.role == role or self.role == "curator"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(path: str | os.PathLike[str], name: str, role: str) -> str:
    """Issue a token for ``name`` with ``role``; append its hash to ``path``; return the token."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if not name.strip() or "\n" in name:
        raise ValueError("the holder's name must be a non-empty single line")
    token = secrets.token_urlsafe(32)
    entry = {"sha256": digest(token), "name": name.strip(), "role": role,
             "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    return token


class Tokens:
    """The TOKENS file, re-read when it changes (a token created while the server runs works)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._entries: list[tuple[str, Holder]] = []

    def holder(self, token: str | None) -> Holder | None:
        """The holder of ``token``, or None when it is missing or unknown."""
        if not token:
            return None
        presented = digest(token)
        found = None
        for stored, holder in self._load():
            if hmac.compare_digest(stored, presented) and found is None:
                found = holder
        return found

    def _load(self) -> list[tuple[str, Holder]]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return []
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                entries = []
                for line in self.path.read_text(encoding="utf-8").splitlines():
                    if line.strip():
                        e = json.loads(line)
                        if e.get("role") in ROLES:
                            entries.append((e["sha256"], Holder(e["name"], e["role"])))
                self._entries, self._stamp = entries, stamp
            return self._entries


def bearer(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer TOKEN`` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()
