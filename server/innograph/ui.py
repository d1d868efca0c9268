"""The HTML shell shared by every page (language, navigation) and the SPARQL query UI.

``bp`` adds to every template the interface texts in the page's language (``t``; the language
itself comes from ``i18n``: ``?lang=``, the cookie, Accept-Language), the navigation and the
language switch, so that linked-data pages only ``{% extends "base.html" %}``.
``render_query_ui()`` is what ``GET /sparql`` answers a browser that sends no query: YASGUI
served from our own origin (``static/vendor/``, see the Makefile's ``assets``), its endpoint
preset to this server, the project's prefixes declared, and ``queries/*.rq`` offered as examples.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, make_response, render_template, request

from . import i18n
from .catalogue import load_catalogue
from .namespaces import PREFIXES

# Each language named in itself, for the switch.
LANGUAGE_NAMES: dict[str, str] = {"fr": "Français", "en": "English"}

# Interface texts: {key: {language: text}}, read through i18n.text.
MESSAGES: dict[str, dict[str, str]] = {
    "skip": {"fr": "Aller au contenu", "en": "Skip to content"},
    "home": {"fr": "Accueil", "en": "Home"},
    "query": {"fr": "Requêtes", "en": "Query"},
    "ontology": {"fr": "Ontologie", "en": "Ontology"},
    "dumps": {"fr": "Exports", "en": "Dumps"},
    "tagline": {
        "fr": "Un graphe de connaissances des réseaux d'innovation",
        "en": "A knowledge graph of innovation networks",
    },
    "switch_language": {"fr": "Langue", "en": "Language"},
    "endpoint": {"fr": "Point d'accès SPARQL", "en": "SPARQL endpoint"},
    "void": {"fr": "Description du jeu de données (VoID)", "en": "Dataset description (VoID)"},
    "query_title": {"fr": "Interroger le graphe", "en": "Query the graph"},
    "query_intro": {
        "fr": "Écrivez une requête SPARQL 1.1, ou ouvrez un des exemples des chercheurs dans un nouvel onglet, puis exécutez-la.",
        "en": "Write a SPARQL 1.1 query, or open one of the researchers' examples in a new tab, then run it.",
    },
    "examples": {"fr": "Exemples", "en": "Examples"},
    "no_examples": {"fr": "Pas encore de requêtes d'exemple.", "en": "No example queries yet."},
    "open_example": {"fr": "Ouvrir dans un nouvel onglet", "en": "Open in a new tab"},
    "seeds": {"fr": "Sources :", "en": "Sources:"},
    "noscript": {
        "fr": "L'éditeur de requêtes a besoin de JavaScript. Sans lui, envoyez une requête avec ce formulaire :",
        "en": "The query editor needs JavaScript. Without it, send a query with this form:",
    },
    "no_editor": {
        "fr": "L'éditeur de requêtes n'est pas installé sur ce serveur. Envoyez une requête avec ce formulaire :",
        "en": "The query editor is not installed on this server. Send a query with this form:",
    },
    "run": {"fr": "Exécuter", "en": "Run"},
}

# (message key, path under the application root) of the header's links, in order.
NAVIGATION: tuple[tuple[str, str], ...] = (
    ("home", "/"),
    ("query", "/sparql"),
    ("ontology", "/ontology"),
    ("dumps", "/dumps/"),
)

# YASGUI's build, copied from node_modules by `make assets` (git-ignored).
VENDOR = Path(__file__).parent / "static" / "vendor"

bp = Blueprint("ui", __name__)
bp.record_once(lambda state: i18n.init_app(state.app))


def _url_with(**changes: str) -> str:
    """The current URL (path and query string) with some query parameters replaced."""
    args = request.args.to_dict(flat=False)
    args.update({key: [value] for key, value in changes.items()})
    return f"{request.script_root}{request.path}?{urlencode(args, doseq=True)}"


@bp.app_context_processor
def _page_context() -> dict[str, Any]:
    """What base.html needs: interface texts, navigation, language switch, application root."""
    lang = i18n.request_lang()
    root = request.script_root
    here = request.path.rstrip("/") or "/"
    nav = [
        {"label": i18n.text(MESSAGES, key, lang), "href": f"{root}{path}", "current": here == (path.rstrip("/") or "/")}
        for key, path in NAVIGATION
    ]
    switch = [
        {"code": code, "label": LANGUAGE_NAMES[code], "href": _url_with(lang=code), "current": code == lang}
        for code in i18n.LANGUAGES
    ]
    texts = {key: i18n.text(MESSAGES, key, lang) for key in MESSAGES}
    return {"t": texts, "nav": nav, "language_links": switch, "root": root}


def queries_dir(config: Mapping[str, Any]) -> Path:
    """Where the catalogue lives: ``QUERIES_DIR`` if set, else ``REPO_DIR/queries``."""
    return Path(config.get("QUERIES_DIR") or Path(config.get("REPO_DIR", ".")) / "queries")


def render_query_ui(endpoint: str | None = None) -> Response:
    """The query UI page; ``endpoint`` defaults to the path of the current request (/sparql)."""
    lang = i18n.request_lang()
    examples = [example.as_json(lang) for example in load_catalogue(queries_dir(current_app.config))]
    page_config = {
        "endpoint": endpoint or f"{request.script_root}{request.path}",
        "prefixes": PREFIXES,
        "examples": examples,
    }
    editor = (VENDOR / "yasgui.min.js").is_file() and (VENDOR / "yasgui.min.css").is_file()
    if not editor:
        current_app.logger.warning("%s has no YASGUI build (run `make assets`): /sparql shows a plain form", VENDOR)
    html = render_template("sparql.html", examples=examples, page_config=page_config, editor=editor)
    response = make_response(html)
    response.headers["Content-Language"] = lang
    response.vary.update(("Accept", "Accept-Language", "Cookie"))
    return response
