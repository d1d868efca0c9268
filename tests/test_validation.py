"""innograph.validation: the report's content, lines, conformance rules, and no string to pySHACL."""

from __future__ import annotations

import json
from pathlib import Path

import pyshacl
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH

from innograph import validation
from innograph.neighbourhood import GraphSource
from innograph.rdfinput import format_for_media_type, parse_payload
from innograph.validation import Shapes, validate, validate_contribution, validate_files

FIXTURES = Path(__file__).parent / "fixtures" / "contrib"
INO = "https://w3id.org/innograph/ontology#"
ORG = "https://w3id.org/innograph/id/org/"
PREFIXES = b"""@prefix ino: <https://w3id.org/innograph/ontology#> .
@prefix org: <https://w3id.org/innograph/id/org/> .
@prefix pole: <https://w3id.org/innograph/id/pole/> .
"""


@pytest.fixture(scope="module")
def shapes() -> Shapes:
    return Shapes.from_paths([FIXTURES / "shapes" / "fixture.ttl"], [FIXTURES / "ontology" / "fixture.ttl"])


@pytest.fixture(scope="module")
def source() -> GraphSource:
    return GraphSource(Graph().parse(FIXTURES / "data" / "source" / "fixture.ttl").parse(FIXTURES / "ontology" / "fixture.ttl"))


def payload(body: bytes):
    return parse_payload(PREFIXES + body, format_for_media_type("text/turtle"), max_bytes=100_000, max_triples=1000)


def test_the_fixture_data_conforms(shapes):
    report = validate(Graph().parse(FIXTURES / "data" / "source" / "fixture.ttl"), shapes)
    assert report.conforms and report.results == ()


def test_a_result_has_focus_path_value_shape_messages_and_line(shapes, source):
    p = payload(b'org:new a ino:Company ;\n    ino:name "New" ;\n    ino:memberOf org:gsk .\n')
    report = validate_contribution(p.graph, source, shapes).with_lines(p.text, p.prefixes)
    assert not report.conforms
    (r,) = report.results
    assert r.focus == URIRef(ORG + "new")
    assert r.path == URIRef(INO + "memberOf")
    assert r.value == URIRef(ORG + "gsk")
    assert r.shape == URIRef("https://w3id.org/innograph/shapes#OrganisationShape-memberOf")
    assert r.component == SH.ClassConstraintComponent
    assert r.message("fr") == "ino:memberOf mène à un pôle ou cluster."
    assert r.message("en") == "ino:memberOf leads to a cluster."
    assert r.line == 6  # the 3 prefix lines, then the statement's third line
    d = r.as_dict()
    assert d["line"] == 6 and d["severity"] == "Violation" and d["message"]["fr"].startswith("ino:memberOf")


def test_sh_class_sees_the_type_of_a_node_in_the_store(shapes, source):
    p = payload(b'org:new a ino:Company ; ino:name "New" ; ino:memberOf pole:wagralim .')
    assert validate_contribution(p.graph, source, shapes).conforms


def test_a_contribution_can_break_an_existing_node(shapes, source):
    """A second name on an existing organisation violates its maxCount: the focus is in the store."""
    p = payload(b'org:ucb ino:name "UCB SA" .')
    report = validate_contribution(p.graph, source, shapes)
    assert not report.conforms
    assert {r.focus for r in report.results} == {URIRef(ORG + "ucb")}


def test_an_inverse_path_counts_the_store_members(shapes, source):
    """BioWin has 3 members in the store; 3 more exceed the fixture's maxCount 5 on ^memberOf."""
    body = b"".join(b'org:n%d a ino:Company ; ino:name "N%d" ; ino:memberOf pole:biowin .\n' % (i, i) for i in range(3))
    report = validate_contribution(payload(body).graph, source, shapes)
    assert not report.conforms
    assert {r.focus for r in report.results} == {URIRef("https://w3id.org/innograph/id/pole/biowin")}
    assert validate_contribution(payload(body.split(b"\n")[0]).graph, source, shapes).conforms


def test_the_report_graph_keeps_only_the_judged_focus_nodes(shapes, source):
    p = payload(b'org:ucb ino:name "UCB SA" .')
    report = validate_contribution(p.graph, source, shapes)
    foci = set(report.graph.objects(None, SH.focusNode))
    assert foci == {URIRef(ORG + "ucb")}
    assert (None, SH.conforms, Literal(False)) in report.graph


def test_warnings_do_not_block_a_contribution_but_are_reported():
    shapes_graph = Graph().parse(data="""
        @prefix sh: <http://www.w3.org/ns/shacl#> . @prefix ino: <https://w3id.org/innograph/ontology#> .
        ino:S a sh:NodeShape ; sh:targetClass ino:Company ;
            sh:property [ sh:path ino:website ; sh:minCount 1 ; sh:severity sh:Warning ] .""", format="turtle")
    shapes = Shapes(shapes_graph)
    p = payload(b'org:x a ino:Company .')
    report = validate_contribution(p.graph, GraphSource(Graph()), shapes, allow_warnings=True)
    assert report.conforms and len(report.results) == 1 and report.results[0].severity == SH.Warning
    assert not validate(p.graph, shapes).conforms


@pytest.mark.parametrize("not_a_graph", ["http://127.0.0.1:9/data.ttl", "/etc/passwd", b"<a> <b> <c> ."])
def test_validate_refuses_anything_but_a_graph(shapes, not_a_graph):
    with pytest.raises(TypeError):
        validate(not_a_graph, shapes)


def test_pyshacl_is_only_ever_handed_graphs(shapes, source, monkeypatch):
    seen = []
    real = pyshacl.validate

    def spy(data_graph, *args, **kwargs):
        seen.append((type(data_graph), type(kwargs.get("shacl_graph")), type(kwargs.get("ont_graph"))))
        return real(data_graph, *args, **kwargs)

    monkeypatch.setattr(validation.pyshacl, "validate", spy)
    validate_contribution(payload(b'org:ucb ino:name "UCB SA" .').graph, source, shapes)
    validate(Graph().parse(FIXTURES / "data" / "source" / "fixture.ttl"), shapes)
    assert seen and all(issubclass(d, Graph) and s is Graph and o in (Graph, type(None)) for d, s, o in seen)


def test_validate_files_unions_the_files(shapes, tmp_path):
    good = tmp_path / "good.ttl"
    good.write_bytes(PREFIXES + b'org:a a ino:Company ; ino:name "A" .')
    bad = tmp_path / "bad.nt"
    bad.write_bytes(b"<https://w3id.org/innograph/id/org/b> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://w3id.org/innograph/ontology#Company> .\n")
    assert validate_files([good], shapes, max_bytes=10_000, max_triples=100).conforms
    report = validate_files([good, bad], shapes, max_bytes=10_000, max_triples=100)
    assert not report.conforms and {r.focus for r in report.results} == {URIRef(ORG + "b")}


def test_report_as_dict_is_json_ready(shapes, source):
    report = validate_contribution(payload(b'org:ucb ino:name "UCB SA" .').graph, source, shapes)
    d = report.as_dict()
    assert d["conforms"] is False and d["results"][0]["focusNode"] == ORG + "ucb"
    assert d["results"][0]["value"] is None  # sh:maxCount names no single value
    assert json.loads(json.dumps(d)) == d


@pytest.mark.parametrize("body,code", [(PREFIXES + b'org:a a ino:Company ; ino:name "A" .', 0), (PREFIXES + b"org:b a ino:Company .", 1), (b"not rdf", 2)])
def test_the_validate_command_exit_codes(tmp_path, monkeypatch, body, code):
    from click.testing import CliRunner

    from innograph.cli import main

    monkeypatch.setenv("INNOGRAPH_REPO_DIR", str(FIXTURES))
    f = tmp_path / "c.ttl"
    f.write_bytes(body)
    assert CliRunner().invoke(main, ["validate", str(f)]).exit_code == code


def test_the_token_create_command_prints_once_and_stores_the_hash(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from innograph import tokens
    from innograph.cli import main

    monkeypatch.setenv("INNOGRAPH_TOKENS", str(tmp_path / "tokens"))
    result = CliRunner().invoke(main, ["token", "create", "Bob", "--role", "contributor"])
    token = result.stdout.strip().splitlines()[0]
    assert result.exit_code == 0 and tokens.Tokens(tmp_path / "tokens").holder(token).role == "contributor"
    assert token not in (tmp_path / "tokens").read_text()


def test_concept_values_are_checked_against_the_concept_schemes(tmp_path):
    """Regression: pySHACL's ont_graph mixing drops the concept schemes, so a valid sector was rejected."""
    repo = Path(__file__).resolve().parents[1]
    real = Shapes.from_paths(sorted((repo / "shapes").glob("*.ttl")), sorted((repo / "ontology").glob("*.ttl")))
    company = tmp_path / "company.ttl"
    company.write_text(
        "@prefix ino: <https://w3id.org/innograph/ontology#> . @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
        "<https://w3id.org/innograph/id/organisation/acme> a ino:Company ; rdfs:label \"Acme\"@fr, \"Acme\"@en ;\n"
        "  ino:sector <https://w3id.org/innograph/id/sector/health> .\n",
        encoding="utf-8",
    )
    assert validate_files([company], real, max_bytes=10_000, max_triples=100).conforms
