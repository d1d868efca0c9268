"""The store: loading (one graph per source, idempotent), inference, the journal, durability.

Everything runs on real pyoxigraph stores and real processes (the kill -9 test), no mocks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from pyoxigraph import CanonicalizationAlgorithm, Dataset, NamedNode, Store

from innograph import inference, journal, loader, store
from innograph.executor import QueryService

from conftest import MINIREPO

G = "https://w3id.org/innograph/graph/"
ID = "https://w3id.org/innograph/id/"
INO = "https://w3id.org/innograph/ontology#"
ORG = "http://www.w3.org/ns/org#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


def quads(store_dir) -> set[str]:
    """The dataset as a set of N-Quads lines, blank nodes canonically labelled (RDFC-1.0: the
    parser gives them fresh labels on every load, graph/void has some)."""
    dataset = Dataset(store.open_for_queries(store_dir))
    dataset.canonicalize(CanonicalizationAlgorithm.RDFC_1_0)
    return {str(q) for q in dataset}


def has(st: Store, s: str, p: str, o: str, graph: str | None = None) -> bool:
    g = NamedNode(graph) if graph else None
    return any(True for _ in st.quads_for_pattern(NamedNode(s), NamedNode(p), NamedNode(o), g))


def test_load_is_idempotent(mini_store):
    first = quads(mini_store)
    manifest = loader.load(mini_store, MINIREPO)
    assert quads(mini_store) == first
    assert sum(manifest["graphs"].values()) == len(first)
    assert len(list(mini_store.glob("db-*"))) == 1  # the previous database is gone


def test_one_named_graph_per_source_file(mini_store):
    counts = store.StorePaths(mini_store).manifest()["graphs"]
    assert set(counts) == {G + "ontology", G + "shapes", G + "meta", G + "source/alpha", G + "source/beta", G + "inferred", G + "void"}
    assert "" not in counts  # nothing in the default graph: it is the union at query time
    st = store.open_for_queries(mini_store)
    assert has(st, ID + "cluster/infopole", RDF_TYPE, INO + "Cluster", G + "source/alpha")
    assert not has(st, ID + "cluster/infopole", RDF_TYPE, INO + "Cluster", G + "source/beta")
    assert counts[G + "source/beta"] == 1
    titles = {q.subject.value: q.object.value for q in st.quads_for_pattern(None, NamedNode("http://purl.org/dc/terms/title"), None, NamedNode(G + "meta"))}
    assert titles[G + "source/alpha"] == "Alpha" and titles[G + "source/beta"] == "Beta"  # data/meta.ttl -> graph/meta


def test_inferred_graph_holds_the_alignments_entailments(mini_store):
    st = store.open_for_queries(mini_store)
    inferred = G + "inferred"
    # subClassOf, transitively: Cluster < InnovationNetwork < OrganizationalCollaboration < Organization
    for cls in (INO + "InnovationNetwork", ORG + "OrganizationalCollaboration", ORG + "Organization"):
        assert has(st, ID + "cluster/infopole", RDF_TYPE, cls, inferred)
    # equivalentClass, both ways
    assert has(st, ID + "organisation/acme", RDF_TYPE, "http://xmlns.com/foaf/0.1/Organization", inferred)
    # subPropertyOf, then inverseOf of the super-property
    assert has(st, ID + "organisation/acme", ORG + "memberOf", ID + "cluster/infopole", inferred)
    assert has(st, ID + "cluster/infopole", ORG + "hasMember", ID + "organisation/acme", inferred)
    # equivalentProperty: both sources' names are reachable as schema:name
    names = {q.object.value for q in st.quads_for_pattern(NamedNode(ID + "cluster/infopole"), NamedNode("http://schema.org/name"), None, NamedNode(inferred))}
    assert names == {"Infopôle", "Infopole Cluster TIC"}
    # nothing already stated is repeated in graph/inferred
    assert not has(st, ID + "cluster/infopole", RDF_TYPE, INO + "Cluster", inferred)


def test_inference_extend_equals_rebuild(mini_store):
    """A contribution's entailments added incrementally are those a full rebuild finds."""
    st = store.open_for_queries(mini_store)
    store.apply_write(st, [{"op": "put_graph", "graph": G + "contribution/c1",
                            "data": f"<{ID}cluster/x> a <{INO}Cluster> ; <{INO}memberOf> <{ID}cluster/infopole> ."}])
    incremental = set(store.quads_in(st, G + "inferred"))
    inference.rebuild(st)
    assert set(store.quads_in(st, G + "inferred")) == incremental
    assert has(st, ID + "cluster/infopole", ORG + "hasMember", ID + "cluster/x", G + "inferred")


def test_load_files_each_into_its_own_graph(tmp_path, mini_store):
    (tmp_path / "people.nt").write_text(f"<{ID}person/a> <http://xmlns.com/foaf/0.1/name> \"A\" .\n")
    (tmp_path / "more.trig").write_text(f"<{G}source/gamma> {{ <{ID}person/b> <http://xmlns.com/foaf/0.1/name> \"B\" . }}\n")
    manifest = loader.load(mini_store, files=[tmp_path / "people.nt", tmp_path / "more.trig"])
    assert manifest["graphs"][G + "file/people"] == 1
    assert manifest["graphs"][G + "source/gamma"] == 1  # TriG keeps its graphs
    assert manifest["graphs"][G + "source/alpha"] == 4  # what was there stays
    again = loader.load(mini_store, files=[tmp_path / "people.nt"])
    assert again["graphs"] == manifest["graphs"]


def test_load_reports_syntax_errors_with_the_file(tmp_path):
    repo = tmp_path / "repo"
    (repo / "data").mkdir(parents=True)
    (repo / "data" / "broken.ttl").write_text("<a> <b> .\n")
    with pytest.raises(SyntaxError, match="broken.ttl"):
        loader.load(tmp_path / "store", repo)
    assert store.StorePaths(tmp_path / "store").manifest() is None  # nothing half-built became current


def test_disk_mode_serves_the_same_dataset(tmp_path):
    loader.load(tmp_path / "store", MINIREPO, mode="disk")
    service = QueryService({"STORE": tmp_path / "store", "STORE_MODE": "disk", "WORKERS": 1, "QUERY_TIMEOUT": 10})
    try:
        ask = f"ASK {{ <{ID}cluster/infopole> a <{ORG}Organization> }}"
        assert json.loads(service.query(ask))["boolean"] is True
        service.apply_write([{"op": "put_graph", "graph": G + "contribution/d1", "data": f"<{ID}cluster/d> a <{INO}Cluster> ."}])
        assert json.loads(service.query(f"ASK {{ <{ID}cluster/d> a <{ORG}Organization> }}"))["boolean"] is True
    finally:
        service.close()


# -- the journal ---------------------------------------------------------------------------------


def test_journal_ignores_a_torn_tail_and_cuts_it_before_appending(tmp_path):
    path = tmp_path / "journal"
    writer = journal.Journal(path)
    writer.append({"id": "1", "ops": []})
    writer.append({"id": "2", "ops": []})
    writer.close()
    whole = path.read_bytes()
    with open(path, "ab") as out:
        out.write(journal.encode({"id": "3", "ops": []})[:-5])  # a crash in the middle of record 3
    assert [r["id"] for r in journal.read(path)] == ["1", "2"]
    writer = journal.Journal(path)
    assert path.read_bytes() == whole  # the torn tail is cut
    writer.append({"id": "4", "ops": []})
    writer.close()
    assert [r["id"] for r in journal.read(path)] == ["1", "2", "4"]


def test_journal_stops_at_a_record_whose_checksum_fails(tmp_path):
    path = tmp_path / "journal"
    path.write_bytes(journal.encode({"id": "1"}) + journal.encode({"id": "2"}).replace(b'"2"', b'"X"'))
    assert [r["id"] for r in journal.read(path)] == ["1"]


def test_journal_has_one_writer(tmp_path):
    first = journal.Journal(tmp_path / "journal")
    with pytest.raises(RuntimeError, match="another innograph process"):
        journal.Journal(tmp_path / "journal")
    first.close()


WRITER = """
import sys
from innograph.executor import QueryService
service = QueryService({"STORE": sys.argv[1], "WORKERS": 1, "QUERY_TIMEOUT": 30})
payload = "".join(f"<https://w3id.org/innograph/id/thing/t{i}> <http://schema.org/name> \\"%s\\" .\\n" % ("x" * 300) for i in range(2000))
for n in range(1000):
    service.apply_write([{"op": "put_graph", "graph": f"https://w3id.org/innograph/graph/contribution/c{n}", "data": payload}])
    print(n, flush=True)
"""


@pytest.mark.slow
def test_kill_9_mid_write_keeps_every_acknowledged_write_and_no_partial_one(mini_store):
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(mini_store)], stdout=subprocess.PIPE, text=True)
    acknowledged = []
    deadline = time.monotonic() + 60
    while len(acknowledged) < 5 and time.monotonic() < deadline:
        acknowledged.append(int(proc.stdout.readline()))
    time.sleep(0.037)  # somewhere in the middle of the next write
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(acknowledged) == 5
    records = journal.read(mini_store / "journal")
    assert len(records) >= len(acknowledged)  # the last write may be whole but unacknowledged
    counts = store.graph_counts(store.open_for_queries(mini_store))
    written = {g: n for g, n in counts.items() if "/contribution/" in g}
    assert {G + f"contribution/c{n}" for n in acknowledged} <= set(written)
    assert set(written.values()) == {2000}  # each write entirely or not at all
    assert len(written) == len(records)
    for _ in range(300):  # the fork server notices once it finishes the write it was applying
        leftovers = subprocess.run(["pgrep", "-f", f"innograph.worker .*{mini_store}"], capture_output=True, text=True).stdout
        if not leftovers:
            break
        time.sleep(0.1)
    assert leftovers == ""  # the fork server noticed its web process died and stopped
    # A single write() is not torn by kill -9, a power cut can tear it: the restart ignores such a tail.
    with open(mini_store / "journal", "ab") as out:
        out.write(journal.encode({"id": "torn", "ops": [{"op": "drop_graph", "graph": G + "source/alpha"}]})[:-3])
    service = QueryService({"STORE": mini_store, "WORKERS": 1, "QUERY_TIMEOUT": 30})
    try:
        service.apply_write([{"op": "drop_graph", "graph": G + "contribution/c0"}])
        names = json.loads(service.query(f"SELECT ?g {{ GRAPH ?g {{ ?s ?p ?o }} }} GROUP BY ?g"))["results"]["bindings"]
    finally:
        service.close()
    graphs = {b["g"]["value"] for b in names}
    assert G + "source/alpha" in graphs and G + "contribution/c0" not in graphs
    assert [r["id"] for r in journal.read(mini_store / "journal")][:-1] == [r["id"] for r in records]


def test_load_keeps_accepted_writes(query_service, mini_store):
    query_service.apply_write([{"op": "put_graph", "graph": G + "contribution/kept", "data": f"<{ID}cluster/k> a <{INO}Cluster> ."}])
    manifest = loader.load(mini_store, MINIREPO)
    assert manifest["graphs"][G + "contribution/kept"] == 1
    assert manifest["journal_applied"] == 1
    assert has(store.open_for_queries(mini_store), ID + "cluster/k", RDF_TYPE, ORG + "Organization", G + "inferred")
    assert os.path.getsize(mini_store / "journal") > 0
