"""Headless Chromium for the browser tests, and a real ``innograph serve`` process to point it at.

Chromium is Debian's (``/usr/bin/chromium``, installed by ``make browser``), driven by Playwright
with ``executable_path``: Playwright cannot download its own browsers here. The flags keep
Chromium from calling Google's services, which a closed network refuses (and which would show up
as failed requests). Fixtures built on these helpers live in conftest.py.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHROMIUM = Path(os.environ.get("INNOGRAPH_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


def free_port() -> int:
    """A TCP port that was free a moment ago on the loopback interface."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LiveServer:
    """``innograph serve`` in its own process group (so that its workers stop with it)."""

    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# Ready means the store answers queries (it loads in the background after the port opens).
READY_PATH = "/sparql?query=ASK%7B%7D"


def start_server(workdir: Path, env: dict[str, str], ready_path: str = READY_PATH, timeout: float = 180.0) -> LiveServer:
    """Start ``innograph serve --port <free port>`` with ``env`` added; return once it answers."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("innograph")), "serve", "--host", "127.0.0.1", "--port", str(port)]
    log = workdir / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=workdir, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = LiveServer(f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`{' '.join(command)}` exited with {process.returncode}:\n{log.read_text(errors='replace')[-4000:]}")
        try:
            with urllib.request.urlopen(server.url + ready_path, timeout=5) as response:
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not answer {ready_path} within {timeout:.0f}s:\n{log.read_text(errors='replace')[-4000:]}")


@dataclass
class PageProblems:
    """Everything that went wrong while a page was open: the tests assert this stays empty."""

    origin: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    error_responses: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)

    def watch(self, context, page) -> None:
        """Record problems of ``page``; refuse (and record) any request that leaves our origin."""

        def route(route):
            url = route.request.url
            parts = urlsplit(url)
            if f"{parts.scheme}://{parts.netloc}" == self.origin:
                route.continue_()
            else:
                self.foreign_requests.append(url)
                route.abort("blockedbyclient")

        context.route("**/*", route)
        page.on("console", lambda m: m.type == "error" and self.console_errors.append(f"{m.text} ({m.location.get('url')})"))
        page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        page.on("requestfailed", lambda r: self.failed_requests.append(f"{r.method} {r.url}: {r.failure}"))
        page.on("response", lambda r: r.status >= 400 and self.error_responses.append(f"{r.status} {r.request.method} {r.url}"))

    def as_dict(self) -> dict[str, list[str]]:
        return {
            "console errors": self.console_errors,
            "page errors": self.page_errors,
            "failed requests": self.failed_requests,
            "responses >= 400": self.error_responses,
            "requests to other hosts": self.foreign_requests,
        }


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot as test-artifacts/<name>.png (git-ignored) and return its path."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
