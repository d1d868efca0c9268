"""``GET /health``: liveness and store status, for people, load balancers and monitoring.

200 with a JSON body while the store answers; 503 (with Retry-After) while it is loading or if
its processes cannot be reached, so a reverse proxy takes the replica out of rotation.
Cheap on purpose: no query unless ``?counts=1`` asks for the triples per graph.
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, request

from . import __version__

bp = Blueprint("health", __name__)


@bp.get("/health")
def health():
    service = current_app.extensions.get("innograph")
    body = {"ok": False, "version": __version__, "status": "no store"}
    if service is None:
        return _unavailable(body)
    if not service.ready:
        return _unavailable({**body, "status": "loading"})
    try:
        info = service.status(counts=request.args.get("counts") in {"1", "true", "yes"})
    except Exception as error:  # noqa: BLE001 - reported as unavailable, never a 500
        current_app.logger.warning("health check failed: %s", error)
        return _unavailable({**body, "status": "unavailable"})
    graphs = info.get("graphs") or info.get("graphs_at_start") or {}
    return jsonify({
        **body,
        "ok": True,
        "status": "ready",
        "mode": info.get("mode"),
        "generation": info.get("generation"),
        "executors": len(info.get("executors") or ()),
        "open_seconds": info.get("open_seconds"),
        "graphs": len(graphs),
        "triples": sum(graphs.values()),
        **({"triples_per_graph": graphs} if "graphs" in info else {}),
    })


def _unavailable(body: dict):
    response = jsonify(body)
    response.status_code = 503
    response.headers["Retry-After"] = "5"
    return response
