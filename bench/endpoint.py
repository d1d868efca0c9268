"""Endpoint benchmark: the same query mix against `innograph serve` and the Oxigraph server.

    python bench/endpoint.py --triples 1m --duration 20 --concurrency 1 4

What it does, in one run:

1. makes sure the synthetic graph exists (bench/generate.py, seeded) and that an innograph store
   holds it (`innograph load --store bench/data/store-synthetic-N bench/data/synthetic-N.nq`,
   reused while the .nq file is unchanged);
2. starts one server at a time on 127.0.0.1 (never both at once: they would compete for the
   cores): the Oxigraph server in memory (`oxigraph serve --union-default-graph`, no
   `--location`), loaded over its /store endpoint with the innograph store's own N-Quads snapshot,
   so both serve exactly the same quads with the union of the graphs as default graph; then
   `innograph serve --store ...` with its default settings;
3. picks parameters (IRIs that exist, label fragments) from the first server with a seeded
   random choice, checks that both servers give the same number of results for the same
   requests, warms each server up, then runs each mix at each concurrency for ``--duration``
   seconds: closed-loop clients, one keep-alive HTTP/1.1 connection each, in their own
   processes (a raw-socket client: a few tens of microseconds of CPU per request, the same for
   both servers), every client walking the same seeded sequence of requests;
4. prints a table (throughput ratio per mix and concurrency, per-query p50 and ratio) and writes
   everything, raw latencies included, to bench/out/endpoint-N-DATE.json.

Mixes: ``full`` is every query of bench/queries/ with its weight (lookups, label search, joins,
aggregations, counts); ``lookups`` only the cheap lookups (kind: lookup), where the per-request
cost of the web stack, not the query engine, decides.

Each .rq file starts with a comment header: the question, then ``# kind:``, ``# weight:`` and
``# accept:`` lines. ``{{org}}``, ``{{person}}``, ``{{network}}``, ``{{sector}}``, ``{{class}}``
stand for an IRI, ``{{word}}`` for a string literal; each request gets its own values.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
BIN = Path(sys.executable).parent
HOST = "127.0.0.1"
SEED = 42
PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")
ORG_KINDS = "ino:Company ino:University ino:HauteEcole ino:ApprovedResearchCentre ino:TrainingOperator"
NETWORK_KINDS = "ino:CompetitivenessPole ino:Cluster ino:InnovationHub"
PREFIXES = """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX org: <http://www.w3.org/ns/org#>
PREFIX ino: <https://w3id.org/innograph/ontology#>
"""
# The parameter kinds and the SELECT that lists their candidate values (?v, and ?l for labels).
DISCOVERY = {
    "org": f"SELECT ?v ?l WHERE {{ VALUES ?k {{ {ORG_KINDS} }} ?v a ?k ; rdfs:label ?l FILTER(LANG(?l) = 'en') }}",
    "person": "SELECT ?v WHERE { ?v a ino:Person }",
    "network": f"SELECT ?v WHERE {{ VALUES ?k {{ {NETWORK_KINDS} }} ?v a ?k }}",
    "sector": f"SELECT DISTINCT ?v WHERE {{ VALUES ?k {{ {NETWORK_KINDS} }} ?n a ?k ; ino:sector ?v }}",
    "class": "SELECT DISTINCT ?v WHERE { ?s a ?v FILTER(STRSTARTS(STR(?v), 'https://w3id.org/innograph/ontology#')) }",
}
SAMPLE = 400  # values kept per parameter kind
# Extra environment of the innograph processes (load and serve): PYTHONPATH when --src is given.
INNOGRAPH_ENV: dict[str, str] = {}
NICE = {"value": 0}  # --nice: the scheduling weight of the servers' and the load generator's autogroups


def set_autogroup_nice(pid: int | str, value: int) -> bool:
    """Linux schedules by autogroup (one per session): a server started in its own session gets one
    share of the CPU, whatever its threads or processes. A negative nice (root) gives the measured
    processes precedence over other sessions' jobs on a shared machine. False if not possible."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(f"{value}\n")
        return True
    except OSError:
        return False


def use_source(ref: str, out_dir: Path) -> str:
    """Run innograph from ``git archive REF server`` instead of the working tree (which other people
    may be editing while a run lasts); returns the commit. ``worktree``: the working tree as it is;
    a directory that holds ``innograph/``: that copy (PYTHONPATH)."""
    if Path(ref, "innograph", "__init__.py").is_file():  # a directory holding a (patched) copy of the package
        INNOGRAPH_ENV["PYTHONPATH"] = str(Path(ref).resolve())
        return f"directory {Path(ref).resolve()}"
    if ref == "worktree":
        INNOGRAPH_ENV.clear()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--", "server"], capture_output=True, text=True).stdout
        return f"{_git_commit()} + working tree" + (" (server/ modified)" if dirty.strip() else "")
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", ref], capture_output=True, text=True, check=True).stdout.strip()
    target = out_dir / f"src-{commit}"
    if not (target / "server" / "innograph").is_dir():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "server"], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    INNOGRAPH_ENV["PYTHONPATH"] = str(target / "server")
    return commit


# -- data and store ------------------------------------------------------------------------------


def _generate_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_generate", BENCH / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def parse_size(text: str) -> int:
    return _generate_module().parse_size(text)


def ensure_data(triples: int, data_dir: Path, log: Any = print) -> Path:
    """bench/data/synthetic-N.nq, generated (seeded) if missing."""
    path = data_dir / f"synthetic-{triples}.nq"
    if not path.exists():
        log(f"generating {path} ...")
        started = time.perf_counter()
        _generate_module().write(triples, path)
        log(f"  {time.perf_counter() - started:.1f} s")
    return path


def ensure_store(data: Path, store: Path, log: Any = print) -> tuple[Path, float | None]:
    """An innograph store holding ``data`` (built with `innograph load` if missing or older than
    ``data``); returns (its N-Quads snapshot, load seconds or None if reused)."""
    current = store / "CURRENT.json"
    if current.exists() and current.stat().st_mtime > data.stat().st_mtime:
        manifest = json.loads(current.read_text("utf-8"))
        snapshot = store / manifest["db"] / "snapshot.nq"
        if snapshot.exists() and any(Path(f["file"]).resolve() == data.resolve() for f in manifest.get("files", [])):
            return snapshot, None
    if store.exists():
        shutil.rmtree(store)
    log(f"innograph load --store {store} {data} ...")
    started = time.perf_counter()
    subprocess.run([str(BIN / "innograph"), "load", "--store", str(store), str(data)], check=True, stdout=subprocess.DEVNULL,
                   env={**os.environ, **INNOGRAPH_ENV})
    seconds = time.perf_counter() - started
    log(f"  {seconds:.1f} s")
    manifest = json.loads(current.read_text("utf-8"))
    return store / manifest["db"] / "snapshot.nq", seconds


# -- processes -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            tree.setdefault(ppid, []).append(int(entry))
    return tree


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants that are alive."""
    tree, found, todo = _children(), [], [pid]
    while todo:
        p = todo.pop()
        if Path(f"/proc/{p}").exists():
            found.append(p)
            todo.extend(tree.get(p, []))
    return found


def memory(pids: list[int]) -> dict[str, Any]:
    """RSS and (where /proc/PID/smaps_rollup exists) PSS of each process, in MiB, and their sums."""
    rows = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        row: dict[str, Any] = {"pid": pid, "ppid": _ppid(pid), "cmd": cmdline[:160]}
        for line in status.splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                row[line.split(":")[0].lower()] = int(line.split()[1]) / 1024
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                key = line.split(":")[0]
                if key in ("Pss", "Private_Dirty", "Private_Clean", "Shared_Clean", "Shared_Dirty"):
                    row[key.lower()] = int(line.split()[1]) / 1024
        except OSError:
            pass
        rows.append(row)
    total = {"rss_mib": round(sum(r.get("vmrss", 0) for r in rows), 1), "processes": rows}
    if rows and all("pss" in r for r in rows):
        total["pss_mib"] = round(sum(r["pss"] for r in rows), 1)
    return total


def _ppid(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except OSError:
        return -1


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """user + system CPU seconds of each process (clock ticks from /proc/PID/stat)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


class Server:
    """A benchmarked server process on 127.0.0.1 (subclasses: how to start it and fill it)."""

    name = ""
    path = ""

    def __init__(self, port: int, log_file: Path) -> None:
        self.port, self.log_file, self.proc = port, log_file, None
        self.start_seconds = 0.0
        self.load_seconds: float | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self) -> None:
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        with open(self.log_file, "wb") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         env=self.env(), start_new_session=True)
        if NICE["value"]:
            set_autogroup_nice(self.proc.pid, NICE["value"])
        self.wait_ready()
        self.start_seconds = time.perf_counter() - started

    def wait_ready(self) -> None:
        raise NotImplementedError

    def _poll(self, url: str, ok: Any, timeout: float = 1800) -> None:
        import http.client

        deadline = time.monotonic() + timeout
        failing_since = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}; see {self.log_file}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
                conn.request("GET", url, headers={"Accept": "application/sparql-results+json"})
                response = conn.getresponse()
                response.read()
                conn.close()
                if ok(response.status):
                    return
                if response.status != 503:  # 503: still loading; anything else for a minute: broken
                    failing_since = failing_since or time.monotonic()
                    if time.monotonic() - failing_since > 60:
                        raise RuntimeError(f"{self.name} answers {url} with HTTP {response.status}; see {self.log_file}")
            except OSError:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{self.name} did not answer {url} in {timeout} s")

    def pids(self) -> list[int]:
        return process_tree(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def stop(self) -> None:
        """SIGTERM to the server, SIGKILL (by pid) to whatever of its tree is left after 15 s."""
        if self.proc is None:
            return
        tree = self.pids()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for pid in tree:
            if pid != self.proc.pid and Path(f"/proc/{pid}").exists():
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        self.proc = None


class OxigraphServer(Server):
    """`oxigraph serve` in memory (no --location), the union of the graphs as default graph."""

    name = "oxigraph"
    path = "/query"

    def __init__(self, port: int, log_file: Path, snapshot: Path) -> None:
        super().__init__(port, log_file)
        self.snapshot = snapshot

    def command(self) -> list[str]:
        return [str(BIN / "oxigraph"), "serve", "--bind", f"{HOST}:{self.port}", "--union-default-graph"]

    def wait_ready(self) -> None:
        import http.client

        self._poll("/query?query=ASK%7B%7D", lambda status: status == 200)
        started = time.perf_counter()
        conn = http.client.HTTPConnection(HOST, self.port, timeout=3600)
        with open(self.snapshot, "rb") as body:
            conn.request("POST", "/store", body=body, headers={"Content-Type": "application/n-quads",
                                                               "Content-Length": str(self.snapshot.stat().st_size)})
            response = conn.getresponse()
            response.read()
        conn.close()
        if response.status not in (200, 201, 204):
            raise RuntimeError(f"oxigraph /store answered {response.status}")
        self.load_seconds = time.perf_counter() - started

    @staticmethod
    def version() -> str:
        out = subprocess.run([str(BIN / "oxigraph"), "--version"], capture_output=True, text=True).stdout
        return out.strip()


class InnographServer(Server):
    """`innograph serve --store DIR` with its default settings (INNOGRAPH_* variables apply)."""

    name = "innograph"
    path = "/sparql"

    def __init__(self, port: int, log_file: Path, store: Path) -> None:
        super().__init__(port, log_file)
        self.store = store

    def command(self) -> list[str]:
        return [str(BIN / "innograph"), "serve", "--store", str(self.store), "--port", str(self.port), "--host", HOST]

    def env(self) -> dict[str, str]:
        return {**os.environ, "INNOGRAPH_REPO_DIR": str(ROOT), **INNOGRAPH_ENV}

    def wait_ready(self) -> None:
        self._poll("/sparql?query=ASK%7B%7D", lambda status: status == 200)


# -- the query mix -------------------------------------------------------------------------------


@dataclass
class Template:
    name: str
    question: str
    kind: str
    weight: int
    accept: str
    text: str
    params: list[str] = field(default_factory=list)

    def bind(self, values: dict[str, str]) -> str:
        return PLACEHOLDER.sub(lambda m: values[m.group(1)], self.text)


def load_templates(directory: Path) -> list[Template]:
    templates = []
    for path in sorted(directory.glob("*.rq")):
        header, body, meta = [], [], {}
        for line in path.read_text("utf-8").splitlines():
            if not body and line.startswith("#"):
                match = re.match(r"#\s*(kind|weight|accept):\s*(.+)", line)
                if match:
                    meta[match.group(1)] = match.group(2).strip()
                else:
                    header.append(line.lstrip("# ").strip())
            else:
                body.append(line)
        text = "\n".join(body).strip() + "\n"
        params = sorted(set(PLACEHOLDER.findall(text)))
        unknown = set(params) - set(DISCOVERY) - {"word"}
        if unknown:
            raise ValueError(f"{path}: unknown placeholders {unknown}")
        templates.append(Template(path.stem, " ".join(header), meta.get("kind", "other"), int(meta.get("weight", 1)),
                                  meta.get("accept", "application/sparql-results+json"), text, params))
    if not templates:
        raise FileNotFoundError(f"no .rq file in {directory}")
    return templates


def discover(port: int, path: str) -> dict[str, list[str]]:
    """Values for the placeholders, chosen (seeded) among those the server holds.

    ``word``: the English label of a sampled organisation, lowercased, without its last
    character ("company 1234" -> "company 123"), so a search matches a handful of labels."""
    import http.client

    rnd = random.Random(SEED)
    values: dict[str, list[str]] = {}
    conn = http.client.HTTPConnection(HOST, port, timeout=600)
    for kind, query in DISCOVERY.items():
        url = f"{path}?{urllib.parse.urlencode({'query': PREFIXES + query})}"
        conn.request("GET", url, headers={"Accept": "application/sparql-results+json"})
        response = conn.getresponse()
        body = response.read()
        if response.status != 200:
            raise RuntimeError(f"discovery of {kind}: HTTP {response.status}: {body[:300]!r}")
        rows = sorted(((b["v"]["value"], b.get("l", {}).get("value", "")) for b in json.loads(body)["results"]["bindings"]))
        if not rows:
            raise RuntimeError(f"discovery of {kind}: no value in the graph")
        chosen = rnd.sample(rows, min(SAMPLE, len(rows)))
        values[kind] = [f"<{v}>" for v, _ in chosen]
        if kind == "org":
            values["word"] = [json.dumps(label.lower()[:-1] if len(label) > 4 else label.lower()) for _, label in chosen]
    conn.close()
    return values


@dataclass
class Item:
    template: int
    query: str


def build_sequence(templates: list[Template], values: dict[str, list[str]], kinds: set[str] | None, rounds: int) -> list[Item]:
    """``rounds`` rounds; each holds every template of ``kinds`` ``weight`` times with its own
    values, shuffled (seeded). Clients walk this list in a loop from different offsets."""
    rnd = random.Random(SEED)
    items: list[Item] = []
    chosen = [i for i, t in enumerate(templates) if kinds is None or t.kind in kinds]
    for _ in range(rounds):
        batch = []
        for index in chosen:
            template = templates[index]
            for _ in range(template.weight):
                batch.append(Item(index, template.bind({p: rnd.choice(values[p]) for p in template.params})))
        rnd.shuffle(batch)
        items.extend(batch)
    return items


def request_bytes(path: str, port: int, query: str, accept: str) -> bytes:
    target = f"{path}?{urllib.parse.urlencode({'query': query})}"
    return (f"GET {target} HTTP/1.1\r\nHost: {HOST}:{port}\r\nAccept: {accept}\r\n"
            f"User-Agent: innograph-bench\r\n\r\n").encode()


# -- the load generator --------------------------------------------------------------------------


class Connection:
    """A minimal HTTP/1.1 keep-alive client on a raw socket: Content-Length, chunked, or
    close-delimited bodies; reconnects when the server closed the connection."""

    def __init__(self, port: int) -> None:
        self.port, self.sock, self.buf = port, None, bytearray()

    def connect(self) -> None:
        self.close()
        self.sock = socket.create_connection((HOST, self.port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _fill(self) -> bool:
        data = self.sock.recv(1 << 18)
        if not data:
            return False
        self.buf += data
        return True

    def request(self, data: bytes, keep: bool = False) -> tuple[int, int, bytes]:
        """(status, body bytes, the body if ``keep``)."""
        for attempt in (0, 1):
            if self.sock is None:
                self.connect()
            try:
                self.sock.sendall(data)
                return self._response(keep)
            except (ConnectionError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _response(self, keep: bool) -> tuple[int, int, bytes]:
        while (end := self.buf.find(b"\r\n\r\n")) < 0:
            if not self._fill():
                raise ConnectionError("closed before the response headers")
        lines = bytes(self.buf[:end]).split(b"\r\n")
        del self.buf[:end + 4]
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value
            elif name == b"connection":
                close = value == b"close"
        body = bytearray() if keep else None
        size = 0
        if chunked:
            while True:
                while (eol := self.buf.find(b"\r\n")) < 0:
                    if not self._fill():
                        raise ConnectionError("closed in a chunk header")
                chunk = int(bytes(self.buf[:eol]).split(b";")[0], 16)
                if chunk == 0:
                    del self.buf[:eol + 2]
                    while (eol := self.buf.find(b"\r\n")) != 0:  # trailers, then the empty line
                        if eol > 0:
                            del self.buf[:eol + 2]
                        elif not self._fill():
                            raise ConnectionError("closed in the trailers")
                    del self.buf[:2]
                    break
                while len(self.buf) < eol + 2 + chunk + 2:
                    if not self._fill():
                        raise ConnectionError("closed in a chunk")
                if keep:
                    body += self.buf[eol + 2:eol + 2 + chunk]
                size += chunk
                del self.buf[:eol + 2 + chunk + 2]
        elif length is not None:
            while len(self.buf) < length:
                if not self._fill():
                    raise ConnectionError("closed in the body")
            if keep:
                body += self.buf[:length]
            size = length
            del self.buf[:length]
        else:
            while self._fill():
                pass
            size = len(self.buf)
            if keep:
                body += self.buf
            self.buf = bytearray()
            close = True
        if close:
            self.close()
        return status, size, bytes(body) if keep else b""


def _client(port: int, requests: list[bytes], templates: array, offset: int, start: float, deadline: float, conn: Any) -> None:
    """One closed-loop client (its own process): requests in order from ``offset``, until
    ``deadline``; sends back (template, latency, status) of the requests completed in time."""
    client = Connection(port)
    client.connect()
    done_t, done_lat, errors = array("H"), array("d"), {}
    total_bytes = 0
    cpu = os.times()
    while time.monotonic() < start:
        time.sleep(0.0005)
    i, n = offset, len(requests)
    while True:
        began = time.monotonic()
        if began >= deadline:
            break
        status, size, _ = client.request(requests[i % n])
        ended = time.monotonic()
        if ended > deadline:
            break
        if status == 200:
            done_t.append(templates[i % n])
            done_lat.append(ended - began)
            total_bytes += size
        else:
            errors[status] = errors.get(status, 0) + 1
        i += 1
    after = os.times()
    client.close()
    conn.send((done_t.tobytes(), done_lat.tobytes(), errors, total_bytes, (after.user - cpu.user) + (after.system - cpu.system)))
    conn.close()


def run_load(server: Server, items: list[Item], templates: list[Template], concurrency: int, duration: float) -> dict[str, Any]:
    """``concurrency`` clients for ``duration`` seconds; latencies per template, throughput, CPU."""
    ctx = multiprocessing.get_context("fork")
    requests = [request_bytes(server.path, server.port, item.query, templates[item.template].accept) for item in items]
    kinds = array("H", [item.template for item in items])
    start = time.monotonic() + 0.5
    deadline = start + duration
    pipes, procs = [], []
    sampler = CpuSampler(server.proc.pid)
    busy = _busy_seconds()
    for k in range(concurrency):
        ours, theirs = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_client, args=(server.port, requests, kinds, k * len(requests) // concurrency, start, deadline, theirs))
        proc.start()
        theirs.close()
        pipes.append(ours)
        procs.append(proc)
    results = [pipe.recv() for pipe in pipes]
    for proc in procs:
        proc.join()
    used, started = sampler.stop()
    busy = _busy_seconds() - busy
    per_template: dict[str, list[float]] = {t.name: [] for t in templates}
    errors: dict[str, int] = {}
    total_bytes, client_cpu = 0, 0.0
    for t_bytes, lat_bytes, errs, size, cpu in results:
        t_arr, lat_arr = array("H"), array("d")
        t_arr.frombytes(t_bytes)
        lat_arr.frombytes(lat_bytes)
        for t, lat in zip(t_arr, lat_arr):
            per_template[templates[t].name].append(lat)
        for status, count in errs.items():
            errors[str(status)] = errors.get(str(status), 0) + count
        total_bytes += size
        client_cpu += cpu
    completed = sum(len(v) for v in per_template.values())
    return {
        "concurrency": concurrency, "duration": duration, "completed": completed,
        "throughput": completed / duration, "errors": errors, "bytes": total_bytes,
        "client_cpu_seconds": round(client_cpu, 3), "server_cpu_seconds": round(used, 3),
        "server_processes_started": started,
        # CPU used meanwhile by everything else on the machine (other users' jobs): noise to judge by
        "other_cpu_seconds": round(max(0.0, busy - used - client_cpu), 3), "loadavg": os.getloadavg()[0],
        "latencies": {name: latency_stats(lats) for name, lats in per_template.items() if lats},
    }


class CpuSampler:
    """CPU seconds used by a server's process tree while it runs, short-lived processes included:
    a thread reads /proc every ``interval`` s and keeps the last value seen for every process (the
    CPU of a process that dies is lost for at most one interval: innograph's executors are
    recycled, and their parent ignores SIGCHLD, so no cutime accumulates anywhere)."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        import threading

        self.root, self.interval = root, interval
        self.first = cpu_seconds(process_tree(root))
        self.last = dict(self.first)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        self.last.update(cpu_seconds(process_tree(self.root)))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def stop(self) -> tuple[float, int]:
        """(CPU seconds used since the start, processes that appeared meanwhile)."""
        self._stop.set()
        self._thread.join()
        self._sample()
        used = sum(cpu - self.first.get(pid, 0.0) for pid, cpu in self.last.items())
        return used, len(set(self.last) - set(self.first))


def latency_stats(values: list[float]) -> dict[str, float | int]:
    """n, mean and percentiles (ms) of latencies given in seconds."""
    values = sorted(values)
    pick = lambda q: round(values[min(len(values) - 1, int(q * len(values)))] * 1000, 3)  # noqa: E731
    return {"n": len(values), "mean_ms": round(sum(values) / len(values) * 1000, 3),
            "p50_ms": round(statistics.median(values) * 1000, 3), "p90_ms": pick(0.9), "p99_ms": pick(0.99), "max_ms": round(values[-1] * 1000, 3)}


def _busy_seconds() -> float:
    """CPU seconds spent by the whole machine (all CPUs, not idle) since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def result_signature(server: Server, templates: list[Template], values: dict[str, list[str]], per_template: int = 3) -> dict[str, list[int]]:
    """Result sizes (rows, or triples) of the first ``per_template`` requests of each template,
    to check that both servers answer the same thing."""
    rnd = random.Random(SEED + 1)
    client = Connection(server.port)
    out: dict[str, list[int]] = {}
    for template in templates:
        counts = []
        for _ in range(per_template):
            query = template.bind({p: rnd.choice(values[p]) for p in template.params})
            status, _, body = client.request(request_bytes(server.path, server.port, query, template.accept), keep=True)
            if status != 200:
                raise RuntimeError(f"{server.name}: {template.name} answered HTTP {status}: {body[:500]!r}")
            if "json" in template.accept:
                counts.append(len(json.loads(body)["results"]["bindings"]))
            else:
                counts.append(sum(1 for line in body.splitlines() if line.strip()))
        out[template.name] = counts
    client.close()
    return out


# -- reporting -----------------------------------------------------------------------------------


def _best(reps: list[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """The run ``key`` ("mix@concurrency") with the highest throughput among the repetitions."""
    runs = [rep["runs"][key] for rep in reps if key in rep["runs"]]
    return max(runs, key=lambda run: run["throughput"]) if runs else None


def _best_p50(reps: list[dict[str, Any]], key: str, name: str) -> tuple[float | None, int]:
    """The lowest p50 of query ``name`` in run ``key`` among the repetitions, and its sample size."""
    found = [rep["runs"][key]["latencies"][name] for rep in reps if key in rep["runs"] and name in rep["runs"][key]["latencies"]]
    if not found:
        return None, 0
    best = min(found, key=lambda stats: stats["p50_ms"])
    return best["p50_ms"], best["n"]


def summarize(report: dict[str, Any]) -> dict[str, Any]:
    """Best-of-repetitions throughput per mix and concurrency, p50 per query, and the ratios
    innograph / oxigraph (the same rule for both servers: the least disturbed repetition)."""
    a, b = report["servers"].get("innograph"), report["servers"].get("oxigraph")
    summary: dict[str, Any] = {"throughput": [], "p50": []}
    if not a or not b:
        return summary
    for mix in report["mixes"]:
        for c in report["concurrency"]:
            ra, rb = _best(a, f"{mix}@{c}"), _best(b, f"{mix}@{c}")
            summary["throughput"].append({
                "mix": mix, "concurrency": c, "innograph": round(ra["throughput"], 2), "oxigraph": round(rb["throughput"], 2),
                "ratio": round(ra["throughput"] / rb["throughput"], 3) if rb["throughput"] else None,
                "innograph_cpu_ms_per_query": _cpu_per_query(ra), "oxigraph_cpu_ms_per_query": _cpu_per_query(rb),
                "other_cpu_seconds": [ra["other_cpu_seconds"], rb["other_cpu_seconds"]]})
    for mix in report["mixes"]:
        for c in report["concurrency"]:
            for t in report["templates"]:
                if mix == "lookups" and t["kind"] != "lookup":
                    continue
                pa, na = _best_p50(a, f"{mix}@{c}", t["name"])
                pb, nb = _best_p50(b, f"{mix}@{c}", t["name"])
                summary["p50"].append({"mix": mix, "query": t["name"], "kind": t["kind"], "concurrency": c, "n": [na, nb],
                                       "innograph_ms": pa, "oxigraph_ms": pb, "ratio": round(pa / pb, 2) if pa and pb else None})
    return summary


def _cpu_per_query(run: dict[str, Any]) -> float | None:
    return round(run["server_cpu_seconds"] * 1000 / run["completed"], 3) if run["completed"] else None


def _num(value: float | None, width: int, digits: int = 2) -> str:
    return f"{value:>{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def print_table(report: dict[str, Any]) -> None:
    s = report["summary"]
    print(f"\n{report['triples_label']} triples ({report['quads']} quads served), {report['duration']:g} s per run, best of "
          f"{report['repeat']}, {report['machine']['cpus']} CPUs, autogroup nice {report['nice']}, {report['oxigraph_version']}")
    print(f"\n{'mix':<8} {'conc':>4} {'innograph q/s':>14} {'oxigraph q/s':>13} {'ratio':>6}   server CPU ms/query innograph / oxigraph")
    for row in s["throughput"]:
        print(f"{row['mix']:<8} {row['concurrency']:>4} {_num(row['innograph'], 14, 1)} {_num(row['oxigraph'], 13, 1)} {_num(row['ratio'], 6)}"
              f"   {row['innograph_cpu_ms_per_query']} / {row['oxigraph_cpu_ms_per_query']}")
    for mix in report["mixes"]:
        for c in report["concurrency"]:
            rows = [r for r in s["p50"] if r["mix"] == mix and r["concurrency"] == c]
            print(f"\np50 per query (ms), mix {mix}, concurrency {c}")
            print(f"{'query':<36} {'kind':<9} {'innograph':>10} {'oxigraph':>9} {'ratio':>6} {'n':>13}")
            for row in rows:
                n = "/".join(str(x) for x in row["n"])
                print(f"{row['query']:<36} {row['kind']:<9} {_num(row['innograph_ms'], 10)} {_num(row['oxigraph_ms'], 9)} {_num(row['ratio'], 6)} {n:>13}")
    for name, reps in report["servers"].items():
        for number, rep in enumerate(reps, 1):
            for key, run in rep["runs"].items():
                if run["errors"]:
                    print(f"!! {name} repetition {number} {key}: non-200 answers {run['errors']}")
    if report.get("mismatches"):
        print(f"!! result sizes differ between the servers: {report['mismatches']}")


# -- main ----------------------------------------------------------------------------------------


def bench_server(server: Server, report: dict[str, Any], args: argparse.Namespace, templates: list[Template],
                 state: dict[str, Any]) -> dict[str, Any]:
    """Start ``server``, (first time: pick the parameters), check its answers, warm it up, run every
    mix at every concurrency, stop it. Returns the repetition's record."""
    print(f"[{server.name}] starting on port {server.port} ...", flush=True)
    try:
        server.start()
        loaded = f" (data loaded over /store in {server.load_seconds:.1f} s)" if server.load_seconds else ""
        print(f"[{server.name}] ready in {server.start_seconds:.1f} s{loaded}", flush=True)
        if "values" not in state:
            state["values"] = values = discover(server.port, server.path)
            report["parameters"] = {k: len(v) for k, v in values.items()}
            state["sequences"] = {"full": build_sequence(templates, values, None, 300),
                                  "lookups": build_sequence(templates, values, {"lookup"}, 300)}
        if server.name not in state["signatures"]:
            state["signatures"][server.name] = result_signature(server, templates, state["values"])
        entry: dict[str, Any] = {"start_seconds": round(server.start_seconds, 2), "load_seconds": server.load_seconds, "runs": {}}
        for mix in args.mixes:
            if args.warmup > 0:
                run_load(server, state["sequences"][mix], templates, max(args.concurrency), args.warmup)
            for c in args.concurrency:
                run = run_load(server, state["sequences"][mix], templates, c, args.duration)
                entry["runs"][f"{mix}@{c}"] = run
                print(f"[{server.name}] {mix:<8} c={c}: {run['throughput']:8.1f} q/s, {run['completed']} done, "
                      f"errors {run['errors'] or 'none'}, CPU of other jobs {run['other_cpu_seconds']:.1f} s", flush=True)
        entry["memory_after"] = memory(server.pids())
        return entry
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="innograph vs Oxigraph server: the same query mix, the same data, one server at a time.")
    parser.add_argument("--triples", default="1m", help="graph size (100k, 1m, 10m; default 1m)")
    parser.add_argument("--duration", type=float, default=20, help="seconds per run (default 20)")
    parser.add_argument("--warmup", type=float, default=5, help="seconds of warm-up per server and mix (default 5)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4], help="concurrent clients (default 1 4)")
    parser.add_argument("--mixes", nargs="+", default=["full", "lookups"], choices=["full", "lookups"])
    parser.add_argument("--repeat", type=int, default=2,
                        help="repetitions, the servers' order swapped each time (A B, B A...); the summary keeps each "
                             "server's best (default 2)")
    parser.add_argument("--servers", nargs="+", default=["oxigraph", "innograph"], choices=["oxigraph", "innograph"],
                        help="which servers, in this order in the first repetition (default both)")
    parser.add_argument("--queries", type=Path, default=BENCH / "queries")
    parser.add_argument("--data-dir", type=Path, default=BENCH / "data")
    parser.add_argument("--out-dir", type=Path, default=BENCH / "out")
    parser.add_argument("--src", default="worktree", metavar="REF",
                        help="innograph code to run: 'worktree' (default), a git ref (extracted with git archive into "
                             "bench/out/src-COMMIT: stable while others edit the working tree), or a directory holding "
                             "an innograph package (a patched copy, to measure a fix)")
    parser.add_argument("--nice", type=int, default=0,
                        help="autogroup nice of the servers and of the load generator (e.g. -10, as root, on a machine "
                             "shared with other jobs; default 0). Linux gives each session one share of the CPU")
    args = parser.parse_args(argv)
    if args.nice:
        if os.getpid() != os.getsid(0):
            os.setsid()  # the load generator's own autogroup (its clients are forked from here)
        if not set_autogroup_nice("self", args.nice):
            parser.error("--nice: cannot set /proc/self/autogroup (needs Linux autogroups, and root for a negative value)")
        NICE["value"] = args.nice

    triples = parse_size(args.triples)
    templates = load_templates(args.queries)
    code = use_source(args.src, args.out_dir)
    data = ensure_data(triples, args.data_dir)
    snapshot, load_seconds = ensure_store(data, args.data_dir / f"store-synthetic-{triples}")
    store = snapshot.parent.parent
    quads = sum(json.loads((store / "CURRENT.json").read_text())["graphs"].values())
    stamp = time.strftime("%Y%m%dT%H%M%S")
    report: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "triples_label": args.triples, "triples": triples, "quads": quads,
        "data": str(data), "snapshot": str(snapshot), "innograph_load_seconds": load_seconds, "repeat": args.repeat,
        "duration": args.duration, "warmup": args.warmup, "nice": args.nice, "concurrency": args.concurrency, "mixes": args.mixes,
        "oxigraph_version": OxigraphServer.version(), "innograph_code": code,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "cpu": _cpu_model(), "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
        "innograph_settings": {k: v for k, v in os.environ.items() if k.startswith("INNOGRAPH_")},
        "templates": [{"name": t.name, "kind": t.kind, "weight": t.weight, "accept": t.accept, "question": t.question, "text": t.text}
                      for t in templates],
        "servers": {name: [] for name in args.servers},
    }
    state: dict[str, Any] = {"signatures": {}}
    order = list(args.servers)
    for repetition in range(args.repeat):
        for name in order:
            log_file = args.out_dir / f"endpoint-{name}-{stamp}-{repetition + 1}.log"
            port = free_port()
            server: Server = OxigraphServer(port, log_file, snapshot) if name == "oxigraph" else InnographServer(port, log_file, store)
            report["servers"][name].append(bench_server(server, report, args, templates, state))
        order.reverse()
    signatures = state["signatures"]
    if len(signatures) == 2:
        first, second = signatures.values()
        report["mismatches"] = {k: [first[k], second[k]] for k in first if first[k] != second.get(k)}
    report["signatures"] = signatures
    report["summary"] = summarize(report)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    out = args.out_dir / f"endpoint-{triples}-{stamp}.json"
    out.write_text(json.dumps(report, indent=1))
    print_table(report)
    print(f"\nwritten {out}")
    return 1 if report.get("mismatches") else 0


def stop_on_sigterm() -> None:
    """SIGTERM/SIGHUP raise SystemExit, so that ``finally`` stops the server being measured."""
    def handler(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGHUP, handler)


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    stop_on_sigterm()
    sys.exit(main())
