"""The linked-data pages in headless Chromium, against a real ``innograph serve`` over this
repository (conftest's ``live_server`` and ``browse``): the home page, a pole's page, a person's
page and the ontology render with no failed request, no console error and no request to another
host; each leaves a screenshot in test-artifacts/ (git-ignored).
"""

import pytest

pytestmark = pytest.mark.browser


def assert_clean(visit):
    assert visit.problems.as_dict() == {key: [] for key in visit.problems.as_dict()}


def test_pages_home(browse):
    visit = browse("/", locale="fr-BE")
    page = visit.page
    assert page.locator("h1").inner_text() == "Les réseaux d'innovation, en données liées"
    assert page.locator("#networks ~ ul.things a, section[aria-labelledby=networks] a[href='/id/pole/biowin']").count() >= 1
    assert page.locator("a[href='/ontology']").count() >= 1
    assert_clean(visit)


def test_pages_home_on_a_phone(browse):
    visit = browse("/", locale="en-GB", width=390, height=844)
    page = visit.page
    assert page.locator("h1").inner_text() == "Innovation networks, as linked data"
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"
    assert_clean(visit)


def test_pages_pole(browse):
    visit = browse("/id/pole/biowin", locale="en-GB")
    page = visit.page
    assert page.locator("h1").inner_text() == "BioWin"
    assert page.locator(".kinds a[href='/ontology#CompetitivenessPole']").count() == 1
    assert page.locator("ol.sources li").count() >= 2  # several sources say something of BioWin
    assert page.locator(".relation").count() >= 1  # the participation on behalf of BioWin
    assert_clean(visit)


def test_pages_person_and_its_links(browse):
    visit = browse("/id/person/stephane-grade", locale="fr-BE")
    page = visit.page
    assert page.locator("h1").inner_text() == "Stéphane Grade"
    cards = page.locator(".relation")
    assert cards.count() >= 2  # a membership and participations
    assert page.locator(".relation blockquote.quote").count() >= 1  # the seed's words
    page.locator(".relation a", has_text="SynHERA").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/id/organisation/synhera")
    assert page.locator("h1").inner_text() == "SynHERA"
    assert_clean(visit)


def test_pages_ontology_and_a_term_iri(browse):
    visit = browse("/ontology#Membership", locale="en-GB")
    page = visit.page
    entry = page.locator("#Membership")
    assert entry.locator("div[lang=fr]").inner_text().find("adhésion") >= 0
    assert entry.locator("div[lang=en]").inner_text().find("membership") >= 0
    assert page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == "Membership"
    assert_clean(visit)


def test_pages_language_switch_sticks(browse):
    visit = browse("/id/pole/biowin", locale="en-GB")
    page = visit.page
    page.locator(".language-switch a[hreflang=fr]").click()
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "fr"
    page.goto(visit.url + "/ontology", wait_until="networkidle")
    assert page.locator("html").get_attribute("lang") == "fr"  # the cookie keeps the choice
    assert_clean(visit)


def test_pages_query_link_opens_the_editor_with_the_query(browse):
    visit = browse("/id/pole/biowin", locale="en-GB")
    page = visit.page
    page.locator("a", has_text="Open the equivalent query in the SPARQL editor").click()
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => document.querySelector('.CodeMirror') !== null")
    text = page.evaluate("document.querySelector('.CodeMirror').CodeMirror.getValue()")
    assert "<https://w3id.org/innograph/id/pole/biowin>" in text
    assert_clean(visit)
