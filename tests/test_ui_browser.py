"""The query UI in headless Chromium, against a real ``innograph serve`` (see conftest.py).

Every test opens the page through ``browse``, which refuses requests to other hosts (the UI must
work with no internet), records console errors and failed requests, and leaves a screenshot in
test-artifacts/.
"""

import json
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from innograph.namespaces import PREFIXES

pytestmark = pytest.mark.browser

FIXTURE_QUERIES = Path(__file__).parent / "fixtures" / "queries"
TABLE = ".tabPanel.active .yasr table.dataTable"


def assert_clean(visit):
    assert visit.problems.as_dict() == {key: [] for key in visit.problems.as_dict()}


def endpoint_results(base_url, query):
    """The endpoint's own answer (SPARQL JSON), to compare the table with."""
    url = f"{base_url}/sparql?{urllib.parse.urlencode({'query': query})}"
    request = urllib.request.Request(url, headers={"Accept": "application/sparql-results+json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def shown(term, prefixes):
    """How YASR's table writes an RDF term, IRIs abbreviated with ``prefixes`` where one fits."""
    if term["type"] == "uri":
        for name, namespace in prefixes.items():
            if term["value"].startswith(namespace):
                return f"{name}:{term['value'][len(namespace):]}"
        return f"<{term['value']}>"
    if term["type"] == "bnode":
        return f"_:{term['value']}"
    if "xml:lang" in term:
        return f'"{term["value"]}"@{term["xml:lang"]}'
    if "datatype" in term:
        return f'"{term["value"]}"^^{shown({"type": "uri", "value": term["datatype"]}, prefixes)}'
    return f'"{term["value"]}"'


def table_rows(page):
    """Cell texts of the result table, without YASR's row-number column."""
    return page.locator(f"{TABLE} tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.querySelectorAll('td')).slice(1).map(td => td.innerText.trim()))"
    )


def run_example(page, example_id):
    """Open a catalogue example in a new tab, run it, and wait for its result table."""
    page.click(f"button.example-open[data-example={example_id}]")
    page.click(".tabPanel.active .yasqe_queryButton")
    page.wait_for_selector(f"{TABLE} tbody tr")
    page.wait_for_load_state("networkidle")


def test_page_loads_with_yasgui_preset_to_this_server(browse):
    visit = browse("/sparql")
    page = visit.page
    page.wait_for_selector(".yasgui .CodeMirror")
    assert page.title() == "Query the graph · innograph"
    assert page.input_value(".tabPanel.active .autocompleteWrapper input") == f"{visit.url}/sparql"
    start_query = page.evaluate("window.innographYasgui.getTab().getQuery()")
    for name, iri in PREFIXES.items():
        assert f"PREFIX {name}: <{iri}>" in start_query
    assert page.locator("button.example-open").all_inner_texts() == [
        "How many triples does each named graph hold?",
        "In which languages is the graph described?",
    ]
    assert_clean(visit)


def test_catalogue_query_runs_and_its_table_shows_the_results(browse):
    visit = browse("/sparql")
    page = visit.page
    run_example(page, "languages")
    tab = page.evaluate("(() => { const t = window.innographYasgui.getTab(); return [t.getName(), t.getQuery()]; })()")
    assert tab == ["In which languages is the graph…", (FIXTURE_QUERIES / "languages.rq").read_text(encoding="utf-8")]
    assert table_rows(page) == [["en", '"English"@en'], ["fr", '"français"@fr']]
    assert_clean(visit)


def test_data_query_table_matches_the_endpoint(browse):
    visit = browse("/sparql")
    query = (FIXTURE_QUERIES / "graphs.rq").read_text(encoding="utf-8")
    expected = endpoint_results(visit.url, query)
    variables = expected["head"]["vars"]
    prefixes = {**PREFIXES, "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}  # the UI's, then the query's
    rows = [[shown(b[v], prefixes) if v in b else "" for v in variables] for b in expected["results"]["bindings"]]
    assert rows, "the repository's graph has named graphs"
    run_example(visit.page, "graphs")
    visit.page.select_option(".tabPanel.active .yasr select.tableSizer", "-1")  # all rows on one page
    assert table_rows(visit.page) == rows
    assert_clean(visit)


def test_page_in_french_from_accept_language(browse):
    visit = browse("/sparql", locale="fr-BE")
    page = visit.page
    page.wait_for_selector(".yasgui .CodeMirror")
    assert page.get_attribute("html", "lang") == "fr"
    assert page.inner_text("h1") == "Interroger le graphe"
    assert page.locator("button.example-open").first.inner_text() == "Combien de triplets chaque graphe nommé contient-il ?"
    page.click(".language-switch a[hreflang=en]")
    page.wait_for_selector(".yasgui .CodeMirror")
    assert page.inner_text("h1") == "Query the graph"
    assert_clean(visit)


def test_page_fits_a_phone(browse):
    visit = browse("/sparql", width=390, height=844)
    page = visit.page
    page.wait_for_selector(".yasgui .CodeMirror")
    run_example(page, "languages")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    assert page.locator(".site-nav a").all_inner_texts() == ["Home", "Query", "Ontology", "Dumps"]
    assert_clean(visit)


def test_class_completion_asks_this_server_not_the_web(browse):
    visit = browse("/sparql")
    page = visit.page
    page.wait_for_selector(".yasgui .CodeMirror")
    page.evaluate(
        """() => {
            const yasqe = window.innographYasgui.getTab().getYasqe();
            yasqe.setValue("PREFIX ino: <https://w3id.org/innograph/ontology#>\\nSELECT * WHERE { ?x a ino:P");
            yasqe.focus();
            yasqe.setCursor({line: 1, ch: yasqe.getLine(1).length});
            yasqe.autocomplete();
        }"""
    )
    hints = page.locator(".CodeMirror-hints li")
    hints.first.wait_for()
    texts = hints.all_inner_texts()
    assert "ino:Person" in texts and all(text.startswith("ino:P") for text in texts), texts
    assert_clean(visit)
