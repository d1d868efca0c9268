"""The write lease of an external store: one contribution validated and written at a time across
every replica that shares the store (issue #6).

Why: contributions.py validates a contribution against the store, then writes it. A lock of the
process serializes that within one ``innograph serve``, but replicas on one external store
(remote.py) would each validate without the other's write, and a shape that only one of two
contributions may pass (a ``sh:maxCount`` across both) would be passed by both. So the lock is
kept where the replicas meet, in the store: the graph ``<urn:innograph:lock>`` (outside the
dataset's base; graphs under ``urn:innograph:`` are not data: no dump, no count in graph/void).

A lease is two triples: its holder (a fresh uuid4 per acquisition) names the process holding it
and the time it ends (an ``xsd:decimal`` of Unix time, on that process's clock).

Acquiring: one update deletes the leases whose time is past and inserts ours, *unconditionally*;
then a query reads every lease of the graph. Ours alone: held. Any other: ours is deleted and we
try again after 20-120 ms (random, so that two replicas that met do not meet again) until the
deadline, then ``WriteBusy`` (503: retry). This rests only on a query seeing an update that was
acknowledged before it was sent: if A and B both read themselves alone, A read before B's insert
was done, which came before B's read, which came before A's insert was done, which came before
A's read, a contradiction. An "insert if there is none" would also rest on the engine's
isolation of the condition, and without phantom protection two of them can both see none.

A crashed holder's lease blocks every replica's contributions for ``duration()`` at most (at
least LEASE_SECONDS, 10 x QUERY_TIMEOUT if longer). A holder writes only while half of its lease
is left (``Held.check``): its write request (at most max(QUERY_TIMEOUT, 60) s) then ends before
another replica may take the lease over as expired, provided the replicas' clocks agree within
the rest of that half (NTP: milliseconds). A lease whose release fails (the store does not
answer) is deleted by this process's next acquisition, or expires.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pyoxigraph import Literal, NamedNode

from .pool import QueryError, QueryTimeout

__all__ = ["GRAPH", "PREFIX", "Held", "Lease", "WriteBusy", "duration"]
log = logging.getLogger(__name__)

PREFIX = "urn:innograph:"  # graphs of innograph's own bookkeeping in a store, not data
GRAPH = NamedNode(PREFIX + "lock")
HOLDER, UNTIL = NamedNode(PREFIX + "holder"), NamedNode(PREFIX + "until")
DECIMAL = NamedNode("http://www.w3.org/2001/XMLSchema#decimal")
LEASE_SECONDS = 300.0  # the shortest lease: how long a crashed replica can block the others
RETRY_SECONDS = (0.02, 0.12)  # the random pause between two attempts
LEASES = f"SELECT ?lease ?until WHERE {{ GRAPH {GRAPH} {{ ?lease {UNTIL} ?until }} }}"

Update = Callable[[str], None]  # sends one SPARQL Update request
Select = Callable[[str], Iterable[Sequence[Any]]]  # runs a SELECT, rows of pyoxigraph terms


class WriteBusy(QueryTimeout):
    """Another write holds the store (another replica's lease, or another request of this
    process) past the deadline: 503, nothing written, retry."""


def duration(query_timeout: float) -> float:
    """Seconds a lease lasts: LEASE_SECONDS, or 10 x QUERY_TIMEOUT if longer (a validation is
    many queries, and must end within half of it)."""
    return max(LEASE_SECONDS, 10 * query_timeout)


@dataclass(frozen=True)
class Held:
    """A lease this process holds: its subject in the lease graph, and when it ends."""

    subject: NamedNode
    until: float  # Unix time, this process's clock
    seconds: float

    def check(self) -> None:
        """Raise WriteBusy unless half of the lease is left: past that, another replica could take
        it over (as expired) while our write is still running, and validate without it."""
        if time.time() > self.until - self.seconds / 2:
            raise WriteBusy(f"the validation held the store's write lease for over {self.seconds / 2:.0f} s, so the write was not "
                            "made; retry")


class Lease:
    """The write lease of one store, through ``update`` and ``select`` (remote.py's client)."""

    def __init__(self, update: Update, select: Select, where: str, seconds: float) -> None:
        self.update, self.select, self.where, self.seconds = update, select, where, seconds
        self.who = Literal(f"{socket.gethostname()} pid {os.getpid()}")  # for whoever reads the store
        self._stale: set[NamedNode] = set()  # our leases whose deletion failed

    def acquire(self, deadline: float) -> Held:
        """The lease, held until ``release``; WriteBusy if others hold it until ``deadline``
        (time.monotonic()). One attempt at least."""
        subject = NamedNode(f"{PREFIX}lease:{uuid.uuid4().hex}")
        while True:
            now = time.time()
            held, stale = Held(subject, now + self.seconds, self.seconds), sorted(self._stale, key=str)
            self.update(_claim(held, now, self.who, stale))
            self._stale.difference_update(stale)
            others = [float(until.value) for lease, until in self.select(LEASES) if lease != subject]
            if not others:
                return held
            self._delete(subject)
            left = deadline - time.monotonic()
            if left <= 0:
                ends = datetime.fromtimestamp(max(others), timezone.utc).isoformat(timespec="seconds")
                raise WriteBusy(f"another replica is writing (the write lease of the external store at {self.where} is held "
                                f"until {ends}); retry")
            time.sleep(min(random.uniform(*RETRY_SECONDS), left))  # the last attempt at the deadline

    def release(self, held: Held) -> None:
        """Give the lease back (a failure is logged: the next acquisition deletes it, or it expires)."""
        self._delete(held.subject)

    def _delete(self, subject: NamedNode) -> None:
        try:
            self.update(_delete(subject))
        except QueryError as error:
            self._stale.add(subject)
            log.warning("the write lease %s of %s could not be given back (%s): it ends by itself", subject.value, self.where, error.message)


def _claim(held: Held, now: float, who: Literal, stale: Iterable[NamedNode]) -> str:
    """One update: expired leases (and ``stale`` ones of ours) deleted, then ours inserted."""
    expired = (f"DELETE {{ GRAPH {GRAPH} {{ ?lease ?p ?o }} }} WHERE {{ GRAPH {GRAPH} {{ ?lease {UNTIL} ?until ; ?p ?o "
               f"FILTER(?until < {_decimal(now)}) }} }}")
    insert = (f"INSERT DATA {{ GRAPH {GRAPH} {{ {held.subject} {HOLDER} {who} .\n"
              f"{held.subject} {UNTIL} {_decimal(held.until)} }} }}")
    return " ;\n".join([*map(_delete, stale), expired, insert])


def _delete(subject: NamedNode) -> str:
    return f"DELETE WHERE {{ GRAPH {GRAPH} {{ {subject} ?p ?o }} }}"


def _decimal(seconds: float) -> Literal:
    return Literal(f"{seconds:.6f}", datatype=DECIMAL)
