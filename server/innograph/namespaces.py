"""The one place where namespaces and prefixes are defined.

Everything else (store, pages, shapes tests, the query UI's pre-declared prefixes) imports
from here. ``STANDARD_VOCABULARIES`` is the explicit allow-list of external vocabularies that
data and shapes may use without the term being declared in our ontology (no network fetch).
"""

from rdflib import Namespace
from rdflib.namespace import DCAT, DCTERMS, FOAF, ORG, OWL, PROV, QB, RDF, RDFS, SH, SKOS, TIME, VANN, VOID, XSD

BASE = "https://w3id.org/innograph/"

INO = Namespace(BASE + "ontology#")  # ontology terms
INOSH = Namespace(BASE + "shapes#")  # shapes
ID = Namespace(BASE + "id/")  # things: id/{kind}/{slug}
GRAPH = Namespace(BASE + "graph/")  # named graphs: graph/{name}

SCHEMA = Namespace("http://schema.org/")
SDMX_DIMENSION = Namespace("http://purl.org/linked-data/sdmx/2009/dimension#")
SDMX_MEASURE = Namespace("http://purl.org/linked-data/sdmx/2009/measure#")
SDMX_ATTRIBUTE = Namespace("http://purl.org/linked-data/sdmx/2009/attribute#")
XKOS = Namespace("http://rdf-vocabulary.ddialliance.org/xkos#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
ADMS = Namespace("http://www.w3.org/ns/adms#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
DASH = Namespace("http://datashapes.org/dash#")
OA = Namespace("http://www.w3.org/ns/oa#")

# Prefixes declared in the query UI, in serializations and in documentation.
PREFIXES: dict[str, str] = {
    "ino": str(INO),
    "inosh": str(INOSH),
    "rdf": str(RDF),
    "rdfs": str(RDFS),
    "owl": str(OWL),
    "xsd": str(XSD),
    "skos": str(SKOS),
    "org": str(ORG),
    "prov": str(PROV),
    "schema": str(SCHEMA),
    "foaf": str(FOAF),
    "dcterms": str(DCTERMS),
    "time": str(TIME),
    "qb": str(QB),
    "sdmx-dimension": str(SDMX_DIMENSION),
    "sdmx-measure": str(SDMX_MEASURE),
    "sdmx-attribute": str(SDMX_ATTRIBUTE),
    "xkos": str(XKOS),
    "dcat": str(DCAT),
    "void": str(VOID),
    "vann": str(VANN),
    "sh": str(SH),
    "locn": str(LOCN),
    "sd": str(SD),
}

# Vocabularies whose terms data and shapes may use without declaring them in ino:.
STANDARD_VOCABULARIES: tuple[str, ...] = (
    str(RDF), str(RDFS), str(OWL), str(XSD), str(SKOS), str(ORG), str(PROV), str(SCHEMA),
    str(FOAF), str(DCTERMS), str(TIME), str(QB), str(SDMX_DIMENSION), str(SDMX_MEASURE),
    str(SDMX_ATTRIBUTE), str(XKOS), str(DCAT), str(VOID), str(VANN), str(SH), str(LOCN), str(ADMS),
    str(SD), str(DASH), str(OA), "http://purl.org/dc/elements/1.1/",
)


def graph_iri(name: str) -> str:
    """IRI of the named graph ``name`` (e.g. ``source/seed-000``, ``meta``)."""
    return f"{BASE}graph/{name}"
