"""Network exports for social-network analysis: GraphML, GEXF and CSV node/edge tables.

Two networks, each read from the store with SPARQL SELECTs over the patterns of
docs/modelling.md (standard ORG terms where the model uses them):

- ``membership``: who is a member of which network. One edge per ``org:Membership`` node
  (``org:member`` -> ``org:organization``), with its roles, period and source graphs. Bipartite
  in practice: ``bipartite`` is 1 for the organisations members belong to (networks), 0 for the
  members (organisations or people); a network that is itself a member elsewhere counts as 1.
- ``collaboration``: organisations linked when they carry the same project (``co-project``,
  via the project) or act for participations in the same event (``co-pitch`` when both are
  pitches, ``co-participation`` otherwise, via the event). Nodes: every organisation that carries
  a project or is represented at an event, isolated ones included.

Both are multigraphs (one edge per membership, project or event; ``via`` names it), undirected.
Node attributes: label (en, else fr), label_fr, label_en, kind (most specific ``ino:`` class,
several joined by ``|``), sector, place (``ino:activeIn``/``ino:locatedIn``), region (the
``ino:Region`` those places are in), as slugs of their IRIs; the node id is the IRI. Edge
attributes: relation, via (IRI), role, period, graph (the source graphs stating it, ``|``-joined).

Streamed: nodes (one aggregated SELECT, ordered by IRI) then edges (ordered by endpoints) go from
the query results to the file row by row, so memory stays that of pyoxigraph's GROUP BY, not of a
graph held in Python. The XML is written with the standard library, not networkx: no runtime
dependency, the same bytes for the same data; the tests read the files back with networkx.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import IO

from pyoxigraph import Store

BASE = "https://w3id.org/innograph/"
ID = BASE + "id/"
INO = BASE + "ontology#"
INFERRED = BASE + "graph/inferred"
PITCHER = ID + "role/pitcher"
NETWORKS = ("membership", "collaboration")
KINDS = ("graphml", "gexf", "nodes.csv", "edges.csv")
FILES: dict[str, tuple[str, str]] = {
    f"network/{net}{'-' if kind.endswith('csv') else '.'}{kind}": (net, kind) for net in NETWORKS for kind in KINDS
}
STANDARDS = {"graphml": "http://graphml.graphdrawing.org/xmlns", "gexf": "http://www.gexf.net/1.2draft",
             "nodes.csv": "https://www.rfc-editor.org/rfc/rfc4180", "edges.csv": "https://www.rfc-editor.org/rfc/rfc4180"}
TITLES = {  # (titles fr, en), (descriptions fr, en) of each network, for the dataset description
    "membership": (("Réseau des adhésions", "Membership network"), (
        "Qui est membre de quel réseau : une arête par adhésion (org:Membership), avec rôles, période et graphes sources.",
        "Who is a member of which network: one edge per membership (org:Membership), with roles, period and source graphs.")),
    "collaboration": (("Réseau des collaborations", "Collaboration network"), (
        "Organisations liées par un projet porté ensemble ou une participation au même événement (pitchs).",
        "Organisations linked by a project they carry together or by taking part in the same event (pitches).")),
}
MEDIA_TYPES = {"graphml": "application/graphml+xml", "gexf": "application/gexf+xml", "nodes.csv": "text/csv", "edges.csv": "text/csv"}

NODE_ATTRS = ("label", "label_fr", "label_en", "kind", "sector", "place", "region")
EDGE_ATTRS = ("relation", "via", "role", "period", "graph")
_PREFIXES = f"""PREFIX org: <http://www.w3.org/ns/org#> PREFIX ino: <{INO}>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX schema: <http://schema.org/>
"""
# Macros: STATED(?g) keeps what a source states (graph/inferred would only repeat an edge, or add
# entailments nobody stated).
_MACROS = ((r"STATED\((\?\w+)\)", lambda m: f"FILTER({m[1]} != <{INFERRED}>)"), (r"<PITCHER>", lambda m: f"<{PITCHER}>"))
_NODES = {  # ?n, ?side (1: the organisation of a membership)
    "membership": "GRAPH ?g { { ?m org:member ?n BIND(0 AS ?side) } UNION { ?m org:organization ?n BIND(1 AS ?side) } } STATED(?g)",
    "collaboration": "{ GRAPH ?g { { ?p ino:carriedBy ?n } UNION { ?n ino:carries ?p } } STATED(?g) ?p a ino:Project } "
                     "UNION { GRAPH ?g { ?x ino:onBehalfOf ?n } STATED(?g) } BIND(0 AS ?side)",
}
_NODE_QUERY = """SELECT ?n ?bipartite (MIN(?fr) AS ?label_fr) (MIN(?en) AS ?label_en) (GROUP_CONCAT(DISTINCT ?k; separator="|") AS ?kind)
  (GROUP_CONCAT(DISTINCT ?s; separator="|") AS ?sector) (GROUP_CONCAT(DISTINCT STR(?place); separator="|") AS ?places)
WHERE {{ {{ SELECT ?n (MAX(?side) AS ?bipartite) WHERE {{ {nodes} FILTER(isIRI(?n)) }} GROUP BY ?n }}
  OPTIONAL {{ ?n rdfs:label ?fr FILTER(LANGMATCHES(LANG(?fr), "fr")) }} OPTIONAL {{ ?n rdfs:label ?en FILTER(LANGMATCHES(LANG(?en), "en")) }}
  OPTIONAL {{ ?n a ?type FILTER(STRSTARTS(STR(?type), STR(ino:))) BIND(STRAFTER(STR(?type), "#") AS ?k) }}
  OPTIONAL {{ ?n ino:sector ?sector BIND(STR(?sector) AS ?s) }} OPTIONAL {{ ?n ino:activeIn|ino:locatedIn ?place }}
}} GROUP BY ?n ?bipartite ORDER BY ?n"""
_REGIONS = "SELECT DISTINCT ?place ?region { ?region a ino:Region . ?place schema:containedInPlace* ?region }"
_SUPERCLASSES = f'SELECT ?c ?d {{ ?c rdfs:subClassOf ?d FILTER(?c != ?d && STRSTARTS(STR(?c), "{INO}") && STRSTARTS(STR(?d), "{INO}")) }}'
_EDGES = {  # ?source ?target ?via ?relation ?role ?period ?graph, in that order
    "membership": ["""SELECT ?source ?target ?via ("membership" AS ?relation) (GROUP_CONCAT(DISTINCT ?r; separator="|") AS ?role)
  (GROUP_CONCAT(DISTINCT ?d; separator="|") AS ?period) (GROUP_CONCAT(DISTINCT STR(?g); separator="|") AS ?graph)
WHERE { GRAPH ?g { ?via org:member ?source } STATED(?g) ?via org:organization ?target FILTER(isIRI(?source) && isIRI(?target))
  OPTIONAL { ?via org:role ?role0 BIND(STR(?role0) AS ?r) } OPTIONAL { ?via org:memberDuring ?d0 BIND(STR(?d0) AS ?d) } }
GROUP BY ?source ?target ?via ORDER BY ?source ?target ?via"""],
    "collaboration": ["""SELECT ?source ?target ?via ("co-project" AS ?relation) ("" AS ?role) ("" AS ?period)
  (GROUP_CONCAT(DISTINCT CONCAT(STR(?g1), "|", STR(?g2)); separator="|") AS ?graph)
WHERE { GRAPH ?g1 { { ?via ino:carriedBy ?source } UNION { ?source ino:carries ?via } } STATED(?g1)
  GRAPH ?g2 { { ?via ino:carriedBy ?target } UNION { ?target ino:carries ?via } } STATED(?g2)
  FILTER(isIRI(?source) && isIRI(?target) && STR(?source) < STR(?target)) ?via a ino:Project }
GROUP BY ?source ?target ?via ORDER BY ?source ?target ?via""",
                      """SELECT ?source ?target ?via (IF(MAX(?pitches) = 1, "co-pitch", "co-participation") AS ?relation)
  ("" AS ?role) ("" AS ?period) (GROUP_CONCAT(DISTINCT CONCAT(STR(?g1), "|", STR(?g2)); separator="|") AS ?graph)
WHERE { GRAPH ?g1 { ?x ino:onBehalfOf ?source } STATED(?g1) ?x ino:inEvent ?via .
  GRAPH ?g2 { ?y ino:onBehalfOf ?target } STATED(?g2) ?y ino:inEvent ?via .
  FILTER(isIRI(?source) && isIRI(?target) && STR(?source) < STR(?target))
  OPTIONAL { ?x ino:participationRole ?r1 } OPTIONAL { ?y ino:participationRole ?r2 }
  BIND(IF(COALESCE(?r1 = <PITCHER> && ?r2 = <PITCHER>, false), 1, 0) AS ?pitches) }
GROUP BY ?source ?target ?via ORDER BY ?source ?target ?via"""],
}
# XML escapes in one str.translate; characters XML 1.0 cannot carry are dropped.
_TEXT = {c: None for c in (*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF)} | {
    ord("&"): "&amp;", ord("<"): "&lt;", ord(">"): "&gt;", ord('"'): "&quot;"}
_ATTR = _TEXT | {ord("\n"): "&#10;", ord("\r"): "&#13;", ord("\t"): "&#9;"}


def _query(store: Store, text: str) -> Iterator[tuple]:
    """Rows as tuples (by position: QuerySolution["name"] costs ~6 µs a lookup), on the union graph."""
    for pattern, replacement in _MACROS:
        text = re.sub(pattern, replacement, text)
    return iter(store.query(_PREFIXES + text, use_default_graph_as_union=True))


def slug(value: str) -> str:
    """``https://w3id.org/innograph/id/sector/health`` -> ``health``; other IRIs as they are."""
    return value.rsplit("/", 1)[-1] if value.startswith(ID) else value


def _sorted(values: str, slugs: bool = False) -> str:
    """A ``|``-joined list in a stable order (GROUP_CONCAT's order is the evaluation's), as slugs."""
    if "|" not in values:
        return slug(values) if slugs else values
    return "|".join(sorted({slug(v) if slugs else v for v in values.split("|") if v}))


def _value(term: object) -> str:
    return "" if term is None else term.value  # type: ignore[attr-defined]


def node_attrs(network: str) -> tuple[str, ...]:
    return NODE_ATTRS + (("bipartite",) if network == "membership" else ())


def nodes(store: Store, network: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(IRI, attributes) of every node, by IRI."""
    regions: dict[str, set[str]] = {}
    for place, region in _query(store, _REGIONS):
        regions.setdefault(place.value, set()).add(slug(region.value))
    supers: dict[str, set[str]] = {}  # ino class -> its ino superclasses (local names)
    for sub, sup in _query(store, _SUPERCLASSES):
        supers.setdefault(sub.value.removeprefix(INO), set()).add(sup.value.removeprefix(INO))
    for iri, side, fr, en, kind, sector, places in _query(store, _NODE_QUERY.format(nodes=_NODES[network])):
        places_ = set(_value(places).split("|")) - {""}
        kinds = set(_value(kind).split("|")) - {""}
        kinds -= set().union(*(supers.get(k, ()) for k in kinds))  # the most specific classes
        attrs = {"label_fr": _value(fr), "label_en": _value(en), "kind": "|".join(sorted(kinds)), "sector": _sorted(_value(sector), slugs=True),
                 "place": "|".join(sorted({slug(p) for p in places_})), "region": "|".join(sorted(set().union(*(regions.get(p, ()) for p in places_))))}
        attrs["label"] = attrs["label_en"] or attrs["label_fr"] or slug(iri.value)
        if network == "membership":
            attrs["bipartite"] = _value(side)
        yield iri.value, attrs


def edges(store: Store, network: str) -> Iterator[dict[str, str]]:
    """Every edge, numbered ``e1``, ``e2``… in the order of the queries (by source, target, via)."""
    number = 0
    for text in _EDGES[network]:
        for row in _query(store, text):
            number += 1
            edge = dict(zip(("source", "target", "via", "relation", "role", "period", "graph"), map(_value, row)))
            edge.update(id=f"e{number}", role=_sorted(edge["role"], True), period=_sorted(edge["period"], True), graph=_sorted(edge["graph"]))
            yield edge


def _x(value: object) -> str:
    return str(value).translate(_TEXT)


def _a(value: object) -> str:
    return '"' + str(value).translate(_ATTR) + '"'


def write_graphml(network: str, store: Store, out: IO[str]) -> None:
    attrs = node_attrs(network)
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
              'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')
    for attr in attrs:
        out.write(f'  <key id="n_{attr}" for="node" attr.name="{attr}" attr.type="{"int" if attr == "bipartite" else "string"}"/>\n')
    for attr in EDGE_ATTRS:
        out.write(f'  <key id="e_{attr}" for="edge" attr.name="{attr}" attr.type="string"/>\n')
    out.write(f'  <graph id="{network}" edgedefault="undirected">\n')
    for iri, values in nodes(store, network):
        data = "".join(f'<data key="n_{a}">{_x(values[a])}</data>' for a in attrs if values[a] != "")
        out.write(f"    <node id={_a(iri)}>{data}</node>\n")
    for edge in edges(store, network):
        data = "".join(f'<data key="e_{a}">{_x(edge[a])}</data>' for a in EDGE_ATTRS if edge[a])
        out.write(f'    <edge id="{edge["id"]}" source={_a(edge["source"])} target={_a(edge["target"])}>{data}</edge>\n')
    out.write("  </graph>\n</graphml>\n")


def write_gexf(network: str, store: Store, out: IO[str]) -> None:
    attrs = [a for a in node_attrs(network) if a != "label"]
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<gexf xmlns="http://www.gexf.net/1.2draft" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.gexf.net/1.2draft '
              'http://www.gexf.net/1.2draft/gexf.xsd" version="1.2">\n'
              f'  <meta><creator>innograph</creator><description>innograph {network} network</description></meta>\n'
              '  <graph mode="static" defaultedgetype="undirected">\n')
    for cls, names in (("node", attrs), ("edge", EDGE_ATTRS)):
        out.write(f'    <attributes class="{cls}">\n')
        for number, attr in enumerate(names):
            out.write(f'      <attribute id="{number}" title="{attr}" type="{"integer" if attr == "bipartite" else "string"}"/>\n')
        out.write("    </attributes>\n")
    out.write("    <nodes>\n")
    for iri, values in nodes(store, network):
        data = "".join(f'<attvalue for="{n}" value={_a(values[a])}/>' for n, a in enumerate(attrs) if values[a] != "")
        out.write(f"      <node id={_a(iri)} label={_a(values['label'])}><attvalues>{data}</attvalues></node>\n")
    out.write("    </nodes>\n    <edges>\n")
    for edge in edges(store, network):
        data = "".join(f'<attvalue for="{n}" value={_a(edge[a])}/>' for n, a in enumerate(EDGE_ATTRS) if edge[a])
        out.write(f'      <edge id="{edge["id"]}" source={_a(edge["source"])} target={_a(edge["target"])} '
                  f'label={_a(edge["relation"])}><attvalues>{data}</attvalues></edge>\n')
    out.write("    </edges>\n  </graph>\n</gexf>\n")


def write_csv(network: str, table: str, store: Store, out: IO[str]) -> None:
    """Gephi's spreadsheet columns first (Id, Label / Source, Target, Type, Id, Label)."""
    writer = csv.writer(out, lineterminator="\n")
    if table == "nodes":
        attrs = [a for a in node_attrs(network) if a != "label"]
        writer.writerow(["Id", "Label", *attrs])
        writer.writerows([iri, values["label"], *(values[a] for a in attrs)] for iri, values in nodes(store, network))
    else:
        writer.writerow(["Source", "Target", "Type", "Id", "Label", *EDGE_ATTRS])
        writer.writerows([e["source"], e["target"], "Undirected", e["id"], e["relation"], *(e[a] for a in EDGE_ATTRS)] for e in edges(store, network))


def write(store: Store, name: str, output: IO[bytes]) -> None:
    """Write the file ``name`` (a key of :data:`FILES`) to the binary stream ``output``."""
    network, kind = FILES[name]
    text = io.TextIOWrapper(output, encoding="utf-8", newline="", write_through=False)
    try:
        if kind == "graphml":
            write_graphml(network, store, text)
        elif kind == "gexf":
            write_gexf(network, store, text)
        else:
            write_csv(network, kind.split(".")[0], store, text)
    finally:
        text.flush()
        text.detach()
