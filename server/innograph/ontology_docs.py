"""Documentation of the ontology (ontology/*.ttl) and of the SHACL shapes (shapes/*.ttl), read
from the repository's files: pure functions from triples to a page model.

Our own template rather than pyLODE: pyLODE renders one language per page (its
``default_language``) where ours shows French and English side by side; it knows nothing of
SHACL, where each of our terms lists the shapes that constrain it; it brings its own page shell
instead of base.html (navigation, language switch); and pyLODE 3.4.1 fails at import in our
environment (it looks for a pyproject.toml in site-packages).

Every ``ino:`` term gets an element ``id="{local name}"`` on /ontology, so that the term's IRI
``https://w3id.org/innograph/ontology#Term`` (which w3id resolves to /ontology) lands on its
entry; every ``inosh:`` shape likewise on /shapes.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pyoxigraph import BlankNode, Literal, NamedNode, Triple

from . import i18n
from .namespaces import INO, INOSH, PREFIXES

RDF, RDFS, OWL, SKOS, SH, DCT = (PREFIXES[p] for p in ("rdf", "rdfs", "owl", "skos", "sh", "dcterms"))
ONTOLOGY_IRI, SHAPES_IRI = str(INO).rstrip("#"), str(INOSH).rstrip("#")
KINDS = (  # (rdf:type, kind) in the order of the page
    (OWL + "Class", "classes"), (OWL + "ObjectProperty", "object_properties"),
    (OWL + "DatatypeProperty", "datatype_properties"), (OWL + "AnnotationProperty", "other_properties"),
    (RDF + "Property", "other_properties"),
)
TEXTS = {"label": RDFS + "label", "definition": SKOS + "definition", "scope_note": SKOS + "scopeNote",
         "example": SKOS + "example", "comment": RDFS + "comment"}
SHAPE_TEXTS = {"label": SH + "name", "definition": SH + "description", "message": SH + "message"}
LIST_JOINS = {SH + "or": " | ", SH + "xone": " | ", SH + "and": " & ", SH + "in": ", ", SH + "languageIn": ", "}
SHAPE_HIDDEN = {SH + "name", SH + "description", SH + "message", SH + "property", SH + "path", RDF + "type"}

Link = Callable[[str], str]


@dataclass
class Ref:
    text: str
    href: str | None = None
    iri: str | None = None


@dataclass
class Entry:
    """One documented term or shape."""

    id: str
    iri: str
    kind: str
    texts: dict[str, dict[str, list[str]]]  # field → language → texts
    facts: list[tuple[str, list[Ref]]] = field(default_factory=list)  # (message key, values)
    properties: list["Entry"] = field(default_factory=list)  # the property shapes of a node shape

    def text(self, name: str, lang: str) -> str | None:
        values = self.texts.get(name, {})
        return (values.get(lang) or [None])[0]


class Index:
    """Triples indexed by subject and by object, with labels and links in one language."""

    def __init__(self, triples: Iterable[Triple], lang: str, link: Link, labels: dict[str, list] | None = None) -> None:
        self.out: dict[object, dict[str, list]] = {}
        self.inc: dict[object, dict[str, list]] = {}
        self.lang, self.link, self.labels = lang, link, dict(labels or {})
        for t in triples:
            self.out.setdefault(t.subject, {}).setdefault(t.predicate.value, []).append(t.object)
            self.inc.setdefault(t.object, {}).setdefault(t.predicate.value, []).append(t.subject)
            if t.predicate.value in (RDFS + "label", SH + "name") and isinstance(t.object, Literal):
                self.labels.setdefault(t.subject.value, []).append((t.object.value, t.object.language))

    def objects(self, s, p: str) -> list:
        return self.out.get(s, {}).get(p, [])

    def subjects(self, p: str, o) -> list:
        return self.inc.get(o, {}).get(p, [])

    def texts(self, s, fields: dict[str, str]) -> dict[str, dict[str, list[str]]]:
        out: dict[str, dict[str, list[str]]] = {}
        for name, p in fields.items():
            for o in self.objects(s, p):
                if isinstance(o, Literal):
                    out.setdefault(name, {}).setdefault(o.language or "", []).append(o.value)
        return out

    def ref(self, term) -> Ref:
        """A term as a link: ino:/inosh: terms by label, others by prefixed name; lists and
        class expressions (owl:unionOf, sh:or …) spelled out."""
        if isinstance(term, NamedNode):
            from .shape import compact

            own = term.value.startswith((str(INO), str(INOSH)))
            text = (i18n.pick(self.labels.get(term.value, ()), self.lang) if own else None) or compact(term.value)
            return Ref(text, self.link(term.value), term.value)
        if isinstance(term, Literal):
            return Ref(term.value)
        return Ref(self.describe_node(term))

    def items(self, node) -> list:
        """The members of an RDF list."""
        out, seen = [], set()
        while isinstance(node, BlankNode) and node not in seen:
            seen.add(node)
            out += self.objects(node, RDF + "first")
            node = (self.objects(node, RDF + "rest") or [None])[0]
        return out

    def describe_node(self, node) -> str:
        for p, word in ((OWL + "unionOf", " | "), (SH + "or", " | "), (SH + "and", " & "), (OWL + "intersectionOf", " & ")):
            for head in self.objects(node, p):
                return "(" + word.join(self.ref(x).text for x in self.items(head)) + ")"
        if self.objects(node, RDF + "first"):
            return "(" + " ".join(self.ref(x).text for x in self.items(node)) + ")"
        parts = [f"{self.ref(NamedNode(p)).text} {', '.join(self.ref(o).text for o in os)}"
                 for p, os in self.out.get(node, {}).items()]
        return "[" + " ; ".join(parts) + "]" if parts else "[]"


def local_name(iri: str) -> str:
    return iri.rsplit("#", 1)[-1] if "#" in iri else iri.rsplit("/", 1)[-1]


def header(index: Index, iri: str) -> dict:
    """Title, description and metadata of an owl:Ontology header (the ontology's or the shapes')."""
    node = NamedNode(iri)
    texts = index.texts(node, {"title": DCT + "title", "description": DCT + "description"})
    meta = [(key, [index.ref(o) for o in index.objects(node, p)]) for key, p in (
        ("version", OWL + "versionInfo"), ("license", DCT + "license"), ("namespace", "http://purl.org/vocab/vann/preferredNamespaceUri"))]
    return {"iri": iri, "texts": texts, "meta": [(k, v) for k, v in meta if v]}


def ontology_entries(index: Index, shapes: Index | None = None) -> list[tuple[str, list[Entry]]]:
    """The ontology's terms grouped by kind (classes, object, datatype, other properties)."""
    groups: dict[str, list[Entry]] = {kind: [] for _, kind in KINDS}
    seen: set[str] = set()
    for rdf_type, kind in KINDS:
        for term in index.subjects(RDF + "type", NamedNode(rdf_type)):
            if isinstance(term, NamedNode) and term.value.startswith(str(INO)) and term.value not in seen:
                seen.add(term.value)
                groups[kind].append(_term(index, shapes, term, kind))
    for entries in groups.values():
        entries.sort(key=lambda e: e.id.lower())
    return [(kind, entries) for kind, entries in groups.items() if entries]


def _term(index: Index, shapes: Index | None, term: NamedNode, kind: str) -> Entry:
    refs = lambda values: [index.ref(v) for v in values]  # noqa: E731
    own = lambda values: [v for v in values if isinstance(v, NamedNode) and v.value.startswith(str(INO))]  # noqa: E731
    other = lambda values: [v for v in values if not (isinstance(v, NamedNode) and v.value.startswith(str(INO)))]  # noqa: E731
    entry = Entry(local_name(term.value), term.value, kind, index.texts(term, TEXTS))
    if kind == "classes":
        supers = index.objects(term, RDFS + "subClassOf")
        facts = [("superclasses", own(supers)), ("subclasses", index.subjects(RDFS + "subClassOf", term)),
                 ("alignments", other(supers)), ("equivalent", index.objects(term, OWL + "equivalentClass")),
                 ("used_in_domain", index.subjects(RDFS + "domain", term)), ("used_in_range", index.subjects(RDFS + "range", term))]
        constrained = shapes.subjects(SH + "targetClass", term) if shapes else []
    else:
        supers = index.objects(term, RDFS + "subPropertyOf")
        facts = [("domain", index.objects(term, RDFS + "domain")), ("range", index.objects(term, RDFS + "range")),
                 ("superproperties", own(supers)), ("subproperties", index.subjects(RDFS + "subPropertyOf", term)),
                 ("alignments", other(supers)), ("equivalent", index.objects(term, OWL + "equivalentProperty")),
                 ("inverse", index.objects(term, OWL + "inverseOf") + index.subjects(OWL + "inverseOf", term))]
        constrained = shapes.subjects(SH + "path", term) if shapes else []
    if shapes is not None:
        facts.append(("constrained_by", constrained))
        entry.facts = [(key, [shapes.ref(v) for v in values] if key == "constrained_by" else refs(values))
                       for key, values in facts if values]
    else:
        entry.facts = [(key, refs(values)) for key, values in facts if values]
    return entry


def shape_entries(index: Index) -> list[Entry]:
    """The node shapes with their property shapes, in the order of their names."""
    node_shapes = [s for s in index.subjects(RDF + "type", NamedNode(SH + "NodeShape")) if isinstance(s, NamedNode)]
    entries = [_shape(index, s, "node") for s in sorted(node_shapes, key=lambda s: s.value)]
    for entry, node in zip(entries, sorted(node_shapes, key=lambda s: s.value)):
        entry.properties = [_shape(index, p, "property") for p in index.objects(node, SH + "property")]
        entry.properties += [_shape(index, c, "sparql") for c in index.objects(node, SH + "sparql") if isinstance(c, NamedNode)]
        entry.properties.sort(key=lambda e: e.id)
    return entries


def _shape(index: Index, node, kind: str) -> Entry:
    iri = node.value if isinstance(node, NamedNode) else ""
    entry = Entry(local_name(iri) if iri else f"_{node.value}", iri, kind, index.texts(node, SHAPE_TEXTS))
    path = index.objects(node, SH + "path")
    entry.facts = [("path", [index.ref(p) for p in path])] if path else []
    for p, values in sorted(index.out.get(node, {}).items()):
        named_sparql = kind == "node" and p == SH + "sparql" and all(isinstance(v, NamedNode) for v in values)  # own entries
        if not (p in SHAPE_HIDDEN or p in SHAPE_TEXTS.values() or named_sparql):
            entry.facts.append((index.ref(NamedNode(p)).text, [_constraint(index, p, v) for v in values]))
    return entry


def _constraint(index: Index, predicate: str, value) -> Ref:
    """A constraint's value: lists spelled out (``sh:or``: a | b), a SPARQL constraint as its
    message and query."""
    if predicate in LIST_JOINS and index.objects(value, RDF + "first"):
        return Ref(LIST_JOINS[predicate].join(index.ref(x).text for x in index.items(value)))
    if predicate == SH + "select":
        return Ref(textwrap.dedent(value.value).strip() + "\n")  # shown as a query block
    if isinstance(value, BlankNode) and index.objects(value, SH + "select"):
        message = i18n.pick([(m.value, m.language) for m in index.objects(value, SH + "message")], index.lang)
        return Ref((message + "\n" if message else "") + index.objects(value, SH + "select")[0].value)
    return index.ref(value)
