"""The W3C SHACL core test suite, run through innograph.validation, equals pySHACL's own results.

Each sht:Validate entry of shared/conformance/data-shapes/data-shapes-test-suite/tests/core
(found by following mf:include from its manifest) is validated twice on the same parsed graphs:
once through ``innograph.validation.validate`` and once by calling ``pyshacl.validate`` directly.
The verdicts and the sets of results (focus node, path, value, source shape, constraint
component, severity) must be equal: our wrapper must add nothing and lose nothing.
"""

from __future__ import annotations

from pathlib import Path

import pyshacl
import pytest
from rdflib import RDF, Graph, Namespace
from rdflib.collection import Collection
from rdflib.namespace import SH

from innograph.validation import Shapes, validate

MF = Namespace("http://www.w3.org/2001/sw/DataAccess/tests/test-manifest#")
SHT = Namespace("http://www.w3.org/ns/shacl-test#")
SUITE = Path(__file__).resolve().parent.parent.parent / "shared" / "conformance" / "data-shapes" / "data-shapes-test-suite" / "tests" / "core"
EXPECTED_COUNT = 98


def _manifest_files(manifest: Path) -> list[Path]:
    g = Graph().parse(manifest, format="turtle", publicID=manifest.as_uri())
    out: list[Path] = []
    for included in sorted(g.objects(None, MF.include)):
        path = Path(str(included).removeprefix("file://"))
        out += _manifest_files(path) if path.name == "manifest.ttl" else [path]
    return out


def _cases() -> list:
    if not (SUITE / "manifest.ttl").exists():
        return []
    cases = []
    for path in _manifest_files(SUITE / "manifest.ttl"):
        g = Graph().parse(path, format="turtle", publicID=path.as_uri())
        for lst in g.objects(None, MF.entries):
            for entry in Collection(g, lst):
                if (entry, RDF.type, SHT.Validate) in g:
                    name = f"{path.parent.name}/{path.stem}"
                    cases.append(pytest.param(path, entry, id=name))
    return cases


CASES = _cases()


def test_the_suite_has_all_its_core_tests():
    if not CASES:
        pytest.skip(f"shared/ is not beside the repository ({SUITE} is absent)")
    assert len(CASES) == EXPECTED_COUNT


def _graph(test_file: Graph, path: Path, ref) -> Graph:
    """The graph a test names: the test file itself (<>) or another file beside it."""
    if str(ref) == path.as_uri():
        return test_file
    other = Path(str(ref).removeprefix("file://"))
    return Graph().parse(other, format="turtle", publicID=other.as_uri())


def _keys(report: Graph) -> set:
    props = (SH.focusNode, SH.resultPath, SH.value, SH.sourceShape, SH.sourceConstraintComponent, SH.resultSeverity)
    return {tuple(report.value(r, p) for p in props) for r in report.subjects(RDF.type, SH.ValidationResult)}


@pytest.mark.parametrize("path,entry", CASES)
def test_core(path: Path, entry):
    g = Graph().parse(path, format="turtle", publicID=path.as_uri())
    action = g.value(entry, MF.action)
    data = _graph(g, path, g.value(action, SHT.dataGraph))
    shapes = _graph(g, path, g.value(action, SHT.shapesGraph))

    ours = validate(data, Shapes(shapes))
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none")

    assert ours.conforms == bool(conforms)
    assert _keys(ours.graph) == _keys(report)
    assert {(r.focus, r.path, r.value, r.shape, r.component, r.severity) for r in ours.results} == _keys(report)
