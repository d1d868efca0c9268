"""``GET /openapi.json``: the OpenAPI 3.1 description of the whole HTTP interface.

The document is the static file ``openapi.json`` next to this module, written by hand; only its
``servers`` entry is filled in per request (this server's public URL). tests/test_openapi.py keeps
it in step with the app's routes (every rule and method documented, nothing documented that does
not exist) and tests/test_schemathesis.py checks the server's answers against it.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request

DOCUMENT = Path(__file__).with_name("openapi.json")

bp = Blueprint("openapi", __name__)


@cache
def document() -> dict[str, Any]:
    """The description as written in ``openapi.json`` (read once)."""
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


@bp.get("/openapi.json")
def openapi() -> Response:
    served = {**document(), "servers": [{"url": f"{current_app.config['PUBLIC_URL']}{request.script_root}"}]}
    response = Response(json.dumps(served, ensure_ascii=False, indent=1), content_type="application/json")
    response.headers["Access-Control-Allow-Origin"] = "*"  # public and read-only: no credentials
    return response
