"""``innograph backup`` / ``innograph restore`` of the embedded store (server/innograph/backup.py)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
from pyoxigraph import NamedNode

from innograph import loader, store, tokens
from innograph.archive import Archive, Submission
from innograph.executor import QueryService

MINIREPO = Path(__file__).parent / "fixtures" / "minirepo"
BASE = "https://w3id.org/innograph/"
EX = "http://example.org/"

@pytest.mark.parametrize("mode", ["memory", "disk"])
def test_backup_and_restore_round_trip(tmp_path, mode):
    """`innograph backup` of a store with a write in its journal, an archive and tokens, then
    `innograph restore` into an empty directory: the restored store opens to the same quads,
    with the same journal, archive and tokens; a damaged backup or a non-empty target is refused."""
    root, tokens_file = tmp_path / "store", tmp_path / "tokens"
    loader.load(root, MINIREPO, mode=mode)
    tokens.create(tokens_file, "Backup Tester", "curator")
    service = QueryService({"STORE": root, "REPO_DIR": MINIREPO, "WORKERS": 1, "STORE_MODE": mode})
    try:
        service.apply_write([{"op": "put_graph", "graph": BASE + "graph/contribution/b-1", "data": f"<{EX}s> <{EX}p> <{EX}o> ."}])
    finally:
        service.close()
    archive = Archive(root / "archive")
    archive.record(Submission("b-1", "2025-01-01T00:00:00Z", "Backup Tester", None, None, "text/turtle", "ab" * 32, 3, 1, "conforms", 201), b"payload")
    archive.close()
    cli = [str(Path(sys.executable).with_name("innograph"))]
    env = {"INNOGRAPH_STORE": str(root), "INNOGRAPH_TOKENS": str(tokens_file), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*cli, "backup", str(tmp_path / "copy")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "1 journal record(s)" in done.stdout
    restored_env = {**env, "INNOGRAPH_STORE": str(tmp_path / "restored"), "INNOGRAPH_TOKENS": str(tmp_path / "restored-tokens")}
    done = subprocess.run([*cli, "restore", str(tmp_path / "copy")], env=restored_env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert set(store.open_for_queries(tmp_path / "restored", mode)) == set(store.open_for_queries(root, mode))
    assert (tmp_path / "restored" / "journal").read_bytes() == (root / "journal").read_bytes()
    assert (tmp_path / "restored-tokens").read_bytes() == tokens_file.read_bytes()
    assert [s.id for s in Archive(tmp_path / "restored" / "archive").submissions()] == ["b-1"]
    assert (tmp_path / "restored" / "archive" / "payloads" / ("ab" * 32)).read_bytes() == b"payload"
    again = subprocess.run([*cli, "restore", str(tmp_path / "copy")], env=restored_env, capture_output=True, text=True)
    assert again.returncode == 2 and "not empty" in again.stderr
    (tmp_path / "copy" / "store" / "journal").write_bytes(b"tampered")
    damaged = subprocess.run([*cli, "restore", str(tmp_path / "copy")], env={**env, "INNOGRAPH_STORE": str(tmp_path / "r2"),
                                                                           "INNOGRAPH_TOKENS": str(tmp_path / "t2")}, capture_output=True, text=True)
    assert damaged.returncode == 2 and "damaged" in damaged.stderr and not (tmp_path / "r2").exists()


def test_a_backup_taken_during_writes_restores_a_prefix_of_them(tmp_path):
    """Writes go on while `innograph backup` copies: the restored store holds the first k of them,
    each whole (its graph and its record), k being the journal records copied."""
    import threading

    from innograph import backup

    root = tmp_path / "store"
    loader.load(root, MINIREPO)
    service = QueryService({"STORE": root, "REPO_DIR": MINIREPO, "WORKERS": 1})
    written, stop = [], threading.Event()

    def write() -> None:
        while not stop.is_set() and len(written) < 200:
            graph = f"{BASE}graph/contribution/w-{len(written)}"
            service.apply_write([{"op": "put_graph", "graph": graph, "data": f"<{EX}s> <{EX}p> \"{len(written)}\" ."},
                                 {"op": "add", "data": f"<{graph}> <{EX}n> \"{len(written)}\" <{BASE}graph/meta> .\n"}])
            written.append(graph)

    writer = threading.Thread(target=write)
    try:
        writer.start()
        while len(written) < 5:
            time.sleep(0.01)
        index = backup.backup(root, tmp_path / "tokens", tmp_path / "copy")
    finally:
        stop.set()
        writer.join()
        service.close()
    backup.restore(tmp_path / "copy", tmp_path / "restored", tmp_path / "restored-tokens")
    restored = store.open_for_queries(tmp_path / "restored")
    graphs = sorted(int(g.value.rsplit("-", 1)[1]) for g in restored.named_graphs() if "/contribution/w-" in g.value)
    records = sorted(int(q.object.value) for q in restored.quads_for_pattern(None, NamedNode(EX + "n"), None, None))
    assert graphs == records == list(range(index["journal_records"]))
    assert 5 <= len(graphs) <= len(written)
