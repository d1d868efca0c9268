"""The HTML shell (base.html) and the query UI page, rendered in-process.

The page in a real browser (YASGUI running a catalogue query) is tested in test_ui_browser.py.
"""

import json
import re
from pathlib import Path

import pytest
from flask import render_template_string

from innograph import create_app, ui
from innograph.namespaces import PREFIXES

HERE = Path(__file__).parent
FIXTURE_QUERIES = HERE / "fixtures" / "queries"
STATIC = Path(ui.__file__).parent / "static"


@pytest.fixture(scope="module")
def app():
    return create_app({"TESTING": True, "START_STORE": False, "QUERIES_DIR": str(FIXTURE_QUERIES)})


def render(app, path="/sparql", **headers):
    with app.test_request_context(path, headers=headers):
        response = ui.render_query_ui()
        # after_request hooks (i18n's cookie and Vary) run in a real request; run them here too
        return app.process_response(response)


def page_config(html):
    match = re.search(r'<script type="application/json" id="query-ui-config">(.*?)</script>', html, re.S)
    assert match, "the page carries its configuration for query-ui.js"
    return json.loads(match.group(1))


def test_queries_dir_defaults_to_the_repository_queries_folder():
    assert ui.queries_dir({"REPO_DIR": "/r", "QUERIES_DIR": None}) == Path("/r/queries")
    assert ui.queries_dir({"REPO_DIR": "/r", "QUERIES_DIR": "/q"}) == Path("/q")


def test_page_in_the_language_of_accept_language(app):
    response = render(app, **{"Accept-Language": "fr-BE,fr;q=0.9,en;q=0.5"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    assert response.headers["Content-Language"] == "fr"
    assert {"Accept", "Accept-Language", "Cookie"} <= set(response.vary)
    assert '<html lang="fr">' in html
    assert "<h1>Interroger le graphe</h1>" in html
    titles = re.findall(r'<button type="button" class="example-open" data-example="[^"]+"[^>]*>([^<]+)</button>', html)
    assert titles == ["Combien de triplets chaque graphe nommé contient-il ?", "Dans quelles langues le graphe est-il décrit ?"]


def test_lang_parameter_overrides_accept_language_and_sticks(app):
    response = render(app, "/sparql?lang=en", **{"Accept-Language": "fr"})
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "How many triples does each named graph hold?" in html
    assert "lang=en" in response.headers.get("Set-Cookie", "")


def test_page_config_presets_endpoint_prefixes_and_catalogue(app):
    config = page_config(render(app, **{"Accept-Language": "en"}).get_data(as_text=True))
    assert config["endpoint"] == "/sparql"
    assert config["prefixes"] == PREFIXES
    assert [e["id"] for e in config["examples"]] == ["graphs", "languages"]
    languages = config["examples"][1]
    assert languages["title"] == "In which languages is the graph described?"
    assert languages["seeds"] == ["000"]
    assert languages["query"] == (FIXTURE_QUERIES / "languages.rq").read_text(encoding="utf-8")


def test_catalogue_text_cannot_break_out_of_the_page(tmp_path):
    (tmp_path / "evil.rq").write_text(
        '# title@en: <b>bold</b> & "quoted"\n# description@en: </script><script>alert(1)</script>\nASK { FILTER("</script>" != "") }\n',
        encoding="utf-8",
    )
    app = create_app({"TESTING": True, "START_STORE": False, "QUERIES_DIR": str(tmp_path)})
    html = render(app, "/sparql?lang=en").get_data(as_text=True)
    assert "<b>bold</b>" not in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &#34;quoted&#34;" in html
    assert html.count("</script>") == html.count("<script")  # no script closed early nor injected
    assert page_config(html)["examples"][0]["query"].startswith("# title@en: <b>bold</b>")


def test_empty_catalogue_says_so(tmp_path):
    app = create_app({"TESTING": True, "START_STORE": False, "QUERIES_DIR": str(tmp_path)})
    html = render(app, "/sparql?lang=en").get_data(as_text=True)
    assert "No example queries yet." in html
    assert page_config(html)["examples"] == []


def test_every_asset_comes_from_our_own_origin(app):
    html = render(app, "/sparql?lang=en").get_data(as_text=True)
    assets = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    assert sorted(assets) == [
        "/static/favicon.svg",
        "/static/innograph.css",
        "/static/query-ui.js",
        "/static/vendor/yasgui.min.css",
        "/static/vendor/yasgui.min.js",
    ]
    for asset in assets:
        path = STATIC / asset.removeprefix("/static/")
        assert path.is_file(), f"{path} is missing (the vendor files come from `make assets`)"


def test_vendor_build_fetches_nothing_from_other_hosts_by_itself():
    """YASGUI's CSS must not import fonts or sheets; its JS reaches other hosts only through the
    LOV completers and prefix.cc, which query-ui.js replaces (checked live in the browser test)."""
    css = (STATIC / "vendor" / "yasgui.min.css").read_text(encoding="utf-8")
    assert not re.search(r"@import|url\(\s*['\"]?(?:https?:)?//", css)
    js = (STATIC / "vendor" / "yasgui.min.js").read_text(encoding="utf-8")
    for cdn in ("cdn.jsdelivr.net", "unpkg.com", "cdnjs.cloudflare.com", "fonts.googleapis.com", "fonts.gstatic.com"):
        assert cdn not in js


def test_base_layout_navigation_and_language_switch(app):
    page = '{% extends "base.html" %}{% block title %}Biowin{% endblock %}{% block content %}<p>body</p>{% endblock %}'
    with app.test_request_context("/ontology?format=html", headers={"Accept-Language": "en"}):
        html = render_template_string(page)
    assert "<title>Biowin · innograph</title>" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    nav = re.findall(r'<li><a href="([^"]+)"( aria-current="page")?>([^<]+)</a></li>', html)
    assert nav == [("/", "", "Home"), ("/sparql", "", "Query"), ("/ontology", ' aria-current="page"', "Ontology"), ("/dumps/", "", "Dumps")]
    # the switch keeps the other query parameters
    assert 'href="/ontology?format=html&amp;lang=fr" hreflang="fr"' in html
    assert 'href="/ontology?format=html&amp;lang=en" hreflang="en" lang="en" aria-current="true"' in html
    assert "<p>body</p>" in html
    assert "<footer" in html


def test_base_layout_in_french(app):
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        html = render_template_string('{% extends "base.html" %}')
    assert '<html lang="fr">' in html
    assert re.findall(r'<li><a href="[^"]+"(?: aria-current="page")?>([^<]+)</a></li>', html) == ["Accueil", "Requêtes", "Ontologie", "Exports"]


def test_without_the_yasgui_build_the_page_falls_back_to_a_plain_form(app, monkeypatch, tmp_path):
    monkeypatch.setattr(ui, "VENDOR", tmp_path)
    html = render(app, "/sparql?lang=en").get_data(as_text=True)
    assert "vendor/yasgui" not in html
    assert '<div id="yasgui">' not in html
    assert "The query editor is not installed on this server." in html
    assert '<form class="plain-query" method="get" action="/sparql">' in html
    links = re.findall(r'<a class="example-open" href="([^"]+)">', html)
    assert len(links) == 2
    assert links[1].startswith("/sparql?query=%23+title%40fr")
