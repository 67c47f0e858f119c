"""`laconic bm25`: fit BM25 on a corpus; the folder then works as ``--model`` everywhere (the lexical floor)."""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``laconic bm25``."""

    @app.command("bm25")
    def bm25(
        corpus: Path = typer.Option(..., "--corpus", "-c", help="BEIR corpus.jsonl (title + text) or a text file (one document per line)."),
        output: Path = typer.Option(..., "--output", "-o", help="Folder for bm25_encoder.json."),
        k1: float = typer.Option(0.9, "--k1", help="Term-frequency saturation (Anserini's BEIR value)."),
        b: float = typer.Option(0.4, "--b", help="Length normalisation (Anserini's BEIR value)."),
        stemmer: str = typer.Option("english", "--stemmer", help="PyStemmer language, or 'none'."),
        stopwords: str = typer.Option("en", "--stopwords", help="bm25s stopword list."),
    ) -> None:
        """Fit BM25 (vocabulary, document frequencies, mean length) on a corpus.

        BM25 is then a sparse encoder: index, search, eval and serve take the folder as --model.

        Example:
          laconic bm25 --corpus corpus.jsonl --output bm25/
          laconic index build --model bm25/ --corpus corpus.jsonl --output idx-bm25/ --bits 32
          laconic serve --index idx-bm25/ --model bm25/
        """
        from laconic.encoder import read_items
        from laconic.encoder.lexical import BM25Encoder, BM25Settings

        items = read_items(corpus, "documents")
        settings = BM25Settings(k1=k1, b=b, stopwords=stopwords, stemmer=None if stemmer == "none" else stemmer)
        encoder = BM25Encoder.fit(items.records, settings, show_progress=True)
        encoder.save(output)
        typer.echo(f"BM25 over {encoder.n_docs} documents, {encoder.vocab_size} terms: {output}")
