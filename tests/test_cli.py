"""The command line: load, query, export (click's CliRunner, in process) and serve (a real process).

Exit codes: 0 success, 1 no result, 2 usage or input error.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from click.testing import CliRunner
from pyoxigraph import RdfFormat, parse

from innograph.cli import main

from conftest import MINIREPO

G = "https://w3id.org/innograph/graph/"


@pytest.fixture
def run(mini_store):
    """``run(*args)`` -> click Result, with the store of ``mini_store``."""
    runner = CliRunner()
    return lambda *args: runner.invoke(main, [*args], env={"INNOGRAPH_STORE": str(mini_store), "INNOGRAPH_REPO_DIR": str(MINIREPO)})


def test_load_reports_triples_per_graph(run):
    result = run("load")
    assert result.exit_code == 0, result.output
    lines = dict(reversed(line.split()) for line in result.output.splitlines() if line.split()[-1].startswith(G))
    assert lines[G + "source/alpha"] == "4" and lines[G + "source/beta"] == "1" and int(lines[G + "inferred"]) > 10
    assert set(lines) >= {G + "ontology", G + "shapes", G + "meta", G + "void"}
    assert f"triples in {len(lines)} graphs" in result.output


def test_load_files_and_bad_input(run, tmp_path):
    (tmp_path / "extra.nt").write_text('<https://w3id.org/innograph/id/x/y> <http://schema.org/name> "y" .\n')
    result = run("load", str(tmp_path / "extra.nt"))
    assert result.exit_code == 0 and f"1  {G}file/extra" in result.output
    assert run("load", str(tmp_path / "missing.ttl")).exit_code == 2
    (tmp_path / "bad.ttl").write_text("this is not turtle\n")
    bad = run("load", str(tmp_path / "bad.ttl"))
    assert bad.exit_code == 2 and "bad.ttl" in bad.output


def test_query_prints_results_and_exit_codes(run, tmp_path):
    names = run("query", "SELECT ?n { ?s schema:name ?n } ORDER BY ?n")
    assert names.exit_code == 0
    assert names.output.splitlines() == ["?n", '"Infopole Cluster TIC"', '"Infopôle"']  # through graph/inferred
    as_json = run("query", "SELECT ?n { ?s schema:name ?n }", "--format", "json")
    assert len(json.loads(as_json.output)["results"]["bindings"]) == 2
    (tmp_path / "q.rq").write_text("PREFIX org: <http://www.w3.org/ns/org#>\nCONSTRUCT WHERE { ?o org:hasMember ?m }\n")
    graph = run("query", str(tmp_path / "q.rq"))
    assert graph.exit_code == 0 and len(list(parse(graph.output.encode(), format=RdfFormat.TURTLE))) == 1
    assert run("query", "SELECT ?n { ?s schema:nothing ?n }").exit_code == 1
    assert run("query", "ASK { ?s schema:nothing ?n }").exit_code == 1
    assert run("query", "ASK { ?s schema:name ?n }").exit_code == 0
    syntax = run("query", "SELECT ?n { ?s ?p }")
    assert syntax.exit_code == 2 and "syntax" in syntax.output
    assert run("query", "SELECT * {}", "--format", "ttl").exit_code == 2


def test_export_streams_the_dataset(run, tmp_path, mini_store):
    from innograph.store import StorePaths

    total = sum(StorePaths(mini_store).manifest()["graphs"].values())
    out = tmp_path / "all.nq"
    assert run("export", "--format", "nq", "--out", str(out)).exit_code == 0
    quads = list(parse(path=str(out), format=RdfFormat.N_QUADS))
    assert len(quads) == total and {q.graph_name.value for q in quads} >= {G + "source/alpha", G + "inferred"}
    turtle = run("export", "--format", "ttl")
    assert turtle.exit_code == 0 and "@prefix ino:" in turtle.output
    triples = {(q.subject, q.predicate, q.object) for q in quads}
    assert len(list(parse(turtle.output.encode(), format=RdfFormat.TURTLE))) == len(triples)  # the union, each triple once
    assert run("export", "--format", "docx").exit_code == 2
    assert run("export").exit_code == 2  # --format is required


def test_help_of_every_command():
    runner = CliRunner()
    for command in ("serve", "load", "query", "export"):
        result = runner.invoke(main, [command, "--help"])
        assert result.exit_code == 0 and "Usage: main " + command in result.output.replace("innograph", "main")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_serve_builds_an_empty_store_and_stops_cleanly(tmp_path):
    port = _free_port()
    env = {**os.environ, "INNOGRAPH_STORE": str(tmp_path / "store"), "INNOGRAPH_REPO_DIR": str(MINIREPO)}
    server = subprocess.Popen([sys.executable, "-m", "innograph.cli", "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        status = None
        for _ in range(100):
            try:
                status = urllib.request.urlopen(f"http://127.0.0.1:{port}/no-such-page", timeout=2).status
            except urllib.error.HTTPError as error:
                status = error.code
            except OSError:
                time.sleep(0.1)
                continue
            break
        assert status == 404  # gunicorn answers through the app
        assert (tmp_path / "store" / "CURRENT.json").exists()  # loaded on first start
        workers = subprocess.run(["pgrep", "-f", f"innograph.worker .*{tmp_path}"], capture_output=True, text=True).stdout.split()
        assert len(workers) == 1  # the fork server, started by the gunicorn worker
    finally:
        server.send_signal(signal.SIGTERM)
        output = server.communicate(timeout=20)[0]
    assert server.returncode == 0, output
    time.sleep(0.3)
    assert subprocess.run(["pgrep", "-f", f"innograph.worker .*{tmp_path}"], capture_output=True).stdout == b""
