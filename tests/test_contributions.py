"""The contribution workflow over HTTP, on a real app and store built from tests/fixtures/contrib."""

from __future__ import annotations

from pathlib import Path

import pytest

from innograph import create_app, tokens
from innograph.archive import Archive

FIXTURE_REPO = Path(__file__).parent / "fixtures" / "contrib"
GOOD = b"""@prefix ino: <https://w3id.org/innograph/ontology#> .
@prefix org: <https://w3id.org/innograph/id/org/> .
@prefix pole: <https://w3id.org/innograph/id/pole/> .
org:newco a ino:Company ; ino:name "NewCo" ; ino:memberOf pole:wagralim .
"""
BAD = GOOD.replace(b"pole:wagralim", b"org:ucb")
TTL = {"Content-Type": "text/turtle"}
SOURCE = "/contributions?source=https://example.org/news/newco&message=from%20the%20news"


@pytest.fixture
def env(tmp_path, request, external_stores):
    """A fresh app (its own store, tokens, archive) with a contributor and a curator."""
    token_file = tmp_path / "tokens"
    who = {"contributor": tokens.create(token_file, "Alice Dupont", "contributor"),
           "curator": tokens.create(token_file, "Carl Curator", "curator")}
    app = create_app({"REPO_DIR": str(FIXTURE_REPO), "STORE": str(tmp_path / "store"), "TOKENS": str(token_file),
                      "WORKERS": 1, "MAX_BODY": 4000, "MAX_TRIPLES": 20,
                      **external_stores.settings(repo=FIXTURE_REPO, finalizer=request.addfinalizer)})  # conftest: backends
    client = app.test_client()
    yield app, client, {role: {"Authorization": f"Bearer {t}"} for role, t in who.items()}, tmp_path
    app.extensions.get("innograph.contributions") and app.extensions["innograph.contributions"].archive.close()
    app.extensions["innograph"].close()


def post(client, body, auth, url=SOURCE, content_type="text/turtle"):
    return client.post(url, data=body, headers={"Content-Type": content_type, **auth})


def ask(app, query: str) -> bool:
    svc = app.extensions["innograph"]
    svc = getattr(svc, "queries", svc)
    return svc.terms(query)[1] is True


def test_validate_needs_no_token_and_writes_nothing(env):
    app, client, _auth, _ = env
    r = client.post("/validate", data=BAD, headers=TTL)
    assert r.status_code == 200 and r.json["conforms"] is False
    (result,) = r.json["results"]
    assert result["line"] == 4 and result["message"]["fr"] and result["message"]["en"]
    assert not ask(app, "ASK { <https://w3id.org/innograph/id/org/newco> ?p ?o }")


@pytest.mark.parametrize("accept,kind", [("text/turtle", "text/turtle"), ("application/ld+json", "application/ld+json"),
                                         ("text/html", "text/html"), ("application/json", "application/json")])
def test_the_report_is_negotiated(env, accept, kind):
    _app, client, _auth, _ = env
    r = client.post("/validate", data=BAD, headers={**TTL, "Accept": accept})
    assert r.status_code == 200 and r.headers["Content-Type"].startswith(kind) and "Accept" in r.headers["Vary"]
    assert b"memberOf" in r.data


def test_an_accepted_contribution_is_in_its_graph_with_a_prov_record(env):
    app, client, auth, tmp = env
    r = post(client, GOOD, auth["contributor"])
    assert r.status_code == 201
    cid = r.json["id"]
    assert r.headers["Location"] == f"/contributions/{cid}"
    g = f"<https://w3id.org/innograph/graph/contribution/{cid}>"
    assert ask(app, f"ASK {{ GRAPH {g} {{ <https://w3id.org/innograph/id/org/newco> ?p ?o }} }}")
    record = client.get(f"/contributions/{cid}").json
    assert record["contributor"] == "Alice Dupont" and record["status"] == "accepted" and record["triples"] == 3
    assert record["source"] == "https://example.org/news/newco" and record["message"] == "from the news"
    assert ask(app, f"ASK {{ GRAPH <https://w3id.org/innograph/graph/meta> {{ {g} <http://www.w3.org/ns/prov#wasAttributedTo> ?a }} }}")
    assert "Alice Dupont" in client.get(f"/contributions/{cid}", headers={"Accept": "text/html"}).get_data(as_text=True)
    assert b"NewCo" in client.get(f"/contributions/{cid}", headers={"Accept": "text/turtle"}).data


def test_a_non_conforming_contribution_is_422_and_writes_nothing(env):
    app, client, auth, _ = env
    r = post(client, BAD, auth["contributor"])
    assert r.status_code == 422 and r.json["conforms"] is False
    assert not ask(app, "ASK { <https://w3id.org/innograph/id/org/newco> ?p ?o }")
    assert client.get("/contributions").json["contributions"] == []


def test_tokens_401_without_403_with_the_wrong_role(env):
    _app, client, auth, _ = env
    assert post(client, GOOD, {}).status_code == 401
    assert post(client, GOOD, {"Authorization": "Bearer not-a-token"}).status_code == 401
    cid = post(client, GOOD, auth["contributor"]).json["id"]
    assert client.delete(f"/contributions/{cid}").status_code == 401
    assert client.delete(f"/contributions/{cid}", headers=auth["contributor"]).status_code == 403


def test_retraction_drops_the_graph_and_keeps_the_record(env):
    app, client, auth, _ = env
    cid = post(client, GOOD, auth["contributor"]).json["id"]
    r = client.delete(f"/contributions/{cid}", headers=auth["curator"])
    assert r.status_code == 200 and r.json["status"] == "retracted" and r.json["retracted_by"] == "Carl Curator"
    assert not ask(app, "ASK { <https://w3id.org/innograph/id/org/newco> ?p ?o }")
    assert client.get("/contributions?status=retracted").json["contributions"][0]["id"] == cid
    assert client.get("/contributions?status=accepted").json["contributions"] == []
    assert client.delete(f"/contributions/{cid}", headers=auth["curator"]).status_code == 409


def test_the_list_filters_by_contributor(env):
    _app, client, auth, _ = env
    post(client, GOOD, auth["contributor"])
    assert len(client.get("/contributions?contributor=Alice%20Dupont").json["contributions"]) == 1
    assert client.get("/contributions?contributor=Nobody").json["contributions"] == []


@pytest.mark.parametrize("body,content_type,url,status", [
    (b"@prefix ino: <https://w3id.org/innograph/ontology#> .\n<https://w3id.org/innograph/id/org/x> ino:name \"x\" ;\n", "text/turtle", SOURCE, 400),
    (GOOD, "text/n3", SOURCE, 415),
    (GOOD, "application/json", SOURCE, 415),
    (GOOD * 20, "text/turtle", SOURCE, 413),
    (b"".join(b'<https://w3id.org/innograph/id/org/x> <https://w3id.org/innograph/ontology#n> "%d" .\n' % i for i in range(21)), "application/n-triples", SOURCE, 413),
    (GOOD, "text/turtle", "/contributions", 400),
    (GOOD, "text/turtle", "/contributions?source=not%20an%20iri", 400),
])
def test_bad_input_gets_the_right_status(env, body, content_type, url, status):
    _app, client, auth, _ = env
    r = post(client, body, auth["contributor"], url=url, content_type=content_type)
    assert r.status_code == status and r.json["error"]


def test_a_syntax_error_says_line_and_column(env):
    _app, client, auth, _ = env
    r = post(client, b"@prefix ino: <https://w3id.org/innograph/ontology#> .\n<https://w3id.org/innograph/id/org/x> ino:name \"x\" ;\n", auth["contributor"])
    assert r.status_code == 400 and r.json["line"] == 3


@pytest.mark.parametrize("body,content_type", [
    (b"<https://w3id.org/innograph/id/org/x> <https://w3id.org/innograph/ontology#name> \"x\" <https://w3id.org/innograph/graph/ontology> .", "application/n-quads"),
    (b"<https://w3id.org/innograph/id/org/x> <https://w3id.org/innograph/ontology#name> \"x\" <https://w3id.org/innograph/graph/meta> .", "application/n-quads"),
    (b"<https://w3id.org/innograph/id/org/x> <https://w3id.org/innograph/ontology#name> \"x\" <https://w3id.org/innograph/graph/source/seed-000> .", "application/n-quads"),
    (b"GRAPH <https://w3id.org/innograph/graph/inferred> { <https://w3id.org/innograph/id/org/x> <https://w3id.org/innograph/ontology#name> \"x\" }", "application/trig"),
    (b"GRAPH <https://w3id.org/innograph/graph/shapes> { <https://w3id.org/innograph/id/org/x> <https://w3id.org/innograph/ontology#name> \"x\" }", "application/trig"),
    (b"<https://w3id.org/innograph/ontology#Company> <http://www.w3.org/2000/01/rdf-schema#label> \"x\" .", "application/n-triples"),
    (b"<https://w3id.org/innograph/id/org/x> <http://www.w3.org/2000/01/rdf-schema#subClassOf> <https://w3id.org/innograph/ontology#Company> .", "application/n-triples"),
])
def test_a_contribution_cannot_write_into_the_dataset_graphs_or_the_ontology(env, body, content_type):
    app, client, auth, _ = env
    r = post(client, body, auth["contributor"], content_type=content_type)
    assert r.status_code == 403
    assert not ask(app, "ASK { <https://w3id.org/innograph/id/org/x> ?p ?o }")


def test_a_contribution_cannot_remove_others_triples(env):
    """Only the curator's DELETE removes, and only a whole contribution graph: the seed stays."""
    app, client, auth, _ = env
    seed = "ASK { GRAPH <https://w3id.org/innograph/graph/source/fixture> { <https://w3id.org/innograph/id/org/ucb> ?p ?o } }"
    cid = post(client, GOOD, auth["contributor"]).json["id"]
    client.delete(f"/contributions/{cid}", headers=auth["curator"])
    assert ask(app, seed)
    assert client.delete("/contributions/source/fixture", headers=auth["curator"]).status_code == 404
    assert ask(app, seed)


def test_every_submission_is_archived_with_its_verdict(env):
    app, client, auth, tmp = env
    post(client, GOOD, auth["contributor"])
    post(client, BAD, auth["contributor"])
    post(client, GOOD, auth["contributor"], content_type="text/n3")
    archive = app.extensions["innograph.contributions"].archive
    verdicts = [(s.verdict, s.status) for s in archive.submissions()]
    assert verdicts == [("conforms", 201), ("violations", 422), ("refused", 415)]
    first = next(iter(archive.submissions()))
    assert archive.payload(first.payload_sha256) == GOOD
    assert first.contributor == "Alice Dupont" and first.source == "https://example.org/news/newco"


def test_tokens_are_stored_hashed(tmp_path):
    token = tokens.create(tmp_path / "t", "Zoé", "curator")
    text = (tmp_path / "t").read_text()
    assert token not in text and tokens.digest(token) in text
    assert tokens.Tokens(tmp_path / "t").holder(token) == tokens.Holder("Zoé", "curator")
    assert tokens.Tokens(tmp_path / "t").holder(token + "x") is None
    with pytest.raises(ValueError):
        tokens.create(tmp_path / "t", "x", "admin")


def test_the_archive_survives_a_reopen(tmp_path):
    archive = Archive(tmp_path / "a")
    from innograph.archive import Submission

    archive.record(Submission("i", "t", "who", "https://s", None, "text/turtle", "ab" * 32, 3, 1, "conforms", 201), b"xyz")
    archive.close()
    again = Archive(tmp_path / "a")
    assert [s.id for s in again.submissions()] == ["i"] and again.payload("ab" * 32) == b"xyz"
    again.close()


def test_a_write_journaled_but_not_applied_is_503_and_applied_at_the_next_start(env, monkeypatch):
    """The store could not apply a journaled write (a full disk under STORE_MODE=disk, say): the
    answer says it is journaled and will be applied, not to resend it; the archive says
    "journaled"; after a restart on the same store the contribution is there, once."""
    app, client, auth, tmp = env
    if app.config.get("SPARQL_QUERY_URL"):
        pytest.skip("the journal is the embedded store's")
    pool = app.extensions["innograph"].pool
    real = pool.request
    monkeypatch.setattr(pool, "request", lambda message, *a, **k: ("error", "OSError: [Errno 28] No space left on device")
                        if message[0] == "write" else real(message, *a, **k))
    answer = post(client, GOOD, auth["contributor"])
    assert answer.status_code == 503
    assert "recorded in the store's journal" in answer.json["error"] and "Do not send it again" in answer.json["error"]
    assert "No space left on device" in answer.json["error"]
    archive = app.extensions["innograph.contributions"].archive
    assert [(s.verdict, s.status) for s in archive.submissions()][-1] == ("journaled", 503)
    monkeypatch.undo()
    app.extensions["innograph.contributions"].archive.close()
    app.extensions["innograph"].close()
    again = create_app({**{k: app.config[k] for k in ("REPO_DIR", "STORE", "TOKENS", "WORKERS", "MAX_BODY", "MAX_TRIPLES")}})
    try:
        again.extensions["innograph"].wait_ready(60)
        assert ask(again, "ASK { GRAPH ?g { <https://w3id.org/innograph/id/org/newco> a ?t } }")
        records = again.test_client().get("/contributions", headers={"Accept": "application/json"}).json["contributions"]
        assert len(records) == 1 and records[0]["contributor"] == "Alice Dupont"
    finally:
        again.extensions["innograph"].close()
