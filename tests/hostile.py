"""Helpers for the hostile-input and load tests (test_attacks, test_fuzz, test_schemathesis,
test_load) against the ``guarded_server`` fixture of conftest.py: raw HTTP with a hard timeout
and a chosen source address, what the server holds (to prove a refused request changed nothing),
and a loopback listener that must never be called.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

# A refused request must be answered within this (the server's QUERY_TIMEOUT is 2 s, READ_TIMEOUT
# 3 s): beyond, the test calls it a hang. Generous, for a 2-core machine shared with other runs.
HANG = 30.0
GOOD_TURTLE = b"""@prefix ino: <https://w3id.org/innograph/ontology#> .
<https://w3id.org/innograph/id/org/fuzzco> a ino:Company ; ino:name "FuzzCo" .
"""


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


def call(base: str, method: str, target: str, *, headers: dict[str, str] | None = None, body: bytes | None = None,
         source: str | None = None, timeout: float = HANG) -> Answer:
    """One request with http.client: ``target`` is sent exactly as given (no re-encoding), the
    headers too (no Host or Accept-Encoding added unless given). Raises TimeoutError past ``timeout``."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout,
                                      source_address=(source, 0) if source else None)
    started = time.monotonic()
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        given = {k.lower() for k in (headers or {})}
        if "host" not in given:
            conn.putheader("Host", parts.netloc)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        if body is not None and "content-length" not in given and "transfer-encoding" not in given:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        response = conn.getresponse()
        data = response.read()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data, time.monotonic() - started)
    finally:
        conn.close()


def get(base: str, path: str, **params) -> Answer:
    query = "&".join(f"{quote(k)}={quote(str(v), safe='')}" for k, v in params.items())
    return call(base, "GET", path + ("?" + query if query else ""))


def sparql_json(base: str, query: str) -> list[dict[str, str]]:
    answer = get(base, "/sparql", query=query, format="json")
    assert answer.status == 200, answer.text()
    return [{k: v["value"] for k, v in row.items()} for row in answer.json()["results"]["bindings"]]


@dataclass(frozen=True)
class Holdings:
    """What the server holds: triples per named graph, and the contribution records."""

    graphs: tuple[tuple[str, int], ...]
    contributions: tuple[tuple[str, str], ...]


def holdings(base: str) -> Holdings:
    # graph/void is left out: it is derived, and catches up a moment after each accepted write.
    graphs = sparql_json(base, "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } "
                               "FILTER(?g != <https://w3id.org/innograph/graph/void>) } GROUP BY ?g ORDER BY ?g")
    listed = call(base, "GET", "/contributions", headers={"Accept": "application/json"})
    assert listed.status == 200, listed.text()
    return Holdings(tuple((row["g"], int(row["n"])) for row in graphs),
                    tuple(sorted((c["id"], c["status"]) for c in listed.json()["contributions"])))


def alive(base: str) -> bool:
    """The server still answers a query (after whatever was thrown at it)."""
    return get(base, "/sparql", query="ASK {}").status == 200


@dataclass
class Listener:
    """A loopback TCP listener that records every connection made to it (and what it received),
    answering a minimal HTTP 200. An internal service the server must never reach."""

    connections: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/"
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                conn.settimeout(1.0)
                try:
                    data = conn.recv(65536)
                except OSError:
                    data = b""
                self.connections.append(data)
                try:
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/turtle\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                except OSError:
                    pass

    def close(self) -> None:
        self._stop = True
        self._sock.close()
        self._thread.join(5)
