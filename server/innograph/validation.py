"""SHACL validation: shapes loaded once, ``validate(data) -> Report`` around pySHACL.

pySHACL is always handed rdflib graphs that we parsed ourselves, never a string: given a str
it reads it as a file path or fetches it as a URL (shared/research/peers.md §4).  Every option
is passed explicitly, so that none hides in ``**kwargs`` (owl:imports fetching, SHACL-JS, …).

https://www.w3.org/TR/shacl/#validation-report
"""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import pyshacl
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.plugins.sparql import prepareQuery
from rdflib.term import Node
from rdflib.util import guess_format

from .neighbourhood import TripleSource, neighbourhood
from .rdfinput import format_for_filename, parse_payload
from .shapescope import Scope

SEVERITIES = (SH.Violation, SH.Warning, SH.Info)


@dataclass(frozen=True)
class Shapes:
    """The shapes graph (parsed once) and the ontology used for class hierarchies."""

    graph: Graph
    ontology: Graph | None = None

    @cached_property
    def scope(self) -> Scope:
        """What these shapes read from a focus node (computed once)."""
        return Scope.of(self.graph)

    @classmethod
    def from_paths(cls, shapes: Iterable[Path], ontology: Iterable[Path] = ()) -> Shapes:
        """Read shapes (and ontology) files; the files are trusted repository content."""
        return cls(_read(shapes), _read(ontology) if ontology else None)


@dataclass(frozen=True)
class Result:
    """One sh:ValidationResult, flattened for JSON and HTML."""

    focus: Node
    path: Node | None
    value: Node | None
    shape: Node
    component: Node | None
    severity: Node
    messages: dict[str, str]  # language ("" when untagged) → message
    line: int | None = None

    def message(self, lang: str) -> str:
        """The message in ``lang``, else English, else any."""
        for key in (lang, "en", ""):
            if key in self.messages:
                return self.messages[key]
        return next(iter(self.messages.values()), "")

    def as_dict(self) -> dict:
        return {
            "focusNode": _json_term(self.focus),
            "resultPath": _json_term(self.path),
            "value": _json_term(self.value),
            "sourceShape": _json_term(self.shape),
            "sourceConstraintComponent": _json_term(self.component),
            "severity": str(self.severity).rsplit("#", 1)[-1],
            "message": {"fr": self.message("fr"), "en": self.message("en")},
            "line": self.line,
        }


@dataclass(frozen=True)
class Report:
    """The verdict: conforms, the results, and the sh:ValidationReport graph."""

    conforms: bool
    results: tuple[Result, ...]
    graph: Graph

    def as_dict(self) -> dict:
        return {"conforms": self.conforms, "results": [r.as_dict() for r in self.results]}

    def with_lines(self, text: str, prefixes: dict[str, str]) -> Report:
        """The same report with the payload line of each result, where one can be found."""
        from .lines import locate  # the text search is its own small concern

        results = tuple(_replace_line(r, locate(text, prefixes, r.focus, r.path, r.value)) for r in self.results)
        return Report(self.conforms, results, self.graph)


def validate(
    data: Graph,
    shapes: Shapes,
    *,
    allow_warnings: bool = False,
    with_ontology: bool = True,
    keep_focus: frozenset[Node] | None = None,
) -> Report:
    """Validate ``data`` (an rdflib Graph we built) against ``shapes``.

    :param with_ontology: mix the ontology into the data (class hierarchy for sh:class and
        sh:targetClass); the incremental path passes False as it includes what is needed.
    :param keep_focus: keep only the results about these focus nodes and decide conformance
        on them (neighbourhood validation: other nodes of the small graph are incomplete).
    """
    if not isinstance(data, Graph) or not isinstance(shapes.graph, Graph):
        raise TypeError("pyshacl is only ever handed rdflib graphs, never a string or a file")
    ontology = None
    if with_ontology and shapes.ontology is not None:
        # Merge the ontology ourselves: pySHACL's ont_graph mixing copies only class and property
        # definitions, so the concept schemes (sector, role… concepts checked by sh:class
        # skos:Concept) would be missing and every concept value would be reported.
        merged = Graph()
        merged += data
        merged += shapes.ontology
        data = merged
    if type(data) is Graph:  # pySHACL then reads ``data`` itself, not a copy
        data = _PreparedQueries(store=data.store, identifier=data.identifier, namespace_manager=data.namespace_manager)
    restricted = _TARGETS.set(keep_focus)
    try:
        conforms, report_graph, _text = _run_pyshacl(data, shapes, ontology, allow_warnings)
    finally:
        _TARGETS.reset(restricted)
    results = tuple(sorted(_results(report_graph), key=_sort_key))
    if keep_focus is not None:
        results = tuple(r for r in results if r.focus in keep_focus)
        conforms = not any(_blocks(r.severity, allow_warnings) for r in results)
        report_graph = _filtered_graph(report_graph, keep_focus, conforms)
    return Report(bool(conforms), results, report_graph)


def _run_pyshacl(data: Graph, shapes: Shapes, ontology: Graph | None, allow_warnings: bool):
    return pyshacl.validate(
        data,
        shacl_graph=shapes.graph,
        ont_graph=ontology,
        inference="none",
        abort_on_first=False,
        allow_infos=allow_warnings,
        allow_warnings=allow_warnings,
        advanced=False,
        inplace=False,
        meta_shacl=False,
        do_owl_imports=False,
        js=False,
        sparql_mode=False,
        debug=False,
    )


# The focus nodes a validation keeps (``keep_focus``), for the targets filter below; per thread.
_TARGETS: ContextVar[frozenset[Node] | None] = ContextVar("innograph_validation_targets", default=None)


def _targets_only_kept() -> None:
    """Restrict pySHACL's *targets* (its top-level focus nodes, ``Shape.focus_nodes``) to the
    focus nodes a neighbourhood validation keeps.  The small graph holds the types of the
    neighbours that ``sh:class`` checks read (networks, concepts, periods, documents...), which
    makes them targets too; pySHACL validated them all and their results were thrown away (half
    of its CPU for a 100-triple contribution).  Every result's focus node is the target whose
    validation produced it, so validating only the kept targets gives exactly the kept results.
    Value nodes (sh:node, sh:or, sh:class on neighbours) are still evaluated as before: unlike
    pySHACL's ``focus_nodes`` option, this filter applies to targets only, and keeps blank nodes."""
    import pyshacl.shape as shape_module

    original = shape_module.Shape.focus_nodes
    if getattr(original, "innograph_filtered", False):
        return

    def focus_nodes(self, data_graph, debug=False):
        found = original(self, data_graph, debug=debug)
        kept = _TARGETS.get()
        return found if kept is None else {node for node in found if node in kept}

    focus_nodes.innograph_filtered = True  # type: ignore[attr-defined]
    shape_module.Shape.focus_nodes = focus_nodes


_targets_only_kept()


class _ParameterList(list):
    """pySHACL's list of constraint parameters, with set membership (see ``_fast_parameter_lookup``)."""

    def __init__(self, items):
        super().__init__(items)
        self._members = frozenset(items)

    def __contains__(self, item) -> bool:
        return item in self._members


def _fast_parameter_lookup() -> None:
    """pySHACL looks up every predicate of a shape in a list of ~40 constraint parameters, for each
    shape and focus node it evaluates (pyshacl/shape.py: ``p in search_parameters``); with rdflib's
    URIRef.__eq__ those list scans were the largest part of a validation's CPU (profiled: ~40 %
    for a 100-triple contribution, half of the full seed validation). The same list, answering
    ``in`` from a set, is put where pySHACL caches it (``shape.CONSTRAINT_PARAMS``): what it
    contains, and so every result, is unchanged."""
    import pyshacl.shape as shape_module
    from pyshacl.constraints import ALL_CONSTRAINT_PARAMETERS, CONSTRAINT_PARAMETERS_MAP

    cached = getattr(shape_module, "CONSTRAINT_PARAMS", None)
    if cached is None or not isinstance(cached[0], _ParameterList):
        shape_module.CONSTRAINT_PARAMS = (_ParameterList(ALL_CONSTRAINT_PARAMETERS), CONSTRAINT_PARAMETERS_MAP)


_fast_parameter_lookup()


class _PreparedQueries(Graph):
    """A view of a data graph (the same store: nothing is copied) whose SPARQL query strings are
    parsed once per text.  pySHACL sends the text of a SPARQL-based constraint once per focus node
    and rdflib parses it each time (~0.2 s with pyparsing): for a 100-triple contribution that
    was most of the validation time.  A prepared query is evaluated with the same bindings, so
    the results are the same; the prefixes the text is resolved with are part of the cache key."""

    def query(self, query_object, processor="sparql", result="sparql", initNs=None, initBindings=None,  # noqa: N803
              use_store_provided=True, **kwargs):
        if isinstance(query_object, str) and processor == "sparql" and not kwargs:
            namespaces = initNs or dict(self.namespaces())
            query_object = _prepared(query_object, tuple(sorted((k, str(v)) for k, v in namespaces.items())))
        return super().query(query_object, processor, result, initNs, initBindings, use_store_provided, **kwargs)


@lru_cache(maxsize=256)
def _prepared(text: str, namespaces: tuple[tuple[str, str], ...]):
    return prepareQuery(text, initNs=dict(namespaces))


def validate_contribution(contribution: Graph, source: TripleSource, shapes: Shapes, *, allow_warnings: bool = True) -> Report:
    """Validate ``contribution`` with the store's relevant data (its neighbourhood).

    The store's data is assumed to conform (every write went through here).  With shapes whose
    reads cannot be bounded (SPARQL-based), the whole store is validated instead: correct, slow.
    """
    if not shapes.scope.complete:
        data = Graph()
        for triple in source.all_triples(None):
            data.add(triple)
        data += contribution
        return validate(data, shapes, allow_warnings=allow_warnings, with_ontology=False)
    near = neighbourhood(contribution, source, shapes.scope)
    return validate(near.graph, shapes, allow_warnings=allow_warnings, with_ontology=False, keep_focus=near.focus)


def validate_files(paths: Iterable[Path], shapes: Shapes, *, max_bytes: int, max_triples: int) -> Report:
    """Validate the union of RDF files (CLI); raises rdfinput.InputError on unreadable input."""
    data = Graph()
    for path in paths:
        payload = parse_payload(path.read_bytes(), format_for_filename(path.name), max_bytes=max_bytes, max_triples=max_triples)
        data += payload.graph
    return validate(data, shapes)


def _blocks(severity: Node, allow_warnings: bool) -> bool:
    return severity == SH.Violation or not allow_warnings


def _results(report: Graph) -> Iterable[Result]:
    for node in report.subjects(RDF.type, SH.ValidationResult):
        messages: dict[str, str] = {}
        for m in report.objects(node, SH.resultMessage):
            if isinstance(m, Literal):
                messages.setdefault(m.language or "", str(m))
        yield Result(
            focus=report.value(node, SH.focusNode),
            path=report.value(node, SH.resultPath),
            value=report.value(node, SH.value),
            shape=report.value(node, SH.sourceShape),
            component=report.value(node, SH.sourceConstraintComponent),
            severity=report.value(node, SH.resultSeverity, default=SH.Violation),
            messages=messages,
        )


def _filtered_graph(report: Graph, keep: frozenset[Node], conforms: bool) -> Graph:
    """The report graph without the results about nodes outside ``keep``."""
    out = Graph()
    for prefix, ns in report.namespaces():
        out.bind(prefix, ns)
    drop = {r for r in report.subjects(RDF.type, SH.ValidationResult) if report.value(r, SH.focusNode) not in keep}
    for root in report.subjects(RDF.type, SH.ValidationReport):
        out.add((root, RDF.type, SH.ValidationReport))
        out.add((root, SH.conforms, Literal(conforms)))
        for r in report.objects(root, SH.result):
            if r not in drop:
                out.add((root, SH.result, r))
                _copy_closure(report, r, out)
    return out


def _copy_closure(src: Graph, node: Node, out: Graph) -> None:
    """Copy ``node``'s triples and those of the blank nodes it reaches (paths, lists)."""
    todo, seen = [node], set()
    while todo:
        n = todo.pop()
        if n in seen:
            continue
        seen.add(n)
        for p, o in src.predicate_objects(n):
            out.add((n, p, o))
            if isinstance(o, BNode):
                todo.append(o)


def _replace_line(r: Result, line: int | None) -> Result:
    return Result(r.focus, r.path, r.value, r.shape, r.component, r.severity, r.messages, line)


def _sort_key(r: Result) -> tuple:
    return (str(r.focus), str(r.path), str(r.value), str(r.shape))


def _json_term(term: Node | None) -> str | None:
    if term is None:
        return None
    if isinstance(term, BNode):
        return "_:" + str(term)
    if isinstance(term, URIRef):
        return str(term)
    return term.n3()


def _read(paths: Iterable[Path]) -> Graph:
    graph = Graph()
    for path in sorted(Path(p) for p in paths):
        with path.open("rb") as f:
            graph.parse(f, format=guess_format(path.name) or "turtle", publicID=path.resolve().as_uri())
    return graph
