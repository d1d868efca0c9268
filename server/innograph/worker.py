"""The processes that hold the store: one fork server, and the executors it forks.

Why processes: pyoxigraph holds the GIL while it evaluates and cannot cancel a query, so a query
that must stop (QUERY_TIMEOUT) has to run in a process that can be killed. Why a fork server: the
store is loaded once, in a single-threaded process that does nothing else; each executor is a
``fork()`` of it and shares the store's memory copy-on-write, so N executors cost about one store.
A write is applied in the fork server and the executors forked afterwards see it (executor.py
retires the older ones: the generation counter).

Channels (AF_UNIX stream sockets, length-prefixed pickles between our own processes):
web <-> fork server ``ctl`` (spawn / write / status / shutdown; the executor's socket end is passed
with SCM_RIGHTS), web <-> each executor (jobs in, result frames out, see ``evaluate.py``).
Lifetimes: the fork server exits when ``ctl`` reaches EOF (the web process died) and kills its
executors; an executor dies with the fork server (PR_SET_PDEATHSIG) and exits when its socket
reaches EOF. SIGINT is ignored here: the web process decides when everything stops.

Run as ``python -m innograph.worker CTL_FD CONFIG_JSON`` by executor.QueryService.
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import select
import signal
import socket
import struct
import sys
import time
from typing import Any

_LEN = struct.Struct(">I")
_FRAME = struct.Struct(">cI")  # result frames: type, length


def send_msg(sock: socket.socket, obj: Any, fds: tuple[int, ...] = ()) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    frame = _LEN.pack(len(data)) + data
    if fds:
        sent = socket.send_fds(sock, [frame[:4]], list(fds))
        sock.sendall(frame[sent:])
    else:
        sock.sendall(frame)


def recv_exact(sock: socket.socket, size: int) -> bytes:
    parts, missing = [], size
    while missing:
        part = sock.recv(min(missing, 1 << 20))
        if not part:
            raise EOFError("peer closed the channel")
        parts.append(part)
        missing -= len(part)
    return b"".join(parts)


def recv_msg(sock: socket.socket, with_fds: bool = False) -> tuple[Any, list[int]]:
    fds: list[int] = []
    if with_fds:
        head, fds, _flags, _addr = socket.recv_fds(sock, 4, 4)
        if not head:
            raise EOFError("peer closed the channel")
        head += recv_exact(sock, 4 - len(head))
    else:
        head = recv_exact(sock, 4)
    return pickle.loads(recv_exact(sock, _LEN.unpack(head)[0])), fds


def frame(kind: bytes, payload: bytes) -> bytes:
    return _FRAME.pack(kind, len(payload)) + payload


def _limit_memory(extra: int) -> None:
    """RLIMIT_AS = what the executor maps at fork (the shared store) + ``extra`` bytes, so a query
    that allocates without bound fails in its own process instead of waking the OOM killer."""
    import resource

    if extra <= 0:
        return
    with open("/proc/self/statm") as statm:
        mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (mapped + extra, resource.RLIM_INFINITY))


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG(SIGKILL): no orphan executor if the fork server is killed."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class ForkServer:
    """Holds the store and forks executors on request; applies writes between forks."""

    def __init__(self, ctl: socket.socket, config: dict[str, Any]) -> None:
        self.ctl = ctl
        self.config = config
        self.generation = 0
        self.children: dict[int, int] = {}  # pid -> pidfd
        self.store = None

    def open(self) -> dict[str, Any]:
        from . import evaluate, journal, loader, negotiation, store  # noqa: F401 - imported once, inherited by every fork

        root, mode = self.config["store"], self.config["mode"]
        paths = store.StorePaths(root)
        if paths.manifest() is None:  # first start: build from the repository
            loader.load(root, self.config["repo"], mode=mode)
        started = time.perf_counter()
        manifest = paths.manifest() or {}
        up_to_date = len(journal.read(paths.journal)) == manifest.get("journal_applied", 0)
        opened = store.open_for_queries(root, mode)
        counts = manifest.get("graphs") if up_to_date else store.graph_counts(opened)  # counting 1M triples takes a second
        if mode == "disk":
            del opened  # executors open it read-only; RocksDB allows no writer meanwhile
        else:
            self.store = opened
        return {"graphs": counts, "open_seconds": round(time.perf_counter() - started, 3), "generation": self.generation}

    def serve(self) -> None:
        try:
            while self._handle(*recv_msg(self.ctl, with_fds=True)):
                self._forget_dead()
        except (EOFError, ConnectionError):  # the web process is gone
            pass
        self.shutdown()

    def _handle(self, message: tuple[Any, ...], fds: list[int]) -> bool:
        """Answer one request; False when asked to stop."""
        op = message[0]
        if op == "spawn":
            send_msg(self.ctl, ("spawned", self.spawn(fds[0]), self.generation))
        elif op == "write":
            send_msg(self.ctl, self.write(message[1]))
        elif op == "describe":
            send_msg(self.ctl, self.describe())
        elif op == "status":
            send_msg(self.ctl, ("status", self.status()))
        elif op == "shutdown":
            send_msg(self.ctl, ("bye",))
            return False
        return True

    def spawn(self, fd: int) -> int:
        pid = os.fork()
        if pid == 0:  # the executor
            code = 0
            try:
                self.ctl.close()
                for pidfd in self.children.values():
                    os.close(pidfd)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _die_with_parent()
                _limit_memory(int(self.config.get("executor_memory", 0)))
                from .evaluate import executor_loop

                executor_loop(socket.socket(fileno=fd), self.store, self.config)
            except BaseException:  # noqa: BLE001 - the process ends here either way
                code = 1
            finally:
                os._exit(code)  # no atexit, no destructor of the shared store
        os.close(fd)
        self.children[pid] = os.pidfd_open(pid)
        return pid

    def write(self, record: dict[str, Any]) -> tuple[Any, ...]:
        from . import store

        try:
            if self.config["mode"] == "disk":
                self._write_disk(record)
            else:
                store.apply_write(self.store, record["ops"], describe=False)  # graph/void: see describe()
        except Exception as error:  # noqa: BLE001 - reported to the web process, which raises
            return ("error", f"{type(error).__name__}: {error}")
        self.generation += 1
        return ("written", self.generation)

    def describe(self) -> tuple[Any, ...]:
        """Refresh graph/void after writes (asked by the web process once a burst of writes is over)."""
        from . import void

        if self.config["mode"] == "disk":  # _write_disk reopened the store: it is described already
            return ("written", self.generation)
        try:
            void.refresh(self.store)
        except Exception as error:  # noqa: BLE001 - reported to the web process
            return ("error", f"{type(error).__name__}: {error}")
        self.generation += 1
        return ("written", self.generation)

    def _write_disk(self, record: dict[str, Any]) -> None:
        from . import store

        disk = store.open_for_queries(self.config["store"], "disk")  # replays the journal: this record too
        del disk

    def status(self) -> dict[str, Any]:
        """Cheap on purpose: a query here would dirty the pages the executors share (see executor.py)."""
        self._forget_dead()
        return {"generation": self.generation, "executors": sorted(self.children), "mode": self.config["mode"]}

    def _forget_dead(self) -> None:
        for pid, pidfd in list(self.children.items()):
            if select.select([pidfd], [], [], 0)[0]:
                os.close(pidfd)
                del self.children[pid]

    def shutdown(self) -> None:
        for pidfd in self.children.values():
            try:
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.children.clear()


def main(argv: list[str]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # executors are reaped by the kernel
    ctl = socket.socket(fileno=int(argv[0]))
    server = ForkServer(ctl, json.loads(argv[1]))
    try:
        info = server.open()
    except Exception as error:  # noqa: BLE001 - the web process raises it
        send_msg(ctl, ("failed", f"{type(error).__name__}: {error}"))
        return
    send_msg(ctl, ("ready", info))
    server.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
