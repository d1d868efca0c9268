"""Safe parsing of payloads: formats, caps, DOCTYPE/ENTITY refusal, remote contexts, positions."""

from __future__ import annotations

import socket
import threading

import pytest
from rdflib import BNode, Literal, URIRef

from innograph.rdfinput import InputError, format_for_filename, format_for_media_type, parse_payload

TTL = b"""@prefix ino: <https://w3id.org/innograph/ontology#> .
<https://w3id.org/innograph/id/org/a> ino:name "A"@fr ; ino:memberOf <https://w3id.org/innograph/id/pole/b> .
"""


def parse(body: bytes, media_type: str = "text/turtle", max_bytes: int = 10_000, max_triples: int = 100):
    return parse_payload(body, format_for_media_type(media_type), max_bytes=max_bytes, max_triples=max_triples)


def refused(body: bytes, media_type: str = "text/turtle", **caps) -> InputError:
    with pytest.raises(InputError) as e:
        parse(body, media_type, **caps)
    return e.value


@pytest.mark.parametrize("media_type,body", [
    ("text/turtle", TTL),
    ("text/turtle; charset=utf-8", TTL),
    ("application/trig", TTL),
    ("application/n-triples", b'<https://w3id.org/innograph/id/org/a> <https://w3id.org/innograph/ontology#name> "A"@fr .\n'
                              b'<https://w3id.org/innograph/id/org/a> <https://w3id.org/innograph/ontology#memberOf> <https://w3id.org/innograph/id/pole/b> .\n'),
    ("application/ld+json", b'{"@context": {"ino": "https://w3id.org/innograph/ontology#"}, "@id": "https://w3id.org/innograph/id/org/a",'
                            b' "ino:name": {"@value": "A", "@language": "fr"}, "ino:memberOf": {"@id": "https://w3id.org/innograph/id/pole/b"}}'),
    ("application/rdf+xml", b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
                            b'xmlns:ino="https://w3id.org/innograph/ontology#">\n<rdf:Description rdf:about="https://w3id.org/innograph/id/org/a">'
                            b'<ino:name xml:lang="fr">A</ino:name><ino:memberOf rdf:resource="https://w3id.org/innograph/id/pole/b"/>'
                            b'</rdf:Description></rdf:RDF>'),
])
def test_each_accepted_format_gives_the_same_triples(media_type, body):
    payload = parse(body, media_type)
    assert set(payload.graph) == {
        (URIRef("https://w3id.org/innograph/id/org/a"), URIRef("https://w3id.org/innograph/ontology#name"), Literal("A", lang="fr")),
        (URIRef("https://w3id.org/innograph/id/org/a"), URIRef("https://w3id.org/innograph/ontology#memberOf"), URIRef("https://w3id.org/innograph/id/pole/b")),
    }
    assert len(payload.sha256) == 64


@pytest.mark.parametrize("media_type", ["text/n3", "application/json", "text/plain", "", "application/sparql-update", "text/turtle; charset=latin-1"])
def test_unsupported_media_types_are_415(media_type):
    with pytest.raises(InputError) as e:
        format_for_media_type(media_type)
    assert e.value.status == 415


def test_a_file_extension_names_the_format():
    assert format_for_filename("x.ttl").media_type == "text/turtle"
    assert format_for_filename("x.jsonld").media_type == "application/ld+json"
    with pytest.raises(InputError):
        format_for_filename("x.txt")


def test_a_syntax_error_says_line_and_column():
    e = refused(b"@prefix ex: <http://ex.org/> .\nex:a ex:b ex:c .\nex:a ex:b \n ex:d ex:e .")
    assert (e.status, e.line, e.column) == (400, 4, 7)
    assert "line 4" in e.message


def test_invalid_json_says_line_and_column():
    e = refused(b'{"@id": "http://a",\n "x": 1,}', "application/ld+json")
    assert (e.status, e.line) == (400, 2)


def test_ill_formed_xml_says_line():
    e = refused(b'<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n<rdf:Description rdf:about="http://a"></rdf:RDF>',
                "application/rdf+xml")
    assert (e.status, e.line) == (400, 3)


@pytest.mark.parametrize("declaration", [b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">]>', b"<!ENTITY a SYSTEM 'file:///etc/passwd'>", b"<!doctype rdf:RDF>"])
def test_doctype_and_entity_are_refused_before_parsing(declaration):
    billion_laughs = b'<?xml version="1.0"?>\n' + declaration + b'\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>'
    e = refused(billion_laughs, "application/rdf+xml")
    assert e.status == 400 and "refused" in e.message and e.line == 2


def test_a_remote_jsonld_context_is_never_fetched():
    hits = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(2)
    port = server.getsockname()[1]

    def accept():
        try:
            conn, _ = server.accept()
            hits.append(conn.recv(1000))
            conn.close()
        except OSError:
            pass

    listener = threading.Thread(target=accept)
    listener.start()
    body = b'{"@context": "http://127.0.0.1:%d/context.jsonld", "@id": "http://a", "name": "x"}' % port
    e = refused(body, "application/ld+json")
    listener.join()
    server.close()
    assert e.status == 400 and "not fetched" in e.message
    assert hits == []


def test_size_cap_is_413():
    assert refused(TTL, max_bytes=len(TTL) - 1).status == 413
    assert len(parse(TTL, max_bytes=len(TTL)).graph) == 2


def test_triple_cap_is_413():
    assert refused(TTL, max_triples=1).status == 413
    assert len(parse(TTL, max_triples=2).graph) == 2


def test_relative_iris_are_refused_rather_than_guessed():
    assert refused(b"<a> <b> <c> .").status == 400


def test_not_utf8_is_400_with_position():
    e = refused(b'<http://a> <http://b> "\xff" .')
    assert (e.status, e.line, e.column) == (400, 1, 24)


def test_empty_payload_is_400():
    assert refused(b"@prefix ex: <http://ex.org/> .").status == 400


def test_named_graphs_are_reported_not_merged():
    payload = parse(b"<http://a> <http://b> <http://c> <https://w3id.org/innograph/graph/ontology> .\n<http://a> <http://b> <http://d> .",
                    "application/n-quads")
    assert payload.graph_names == {"https://w3id.org/innograph/graph/ontology"}
    assert len(payload.graph) == 1


def test_blank_nodes_are_renamed():
    payload = parse(b"_:b1 <http://b> _:b1 .", "application/n-triples")
    (s, _p, o), = payload.graph
    assert isinstance(s, BNode) and s == o and str(s) != "b1"
