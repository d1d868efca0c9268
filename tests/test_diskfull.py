"""A full disk under the embedded store: a clear 507, nothing half-applied, queries still answered,
and after space is freed (and after a restart) every contribution answered 201 there, whole.

The store lives on a small tmpfs mounted for the test (root only: skipped, with the reason,
elsewhere; CI runs as root), built by ``innograph load``; a real ``innograph serve`` (the
launcher of tests/browser.py) runs on it. The disk is filled with ballast until ENOSPC: one large
file, then one-page files. tmpfs allocates whole pages, so freeing k of those files gives back
exactly k pages: that is how the server test lets the archive's write succeed and the store
journal's fail halfway through its record (the partial record must be cut, or every record after
it would be invisible to the next start).
"""

from __future__ import annotations

import errno
import json
import os
import random
import shutil
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

import browser
from innograph import journal, tokens
from innograph.archive import Archive, Submission
from innograph.diskfull import DiskFull
from innograph.journal import Journal
from test_crash import META, get_json, payload, select, triples_in

REPO = Path(__file__).resolve().parent.parent
PAGE = os.sysconf("SC_PAGE_SIZE")  # tmpfs allocates in pages
SIZE_MB = 16  # the seed store is 1.7 MB; a rebuild needs as much again
ID = "https://w3id.org/innograph/id/"


# -- The disk ------------------------------------------------------------------------------------


@dataclass
class Disk:
    """A tmpfs at ``root``; ``fill()`` leaves no free page, ``free(k)`` gives back k pages."""

    root: Path

    @property
    def ballast(self) -> Path:
        return self.root / "ballast"

    def available(self) -> int:
        stat = os.statvfs(self.root)
        return stat.f_bavail * stat.f_frsize

    def fill(self, pages: int = 32) -> None:
        """Write ballast until ENOSPC, then trade its last ``pages`` pages for one-page files."""
        self.ballast.mkdir(exist_ok=True)
        big = self.ballast / f"big-{len(list(self.ballast.iterdir()))}"
        size = _write_until_full(big, 1 << 20)
        os.truncate(big, max(0, size - pages * PAGE))
        for n in range(pages):
            _write_until_full(self.ballast / f"page-{big.name}-{n}", PAGE, once=True)
        assert self.available() == 0, f"{self.available()} bytes still free after the ballast"

    def free(self, pages: int) -> None:
        for page in sorted(self.ballast.glob("page-*"))[:pages]:
            page.unlink()

    def empty(self) -> None:
        shutil.rmtree(self.ballast, ignore_errors=True)


def _write_until_full(path: Path, chunk: int, once: bool = False) -> int:
    """Append zeros to ``path`` in ``chunk``-byte writes until ENOSPC (or one write if ``once``)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    block, written = b"\0" * chunk, 0
    try:
        while True:
            written += os.write(fd, block)
            if once:
                return written
    except OSError as error:
        if error.errno != errno.ENOSPC:
            raise
        return written
    finally:
        os.close(fd)


@pytest.fixture
def disk(tmp_path):
    """A fresh tmpfs of SIZE_MB under ``tmp_path``, unmounted after the test."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs the tests as root)")
    root = tmp_path / "disk"
    root.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(root)], capture_output=True, text=True)
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs: {mounted.stderr.strip() or mounted.returncode}")
    yield Disk(root)
    if subprocess.run(["umount", str(root)], capture_output=True).returncode:
        subprocess.run(["umount", "-l", str(root)], check=True)  # a process still holds a file: detach it


# -- The journal and the archive, directly -------------------------------------------------------


def test_a_journal_record_that_does_not_fit_is_cut_back_whole(disk):
    path = disk.root / "journal"
    writer = Journal(path)
    writer.append({"id": "first", "ops": []})
    disk.fill()
    disk.free(1)
    before = path.stat().st_size
    with pytest.raises(DiskFull, match="No space left on device"):
        writer.append({"id": "too-big", "ops": [{"op": "add", "data": "x" * 3 * PAGE}]})  # more than the free page
    assert path.stat().st_size == before, "a partial record was left in the journal"
    disk.empty()
    writer.append({"id": "after", "ops": []})
    writer.close()
    data = path.read_bytes()
    records, end = journal.scan(data)
    assert [r["id"] for r in records] == ["first", "after"] and end == len(data)


def test_undo_cuts_only_the_last_record(disk):
    writer = Journal(disk.root / "journal")
    first = writer.append({"id": "a"})
    second = writer.append({"id": "b"})
    assert not writer.undo(first), "a record with another after it was cut"
    assert writer.undo(second)
    writer.append({"id": "c"})
    writer.close()
    assert [r["id"] for r in journal.read(disk.root / "journal")] == ["a", "c"]


def test_an_archive_write_on_a_full_disk_keeps_nothing(disk):
    archive = Archive(disk.root / "archive")
    meta = {"at": "2026-01-01T00:00:00+00:00", "contributor": "T", "source": None, "message": None, "media_type": "text/turtle",
            "bytes": 3 * PAGE, "triples": 1, "verdict": "conforms", "status": 201}
    archive.record(Submission(id="kept", payload_sha256="0" * 64, **meta), b"small")
    disk.fill()
    with pytest.raises(DiskFull):
        archive.record(Submission(id="refused", payload_sha256="1" * 64, **meta), b"x" * 3 * PAGE)
    assert [p.name for p in (disk.root / "archive" / "payloads").iterdir()] == ["0" * 64], "a temporary or partial payload was left"
    assert [s.id for s in archive.submissions()] == ["kept"]
    archive.close()


# -- The real server ---------------------------------------------------------------------------


def contribute(url: str, token: str, body: bytes, tag: str, source: bool = True) -> tuple[int, dict, str]:
    """POST /contributions; (status, JSON body, Content-Type)."""
    query = urllib.parse.urlencode({**({"source": f"https://example.org/diskfull/{tag}"} if source else {}), "message": tag})
    request = urllib.request.Request(f"{url}/contributions?{query}", data=body, method="POST", headers={
        "Content-Type": "text/turtle", "Accept": "application/json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), response.headers["Content-Type"]
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}"), error.headers["Content-Type"]


def records(url: str) -> dict[str, str]:
    """Message (the test's tag) -> status of every contribution record in graph/meta."""
    rows = select(url, f"""PREFIX prov: <http://www.w3.org/ns/prov#> PREFIX adms: <http://www.w3.org/ns/adms#>
        PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
        SELECT ?msg ?status WHERE {{ GRAPH <{META}> {{ ?g adms:status ?status ; prov:wasGeneratedBy ?act . ?act rdfs:comment ?msg }} }}""")
    return {r["msg"]: r["status"].rsplit("/", 1)[-1] for r in rows}


def organisations(url: str) -> set[str]:
    """The test's organisations (crash-<tag>-...) the store holds."""
    rows = select(url, f'SELECT DISTINCT ?o WHERE {{ GRAPH ?g {{ ?o a ?t }} FILTER(STRSTARTS(STR(?o), "{ID}organisation/crash-")) }}')
    return {r["o"].removeprefix(f"{ID}organisation/crash-") for r in rows}


def big_payload(tag: str, companies: int = 30) -> bytes:
    """``companies`` of test_crash's payloads in one: its journal record spans several pages."""
    rnd = random.Random(tag)
    return b"\n".join(payload(f"{tag}-{n}", rnd) for n in range(companies))


def journal_state(store: Path) -> tuple[int, list[dict]]:
    """(bytes, records) of the store's journal, asserting it holds whole records only."""
    data = (store / "journal").read_bytes() if (store / "journal").exists() else b""
    found, end = journal.scan(data)
    assert end == len(data), f"the journal has {len(data) - end} bytes of a partial record"
    return len(data), found


def archived(store: Path, tag: str) -> list[tuple[str, int]]:
    """(verdict, status) of each archive record of the submissions with message ``tag``."""
    return [(r["verdict"], r["status"]) for r in journal.read(store / "archive" / "submissions.journal") if r["message"] == tag]


def assert_507(answer: tuple[int, dict, str]) -> None:
    status, body, media_type = answer
    assert status == 507 and media_type.startswith("application/json"), answer
    assert body["ok"] is False and body["status"] == 507
    assert body["error"].startswith("The store's disk is full: the contribution was not accepted and nothing of it was recorded"), body
    assert "Traceback" not in body["error"] and "Errno" not in body["error"]


def assert_only_a(url: str) -> None:
    """Queries are answered, and see contribution a alone (nothing refused since)."""
    assert records(url) == {"a": "accepted"}
    assert organisations(url) == {"a"}
    status, listed = get_json(f"{url}/contributions")
    assert status == 200 and [c["message"] for c in listed["contributions"]] == ["a"]


@pytest.mark.slow
def test_a_full_disk_refuses_contributions_with_507_and_loses_nothing(disk, tmp_path):
    store = disk.root / "store"
    env = {"INNOGRAPH_REPO_DIR": str(REPO), "INNOGRAPH_STORE": str(store), "INNOGRAPH_TOKENS": str(tmp_path / "tokens"),
           "INNOGRAPH_WORKERS": "2"}
    innograph = str(Path(sys.executable).with_name("innograph"))
    subprocess.run([innograph, "load", "--store", str(store)], env={**os.environ, **env}, capture_output=True, check=True)
    token = tokens.create(tmp_path / "tokens", "Disk Tester", "contributor")
    runs = iter(range(10))

    def start() -> browser.LiveServer:  # logs outside the full disk, one directory per run
        run = tmp_path / f"run-{next(runs)}"
        run.mkdir()
        return browser.start_server(run, env)

    big = big_payload("c")
    server = start()
    try:
        url = server.url
        assert contribute(url, token, payload("a", random.Random(1)), "a")[0] == 201
        assert contribute(url, token, big, "c-unsourced", source=False)[0] == 400  # archives c's payload
        size_before, journaled = journal_state(store)
        assert len(journaled) == 1

        disk.fill()  # not a page free
        assert_507(contribute(url, token, payload("b", random.Random(2)), "b"))  # its payload does not fit
        assert_507(contribute(url, token, payload("d", random.Random(4)), "d-unsourced", source=False))  # nor a refusal's
        assert archived(store, "b") == [] and archived(store, "d-unsourced") == []
        assert not list((store / "archive" / "payloads").glob(".*")), "a temporary payload file was left"
        dump = urllib.request.Request(f"{url}/dumps/innograph.nq", headers={"Accept": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(dump, timeout=60)
        assert refused.value.code == 507 and "disk is full" in json.loads(refused.value.read())["error"]
        assert not [p for p in (store / "dumps").rglob("*") if p.is_file() and not p.name.endswith(".lock")], "a partial dump was left"
        assert_only_a(url)  # queries go on, on the full disk

        disk.free(2)  # room for the archive's record (c's payload is archived already), not for c's journal record
        assert_507(contribute(url, token, big, "c-full"))
        assert journal_state(store) == (size_before, journaled), "the refused contribution changed the store's journal"
        assert archived(store, "c-full") == [("refused", 507)], "the archive must not claim a 201 that was answered 507"
        assert_only_a(url)

        disk.empty()  # space is back: accepted at once, no restart
        status, again, _ = contribute(url, token, big, "c-again")
        assert status == 201, again
        assert journal_state(store)[0] - size_before > 3 * PAGE, "c's record would have fitted in the 2 pages freed: c-full proved nothing"
        status, last, _ = contribute(url, token, payload("e", random.Random(5)), "e")
        assert status == 201, last
        expected, present = {"a": "accepted", "c-again": "accepted", "e": "accepted"}, {"a", "e"} | {f"c-{n}" for n in range(30)}
        assert records(url) == expected and organisations(url) == present
        status, shown = get_json(f"{url}/contributions/{again['id']}")
        assert status == 200 and shown["status"] == "accepted" and shown["triples"] == triples_in(big)
        server.stop()

        server = start()  # the same store: every 201 is there, nothing refused is
        assert records(server.url) == expected and organisations(server.url) == present
        assert [r["contribution"] for r in journal_state(store)[1]] == [journaled[0]["contribution"], again["id"], last["id"]]
        server.stop()

        # `innograph load` on a full disk: a clear message, CURRENT.json and its database untouched.
        current, databases = (store / "CURRENT.json").read_bytes(), sorted(p.name for p in store.glob("db-*"))
        disk.fill()
        loaded = subprocess.run([innograph, "load", "--store", str(store)], env={**os.environ, **env}, capture_output=True, text=True)
        assert loaded.returncode == 2, loaded.stderr
        assert "the store's disk is full" in loaded.stderr and "nothing was changed" in loaded.stderr and "Traceback" not in loaded.stderr
        assert (store / "CURRENT.json").read_bytes() == current
        assert sorted(p.name for p in store.glob("db-*")) == databases and not (store / "CURRENT.tmp").exists()
        disk.empty()
        server = start()
        assert records(server.url) == expected
    finally:
        server.stop()
    for run in tmp_path.glob("run-*"):
        assert "Traceback" not in (run / "server.log").read_text(errors="replace"), run
