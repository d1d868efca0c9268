"""``GET /contribute``: the contribution guide, in French or English (the page language of i18n).

How to add triples: what the shapes ask, how to check a file with ``/validate`` (no token), how
to send it to ``/contributions`` with a token and the source it cites, and how it is reviewed
and retracted. The examples are runnable as written against this server.
"""

from __future__ import annotations

from flask import Blueprint, make_response, render_template, request

from . import i18n

bp = Blueprint("guide", __name__)


@bp.get("/contribute")
def contribute():
    lang = i18n.request_lang()
    base = request.host_url.rstrip("/") + request.script_root
    response = make_response(render_template("contribute.html", lang=lang, base=base))
    response.headers["Content-Language"] = lang
    response.vary.update(("Accept-Language", "Cookie"))
    return response
