"""The home page: what the dataset is (its VoID/DCAT description, kept by void.py in graph/void
and embedded in the page as JSON-LD), where it comes from (the source documents of graph/meta
and their graphs' sizes), counts by kind, the networks and organisations to browse, and the
links to everything else. Every query binds its graphs through substitutions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from flask import current_app, render_template
from pyoxigraph import Literal, NamedNode, Quad, RdfFormat, serialize

from . import i18n, shape, void
from .catalogue import load_catalogue
from .namespaces import PREFIXES, graph_iri
from .pages import bp, link, negotiated, select, sparql_links

RDF_TYPE, INO = shape.RDF_TYPE, PREFIXES["ino"]
VOID, DCT, RDFS = PREFIXES["void"], PREFIXES["dcterms"], PREFIXES["rdfs"]
NETWORK, ORGANISATION = INO + "InnovationNetwork", INO + "Organisation"

QUERIES = {
    "void": "SELECT ?void ?s ?p ?o WHERE { GRAPH ?void { ?s ?p ?o } }",
    "sources": """PREFIX prov: <http://www.w3.org/ns/prov#>
SELECT ?meta ?g ?d ?p ?o ?l WHERE {
  GRAPH ?meta { ?g prov:wasDerivedFrom ?d . ?d ?p ?o }
  OPTIONAL { ?o ?lp ?l . VALUES ?lp { <http://www.w3.org/2000/01/rdf-schema#label> <http://xmlns.com/foaf/0.1/name> } }
}""",
    # The organisations (typed so by a source or by graph/inferred) with the classes the sources
    # state and their labels. (No rdfs:subClassOf*: a property path costs 30x more.)
    "organisations": """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?inferred ?top ?s ?c ?l WHERE {
  ?s a ?top .
  GRAPH ?g { ?s a ?c } FILTER(?g != ?inferred)
  OPTIONAL { ?s rdfs:label ?l }
}""",
    # Counts by class when graph/void (void.py) has no class partitions yet.
    "counts": """SELECT ?ino ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a ?c FILTER(STRSTARTS(STR(?c), STR(?ino))) } GROUP BY ?ino ?c""",
    "classes": """PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?ontology ?c ?p ?o WHERE { GRAPH ?ontology { ?c ?p ?o } VALUES ?p { rdfs:label rdfs:subClassOf } }""",
}


@dataclass
class Group:
    """Things of one class, for the browsable lists."""

    cls: shape.Value
    things: list[shape.Value] = field(default_factory=list)


def _rows(query: str, **bound: str) -> list[Mapping]:
    return list(select(QUERIES[query], {name: NamedNode(iri) for name, iri in bound.items()}))


def _pick(literals: Iterable, lang: str) -> str | None:
    return i18n.pick([(x.value, x.language) for x in literals if isinstance(x, Literal)], lang)


@bp.route("/")
def home():
    lang = i18n.request_lang()
    void_quads = [Quad(r["s"], r["p"], r["o"], r["void"]) for r in _rows("void", void=graph_iri("void"))]
    by_subject: dict[str, dict[str, list]] = {}
    for q in void_quads:
        by_subject.setdefault(str(q.subject), {}).setdefault(q.predicate.value, []).append(q.object)
    dataset = by_subject.get(str(NamedNode(void.DATASET)), {})
    classes = _class_table()

    def label(iri: str) -> str:
        return shape.label_of(iri, classes["labels"].get(iri, ()), lang)

    sizes = {str(g): int(by_subject.get(str(g), {}).get(VOID + "triples", [Literal("0")])[0].value) for g in dataset.get(VOID + "subset", [])}
    counts = _counts(dataset, by_subject, label)
    networks, organisations = _organisations(classes, label, lang)
    examples = [(e.title_in(lang), e.description_in(lang), sparql_links(e.query)["editor"]) for e in _catalogue()]
    body = render_template(
        "home.html",
        title=_pick(dataset.get(DCT + "title", []), lang), description=_pick(dataset.get(DCT + "description", []), lang),
        triples=_first_int(dataset.get(VOID + "triples")), entities=_first_int(dataset.get(VOID + "entities")),
        counts=counts, networks=networks, organisations=organisations, sources=_sources(lang, sizes),
        examples=examples, void_jsonld=_embeddable(void_quads),
    )
    return negotiated("html", body)


def _counts(dataset: dict, by_subject: dict, label) -> list[tuple[shape.Value, int]]:
    """Things per ino: class: graph/void's class partitions, or a count query without them."""
    found: list[tuple[str, int]] = []
    for part in dataset.get(VOID + "classPartition", []):
        facts = by_subject.get(str(part), {})
        cls, n = facts.get(VOID + "class", [None])[0], facts.get(VOID + "entities", [None])[0]
        if isinstance(cls, NamedNode) and cls.value.startswith(INO) and n is not None:
            found.append((cls.value, int(n.value)))
    if not found:
        found = [(row["c"].value, int(row["n"].value)) for row in _rows("counts", ino=INO)]
    counts = [(shape.Value(label(cls), link(cls), cls), n) for cls, n in found]
    return sorted(counts, key=lambda c: (-c[1], c[0].text))


def _first_int(values) -> int | None:
    return int(values[0].value) if values else None


def _class_table() -> dict:
    """Labels and direct superclasses of the ontology's classes."""
    labels: dict[str, list] = {}
    supers: dict[str, set[str]] = {}
    for row in _rows("classes", ontology=graph_iri("ontology")):
        if row["p"].value == RDFS + "label":
            labels.setdefault(row["c"].value, []).append((row["o"].value, row["o"].language))
        elif isinstance(row["o"], NamedNode):
            supers.setdefault(row["c"].value, set()).add(row["o"].value)
    return {"labels": labels, "supers": supers}


def _depth(cls: str, supers: dict[str, set[str]], seen: frozenset = frozenset()) -> int:
    parents = supers.get(cls, set()) - seen - {cls}
    return 1 + max((_depth(p, supers, seen | {cls}) for p in parents), default=0)


def _is_subclass(cls: str, ancestor: str, supers: dict[str, set[str]], seen: frozenset = frozenset()) -> bool:
    parents = supers.get(cls, set()) - seen
    return ancestor in parents or any(_is_subclass(p, ancestor, supers, seen | {cls}) for p in parents)


def _organisations(classes: dict, label, lang: str) -> tuple[list[Group], list[Group]]:
    """Networks and other organisations, each under its most specific stated class."""
    rows = _rows("organisations", inferred=graph_iri("inferred"), top=ORGANISATION)
    stated: dict[str, set[str]] = {}
    names: dict[str, list] = {}
    for row in rows:
        stated.setdefault(row["s"].value, set()).add(row["c"].value)
        if row.get("l") is not None:
            names.setdefault(row["s"].value, []).append((row["l"].value, row["l"].language))
    network_classes = {c for c in classes["supers"] if _is_subclass(c, NETWORK, classes["supers"])} | {NETWORK}
    groups: dict[str, Group] = {}
    for thing, types in stated.items():
        cls = max(types, key=lambda c: (_depth(c, classes["supers"]), c))
        group = groups.setdefault(cls, Group(shape.Value(label(cls), link(cls), cls)))
        group.things.append(shape.Value(i18n.pick(names.get(thing, ()), lang) or shape.compact(thing), link(thing), thing))
    for group in groups.values():
        group.things.sort(key=lambda v: v.text.lower())
    ordered = sorted(groups.values(), key=lambda g: (-len(g.things), g.cls.text))
    return ([g for g in ordered if g.cls.iri in network_classes], [g for g in ordered if g.cls.iri not in network_classes])


def _sources(lang: str, sizes: Mapping[str, int]) -> list[dict]:
    """The source documents, with their graph and its size."""
    docs: dict[str, dict] = {}
    for row in _rows("sources", meta=graph_iri("meta")):
        doc = docs.setdefault(row["d"].value, {"graph": row["g"].value, "facts": {}})
        value = row["o"]
        shown = (row["l"].value, row["l"].language) if row.get("l") is not None else (value.value, getattr(value, "language", None))
        doc["facts"].setdefault(row["p"].value, []).append(shown)
    out = []
    for iri, doc in docs.items():
        facts = doc["facts"]
        out.append({
            "document": shape.Value(i18n.pick(facts.get(RDFS + "label", []) or facts.get(DCT + "title", []), lang) or shape.compact(iri), link(iri), iri),
            "author": i18n.pick(facts.get(DCT + "creator", []) or facts.get(DCT + "publisher", []), lang),
            "date": i18n.pick(facts.get(DCT + "date", []), lang),
            "identifier": i18n.pick(facts.get(DCT + "identifier", []), lang),
            "graph": doc["graph"], "triples": sizes.get(str(NamedNode(doc["graph"]))),
        })
    return sorted(out, key=lambda s: s["graph"])


def _catalogue():
    from .ui import queries_dir

    return load_catalogue(queries_dir(current_app.config))


# graph/void's statistics hang off the dataset through these: thousands of partitions that a
# search engine reading the page has no use for (the whole graph made the page ~280 kB).
PARTITIONS = frozenset({VOID + "classPartition", VOID + "propertyPartition", VOID + "subset"})


def _embeddable(quads: list[Quad]) -> str:
    """The dataset's own description (title, licence, distributions, ...: its triples and those
    of the nodes it links to, other than its partitions and subsets, whose statistics are at
    /.well-known/void) as JSON-LD that is safe inside a <script> element."""
    dataset = NamedNode(void.DATASET)
    linked = {q.object for q in quads if q.subject == dataset and q.predicate.value not in PARTITIONS}
    kept = [q.triple for q in quads if (q.subject == dataset and q.predicate.value not in PARTITIONS) or q.subject in linked]
    data = json.loads(serialize(kept, format=RdfFormat.JSON_LD) or b"[]")
    return json.dumps(data, ensure_ascii=False).replace("</", "<\\/")

