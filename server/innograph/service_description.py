"""The SPARQL 1.1 Service Description of /sparql (pure: no Flask, no store access).

https://www.w3.org/TR/sparql11-service-description/ — answered to a GET without a query, as the
oxigraph server and rdflib-endpoint do. It states what a client can rely on: the endpoint IRI, the
language (SPARQL 1.1 Query only: the endpoint is read-only), every result format we serialize (the
format IRIs come from pyoxigraph's enums), the union default graph, federation only when
``ALLOW_SERVICE`` is on, and the named graphs of the store with their sizes (``void:triples``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from pyoxigraph import BlankNode, Literal, NamedNode, RdfFormat, Triple, serialize

from .negotiation import GRAPH_FORMATS, RESULT_FORMATS

SD = "http://www.w3.org/ns/sparql-service-description#"
VOID = "http://rdfs.org/ns/void#"
RDF_TYPE = NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
XSD_INTEGER = NamedNode("http://www.w3.org/2001/XMLSchema#integer")
# The formats the description itself is offered in, the default first.
FORMATS: tuple[RdfFormat, ...] = (RdfFormat.TURTLE, RdfFormat.JSON_LD, RdfFormat.RDF_XML, RdfFormat.N_TRIPLES)
PREFIXES = {"sd": SD, "void": VOID, "formats": "http://www.w3.org/ns/formats/"}
# pyoxigraph 0.5.13 gives JSON-LD the IRI https://www.w3.org/ns/formats/data/JSON-LD; the W3C
# registry (https://www.w3.org/ns/formats/) names it formats:JSON-LD.
_FORMAT_IRI_FIXES = {RdfFormat.JSON_LD.iri: "http://www.w3.org/ns/formats/JSON-LD"}


def _sd(name: str) -> NamedNode:
    return NamedNode(SD + name)


def describe(endpoint: str, graphs: Mapping[str, int | None], allow_service: bool = False) -> Iterator[Triple]:
    """The triples describing the service at ``endpoint``.

    ``graphs`` maps each named graph IRI of the store to its triple count (None: unknown). The
    default graph is described as their union, its size the sum when every count is known.
    """
    service, dataset, default = NamedNode(endpoint), BlankNode(), BlankNode()
    yield Triple(service, RDF_TYPE, _sd("Service"))
    yield Triple(service, _sd("endpoint"), service)
    yield Triple(service, _sd("supportedLanguage"), _sd("SPARQL11Query"))
    for fmt in (*RESULT_FORMATS, *GRAPH_FORMATS):
        yield Triple(service, _sd("resultFormat"), NamedNode(_FORMAT_IRI_FIXES.get(fmt.iri, fmt.iri)))
    yield Triple(service, _sd("feature"), _sd("UnionDefaultGraph"))
    if allow_service:
        yield Triple(service, _sd("feature"), _sd("BasicFederatedQuery"))
    yield Triple(service, _sd("defaultDataset"), dataset)
    yield Triple(dataset, RDF_TYPE, _sd("Dataset"))
    yield Triple(dataset, _sd("defaultGraph"), default)
    yield Triple(default, RDF_TYPE, _sd("Graph"))
    counts = list(graphs.values())
    if counts and all(n is not None for n in counts):
        yield Triple(default, NamedNode(VOID + "triples"), Literal(str(sum(counts)), datatype=XSD_INTEGER))
    for iri, count in sorted(graphs.items()):
        named, graph = BlankNode(), BlankNode()
        yield Triple(dataset, _sd("namedGraph"), named)
        yield Triple(named, RDF_TYPE, _sd("NamedGraph"))
        yield Triple(named, _sd("name"), NamedNode(iri))
        yield Triple(named, _sd("graph"), graph)
        yield Triple(graph, RDF_TYPE, _sd("Graph"))
        if count is not None:
            yield Triple(graph, NamedNode(VOID + "triples"), Literal(str(count), datatype=XSD_INTEGER))


def render(endpoint: str, graphs: Mapping[str, int | None], allow_service: bool, fmt: RdfFormat) -> bytes:
    """The service description serialized by pyoxigraph in ``fmt``."""
    return serialize(describe(endpoint, graphs, allow_service), format=fmt, prefixes=PREFIXES)
