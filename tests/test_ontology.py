"""Lint and consistency checks for ontology/ (STYLE.md P12, §3.11).

The ontology must parse; every term carries one label and one definition in French and in
English and rdfs:isDefinedBy; no literal is whitespace-padded; the vann namespace matches
server/innograph/namespaces.py; an OWL RL closure over ontology + data finds no inconsistency;
and every class and predicate used in data/ and shapes/ is ours or from an allowed vocabulary.
"""

from __future__ import annotations

import importlib.util
import re
import warnings
from functools import lru_cache
from pathlib import Path

import owlrl
import pytest
from rdflib import RDF, RDFS, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import OWL, SKOS, VANN

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY_DIR = ROOT / "ontology"
ONTOLOGY_FILE = ONTOLOGY_DIR / "innograph.ttl"
ONTOLOGY_IRI = URIRef("https://w3id.org/innograph/ontology")


def _load_namespaces():
    spec = importlib.util.spec_from_file_location(
        "innograph_namespaces", ROOT / "server" / "innograph" / "namespaces.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


NS = _load_namespaces()
INO = Namespace(str(NS.INO))
ERRNS = Namespace("http://www.daml.org/2002/03/agents/agent-ont#")
TERM_TYPES = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)


@lru_cache(maxsize=None)
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY_FILE, format="turtle")


@lru_cache(maxsize=None)
def ontology_all() -> Graph:
    g = Graph()
    for path in sorted(ONTOLOGY_DIR.glob("*.ttl")):
        g.parse(path, format="turtle")
    return g


def _rdf_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.suffix in {".ttl", ".trig", ".nq", ".nt"})


@lru_cache(maxsize=None)
def data_union() -> Graph:
    """All quads of data/ merged into one graph (what the union default graph sees)."""
    ds = Dataset()
    for path in _rdf_files(ROOT / "data"):
        fmt = {"trig": "trig", "ttl": "turtle", "nq": "nquads", "nt": "nt"}[path.suffix[1:]]
        with warnings.catch_warnings():  # rdflib's TriG parser uses its deprecated ConjunctiveGraph
            warnings.simplefilter("ignore", DeprecationWarning)
            ds.parse(path, format=fmt)
    g = Graph()
    for s, p, o, _ in ds.quads((None, None, None, None)):
        g.add((s, p, o))
    return g


def terms() -> list[URIRef]:
    g = ontology()
    found = {s for t in TERM_TYPES for s in g.subjects(RDF.type, t) if isinstance(s, URIRef)}
    return sorted(found)


def test_ontology_parses_and_declares_itself():
    g = ontology()
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in g
    assert len(terms()) >= 60


def test_header():
    g = ontology()
    for lang in ("fr", "en"):
        for prop in (URIRef("http://purl.org/dc/terms/title"), URIRef("http://purl.org/dc/terms/description")):
            values = [o for o in g.objects(ONTOLOGY_IRI, prop) if o.language == lang]
            assert len(values) == 1, (prop, lang)
    for prop in (OWL.versionIRI, OWL.versionInfo, VANN.preferredNamespacePrefix):
        assert g.value(ONTOLOGY_IRI, prop) is not None, prop
    assert str(g.value(ONTOLOGY_IRI, VANN.preferredNamespacePrefix)) == "ino"


def test_preferred_namespace_matches_namespaces_module():
    uri = ontology().value(ONTOLOGY_IRI, VANN.preferredNamespaceUri)
    assert str(uri) == str(NS.INO)
    assert NS.PREFIXES["ino"] == str(NS.INO)


@pytest.mark.parametrize("term", terms(), ids=lambda t: t.split("#")[-1])
def test_term_annotations(term):
    g = ontology()
    assert str(term).startswith(str(INO)), "terms are in the ino: namespace"
    for prop in (RDFS.label, SKOS.definition):
        for lang in ("fr", "en"):
            values = [o for o in g.objects(term, prop) if isinstance(o, Literal) and o.language == lang]
            assert len(values) == 1, f"{term} needs exactly one {prop} @{lang}, has {values}"
        assert all(isinstance(o, Literal) and o.language in {"fr", "en"} for o in g.objects(term, prop))
    assert (term, RDFS.isDefinedBy, ONTOLOGY_IRI) in g


def test_terms_are_alphabetical_within_sections():
    text = ONTOLOGY_FILE.read_text(encoding="utf-8")
    sections = re.split(r"^# -- ", text, flags=re.M)
    checked = 0
    for section in sections[1:]:
        names = re.findall(r"^ino:(\w+) a ", section, flags=re.M)
        assert names == sorted(names, key=str.lower), section.splitlines()[0]
        checked += len(names)
    assert checked == len(terms())


def test_each_term_in_one_block():
    text = ONTOLOGY_FILE.read_text(encoding="utf-8")
    for term in terms():
        local = term.split("#")[-1]
        assert len(re.findall(rf"^ino:{local}\s", text, flags=re.M)) == 1, local


@pytest.mark.parametrize("folder", ["ontology", "data"])
def test_no_padded_literals(folder):
    graph = ontology_all() if folder == "ontology" else data_union()
    literals = [o for o in graph.objects() if isinstance(o, Literal)]
    assert literals or folder == "data"
    padded = [str(o) for o in literals if str(o) != str(o).strip()]
    assert not padded


def test_concepts_have_fr_and_en_preflabels():
    g = ontology_all() + data_union()
    concepts = set(g.subjects(RDF.type, SKOS.Concept))
    assert len(concepts) >= 80
    for c in concepts:
        langs = sorted(o.language for o in g.objects(c, SKOS.prefLabel))
        assert langs == ["en", "fr"], (c, langs)
        assert g.value(c, SKOS.inScheme) is not None, c


def _declared() -> set[URIRef]:
    g = ontology_all()
    return {s for t in TERM_TYPES for s in g.subjects(RDF.type, t)}


def _is_standard(iri: URIRef) -> bool:
    return any(str(iri).startswith(ns) for ns in NS.STANDARD_VOCABULARIES)


def _used_terms(graph: Graph) -> set[URIRef]:
    used = set(graph.predicates())
    used |= {o for o in graph.objects(None, RDF.type) if isinstance(o, URIRef)}
    return {u for u in used if isinstance(u, URIRef)}


def test_data_and_shapes_use_only_declared_or_standard_terms():
    graphs = [ontology_all(), data_union()]
    shapes = _rdf_files(ROOT / "shapes")
    for path in shapes:
        graphs.append(Graph().parse(path, format="turtle" if path.suffix == ".ttl" else None))
    declared = _declared()
    unknown = set()
    for g in graphs:
        unknown |= {t for t in _used_terms(g) if t not in declared and not _is_standard(t)}
    assert not unknown, sorted(unknown)


def test_every_ino_term_mentioned_is_declared():
    declared = _declared()
    g = ontology_all() + data_union()
    mentioned = {t for triple in g for t in triple if isinstance(t, URIRef) and str(t).startswith(str(INO))}
    assert mentioned - declared == set()


def _closure_errors(g: Graph) -> list[str]:
    owlrl.DeductiveClosure(owlrl.OWLRL_Semantics, axiomatic_triples=False).expand(g)
    errors = [str(m) for e in g.subjects(RDF.type, ERRNS.ErrorMessage) for m in g.objects(e, ERRNS.error)]
    errors += [f"{s} is owl:Nothing" for s in g.subjects(RDF.type, OWL.Nothing)]
    errors += [f"{a} sameAs and differentFrom {b}" for a, b in g.subject_objects(OWL.differentFrom)
               if (a, OWL.sameAs, b) in g]
    return errors


def test_every_class_is_satisfiable_and_aligned():
    """One made-up individual per class: no clash, and standard-vocabulary types are entailed."""
    g = Graph() + ontology_all()
    classes = sorted(set(ontology().subjects(RDF.type, OWL.Class)))
    probes = {cls: URIRef(f"urn:probe:{cls.split('#')[-1]}") for cls in classes}
    for cls, probe in probes.items():
        g.add((probe, RDF.type, cls))
    assert not _closure_errors(g)
    org_ns = Namespace("http://www.w3.org/ns/org#")
    schema = Namespace("http://schema.org/")
    foaf = Namespace("http://xmlns.com/foaf/0.1/")
    prov = Namespace("http://www.w3.org/ns/prov#")
    expected = {
        "Organisation": (org_ns.Organization, schema.Organization, foaf.Organization),
        "CompetitivenessPole": (org_ns.Organization, schema.Organization, foaf.Organization),
        "Cluster": (org_ns.Organization, schema.Organization, foaf.Organization),
        "Company": (org_ns.Organization, schema.Organization, foaf.Organization),
        "HauteEcole": (org_ns.Organization, schema.Organization, foaf.Organization),
        "University": (org_ns.Organization, schema.Organization, foaf.Organization),
        "Membership": (org_ns.Membership,),
        "Person": (foaf.Person, schema.Person),
        "Event": (schema.Event,),
        "Intervention": (schema.Event,),
        "PitchedProject": (prov.Activity, foaf.Project, schema.ResearchProject),
        "City": (schema.Place, schema.AdministrativeArea),
        "Region": (schema.Place, schema.AdministrativeArea),
        "SourceDocument": (prov.Entity, foaf.Document, schema.CreativeWork),
        "IndicatorObservation": (Namespace("http://purl.org/linked-data/cube#").Observation,),
    }
    for local, sups in expected.items():
        for sup in sups:
            assert (probes[INO[local]], RDF.type, sup) in g, (local, sup)


def test_owl_rl_closure_over_ontology_and_data_is_consistent():
    g = Graph()
    g += ontology_all()
    g += data_union()
    assert not _closure_errors(g)
