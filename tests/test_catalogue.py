"""The query catalogue: headers of queries/*.rq parsed into bilingual examples."""

from pathlib import Path

import pytest

from innograph.catalogue import load_catalogue, parse_example, parse_header

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures" / "queries"
REPO_QUERIES = HERE.parent / "queries"


def test_header_fields_with_languages_and_continuations():
    text = (
        "# title@fr: Quels pôles ?\n"
        "# title@en: Which poles?\n"
        "# description@en: First line,\n"
        "#   second line.\n"
        "#\n"
        "# a free comment that continues nothing\n"
        "# seeds: 001, 003\n"
        "PREFIX ino: <https://w3id.org/innograph/ontology#>\n"
        "# title@de: after the header, ignored\n"
        "SELECT * WHERE { ?s ?p ?o }\n"
    )
    assert parse_header(text) == {
        "title@fr": "Quels pôles ?",
        "title@en": "Which poles?",
        "description@en": "First line, second line.",
        "seeds": "001, 003",
    }


def test_example_keeps_the_whole_file_as_its_query():
    text = "# title@en: T\n# custom: kept\nSELECT ?x WHERE { ?x ?p ?o }\n"
    example = parse_example("t", text)
    assert example.query == text
    assert example.title == {"en": "T"}
    assert example.description == {}
    assert example.seeds == ()
    assert example.fields == {"custom": "kept"}


@pytest.mark.parametrize(
    ("seeds", "expected"),
    [("001, 003", ("001", "003")), ("001 003", ("001", "003")), ("001;003,", ("001", "003")), ("", ())],
)
def test_seeds_split_on_commas_semicolons_or_spaces(seeds, expected):
    assert parse_example("x", f"# seeds: {seeds}\nASK {{}}\n").seeds == expected


def test_texts_fall_back_to_the_other_language_then_to_the_id():
    only_fr = parse_example("q1", "# title@fr: Titre\n# description@fr: Desc\nASK {}\n")
    assert only_fr.title_in("en") == "Titre"
    assert only_fr.description_in("en") == "Desc"
    bare = parse_example("q2", "ASK {}\n")
    assert bare.title_in("fr") == "q2"
    assert bare.description_in("fr") == ""


def test_fixture_catalogue_is_sorted_and_bilingual():
    examples = load_catalogue(FIXTURES)
    assert [e.id for e in examples] == ["graphs", "languages"]
    graphs, languages = examples
    assert graphs.seeds == ("001", "003")
    assert graphs.title_in("en") == "How many triples does each named graph hold?"
    assert graphs.title_in("fr") == "Combien de triplets chaque graphe nommé contient-il ?"
    assert languages.description_in("en").endswith("(a query with no data: it answers on any server).")
    assert languages.as_json("fr") == {
        "id": "languages",
        "title": "Dans quelles langues le graphe est-il décrit ?",
        "description": languages.description["fr"],
        "seeds": ["000"],
        "query": (FIXTURES / "languages.rq").read_text(encoding="utf-8"),
    }


def test_missing_directory_is_an_empty_catalogue(tmp_path):
    assert load_catalogue(tmp_path / "nowhere") == []


def test_repository_queries_state_their_question_in_french_and_english():
    examples = load_catalogue(REPO_QUERIES)
    if not examples:
        pytest.skip("queries/ holds no .rq file yet")
    incomplete = [
        (e.id, key)
        for e in examples
        for key, texts in (("title", e.title), ("description", e.description))
        for lang in ("fr", "en")
        if not texts.get(lang)
    ]
    assert incomplete == []
