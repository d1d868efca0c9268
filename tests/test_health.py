"""/health: ready with counts from the real store; 503 while no store answers."""

from innograph import create_app


def test_health_reports_a_ready_store(repo_app):
    client = repo_app.test_client()
    body = client.get("/health").get_json()
    assert body["ok"] is True and body["status"] == "ready"
    assert body["graphs"] >= 10 and body["triples"] > 5000
    assert body["executors"] >= 1
    counted = client.get("/health?counts=1").get_json()
    assert "https://w3id.org/innograph/graph/source/seed-000" in counted["triples_per_graph"]


def test_health_without_a_store_is_503(tmp_path):
    client = create_app({"START_STORE": False, "STORE": str(tmp_path)}).test_client()
    response = client.get("/health")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["ok"] is False
