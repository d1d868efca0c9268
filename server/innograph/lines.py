"""Where in a payload's text a validation result is: the line a reader should look at.

pyoxigraph gives positions for syntax errors only, not for each triple, so the line of a
result is found by searching the text for the forms the focus node, the path and the value can
take there (``<iri>``, ``prefix:local``, a bare IRI string in JSON-LD / RDF/XML, a literal's
lexical form): the first line naming the focus node, then the first line from there naming the
path (and the value, where there is one).  Blank nodes have no stable text: no line.
"""

from __future__ import annotations

from rdflib import BNode, Literal, URIRef
from rdflib.term import Node


def locate(text: str, prefixes: dict[str, str], focus: Node, path: Node | None, value: Node | None) -> int | None:
    """1-based line of the statement behind a result, or None when it cannot be found."""
    lines = text.splitlines()
    start = _first(lines, _forms(focus, prefixes), 0)
    if start is None:
        return None
    if isinstance(path, URIRef):
        path_forms = _forms(path, prefixes)
        value_forms = _forms(value, prefixes) if value is not None else []
        for i in range(start, len(lines)):
            if _has(lines[i], path_forms) and (not value_forms or _has(lines[i], value_forms)):
                return i + 1
        hit = _first(lines, path_forms, start)
        if hit is not None:
            return hit + 1
    return start + 1


def _forms(term: Node, prefixes: dict[str, str]) -> list[str]:
    if isinstance(term, URIRef):
        iri = str(term)
        forms = [f"<{iri}>", f'"{iri}"']
        for prefix, ns in prefixes.items():
            if iri.startswith(ns) and len(iri) > len(ns):
                forms.append(f"{prefix}:{iri[len(ns):]}")
        if iri.startswith("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"):
            forms.append(" a ")
        return forms
    if isinstance(term, Literal):
        return [f'"{term}"', f"'{term}'", str(term)] if str(term) else []
    if isinstance(term, BNode):
        return []
    return []


def _has(line: str, forms: list[str]) -> bool:
    return any(form in line for form in forms)


def _first(lines: list[str], forms: list[str], start: int) -> int | None:
    if not forms:
        return None
    for i in range(start, len(lines)):
        if _has(lines[i], forms):
            return i
    return None
