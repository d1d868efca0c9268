"""The endpoint benchmark harness (bench/endpoint.py) runs end to end on a 5k-triple graph: both
servers start, load the same data, give the same result sizes, answer the mix without errors, and
the report has its ratios. A smoke test of the harness, not a measurement."""

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("bench_endpoint", ROOT / "bench" / "endpoint.py")
endpoint = importlib.util.module_from_spec(spec)
sys.modules["bench_endpoint"] = endpoint  # dataclasses look their module up in sys.modules
spec.loader.exec_module(endpoint)


def test_templates_have_known_placeholders_and_headers():
    templates = endpoint.load_templates(ROOT / "bench" / "queries")
    assert {t.kind for t in templates} >= {"lookup", "search", "join", "aggregate", "count"}
    for t in templates:
        assert t.question and t.weight >= 1 and t.accept
        assert "{{" not in t.bind({p: "<https://example.org/x>" if p != "word" else '"x"' for p in t.params})


def test_chunked_and_sized_responses_are_read_whole():
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    answers = [b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
               b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\n",
               b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"]

    def serve():
        conn, _ = listener.accept()
        for answer in answers:
            conn.recv(65536)
            for i in range(0, len(answer), 7):  # in small pieces
                conn.sendall(answer[i:i + 7])
        conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = endpoint.Connection(port)
    assert client.request(b"GET / HTTP/1.1\r\n\r\n", keep=True) == (200, 5, b"hello")
    assert client.request(b"GET / HTTP/1.1\r\n\r\n", keep=True) == (200, 5, b"abcde")
    assert client.request(b"GET / HTTP/1.1\r\n\r\n", keep=True) == (404, 0, b"")
    assert client.sock is None  # Connection: close honoured
    thread.join(5)
    listener.close()


@pytest.mark.slow  # ~13 s on an idle 2-core machine, over 20 s when it is busy
@pytest.mark.skipif(not (Path(sys.executable).parent / "oxigraph").exists(), reason="the oxigraph server (PyPI package oxigraph) is not installed")
def test_benchmark_runs_against_both_servers(tmp_path):
    out = tmp_path / "out"
    code = endpoint.main(["--triples", "5k", "--duration", "2", "--warmup", "0.3", "--concurrency", "2", "--mixes", "full",
                          "--repeat", "1", "--data-dir", str(tmp_path / "data"), "--out-dir", str(out)])
    assert code == 0  # 1: the servers disagree on result sizes
    report = json.loads(next(out.glob("endpoint-*.json")).read_text())
    assert report["mismatches"] == {}
    for name in ("oxigraph", "innograph"):
        run = report["servers"][name][0]["runs"]["full@2"]
        assert run["completed"] > 10 and not run["errors"], (name, run["errors"])
        assert set(run["latencies"]) == {t["name"] for t in report["templates"]}
    (row,) = report["summary"]["throughput"]
    assert row["ratio"] > 0
    assert all(r["innograph_ms"] and r["oxigraph_ms"] for r in report["summary"]["p50"])
    # no benchmark server left behind
    leftovers = [p for p in os.listdir("/proc") if p.isdigit() and str(tmp_path) in _cmdline(p)]
    assert not leftovers


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
