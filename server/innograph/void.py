"""The VoID + DCAT description of the dataset, computed from the store and kept in graph/void.

Why a graph of its own (listed in graph/meta as a ``void:DatasetDescription``): it is replaced
wholesale after every load and write (no surgical deletion inside the curated graph/meta), and its
counts describe every other graph, so they never depend on their own size. Being in the store, it
is queryable like the data (``GRAPH <…/graph/void>``), part of the dumps, and dereferenceable at
``id/dataset/innograph``.

Counts (SPARQL aggregates, memory bounded by the overlap between graphs, not by the data):
``void:triples`` of the dataset is the number of distinct triples in the union of the graphs
(the SPARQL default graph, the Turtle and N-Triples dumps); of each named graph (``void:subset``),
its own size. Property partitions count distinct triples per predicate (they sum to the total),
class partitions distinct instances per class. A triple stated in several graphs is counted once:
the copies are found as for the union dumps (overlap.py).

This module imports only pyoxigraph: it runs where the store is (loader, fork server).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

from pyoxigraph import BlankNode, Literal, NamedNode, Quad, RdfFormat, Store, Triple

from . import overlap
from .dumps import distributions
from .lease import PREFIX as NOT_DATA

BASE = "https://w3id.org/innograph/"
DATASET = BASE + "id/dataset/innograph"
GRAPH = BASE + "graph/void"
META = BASE + "graph/meta"
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
IANA = "http://www.iana.org/assignments/media-types/"
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#", "void": "http://rdfs.org/ns/void#",
    "dcat": "http://www.w3.org/ns/dcat#", "dcterms": "http://purl.org/dc/terms/", "foaf": "http://xmlns.com/foaf/0.1/",
    "prov": "http://www.w3.org/ns/prov#", "sd": "http://www.w3.org/ns/sparql-service-description#",
    "xsd": "http://www.w3.org/2001/XMLSchema#", "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
}
TEXTS = {
    "title": ("innograph : un graphe de connaissances des réseaux d'innovation",
              "innograph: a knowledge graph of innovation networks"),
    "description": (
        "Les réseaux d'innovation — pôles de compétitivité wallons, clusters, hubs et réseaux de recherche — "
        "leurs membres, projets, événements et personnes, tels que chaque source les décrit : un graphe nommé par "
        "source, décrit dans graph/meta, plus l'ontologie, les formes SHACL et les inférences. Le graphe par défaut "
        "des requêtes SPARQL est l'union des graphes.",
        "Innovation networks — Walloon competitiveness poles, clusters, hubs and research networks — their "
        "members, projects, events and people, as each source describes them: one named graph per source, "
        "described in graph/meta, plus the ontology, the SHACL shapes and the inferences. The default graph of "
        "SPARQL queries is the union of the graphs."),
    "keywords": (("pôles de compétitivité", "clusters", "réseaux d'innovation", "Wallonie", "analyse de réseaux"),
                 ("competitiveness poles", "clusters", "innovation networks", "Wallonia", "network analysis")),
    "void_graph": ("Description VoID et DCAT du jeu de données", "VoID and DCAT description of the dataset"),
    "endpoint": ("Point d'accès SPARQL 1.1 (lecture seule)", "SPARQL 1.1 endpoint (read-only)"),
}
# pyoxigraph 0.5.13 names JSON-LD https://www.w3.org/ns/formats/data/JSON-LD; the W3C registry
# (https://www.w3.org/ns/formats/) says formats:JSON-LD.
FORMAT_IRI_FIXES = {"https://www.w3.org/ns/formats/data/JSON-LD": "http://www.w3.org/ns/formats/JSON-LD"}


def iri(prefixed: str) -> NamedNode:
    prefix, local = prefixed.split(":", 1)
    return NamedNode(NS[prefix] + local)


def _int(value: int) -> Literal:
    return Literal(str(value), datatype=iri("xsd:integer"))


def _texts(subject: NamedNode | BlankNode, prop: str, key: str) -> Iterator[Triple]:
    for lang, text in zip(("fr", "en"), TEXTS[key]):
        yield Triple(subject, iri(prop), Literal(text, language=lang))


def _node(kind: str, value: str) -> BlankNode:
    """A blank node with a stable label: rebuilding gives the same quads."""
    return BlankNode(f"void{kind}{hashlib.sha1(value.encode()).hexdigest()[:16]}")


def _rows(store: Store | Any, query: str) -> list[dict[str, Any]]:
    """Solutions as dicts, from a Store or from the runtime (``terms``, which runs in an executor:
    the web process can compute the description before graph/void exists)."""
    if isinstance(store, Store):
        result = store.query(query)
        names, rows = [v.value for v in result.variables], result
    else:
        _, (names, rows), _ = store.terms(query, max_rows=10**9)
    return [dict(zip(names, row)) for row in rows]


def partitions(store: Store | Any) -> tuple[list[tuple[NamedNode, dict[overlap.Key, int]]], dict[NamedNode, int], dict[NamedNode, int]]:
    """(each named graph with its quads counted by key, distinct triples per property, distinct
    instances per class): one counting scan, minus the copies a later graph repeats (overlap.py);
    graph/void left out, and an external store's write lease (lease.py: not data)."""
    graphs = [(g, keys) for g, keys in overlap.census(lambda text: _rows(store, text))
              if g != NamedNode(GRAPH) and not g.value.startswith(NOT_DATA)]
    properties: dict[NamedNode, int] = {}
    classes: dict[NamedNode, int] = {}
    for _, keys in graphs:
        for (prop, cls), n in keys.items():
            properties[NamedNode(prop)] = properties.get(NamedNode(prop), 0) + n
            if cls is not None:
                classes[NamedNode(cls)] = classes.get(NamedNode(cls), 0) + n
    for _, query in overlap.repeats(graphs):
        if query is not None:
            rows = _rows(store, f"SELECT ?p ?c (COUNT(*) AS ?n) {{ {{ {query} }} {overlap.KEY_BIND} }} GROUP BY ?p ?c")
            for r in rows:
                properties[r["p"]] -= int(r["n"].value)
                if r["c"] is not None:
                    classes[r["c"]] -= int(r["n"].value)
    return graphs, properties, classes


def _partitions(subject: NamedNode, properties: dict[NamedNode, int], classes: dict[NamedNode, int]) -> list[Triple]:
    """void:classPartition and void:propertyPartition of ``subject`` (stable blank nodes)."""
    out: list[Triple] = []
    for kind, counts, prop, measure in (("c", classes, "void:class", "void:entities"), ("p", properties, "void:property", "void:triples")):
        for term, n in sorted(counts.items(), key=lambda item: str(item[0])):
            part = _node(kind, f"{subject.value} {term}")
            out += [Triple(subject, iri("void:classPartition" if kind == "c" else "void:propertyPartition"), part),
                    Triple(part, iri(prop), term), Triple(part, iri(measure), _int(n))]
    return out


def _graph_partitions(keys: dict[overlap.Key, int]) -> tuple[dict[NamedNode, int], dict[NamedNode, int]]:
    """(quads per property, per class) of one graph, from its census keys."""
    properties: dict[NamedNode, int] = {}
    classes = {NamedNode(cls): n for (_, cls), n in keys.items() if cls is not None}
    for (prop, _), n in keys.items():
        properties[NamedNode(prop)] = properties.get(NamedNode(prop), 0) + n
    return properties, classes


def _namespace(value: str) -> str:
    cut = max(value.rfind("#"), value.rfind("/"))
    return value[: cut + 1]


def listing() -> list[Quad]:
    """The quads of graph/meta that name graph/void as the description of the dataset."""
    listed = NamedNode(GRAPH)
    triples = [Triple(listed, iri("rdf:type"), iri("void:DatasetDescription")), Triple(listed, iri("foaf:primaryTopic"), NamedNode(DATASET)),
               *_texts(listed, "dcterms:title", "void_graph")]
    return [Quad(t.subject, t.predicate, t.object, NamedNode(META)) for t in triples]


def build_description(store: Store | Any) -> list[Quad]:
    """The quads of graph/void, describing the store as it is (graph/void left out).

    ``store``: a pyoxigraph Store, or the runtime (anything with executor.QueryService.terms).
    """
    graphs, properties, classes = partitions(store)
    ds = NamedNode(DATASET)
    out: list[Triple] = [Triple(ds, iri("rdf:type"), iri("void:Dataset")), Triple(ds, iri("rdf:type"), iri("dcat:Dataset"))]
    out += _texts(ds, "dcterms:title", "title")
    out += _texts(ds, "dcterms:description", "description")
    for lang, words in zip(("fr", "en"), TEXTS["keywords"]):
        out += [Triple(ds, iri("dcat:keyword"), Literal(w, language=lang)) for w in words]
    publisher = NamedNode(DATASET + "#publisher")
    out += [
        Triple(ds, iri("dcterms:license"), NamedNode(LICENSE)),
        Triple(ds, iri("dcterms:publisher"), publisher),
        Triple(publisher, iri("rdf:type"), iri("foaf:Agent")),
        Triple(publisher, iri("foaf:name"), Literal("innograph")),
        Triple(publisher, iri("foaf:homepage"), NamedNode(BASE)),
        Triple(ds, iri("dcat:landingPage"), NamedNode(BASE)),
        Triple(ds, iri("dcterms:conformsTo"), NamedNode(BASE + "ontology")),
        Triple(ds, iri("void:uriSpace"), Literal(BASE + "id/")),
        Triple(ds, iri("void:sparqlEndpoint"), NamedNode(BASE + "sparql")),
        Triple(ds, iri("void:triples"), _int(sum(properties.values()))),
        Triple(ds, iri("void:classes"), _int(len(classes))),
        Triple(ds, iri("void:properties"), _int(len(properties))),
    ]
    out += [Triple(ds, iri("dcterms:language"), NamedNode(f"http://publications.europa.eu/resource/authority/language/{code}")) for code in ("FRA", "ENG")]
    entities = _rows(store, f'SELECT (COUNT(DISTINCT ?s) AS ?n) {{ GRAPH ?g {{ ?s a ?c }} FILTER(?g != <{GRAPH}> && isIRI(?s) && STRSTARTS(STR(?s), "{BASE}id/")) }}')
    out.append(Triple(ds, iri("void:entities"), _int(int(entities[0]["n"].value))))
    for row in _rows(store, f"SELECT DISTINCT ?doc {{ GRAPH <{META}> {{ ?g <{NS['prov']}wasDerivedFrom> ?doc }} }} ORDER BY ?doc"):
        out.append(Triple(ds, iri("dcterms:source"), row["doc"]))
    for vocabulary in sorted({_namespace(t.value) for t in (*properties, *classes) if isinstance(t, NamedNode)} - {"", BASE + "id/"}):
        out.append(Triple(ds, iri("void:vocabulary"), NamedNode(vocabulary)))
    for graph, keys in sorted(graphs, key=lambda item: item[0].value):  # each graph a subset, with its own partitions
        out += [Triple(ds, iri("void:subset"), graph), Triple(graph, iri("rdf:type"), iri("void:Dataset")),
                Triple(graph, iri("void:triples"), _int(sum(keys.values())))]
        out += _partitions(graph, *_graph_partitions(keys))
    out += _partitions(ds, properties, classes)
    out += _service(ds)
    out += _distributions(ds, distributions())
    quads = [Quad(t.subject, t.predicate, t.object, NamedNode(GRAPH)) for t in out]
    listing = NamedNode(GRAPH)
    quads += [Quad(listing, iri("rdf:type"), iri("void:DatasetDescription"), NamedNode(META)),
              Quad(listing, iri("foaf:primaryTopic"), ds, NamedNode(META))]
    quads += [Quad(t.subject, t.predicate, t.object, NamedNode(META)) for t in _texts(listing, "dcterms:title", "void_graph")]
    return quads


def _service(ds: NamedNode) -> list[Triple]:
    endpoint = NamedNode(BASE + "sparql")
    out = [Triple(endpoint, iri("rdf:type"), iri("dcat:DataService")), Triple(endpoint, iri("rdf:type"), iri("sd:Service")),
           Triple(endpoint, iri("dcat:endpointURL"), endpoint), Triple(endpoint, iri("dcat:endpointDescription"), endpoint),
           Triple(endpoint, iri("dcat:servesDataset"), ds),
           Triple(endpoint, iri("dcterms:conformsTo"), NamedNode("https://www.w3.org/TR/sparql11-protocol/"))]
    return out + list(_texts(endpoint, "dcterms:title", "endpoint"))


def _distributions(ds: NamedNode, files: Iterable[tuple[str, str, str, bool, str | None]]) -> list[Triple]:
    """One dcat:Distribution per file; the network exports belong to a dataset per network,
    derived from this one (a projection, not the same data in another syntax)."""
    from .netexport import TITLES

    out: list[Triple] = []
    for network, (titles, descriptions) in TITLES.items():
        net = NamedNode(f"{DATASET}#{network}-network")
        out += [Triple(ds, iri("dcterms:relation"), net), Triple(net, iri("rdf:type"), iri("dcat:Dataset")),
                Triple(net, iri("prov:wasDerivedFrom"), ds), Triple(net, iri("dcterms:license"), NamedNode(LICENSE))]
        out += [Triple(net, iri("dcterms:title"), Literal(text, language=lang)) for lang, text in zip(("fr", "en"), titles)]
        out += [Triple(net, iri("dcterms:description"), Literal(text, language=lang)) for lang, text in zip(("fr", "en"), descriptions)]
    for name, media_type, standard, packed, network in files:
        dist = NamedNode(f"{DATASET}#{name}")
        owner = ds if network is None else NamedNode(f"{DATASET}#{network}-network")
        out += [Triple(owner, iri("dcat:distribution"), dist), Triple(dist, iri("rdf:type"), iri("dcat:Distribution")),
                Triple(dist, iri("dcterms:title"), Literal(name.rsplit("/", 1)[-1])),
                Triple(dist, iri("dcat:downloadURL"), NamedNode(f"{BASE}dumps/{name}")),
                Triple(dist, iri("dcat:accessURL"), NamedNode(f"{BASE}dumps/")),
                Triple(dist, iri("dcterms:license"), NamedNode(LICENSE))]
        if media_type.startswith(("application/", "text/")) and "graphml" not in media_type and "gexf" not in media_type:
            out.append(Triple(dist, iri("dcat:mediaType"), NamedNode(IANA + media_type)))
        if standard:
            out.append(Triple(dist, iri("dcterms:conformsTo"), NamedNode(FORMAT_IRI_FIXES.get(standard, standard))))
        if packed:
            out.append(Triple(dist, iri("dcat:compressFormat"), NamedNode(IANA + "application/gzip")))
        if owner == ds and not packed:
            out.append(Triple(ds, iri("void:dataDump"), NamedNode(f"{BASE}dumps/{name}")))
    return out


def refresh(store: Store) -> int:
    """Recompute graph/void in ``store`` (after a load or a write, once graph/inferred is
    rebuilt), its listing in graph/meta first so that the counts include it; returns its size."""
    if store.contains_named_graph(NamedNode(GRAPH)):
        store.remove_graph(NamedNode(GRAPH))
    for quad in list(store.quads_for_pattern(NamedNode(GRAPH), None, None, NamedNode(META))):
        store.remove(quad)
    store.extend(listing())
    quads = build_description(store)
    store.extend(quads)
    return len(quads)


def stored(store: Store) -> list[Triple]:
    """The description as it is in graph/void."""
    return [q.triple for q in store.quads_for_pattern(None, None, None, NamedNode(GRAPH))]


def with_byte_sizes(triples: list[Triple], sizes: dict[str, int]) -> list[Triple]:
    """The description plus ``dcat:byteSize`` of the files already generated (name -> bytes)."""
    return triples + [Triple(NamedNode(f"{DATASET}#{name}"), iri("dcat:byteSize"), Literal(str(n), datatype=iri("xsd:nonNegativeInteger")))
                      for name, n in sorted(sizes.items())]


def serialize(triples: list[Triple], fmt: RdfFormat) -> bytes:
    from pyoxigraph import serialize as write

    return write(triples, format=fmt, prefixes={k: v for k, v in NS.items() if k != "xsd"} | {"ino": BASE + "ontology#"})
