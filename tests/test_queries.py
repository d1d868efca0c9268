"""The researcher queries (queries/*.rq) against their expected results (tests/expected/*.srj).

STYLE.md P10: each query runs on a store built the way ``innograph load`` builds it (ontology,
shapes, data graphs, graph/inferred), with the union of the graphs as default graph, and its
results are compared with the SPARQL JSON file of the same name as a multiset of bindings (as a
list when the query has ORDER BY), blank nodes being equal to any blank node. The collection
asserts its own count (at least the twenty competency questions of research/seed-facts.md §5).

Headers are read with the query UI's own parser (innograph.catalogue). Queries marked
``# vocab: standard`` use no ``ino:`` term and must return nothing without graph/inferred: they
answer through the ontology's alignments to W3C ORG, schema.org, FOAF, SKOS, PROV and Dublin Core.

Regenerate an expected file after a reviewed change:
``innograph query queries/NAME.rq --format json > tests/expected/NAME.srj``.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
from pyoxigraph import NamedNode, QueryResultsFormat, Store

from innograph import catalogue, loader, namespaces
from innograph.store import open_for_queries

ROOT = Path(__file__).resolve().parents[1]
QUERIES = sorted((ROOT / "queries").glob("*.rq"))
EXPECTED = Path(__file__).resolve().parent / "expected"
SEEDS = {"000", "001", "002", "003", "004"}
INFERRED = NamedNode(namespaces.graph_iri("inferred"))
STANDARD_PREFIXES = set(namespaces.STANDARD_VOCABULARIES)


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Store:
    """The store ``innograph load`` builds from the repository (ontology, shapes, data, then
    graph/inferred and graph/void), opened as ``innograph serve`` opens it."""
    root = tmp_path_factory.mktemp("queries-store")
    loader.load(root, ROOT)
    return open_for_queries(root, "memory")


def run(store: Store, text: str) -> dict:
    result = store.query(text, use_default_graph_as_union=True)
    return json.loads(result.serialize(format=QueryResultsFormat.JSON))


def body(text: str) -> str:
    """The query without its comment lines (the header)."""
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


def is_ordered(text: str) -> bool:
    return re.search(r"\bORDER\s+BY\b", body(text), flags=re.IGNORECASE) is not None


def normalized(binding: dict) -> tuple:
    """A binding as a hashable value; every blank node is the same ``_:``."""
    items = []
    for var, term in sorted(binding.items()):
        term = dict(term)
        if term.get("type") == "bnode":
            term["value"] = "_:"
        items.append((var, tuple(sorted(term.items()))))
    return tuple(items)


def test_the_competency_questions_are_all_there():
    names = [q.stem for q in QUERIES]
    assert len(QUERIES) >= 20
    for number in range(1, 21):
        assert any(name.startswith(f"cq{number:02d}-") for name in names), f"competency question {number} has no query"
    assert sorted(p.stem for p in EXPECTED.glob("*.srj")) == names, "one expected .srj per query, no stray ones"


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_header(path: Path):
    text = path.read_text(encoding="utf-8")
    example = catalogue.parse_example(path.stem, text)
    for lang in ("fr", "en"):
        assert example.title.get(lang), f"title@{lang}"
        assert example.description.get(lang), f"description@{lang}"
    assert example.seeds and set(example.seeds) <= SEEDS, example.seeds
    assert set(example.fields) <= {"vocab"}, f"unknown header keys {set(example.fields)}"
    assert example.fields.get("vocab", "standard") == "standard"
    prefixes = re.findall(r"^PREFIX\s+([\w-]*):\s*<([^>]+)>", body(text), flags=re.MULTILINE)
    used = set(re.findall(r"(?<![\w<])([A-Za-z][\w-]*):[A-Za-z_]", re.sub(r"<[^>]*>|\"[^\"]*\"", "", body(text))))
    assert used <= {p for p, _ in prefixes}, f"prefixes used without a PREFIX line: {used - {p for p, _ in prefixes}}"


def standard_queries() -> list[Path]:
    return [q for q in QUERIES if catalogue.parse_example(q.stem, q.read_text("utf-8")).fields.get("vocab") == "standard"]


def test_at_least_five_queries_use_standard_vocabulary_only():
    assert len(standard_queries()) >= 5


@pytest.mark.parametrize("path", standard_queries(), ids=lambda p: p.stem)
def test_standard_vocabulary_query(path: Path, store: Store):
    """Only standard namespaces (and our things' IRIs), and the answer needs graph/inferred."""
    text = body(path.read_text(encoding="utf-8"))
    for _, iri in re.findall(r"^PREFIX\s+([\w-]*):\s*<([^>]+)>", text, flags=re.MULTILINE):
        assert iri in STANDARD_PREFIXES, iri
    assert str(namespaces.INO) not in text
    for iri in re.findall(r"<([^>]+)>", text):
        assert iri.startswith(str(namespaces.ID)) or any(iri.startswith(ns) for ns in STANDARD_PREFIXES), iri
    without = Store()
    for quad in store.quads_for_pattern(None, None, None, None):
        if quad.graph_name != INFERRED:
            without.add(quad)
    with_inferred = [normalized(b) for b in run(store, text)["results"]["bindings"]]
    assert with_inferred, "the query answers with graph/inferred"
    assert Counter(normalized(b) for b in run(without, text)["results"]["bindings"]) != Counter(with_inferred), (
        "and its answer depends on it")


@pytest.mark.parametrize("path", QUERIES, ids=lambda p: p.stem)
def test_query_results(path: Path, store: Store):
    text = path.read_text(encoding="utf-8")
    expected = json.loads((EXPECTED / f"{path.stem}.srj").read_text(encoding="utf-8"))
    actual = run(store, text)
    assert actual["head"]["vars"] == expected["head"]["vars"]
    want = [normalized(b) for b in expected["results"]["bindings"]]
    got = [normalized(b) for b in actual["results"]["bindings"]]
    assert want, "an expected result file with no row tests nothing"
    if is_ordered(text):
        assert got == want
    else:
        assert Counter(got) == Counter(want)
