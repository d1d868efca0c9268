"""Checks of the instance data in data/ (docs/modelling.md, DESIGN.md "The dataset").

Each source file holds exactly one named graph; meta describes every source graph; the seeds'
named entities reach the minimum counts of research/seed-facts.md §4; key facts and
disagreements are where they belong; quotes are verbatim; IRIs follow id/{kind}/{slug}.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from functools import lru_cache
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, SKOS

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"
BASE = "https://w3id.org/innograph/"
INO = Namespace(BASE + "ontology#")
ID = Namespace(BASE + "id/")
SCHEMA = Namespace("http://schema.org/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")
ORG = Namespace("http://www.w3.org/ns/org#")
SDMX_MEASURE = Namespace("http://purl.org/linked-data/sdmx/2009/measure#")
TIME = Namespace("http://www.w3.org/2006/time#")
THING_IRI = re.compile(r"^https://w3id\.org/innograph/id/[a-z-]+/[a-z0-9-]+$")

SEED_FILES = {
    "seed-000": "000_3d2994575429d5cc.txt",
    "seed-001": "001_1dcec8ad949f01c0.txt",
    "seed-002": "002_6bdb1337ac3af296.txt",
    "seed-003": "003_665da9c000591ef1.txt",
    "seed-004": "004_246dbfe98d08bf9f.txt",
}
OUTSIDE = ["awex-competitiveness-clusters", "ccimag-2016-biowin", "sirris-agoria-press"]


def graph_iri(source_id: str) -> URIRef:
    return URIRef(f"{BASE}graph/source/{source_id}")


def _parse(path: Path) -> Dataset:
    ds = Dataset()
    with warnings.catch_warnings():  # rdflib's TriG parser uses its own deprecated ConjunctiveGraph
        warnings.simplefilter("ignore", DeprecationWarning)
        ds.parse(path, format="trig")
    return ds


def _named_graphs(ds: Dataset) -> dict[URIRef, Graph]:
    graphs: dict[URIRef, Graph] = {}
    for _, _, _, ctx in ds.quads((None, None, None, None)):
        ident = ctx.identifier if hasattr(ctx, "identifier") else ctx
        graphs.setdefault(ident, ds.graph(ident))
    return graphs


@lru_cache(maxsize=None)
def source_graph(source_id: str) -> Graph:
    folder = "sources" if source_id.startswith("seed-") else "outside"
    ds = _parse(DATA / folder / f"{source_id}.trig")
    g = Graph()
    for t in ds.graph(graph_iri(source_id)):
        g.add(t)
    return g


@lru_cache(maxsize=None)
def meta() -> Graph:
    ds = _parse(DATA / "meta.trig")
    g = Graph()
    for t in ds.graph(URIRef(BASE + "graph/meta")):
        g.add(t)
    return g


@lru_cache(maxsize=None)
def seeds_union() -> Graph:
    g = Graph()
    for sid in SEED_FILES:
        g += source_graph(sid)
    return g


@lru_cache(maxsize=None)
def everything() -> Graph:
    g = Graph() + seeds_union() + meta()
    for sid in OUTSIDE:
        g += source_graph(sid)
    return g


@lru_cache(maxsize=None)
def ontology() -> Graph:
    g = Graph()
    for path in sorted((ROOT / "ontology").glob("*.ttl")):
        g.parse(path, format="turtle")
    return g


def instances(graph: Graph, *classes: URIRef) -> set:
    """Instances of the classes or of their ino:/rdfs subclasses (transitively)."""
    onto = ontology()
    wanted, todo = set(classes), list(classes)
    while todo:
        for sub in onto.subjects(RDFS.subClassOf, todo.pop()):
            if sub not in wanted:
                wanted.add(sub)
                todo.append(sub)
    return {s for c in wanted for s in graph.subjects(RDF.type, c)}


# -- files and graphs ---------------------------------------------------------------------------

def _all_files():
    files = sorted((DATA / "sources").glob("*.trig")) + sorted((DATA / "outside").glob("*.trig"))
    return files


def test_expected_files_exist():
    names = {p.stem for p in _all_files()}
    assert names == set(SEED_FILES) | set(OUTSIDE)
    assert (DATA / "meta.trig").exists() and (DATA / "README.md").exists()


@pytest.mark.parametrize("path", _all_files(), ids=lambda p: p.stem)
def test_each_source_file_holds_exactly_one_named_graph(path):
    ds = _parse(path)
    graphs = {ident for ident, g in _named_graphs(ds).items() if len(g)}
    assert graphs == {graph_iri(path.stem)}
    assert len(ds.graph(graph_iri(path.stem))) > 10


def test_meta_file_holds_only_the_meta_graph():
    graphs = {ident for ident, g in _named_graphs(_parse(DATA / "meta.trig")).items() if len(g)}
    assert graphs == {URIRef(BASE + "graph/meta")}


@pytest.mark.parametrize("source_id", list(SEED_FILES) + OUTSIDE)
def test_meta_describes_each_source_graph(source_id):
    g = meta()
    doc = ID[f"document/{source_id}"]
    assert (graph_iri(source_id), PROV.wasDerivedFrom, doc) in g
    assert (doc, RDF.type, INO.SourceDocument) in g
    assert g.value(doc, DCTERMS.identifier) is not None
    assert g.value(doc, DCTERMS.language) is not None
    if source_id in SEED_FILES:
        assert str(g.value(doc, DCTERMS.identifier)) == SEED_FILES[source_id]
        assert str(g.value(doc, DCTERMS.language)) == "fr"
    else:
        assert g.value(doc, URIRef("http://xmlns.com/foaf/0.1/page")) is not None


def test_seed_000_keeps_its_two_texts_dated_apart():
    g = meta()
    article, report = ID["document/seed-000-article"], ID["document/seed-000-innogo-report"]
    assert g.value(article, DCTERMS.date) == Literal("2024-05-08", datatype=XSD.date)
    assert g.value(report, DCTERMS.date) is None
    assert (ID["document/seed-000"], DCTERMS.hasPart, report) in g
    s0 = source_graph("seed-000")
    assert s0.value(ID["event/innogo-2025"], SCHEMA.startDate) == Literal("2025", datatype=XSD.gYear)
    assert (ID["event/innogo-2025"], DCTERMS.source, report) in s0
    assert g.value(ID["document/seed-004"], DCTERMS.date) == Literal("2016-03-14", datatype=XSD.date)


# -- counts (seed-facts.md §4) ------------------------------------------------------------------

def _support_or_other(g: Graph) -> set:
    plain_orgs = {s for s in g.subjects(RDF.type, INO.Organisation)}
    return instances(g, INO.SupportOrganisation) | plain_orgs


def _non_person_authors(g: Graph) -> set:
    agents = set(g.subjects(RDF.type, URIRef("http://xmlns.com/foaf/0.1/Agent")))
    return instances(g, INO.MediaOrganisation) | (agents - instances(g, INO.Person))


def _events(g: Graph) -> set:
    return instances(g, INO.Event) - instances(g, INO.Milestone)


def _places(g: Graph) -> set:
    return instances(g, INO.Territory) | {ID["geographic-cluster/silicon-valley"]}


def _sectors_used(g: Graph) -> set:
    return {o for o in g.objects(None, INO.sector) if str(o).startswith(str(ID) + "sector/")}


def _documents(g: Graph) -> set:
    return {d for d in instances(g, INO.SourceDocument) if "/document/seed-" in str(d)}


# (kind, how to count in the union of the five seed graphs (+ meta for documents), minimum of §4)
EXPECTED_MINIMUMS = [
    ("competitiveness poles", lambda g: instances(g, INO.CompetitivenessPole), 3),
    ("clusters incl. geographic", lambda g: instances(g, INO.Cluster, INO.GeographicCluster), 15),
    ("hubs and science parks", lambda g: instances(g, INO.InnovationHub, INO.SciencePark), 7),
    ("research networks", lambda g: instances(g, INO.ResearchNetwork), 1),
    ("federations", lambda g: instances(g, INO.Federation), 1),
    ("support and other organisations", _support_or_other, 2),
    ("research centres", lambda g: instances(g, INO.ResearchCentre), 1),
    ("higher-education institutions", lambda g: instances(g, INO.HigherEducationInstitution), 6),
    ("companies", lambda g: instances(g, INO.Company), 2),
    ("public authorities", lambda g: instances(g, INO.PublicAuthority), 4),
    ("media and non-person authors", _non_person_authors, 2),
    ("persons", lambda g: instances(g, INO.Person), 27),
    ("projects", lambda g: instances(g, INO.Project), 11),
    ("events: series, edition, sub-events, announced edition", _events, 7),
    ("dated milestone events", lambda g: instances(g, INO.Milestone), 7),
    ("policies and programmes", lambda g: instances(g, INO.Policy), 7),
    ("regions and places", _places, 19),
    ("sectors used", _sectors_used, 22),
    ("indicator observations (stated)", lambda g: instances(g, INO.IndicatorObservation), 13),
    ("documents (5 seeds, 2 parts of 000, 1 comment)", _documents, 8),
    ("pitch and talk participations", lambda g: instances(g, INO.Participation), 23),
    ("memberships", lambda g: instances(g, INO.Membership), 18),
    ("recognitions", lambda g: instances(g, INO.Recognition), 9),
]


def test_expected_minimums_table_is_complete():
    assert len(EXPECTED_MINIMUMS) == 23
    assert len({row[0] for row in EXPECTED_MINIMUMS}) == len(EXPECTED_MINIMUMS)


@pytest.mark.parametrize("kind,count,minimum", EXPECTED_MINIMUMS, ids=[r[0] for r in EXPECTED_MINIMUMS])
def test_entity_counts_reach_seed_facts_minimums(kind, count, minimum):
    found = count(seeds_union() + meta())
    assert len(found) >= minimum, (kind, sorted(found))


def test_persons_are_the_27_named_people():
    people = {str(p).rsplit("/", 1)[1] for p in instances(seeds_union(), INO.Person)}
    for slug in ("stephane-grade", "celia-reynders", "sonia-e", "arnaud-stiepen", "odile-mohymont",
                 "michael-porter", "steve-jobs", "steve-wozniak", "ruut-ruut", "philippe-olivier"):
        assert slug in people
    assert len(people) == 27


# -- spot checks of key facts -------------------------------------------------------------------

def _observations(g: Graph, kind: str, entity: str) -> list:
    return [o for o in g.subjects(INO.indicator, ID[f"indicator-kind/{kind}"])
            if (o, INO.observedEntity, ID[entity]) in g]


def _value(g: Graph, obs) -> float:
    return float(g.value(obs, SDMX_MEASURE.obsValue).toPython())


def test_seven_versus_six_recognised_clusters_stay_in_their_sources():
    s1, s3 = source_graph("seed-001"), source_graph("seed-003")
    [seven] = _observations(s1, "recognised-clusters", "set/walloon-clusters")
    [six] = _observations(s3, "clusters", "set/walloon-clusters")
    assert _value(s1, seven) == 7 and _value(s3, six) == 6
    assert not _observations(s1, "clusters", "set/walloon-clusters")
    assert len(set(s3.objects(ID["set/walloon-clusters"], PROV.hadMember))) == 6


def test_pole_launch_policy_disagreement_is_kept():
    poles = ID["set/walloon-poles"]
    assert (poles, INO.launchedUnder, ID["policy/plan-marshall"]) in source_graph("seed-001")
    assert (poles, INO.launchedUnder, ID["policy/contrat-d-avenir"]) in source_graph("seed-000")
    assert (poles, INO.launchedUnder, ID["policy/contrat-d-avenir"]) not in source_graph("seed-001")


def test_dates_2000_2001_2005_are_separate_facts():
    s0, s3 = source_graph("seed-000"), source_graph("seed-003")
    assert s3.value(ID["policy/contrat-d-avenir"], SCHEMA.startDate) == Literal("2000", datatype=XSD.gYear)
    assert s0.value(ID["event/creation-walloon-clusters-2001"], SCHEMA.startDate) == Literal("2001", datatype=XSD.gYear)
    assert s0.value(ID["event/creation-walloon-poles-2005"], SCHEMA.startDate) == Literal("2005", datatype=XSD.gYear)


def test_employment_indicator_plus_13_versus_minus_11():
    g = source_graph("seed-001")
    [members] = _observations(g, "employment-change", "set/walloon-pole-member-companies")
    [industry] = _observations(g, "employment-change", "set/walloon-industry")
    assert _value(g, members) == 13 and _value(g, industry) == -11
    for obs in (members, industry):
        period = g.value(obs, INO.refPeriod)
        begin, end = g.value(period, TIME.hasBeginning), g.value(period, TIME.hasEnd)
        assert str(g.value(begin, TIME.inXSDgYear)) == "2007" and str(g.value(end, TIME.inXSDgYear)) == "2017"
        assert g.value(obs, SDMX_MEASURE.obsValue) is not None
    assert g.value(members, INO.comparisonBase) == ID["set/walloon-industry"]
    [growth] = _observations(g, "activity-growth-differential", "set/walloon-pole-member-companies")
    assert _value(g, growth) == 47 and g.value(growth, INO.refPeriod) is None


def test_projects_funding_lower_bounds():
    g = source_graph("seed-001")
    [projects] = _observations(g, "labelled-rd-projects", "set/walloon-poles")
    assert _value(g, projects) == 270
    assert g.value(projects, INO.valueQualifier) == ID["qualifier/lower-bound"]
    funding = ID["funding/seed-001-walloon-pole-labelled-projects"]
    assert float(g.value(funding, INO.amount).toPython()) == 700_000_000
    assert str(g.value(funding, INO.currency)) == "EUR"


def test_french_poles_count_carries_the_article_date():
    g = source_graph("seed-004")
    [obs] = _observations(g, "poles", "set/french-poles")
    assert _value(g, obs) == 74
    assert g.value(obs, INO.referenceDate) == Literal("2016-03-14", datatype=XSD.date)


def test_vr_diagnostix_is_carried_by_helmo_and_hepl():
    g = source_graph("seed-000")
    carriers = set(g.objects(ID["project/vr-diagnostix"], INO.carriedBy))
    assert carriers == {ID["organisation/helmo"], ID["organisation/hepl"]}
    pitchers = {g.value(p, INO.participant) for p in g.subjects(INO.presentedProject, ID["project/vr-diagnostix"])}
    assert len(pitchers) == 4


def _innogo_2025_events(g: Graph) -> set:
    top = ID["event/innogo-2025"]
    return {top} | set(g.subjects(SCHEMA.superEvent, top))


def test_stephane_grade_has_two_roles_at_innogo_2025():
    g = source_graph("seed-000")
    events = _innogo_2025_events(g)
    roles = {g.value(p, INO.participationRole) for p in g.subjects(INO.participant, ID["person/stephane-grade"])
             if g.value(p, INO.inEvent) in events}
    assert roles == {ID["role/speaker"], ID["role/pitcher"]}


def test_innogo_2025_pitches_per_institution():
    g = source_graph("seed-000")
    per_inst: dict = {}
    for p in g.subjects(INO.inEvent, ID["event/innogo-2025-pitches"]):
        for inst in g.objects(p, INO.onBehalfOf):
            per_inst.setdefault(str(inst).rsplit("/", 1)[1], set()).add(g.value(p, INO.presentedProject))
    assert {k: len(v) for k, v in per_inst.items()} == {
        "heph-condorcet": 3, "ecam": 1, "helmo": 3, "he-vinci": 1, "hepl": 3, "helha": 1}
    [moderation] = [p for p in g.subjects(INO.participationRole, ID["role/moderator"])]
    assert g.value(moderation, INO.participant) == ID["person/arnaud-stiepen"]


def test_agoria_only_in_the_outside_graph():
    fed = ID["organisation/unnamed-federation-002"]
    assert (fed, OWL.sameAs, ID["organisation/agoria"]) in source_graph("sirris-agoria-press")
    assert ID["organisation/agoria"] not in set(seeds_union().all_nodes())
    assert (fed, INO.hasResearchCentre, ID["organisation/sirris"]) in source_graph("seed-002")


def test_walloon_pole_names_only_outside_the_seeds():
    assert not instances(seeds_union(), INO.CompetitivenessPole) & {ID["pole/biowin"], ID["pole/greenwin"]}
    for sid in ("awex-competitiveness-clusters", "ccimag-2016-biowin"):
        members = set(source_graph(sid).objects(ID["set/walloon-poles"], PROV.hadMember))
        assert len(members) == 6


# -- hygiene ------------------------------------------------------------------------------------

def test_thing_iris_follow_the_pattern():
    g = everything() + ontology()
    bad = set()
    for node in g.all_nodes():
        if isinstance(node, URIRef) and str(node).startswith(BASE + "id/") and not THING_IRI.match(str(node)):
            bad.add(str(node))
    assert not bad, sorted(bad)


def test_every_typed_thing_has_one_french_and_one_english_label():
    g = everything()
    for subject in set(g.subjects(RDF.type, None)):
        if not isinstance(subject, URIRef) or not str(subject).startswith(BASE + "id/"):
            continue
        labels = list(g.objects(subject, RDFS.label))
        assert sorted(lbl.language for lbl in labels) == ["en", "fr"], (subject, labels)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFC", text).replace("\u2019", "'").replace("\xa0", " ")
    return re.sub(r"\s+", " ", text).strip()


@pytest.mark.parametrize("source_id", list(SEED_FILES))
def test_quotes_are_verbatim_from_their_seed(source_id):
    seed = _norm((Path("/work/shared/seeds") / SEED_FILES[source_id]).read_text(encoding="utf-8")) \
        if (Path("/work/shared/seeds") / SEED_FILES[source_id]).exists() else None
    quotes = list(source_graph(source_id).objects(None, INO.quote))
    assert quotes
    assert all(q.language == "fr" for q in quotes)
    if seed is None:
        pytest.skip("seed texts not available here")
    missing = [str(q) for q in quotes if _norm(str(q)) not in seed]
    assert not missing


def test_concept_references_exist():
    """Every id/{concept-kind}/… used in data is defined in ontology/concepts.ttl."""
    concepts = set(ontology().subjects(RDF.type, SKOS.Concept))
    kinds = ("sector", "role", "size-class", "value-chain", "org-kind", "network-kind", "statement-kind",
             "indicator-kind", "unit", "qualifier", "recognition-kind")
    used = {o for o in everything().all_nodes()
            if isinstance(o, URIRef) and any(str(o).startswith(f"{ID}{k}/") for k in kinds)}
    assert used and used <= concepts, sorted(used - concepts)


def test_n_ary_nodes_point_to_described_things():
    g = everything()
    described = set(g.subjects(RDF.type, None))
    for prop in (ORG.member, ORG.organization, INO.participant, INO.inEvent, INO.onBehalfOf,
                 INO.presentedProject, INO.recognisedEntity, INO.recognisedBy, INO.carriedBy):
        for target in g.objects(None, prop):
            assert target in described, (prop, target)
