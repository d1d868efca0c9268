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
def live_server(tmp_path_factory):
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
