"""Screenshot of the search page for the README: the shipped model over SciFact, one query.

Usage:
    .venv/bin/python experiments/screenshot_page.py --out docs/img/search-page.png

Encodes the first ``--docs`` SciFact documents with ``models/laconic-minilm``,
serves them on loopback with ``--corpus``-style snippets, opens ``/`` in
headless Chromium (Debian's ``chromium``), types ``--query`` and saves the page.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs" / "img" / "search-page.png"))
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--query", default="vitamin D deficiency and bone fractures in older adults")
    ap.add_argument("--beir", default=str(ROOT.parent / "shared" / "data" / "beir" / "scifact"))
    ap.add_argument("--model", default=str(ROOT / "models" / "laconic-minilm"))
    args = ap.parse_args()

    from playwright.sync_api import sync_playwright

    from laconic.encoder import SparseEncoder
    from laconic.index import SparseIndex
    from laconic.serving import create_app
    from laconic.serving.background import BackgroundServer
    from laconic.serving.documents import DocumentStore

    records = {}
    with open(Path(args.beir) / "corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            records[row["_id"]] = {"title": row.get("title"), "text": row.get("text", "")}
            if len(records) == args.docs:
                break
    encoder = SparseEncoder.from_pretrained(args.model, device="cpu")
    vectors = encoder.encode_documents(list(records.values()), ids=list(records), show_progress=True)
    app = create_app(SparseIndex.build(vectors), encoder, documents=DocumentStore(records))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with BackgroundServer(app) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True,
                                    args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        page = browser.new_page(viewport={"width": 1180, "height": 900})
        page.goto(server.url + "/")
        for _ in range(2):  # the first query compiles numba's kernels: show the second one's timing
            page.fill("#q", args.query)
            page.click("#go")
            page.wait_for_selector(".hit")
            page.wait_for_timeout(300)
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=args.out)
        browser.close()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
