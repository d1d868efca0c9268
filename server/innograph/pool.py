"""The web process's side of the fork server (worker.py): start it, and keep a pool of executors.

Executors are checked out one per query (at most WORKERS at once; a query waits for one up to its
deadline) and checked back in, or killed: after a timeout (SIGKILL through a pidfd, so a reused PID
is never hit; a thread waits until the process is gone), when they belong to an older generation of the
store (a write happened), or when the memory watcher marked them.

Memory: the executors share the fork server's store copy-on-write, but pyoxigraph's in-memory store
writes to the pages it reads (its per-quad locks), so an executor that scans much of the store
slowly gets a private copy (measured at 1.6M quads: 517 MB shared by all right after the fork, 377
MB private in each executor after one full scan), so the worst case is about (1 + WORKERS) copies.
Re-forking after every such scan would trade that memory for throughput (a fresh executor copies the
pages again, ~0.3 s per 400 MB), so the watcher only retires an executor whose private memory
passes the fork server's whole resident size (RECYCLE_FRACTION): a copy of the store plus working
memory the allocator kept after a large query. A fresh fork shares again.
"""

from __future__ import annotations

import atexit
import collections
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from .worker import recv_msg, send_msg

MEMORY_CHECK_SECONDS = 10.0
RECYCLE_FRACTION = 1.0
# A query is long once it has used more CPU than LONG_QUERY_CPU, or than LONG_FACTOR x the 95th
# percentile of the last queries' CPU if that is more (on the 1M-triple graph the heaviest queries
# of a normal mix take ~0.2 s: they must stay short). A long query's executor is demoted to
# SCHED_IDLE at nice LONG_NICE (the CPU goes to short queries first) and stops counting against the pool's size, so
# that another executor may be forked (at most LONG_EXTRA x size such extra ones); it is retired
# when the query ends (its priority cannot be raised back without privileges). CPU, not wall time:
# under load a short query waits too, and must not be demoted for that. Without this, one runaway
# query per second under QUERY_TIMEOUT 2 s held both default executors: the other queries waited,
# or failed with 503 (bench/load.py, tests/test_load.py).
LONG_QUERY_CPU = 0.05
LONG_FACTOR = 2.0
LONG_NICE = 19
LONG_EXTRA = 2


def _gone(pidfd: int, seconds: float) -> bool:
    """Whether the process of ``pidfd`` has exited within ``seconds`` (poll: any descriptor
    number, where select() fails past 1023)."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(int(seconds * 1000)))


def _promote(executor: Executor) -> None:
    """Put a demoted executor back to normal priority before it is killed, where the process may
    (root, CAP_SYS_NICE or RLIMIT_NICE): a process frees its memory in its own time slices, and
    at SCHED_IDLE on a busy machine that took seconds while a replacement copied the store again.
    Without the privilege it dies at its idle priority (the reaper waits; the pool counts it)."""
    if _gone(executor.pidfd, 0):
        return  # its PID may be another process's now
    try:
        os.sched_setscheduler(executor.pid, os.SCHED_OTHER, os.sched_param(0))
        os.setpriority(os.PRIO_PROCESS, executor.pid, 0)
    except OSError:
        pass


def demote(pid: int) -> None:
    """Give the CPU to every other query first: SCHED_IDLE, which any normal task preempts as
    soon as it wakes (nice 19 alone still let a runaway finish its time slice at each of the many
    wake-ups of a short query's round trip), and nice LONG_NICE for what reads only nice values."""
    os.setpriority(os.PRIO_PROCESS, pid, LONG_NICE)
    os.sched_setscheduler(pid, os.SCHED_IDLE, os.sched_param(0))


class QueryError(Exception):
    """A query that has no answer. ``reason``: "syntax" (400), "not-acceptable" (406, ``kind``
    says which result kind had no acceptable format), "evaluation" (the query failed while it
    ran), "unavailable" (the store could not be opened or an executor died), "timeout",
    "disk-full" (an export found the store's disk full: 507)."""

    def __init__(self, reason: str, message: str, kind: str | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.kind = reason, message, kind


class NotApplied(QueryError):
    """A write that is in the journal (durable) but that the store could not apply now (a full
    disk under STORE_MODE=disk, say): it is applied when the store is next opened, since the
    journal is replayed then and its operations are idempotent. Undoing the record instead could
    leave a half-applied write that nothing would ever complete."""

    def __init__(self, message: str) -> None:
        super().__init__("unavailable", message)


class QueryTimeout(QueryError):
    """The query ran past QUERY_TIMEOUT (its executor, ``pid``, was killed), or no executor
    became free in time (``pid`` None)."""

    def __init__(self, message: str, pid: int | None = None) -> None:
        super().__init__("timeout", message)
        self.pid = pid


@dataclass(eq=False)
class Executor:
    pid: int
    pidfd: int
    sock: socket.socket
    generation: int
    stale: bool = False  # set by the memory watcher: retired at the next checkout or checkin
    started: float | None = None  # its CPU seconds when the query it runs was sent (None: idle)
    long: bool = False  # set by the long-query watcher: runs at LONG_NICE, retired at checkin


def private_bytes(pid: int) -> int:
    """Memory of ``pid`` that is its own (not shared copy-on-write), from /proc (Linux)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as rollup:
            for line in rollup:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return total


_TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User CPU seconds of ``pid`` (Linux /proc; 0 if it is gone): the query's own work. System
    time is left out: an executor forked moments ago spends it copying the store's pages on its
    first heavy query (~0.2 s at 1M triples), which must not get that query demoted as long."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return int(fields[11]) / _TICK


class Pool:
    """The fork server process and up to ``size`` executors forked from it. Thread-safe."""

    def __init__(self, config: dict[str, Any], size: int) -> None:
        self.size, self.generation, self.info = size, 0, {}
        self._idle: list[Executor] = []
        self._all: set[Executor] = set()
        self._live = 0
        self._long = 0  # live executors running a long query (they do not count against ``size``)
        self._dying = 0  # killed executors not gone yet: their memory is not free yet
        self._cpu: collections.deque[float] = collections.deque(maxlen=256)  # CPU of the last queries
        self._long_cpu = LONG_QUERY_CPU  # what makes a query long now
        self._checkins = 0
        self._cond = threading.Condition()
        self._ctl_lock = threading.Lock()
        self._closed = False
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._failure: str | None = None
        self._ctl, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        self.process = subprocess.Popen([sys.executable, "-m", "innograph.worker", str(child.fileno()), json.dumps(config)],
                                        pass_fds=(child.fileno(),), stdin=subprocess.DEVNULL,
                                        env={**os.environ, "RUST_BACKTRACE": "0"})  # one line, not 300, when a query runs out of memory
        child.close()
        atexit.register(self.close)
        threading.Thread(target=self._await_ready, name="innograph-store-open", daemon=True).start()
        threading.Thread(target=self._watch_memory, name="innograph-executor-memory", daemon=True).start()
        threading.Thread(target=self._watch_long, name="innograph-long-queries", daemon=True).start()

    # -- the fork server -----------------------------------------------------------------------
    def _await_ready(self) -> None:
        try:
            message, _ = recv_msg(self._ctl)
            if message[0] == "ready":
                self.info = message[1]
            else:
                self._failure = message[1]
        except (EOFError, ConnectionError, OSError) as error:
            self._failure = f"the store process ended: {error}"
        self._ready.set()
        self.refill()

    def refill(self) -> None:
        """Fork executors until the pool is full, so that no query waits for a fork (~15 ms)."""
        while True:
            with self._cond:
                if self._closed or not self.ready or self._live >= self.size:
                    return
                self._live += 1
            try:
                executor = self._spawn()
            except QueryError:
                with self._cond:
                    self._live -= 1
                return
            self.checkin(executor)

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any]:
        if not self._ready.wait(timeout):
            raise QueryError("unavailable", "the store is still loading")
        if self._failure:
            raise QueryError("unavailable", self._failure)
        return self.info

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and not self._failure

    def request(self, message: tuple[Any, ...], fds: tuple[int, ...] = ()) -> tuple[Any, ...]:
        """One request to the fork server, one answer (requests are serialized)."""
        self.wait_ready()
        with self._ctl_lock:
            if self._closed:
                raise QueryError("unavailable", "the query service is closed")
            try:
                send_msg(self._ctl, message, fds)
                return recv_msg(self._ctl)[0]
            except (EOFError, ConnectionError, OSError) as error:
                raise QueryError("unavailable", f"the store process ended: {error}") from None

    @property
    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Kill the executors, stop the fork server (idempotent; registered with atexit)."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stop.set()
            idle, self._idle = self._idle, []
            self._cond.notify_all()
        for executor in idle:
            self._kill(executor, wait=True)
        try:
            with self._ctl_lock:
                self._ctl.close()  # EOF: the fork server kills its executors and exits
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        atexit.unregister(self.close)

    # -- executors -----------------------------------------------------------------------------
    def _spawn(self) -> Executor:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            _, pid, generation = self.request(("spawn",), (theirs.fileno(),))
        finally:
            theirs.close()
        executor = Executor(pid, os.pidfd_open(pid), ours, generation)
        with self._cond:
            self._all.add(executor)
        return executor

    def checkout(self, deadline: float) -> Executor:
        """An executor of the current generation (waits up to ``deadline`` for a free one)."""
        self.wait_ready(max(0.0, deadline - time.monotonic()))
        with self._cond:
            while True:
                if self._closed:
                    raise QueryError("unavailable", "the query service is closed")
                while self._idle and (self._idle[-1].generation != self.generation or self._idle[-1].stale):
                    self._retire(self._idle.pop())
                if self._idle:
                    executor = self._idle.pop()
                    executor.started = cpu_seconds(executor.pid)
                    return executor
                if self._live < self.size + min(self._long, LONG_EXTRA * self.size) and self._dying <= LONG_EXTRA * self.size:
                    self._live += 1
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise QueryTimeout("no query executor became free in time")
                self._cond.wait(remaining)
        try:
            executor = self._spawn()
        except BaseException:
            with self._cond:
                self._live -= 1
                self._cond.notify()
            raise
        executor.started = cpu_seconds(executor.pid)
        return executor

    def checkin(self, executor: Executor) -> None:
        used = cpu_seconds(executor.pid) - executor.started if executor.started is not None else None
        with self._cond:
            executor.started = None
            if used is not None:
                self._cpu.append(used)
                self._checkins += 1
                if self._checkins % 32 == 0:  # the threshold follows the workload
                    p95 = sorted(self._cpu)[int(0.95 * (len(self._cpu) - 1))]
                    self._long_cpu = max(LONG_QUERY_CPU, LONG_FACTOR * p95)
            if not self._closed and executor.generation == self.generation and not executor.stale and not executor.long:
                self._idle.append(executor)
                self._cond.notify()
                return
            self._forget(executor)
        self._kill(executor)  # outside the lock: a dying executor must not hold up the others' queries

    def discard(self, executor: Executor) -> None:
        """Kill a checked-out executor (timeout, broken channel); the pool forks another later."""
        with self._cond:
            self._forget(executor)
        self._kill(executor)

    def new_generation(self, generation: int) -> None:
        """The store changed: idle executors go now (new ones are forked), busy ones when they
        come back."""
        with self._cond:
            self.generation = generation
            while self._idle:
                self._retire(self._idle.pop())
        self.refill()

    def drain(self) -> None:
        """Wait until every executor is back, then stop them all (disk-mode writes)."""
        with self._cond:
            while self._live > len(self._idle):
                self._cond.wait()
            while self._idle:
                self._retire(self._idle.pop())

    def _retire(self, executor: Executor) -> None:
        """Called with ``_cond`` held: the executor leaves the pool."""
        self._forget(executor)
        self._kill(executor)

    def _forget(self, executor: Executor) -> None:
        """Called with ``_cond`` held: the executor leaves the pool's books (the caller kills it)."""
        self._all.discard(executor)
        self._live -= 1
        if executor.long:
            self._long -= 1
        self._cond.notify()

    def _kill(self, executor: Executor, wait: bool = False) -> None:
        """SIGKILL through a pidfd (no PID-reuse race); the process is waited for (up to 5 s) here
        if ``wait``, else by a thread of its own. A query's answer (the 503 of a timeout) does not
        wait for the death: a runaway demoted to SCHED_IDLE on a busy machine takes seconds to
        free its memory, and the web thread that waited was held as long. Meanwhile it counts as
        dying: past LONG_EXTRA x size dying executors, no new one is forked until some are gone
        (each may hold a private copy of the store)."""
        if executor.long:
            _promote(executor)
        try:
            signal.pidfd_send_signal(executor.pidfd, signal.SIGKILL)
        except ProcessLookupError:
            pass
        with self._cond:
            self._dying += 1
        if wait:
            self._reap(executor, 5.0)
        else:
            threading.Thread(target=self._reap, args=(executor, 60.0), name="innograph-reaper", daemon=True).start()

    def _reap(self, executor: Executor, seconds: float) -> None:
        """Wait until a killed executor is gone (at most ``seconds``), then close its descriptors."""
        try:
            _gone(executor.pidfd, seconds)
        finally:
            os.close(executor.pidfd)
            executor.sock.close()
            with self._cond:
                self._dying -= 1
                self._cond.notify()

    def _watch_long(self) -> None:
        """Mark the executors whose query has used more than ``_long_cpu``: lower their CPU priority
        and let a waiting query have another executor."""
        while not self._stop.wait(LONG_QUERY_CPU / 4):
            with self._cond:  # held: no executor is killed (its pidfd closed, its PID reused) meanwhile
                found = [e for e in self._all if e.started is not None and not e.long and cpu_seconds(e.pid) - e.started > self._long_cpu]
                for executor in found:
                    executor.long = True
                    self._long += 1
                    if _gone(executor.pidfd, 0):
                        continue  # it died meanwhile (its PID may be another process's now): the query's reader sees that
                    try:
                        demote(executor.pid)
                    except OSError:
                        pass  # it died meanwhile: the query's reader sees that
                if found:
                    self._cond.notify_all()

    def _watch_memory(self) -> None:
        """Mark executors whose private memory grew past RECYCLE_FRACTION of the fork server's."""
        while not self._stop.wait(MEMORY_CHECK_SECONDS):
            if not self.ready:
                continue
            try:
                with open(f"/proc/{self.process.pid}/statm") as statm:
                    limit = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") * RECYCLE_FRACTION
            except FileNotFoundError:
                return
            with self._cond:
                executors = list(self._all)
            for executor in executors:
                if private_bytes(executor.pid) > limit:
                    executor.stale = True
