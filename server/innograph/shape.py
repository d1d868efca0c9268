"""A gathered description (describe.py) shaped for a page: labels in the page's language, links
rewritten to this server, statements grouped by predicate with the numbered sources that state
them, n-ary nodes (memberships, participations…) as relations with their role, period, quote
and cited document. Pure: no Flask, no store; ``link`` turns an IRI into the href to use.

What graph/inferred adds (supertypes, superproperties) stays visible but marked as inferred in
the statements, and is left out of the relation cards, which show what the sources state.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from pyoxigraph import Literal, NamedNode, Quad, Triple

from . import i18n, periods
from .describe import Gathered, Term
from .namespaces import BASE, PREFIXES
from .page_text import TERM_LABELS

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS, DCT, SKOS, XSD = (PREFIXES[p] for p in ("rdfs", "dcterms", "skos", "xsd"))
RDF_TYPE, QUOTE, SOURCE = RDF + "type", PREFIXES["ino"] + "quote", DCT + "source"
LABELS = (RDFS + "label", SKOS + "prefLabel", "http://schema.org/name", "http://xmlns.com/foaf/0.1/name", DCT + "title")
DESCRIPTIONS = (DCT + "description", SKOS + "definition", RDFS + "comment", "http://schema.org/description")
TITLES = (RDFS + "label", DCT + "title")
AUTHORS = (DCT + "creator", DCT + "publisher", "http://www.w3.org/ns/prov#wasAttributedTo", "http://schema.org/author")
DATES = (DCT + "date", DCT + "issued", DCT + "created", "http://schema.org/datePublished",
         "http://www.w3.org/ns/prov#generatedAtTime")
URLS = ("http://xmlns.com/foaf/0.1/page", "http://schema.org/url", "http://www.w3.org/ns/dcat#landingPage")
KIND_ORDER = ("source", "outside", "contribution", "meta", "ontology", "shapes", "other", "inferred")

Link = Callable[[str], str]


@dataclass
class Value:
    """A term as shown: text, an href when it is an IRI, language and datatype for literals."""

    text: str
    href: str | None = None
    iri: str | None = None
    lang: str | None = None
    datatype: str | None = None  # prefixed name (xsd:gYear); None for strings and lang strings
    blank: bool = False


@dataclass
class Row:
    """One statement: its predicate, value and the numbers of the sources that state it."""

    predicate: Value
    value: Value
    sources: list[int]
    inferred: bool = False  # only graph/inferred holds it


@dataclass
class Relation:
    """An n-ary node around the thing: how it links to the thing, its kind and its facts."""

    node: Value
    via: Value  # the predicate between the thing and the node
    incoming: bool  # True when the node points to the thing (membership org:member thing)
    kinds: list[Value]
    rows: list[Row]
    period: str | None
    quotes: list[Value]
    cited: list[Value]  # dcterms:source: the document (part) that states it
    sources: list[int]


@dataclass
class Source:
    """A named graph that holds something shown, and the document it comes from."""

    number: int
    graph: str
    kind: str  # source, outside, contribution, inferred, ontology, shapes, meta, other
    title: str | None
    authors: list[Value] = field(default_factory=list)
    date: str | None = None
    identifier: str | None = None
    url: str | None = None
    document: Value | None = None
    quotes: list[Value] = field(default_factory=list)  # the thing's own quotes in this graph
    graph_href: str | None = None


@dataclass
class Page:
    iri: str
    label: str
    types: list[Value]
    summary: str | None
    outgoing: list[tuple[Value, list[Row]]]
    incoming: list[tuple[Value, list[Row]]]
    relations: list[Relation]
    sources: list[Source]
    truncated: bool

    def source(self, number: int) -> Source | None:
        return next((s for s in self.sources if s.number == number), None)

    def relation_groups(self, table_from: int = 9) -> list[tuple[Value, bool, list[Relation], list[Value] | None]]:
        """The relations by linking predicate: (via, incoming, relations, columns); ``columns``
        (the predicates of their facts) when a group is long enough for a table, else None."""
        groups: dict[tuple[str | None, bool], list[Relation]] = {}
        for r in self.relations:
            groups.setdefault((r.via.iri, r.incoming), []).append(r)
        out = []
        for (_, incoming), relations in groups.items():
            columns = None
            if len(relations) >= table_from:
                seen: dict[str | None, Value] = {}
                for r in relations:
                    for row in r.rows:
                        seen.setdefault(row.predicate.iri, row.predicate)
                columns = sorted(seen.values(), key=lambda v: v.text.lower())
            out.append((relations[0].via, incoming, relations, columns))
        return out


class Shaper:
    """Shapes one gathered description in one language (labels, links, source numbers)."""

    def __init__(self, gathered: Gathered, lang: str, link: Link) -> None:
        self.g, self.lang, self.link = gathered, lang, link
        self.this = NamedNode(gathered.iri)
        self.by_subject: dict[Term, list[Quad]] = {}
        for quad in gathered.quads:
            self.by_subject.setdefault(quad.subject, []).append(quad)
        # Sources numbered in a stable order: the documents first, what is inferred last.
        graphs = sorted({q.graph_name.value for q in gathered.quads}, key=lambda g: (KIND_ORDER.index(graph_kind(g)), g))
        self.numbers = {name: n for n, name in enumerate(graphs, 1)}

    def label(self, iri: str) -> str:
        return label_of(iri, self.g.labels.get(iri, ()), self.lang)

    def value(self, term: Term) -> Value:
        if isinstance(term, NamedNode):
            return Value(self.label(term.value), self.link(term.value), term.value)
        if isinstance(term, Literal):
            datatype = term.datatype.value
            shown = None if datatype in (XSD + "string", RDF + "langString") else compact(datatype)
            return Value(term.value, lang=term.language, datatype=shown)
        if isinstance(term, Triple):
            parts = (self.value(t).text for t in (term.subject, term.predicate, term.object))
            return Value("<< {} {} {} >>".format(*parts))
        return Value(f"_:{term.value}", blank=True)

    def row(self, predicate: Term, value: Term, graphs: list[str]) -> Row:
        inferred = all(graph_kind(g) == "inferred" for g in graphs)
        return Row(self.value(predicate), self.value(value), sorted({self.numbers[g] for g in graphs}), inferred)

    # -- the page ------------------------------------------------------------------------------
    def page(self) -> Page:
        this, nary = self.this, self.g.nary
        out: dict[tuple[Term, Term], list[str]] = {}
        inc: dict[tuple[Term, Term], list[str]] = {}
        linked: dict[Term, dict[tuple[Term, bool], list[str]]] = {}  # n-ary node → (via, incoming) → graphs
        quotes: dict[str, list[Value]] = {}
        for q in self.g.quads:
            graph = q.graph_name.value
            if q.subject == this and q.predicate.value == QUOTE:
                quotes.setdefault(graph, []).append(self.value(q.object))
            elif q.subject == this and q.object in nary:
                linked.setdefault(q.object, {}).setdefault((q.predicate, False), []).append(graph)
            elif q.subject == this:
                out.setdefault((q.predicate, q.object), []).append(graph)
            elif q.object == this and q.subject in nary:
                linked.setdefault(q.subject, {}).setdefault((q.predicate, True), []).append(graph)
            elif q.object == this:
                inc.setdefault((q.predicate, q.subject), []).append(graph)
        stated = [o for (p, o), graphs in out.items() if p.value == RDF_TYPE and not self.row(p, o, graphs).inferred]
        summaries = [(o.value, o.language) for (p, o) in out if p.value in DESCRIPTIONS and isinstance(o, Literal)]
        relations = [self._relation(node, links) for node, links in linked.items()]
        relations.sort(key=lambda r: (r.via.text, r.kinds[0].text if r.kinds else "", r.period or "", r.node.text))
        sources = [self._source(name, n) for name, n in self.numbers.items()]
        for source in sources:
            source.quotes = quotes.get(source.graph, [])
        return Page(
            iri=self.g.iri, label=self.label(self.g.iri), types=[self.value(t) for t in stated],
            summary=i18n.pick(summaries, self.lang), outgoing=self._grouped(out), incoming=self._grouped(inc),
            relations=relations, sources=sources, truncated=self.g.truncated,
        )

    def _grouped(self, statements: dict[tuple[Term, Term], list[str]]) -> list[tuple[Value, list[Row]]]:
        groups: dict[Term, list[Row]] = {}
        for (predicate, other), graphs in statements.items():
            groups.setdefault(predicate, []).append(self.row(predicate, other, graphs))
        order = sorted(groups, key=lambda p: (p.value != RDF_TYPE, self.label(p.value).lower()))
        return [(self.value(p), sorted(groups[p], key=lambda r: (r.inferred, r.value.text.lower(), r.value.lang or "")))
                for p in order]

    def _relation(self, node: Term, links: dict[tuple[Term, bool], list[str]]) -> Relation:
        """The card of ``node``: what the sources state of it (not what is inferred), except its
        labels and the link back to the thing; its period, quotes and cited document aside."""
        stated = [k for k, graphs in links.items() if any(graph_kind(g) != "inferred" for g in graphs)]
        via, incoming = min(stated or links, key=lambda k: (k[0].value != RDF_TYPE, self.label(k[0].value)))
        kinds, rows, quotes, cited = [], [], [], []
        graphs = {g for gs in links.values() for g in gs}
        for q in self.by_subject.get(node, ()):
            graph, p = q.graph_name.value, q.predicate.value
            graphs.add(graph)
            if graph_kind(graph) == "inferred" or q.object == self.this or p in periods.LINKS or p in LABELS:
                continue
            target = {RDF_TYPE: kinds, QUOTE: quotes, SOURCE: cited}.get(p)
            if target is not None:
                target.append(self.value(q.object))
            else:
                rows.append(self.row(q.predicate, q.object, [graph]))
        # In a card, a text given in several languages shows in the page's language only.
        in_lang = {r.predicate.iri for r in rows if r.value.lang and r.value.lang.split("-")[0] == self.lang}
        rows = [r for r in rows if r.predicate.iri not in in_lang or not r.value.lang or r.value.lang.split("-")[0] == self.lang]
        rows.sort(key=lambda r: (r.predicate.text.lower(), r.value.text.lower()))
        stated_graphs = {g for g in graphs if graph_kind(g) != "inferred"} or graphs
        return Relation(self.value(node), self.value(via), incoming, kinds, rows, periods.period(self._objects, node),
                        quotes, cited, sorted(self.numbers[g] for g in stated_graphs))

    def _objects(self, subject: Term, predicates) -> list[Term]:
        return [q.object for q in self.by_subject.get(subject, ()) if q.predicate.value in predicates]

    # -- sources -------------------------------------------------------------------------------
    def _source(self, graph: str, number: int) -> Source:
        record = self.g.graphs.get(graph, {})
        documents = self.g.derived_from.get(graph, [])
        doc_record = self.g.documents.get(documents[0], {}) if documents else {}

        def first(predicates: tuple[str, ...]) -> list[Term]:
            for rec in (doc_record, record):
                for p in predicates:
                    if rec.get(p):
                        return rec[p]
            return []

        titles = [(t.value, t.language) for t in first(TITLES) if isinstance(t, Literal)]
        dates, ids = first(DATES), first((DCT + "identifier",))
        urls = [u for u in first(URLS) if isinstance(u, NamedNode)]
        return Source(
            number=number, graph=graph, kind=graph_kind(graph), graph_href=self.link(graph),
            title=i18n.pick(titles, self.lang) or (self.label(documents[0]) if documents else None),
            authors=[self.value(a) for a in first(AUTHORS)],
            date=dates[0].value if dates else None, identifier=ids[0].value if ids else None,
            url=urls[0].value if urls else None,
            document=self.value(NamedNode(documents[0])) if documents else None,
        )


def label_of(iri: str, labels, lang: str) -> str:
    """The label of ``iri`` in ``lang`` from the graph's labels, else our label of a standard
    term (org:member → membre), else its prefixed name."""
    found = i18n.pick(labels, lang)
    if found:
        return found
    short = compact(iri)
    standard = TERM_LABELS.get(short)
    if standard:
        return standard[i18n.LANGUAGES.index(lang)] if lang in i18n.LANGUAGES else standard[0]
    return short


def graph_kind(graph: str) -> str:
    """What a named graph holds, from its name (graph/source/…, graph/contribution/…)."""
    rest = graph.split("/graph/", 1)[-1] if "/graph/" in graph else ""
    head = rest.split("/", 1)[0]
    return head if head in KIND_ORDER else "other"


def compact(iri: str) -> str:
    """A prefixed name (ino:Pole, xsd:gYear) for IRIs in a known namespace; ``pole/biowin`` for
    our things; else the IRI."""
    for prefix, namespace in PREFIXES.items():
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return f"{prefix}:{iri[len(namespace):]}"
    for namespace in (BASE + "id/", BASE):
        if iri.startswith(namespace) and len(iri) > len(namespace):
            return iri[len(namespace):]
    return iri


def shape(gathered: Gathered, lang: str, link: Link) -> Page:
    """The page model of a gathered description, in ``lang``, with hrefs from ``link``."""
    return Shaper(gathered, lang, link).page()
