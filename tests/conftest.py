"""Shared fixtures. Append yours in a section of its own; reuse ``live_server`` for anything that
needs a real server process (sockets, SPARQLWrapper, the browser)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

import browser

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


# -- A real server process ---------------------------------------------------------------------


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, external_stores):
    """Base URL of a real ``innograph serve`` on a free port, with a fresh store built from this
    repository, and the query UI's catalogue from tests/fixtures/queries.

    ``INNOGRAPH_TEST_LIVE_URL`` points the tests at a server that is already running instead.
    """
    if os.environ.get("INNOGRAPH_TEST_LIVE_URL"):
        yield os.environ["INNOGRAPH_TEST_LIVE_URL"].rstrip("/")
        return
    workdir = tmp_path_factory.mktemp("live-server")
    env = {
        "INNOGRAPH_REPO_DIR": str(REPO),
        "INNOGRAPH_STORE": str(workdir / "store"),
        "INNOGRAPH_TOKENS": str(workdir / "tokens"),
        "INNOGRAPH_QUERIES_DIR": str(TESTS / "fixtures" / "queries"),
        **external_stores.env(repo=REPO, cli=True),  # an external store, loaded by `innograph load` (backends.py)
    }
    server = browser.start_server(workdir, env)
    yield server.url
    server.stop()


# -- Headless Chromium -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium driven by Playwright; skipped, with the reason, where it is absent."""
    if not browser.CHROMIUM.exists():
        pytest.skip(f"{browser.CHROMIUM} is absent: `make browser` installs Debian's chromium (as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(browser.CHROMIUM), args=list(browser.CHROMIUM_ARGS))
        yield instance
        instance.close()


@pytest.fixture
def browse(request, chromium, live_server):
    """``browse(path, locale=..., width=..., height=...)`` opens ``live_server + path`` in a fresh
    browser context and returns ``.page``, ``.url`` (the server's) and ``.problems``.

    Requests to any other host are refused and recorded in ``.problems``. Each page opened gets a
    screenshot, as the test left it, in test-artifacts/<test name>[-n].png.
    """
    opened = []

    def open_page(path: str, *, locale: str = "en-GB", width: int = 1280, height: int = 900):
        context = chromium.new_context(locale=locale, viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        page = context.new_page()
        problems = browser.PageProblems(origin=live_server)
        problems.watch(context, page)
        opened.append((context, page))
        page.goto(live_server + path, wait_until="networkidle")
        return SimpleNamespace(page=page, url=live_server, problems=problems)

    yield open_page
    name = re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")
    for n, (context, page) in enumerate(opened):
        try:
            browser.screenshot(page, f"{name}-{n}" if n else name)
        finally:
            context.close()


# -- The SPARQL endpoint over a store of given quads ---------------------------------------------


@pytest.fixture(scope="session")
def sparql_app(tmp_path_factory, external_stores):
    """``sparql_app(nquads, **settings)``: an app (real executors) over a store that the runtime's
    loader builds from ``nquads`` alone, in a temporary directory. A test-only path: production
    stores are built from the repository. The apps are closed at the end of the session."""
    from innograph import create_app, loader

    apps = []

    def make(nquads: bytes, **settings):
        workdir = tmp_path_factory.mktemp("sparql-store")
        (workdir / "data.nq").write_bytes(nquads)
        external = external_stores.settings(files=(workdir / "data.nq",))  # {} on the embedded store
        if not external:
            loader.load(workdir / "store", files=[workdir / "data.nq"])
        app = create_app({"STORE": str(workdir / "store"), "REPO_DIR": str(workdir), "TOKENS": str(workdir / "tokens"),
                          "TESTING": True, "WORKERS": 1, **external, **settings})
        app.extensions["innograph"].wait_ready(120)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["innograph"].close()


# -- The runtime: store, executors (server/innograph/{store,executor}.py) --------------------

MINIREPO = TESTS / "fixtures" / "minirepo"  # a tiny ontology/, shapes/, data/ with one alignment of each kind


@pytest.fixture
def mini_store(tmp_path):
    """A store directory freshly loaded from tests/fixtures/minirepo (N-Quads snapshot kind)."""
    from innograph import loader

    loader.load(tmp_path / "store", MINIREPO)
    return tmp_path / "store"


@pytest.fixture
def query_service(mini_store):
    """A real QueryService (fork server + 2 executors) on ``mini_store``: QUERY_TIMEOUT 1.5 s,
    MAX_ROWS 1000. Closed after the test (no process left behind)."""
    from innograph.executor import QueryService
    from innograph.namespaces import PREFIXES

    service = QueryService({"STORE": mini_store, "REPO_DIR": MINIREPO, "WORKERS": 2, "QUERY_TIMEOUT": 1.5, "MAX_ROWS": 1000},
                           prefixes=PREFIXES)
    service.wait_ready(60)
    yield service
    service.close()


# -- Linked-data pages over the repository's own data ----------------------------------------


@pytest.fixture(scope="session")
def repo_app(tmp_path_factory, external_stores):
    """An app (real executors) over a store built by the loader from this repository's
    ontology/, shapes/ and data/: what ``innograph serve`` serves. Closed at the end."""
    from innograph import create_app, loader

    workdir = tmp_path_factory.mktemp("repo-store")
    external = external_stores.settings(repo=REPO)  # {} on the embedded store
    if not external:
        loader.load(workdir / "store", REPO)
    app = create_app({"STORE": str(workdir / "store"), "REPO_DIR": str(REPO), "TOKENS": str(workdir / "tokens"),
                      "TESTING": True, "WORKERS": 2, **external})
    app.extensions["innograph"].wait_ready(120)
    yield app
    app.extensions["innograph"].close()


# -- A server with short limits, for hostile input and load (test_attacks, test_fuzz, ...) ------

GUARDED_SETTINGS = {"QUERY_TIMEOUT": "2", "READ_TIMEOUT": "3", "MAX_BODY": "100000", "MAX_TRIPLES": "2000",
                    "AUTH_FAILURES": "5", "AUTH_WINDOW": "20", "THREADS": "8"}


@pytest.fixture(scope="session")
def guarded_server(tmp_path_factory):
    """A real ``innograph serve`` (store built from this repository) with short limits
    (:data:`GUARDED_SETTINGS`: queries stopped after 2 s, requests read within 3 s, 100 kB bodies,
    5 unknown tokens per 20 s) and two tokens. ``.url``, ``.tokens`` (role → token), ``.settings``,
    ``.log`` (the server's output), ``.workdir``."""
    from innograph import tokens

    workdir = tmp_path_factory.mktemp("guarded-server")
    token_file = workdir / "tokens"
    issued = {role: tokens.create(token_file, f"Fuzz {role}", role) for role in ("contributor", "curator")}
    env = {"INNOGRAPH_REPO_DIR": str(REPO), "INNOGRAPH_STORE": str(workdir / "store"), "INNOGRAPH_TOKENS": str(token_file),
           **{f"INNOGRAPH_{k}": v for k, v in GUARDED_SETTINGS.items()}}
    server = browser.start_server(workdir, env)
    yield SimpleNamespace(url=server.url, tokens=issued, settings=GUARDED_SETTINGS, log=server.log, workdir=workdir)
    server.stop()


# -- Backends: the same behaviour tests on the embedded store and on external ones -------------
#
# The modules of BACKEND_MODULES run once per backend (test ids end in [embedded], [oxigraph],
# [virtuoso]): their app fixtures (live_server, sparql_app, repo_app, or their own through
# ``external_stores``) get the settings of a fresh external store, loaded by `innograph load`.
# ``--backend NAME`` (repeatable) or INNOGRAPH_TEST_BACKENDS=embedded,oxigraph picks them; by
# default every backend that can run here (tests/backends.py says why one cannot).

import backends  # noqa: E402

BACKEND_MODULES = {"test_sparql_endpoint", "test_pages", "test_clients", "test_contributions", "test_contribution_effects",
                   "test_backends"}


def pytest_addoption(parser):
    parser.addoption("--backend", action="append", choices=backends.BACKENDS, default=None,
                     help="store backend for the behaviour tests (repeatable; default: every one available)")


def _chosen_backends(config) -> list[str]:
    chosen = config.getoption("backend") or [b for b in os.environ.get("INNOGRAPH_TEST_BACKENDS", "").split(",") if b]
    return chosen or [b for b in backends.BACKENDS if b == "embedded" or backends.unavailable(b) is None]


def pytest_generate_tests(metafunc):
    if "store_backend" in metafunc.fixturenames and metafunc.module.__name__.rsplit(".", 1)[-1] in BACKEND_MODULES:
        params = [pytest.param(b, marks=[pytest.mark.skip(reason=backends.unavailable(b))] if backends.unavailable(b) else [])
                  for b in _chosen_backends(metafunc.config)]
        metafunc.parametrize("store_backend", params, indirect=True, scope="session")


# Tests that repeat one code path over many cases run a sample of them on an external store:
# test name -> one case in N (test_pages: 389 things, the same views and queries for each).
SAMPLED_ON_EXTERNAL = {"test_every_thing_has_a_page_and_its_rdf": 16}


# What an engine does differently from the embedded store, as strict xfails of its runs (the
# test says what the embedded store does; docs/deploy.md lists these for deployers).
ENGINE_DIFFERENCES = {
    "virtuoso": {
        "test_construct_and_describe_in_each_rdf_format": "Virtuoso 7.2's DESCRIBE finds nothing without FROM",
        "test_syntax_error_has_position_and_no_trace": "Virtuoso's own syntax error messages (a line, no column)",
        "test_service_would_go_out_if_allowed": "Virtuoso's /sparql user may not run SERVICE",
        "test_sparqlwrapper_syntax_error": "Virtuoso's own syntax error messages (a line, no column)",
        "test_graph_void_describes_the_same_dataset": "Virtuoso's own graphs (virtrdf#, ...) are in the union: graph/void counts them",
        "test_competency_queries_answer_the_same_through_the_endpoint[cq16-multiple-roles]":
            "Virtuoso 7.2 misses a row of a schema:superEvent* path under a grouped sub-select",
    },
}


def pytest_collection_modifyitems(config, items):
    seen: dict[tuple[str, str], int] = {}
    kept, dropped = [], []
    for item in items:
        backend = getattr(item, "callspec", None) and item.callspec.params.get("store_backend")
        for test, difference in ENGINE_DIFFERENCES.get(backend or "", {}).items():
            name, _, case = test.partition("[")  # "test_name" or "test_name[part of the case's id]"
            if name == getattr(item, "originalname", "") and case.rstrip("]") in item.callspec.id:
                item.add_marker(pytest.mark.xfail(strict=True, reason=difference))
        every = SAMPLED_ON_EXTERNAL.get(getattr(item, "originalname", ""))
        if every and backend not in (None, "embedded"):
            key = (item.originalname, backend)
            seen[key] = seen.get(key, -1) + 1
            if seen[key] % every:
                dropped.append(item)
                continue
        kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session")
def store_backend(request):
    """"embedded" (the default), or the external engine this run of the test uses."""
    return getattr(request, "param", "embedded")


@pytest.fixture(scope="session")
def external_stores(store_backend, tmp_path_factory):
    """``.settings(repo=DIR | files=(...))``: the settings that put an app on a fresh external
    store of the current backend, loaded with the repository or the files ({} on the embedded
    store: the app builds its own); ``.env(...)`` the same as INNOGRAPH_* variables. Every
    server started is stopped at the end."""
    started: list[backends.StoreServer] = []
    idle: list[backends.StoreServer] = []  # servers that a test gave back: emptied and reused

    def settings(repo=None, files=(), cli=False, finalizer=None):
        """``finalizer``: a function-scoped fixture's ``request.addfinalizer``: the server is given
        back after that test, and the next one empties it instead of starting another (Virtuoso
        takes 6 s to start)."""
        if store_backend == "embedded":
            return {}
        if finalizer and idle:
            server = idle.pop()
            server.reset()
            if repo is not None or files:
                server.load(repo, tuple(files), cli=cli)
        else:
            server = backends.start_store(store_backend, tmp_path_factory.mktemp(store_backend), repo, tuple(files), cli=cli)
            started.append(server)
        if finalizer:
            finalizer(lambda: idle.append(server))
        return dict(server.settings)

    def env(repo=None, files=(), cli=False, finalizer=None):
        return {f"INNOGRAPH_{k}": v for k, v in settings(repo, files, cli, finalizer).items()}

    yield SimpleNamespace(backend=store_backend, settings=settings, env=env, started=started)
    for server in started:
        server.stop()
