"""An external SPARQL 1.1 store in place of the embedded one (setting SPARQL_QUERY_URL).

``RemoteQueryService`` has the interface the app uses from ``executor.QueryService`` (``run``,
``query``, ``terms``, ``graph``, ``export``, ``apply_write``, ``generation``, ``info``, ``ready``,
``wait_ready``, ``status``, ``close``) and forwards over HTTP to a store that speaks the SPARQL 1.1
Protocol (query, update) and the Graph Store Protocol (loading): Oxigraph server, Virtuoso, Fuseki...
Several ``innograph serve`` processes can share one such store (replicas behind a proxy).

What stays ours, whatever the engine:

- the guards: /sparql refuses SERVICE and updates before the service is called (sparql.py,
  protocol.py); here a text that is not a query (an update keyword, a Virtuoso pragma) is refused
  with pyoxigraph's own message before it leaves, since some engines (Virtuoso) would run an
  update sent to their query URL. Nothing is evaluated here: pyoxigraph would evaluate some
  queries even on an empty store (aggregates over VALUES), so the store itself says whether a
  query is valid (Oxigraph in pyoxigraph's words, line numbers corrected for the lines added);
- the timeout: QUERY_TIMEOUT is the request's deadline (connect, then the whole answer); past
  it the connection is closed and ``QueryTimeout`` raised. Give the engine the same timeout
  (``oxigraph serve --timeout-s``) so that it stops working too;
- the formats: the store is asked for SPARQL JSON (solutions, booleans) or N-Triples (graphs),
  which every engine answers, and pyoxigraph re-serializes in the negotiated format: the same
  serializers, so the same bytes as the embedded store for the same solutions;
- the row cap: rows are counted while the answer is parsed, the connection closed at MAX_ROWS+1;
- the dataset: the default graph is the union of the named graphs when a query names none
  (Oxigraph: the ``union-default-graph`` parameter, per query, as its server flag would also
  override FROM; Virtuoso does so by itself; other engines must be set up so);
- writes: one SPARQL Update request per write (a contribution's graph, its record in graph/meta
  and its entailments in graph/inferred, or a retraction), atomic on engines whose requests are
  transactions; then graph/void is recomputed (a second request). ``write_lock`` holds the store's
  write lease (lease.py) around a contribution's validation and write, and every write takes it:
  replicas validate and write one at a time, and graph/void is recomputed by one at a time;
- availability: a store that does not answer gives ``StoreUnreachable`` (503 with the store's
  address), and the next request tries again: no restart needed when it comes back.

Blank nodes: a SPARQL query cannot name a blank node of the store. A blank node bound by
substitution is therefore matched on the client: the variable is left free in the query and the
rows kept are those whose value has the blank node's label (engines keep a stored blank node's
label from one answer to the next: Oxigraph, Virtuoso). Exact, but the query is less selective.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import logging
import os
import re
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import islice
from typing import Any
from urllib.parse import urlencode, urlsplit

import urllib3
from pyoxigraph import (BlankNode, Literal, NamedNode, Quad, QueryBoolean, QueryResultsFormat, RdfFormat, Store, Triple, parse,
                        parse_query_results, serialize)

from . import lease, sparqltext
from .evaluate import Job, _capped, kind_of
from .executor import QueryOutcome
from .pool import QueryError, QueryTimeout
from .protocol import has_dataset_clause

__all__ = ["QueryError", "RemoteQueryService", "StoreUnreachable", "init_app", "load", "snapshot"]
log = logging.getLogger(__name__)

BASE = "https://w3id.org/innograph/"
INFERRED, VOID, META = BASE + "graph/inferred", BASE + "graph/void", BASE + "graph/meta"
DATASET = BASE + "id/dataset/innograph"
MODIFIED = "http://purl.org/dc/terms/modified"
XSD_DATETIME = "http://www.w3.org/2001/XMLSchema#dateTime"
RESULTS_ACCEPT = "application/sparql-results+json, application/sparql-results+xml;q=0.8"
GRAPH_ACCEPT = "application/n-triples, text/turtle;q=0.8, application/rdf+xml;q=0.5"
EXPORT_TIMEOUT_FACTOR = 20
GENERATION_PROBE_SECONDS = 1.0  # how stale another replica's write may look to /dumps and the service description
READ_SIZE = 1 << 16
NO_GRAPH = "urn:x-innograph:no-graph"  # a named-graph-uri that names nothing
# Graphs that Virtuoso keeps for itself (its RDF views' metadata, LDP, its URIQA and DAV defaults):
# not data. Queries see them (Virtuoso 7.2 answers some queries wrongly under its graph-exclusion
# pragmas: docs/deploy.md); the schema that inference reads and the dumps leave them out.
ENGINE_GRAPHS = ("http://www.openlinksw.com/", "http://www.w3.org/ns/ldp#", "http://localuriqaserver/",
                 "http://localhost:8890/")
NOT_DATA = (*ENGINE_GRAPHS, lease.PREFIX)  # and innograph's own (the write lease): not in dumps or the schema read


class StoreUnreachable(QueryError):
    """The external store does not answer (refused, reset, unknown host, 502-504): 503, retry."""

    def __init__(self, where: str, detail: str) -> None:
        super().__init__("unavailable", f"the external store at {where} does not answer ({detail})")
        self.public = f"The external store at {where} does not answer; try again shortly"


class _Deadline(Exception):
    pass


def init_app(app: Any, prefixes: Mapping[str, str]) -> "RemoteQueryService":
    """Make the app's runtime a RemoteQueryService (create_app, when SPARQL_QUERY_URL is set), and
    answer 503 with the store's address wherever a view lets StoreUnreachable through."""
    service = app.extensions["innograph"] = RemoteQueryService(app.config, prefixes=prefixes)

    def unreachable(error: StoreUnreachable) -> Any:
        from flask import jsonify, request

        log.error("%s", error.message)
        if request.path.startswith(("/contributions", "/validate")):  # their errors are JSON (contributions.py)
            response = jsonify({"ok": False, "error": error.public, "status": 503})
            response.status_code = 503
            response.headers["Retry-After"] = "5"
            return response
        return app.response_class(error.public + "\n", 503, {"Retry-After": "5", "Content-Type": "text/plain; charset=utf-8"})

    app.register_error_handler(StoreUnreachable, unreachable)
    return service


# -- HTTP -------------------------------------------------------------------------------------


class _Body(io.RawIOBase):
    """The response body as a file for pyoxigraph's parsers, read under the deadline.

    ``blank_prefix``: Virtuoso names a blank node ``nodeID://b10030`` in SPARQL JSON (``_:b10030``
    in N-Triples), which pyoxigraph refuses as a blank node label: the prefix is dropped."""

    def __init__(self, response: Any, deadline: float, blank_prefix: bytes = b"") -> None:
        self.response, self.deadline, self.error = response, deadline, None
        self.old = b'"' + blank_prefix if blank_prefix else b""
        self.ready, self.pending, self.eof = b"", b"", False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if time.monotonic() > self.deadline:
            self.error = _Deadline()
            raise self.error
        data = self._rewritten(len(buffer)) if self.old else self._read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def _rewritten(self, size: int) -> bytes:
        keep = len(self.old) - 1  # what could be the start of a prefix cut by the chunk boundary
        while not self.ready and not self.eof:
            chunk = self._read(size)
            if not chunk:
                self.eof, self.ready, self.pending = True, self.pending, b""
                break
            text = (self.pending + chunk).replace(self.old, b'"')
            self.ready, self.pending = (text[:-keep], text[-keep:]) if len(text) > keep else (b"", text)
        out, self.ready = self.ready[:size], self.ready[size:]
        return out

    def _read(self, size: int) -> bytes:
        try:
            return self.response.read(min(size, READ_SIZE))
        except Exception as error:  # noqa: BLE001 - kept: the parser only sees an OSError
            self.error = error
            raise OSError(str(error)) from None


class Client:
    """A pooled keep-alive HTTP client for the three URLs of one store (thread-safe)."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        self.query_url = str(settings["SPARQL_QUERY_URL"])
        self.update_url = settings.get("SPARQL_UPDATE_URL") or None
        self.gsp_url = settings.get("SPARQL_GSP_URL") or None
        parts = urlsplit(self.query_url)
        self.where = f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
        self.headers: dict[str, str] = {"User-Agent": "innograph"}
        user, password = settings.get("SPARQL_USER"), settings.get("SPARQL_PASSWORD")
        self._credentials = (str(user), str(password or "")) if user else None
        self._digest = _Digest(*self._credentials) if self._credentials else None
        self._basic = False  # learned from the store's first challenge: then sent with every request
        size = max(4, int(settings.get("THREADS", 8)) + 2)
        self.pool = urllib3.PoolManager(num_pools=4, maxsize=size, retries=False)
        self._engine: str | None = None

    @property
    def engine(self) -> str:
        """The store's software, from its Server header ("oxigraph", "virtuoso"...), asked once."""
        if self._engine is None:
            response = self.request("GET", f"{self.query_url}?{urlencode({'query': 'ASK {}'})}",
                                    headers={"Accept": "application/sparql-results+json"}, timeout=10.0)
            self.read_all(response, time.monotonic() + 10.0)
            self._engine = (response.headers.get("Server") or "").split("/")[0].strip().lower()
        return self._engine

    @property
    def union_parameter(self) -> bool:
        """Whether queries ask for the union default graph themselves: Oxigraph's server takes a
        ``union-default-graph`` parameter (its ``--union-default-graph`` flag would also override
        FROM); other engines (Virtuoso) query the union of the graphs when no dataset is named."""
        return self.engine == "oxigraph"

    def close(self) -> None:
        self.pool.clear()

    def request(self, method: str, url: str, body: Any = None, headers: Mapping[str, str] | None = None,
                timeout: float = 30.0, idempotent: bool = True) -> Any:
        """The response (body not read yet). A refused, reset or unknown store raises
        StoreUnreachable; a connection found dead in the pool is retried once when ``idempotent``."""
        deadline = time.monotonic() + timeout
        all_headers = {**self.headers, **(headers or {})}
        if self._basic and self._credentials:
            all_headers["Authorization"] = _basic(*self._credentials)
        retried = challenged = False
        while True:
            remaining = max(0.05, deadline - time.monotonic())
            try:
                response = self.pool.request(method, url, body=body, headers=all_headers, preload_content=False,
                                             timeout=urllib3.Timeout(connect=min(5.0, remaining), read=remaining),
                                             retries=urllib3.Retry(total=1, connect=1, read=0, redirect=0, status=0, other=0))
            except (urllib3.exceptions.HTTPError, OSError) as error:
                reason = error.reason if isinstance(error, urllib3.exceptions.MaxRetryError) else error
                if isinstance(reason, urllib3.exceptions.ReadTimeoutError):
                    raise _Deadline() from None
                if not retried and idempotent and isinstance(reason, urllib3.exceptions.ProtocolError):
                    retried = True  # a kept-alive connection that the store had closed (it restarted): once more
                    continue
                raise StoreUnreachable(self.where, _short(reason)) from None
            if response.status == 401 and self._credentials and not challenged:
                challenge = response.headers.get("WWW-Authenticate", "")
                response.drain_conn()
                response.release_conn()
                challenged = True
                if challenge.lower().startswith("digest"):  # Virtuoso's /sparql-auth: a new challenge per request
                    all_headers["Authorization"] = self._digest.answer(challenge, method, url)  # type: ignore[union-attr]
                else:
                    self._basic = True
                    all_headers["Authorization"] = _basic(*self._credentials)
                continue
            if response.status in (502, 503, 504):
                detail = f"HTTP {response.status}"
                response.drain_conn()
                response.release_conn()
                raise StoreUnreachable(self.where, detail)
            return response

    def read_all(self, response: Any, deadline: float) -> bytes:
        body = _Body(response, deadline)
        try:
            return b"".join(iter(lambda: body.read(READ_SIZE), b""))
        except OSError:
            raise body.error or _Deadline() from None
        finally:
            response.release_conn()

    def update(self, text: str, timeout: float) -> None:
        """One SPARQL Update request (raises QueryError when the store refuses it)."""
        if not self.update_url:
            raise QueryError("unavailable", "no SPARQL_UPDATE_URL: the external store cannot be written")
        self._send("POST", self.update_url, urlencode({"update": text}).encode(), "application/x-www-form-urlencoded",
                   "an update", timeout, idempotent=False)

    def put_graph(self, graph: str, ntriples: bytes, timeout: float, replace: bool = True) -> None:
        """Graph Store Protocol: PUT (replace) or POST (add) ``graph`` as N-Triples."""
        if not self.gsp_url:
            op = f"DROP SILENT GRAPH <{graph}> ;\n" if replace else ""
            quads = [Quad(q.subject, q.predicate, q.object, NamedNode(graph)) for q in parse(ntriples, format=RdfFormat.N_TRIPLES)]
            self.update(op + " ;\n".join(_inserts(quads, "g") or [f"CREATE SILENT GRAPH <{graph}>"]), timeout)
            return
        separator = "&" if "?" in self.gsp_url else "?"
        self._send("PUT" if replace else "POST", f"{self.gsp_url}{separator}{urlencode({'graph': graph})}", ntriples,
                   "application/n-triples", graph, timeout, idempotent=replace)

    def _send(self, method: str, url: str, body: bytes, content_type: str, what: str, timeout: float, idempotent: bool) -> None:
        deadline = time.monotonic() + timeout
        try:
            response = self.request(method, url, body=body, headers={"Content-Type": content_type}, timeout=timeout, idempotent=idempotent)
            answer = self.read_all(response, deadline)
        except _Deadline:
            raise QueryTimeout(f"{what} took longer than {timeout:g} s") from None
        if response.status >= 300:
            raise QueryError("evaluation", f"the external store refused {what}: HTTP {response.status}: {_text(answer)}")


class _Digest:
    """HTTP digest authentication (RFC 7616, MD5, qop=auth), as Virtuoso's /sparql-auth wants."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password, self.count, self._lock = user, password, 0, threading.Lock()

    def answer(self, challenge: str, method: str, url: str) -> str:
        import re
        import secrets

        fields = dict(re.findall(r'(\w+)="?([^",]*)"?', challenge))
        realm, nonce, qop = fields.get("realm", ""), fields.get("nonce", ""), fields.get("qop", "")
        path = urlsplit(url).path + (f"?{urlsplit(url).query}" if urlsplit(url).query else "")
        md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731,S324 - the protocol's hash
        ha1, ha2 = md5(f"{self.user}:{realm}:{self.password}"), md5(f"{method}:{path}")
        with self._lock:
            self.count += 1
            nc = f"{self.count:08x}"
        cnonce = secrets.token_hex(8)
        if "auth" in qop.split(","):
            response = md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
            extra = f', qop=auth, nc={nc}, cnonce="{cnonce}"'
        else:
            response, extra = md5(f"{ha1}:{nonce}:{ha2}"), ""
        opaque = f', opaque="{fields["opaque"]}"' if "opaque" in fields else ""
        return (f'Digest username="{self.user}", realm="{realm}", nonce="{nonce}", uri="{path}", '
                f'response="{response}", algorithm=MD5{extra}{opaque}')


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _short(error: Any) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "Connection reset", "timed out", "Remote end closed"):
        if marker in text:
            return marker.lower()
    return type(error).__name__


def _text(body: bytes, limit: int = 500) -> str:
    return body[:limit].decode("utf-8", "replace").strip()


# -- Solutions as pyoxigraph can read them back (the row cap, blank-node matching) ------------


def _tsv_term(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, Triple):
        return f"<< {_tsv_term(term.subject)} {_tsv_term(term.predicate)} {_tsv_term(term.object)} >>"
    return str(term)


def solutions_tsv(names: list[str], rows: Iterable[tuple[Any, ...]]) -> bytes:
    """SPARQL TSV of ``rows`` (pyoxigraph's ``str`` of a term is its escaped N-Triples form)."""
    lines = ["\t".join(f"?{n}" for n in names)]
    lines += ["\t".join(_tsv_term(t) for t in row) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


class RemoteQueryService:
    """The external store, with the interface of executor.QueryService. Thread-safe."""

    mode = "external"

    def __init__(self, settings: Mapping[str, Any], prefixes: Mapping[str, str] | None = None) -> None:
        self.settings = dict(settings)
        self.client = Client(settings)
        self.store_dir = os.path.abspath(str(settings.get("STORE", "./var/store")))
        self.timeout = float(settings.get("QUERY_TIMEOUT", 30.0))
        self.max_rows = int(settings.get("MAX_ROWS", 100000))
        self.prefixes = dict(prefixes or {})
        self.lease = lease.Lease(lambda text: self.client.update(text, self.timeout), self._lease_rows, self.client.where,
                                 lease.duration(self.timeout))
        self._lease_lock = threading.Lock()  # one thread of this process asks for the lease at a time
        self._held = threading.local()  # .lease: the lease this thread holds
        self._state_lock = threading.Lock()
        self._generation = 0
        self._stamp: str | None = None
        self._probed = 0.0
        self._exported: tuple[int, Store] | None = None

    # -- the interface of QueryService --------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        return {"graphs": None, "open_seconds": None, "generation": self._generation, "store": self.client.query_url}

    @property
    def ready(self) -> bool:
        """Whether the store answers now (one ``ASK {}``: /health asks, and says 503 if not)."""
        try:
            self.wait_ready(None)
        except QueryError:
            return False
        return True

    def wait_ready(self, timeout: float | None = None) -> dict[str, Any]:
        """Return once the store answers; ``timeout`` None: one attempt (StoreUnreachable if it
        does not answer), else attempts until ``timeout`` seconds have passed."""
        deadline = time.monotonic() + (timeout or 0.0)
        while True:
            try:
                self.terms("ASK {}")
                return self.info
            except StoreUnreachable:
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.2)

    def close(self) -> None:
        self.client.close()
        self._exported = None

    @property
    def generation(self) -> int:
        """Goes up with every write seen: this process's at once, another replica's within
        GENERATION_PROBE_SECONDS (graph/void's dcterms:modified, stamped by each refresh)."""
        if time.monotonic() - self._probed > GENERATION_PROBE_SECONDS:
            try:
                self._observe(self._read_stamp())
            except QueryError:
                pass  # unreachable: the data cannot have changed under us in a way we could serve
        return self._generation

    def _observe(self, stamp: str | None) -> None:
        with self._state_lock:
            self._probed = time.monotonic()
            if stamp != self._stamp:
                self._stamp = stamp
                self._generation += 1

    def _read_stamp(self) -> str | None:
        _, (_, rows), _ = self.terms(f"SELECT ?m WHERE {{ GRAPH <{VOID}> {{ <{DATASET}> <{MODIFIED}> ?m }} }}", max_rows=10)
        return max((row[0].value for row in rows if row[0] is not None), default=None)

    def run(self, job: Job) -> QueryOutcome:
        """Evaluate ``job`` on the store; the body is pyoxigraph's serialization in the negotiated format."""
        started = time.monotonic()
        kind, text, blanks, shift = self._prepare(job)
        if kind is not None:
            _negotiate(kind, job)  # 406 before the store works for nothing
        cap = job.max_rows if job.max_rows is not None else self.max_rows
        out = io.BytesIO()
        with self._answer(job, text, kind, shift) as (kind, answer, deadline):
            media_type, fmt = _negotiate(kind, job)
            if kind == "boolean":
                out.write(answer.serialize(format=fmt))
                truncated, rows = False, 1
            elif kind == "triples":
                state = {"truncated": False, "rows": 0}
                serialize(_capped((q.triple for q in answer), cap, state), out, format=fmt, prefixes=job.prefixes)
                truncated, rows = state["truncated"], state["rows"]
            else:
                names, selected = self._rows(answer, blanks, cap + 1)
                truncated, rows = len(selected) > cap, min(len(selected), cap)
                parse_query_results(solutions_tsv(names, selected[:cap]), format=QueryResultsFormat.TSV).serialize(out, format=fmt)
        return QueryOutcome(kind, media_type, iter([out.getvalue()]), truncated, rows, time.monotonic() - started)

    def query(self, query: str, format: str | None = "json", **fields: Any) -> bytes:
        return self.run(Job(query, format=format, **fields)).body()

    def terms(self, query: str, substitutions: Mapping[str, Any] | None = None, max_rows: int | None = None) -> tuple[str, Any, bool]:
        """(kind, value, truncated) as QueryService.terms: a bool, a list of Triples, or
        (variable names, rows as tuples of terms or None)."""
        job = Job(query, substitutions=dict(substitutions or {}), max_rows=max_rows, want="terms")
        cap = max_rows if max_rows is not None else self.max_rows
        kind, text, blanks, shift = self._prepare(job)
        with self._answer(job, text, kind, shift) as (kind, answer, deadline):
            if kind == "boolean":
                return kind, bool(answer), False
            if kind == "triples":
                triples = [q.triple for q in islice(answer, cap + 1)]
                return kind, triples[:cap], len(triples) > cap
            names, rows = self._rows(answer, blanks, cap + 1)
            return kind, (names, rows[:cap]), len(rows) > cap

    def graph(self, query: str, substitutions: Mapping[str, Any] | None = None, media_type: str = "text/turtle",
              prefixes: Mapping[str, str] | None = None) -> bytes:
        job = Job(query, substitutions=dict(substitutions or {}), format=media_type, prefixes=dict(prefixes) if prefixes else None)
        return self.run(job).body()

    def export(self, name: str, path: str) -> int:
        """Write the dump file ``name`` to ``path``: the store's quads are read once per
        generation (one SELECT over every graph) into memory, then dumps.produce as the executors do."""
        from .dumps import produce

        generation = self.generation
        cached = self._exported
        if cached is None or cached[0] != generation:
            cached = self._exported = (generation, self._fetch_dataset(max(600.0, EXPORT_TIMEOUT_FACTOR * self.timeout)))
        return produce(cached[1], name, path, self.prefixes)

    def _fetch_dataset(self, timeout: float) -> Store:
        store = Store()
        job = Job("SELECT ?s ?p ?o ?g WHERE { GRAPH ?g { ?s ?p ?o } }", want="terms")
        batch: list[Quad] = []
        with self._answer(job, job.query, "solutions", 0, timeout) as (_, answer, _):
            for solution in answer:
                if solution["g"].value.startswith(NOT_DATA):
                    continue
                batch.append(Quad(solution["s"], solution["p"], solution["o"], solution["g"]))
                if len(batch) >= 10000:
                    store.extend(batch)
                    batch = []
        store.extend(batch)
        return store

    def status(self, counts: bool = False) -> dict[str, Any]:
        info = {"generation": self.generation, "mode": self.mode, "executors": [], "store": self.client.query_url,
                "open_seconds": None, "graphs_at_start": None}
        if counts:
            _, (_, rows), _ = self.terms("SELECT ?g (COUNT(*) AS ?n) { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", max_rows=10**9)
            info["graphs"] = {g.value: int(n.value) for g, n in rows if not g.value.startswith(lease.PREFIX)}  # a write's lease: not data
        return info

    # -- queries ------------------------------------------------------------------------------
    def _prepare(self, job: Job) -> tuple[str | None, str, dict[str, BlankNode], int]:
        """(kind if the text says it, text to send, blank nodes to match here, lines added before
        the query's own first line) for ``job``. Nothing is parsed or evaluated here: the store
        says whether the query is valid, and only ever receives it as a query (never an update)."""
        if not sparqltext.is_query(job.query):
            raise QueryError("syntax", _not_a_query(job.query))
        bound = {k: v for k, v in job.substitutions.items() if not isinstance(v, BlankNode)}
        blanks = {k: v for k, v in job.substitutions.items() if isinstance(v, BlankNode)}
        try:
            text = sparqltext.bind(job.query, bound)
        except ValueError as error:
            raise QueryError("syntax", f"cannot bind {sorted(bound)} in this query: {error}") from None
        sent = sparqltext.declare(text, self.prefixes)
        form = sparqltext.form(job.query)
        kind = {"SELECT": "solutions", "ASK": "boolean", "CONSTRUCT": "triples", "DESCRIBE": "triples"}.get(form or "")
        return kind, sent, blanks, sent.count("\n") - text.count("\n")

    def _answer(self, job: Job, text: str, kind: str | None, shift: int, timeout: float | None = None) -> "_Answer":
        return _Answer(self, job, text, kind, shift, self.timeout if timeout is None else timeout)

    @staticmethod
    def _rows(answer: Any, blanks: Mapping[str, BlankNode], limit: int) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Up to ``limit`` rows (the blank nodes matched here), in the order of the variables."""
        names = [v.value for v in answer.variables]
        if not set(blanks) <= set(names):
            raise QueryError("evaluation", "a blank node of the store can be bound only to a variable that the SELECT returns")
        rows: list[tuple[Any, ...]] = []
        for solution in answer:
            if blanks and any(solution[k] != b for k, b in blanks.items()):
                continue
            rows.append(tuple(solution[n] for n in names))
            if len(rows) >= limit:
                break
        return names, rows

    # -- writes -------------------------------------------------------------------------------
    def apply_write(self, ops: Iterable[Mapping[str, Any]], **meta: Any) -> int:
        """Apply one write (the operations of ``store.apply_ops``) as ONE SPARQL Update request,
        with graph/inferred brought up to date in the same request; then refresh graph/void. Under
        the store's write lease (``write_lock``, taken here unless the caller holds it): graph/void
        is recomputed by one replica at a time too, so the last refresh counts every write.
        Returns the new generation; raises ValueError for an invalid write, WriteBusy when the
        lease is held elsewhere (nothing sent in either case)."""
        from . import store

        checked = store.check_ops(ops)
        with self.write_lock(time.monotonic() + self.timeout):
            update = write_update(self, checked)
            self._held.lease.check()  # nothing sent if another replica may have taken the lease meanwhile
            self.client.update(update, max(self.timeout, 60.0))
            log.info("write applied to the external store: %s", {k: v for k, v in meta.items() if isinstance(v, (str, int))})
            refresh_void(self)
            with self._state_lock:
                self._generation += 1
            self._observe(self._read_stamp())
        return self._generation

    @contextmanager
    def write_lock(self, deadline: float) -> Iterator[None]:
        """A contribution's validation and write, one at a time across every replica of the store:
        this process's lock, then the store's write lease (lease.py), each waited for until
        ``deadline`` (time.monotonic(); WriteBusy past it: 503). The thread that holds it may take
        it again (``apply_write`` within)."""
        if getattr(self._held, "lease", None) is not None:
            yield
            return
        if not self._lease_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise lease.WriteBusy("another contribution to this replica is being validated or written; retry")
        try:
            self._held.lease = self.lease.acquire(deadline)
            try:
                yield
            finally:
                held, self._held.lease = self._held.lease, None
                self.lease.release(held)
        finally:
            self._lease_lock.release()

    def _lease_rows(self, query: str) -> list[tuple[Any, ...]]:
        return self.terms(query, max_rows=10**4)[1][1]


PARSE_FOR_MESSAGE = 4096  # characters


def _not_a_query(text: str) -> str:
    """pyoxigraph's own message for a text that is not a query (it fails while parsing, so
    nothing is evaluated), as the embedded store says it. This parse runs in the web process,
    not in a killable executor: pyoxigraph's recursive parser dies on some long inputs (10,000
    chained operators), so a text longer than PARSE_FOR_MESSAGE gets a message of our own."""
    if len(text) > PARSE_FOR_MESSAGE:
        return "not a SPARQL query (SELECT, CONSTRUCT, DESCRIBE or ASK): an external store receives queries only"
    try:
        Store().query(text)
    except SyntaxError as error:
        return str(error)
    except Exception as error:  # noqa: BLE001
        return f"{type(error).__name__}: {error}"
    return "not a SPARQL query: an external store receives SELECT, CONSTRUCT, DESCRIBE and ASK only"


def _negotiate(kind: str, job: Job) -> tuple[str, Any]:
    from .negotiation import choose_format

    chosen = choose_format(kind, job.accept, job.format)
    if chosen is None:
        raise QueryError("not-acceptable", f"no acceptable format for a {kind} result", kind)
    return chosen


_POSITION = re.compile(r"\b(error at |line )(\d+)")


class _Answer:
    """``with service._answer(job, text, kind, shift) as (kind, parsed answer, deadline)``: the
    request and the parsing of its answer under the deadline; errors become QueryError/QueryTimeout."""

    def __init__(self, service: RemoteQueryService, job: Job, text: str, kind: str | None, shift: int, timeout: float) -> None:
        self.service, self.job, self.text, self.kind, self.shift, self.timeout = service, job, text, kind, shift, timeout
        self.response: Any = None
        self.body: _Body | None = None

    def __enter__(self) -> tuple[str, Any, float]:
        client = self.service.client
        deadline = time.monotonic() + self.timeout
        fields = [("query", self.text)]
        fields += [("default-graph-uri", g) for g in self.job.default_graph_uris]
        fields += [("named-graph-uri", g) for g in self.job.named_graph_uris]
        if self.job.default_graph_uris and not self.job.named_graph_uris:  # the Protocol: then no named graph at all
            fields.append(("named-graph-uri", NO_GRAPH))  # (Virtuoso would keep every one)
        if not fields[1:] and client.union_parameter and not has_dataset_clause(self.job.query):
            fields.append(("union-default-graph", "true"))  # the default graph is the union of the graphs
        accept = {"triples": GRAPH_ACCEPT, None: f"{RESULTS_ACCEPT}, {GRAPH_ACCEPT.replace('n-triples', 'n-triples;q=0.9', 1)}"}.get(self.kind, RESULTS_ACCEPT)
        try:
            self.response = client.request("POST", client.query_url, body=urlencode(fields).encode(),
                                           headers={"Content-Type": "application/x-www-form-urlencoded", "Accept": accept},
                                           timeout=self.timeout)
        except _Deadline:
            raise self._timeout() from None
        status = self.response.status
        if status >= 300:
            try:
                body = client.read_all(self.response, deadline)
            except _Deadline:
                raise self._timeout() from None
            if b"timeout" in body.lower() or b"timed out" in body.lower():
                raise self._timeout()
            if status in (400, 406, 414, 415, 501):
                text = _text(body, 2000).split("\n\nSPARQL query:", 1)[0]  # Virtuoso echoes the query after its message
                message = _POSITION.sub(lambda m: f"{m[1]}{max(1, int(m[2]) - self.shift)}", text)
                raise QueryError("syntax", message)
            raise QueryError("evaluation", f"the external store failed: HTTP {status}: {_text(body)}")
        media_type = (self.response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        self.body = _Body(self.response, deadline, b"nodeID://" if client.engine == "virtuoso" else b"")
        reader = io.BufferedReader(self.body, READ_SIZE)
        try:
            results = QueryResultsFormat.from_media_type(media_type) if media_type else None
            if results is not None and self.kind != "triples":
                answer = parse_query_results(reader, format=results)
                if self.kind == "boolean" and not isinstance(answer, QueryBoolean):  # Virtuoso 7.2: a row of __ASK_RETVAL
                    row = next(iter(answer), None)
                    value = row is not None and row[0] is not None and row[0].value not in ("0", "false")
                    answer = parse_query_results(b'{"head":{},"boolean":%s}' % (b"true" if value else b"false"), format=QueryResultsFormat.JSON)
                return kind_of(answer), answer, deadline
            fmt = RdfFormat.N_TRIPLES if media_type in ("text/plain", "") else RdfFormat.from_media_type(media_type)
            if fmt is None or fmt.supports_datasets:
                raise QueryError("evaluation", f"the external store answered as {media_type!r}")
            return "triples", parse(reader, format=fmt), deadline
        except BaseException as error:
            self.response.close()
            self.response.release_conn()
            if isinstance(error, OSError):
                raise self._failure() from None
            raise

    def __exit__(self, kind: Any, error: Any, trace: Any) -> bool:
        if self.response is not None:
            if error is None:
                self.response.release_conn()
            else:  # stopped early (row cap) or failed: the rest of the answer is not wanted
                self.response.close()
                self.response.release_conn()
        if error is None or isinstance(error, QueryError):
            return False
        if isinstance(error, (OSError, SyntaxError, _Deadline)):
            raise self._failure() from None
        return False

    def _failure(self) -> QueryError:
        cause = self.body.error if self.body is not None else None
        if isinstance(cause, _Deadline) or isinstance(cause, urllib3.exceptions.ReadTimeoutError):
            return self._timeout()
        if cause is not None:
            return StoreUnreachable(self.service.client.where, f"the answer was cut: {_short(cause)}")
        return QueryError("evaluation", "the external store's answer could not be read")

    def _timeout(self) -> QueryTimeout:
        return QueryTimeout(f"the query ran longer than {self.timeout:g} s and was stopped")


# -- The write as SPARQL Update, with its entailments --------------------------------------------


def _nt(quads: Iterable[Quad | Triple], prefix: str) -> str:
    """Triples in N-Triples syntax, blank nodes renamed with ``prefix`` (labels are per operation)."""
    def term(t: Any) -> str:
        if isinstance(t, BlankNode):
            return f"_:{prefix}{t.value}"
        if isinstance(t, Triple):
            return f"<< {term(t.subject)} {term(t.predicate)} {term(t.object)} >>"
        return str(t)

    return "\n".join(f"{term(q.subject)} {term(q.predicate)} {term(q.object)} ." for q in quads)


CHUNK = 500  # triples per INSERT operation (Virtuoso compiles one to SQL, and refuses more than 10,000 lines)


def _inserts(quads: Iterable[Quad], prefix: str, verb: str = "INSERT") -> list[str]:
    """The operations that insert (or, ``verb="DELETE"``, delete) ``quads``: INSERT DATA, or
    ``INSERT { } WHERE { }`` where there are blank nodes (Virtuoso refuses them in INSERT DATA; a
    template's blank nodes are fresh, the same for the whole template). At most CHUNK triples an
    operation, the triples that share a blank node in the same one."""
    quads = list(quads)
    owner: dict[Any, int] = {}
    groups: dict[int, list[Quad]] = {}
    for number, quad in enumerate(quads):  # connected components by blank node
        blanks = [t for t in (quad.subject, quad.object) if isinstance(t, BlankNode)]
        ids = {owner[b] for b in blanks if b in owner}
        target = min(ids) if ids else number
        groups.setdefault(target, []).append(quad)
        for other in ids - {target}:
            for moved in groups.pop(other):
                groups[target].append(moved)
                owner.update({t: target for t in (moved.subject, moved.object) if isinstance(t, BlankNode)})
        owner.update({b: target for b in blanks})
    operations, chunk = [], []
    for group in groups.values():
        if chunk and len(chunk) + len(group) > CHUNK:
            operations.append(chunk)
            chunk = []
        chunk += group
    if chunk:
        operations.append(chunk)
    out = []
    for number, chunk in enumerate(operations):
        block = _data_block(chunk, f"{prefix}{number}x")
        out.append(f"{verb} {{\n{block}\n}} WHERE {{ }}" if _has_blank(chunk) else f"{verb} DATA {{\n{block}\n}}")
    return out


def _has_blank(quads: Iterable[Quad | Triple]) -> bool:
    return any(isinstance(t, BlankNode) for q in quads for t in (q.subject, q.object))


def _data_block(quads: list[Quad], prefix: str) -> str:
    by_graph: dict[str, list[Quad]] = {}
    for quad in quads:
        by_graph.setdefault(str(quad.graph_name), []).append(quad)
    return "\n".join(f"GRAPH {graph} {{\n{_nt(group, prefix)}\n}}" for graph, group in by_graph.items())


def _schema_store(service: RemoteQueryService, ops: list[dict[str, Any]]) -> tuple[Store, set[str], bool]:
    """The schema triples of the store (every graph but graph/inferred) in a local store, with
    ``ops`` applied to it as the embedded store applies them: (store, graphs added to, removed?)."""
    from . import inference, store as storage

    local = Store()
    predicates = " ".join(f"<{p}>" for p in sorted(inference.SCHEMA_PREDICATES))
    _, (_, rows), _ = service.terms(f"SELECT ?s ?p ?o ?g WHERE {{ VALUES ?p {{ {predicates} }} GRAPH ?g {{ ?s ?p ?o }} "
                                    f"FILTER(?g != <{INFERRED}>) }}", max_rows=10**9)
    local.extend(Quad(s, p, o, g) for s, p, o, g in rows if not g.value.startswith(NOT_DATA))
    for op in ops:  # a graph replaced or dropped counts as a removal only if it existed
        if op["op"] in ("put_graph", "drop_graph"):
            graph = NamedNode(op["graph"])
            if service.terms("ASK { GRAPH ?g { ?s ?p ?o } }", {"g": graph})[1]:
                local.add_graph(graph)
    added, removed = storage.apply_ops(local, ops)
    return local, added, removed


def write_update(service: RemoteQueryService, ops: list[dict[str, Any]]) -> str:
    """The SPARQL Update request of one write: its operations in order, then the entailments
    (graph/inferred rebuilt after a removal or a schema change, else extended by the graphs added)."""
    from . import inference

    parts: list[str] = []
    for number, op in enumerate(ops):
        kind, prefix = op["op"], f"w{number}x"
        if kind in ("put_graph", "drop_graph"):
            parts.append(f"DROP SILENT GRAPH <{op['graph']}>")
            if kind == "put_graph":
                graph = NamedNode(op["graph"])
                quads = [Quad(q.subject, q.predicate, q.object, graph) for q in parse(op.get("data", ""), format=RdfFormat.TURTLE)]
                parts += _inserts(quads, prefix) if quads else [f"CREATE SILENT GRAPH <{op['graph']}>"]
        elif kind == "add":
            quads = list(parse(op["data"], format=RdfFormat.N_QUADS))
            parts += _inserts(quads, prefix)
        elif kind == "remove":
            quads = list(parse(op["data"], format=RdfFormat.N_QUADS))
            if _has_blank(quads):
                raise ValueError("a write to an external store cannot remove blank nodes (SPARQL DELETE DATA has no way to name them)")
            parts += _inserts(quads, prefix, "DELETE")
    local, added, removed = _schema_store(service, ops)
    if removed or inference.touches_schema(local, added):
        parts += inference_rebuild(local)
    else:
        for graph in sorted(added):
            parts += inference._instance_updates(local, graph)
    return " ;\n".join(parts)


def inference_rebuild(schema: Store) -> list[str]:
    """graph/inferred recomputed by the store: dropped, the closed schema inserted, then the
    instance rules of inference.py (the same INSERT ... WHERE updates) over every graph."""
    from . import inference

    parts = [f"DROP SILENT GRAPH <{INFERRED}>"]
    closed = inference._schema_triples(schema)
    parts += _inserts(closed, "s")
    return parts + inference._instance_updates(schema, "?g")


def refresh_void(service: RemoteQueryService) -> int:
    """graph/void recomputed from the store (void.build_description over ``terms``) and
    replaced in one request, stamped with dcterms:modified (the replicas' generation)."""
    from . import void

    listing = f"GRAPH <{META}> {{ <{VOID}> a <http://rdfs.org/ns/void#DatasetDescription> }}"
    if not service.terms(f"ASK {{ {listing} }}")[1]:  # the counts include the listing: put it there first
        service.client.update(" ;\n".join(_inserts(void.listing(), "l")), service.timeout)
    quads = void.build_description(service)
    stamp = Quad(NamedNode(DATASET), NamedNode(MODIFIED), Literal(_now(), datatype=NamedNode(XSD_DATETIME)), NamedNode(VOID))
    service.client.update(f"DROP SILENT GRAPH <{VOID}> ;\nDELETE WHERE {{ GRAPH <{META}> {{ <{VOID}> ?p ?o }} }} ;\n"
                          + " ;\n".join(_inserts([*quads, stamp], "v")), max(service.timeout, 60.0))
    return len(quads) + 1


def _now() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


# -- innograph load, into the external store ----------------------------------------------------


def snapshot(settings: Mapping[str, Any]) -> Store:
    """The external store's quads (its engine's own graphs left out) in an in-memory store:
    what ``innograph query`` and ``innograph export`` read when SPARQL_QUERY_URL is set."""
    service = RemoteQueryService(settings)
    try:
        return service._fetch_dataset(max(600.0, EXPORT_TIMEOUT_FACTOR * service.timeout))
    finally:
        service.close()


def records_query(base: str = BASE) -> str:
    """The contribution records of graph/meta (provenance.py's IRIs), which a reload keeps."""
    starts = [f"{base}graph/contribution/", f"{base}id/contribution/", f"{base}id/retraction/",
              f"{base}id/document/contribution-", f"{base}id/contributor/", "urn:sha256:"]
    condition = " || ".join(f'STRSTARTS(STR(?s), "{s}")' for s in starts)
    return f"SELECT ?s ?p ?o WHERE {{ GRAPH <{META}> {{ ?s ?p ?o }} FILTER({condition}) }}"


def load(settings: Mapping[str, Any], files: Iterable[str | os.PathLike[str]] = (), report: Any = lambda _: None,
         prefixes: Mapping[str, str] | None = None) -> dict[str, Any]:
    """``innograph load`` into the external store; returns {"graphs": triples per graph}.

    Without ``files``: the repository's files, read with the embedded loader's own plan and
    parser into memory, then each graph PUT (Graph Store Protocol; without SPARQL_GSP_URL, one
    DROP + INSERT DATA per graph). Contribution graphs and their records in graph/meta are kept,
    other graphs that the repository no longer has are dropped. With ``files``: those are added,
    a triples file replacing its graph (as the embedded loader does). Then graph/inferred and
    graph/void are recomputed. Each graph is replaced atomically, the load as a whole is not:
    load a store before the replicas serve it, or accept that a reload is seen graph by graph.
    """
    from pathlib import Path

    from . import loader
    from .namespaces import PREFIXES

    service = RemoteQueryService({**settings, "QUERY_TIMEOUT": max(float(settings.get("QUERY_TIMEOUT", 30.0)), 300.0)},
                                 prefixes=prefixes or PREFIXES)
    try:
        service.wait_ready(5.0)  # a store that is starting up gets a few seconds
        files = list(files)
        plan = loader.files_plan(files) if files else loader.repository_plan(Path(settings.get("REPO_DIR") or "."))
        local = Store()
        for number, (path, graph) in enumerate(plan, 1):  # a fresh store: each file adds to its graph
            report(f"[{number}/{len(plan)}] {path}\n")
            opener = gzip.open if path.name.endswith(".gz") else open
            try:
                with opener(path, "rb") as stream:
                    local.load(stream, format=loader.rdf_format(path), to_graph=NamedNode(graph), base_iri=path.resolve().as_uri())
            except SyntaxError as error:
                raise SyntaxError(f"{path}: {error}") from None
        graphs = sorted(local.named_graphs(), key=lambda g: g.value)
        replaced = {g for p, g in plan if not loader.rdf_format(p).supports_datasets} | ({g.value for g in graphs} if not files else set())
        if not files:
            _, (_, rows), _ = service.terms(records_query(), max_rows=10**9)
            local.extend(Quad(s, p, o, NamedNode(META)) for s, p, o in rows)
        timeout = max(600.0, service.timeout)
        for graph in graphs:
            started = time.perf_counter()
            data = local.dump(format=RdfFormat.N_TRIPLES, from_graph=graph)
            report(f"{graph.value}: {'PUT' if graph.value in replaced else 'POST'} ... ")
            service.client.put_graph(graph.value, data, timeout, replace=graph.value in replaced)
            report(f"{time.perf_counter() - started:.1f} s\n")
        if not files:
            keep = {g.value for g in graphs} | {INFERRED, VOID}
            _, (_, rows), _ = service.terms("SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }", max_rows=10**9)
            stale = [g.value for (g,) in rows if g.value not in keep and g.value.startswith(BASE + "graph/")
                     and not g.value.startswith(BASE + "graph/contribution/")]
            if stale:
                report(f"dropping {len(stale)} graph(s) the repository no longer has\n")
                service.client.update(" ;\n".join(f"DROP SILENT GRAPH <{g}>" for g in stale), timeout)
        report("computing graph/inferred ... ")
        started = time.perf_counter()
        schema, _, _ = _schema_store(service, [])
        service.client.update(" ;\n".join(inference_rebuild(schema)), timeout)
        report(f"{time.perf_counter() - started:.1f} s\ndescribing the dataset (graph/void) ... ")
        started = time.perf_counter()
        report(f"{refresh_void(service)} triples, {time.perf_counter() - started:.1f} s\n")
        _, (_, rows), _ = service.terms("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g", max_rows=10**9)
        return {"graphs": {g.value: int(n.value) for g, n in rows if g.value.startswith(BASE)}, "store": service.client.query_url}
    finally:
        service.close()
