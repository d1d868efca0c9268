"""Differential test: the incremental verdict equals a full-graph pySHACL validation.

For many random contributions (valid and invalid) over a conforming base graph, the verdict
and the results of ``validate_contribution`` (the contribution plus its neighbourhood) must equal
those of ``pyshacl.validate`` on the whole base ∪ contribution.  Bases: the fixture graph, a
synthetic graph, and the repository's seed data with its shapes (when they exist).

Contributions come from a seeded generator that knows nothing of the vocabulary: it copies the
description of an existing node under a new name (usually valid), then mutates it or the graph
around it (usually invalid): drop a statement, repeat a property with another value, give a
literal another datatype, point an edge elsewhere, add a type, add a statement to an existing
node, use blank nodes.
"""

from __future__ import annotations

import random
from pathlib import Path

import pyshacl
import pytest
from rdflib import RDF, BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

from innograph.neighbourhood import GraphSource, neighbourhood
from innograph.validation import Shapes, _PreparedQueries, validate_contribution

FIXTURES = Path(__file__).parent / "fixtures" / "contrib"
REPO = Path(__file__).parent.parent
INO = "https://w3id.org/innograph/ontology#"
ID = "https://w3id.org/innograph/id/"


def _fixture_base() -> tuple[Graph, Shapes]:
    shapes = Shapes.from_paths([FIXTURES / "shapes" / "fixture.ttl"])
    base = Graph().parse(FIXTURES / "data" / "source" / "fixture.ttl").parse(FIXTURES / "ontology" / "fixture.ttl")
    return base, shapes


def _synthetic_base(n_clusters: int = 60, seed: int = 7) -> tuple[Graph, Shapes]:
    """A graph that conforms to the fixture shapes: clusters, ≤5 members each, projects, fundings."""
    rnd = random.Random(seed)
    base, shapes = _fixture_base()
    ino = lambda t: URIRef(INO + t)  # noqa: E731
    orgs: list[URIRef] = []
    for c in range(n_clusters):
        cluster = URIRef(f"{ID}cluster/c{c}")
        base.add((cluster, RDF.type, ino(rnd.choice(["Cluster", "Pole"]))))
        base.add((cluster, ino("name"), Literal(f"Cluster {c}")))
        for m in range(rnd.randint(0, 4)):
            org = URIRef(f"{ID}org/o{c}-{m}")
            orgs.append(org)
            base.add((org, RDF.type, ino(rnd.choice(["Company", "Organisation"]))))
            base.add((org, ino("name"), Literal(f"Org {c}-{m}")))
            base.add((org, ino("memberOf"), cluster))
    for p in range(n_clusters):
        project = URIRef(f"{ID}project/p{p}")
        base.add((project, RDF.type, ino("Project")))
        base.add((project, ino("title"), Literal(f"Project {p}")))
        for org in rnd.sample(orgs, rnd.randint(1, 3)):
            base.add((project, ino("partner"), org))
        funding = BNode() if p % 2 else URIRef(f"{ID}funding/f{p}")
        base.add((project, ino("fundedBy"), funding))
        base.add((funding, ino("amount"), Literal(f"{rnd.randint(1, 900)}000.0", datatype=XSD.decimal)))
        base.add((funding, ino("funder"), rnd.choice(orgs)))
    return base, shapes


def _seed_base() -> tuple[Graph, Shapes]:
    shape_files = sorted((REPO / "shapes").glob("*.ttl"))
    data_files = sorted((REPO / "data").glob("**/*.ttl")) + sorted((REPO / "data").glob("**/*.trig"))
    ontology = sorted((REPO / "ontology").glob("*.ttl"))  # the class hierarchy lives there
    if not shape_files or not data_files:
        pytest.skip("the repository has no shapes/ or data/ yet")
    dataset = Dataset()
    for f in data_files + ontology:
        dataset.parse(f)
    base = Graph()
    for s, p, o, _g in dataset.quads((None, None, None, None)):
        base.add((s, p, o))
    return base, Shapes.from_paths(shape_files)


def _full(base: Graph, contribution: Graph, shapes: Shapes) -> tuple[bool, set]:
    """pySHACL itself on base ∪ contribution. Its SPARQL-based constraints are parsed once per
    text (validation._PreparedQueries: rdflib re-parses them for every focus node, which made
    the seed run take minutes); the evaluation is pySHACL's, unchanged."""
    union = base + contribution
    conforms, report, _ = pyshacl.validate(
        _PreparedQueries(store=union.store, identifier=union.identifier), shacl_graph=shapes.graph, inference="none",
        allow_warnings=True, allow_infos=True
    )
    return bool(conforms), _result_keys(report)


def _result_keys(report: Graph) -> set:
    return {
        tuple(report.value(r, p) for p in (SH.focusNode, SH.resultPath, SH.value, SH.sourceShape, SH.sourceConstraintComponent))
        for r in report.subjects(RDF.type, SH.ValidationResult)
    }


def random_contribution(base: Graph, rnd: random.Random) -> Graph:
    """A random contribution over ``base`` (see module docstring)."""
    subjects = sorted({s for s in base.subjects() if isinstance(s, URIRef)})
    nodes = subjects + sorted({o for o in base.objects() if isinstance(o, URIRef)})
    predicates = sorted({p for p in base.predicates() if p != RDF.type})
    classes = sorted(set(base.objects(None, RDF.type)))
    out = Graph()
    template = rnd.choice(subjects)
    new = URIRef(f"{ID}new/n{rnd.randrange(10**9)}") if rnd.random() < 0.85 else BNode()
    for p, o in base.predicate_objects(template):
        out.add((new, p, o))
    for _ in range(rnd.choice([0, 0, 1, 1, 2, 3])):
        triples = sorted(out)
        kind = rnd.randrange(7)
        if kind == 0 and triples:  # drop a statement
            out.remove(rnd.choice(triples))
        elif kind == 1 and triples:  # repeat a property with another value
            s, p, _o = rnd.choice(triples)
            out.add((s, p, rnd.choice(nodes + [Literal("x"), Literal(3)])))
        elif kind == 2 and triples:  # a literal with another datatype
            s, p, o = rnd.choice(triples)
            if isinstance(o, Literal):
                out.remove((s, p, o))
                out.add((s, p, rnd.choice([Literal(str(o)), Literal(7), Literal("2024-01-01", datatype=XSD.date), Literal(str(o), lang="fr")])))
        elif kind == 3 and triples:  # point an edge elsewhere
            s, p, o = rnd.choice(triples)
            out.remove((s, p, o))
            out.add((s, p, rnd.choice(nodes)))
        elif kind == 4 and classes:  # add a type, to the new node or to an existing one
            out.add((rnd.choice([new, rnd.choice(subjects)]), RDF.type, rnd.choice(classes)))
        elif kind == 5 and predicates:  # add a statement to an existing node
            out.add((rnd.choice(subjects), rnd.choice(predicates), rnd.choice(nodes + [Literal("y")])))
        elif kind == 6:  # an edge from an existing node to the new one
            out.add((rnd.choice(subjects), rnd.choice(predicates), new))
    if not len(out):
        out.add((new, RDF.type, rnd.choice(classes)))
    return out


BASES = {"fixture": (_fixture_base, 200), "synthetic": (_synthetic_base, 60), "seed": (_seed_base, 40)}


@pytest.mark.parametrize("name", sorted(BASES))
def test_incremental_equals_full(name):
    """Same results about the focus nodes the contribution affects, every result it causes, and
    on a conforming base the same verdict (on a base with no result at all: the same results).
    The seed data may not conform yet (shapes and data are written in parallel) or carry
    sh:Info results: those about nodes the contribution does not touch are not its doing."""
    make, runs = BASES[name]
    base, shapes = make()
    base_conforms, base_keys = _full(base, Graph(), shapes)
    if name != "seed":
        assert base_conforms, f"the {name} base must conform for the comparison to mean anything"
    source = GraphSource(base)
    rnd = random.Random(20240611)
    verdicts = []
    for i in range(runs):
        contribution = random_contribution(base, rnd)
        full_conforms, full_keys = _full(base, contribution, shapes)
        report = validate_contribution(contribution, source, shapes, allow_warnings=True)
        keys = {(r.focus, r.path, r.value, r.shape, r.component) for r in report.results}
        affected = neighbourhood(contribution, source, shapes.scope).focus
        why = f"run {i}: results differ for\n{contribution.serialize(format='nt')}"
        assert keys == {k for k in full_keys if k[0] in affected}, why
        assert full_keys - base_keys <= keys, why  # every result the contribution causes is found
        if base_conforms:
            assert report.conforms == full_conforms, f"run {i}: verdicts differ"
        if not base_keys:
            assert keys == full_keys, why
        verdicts.append(report.conforms)
    assert len(verdicts) == runs
    # Both kinds must be exercised, or the comparison proves little.
    assert sum(verdicts) >= runs // 10, f"too few valid contributions: {sum(verdicts)}/{runs}"
    assert runs - sum(verdicts) >= runs // 10, f"too few invalid contributions: {runs - sum(verdicts)}/{runs}"


def test_scope_of_fixture_shapes_is_bounded():
    """The fixture shapes have no zero-or-more path or recursion: the precise (word) mode applies."""
    _base, shapes = _fixture_base()
    assert shapes.scope.complete and shapes.scope.words is not None
    assert len(shapes.scope.words) == 17
