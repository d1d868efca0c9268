"""Property-based fuzzing of a real server (``guarded_server``) with hypothesis: malformed SPARQL,
headers, media types, IRIs, RDF payloads, tokens and raw HTTP. For every request:

- no 5xx, except 503 from /sparql (a query stopped at QUERY_TIMEOUT, or whose process died);
- an answer within ``hostile.HANG`` seconds (a hang fails the test);
- never ``Access-Control-Allow-Credentials``;
- nothing held changes (triples per named graph, contribution records) unless the request was a
  contribution answered 201.

Budget: each test stops at ``INNOGRAPH_FUZZ_EXAMPLES`` examples (default 200) or
``INNOGRAPH_FUZZ_SECONDS`` seconds (default 15), whichever comes first, so the module takes about
two minutes. For a long run: ``INNOGRAPH_FUZZ_EXAMPLES=5000 INNOGRAPH_FUZZ_SECONDS=600 pytest
tests/test_fuzz.py``. With ``INNOGRAPH_RELIABILITY_OUT=DIR`` the number of requests of each kind
is written to ``DIR/fuzz.json`` (bench/reliability.py reads it).
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
from collections import Counter
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile import GOOD_TURTLE, HANG, alive, call, holdings

pytestmark = pytest.mark.slow

EXAMPLES = int(os.environ.get("INNOGRAPH_FUZZ_EXAMPLES", "200"))
SECONDS = float(os.environ.get("INNOGRAPH_FUZZ_SECONDS", "15"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                suppress_health_check=list(HealthCheck))
SENT: Counter[str] = Counter()  # requests sent, by kind (for bench/reliability.py)
QUERIES = sorted((Path(__file__).resolve().parents[1] / "queries").glob("*.rq"))


class Budget:
    """True while a test may still send: under its time budget."""

    def __init__(self) -> None:
        self.end = time.monotonic() + SECONDS

    def __bool__(self) -> bool:
        return time.monotonic() < self.end


@pytest.fixture(scope="module")
def server(guarded_server):
    yield guarded_server
    out = os.environ.get("INNOGRAPH_RELIABILITY_OUT")
    if out:
        Path(out).mkdir(parents=True, exist_ok=True)
        (Path(out) / "fuzz.json").write_text(json.dumps(dict(SENT), indent=1, sort_keys=True) + "\n")


@pytest.fixture
def baseline(server):
    """What the server holds before the test; checked again after it."""
    before = holdings(server.url)
    yield before
    assert alive(server.url)
    assert holdings(server.url) == before


def sane(answer, kind: str, allowed: set[int], *, path: str = "") -> None:
    """The invariants every answer keeps."""
    SENT[kind] += 1
    assert answer.status in allowed, (kind, answer.status, answer.text()[:300])
    assert answer.status < 500 or (answer.status == 503 and path.startswith("/sparql")), (kind, answer.status, answer.text()[:300])
    assert "access-control-allow-credentials" not in answer.headers


# -- strategies ---------------------------------------------------------------------------------

printable = st.characters(min_codepoint=0x20, max_codepoint=0x7E)
header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=120)
unicode_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=200)

SPARQL_TOKENS = [
    "SELECT", "ASK", "CONSTRUCT", "DESCRIBE", "WHERE", "{", "}", "(", ")", "[", "]", ".", ";", ",", "*", "?s", "?p", "?o", "$x",
    "FILTER", "OPTIONAL", "UNION", "MINUS", "GRAPH", "BIND", "AS", "VALUES", "UNDEF", "LIMIT", "OFFSET", "ORDER BY", "GROUP BY",
    "HAVING", "DISTINCT", "REDUCED", "FROM", "NAMED", "NOT EXISTS", "EXISTS", "IN", "a", "<http://ex.org/x>", "<>", "<#>",
    "<https://w3id.org/innograph/id/pole/biowin>", "ino:Pole", "rdfs:label", "_:b", "[]", "()", '"x"', '"x"@fr', '"1"^^xsd:int',
    "'''long'''", "1", "-0.0", "1e308", "99999999999999999999999", "true", "REGEX(?o, '(a+)+$')", "STRLEN(?o)", "CONCAT(?o, ?o)",
    "IRI(?o)", "BNODE()", "UUID()", "NOW()", "COALESCE()", "IF(?o, 1, 0)", "xsd:dateTime(?o)", "SUBSTR(?o, -5, 99999999)",
    "COUNT(*)", "SUM(?o)", "GROUP_CONCAT(?o; separator='|')", "SAMPLE(?o)", "/", "|", "^", "+", "?", "!", "PREFIX", "BASE",
    "ino:", "SERVICE", "LOAD", "INSERT DATA", "DELETE WHERE", "CLEAR ALL", "\\u0053", "#", "\n", "@en-gb-x-private",
]
PROLOGUE = "PREFIX ino: <https://w3id.org/innograph/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> " \
           "PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>\n"


@st.composite
def mutated(draw, seeds: list[str]) -> str:
    """A seed with a few random edits: insertions of tokens or characters, deletions, duplications."""
    text = draw(st.sampled_from(seeds))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["insert", "delete", "duplicate", "char"]))
        if edit == "insert":
            text = text[:at] + " " + draw(st.sampled_from(SPARQL_TOKENS)) + " " + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif edit == "duplicate":
            end = min(len(text), at + draw(st.integers(1, 60)))
            text = text[:end] + text[at:end] + text[end:]
        else:
            text = text[:at] + draw(st.characters(exclude_categories=("Cs",))) + text[at:]
    return text


SEED_QUERIES = [q.read_text(encoding="utf-8") for q in QUERIES] + [
    "SELECT * WHERE { ?s ?p ?o } LIMIT 5", "ASK { ?s a ino:Pole }", "CONSTRUCT { ?s ?p ?o } WHERE { ?s a ino:Pole ; ?p ?o } LIMIT 20",
    "DESCRIBE <https://w3id.org/innograph/id/pole/biowin>", "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g",
]
token_soup = st.lists(st.sampled_from(SPARQL_TOKENS), min_size=1, max_size=25).map(lambda ts: PROLOGUE + " ".join(ts))
sparql = st.one_of(mutated(SEED_QUERIES), token_soup, unicode_text, st.sampled_from(SEED_QUERIES))

MEDIA = ["application/sparql-results+json", "application/sparql-results+xml", "text/csv", "text/tab-separated-values", "text/turtle",
         "application/n-triples", "application/ld+json", "application/rdf+xml", "application/trig", "application/n-quads", "text/html",
         "application/json", "application/xml", "text/plain", "*/*", "text/*", "application/*", "image/png", "", "*", "/", ";", "text/html;q=0"]
accept = st.one_of(st.sampled_from(MEDIA),
                   st.lists(st.tuples(st.sampled_from(MEDIA), st.sampled_from(["", ";q=0", ";q=0.5", ";q=1.0", ";q=abc", ";q=-1", ";level=1", ";charset=utf-16"])),
                            max_size=5).map(lambda parts: ", ".join(m + p for m, p in parts)),
                   header_text)
content_type = st.one_of(
    st.sampled_from(MEDIA + ["application/sparql-query", "application/sparql-update", "application/x-www-form-urlencoded", "multipart/form-data"]),
    st.tuples(st.sampled_from(["application/sparql-query", "text/turtle", "application/ld+json", "application/rdf+xml", "application/x-www-form-urlencoded"]),
              st.sampled_from(["", "; charset=utf-8", "; charset=UTF8", "; charset=latin-1", "; charset=utf-16", "; charset=", "; charset=\"utf-8\"",
                               ";;;", "; boundary=x", "; q=1", "; charset=utf-8; charset=ascii"])).map("".join),
    header_text)


def sent_as(how: str, query: str, accept_header: str | None, fmt: str | None) -> tuple[str, str, dict[str, str], bytes | None]:
    """(method, target, headers, body) of a query sent ``how``."""
    headers = {"Accept": accept_header} if accept_header is not None else {}
    extra = f"&format={quote(fmt, safe='')}" if fmt is not None else ""
    if how == "get":
        return "GET", f"/sparql?query={quote(query, safe='')}{extra}", headers, None
    if how == "form":
        return "POST", "/sparql", {**headers, "Content-Type": "application/x-www-form-urlencoded"}, f"query={quote(query, safe='')}{extra}".encode()
    return "POST", "/sparql" + (f"?{extra[1:]}" if extra else ""), {**headers, "Content-Type": "application/sparql-query"}, query.encode("utf-8", "surrogatepass")


SPARQL_STATUSES = {200, 400, 403, 406, 413, 414, 415, 503}


# -- the tests ----------------------------------------------------------------------------------


def test_malformed_queries(server, baseline):
    budget = Budget()

    @FUZZ
    @given(query=sparql, how=st.sampled_from(["get", "form", "direct"]), accept_header=st.none() | accept,
           fmt=st.none() | st.sampled_from(["json", "xml", "csv", "tsv", "ttl", "nt", "jsonld", "rdf", "trig", "nq", "html", "x", ""]))
    def run(query, how, accept_header, fmt):
        if budget:
            method, target, headers, body = sent_as(how, query, accept_header, fmt)
            sane(call(server.url, method, target, headers=headers, body=body), "SPARQL queries", SPARQL_STATUSES, path=target)

    run()


ROUTES = ["/", "/sparql", "/sparql?query=ASK%7B%7D", "/id/pole/biowin", "/id/no/such-thing", "/graph/meta", "/ontology", "/shapes",
          "/dumps/", "/dumps/innograph.nt", "/dumps/network/membership-nodes.csv", "/.well-known/void", "/contributions",
          "/contributions/nope", "/openapi.json", "/static/innograph.css"]


def test_malformed_headers(server, baseline):
    budget = Budget()
    header_names = st.sampled_from(["Accept", "Accept-Language", "Cookie", "Origin", "Range", "If-None-Match", "If-Modified-Since",
                                    "Content-Type", "Authorization", "X-Forwarded-For", "Forwarded", "Accept-Encoding", "Referer"])

    @FUZZ
    @given(route=st.sampled_from(ROUTES), method=st.sampled_from(["GET", "HEAD", "OPTIONS"]),
           headers=st.dictionaries(header_names, st.one_of(accept, header_text,
                                                           st.sampled_from(["bytes=0-0", "bytes=-1", "bytes=abc", "bytes=5-1", "bytes=0-1,2-3,4-5",
                                                                            "innograph_lang=fr", "innograph_lang=\"", "fr;q=x, *", '"etag"', "W/\"x\"",
                                                                            "Sat, 01 Jan 2000 00:00:00 GMT", "not a date"])), max_size=5))
    def run(route, method, headers):
        if budget:
            sane(call(server.url, method, route, headers=headers), "headers", set(range(200, 500)), path=route)

    run()


def test_malformed_parameters(server, baseline):
    """Random query parameters on every route that reads some (regression: an unknown
    ``status`` filter on /contributions was a 500)."""
    budget = Budget()
    names = st.sampled_from(["format", "lang", "status", "contributor", "query", "default-graph-uri", "named-graph-uri", "source",
                             "message", "update", "x"])
    values = st.one_of(unicode_text, st.sampled_from(["", "accepted", "retracted", "html", "ttl", "json", "fr", "en", "%", "\x00"]))

    @FUZZ
    @given(route=st.sampled_from([r for r in ROUTES if "?" not in r]), params=st.lists(st.tuples(names, values), max_size=4))
    def run(route, params):
        if budget:
            target = route + "?" + "&".join(f"{quote(k)}={quote(v, safe='')}" for k, v in params)
            sane(call(server.url, "GET", target), "query parameters", set(range(200, 500)) | {503}, path=route)

    run()


def test_malformed_media_types(server, baseline):
    budget = Budget()

    @FUZZ
    @given(route=st.sampled_from(["/sparql", "/validate"]), content=content_type,
           body=st.sampled_from([b"ASK {}", b"query=ASK%7B%7D", GOOD_TURTLE, b"{}", b"", b"\xff\xfe\x00", b"<rdf:RDF/>"]))
    def run(route, content, body):
        if budget:
            allowed = SPARQL_STATUSES if route == "/sparql" else {200, 400, 413, 415}
            sane(call(server.url, "POST", route, headers={"Content-Type": content}, body=body), "media types", allowed, path=route)

    run()


iri_chars = st.one_of(st.characters(exclude_categories=("Cs",)), st.sampled_from(["%2e", "%2f", "%00", "%ff", "%c3%a9", "%", "%%", "%2", "..", "\\", "?", "#", ";", "//"]))
iri_text = st.lists(iri_chars, max_size=12).map("".join)
iri_path = st.lists(iri_text, min_size=1, max_size=5).map("/".join)


def test_malformed_iris(server, baseline):
    budget = Budget()

    @FUZZ
    @given(kind=st.sampled_from(["/id/", "/graph/", "/contributions/"]), path=iri_path, accept_header=st.none() | accept,
           dataset=iri_text, lang=st.none() | header_text)
    def run(kind, path, accept_header, dataset, lang):
        if not budget:
            return
        target = kind + quote(path, safe="/%:@!$&'()*+,;=-._~")
        if lang is not None:
            target += f"?lang={quote(lang, safe='')}"
        headers = {"Accept": accept_header} if accept_header is not None else {}
        sane(call(server.url, "GET", target, headers=headers), "IRIs in paths", {200, 308, 400, 404, 406, 414}, path=target)
        query = quote("SELECT * WHERE { ?s ?p ?o } LIMIT 1", safe="")
        for name in ("default-graph-uri", "named-graph-uri"):
            answer = call(server.url, "GET", f"/sparql?query={query}&{name}={quote(dataset, safe='')}")
            sane(answer, "IRIs in dataset parameters", {200, 400}, path="/sparql")

    run()


def payload_seeds() -> list[tuple[str, bytes]]:
    org = "https://w3id.org/innograph/id/org/fuzzco"
    return [
        ("text/turtle", GOOD_TURTLE),
        ("application/n-triples", f'<{org}> <https://w3id.org/innograph/ontology#name> "FuzzCo" .\n'.encode()),
        ("application/trig", b"<https://w3id.org/innograph/graph/x> { " + GOOD_TURTLE.split(b"\n", 1)[1].replace(b"ino:", b"<https://w3id.org/innograph/ontology#") + b" }"),
        ("application/n-quads", f'<{org}> <http://ex.org/p> "x" <http://ex.org/g> .\n'.encode()),
        ("application/ld+json", json.dumps({"@context": {"ino": "https://w3id.org/innograph/ontology#"}, "@id": org, "@type": "ino:Company", "ino:name": "FuzzCo"}).encode()),
        ("application/rdf+xml", f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ino="https://w3id.org/innograph/ontology#">'
                                f'<ino:Company rdf:about="{org}"><ino:name>FuzzCo</ino:name></ino:Company></rdf:RDF>'.encode()),
    ]


@st.composite
def rdf_payload(draw) -> tuple[str, bytes]:
    media, body = draw(st.sampled_from(payload_seeds()))
    if draw(st.booleans()):
        media = draw(st.sampled_from([m for m, _ in payload_seeds()]))  # the wrong parser for these bytes
    text = body.decode()
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, len(text)))
        text = draw(st.sampled_from([
            text[:at] + draw(st.sampled_from(['"', "<", ">", "{", "}", "[", "]", "@", "_:", "\\u0000", "\\U0010FFFF", "^^", "@context",
                                              "<!DOCTYPE x>", "&amp;", "\x00", "\ud7ff", " . ", '"@graph"', "rdf:parseType='Literal'"])) + text[at:],
            text[:at] + text[at + draw(st.integers(1, 20)):],
            text[:at] + draw(unicode_text) + text[at:],
        ]))
    return media, text.encode("utf-8", "surrogatepass")


def test_malformed_rdf_to_validate(server, baseline):
    budget = Budget()

    @FUZZ
    @given(payload=rdf_payload())
    def run(payload):
        if budget:
            media, body = payload
            sane(call(server.url, "POST", "/validate", headers={"Content-Type": media}, body=body), "RDF payloads (/validate)", {200, 400, 413, 415})

    run()


def test_malformed_contributions_change_nothing_unless_accepted(server):
    """With a valid contributor token, random payloads and cited sources: whatever is not 201
    leaves the server's holdings as they were."""
    budget = Budget()
    state = {"held": holdings(server.url)}

    @FUZZ
    @given(payload=rdf_payload(), source=st.one_of(st.just("https://example.org/news"), iri_text),
           message=st.none() | unicode_text)
    def run(payload, source, message):
        if not budget:
            return
        media, body = payload
        target = f"/contributions?source={quote(source, safe='')}" + (f"&message={quote(message, safe='')}" if message is not None else "")
        answer = call(server.url, "POST", target, headers={"Content-Type": media, "Authorization": f"Bearer {server.tokens['contributor']}"}, body=body)
        sane(answer, "RDF payloads (/contributions)", {201, 400, 403, 413, 415, 422})
        now = holdings(server.url)
        if answer.status != 201:
            assert now == state["held"], (answer.status, answer.text()[:300])
        state["held"] = now

    run()
    assert alive(server.url)


def test_guessed_tokens_never_pass(server, baseline):
    """Unknown and mutated tokens (one character off, cut, padded, other case, other scheme) from
    many client addresses: 401, or 429 once an address has tried AUTH_FAILURES; never accepted."""
    budget = Budget()
    real = server.tokens["curator"]
    counter = iter(range(10**9))
    token = st.one_of(
        header_text,
        st.integers(0, len(real) - 1).flatmap(lambda i: st.sampled_from("-_aA0zZ9").map(lambda c: real[:i] + c + real[i + 1:])).filter(lambda t: t != real),
        st.integers(1, len(real) - 1).map(lambda i: real[:i]),
        st.sampled_from([real + "x", " " + real + "x", real.upper(), real.lower(), real[::-1], real + "\t", real * 2]).filter(lambda t: t.strip() != real),
    )
    scheme = st.sampled_from(["Bearer ", "bearer ", "BEARER  ", "Basic ", "Token ", "", "Bearer=", "Bearer\t"])

    @FUZZ
    @given(scheme=scheme, token=token)
    def run(scheme, token):
        if not budget:
            return
        n = next(counter)
        source = f"127.0.{100 + n // 4 // 250}.{n // 4 % 250 + 2}"  # a new client every 4 guesses
        answer = call(server.url, "DELETE", "/contributions/no-such-contribution", headers={"Authorization": scheme + token}, source=source)
        sane(answer, "tokens", {400, 401, 429})

    run()


request_line = st.tuples(
    st.sampled_from(["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "CONNECT", "TRACE", "PRI", "G\x00T", "get", "", "GET GET"]),
    st.sampled_from(["/sparql?query=ASK%7B%7D", "/", "*", "http://evil.example/", "/id/%", "//", "/\x00", "/sparql?query=%", "", "/" + "a" * 5000]),
    st.sampled_from(["HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1x", "", "http/1.1", "HTTP/01.1"]),
).map(lambda t: " ".join(t))
raw_headers = st.lists(st.sampled_from([
    "Host: x", "Host:", "Host: x\r\nHost: y", "Content-Length: 5", "Content-Length: -1", "Content-Length: 1e3", "Content-Length: 5, 6",
    "Transfer-Encoding: chunked", "Transfer-Encoding: gzip, chunked", "Transfer-Encoding: chunked\r\nContent-Length: 3",
    "Transfer-Encoding: xchunked", " folded: continuation", "Bad Header: x", "X: \x00", "X:" + "y" * 9000, ":empty",
    "Expect: 100-continue", "Connection: close", "Connection: keep-alive, Upgrade", "Upgrade: h2c", "Content-Type: application/sparql-query",
]), max_size=6)


def test_raw_http_garbage(server, baseline):
    """Requests no client library would send: the server answers (a 4xx) or closes, never hangs."""
    budget = Budget()
    host, port = server.url.removeprefix("http://").split(":")

    @FUZZ
    @given(line=request_line, headers=raw_headers, body=st.sampled_from([b"", b"ASK {}", b"0\r\n\r\n", b"5\r\nASK {\r\n0\r\n\r\n", b"zz\r\n"]))
    def run(line, headers, body):
        if not budget:
            return
        SENT["raw HTTP"] += 1
        request = (line + "\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode("latin-1") + body
        with socket.create_connection((host, int(port)), timeout=HANG) as sock:
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)  # nothing more will come: the server must not wait for it
            answer = b""
            while chunk := sock.recv(65536):
                answer += chunk
        for status in re.findall(rb"^HTTP/1\.[01] (\d{3})", answer, re.MULTILINE):
            # RFC 9112 §6.1: a transfer coding the server does not understand is answered 501
            # (gunicorn does so before the app); any other 5xx is a server error.
            unknown_coding = status == b"501" and b"Unsupported transfer coding" in answer
            assert int(status) < 500 or unknown_coding, answer[:300]

    run()
    assert alive(server.url)
