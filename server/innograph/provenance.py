"""Contribution records in ``graph/meta`` as PROV, and the write operations that carry them (pure).

For contribution ``{id}`` (IRIs under the base, ``G`` = ``graph/contribution/{id}``)::

    G a prov:Entity ; dcterms:identifier "{id}" ;
        prov:wasGeneratedBy <id/contribution/{id}> ; prov:wasAttributedTo <id/contributor/{slug}> ;
        prov:generatedAtTime "…"^^xsd:dateTime ; prov:wasDerivedFrom <id/document/contribution-{id}> ;
        dcterms:source <id/document/contribution-{id}> ; void:triples N ; adms:status <id/status/accepted> .
    <id/document/contribution-{id}> a ino:SourceDocument ; foaf:page <cited source> ;
        dcterms:identifier "contribution-{id}" ; dcterms:language "und" ;
        rdfs:label "Source citée par la contribution {id}"@fr , "Source cited by contribution {id}"@en .
    <id/contribution/{id}> a prov:Activity ; prov:wasAssociatedWith <id/contributor/{slug}> ;
        prov:endedAtTime "…" ; prov:used <urn:sha256:HEX> ; rdfs:comment "message" .
    <urn:sha256:HEX> a prov:Entity ; dcterms:format "text/turtle" .   # the archived payload
    <id/contributor/{slug}> a prov:Agent ; rdfs:label "name" .

The cited source is described as a document, like the seeds' in graph/meta (the shapes'
inosh:SourceGraphShape: a graph/contribution/{id} is derived from exactly one ino:SourceDocument;
inosh:ThingShape: its IRI is under id/ and it has fr and en labels): so graph/meta keeps
conforming as contributions are accepted. Its language is "und" (ISO 639-2: undetermined), as
nothing tells it.

A retraction replaces the status by ``<id/status/retracted>`` and adds
``G prov:wasInvalidatedBy <id/retraction/{id}> ; prov:invalidatedAtTime "…"`` with the
retraction an activity associated with the curator.  The record stays.

The write operations are those of the runtime's journal (``store.apply_ops``): accepting is one
record ``put_graph G`` + ``add`` (meta quads), so a crash leaves all of it or none of it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

import pyoxigraph as ox
from rdflib import RDF, RDFS, XSD, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, FOAF, PROV, VOID

from .namespaces import ADMS, INO
from .rdfinput import to_ox


@dataclass(frozen=True)
class Record:
    """What graph/meta says of one contribution."""

    id: str
    contributor: str
    at: str
    source: str
    message: str | None
    sha256: str
    media_type: str
    triples: int
    status: str  # "accepted" | "retracted"
    retracted_by: str | None = None
    retracted_at: str | None = None

    def as_dict(self) -> dict:
        return dict(self.__dict__)


class Iris:
    """The IRIs of a contribution's graph, activity, contributor and status under ``base``."""

    def __init__(self, base: str):
        self.base = base

    def graph(self, cid: str) -> URIRef:
        return URIRef(f"{self.base}graph/contribution/{cid}")

    def activity(self, cid: str) -> URIRef:
        return URIRef(f"{self.base}id/contribution/{cid}")

    def retraction(self, cid: str) -> URIRef:
        return URIRef(f"{self.base}id/retraction/{cid}")

    def document(self, cid: str) -> URIRef:
        return URIRef(f"{self.base}id/document/contribution-{cid}")

    def agent(self, name: str) -> URIRef:
        return URIRef(f"{self.base}id/contributor/{slug(name)}")

    def status(self, status: str) -> URIRef:
        return URIRef(f"{self.base}id/status/{status}")

    def meta(self) -> URIRef:
        return URIRef(f"{self.base}graph/meta")


def slug(name: str) -> str:
    """Lowercase ASCII with hyphens (DESIGN.md identifiers)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-") or "anonymous"


def record_triples(r: Record, iris: Iris) -> Graph:
    """The graph/meta triples of an accepted contribution."""
    g = Graph()
    graph, activity, agent = iris.graph(r.id), iris.activity(r.id), iris.agent(r.contributor)
    payload, document = URIRef(f"urn:sha256:{r.sha256}"), iris.document(r.id)
    at = Literal(r.at, datatype=XSD.dateTime)
    g += [
        (graph, RDF.type, PROV.Entity), (graph, DCTERMS.identifier, Literal(r.id)),
        (graph, PROV.wasGeneratedBy, activity), (graph, PROV.wasAttributedTo, agent),
        (graph, PROV.generatedAtTime, at), (graph, PROV.wasDerivedFrom, document),
        (graph, DCTERMS.source, document), (graph, VOID.triples, Literal(r.triples)),
        (document, RDF.type, INO.SourceDocument), (document, FOAF.page, URIRef(r.source)),
        (document, DCTERMS.identifier, Literal(f"contribution-{r.id}")), (document, DCTERMS.language, Literal("und")),
        (document, RDFS.label, Literal(f"Source citée par la contribution {r.id}", lang="fr")),
        (document, RDFS.label, Literal(f"Source cited by contribution {r.id}", lang="en")),
        (graph, ADMS.status, iris.status("accepted")),
        (activity, RDF.type, PROV.Activity), (activity, PROV.wasAssociatedWith, agent),
        (activity, PROV.endedAtTime, at), (activity, PROV.used, payload),
        (payload, RDF.type, PROV.Entity), (payload, DCTERMS.format, Literal(r.media_type)),
        (agent, RDF.type, PROV.Agent), (agent, RDFS.label, Literal(r.contributor)),
    ]
    if r.message:
        g.add((activity, RDFS.comment, Literal(r.message)))
    return g


def accept_ops(r: Record, data: Graph, iris: Iris) -> list[dict]:
    """One journal record's operations: the contribution's graph and its meta record."""
    return [
        {"op": "put_graph", "graph": str(iris.graph(r.id)), "data": _ntriples(data)},
        {"op": "add", "data": _nquads(record_triples(r, iris), iris.meta())},
    ]


def retract_ops(cid: str, curator: str, when: datetime, iris: Iris) -> list[dict]:
    """Drop the contribution's graph; the record says retracted, by whom and when."""
    graph, retraction, agent = iris.graph(cid), iris.retraction(cid), iris.agent(curator)
    at = Literal(when.isoformat(timespec="seconds"), datatype=XSD.dateTime)
    added = Graph()
    added += [
        (graph, ADMS.status, iris.status("retracted")), (graph, PROV.wasInvalidatedBy, retraction),
        (graph, PROV.invalidatedAtTime, at),
        (retraction, RDF.type, PROV.Activity), (retraction, PROV.wasAssociatedWith, agent),
        (retraction, PROV.endedAtTime, at),
        (agent, RDF.type, PROV.Agent), (agent, RDFS.label, Literal(curator)),
    ]
    removed = Graph()
    removed.add((graph, ADMS.status, iris.status("accepted")))
    return [
        {"op": "drop_graph", "graph": str(graph)},
        {"op": "remove", "data": _nquads(removed, iris.meta())},
        {"op": "add", "data": _nquads(added, iris.meta())},
    ]


def _ntriples(g: Graph) -> str:
    return ox.serialize([ox.Triple(to_ox(s), to_ox(p), to_ox(o)) for s, p, o in g], format=ox.RdfFormat.N_TRIPLES).decode()


def _nquads(g: Graph, graph: URIRef) -> str:
    name = ox.NamedNode(str(graph))
    quads = [ox.Quad(to_ox(s), to_ox(p), to_ox(o), name) for s, p, o in g]
    return ox.serialize(quads, format=ox.RdfFormat.N_QUADS).decode()
