"""/openapi.json describes the HTTP interface exactly: a valid OpenAPI 3.1 document, every route
of the app (``app.url_map``) with its methods and path parameters, and nothing that does not exist.

When a route is added, renamed or given a method, this fails until server/innograph/openapi.json
says so too. tests/test_schemathesis.py checks the answers of a real server against it.
"""

from __future__ import annotations

import json
import re

import pytest
import schemathesis

import innograph
from innograph import create_app, protocol, sparql
from innograph.config import SETTINGS
from innograph.openapi import DOCUMENT

METHODS = ("get", "head", "post", "put", "delete", "patch", "options")


@pytest.fixture(scope="module")
def app():
    return create_app({"START_STORE": False, "TESTING": True, "PUBLIC_URL": "https://innograph.example/"})


@pytest.fixture(scope="module")
def doc():
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


def openapi_path(rule: str) -> str:
    """``/id/<path:rest>`` → ``/id/{rest}``."""
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def refused(rule) -> set[str]:
    """Methods a rule routes only to refuse them with its own 405 (/sparql: PUT, DELETE, PATCH)."""
    if rule.endpoint == "sparql.endpoint":
        return {m.lower() for m in set(sparql.ROUTED_METHODS) - set(protocol.ALLOWED_METHODS)}
    return set()


def routed(app) -> dict[str, set[str]]:
    """{OpenAPI path: methods the app answers on purpose}: HEAD added by Werkzeug to a GET,
    OPTIONS added by Flask (they may be documented, need not be) and methods routed only to be
    refused are left out."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        methods = {m.lower() for m in rule.methods or ()} - refused(rule)
        if "get" in methods and rule.endpoint != "sparql.endpoint":
            methods.discard("head")
        if getattr(rule, "provide_automatic_options", False):
            methods.discard("options")
        found.setdefault(openapi_path(rule.rule), set()).update(methods)
    return found


def answered(app) -> dict[str, set[str]]:
    """{OpenAPI path: every method the app serves, automatic ones included}."""
    found: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        found.setdefault(openapi_path(rule.rule), set()).update({m.lower() for m in rule.methods or ()} - refused(rule))
    return found


def operations(doc):
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1.")
    schemathesis.openapi.from_dict(doc).validate()  # against the OpenAPI 3.1 meta-schema
    assert doc["info"]["version"] == innograph.__version__


def test_every_route_and_method_is_documented(app, doc):
    missing = {path: sorted(methods - set(doc["paths"].get(path, {})))
               for path, methods in routed(app).items() if methods - set(doc["paths"].get(path, {}))}
    assert not missing, f"routes of the app missing from openapi.json: {missing}"


def test_nothing_documented_that_does_not_exist(app, doc):
    exists = answered(app)
    extra = {path: sorted(m for m in METHODS if m in item and m not in exists.get(path, set()))
             for path, item in doc["paths"].items()}
    assert not {p: m for p, m in extra.items() if m}, "openapi.json documents routes or methods the app does not have"
    assert len(list(operations(doc))) >= 20


def test_path_parameters_are_those_of_the_rule(doc):
    for path, method, op in operations(doc):
        declared = {p["name"] for p in op.get("parameters", []) if p.get("in") == "path"}
        assert declared == set(re.findall(r"{([^}]+)}", path)), (method, path)


def test_every_operation_says_what_it_answers(doc):
    for path, method, op in operations(doc):
        assert op.get("summary"), (method, path)
        codes = set(op["responses"])
        assert codes and all(re.fullmatch(r"[1-5]\d\d", c) for c in codes), (method, path)
        assert "500" not in codes, "a 500 is a bug, not part of the interface"
        if method in ("post", "put", "patch") and path != "/sparql" or (path == "/sparql" and method == "post"):
            assert op.get("requestBody", {}).get("content"), (method, path)


def test_settings_named_in_the_document_exist(doc):
    named = set(re.findall(r"INNOGRAPH_([A-Z_]+)", json.dumps(doc)))
    assert named and named <= {s.name for s in SETTINGS}


def test_the_server_serves_it_with_its_own_url(app, doc):
    response = app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers
    served = response.get_json()
    assert served["servers"] == [{"url": "https://innograph.example"}]
    assert {k: v for k, v in served.items() if k != "servers"} == {k: v for k, v in doc.items() if k != "servers"}
