"""The executors: timeouts that really stop a query, the row cap, writes seen by later queries.

The ``query_service`` fixture (conftest.py) is a real fork server with two executors on the
minirepo fixture, QUERY_TIMEOUT 1.5 s.
"""

from __future__ import annotations

import csv
import io
import json
import os
import threading
import time

import pytest
from pyoxigraph import NamedNode, QueryResultsFormat, RdfFormat, parse, parse_query_results

from conftest import MINIREPO
from innograph.executor import Job, QueryError, QueryTimeout

G = "https://w3id.org/innograph/graph/"
ID = "https://w3id.org/innograph/id/"
INO = "https://w3id.org/innograph/ontology#"
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i . ?j ?k ?l . ?m ?n2 ?o . ?p ?q ?r }"


def _gone(pid: int, within: float = 5.0) -> bool:
    """Whether ``pid`` is gone (or a zombie, which uses no CPU either) within ``within`` seconds:
    the pool kills at once and reaps in a thread of its own."""
    deadline = time.monotonic() + within
    while True:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                if stat.read().split(") ")[1][0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def test_runaway_query_is_killed_while_other_queries_are_answered(query_service):
    query_service.query("ASK {}")  # an executor is up
    failure: list[BaseException] = []
    started = time.monotonic()

    def runaway() -> None:
        try:
            query_service.query(RUNAWAY)
        except BaseException as error:  # noqa: BLE001 - inspected below
            failure.append(error)

    thread = threading.Thread(target=runaway)
    thread.start()
    time.sleep(0.3)
    cheap_started = time.monotonic()
    answer = json.loads(query_service.query(f"SELECT ?n {{ <{ID}cluster/infopole> schema:name ?n }}"))
    cheap_seconds = time.monotonic() - cheap_started
    thread.join(10)
    elapsed = time.monotonic() - started
    assert {b["n"]["value"] for b in answer["results"]["bindings"]} == {"Infopôle", "Infopole Cluster TIC"}
    assert cheap_seconds < 1.0  # answered while the runaway query was still running
    assert len(failure) == 1 and isinstance(failure[0], QueryTimeout)
    assert failure[0].reason == "timeout" and failure[0].pid
    assert 1.5 <= elapsed < 4.0
    assert _gone(failure[0].pid)  # its CPU is free: the process is gone
    assert json.loads(query_service.query("ASK { ?s ?p ?o }"))["boolean"] is True  # replaced


def test_a_long_query_is_demoted_to_idle_priority(mini_store):
    """Once a query has used more CPU than the pool's threshold, its executor runs under
    SCHED_IDLE at nice 19 (any other query's process preempts it at once); the others stay
    normal. The CPU counted is user time only: copying pages after a fork is not the query's.
    Its own service with a long QUERY_TIMEOUT: on a loaded machine the runaway may take a while
    to use its first 0.05 s of CPU, and must not be killed before it is looked at."""
    from innograph.executor import QueryService
    from innograph.namespaces import PREFIXES

    service = QueryService({"STORE": mini_store, "REPO_DIR": MINIREPO, "WORKERS": 2, "QUERY_TIMEOUT": 20.0, "MAX_ROWS": 1000},
                           prefixes=PREFIXES)
    outcome: list[BaseException] = []
    try:
        service.wait_ready(60)
        service.query("ASK {}")
        thread = threading.Thread(target=lambda: outcome.append(pytest.raises(QueryError, service.query, RUNAWAY).value))
        thread.start()
        deadline, long = time.monotonic() + 15, []
        while not long and time.monotonic() < deadline:
            time.sleep(0.02)
            long = [e for e in list(service.pool._all) if e.long]
        assert len(long) == 1, "the runaway was not marked long"
        assert os.sched_getscheduler(long[0].pid) == os.SCHED_IDLE
        assert os.getpriority(os.PRIO_PROCESS, long[0].pid) == 19
        assert all(os.sched_getscheduler(e.pid) == os.SCHED_OTHER for e in list(service.pool._all) if not e.long)
    finally:
        service.close()  # kills the runaway: its query ends with an error
        thread.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], QueryError)


def test_a_query_that_ended_its_process_is_not_run_again_on_the_same_data(query_service):
    """10,000 chained additions overflow the stack of pyoxigraph's recursive parser (the process
    dies; no bracket to count). The first try is answered "unavailable" and costs one executor;
    the same query again is refused at once ("syntax", a 400) instead of killing the next one,
    until the data changes; other queries are served throughout."""
    crashing = "ASK { FILTER(" + "+".join(["1"] * 10000) + " > 0) }"
    query_service.query("ASK {}")
    with pytest.raises(QueryError) as first:
        query_service.query(crashing)
    assert first.value.reason == "unavailable"
    assert json.loads(query_service.query("ASK { ?s ?p ?o }"))["boolean"] is True
    executors = {e.pid for e in list(query_service.pool._all)}
    with pytest.raises(QueryError) as again:
        query_service.query(crashing)
    assert again.value.reason == "syntax" and "ended its query process when it last ran on this data" in again.value.message
    assert {e.pid for e in list(query_service.pool._all)} == executors  # no executor died this time
    assert json.loads(query_service.query("ASK { ?s ?p ?o }"))["boolean"] is True
    query_service.apply_write([{"op": "add", "data": "<https://example.org/a> <https://example.org/b> <https://example.org/c> <https://example.org/g> .\n"}])
    with pytest.raises(QueryError) as after_write:
        query_service.query(crashing)
    assert after_write.value.reason == "unavailable"  # new data: tried again (and it still dies)


@pytest.mark.parametrize("fmt", ["json", "xml", "csv", "tsv"])
def test_row_cap_truncates_and_keeps_a_valid_document(query_service, fmt):
    job = Job("SELECT ?s ?p ?o { ?s ?p ?o } ORDER BY ?s ?p ?o", format=fmt, max_rows=3)
    capped = query_service.run(job)
    assert capped.truncated and capped.rows == 3
    body = capped.body()
    if fmt == "csv":
        assert len(list(csv.reader(io.StringIO(body.decode())))) == 1 + 3
    else:
        rows = list(parse_query_results(body, format=QueryResultsFormat.from_extension(fmt)))
        full = list(parse_query_results(query_service.query(job.query, format=fmt), format=QueryResultsFormat.from_extension(fmt)))
        assert [list(r) for r in rows] == [list(r) for r in full[:3]]  # the first rows, in order
    whole = query_service.run(Job("SELECT ?s { ?s a ino:Cluster }", format=fmt, max_rows=3))
    assert not whole.truncated and whole.rows == 1


def test_row_cap_is_exact_when_literals_look_like_row_separators(query_service):
    """JSON rows are counted by '},{', an over-count for such literals: the exact path decides."""
    query = 'SELECT ?x { VALUES ?x { "},{\\"a\\"},{},{" "},{},{},{" } }'
    outcome = query_service.run(Job(query, format="json", max_rows=2))
    assert not outcome.truncated and outcome.rows == 2
    values = [b["x"]["value"] for b in json.loads(outcome.body())["results"]["bindings"]]
    assert values == ['},{"a"},{},{', "},{},{},{"]


def test_graph_results_are_capped_too(query_service):
    outcome = query_service.run(Job("CONSTRUCT WHERE { ?s ?p ?o }", accept="application/n-triples", max_rows=4))
    assert outcome.kind == "triples" and outcome.media_type == "application/n-triples"
    assert outcome.truncated and outcome.rows == 4
    assert len(list(parse(outcome.body(), format=RdfFormat.N_TRIPLES))) == 4


def test_default_graph_is_the_union_unless_the_protocol_names_graphs(query_service):
    names = f"SELECT ?n {{ <{ID}cluster/infopole> ino:name ?n }}"
    union = json.loads(query_service.query(names))["results"]["bindings"]
    assert {b["n"]["value"] for b in union} == {"Infopôle", "Infopole Cluster TIC"}
    alpha = json.loads(query_service.query(names, default_graph_uris=(G + "source/alpha",)))["results"]["bindings"]
    assert [b["n"]["value"] for b in alpha] == ["Infopôle"]
    graphs = json.loads(query_service.query("SELECT ?g { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g",
                                            named_graph_uris=(G + "source/beta", G + "meta")))["results"]["bindings"]
    assert [b["g"]["value"] for b in graphs] == [G + "meta", G + "source/beta"]


def test_negotiation_kinds_and_errors(query_service):
    ask = query_service.run(Job("ASK { ?s a org:Organization }", accept="text/csv"))
    assert (ask.kind, ask.media_type, ask.body()) == ("boolean", "text/csv; charset=utf-8", b"true")
    with pytest.raises(QueryError) as refused:
        query_service.run(Job("CONSTRUCT WHERE { ?s ?p ?o }", accept="application/sparql-results+json"))
    assert refused.value.reason == "not-acceptable" and refused.value.kind == "triples"
    with pytest.raises(QueryError) as syntax:
        query_service.run(Job("SELECT ?s WHERE { ?s ?p }"))
    assert syntax.value.reason == "syntax" and "1:" in syntax.value.message


def test_terms_and_graph_helpers_bind_values(query_service):
    kind, (names, rows), truncated = query_service.terms("SELECT ?s ?n { ?s ino:name ?n }", {"s": NamedNode(ID + "cluster/infopole")})
    assert kind == "solutions" and names == ["s", "n"] and not truncated
    assert sorted(row[1].value for row in rows) == ["Infopole Cluster TIC", "Infopôle"]
    turtle = query_service.graph("DESCRIBE ?s", {"s": NamedNode(ID + "organisation/acme")}, prefixes={"ino": INO})
    assert b"@prefix ino:" in turtle and b"ino:memberOf" in turtle


def test_writes_are_seen_by_later_queries_and_retractions_too(query_service):
    ask = f"ASK {{ <{ID}cluster/new> a org:Organization }}"  # only true through graph/inferred
    assert json.loads(query_service.query(ask))["boolean"] is False
    generation = query_service.apply_write([{"op": "put_graph", "graph": G + "contribution/n1", "data": f"<{ID}cluster/new> a <{INO}Cluster> ."}],
                                           contributor="test")
    assert generation == 1
    assert json.loads(query_service.query(ask))["boolean"] is True
    query_service.apply_write([{"op": "drop_graph", "graph": G + "contribution/n1"}])
    assert json.loads(query_service.query(ask))["boolean"] is False
    query_service.describe_now()  # the deferred graph/void refresh would otherwise bump the generation meanwhile
    before = query_service.status()["generation"]
    with pytest.raises(ValueError):
        query_service.apply_write([{"op": "put_graph", "graph": G + "contribution/bad", "data": "not turtle"}])
    assert query_service.status()["generation"] == before  # the invalid write was never applied


def test_graph_void_follows_writes_once_they_are_quiet(query_service):
    """A write answers without recounting the dataset; graph/void catches up a moment later."""
    count = f"""SELECT ?n WHERE {{ GRAPH <{G}void> {{ ?d <http://rdfs.org/ns/void#sparqlEndpoint> ?e ;
                                  <http://rdfs.org/ns/void#triples> ?n }} }}"""

    def triples() -> int:
        return int(json.loads(query_service.query(count))["results"]["bindings"][0]["n"]["value"])

    before = triples()
    query_service.apply_write([{"op": "put_graph", "graph": G + "contribution/v1",
                                "data": f"<{ID}cluster/v1> <{INO}name> \"v1\" . <{ID}cluster/v2> <{INO}name> \"v2\" ."}])
    deadline = time.monotonic() + 30
    while triples() == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert triples() >= before + 2
    query_service.apply_write([{"op": "drop_graph", "graph": G + "contribution/v1"}])
    query_service.describe_now()
    assert triples() == before


def test_many_queries_quickly(query_service):
    """Many queries through one service: no process start per query (measured overhead of the
    round trip ~0.2 ms on an idle machine; the bound leaves room for a loaded CI machine)."""
    query = f"SELECT ?n {{ <{ID}cluster/infopole> ino:name ?n }}"
    query_service.query(query)
    started = time.perf_counter()
    for _ in range(200):
        query_service.query(query)
    assert (time.perf_counter() - started) / 200 < 0.05


def test_close_leaves_no_process(mini_store):
    from innograph.executor import QueryService

    service = QueryService({"STORE": mini_store, "WORKERS": 2, "QUERY_TIMEOUT": 5})
    results = []
    threads = [threading.Thread(target=lambda: results.append(service.query("ASK {}"))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pids = service.status()["executors"] + [service.pool.process.pid]
    assert len(pids) == 3 and len(results) == 2
    service.close()
    time.sleep(0.2)
    assert all(_gone(pid) for pid in pids)


def test_export_writes_a_dump_in_an_executor(query_service, tmp_path):
    size = query_service.export("innograph.nq", str(tmp_path / "all.nq"))
    quads = list(parse(path=str(tmp_path / "all.nq"), format=RdfFormat.N_QUADS))
    assert size == (tmp_path / "all.nq").stat().st_size and len(quads) == sum(query_service.info["graphs"].values())
    with pytest.raises(QueryError) as unknown:
        query_service.export("innograph.docx", str(tmp_path / "x"))
    assert unknown.value.reason == "evaluation"


def test_a_query_that_allocates_without_bound_fails_alone(mini_store):
    from innograph.executor import QueryService

    service = QueryService({"STORE": mini_store, "WORKERS": 1, "QUERY_TIMEOUT": 20, "EXECUTOR_MEMORY": 300 << 20})
    doubling = " ".join(f"BIND(CONCAT(?s{i}, ?s{i}) AS ?s{i + 1})" for i in range(40))  # 16 B * 2^40
    try:
        with pytest.raises(QueryError) as failed:
            service.query(f'SELECT (STRLEN(?s40) AS ?n) {{ BIND("xxxxxxxxxxxxxxxx" AS ?s0) {doubling} }}')
        assert failed.value.reason == "unavailable" and "memory" in failed.value.message
        assert json.loads(service.query("ASK {}"))["boolean"] is True  # a new executor answers
    finally:
        service.close()
