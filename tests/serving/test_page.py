"""The search page at ``/``: hits with titles, snippets and highlighted matched terms, in a real browser.

The API part (snippets and highlight offsets) is checked against the tokenizer
itself: every highlighted substring must be the text of the term it marks. The
page is then driven in headless Chromium (Playwright): type a query, see hits,
highlights and expansion terms, take a screenshot; a blank query shows the
API's own error message.
"""

from __future__ import annotations

import shutil

import pytest
from fastapi.testclient import TestClient

from laconic.index import SparseIndex
from laconic.serving import create_app
from laconic.serving.documents import DocumentStore

DOCS = {
    "d1": {"title": "Vitamin D", "text": "vitamin d deficiency is associated with bone loss and fractures"},
    "d2": {"title": "Statins", "text": "statins reduce cholesterol and the risk of heart disease"},
    "d3": {"title": "Search", "text": "the index stores posting lists of document ids and weights"},
    "d4": {"title": "", "text": "neural networks learn representations of text for search"},
}


@pytest.fixture(scope="module")
def parts(tiny_llama_dir):
    from laconic.encoder import SparseEncoder

    encoder = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", max_terms=24)
    docs = encoder.encode_documents(list(DOCS.values()), ids=list(DOCS))
    return SparseIndex.build(docs), encoder


@pytest.fixture
def app(parts):
    """A fresh app per test: an app's pools close when its server stops."""
    index, encoder = parts
    return create_app(index, encoder, documents=DocumentStore(DOCS)), encoder


def test_snippets_and_highlights_mark_the_matched_tokens(app):
    application, encoder = app
    with TestClient(application) as client:
        r = client.post("/search", json={"query": "vitamin d bone loss", "k": 4, "explain": True, "snippets": True})
        assert r.status_code == 200, r.text
        hits = r.json()["results"][0]
        assert hits and hits[0]["title"] is not None and hits[0]["snippet"]
        marked = 0
        for hit in hits:
            doc = DOCS[hit["id"]]
            assert hit["title"] == doc["title"] and doc["text"].startswith(hit["snippet"])
            matched = {t["term_id"] for t in hit["terms"]}
            for span in hit["highlights"]:
                source = hit["title"] if span["field"] == "title" else hit["snippet"]
                # the tokenizer's own spelling of the term is what is marked
                assert source[span["start"]:span["end"]] == encoder.tokenizer.decode([span["term_id"]]).strip()
                assert span["term_id"] in matched
                marked += 1
        assert marked > 0
        # without explain: titles and snippets, no highlights; without snippets: neither
        plain = client.post("/search", json={"query": "statins", "k": 2, "snippets": True}).json()["results"][0]
        assert plain[0]["snippet"] and plain[0]["highlights"] is None
        bare = client.post("/search", json={"query": "statins", "k": 2}).json()["results"][0]
        assert bare[0]["snippet"] is None and bare[0]["title"] is None
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        assert "<script" in page.text and "http://" not in page.text and "https://" not in page.text  # no external assets


def _browser_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if path is None:
        pytest.skip("no Chromium on this machine (.ci/run installs Debian's chromium)")
    return path


def test_page_in_a_real_browser(app, tmp_path):
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is in the test extra")
    from laconic.serving.background import BackgroundServer

    executable = _browser_path()
    application, _ = app
    args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"]
    with BackgroundServer(application) as server, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True, args=args)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.goto(server.url + "/")
            page.fill("#q", "vitamin d bone loss")
            page.click("#go")
            page.wait_for_selector(".hit", timeout=20_000)
            hits = page.locator(".hit")
            assert hits.count() >= 1
            assert page.locator(".hit").first.get_attribute("data-id") == "d1"
            assert page.locator(".hit mark").count() >= 1  # matched terms highlighted in the text
            assert page.locator(".terms .fill").count() >= 1  # per-term contribution bars
            page.wait_for_selector(".chip")
            assert page.locator(".chip").count() >= 1  # the query's expansion terms
            assert "search" in page.locator("#timing").inner_text()
            assert "documents" in page.locator("#status").inner_text()
            shot = tmp_path / "search-page.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 10_000

            page.fill("#q", "   ")
            page.click("#go")
            page.wait_for_selector("#error", state="visible", timeout=20_000)
            assert "empty" in page.locator("#error").inner_text()  # the API's own message, not a blank page
            assert page.locator(".hit").count() == 0
        finally:
            browser.close()
