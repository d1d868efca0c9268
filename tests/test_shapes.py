"""The SHACL shapes (shapes/innograph-shapes.ttl): lint, the shipped data conforms, one failing case per shape.

STYLE.md P10, P13, §1.7 (DASH test cases), §3.6 (a data-driven collection asserts its own count).

- Lint: the shapes parse; every node shape, property shape and SPARQL constraint has sh:name,
  sh:description and sh:message in French and in English; property shapes are named (never blank)
  ``inosh:<NodeShape>-<property>``; names and descriptions of shapes on ``ino:`` terms are the
  ontology's labels and definitions; every class and predicate the shapes use is declared in the
  ontology or comes from ``namespaces.STANDARD_VOCABULARIES``.
- The shipped data (the union of data/ + ontology/) has no violation and no warning, validated as
  the server validates (``innograph.validation``: pySHACL, inference "none", ontology mixed in).
- Graph-aware checks SHACL cannot make on one merged graph: every data graph is described in
  graph/meta, and every ``dcterms:source`` names the document of its own graph (or a part of it).
- ``tests/shapes/<Shape>.ttl``: one DASH-style case per shape that can fail on its own (a node
  shape with node-level constraints, every property shape, every SPARQL constraint). Each case is
  data plus a ``dash:GraphValidationTestCase`` whose ``dash:expectedResult`` lists exactly the
  results that shape gives on that data, covering every constraint component the shape declares.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, BNode, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.namespace import DCTERMS, OWL, PROV, SH, SKOS

from innograph import namespaces
from innograph.validation import Shapes, validate

ROOT = Path(__file__).resolve().parents[1]
SHAPES_FILE = ROOT / "shapes" / "innograph-shapes.ttl"
CASES_DIR = Path(__file__).resolve().parent / "shapes"
ONTOLOGY_FILES = sorted((ROOT / "ontology").glob("*.ttl"))
SHAPES_IRI = URIRef("https://w3id.org/innograph/shapes")
ONTOLOGY_IRI = URIRef("https://w3id.org/innograph/ontology")
INO = Namespace(str(namespaces.INO))
INOSH = Namespace(str(namespaces.INOSH))
DASH = Namespace(str(namespaces.DASH))
META = URIRef(namespaces.graph_iri("meta"))

# Constraint parameter -> the component it makes a shape declare (SHACL §4). A parameter not
# listed here fails test_every_parameter_is_known: extend the table on purpose.
COMPONENTS = {
    SH["class"]: SH.ClassConstraintComponent,
    SH.datatype: SH.DatatypeConstraintComponent,
    SH.nodeKind: SH.NodeKindConstraintComponent,
    SH.minCount: SH.MinCountConstraintComponent,
    SH.maxCount: SH.MaxCountConstraintComponent,
    SH.minInclusive: SH.MinInclusiveConstraintComponent,
    SH.maxInclusive: SH.MaxInclusiveConstraintComponent,
    SH.minExclusive: SH.MinExclusiveConstraintComponent,
    SH.maxExclusive: SH.MaxExclusiveConstraintComponent,
    SH.minLength: SH.MinLengthConstraintComponent,
    SH.maxLength: SH.MaxLengthConstraintComponent,
    SH.pattern: SH.PatternConstraintComponent,
    SH.languageIn: SH.LanguageInConstraintComponent,
    SH.uniqueLang: SH.UniqueLangConstraintComponent,
    SH["in"]: SH.InConstraintComponent,
    SH.hasValue: SH.HasValueConstraintComponent,
    SH["or"]: SH.OrConstraintComponent,
    SH["and"]: SH.AndConstraintComponent,
    SH["not"]: SH.NotConstraintComponent,
    SH.xone: SH.XoneConstraintComponent,
    SH.node: SH.NodeConstraintComponent,
    SH.equals: SH.EqualsConstraintComponent,
    SH.disjoint: SH.DisjointConstraintComponent,
    SH.lessThan: SH.LessThanConstraintComponent,
    SH.lessThanOrEquals: SH.LessThanOrEqualsConstraintComponent,
    SH.closed: SH.ClosedConstraintComponent,
    SH.qualifiedMinCount: SH.QualifiedMinCountConstraintComponent,
    SH.qualifiedMaxCount: SH.QualifiedMaxCountConstraintComponent,
}
# Everything else a shape may say: targets, structure, annotations.
NON_CONSTRAINTS = {
    RDF.type, SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.path,
    SH.property, SH.sparql, SH.name, SH.description, SH.message, SH.severity, SH.deactivated,
    SH.order, SH.group, SH.qualifiedValueShape, SH.qualifiedValueShapesDisjoint, SH.ignoredProperties,
    SH.flags, SH.select, SH.prefixes, RDFS.comment,
}


# -- Loading -----------------------------------------------------------------------------------


@lru_cache(maxsize=None)
def shapes_graph() -> Graph:
    return Graph().parse(SHAPES_FILE, format="turtle")


@lru_cache(maxsize=None)
def shapes() -> Shapes:
    return Shapes.from_paths([SHAPES_FILE])


def run(data: Graph, support: bool = False):
    """Validate ``data`` + ontology/ as one graph, as the server validates its whole store.

    The ontology is merged into the data, not handed to pySHACL as ``ont_graph``: pySHACL copies
    only RDFS/OWL axioms from an ``ont_graph`` (rdfutil/inoculate.py), so the skos:Concept
    individuals of ontology/concepts.ttl would be missing and every ``sh:class skos:Concept`` fail.
    ``support``: merge only what the shapes read from the ontology about small data (the class
    hierarchy and the types of the IRIs the data mentions): same verdicts, ten times faster.
    """
    if support:
        onto = ontology()
        extra = Graph()
        for triple in onto.triples((None, RDFS.subClassOf, None)):
            extra.add(triple)
        for term in {t for triple in data for t in triple if isinstance(t, URIRef)}:
            for triple in onto.triples((term, RDF.type, None)):
                extra.add(triple)
        return validate(data + extra, shapes(), allow_warnings=True, with_ontology=False)
    return validate(data + ontology(), shapes(), allow_warnings=True, with_ontology=False)


@lru_cache(maxsize=None)
def ontology() -> Graph:
    g = Graph()
    for path in ONTOLOGY_FILES:
        g.parse(path, format="turtle")
    return g


@lru_cache(maxsize=None)
def dataset() -> Dataset:
    ds = Dataset()
    for path in sorted((ROOT / "data").rglob("*")):
        if path.suffix in {".trig", ".nq"}:
            ds.parse(path, format={".trig": "trig", ".nq": "nquads"}[path.suffix])
        elif path.suffix == ".ttl":
            raise AssertionError(f"{path}: data files are TriG, one named graph each (docs/modelling.md)")
    return ds


@lru_cache(maxsize=None)
def data_union() -> Graph:
    g = Graph()
    for s, p, o, _ in dataset().quads((None, None, None, None)):
        g.add((s, p, o))
    return g


def node_shapes() -> list[URIRef]:
    return sorted(shapes_graph().subjects(RDF.type, SH.NodeShape))


def property_shapes() -> list[URIRef]:
    return sorted(shapes_graph().subjects(RDF.type, SH.PropertyShape))


def sparql_constraints() -> list[URIRef]:
    return sorted(shapes_graph().subjects(RDF.type, SH.SPARQLConstraint))


def declared_components(shape: URIRef) -> set[URIRef]:
    """The constraint components ``shape`` declares itself (not through sh:property / sh:sparql)."""
    g = shapes_graph()
    if (shape, RDF.type, SH.SPARQLConstraint) in g:
        return {SH.SPARQLConstraintComponent}
    return {COMPONENTS[p] for p in g.predicates(shape, None) if p in COMPONENTS}


def case_shapes() -> list[URIRef]:
    """Every shape that can fail on its own, hence needs a case: computed from the shapes file."""
    with_own = [s for s in node_shapes() if declared_components(s)]
    return sorted(with_own + property_shapes() + sparql_constraints())


def local(iri: URIRef) -> str:
    return str(iri).split("#", 1)[1]


# -- Lint --------------------------------------------------------------------------------------


def test_shapes_header():
    g = shapes_graph()
    assert (SHAPES_IRI, RDF.type, OWL.Ontology) in g
    assert (SHAPES_IRI, OWL.imports, ONTOLOGY_IRI) in g
    for lang in ("fr", "en"):
        assert [t for t in g.objects(SHAPES_IRI, DCTERMS.title) if t.language == lang], lang
    declared = {str(g.value(d, SH.prefix)): str(g.value(d, SH.namespace)) for d in g.objects(SHAPES_IRI, SH.declare)}
    for prefix, ns in declared.items():  # the prefixes SPARQL constraints use are the project's
        assert namespaces.PREFIXES.get(prefix, ns) == ns, prefix
    for constraint in sparql_constraints():
        assert g.value(constraint, SH.prefixes) == SHAPES_IRI, constraint


def test_counts():
    assert len(node_shapes()) >= 20
    assert len(property_shapes()) >= 60
    assert len(sparql_constraints()) >= 3


@pytest.mark.parametrize("shape", node_shapes() + property_shapes() + sparql_constraints(), ids=local)
def test_shape_has_fr_en_name_description_message(shape):
    g = shapes_graph()
    for prop in (SH.name, SH.description, SH.message):
        langs = sorted(o.language for o in g.objects(shape, prop) if isinstance(o, Literal))
        assert langs == ["en", "fr"], (prop, langs)
        assert all(str(o) == str(o).strip() for o in g.objects(shape, prop))


def test_node_shapes_are_named_and_own_their_property_shapes():
    g = shapes_graph()
    owners: dict[URIRef, list[URIRef]] = {}
    for node in node_shapes():
        assert isinstance(node, URIRef) and local(node).endswith("Shape"), node
        assert str(node).startswith(str(INOSH))
        assert list(g.objects(node, SH.property)) or list(g.objects(node, SH.sparql)) or declared_components(node), (
            f"{node} checks nothing")
        for child in list(g.objects(node, SH.property)) + list(g.objects(node, SH.sparql)):
            assert isinstance(child, URIRef), f"{node} has a blank property shape or constraint"
            assert local(child).startswith(local(node) + "-"), (node, child)
            owners.setdefault(child, []).append(node)
    for shape in property_shapes() + sparql_constraints():
        assert len(owners.get(shape, [])) == 1, f"{shape} must belong to exactly one node shape"


def test_every_parameter_is_known():
    """Each named shape says only things the component table knows (so case coverage is exact)."""
    g = shapes_graph()
    for shape in node_shapes() + property_shapes():
        unknown = set(g.predicates(shape, None)) - set(COMPONENTS) - NON_CONSTRAINTS
        assert not unknown, (shape, unknown)


def test_severities_are_deliberate():
    """Violation is the default; sh:Warning / sh:Info only on the '-recommended' twins (and back)."""
    g = shapes_graph()
    for shape in node_shapes() + property_shapes() + sparql_constraints():
        severity = g.value(shape, SH.severity)
        assert severity in (None, SH.Warning, SH.Info), (shape, severity)
        assert (severity is not None) == local(shape).endswith("-recommended"), shape


def _ontology_text(term: URIRef, prop: URIRef) -> dict[str, str]:
    return {o.language: str(o) for o in ontology().objects(term, prop) if isinstance(o, Literal)}


def _shape_text(shape: URIRef, prop: URIRef) -> dict[str, str]:
    return {o.language: str(o) for o in shapes_graph().objects(shape, prop)}


def test_names_and_descriptions_are_copied_from_the_ontology():
    g = shapes_graph()
    checked = 0
    for shape in property_shapes():
        path = g.value(shape, SH.path)
        if isinstance(path, URIRef) and path.startswith(str(INO)):
            assert _shape_text(shape, SH.name) == _ontology_text(path, RDFS.label), shape
            assert _shape_text(shape, SH.description) == _ontology_text(path, SKOS.definition), shape
            checked += 1
    for shape in node_shapes():
        targets = list(g.objects(shape, SH.targetClass))
        if len(targets) == 1 and targets[0].startswith(str(INO)):
            assert _shape_text(shape, SH.name) == _ontology_text(targets[0], RDFS.label), shape
            assert _shape_text(shape, SH.description) == _ontology_text(targets[0], SKOS.definition), shape
            checked += 1
    assert checked >= 50


def _path_terms(g: Graph, path) -> Iterable[URIRef]:
    if isinstance(path, URIRef):
        yield path
        return
    if (path, RDF.first, None) in g:
        for item in Collection(g, path):
            yield from _path_terms(g, item)
        return
    for p in (SH.inversePath, SH.alternativePath, SH.zeroOrMorePath, SH.oneOrMorePath, SH.zeroOrOnePath):
        for inner in g.objects(path, p):
            yield from _path_terms(g, inner)


def _declared_terms() -> set[URIRef]:
    g = ontology()
    types = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)
    return {s for t in types for s in g.subjects(RDF.type, t)}


def _standard(term: URIRef) -> bool:
    return any(str(term).startswith(ns) for ns in namespaces.STANDARD_VOCABULARIES)


def test_every_class_and_predicate_used_is_declared_or_standard():
    g = shapes_graph()
    used: set[URIRef] = {p for p in g.predicates() if isinstance(p, URIRef)}
    used |= {o for o in g.objects(None, RDF.type) if isinstance(o, URIRef)}
    for prop in (SH["class"], SH.targetClass, SH.targetSubjectsOf, SH.targetObjectsOf, SH.datatype):
        used |= {o for o in g.objects(None, prop) if isinstance(o, URIRef)}
    for path in g.objects(None, SH.path):
        used |= set(_path_terms(g, path))
    unknown = {t for t in used if t not in _declared_terms() and not _standard(t)}
    assert not unknown, sorted(unknown)
    ours = {t for t in used if t.startswith(str(INO))}
    assert ours and ours <= _declared_terms()


def test_targeted_ino_classes_exist():
    g = shapes_graph()
    targeted = {o for o in g.objects(None, SH.targetClass) if o.startswith(str(INO))}
    classes = set(ontology().subjects(RDF.type, OWL.Class))
    assert targeted and targeted <= classes, sorted(targeted - classes)


# -- The shipped data --------------------------------------------------------------------------


def test_shipped_data_conforms():
    """No violation and no warning on data/ (sh:Info results, facts the seeds do not state, are allowed)."""
    report = run(data_union())
    blocking = [r.as_dict() for r in report.results if r.severity in (SH.Violation, SH.Warning)]
    assert not blocking, blocking
    assert len(data_union()) > 1000


def test_every_data_graph_is_derived_from_a_document_in_meta():
    ds = dataset()
    meta = ds.graph(META)
    documents = set(meta.subjects(RDF.type, INO.SourceDocument))
    graphs = {c.identifier for c in ds.graphs() if len(c) and c.identifier not in (META, ds.default_graph.identifier)}
    assert len(graphs) >= 5
    for graph in graphs:
        assert str(graph).startswith(namespaces.graph_iri("source/")), graph
        sources = set(meta.objects(graph, PROV.wasDerivedFrom))
        assert len(sources) == 1 and sources <= documents, (graph, sources)


def test_every_dcterms_source_names_its_own_graphs_document():
    """A fact's dcterms:source is the document its graph is derived from, or a part of it."""
    ds = dataset()
    meta = ds.graph(META)
    union = data_union()
    checked = 0
    for s, _, doc, graph in ds.quads((None, DCTERMS.source, None, None)):
        if graph == META:
            continue
        (origin,) = meta.objects(graph, PROV.wasDerivedFrom)
        within = {doc} | set(union.transitive_objects(doc, DCTERMS.isPartOf))
        assert origin in within, f"{s} in {graph} cites {doc}, which is not (part of) {origin}"
        checked += 1
    assert checked >= 100


# -- One failing case per shape ----------------------------------------------------------------

CASES = sorted(CASES_DIR.glob("*.ttl"))
RESULT_KEYS = (SH.focusNode, SH.resultPath, SH.sourceConstraintComponent, SH.sourceShape, SH.resultSeverity, SH.sourceConstraint)


def test_one_case_per_shape():
    """Adding a shape without its case, or leaving a case whose shape is gone, fails here."""
    expected = {local(s) for s in case_shapes()}
    found = {p.stem for p in CASES}
    assert found == expected, {"missing cases": sorted(expected - found), "cases of no shape": sorted(found - expected)}
    assert len(CASES) == len(case_shapes()) >= 80


def _closure(g: Graph, node) -> Graph:
    """The triples about ``node`` and the blank nodes it reaches (the test case and its report),
    not following sh:focusNode / sh:value, which may name blank nodes of the data."""
    out, todo, seen = Graph(), [node], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        for p, o in g.predicate_objects(n):
            out.add((n, p, o))
            if isinstance(o, BNode) and p not in (SH.focusNode, SH.value):
                todo.append(o)
    return out


def _result_key(g: Graph, result, severity_default=None) -> tuple:
    values = [g.value(result, k) for k in RESULT_KEYS]
    if values[4] is None:
        values[4] = severity_default
    return tuple(values)


def _severity(shape: URIRef) -> URIRef:
    return shapes_graph().value(shape, SH.severity) or SH.Violation


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.stem)
def test_case(case: Path):
    shape = INOSH[case.stem]
    g = Graph().parse(case, format="turtle")
    (test_case,) = g.subjects(RDF.type, DASH.GraphValidationTestCase)
    expectation = _closure(g, test_case)
    report_node = expectation.value(test_case, DASH.expectedResult)
    assert expectation.value(report_node, SH.conforms) == Literal(False)
    expected = {_result_key(expectation, r, _severity(shape)) for r in expectation.objects(report_node, SH.result)}
    assert expected, "a case expects at least one result"
    sparql = (shape, RDF.type, SH.SPARQLConstraint) in shapes_graph()
    for key in expected:
        assert (key[5] if sparql else key[3]) == shape, f"{case.name} expects a result of another shape: {key}"

    data = Graph()
    for triple in g - expectation:
        data.add(triple)
    report = run(data, support=True)
    actual = set()
    for r in report.graph.subjects(RDF.type, SH.ValidationResult):
        key = _result_key(report.graph, r)
        if (key[5] if sparql else key[3]) == shape:
            actual.add(key)
    assert actual == expected, {"unexpected": sorted(map(str, actual - expected)), "missing": sorted(map(str, expected - actual))}
    components = {key[2] for key in expected}
    assert components == declared_components(shape), "the case must exercise every component the shape declares"
