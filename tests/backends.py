"""External stores for the behaviour tests: the same tests run on the embedded store and on each
engine that holds the data instead (setting SPARQL_QUERY_URL, server/innograph/remote.py).

``BACKENDS``: "embedded" (always), "oxigraph" (the Oxigraph server of the ``oxigraph`` PyPI
package, a test dependency) and "virtuoso" (Debian's virtuoso-opensource, where installed).
Each external store is a real server process on a free port of 127.0.0.1 with its database in
a temporary directory, loaded by ``innograph load`` (remote.load), stopped at the end.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from browser import free_port

OXIGRAPH = Path(sys.executable).with_name("oxigraph")
VIRTUOSO = Path("/usr/bin/virtuoso-t")
BACKENDS = ("embedded", "oxigraph", "virtuoso")
STORE_TIMEOUT = 30  # the engine's own query timeout, as a deployment would set it (= QUERY_TIMEOUT)


def unavailable(backend: str) -> str | None:
    """Why ``backend`` cannot run here (None: it can)."""
    if backend == "oxigraph" and not OXIGRAPH.exists():
        return f"{OXIGRAPH} is missing (pip install -e '.[test]')"
    if backend == "virtuoso" and not VIRTUOSO.exists():
        return f"{VIRTUOSO} is missing (`make virtuoso` installs Debian's virtuoso-opensource, as root)"
    if backend not in BACKENDS:
        return f"unknown backend {backend!r} (one of {', '.join(BACKENDS)})"
    return None


def _answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


@dataclass
class StoreServer:
    """One engine's server process; ``settings`` point an app (or ``innograph``) at it."""

    engine: str
    workdir: Path
    port: int = 0
    process: subprocess.Popen | None = None
    settings: dict[str, str] = field(default_factory=dict)
    started_in: float = 0.0

    @property
    def env(self) -> dict[str, str]:
        return {f"INNOGRAPH_{k}": v for k, v in self.settings.items()}

    def start(self, timeout: float = 120.0) -> "StoreServer":
        self.port = self.port or free_port()
        started = time.monotonic()
        command, probe = (self._oxigraph() if self.engine == "oxigraph" else self._virtuoso())
        log = (self.workdir / f"{self.engine}.log").open("ab")
        self.process = subprocess.Popen(command, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                        preexec_fn=_die_with_parent)
        log.close()
        while not _answers(probe):
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.engine} exited with {self.process.returncode}: {self.log()[-3000:]}")
            if time.monotonic() - started > timeout:
                self.stop()
                raise RuntimeError(f"{self.engine} did not answer {probe} within {timeout:.0f} s: {self.log()[-3000:]}")
            time.sleep(0.1)
        if self.engine == "virtuoso":
            _virtuoso_grants(self)
        self.started_in = time.monotonic() - started
        return self

    def log(self) -> str:
        path = self.workdir / f"{self.engine}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def _oxigraph(self) -> tuple[list[str], str]:
        base = f"http://127.0.0.1:{self.port}"
        self.settings = {"SPARQL_QUERY_URL": f"{base}/query", "SPARQL_UPDATE_URL": f"{base}/update", "SPARQL_GSP_URL": f"{base}/store"}
        command = [str(OXIGRAPH), "serve", "--location", str(self.workdir / "oxigraph"), "--bind", f"127.0.0.1:{self.port}",
                   "--timeout-s", str(STORE_TIMEOUT)]  # not --union-default-graph: it would override FROM
        return command, f"{base}/query?query=ASK%7B%7D"

    def _virtuoso(self) -> tuple[list[str], str]:
        db = self.workdir / "virtuoso"
        db.mkdir(exist_ok=True)
        self.isql_port = getattr(self, "isql_port", 0) or free_port()
        (db / "virtuoso.ini").write_text(VIRTUOSO_INI.format(db=db, isql=self.isql_port, http=self.port, timeout=STORE_TIMEOUT))
        base = f"http://127.0.0.1:{self.port}"
        self.settings = {"SPARQL_QUERY_URL": f"{base}/sparql", "SPARQL_UPDATE_URL": f"{base}/sparql-auth",
                         "SPARQL_GSP_URL": f"{base}/sparql-graph-crud-auth", "SPARQL_USER": "dba", "SPARQL_PASSWORD": "dba"}
        return [str(VIRTUOSO), "+foreground", "+configfile", str(db / "virtuoso.ini")], f"{base}/sparql?query=ASK%7B%7D"

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s) and wait for it: nothing left running."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)

    def reset(self) -> None:
        """Empty the store for its next test: every graph dropped but the engine's own."""
        from innograph import remote

        service = remote.RemoteQueryService(self.settings)
        try:
            if self.engine == "oxigraph":
                service.client.update("DROP ALL", 120)
                return
            _, (_, rows), _ = service.terms("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", max_rows=10**6)
            drops = [f"DROP SILENT GRAPH <{g.value}>" for (g,) in rows if not g.value.startswith(remote.ENGINE_GRAPHS)]
            if drops:
                service.client.update(" ;\n".join(drops), 120)
        finally:
            service.close()

    def load(self, repo: Path | None = None, files: tuple[Path, ...] = (), cli: bool = False) -> None:
        """``innograph load`` into this store: the repository ``repo``, or ``files``."""
        settings = {**self.settings, "REPO_DIR": str(repo or "."), "QUERY_TIMEOUT": STORE_TIMEOUT}
        if cli:
            command = [str(Path(sys.executable).with_name("innograph")), "load", *map(str, files)]
            subprocess.run(command, cwd=self.workdir, env={**os.environ, **{f"INNOGRAPH_{k}": str(v) for k, v in settings.items()}},
                           check=True, capture_output=True, timeout=600)
        else:
            from innograph import remote

            remote.load(settings, files)


def _die_with_parent() -> None:
    """PR_SET_PDEATHSIG: the store stops if the test run is killed before its teardown."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)


def start_store(engine: str, workdir: Path, repo: Path | None = None, files: tuple[Path, ...] = (), cli: bool = False) -> StoreServer:
    """A fresh ``engine`` server in ``workdir``, loaded from ``repo`` or ``files``."""
    workdir.mkdir(parents=True, exist_ok=True)
    server = StoreServer(engine, workdir).start()
    try:
        if repo is not None or files:
            server.load(repo, files, cli=cli)
    except BaseException:
        server.stop()
        raise
    return server


# -- Virtuoso ---------------------------------------------------------------------------------

VIRTUOSO_INI = """[Database]
DatabaseFile = {db}/virtuoso.db
ErrorLogFile = {db}/virtuoso.log
LockFile = {db}/virtuoso.lck
TransactionFile = {db}/virtuoso.trx
xa_persistent_file = {db}/virtuoso.pxa
ErrorLogLevel = 7
FileExtend = 200
MaxCheckpointRemap = 2000
Striping = 0
TempStorage = TempDatabase

[TempDatabase]
DatabaseFile = {db}/virtuoso-temp.db
TransactionFile = {db}/virtuoso-temp.trx
MaxCheckpointRemap = 2000
Striping = 0

[Parameters]
ServerPort = 127.0.0.1:{isql}
DisableUnixSocket = 1
ServerThreads = 10
CheckpointInterval = 60
NumberOfBuffers = 20000
MaxDirtyBuffers = 15000
DirsAllowed = ., {db}
VADInstallDir = /usr/share/virtuoso-opensource-7/vad/
MaxQueryMem = 500M

[HTTPServer]
ServerPort = 127.0.0.1:{http}
ServerRoot = /var/lib/virtuoso-opensource-7/vsp
MaxClientConnections = 8
ServerThreads = 8
KeepAliveTimeout = 10
MaxKeepAlives = 10

[SPARQL]
ResultSetMaxRows = 10000000
MaxQueryCostEstimationTime = 0
MaxQueryExecutionTime = {timeout}
DefaultQuery = ASK {{}}
"""


def _virtuoso_grants(server: StoreServer) -> None:
    """Nothing to grant: updates go to /sparql-auth as dba (digest), the engine's own setup."""
