"""The contribution guide: bilingual, linked from the home page, with the routes it documents."""


def test_guide_in_both_languages(repo_app):
    client = repo_app.test_client()
    fr = client.get("/contribute?lang=fr").get_data(as_text=True)
    en = client.get("/contribute?lang=en").get_data(as_text=True)
    assert "Contribuer des triples" in fr and "Contributing triples" in en
    for page in (fr, en):
        assert "/validate" in page and "/contributions?source=" in page and "innograph token create" in page
    assert 'href="/contribute"' in client.get("/").get_data(as_text=True)
