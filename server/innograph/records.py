"""Reading contribution records back from graph/meta (the PROV written by provenance.py)."""

from __future__ import annotations

from typing import Any

import pyoxigraph as ox

from .provenance import Iris, Record

QUERY = """
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX dcterms: <http://purl.org/dc/terms/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX void: <http://rdfs.org/ns/void#>
PREFIX adms: <http://www.w3.org/ns/adms#>
PREFIX foaf: <http://xmlns.com/foaf/0.1/>
SELECT ?meta ?id ?who ?at ?source ?msg ?payload ?format ?n ?status ?rby ?rat WHERE {
  GRAPH ?meta {
    ?g dcterms:identifier ?id ; prov:wasAttributedTo ?agent ; prov:generatedAtTime ?at ;
       prov:wasDerivedFrom ?document ; void:triples ?n ; adms:status ?status ; prov:wasGeneratedBy ?act .
    ?agent rdfs:label ?who . ?document foaf:page ?source .
    ?act prov:used ?payload . ?payload dcterms:format ?format .
    OPTIONAL { ?act rdfs:comment ?msg }
    OPTIONAL { ?g prov:wasInvalidatedBy ?r . ?r prov:endedAtTime ?rat ; prov:wasAssociatedWith ?ra . ?ra rdfs:label ?rby }
  }
}
ORDER BY ?at ?id
"""


def list_records(queries: Any, iris: Iris, *, cid: str | None = None, status: str | None = None,
                 contributor: str | None = None) -> list[Record]:
    """The records in graph/meta, optionally one id, one status, one contributor (exact name)."""
    subs: dict[str, Any] = {"meta": ox.NamedNode(str(iris.meta()))}
    if cid is not None:
        subs["id"] = ox.Literal(cid)
    if status is not None:
        subs["status"] = ox.NamedNode(str(iris.status(status)))
    if contributor is not None:
        subs["who"] = ox.Literal(contributor)
    kind, value, _truncated = queries.terms(QUERY, subs, max_rows=1_000_000)
    names, rows = value
    out = []
    for row in rows:
        r = dict(zip(names, row))
        out.append(Record(
            id=r["id"].value, contributor=r["who"].value, at=r["at"].value, source=r["source"].value,
            message=r["msg"].value if r.get("msg") is not None else None,
            sha256=r["payload"].value.removeprefix("urn:sha256:"), media_type=r["format"].value,
            triples=int(r["n"].value), status=r["status"].value.rsplit("/", 1)[-1],
            retracted_by=r["rby"].value if r.get("rby") is not None else None,
            retracted_at=r["rat"].value if r.get("rat") is not None else None,
        ))
    return out
