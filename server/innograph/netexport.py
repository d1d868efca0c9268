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

The XML is written with the standard library, not networkx: no runtime dependency, the same
bytes for the same data, and the files are checked by reading them back with networkx in the tests.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import IO
from xml.sax.saxutils import escape, quoteattr

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
PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>
"""
# Edges and nodes come from what the sources state: graph/inferred is left out of the patterns
# that make an edge (it would only repeat them, or add entailments nobody stated).
_NODES = {
    "membership": "GRAPH ?g { { ?m org:member ?n BIND(0 AS ?side) } UNION { ?m org:organization ?n BIND(1 AS ?side) } } STATED(?g)",
    "collaboration": "{ GRAPH ?g { { ?p ino:carriedBy ?n } UNION { ?n ino:carries ?p } } STATED(?g) ?p a ino:Project } "
                     "UNION { GRAPH ?g { ?x ino:onBehalfOf ?n } STATED(?g) } BIND(0 AS ?side)",
}
_EDGES = {
    "membership": ["""SELECT ?source ?target ?via ("membership" AS ?relation)
  (GROUP_CONCAT(DISTINCT STR(?r); separator="|") AS ?role) (GROUP_CONCAT(DISTINCT STR(?d); separator="|") AS ?period)
  (GROUP_CONCAT(DISTINCT STR(?g); separator="|") AS ?graph)
WHERE { GRAPH ?g { ?via org:member ?source } STATED(?g) ?via org:organization ?target .
  OPTIONAL { ?via org:role ?r } OPTIONAL { ?via org:memberDuring ?d } }
GROUP BY ?source ?target ?via"""],
    "collaboration": ["""SELECT ?source ?target ?via ("co-project" AS ?relation) ("" AS ?role) ("" AS ?period)
  (GROUP_CONCAT(DISTINCT CONCAT(STR(?g1), "|", STR(?g2)); separator="|") AS ?graph)
WHERE { GRAPH ?g1 { { ?via ino:carriedBy ?source } UNION { ?source ino:carries ?via } } STATED(?g1)
  GRAPH ?g2 { { ?via ino:carriedBy ?target } UNION { ?target ino:carries ?via } } STATED(?g2)
  FILTER(STR(?source) < STR(?target)) ?via a ino:Project }
GROUP BY ?source ?target ?via""", """SELECT ?source ?target ?via (IF(MAX(?pitches) = 1, "co-pitch", "co-participation") AS ?relation)
  ("" AS ?role) ("" AS ?period) (GROUP_CONCAT(DISTINCT CONCAT(STR(?g1), "|", STR(?g2)); separator="|") AS ?graph)
WHERE { GRAPH ?g1 { ?x ino:onBehalfOf ?source } STATED(?g1) ?x ino:inEvent ?via .
  GRAPH ?g2 { ?y ino:onBehalfOf ?target } STATED(?g2) ?y ino:inEvent ?via .
  FILTER(STR(?source) < STR(?target))
  OPTIONAL { ?x ino:participationRole ?r1 } OPTIONAL { ?y ino:participationRole ?r2 }
  BIND(IF(COALESCE(?r1 = <PITCHER> && ?r2 = <PITCHER>, false), 1, 0) AS ?pitches) }
GROUP BY ?source ?target ?via"""],
}
_ATTRIBUTES = """SELECT ?n ?p ?v WHERE {{ {{ SELECT DISTINCT ?n WHERE {{ {nodes} }} }}
  {{ VALUES ?p {{ rdfs:label rdf:type ino:sector ino:activeIn ino:locatedIn }} ?n ?p ?v }}
  UNION {{ ?n (ino:activeIn|ino:locatedIn)/schema:containedInPlace* ?v . ?v a ino:Region BIND(ino:region AS ?p) }} }}"""
_SUBCLASSES = f"SELECT ?c ?d {{ ?c rdfs:subClassOf ?d FILTER(STRSTARTS(STR(?c), '{INO}') && STRSTARTS(STR(?d), '{INO}') && ?c != ?d) }}"
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_KEY = {"rdfs": "http://www.w3.org/2000/01/rdf-schema#label", "type": "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"}


@dataclass
class Network:
    """Nodes (IRI -> attributes, plus ``bipartite`` for the membership network) and edges."""

    name: str
    nodes: dict[str, dict[str, str | int]] = field(default_factory=dict)
    edges: list[dict[str, str]] = field(default_factory=list)

    @property
    def node_attrs(self) -> tuple[str, ...]:
        return NODE_ATTRS + (("bipartite",) if self.name == "membership" else ())


def slug(value: str) -> str:
    """``https://w3id.org/innograph/id/sector/health`` -> ``health``; other IRIs as they are."""
    return value.rsplit("/", 1)[-1] if value.startswith(ID) else value


def _join(values: Iterable[str]) -> str:
    return "|".join(sorted(set(v for v in values if v)))


def collect(store: Store, name: str) -> Network:
    """The network ``name`` read from ``store`` (the default graph is the union of the graphs)."""
    def query(text: str):  # the default graph is the union of the graphs
        text = re.sub(r"STATED\((\?\w+)\)", rf"FILTER(\1 != <{INFERRED}>)", text).replace("<PITCHER>", f"<{PITCHER}>")
        return store.query(_PREFIXES + text, use_default_graph_as_union=True)

    network = Network(name)
    for row in query(f"SELECT ?n (MAX(?side) AS ?s) WHERE {{ {_NODES[name]} FILTER(isIRI(?n)) }} GROUP BY ?n"):
        network.nodes[row["n"].value] = {"bipartite": int(row["s"].value)} if name == "membership" else {}
    values: dict[str, dict[str, set[str]]] = {iri: {} for iri in network.nodes}
    for row in query(_ATTRIBUTES.format(nodes=_NODES[name])):
        if row["n"].value in values:
            prop, value = row["p"].value, row["v"]
            key = {_KEY["rdfs"]: "label_" + getattr(value, "language", ""), _KEY["type"]: "kind"}.get(prop, prop.rsplit("#", 1)[-1])
            key = {"activeIn": "place", "locatedIn": "place"}.get(key, key)
            values[row["n"].value].setdefault(key, set()).add(value.value)
    supers: dict[str, set[str]] = {}
    for row in query(_SUBCLASSES):
        supers.setdefault(row["c"].value, set()).add(row["d"].value)
    for iri, found in values.items():
        attrs = network.nodes[iri]
        kinds = {k for k in found.get("kind", ()) if k.startswith(INO)}
        attrs["kind"] = _join(k.removeprefix(INO) for k in kinds if not any(k in supers.get(o, ()) for o in kinds))
        for lang in ("fr", "en"):
            attrs[f"label_{lang}"] = min(found.get(f"label_{lang}", {""}))
        attrs["label"] = attrs["label_en"] or attrs["label_fr"] or slug(iri)
        for key in ("sector", "place", "region"):
            attrs[key] = _join(slug(v) for v in found.get(key, ()))
    for text in _EDGES[name]:
        for row in query(text):
            edge = {var: (row[var].value if row[var] is not None else "") for var in ("source", "target", "via", "relation", *EDGE_ATTRS[2:])}
            edge["graph"] = _join(edge["graph"].split("|"))
            for key in ("role", "period"):
                edge[key] = _join(slug(v) for v in edge[key].split("|"))
            if edge["source"] in network.nodes and edge["target"] in network.nodes:
                network.edges.append(edge)
    network.edges.sort(key=lambda e: (e["source"], e["target"], e["relation"], e["via"]))
    for number, edge in enumerate(network.edges, 1):
        edge["id"] = f"e{number}"
    return network


def _text(value: object) -> str:
    return _XML_INVALID.sub("", str(value))


def write_graphml(network: Network, out: IO[str]) -> None:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
              'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n')
    for attr in network.node_attrs:
        kind = "int" if attr == "bipartite" else "string"
        out.write(f'  <key id="n_{attr}" for="node" attr.name="{attr}" attr.type="{kind}"/>\n')
    for attr in EDGE_ATTRS:
        out.write(f'  <key id="e_{attr}" for="edge" attr.name="{attr}" attr.type="string"/>\n')
    out.write(f'  <graph id="{network.name}" edgedefault="undirected">\n')
    for iri, attrs in sorted(network.nodes.items()):
        data = "".join(f'<data key="n_{a}">{escape(_text(attrs[a]))}</data>' for a in network.node_attrs if attrs.get(a, "") != "")
        out.write(f"    <node id={quoteattr(_text(iri))}>{data}</node>\n")
    for edge in network.edges:
        data = "".join(f'<data key="e_{a}">{escape(_text(edge[a]))}</data>' for a in EDGE_ATTRS if edge[a])
        out.write(f'    <edge id="{edge["id"]}" source={quoteattr(_text(edge["source"]))} target={quoteattr(_text(edge["target"]))}>{data}</edge>\n')
    out.write("  </graph>\n</graphml>\n")


def write_gexf(network: Network, out: IO[str]) -> None:
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n<gexf xmlns="http://www.gexf.net/1.2draft" '
              'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.gexf.net/1.2draft '
              'http://www.gexf.net/1.2draft/gexf.xsd" version="1.2">\n'
              f'  <meta><creator>innograph</creator><description>innograph {network.name} network</description></meta>\n'
              '  <graph mode="static" defaultedgetype="undirected">\n')
    node_attrs = [a for a in network.node_attrs if a != "label"]
    for cls, attrs in (("node", node_attrs), ("edge", EDGE_ATTRS)):
        out.write(f'    <attributes class="{cls}">\n')
        for number, attr in enumerate(attrs):
            kind = "integer" if attr == "bipartite" else "string"
            out.write(f'      <attribute id="{number}" title="{attr}" type="{kind}"/>\n')
        out.write("    </attributes>\n")
    out.write("    <nodes>\n")
    for iri, attrs in sorted(network.nodes.items()):
        values = "".join(f'<attvalue for="{n}" value={quoteattr(_text(attrs[a]))}/>' for n, a in enumerate(node_attrs) if attrs.get(a, "") != "")
        out.write(f"      <node id={quoteattr(_text(iri))} label={quoteattr(_text(attrs['label']))}><attvalues>{values}</attvalues></node>\n")
    out.write("    </nodes>\n    <edges>\n")
    for edge in network.edges:
        values = "".join(f'<attvalue for="{n}" value={quoteattr(_text(edge[a]))}/>' for n, a in enumerate(EDGE_ATTRS) if edge[a])
        out.write(f'      <edge id="{edge["id"]}" source={quoteattr(_text(edge["source"]))} target={quoteattr(_text(edge["target"]))} '
                  f'label={quoteattr(edge["relation"])}><attvalues>{values}</attvalues></edge>\n')
    out.write("    </edges>\n  </graph>\n</gexf>\n")


def write_csv(network: Network, table: str, out: IO[str]) -> None:
    """Gephi's spreadsheet columns first (Id, Label / Source, Target, Type, Id, Label)."""
    writer = csv.writer(out, lineterminator="\n")
    if table == "nodes":
        attrs = [a for a in network.node_attrs if a != "label"]
        writer.writerow(["Id", "Label", *attrs])
        for iri, values in sorted(network.nodes.items()):
            writer.writerow([iri, values["label"], *(values.get(a, "") for a in attrs)])
    else:
        writer.writerow(["Source", "Target", "Type", "Id", "Label", *EDGE_ATTRS])
        for edge in network.edges:
            writer.writerow([edge["source"], edge["target"], "Undirected", edge["id"], edge["relation"], *(edge[a] for a in EDGE_ATTRS)])


def write(store: Store, name: str, output: IO[bytes]) -> None:
    """Write the file ``name`` (a key of :data:`FILES`) to the binary stream ``output``."""
    network_name, kind = FILES[name]
    network = collect(store, network_name)
    text = io.TextIOWrapper(output, encoding="utf-8", newline="")
    try:
        if kind == "graphml":
            write_graphml(network, text)
        elif kind == "gexf":
            write_gexf(network, text)
        else:
            write_csv(network, kind.split(".")[0], text)
    finally:
        text.flush()
        text.detach()
