"""W3C SPARQL 1.1 query evaluation tests, run twice: on pyoxigraph directly and through /sparql.

Every ``mf:QueryEvaluationTest`` of ``../shared/conformance/rdf-tests/sparql/sparql11/*/manifest.ttl``
runs (1) on a fresh pyoxigraph ``Store`` holding its data (``qt:data`` in the default graph,
``qt:graphData`` as named graphs), and (2) as an HTTP request to the endpoint, over a store built
by the runtime's own loader from all tests' data. That store is a test artefact: each test's
default data sits in its own named graph, selected with the protocol's ``default-graph-uri`` /
``named-graph-uri`` (a query with its own FROM keeps its own dataset); nothing of it is reachable
in production. Both outcomes are compared with the expected ``.srx/.srj/.tsv/.ttl`` up to blank
node isomorphism (solutions as a multiset, via rdflib's graph isomorphism on the result-set
vocabulary). The endpoint must pass every test pyoxigraph passes: the protocol layer, the
executor and the serializers lose nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
import rdflib
from pyoxigraph import (
    BlankNode,
    NamedNode,
    QueryBoolean,
    QueryResultsFormat,
    QuerySolutions,
    RdfFormat,
    Store,
    parse,
    parse_query_results,
)
from rdflib.compare import isomorphic

from innograph.protocol import uses_service
from w3c import SPARQL11, conformance_missing

MF = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
QT = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-query#")
RS = rdflib.Namespace("http://www.w3.org/2001/sw/DataAccess/tests/result-set#")
XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"
ACCEPT = "application/sparql-results+json, application/n-triples;q=0.9"

pytestmark = pytest.mark.skipif(conformance_missing(), reason=conformance_missing() or "")


@dataclass(frozen=True)
class Case:
    id: str  # manifest folder / test name
    query: Path
    result: Path | None
    data: tuple[Path, ...] = ()
    graph_data: tuple[Path, ...] = ()

    @property
    def default_graph(self) -> str:
        """The named graph that holds this test's default data in the endpoint's store."""
        key = "|".join(str(p) for p in self.data)
        return "urn:x-innograph-w3c:default:" + hashlib.sha1(key.encode()).hexdigest()[:16]


def collect() -> list[Case]:
    cases = []
    for manifest in sorted(SPARQL11.glob("*/manifest.ttl")):
        graph = rdflib.Graph().parse(manifest, format="turtle")
        for test in graph.subjects(rdflib.RDF.type, MF.QueryEvaluationTest):
            action = graph.value(test, MF.action)
            result = graph.value(test, MF.result)
            cases.append(Case(
                id=f"{manifest.parent.name}/{str(test).rsplit('#', 1)[-1]}",
                query=_path(graph.value(action, QT.query)),
                result=_path(result) if result is not None else None,
                data=tuple(sorted(_path(d) for d in graph.objects(action, QT.data))),
                graph_data=tuple(sorted(_path(d) for d in graph.objects(action, QT.graphData))),
            ))
    return sorted(cases, key=lambda c: c.id)


def _path(iri: rdflib.term.Node) -> Path:
    return Path(str(iri).removeprefix("file://"))


CASES = [] if conformance_missing() else collect()


def test_collection_count():
    assert len(CASES) == 309


# -- normalised outcomes: a bool (ASK) or an rdflib Graph (solutions as rs:ResultSet, or triples)

def to_rdflib(term):
    if isinstance(term, NamedNode):
        return rdflib.URIRef(term.value)
    if isinstance(term, BlankNode):
        return rdflib.BNode(term.value)
    datatype = term.datatype.value
    if term.language:
        return rdflib.Literal(term.value, lang=term.language)
    return rdflib.Literal(term.value, datatype=None if datatype == XSD_STRING else rdflib.URIRef(datatype))


def result_set(variables: list[str], rows: list[dict]) -> rdflib.Graph:
    """Solutions as a graph in the DAWG result-set vocabulary (one blank node per row)."""
    graph, rs = rdflib.Graph(), rdflib.BNode()
    graph.add((rs, rdflib.RDF.type, RS.ResultSet))
    for var in variables:
        graph.add((rs, RS.resultVariable, rdflib.Literal(var)))
    for row in rows:
        solution = rdflib.BNode()
        graph.add((rs, RS.solution, solution))
        for var, value in row.items():
            binding = rdflib.BNode()
            graph.add((solution, RS.binding, binding))
            graph.add((binding, RS.variable, rdflib.Literal(var)))
            graph.add((binding, RS.value, _plain(value)))
    return graph


def _plain(term):
    """Literals compared as the W3C runners do: "x" and "x"^^xsd:string alike, numbers and
    booleans by value ("1.0" and "1" as xsd:decimal are the same value)."""
    if not isinstance(term, rdflib.Literal) or term.datatype is None:
        return term
    datatype = str(term.datatype)
    if datatype in (XSD_STRING, RDF_LANG_STRING):
        return rdflib.Literal(str(term), lang=term.language)
    value = term.toPython()
    if datatype in _CANONICAL and term.ill_typed is False and not isinstance(value, rdflib.Literal):
        return rdflib.Literal(_CANONICAL[datatype](value), datatype=term.datatype, normalize=False)
    return term


_XSD = "http://www.w3.org/2001/XMLSchema#"
_CANONICAL = {
    _XSD + "decimal": lambda v: f"{v.normalize():f}",
    _XSD + "integer": str,
    _XSD + "double": lambda v: repr(float(v)),
    _XSD + "float": lambda v: repr(float(v)),
    _XSD + "boolean": lambda v: "true" if v else "false",
}


def normalise(results):
    """A pyoxigraph result (direct or parsed back from HTTP) as a bool or an rdflib Graph."""
    if isinstance(results, QueryBoolean):
        return bool(results)
    if isinstance(results, QuerySolutions):
        variables = [v.value for v in results.variables]
        rows = [{v: _plain(to_rdflib(row[v])) for v in variables if row[v] is not None} for row in results]
        return Solutions(frozenset(variables), tuple(frozenset(row.items()) for row in rows))
    graph = rdflib.Graph()
    for triple in results:
        graph.add((to_rdflib(triple.subject), to_rdflib(triple.predicate), _plain(to_rdflib(triple.object))))
    return graph


def expected(case: Case):
    path = case.result
    if path.suffix in (".srx", ".srj", ".tsv"):
        return normalise(parse_query_results(path=path))
    graph = rdflib.Graph().parse(path, format="turtle" if path.suffix == ".ttl" else "xml", publicID=path.as_uri())
    rs = next(graph.subjects(rdflib.RDF.type, RS.ResultSet), None)
    if rs is None:
        plain = rdflib.Graph()
        for s, p, o in graph:
            plain.add((s, p, _plain(o)))
        return plain
    variables = [str(v) for v in graph.objects(rs, RS.resultVariable)]
    rows = [
        {str(graph.value(b, RS.variable)): _plain(graph.value(b, RS.value)) for b in graph.objects(solution, RS.binding)}
        for solution in graph.objects(rs, RS.solution)
    ]
    return Solutions(frozenset(variables), tuple(frozenset(row.items()) for row in rows))


@dataclass(frozen=True)
class Solutions:
    variables: frozenset[str]
    rows: tuple[frozenset, ...]  # each row: frozenset of (variable, rdflib term)

    def graph(self) -> rdflib.Graph:
        return result_set(sorted(self.variables), [dict(row) for row in self.rows])

    @property
    def has_blank_nodes(self) -> bool:
        return any(isinstance(term, rdflib.BNode) for row in self.rows for _, term in row)


def same(actual, wanted) -> bool:
    """Equal booleans; isomorphic graphs; solutions equal as multisets (up to blank node renaming)."""
    if isinstance(wanted, bool) or isinstance(actual, bool):
        return actual is wanted
    if isinstance(wanted, Solutions) != isinstance(actual, Solutions):
        return False
    if isinstance(wanted, Solutions):
        if actual.variables != wanted.variables or len(actual.rows) != len(wanted.rows):
            return False
        if not (actual.has_blank_nodes or wanted.has_blank_nodes):
            return Counter(actual.rows) == Counter(wanted.rows)
        return isomorphic(actual.graph(), wanted.graph())
    return isomorphic(actual, wanted)


# -- the two ways of running a test ----------------------------------------------------------

def _rdf_format(path: Path) -> RdfFormat:
    return RdfFormat.from_extension(path.suffix[1:]) or RdfFormat.TURTLE


def run_direct(case: Case):
    store = Store()
    for path in case.data:
        store.load(path=path, format=_rdf_format(path), base_iri=path.as_uri())
    for path in case.graph_data:
        store.load(path=path, format=_rdf_format(path), base_iri=path.as_uri(), to_graph=NamedNode(path.as_uri()))
    return normalise(store.query(case.query.read_text("utf-8"), base_iri=case.query.as_uri()))


_FROM = re.compile(r"\bFROM\b", re.IGNORECASE)


def endpoint_request(case: Case) -> tuple[str, list[tuple[str, str]]]:
    """The query text (its base made explicit) and the protocol's dataset parameters."""
    text = case.query.read_text("utf-8")
    params: list[tuple[str, str]] = []
    if not _FROM.search(text):
        params.append(("default-graph-uri", case.default_graph))
        params += [("named-graph-uri", p.as_uri()) for p in case.graph_data]
    return f"BASE <{case.query.as_uri()}>\n{text}", params


def run_endpoint(client, case: Case):
    query, params = endpoint_request(case)
    body = urlencode([("query", query), *params])
    response = client.post("/sparql", data=body, content_type="application/x-www-form-urlencoded", headers={"Accept": ACCEPT})
    if response.status_code != 200:
        raise AssertionError(f"{response.status_code}: {response.get_data(as_text=True)[:300]}")
    media_type = response.mimetype
    body = response.get_data()
    if media_type == "application/n-triples":
        return normalise(parse(body, format=RdfFormat.N_TRIPLES))
    return normalise(parse_query_results(body, format=QueryResultsFormat.from_media_type(media_type)))


def dataset_quads(cases: list[Case]) -> bytes:
    """All tests' data as N-Quads, each default dataset and each graphData file in its own graph."""
    out, seen = [], set()
    for case in cases:
        graphs = [(case.default_graph, path) for path in case.data] + [(p.as_uri(), p) for p in case.graph_data]
        for graph, path in graphs:
            if (graph, path) in seen:
                continue
            seen.add((graph, path))
            store = Store()
            store.load(path=path, format=_rdf_format(path), base_iri=path.as_uri(), to_graph=NamedNode(graph))
            out.append(store.dump(format=RdfFormat.N_QUADS))
    return b"".join(out)


def outcome(run, *args) -> tuple[bool, str]:
    try:
        return True, run(*args)
    except Exception as e:  # a failing test case, recorded with its reason
        return False, f"{type(e).__name__}: {e}"[:300]


# Tests the endpoint fails because of a known bug elsewhere; strict xfail: fixing it fails the test,
# so this list shrinks with the fixes.
KNOWN: dict[str, str] = {}


@pytest.fixture(scope="module")
def verdicts(sparql_app) -> dict[str, tuple[bool, bool, str]]:
    """For each test: (passes on pyoxigraph directly, passes through the endpoint, why not).
    Queries with SERVICE must be refused (403, ALLOW_SERVICE is off): that counts as passing."""
    client = sparql_app(dataset_quads(CASES)).test_client()
    verdicts = {}
    for case in CASES:
        wanted = expected(case)
        direct_ran, direct = outcome(run_direct, case)
        direct_ok = direct_ran and same(direct, wanted)
        if uses_service(case.query.read_text("utf-8")):
            status = client.get("/sparql", query_string={"query": case.query.read_text("utf-8")}).status_code
            verdicts[case.id] = (direct_ok, status == 403, f"SERVICE answered {status}, not 403")
            continue
        endpoint_ran, via = outcome(run_endpoint, client, case)
        endpoint_ok = endpoint_ran and same(via, wanted)
        why = "" if endpoint_ok else (via if not endpoint_ran else "results differ from the expected ones")
        verdicts[case.id] = (direct_ok, endpoint_ok, why)
    return verdicts


def test_endpoint_passes_whatever_pyoxigraph_passes(verdicts):
    services = {c.id for c in CASES if c.id.startswith("service/")}
    direct = {name for name, (ok, _, _) in verdicts.items() if ok} - services
    endpoint = {name for name, (_, ok, _) in verdicts.items() if ok} - services
    assert sorted(direct - endpoint) == sorted(KNOWN)
    assert (len(direct), len(endpoint)) == (249, 249 - len(KNOWN))
    assert all(verdicts[name][1] for name in services), "every SERVICE query is refused"
    assert len(services) == 7


@pytest.mark.parametrize("case", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=KNOWN[c.id])) if c.id in KNOWN else c
                                  for c in CASES], ids=lambda c: c.id)
def test_query_evaluation(case, verdicts):
    direct_ok, endpoint_ok, why = verdicts[case.id]
    if case.id.startswith("service/"):
        assert endpoint_ok, why  # refused: SERVICE is off
        return
    if not direct_ok:
        pytest.skip("pyoxigraph 0.5.13 itself does not pass this test")
    assert endpoint_ok, why
