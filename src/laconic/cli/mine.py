"""`laconic mine`: hard negatives for phase 2 from a model (our index) or BM25."""

from __future__ import annotations

from typing import Optional

import typer

from laconic.cli.model_options import PROFILE, TOKENIZER, load_encoder


def register(app: typer.Typer) -> None:
    """Add ``laconic mine``."""

    @app.command("mine")
    def mine(
        corpus: str = typer.Option(..., "--corpus", help="BEIR corpus.jsonl (_id, title, text)."),
        queries: str = typer.Option(..., "--queries", help="BEIR queries.jsonl (_id, text)."),
        qrels: str = typer.Option(..., "--qrels", help="qrels TSV (query-id, corpus-id, score), e.g. qrels/train.tsv."),
        output: str = typer.Option(..., "--output", "-o", help="Tevatron JSONL to write (atomically)."),
        model: Optional[str] = typer.Option(None, "--model", help="Encoder checkpoint (e.g. a merged phase-1 run)."),
        tokenizer: Optional[str] = TOKENIZER,
        profile: Optional[str] = PROFILE,
        bm25: bool = typer.Option(False, "--bm25", help="Mine with BM25 (bm25s) instead of --model."),
        depth: int = typer.Option(100, "--depth", help="Documents retrieved per query."),
        skip: int = typer.Option(0, "--skip", help="Ignore the top N ranks (likely unjudged positives)."),
        max_negatives: int = typer.Option(0, "--max-negatives", help="Keep at most N negatives per query (0: all)."),
        batch_size: int = typer.Option(32, "--batch-size", help="Encoder batch size."),
        device: Optional[str] = typer.Option(None, "--device", help="Encoder device (default: cuda if available)."),
        query_max_length: Optional[int] = typer.Option(
            None, "--query-max-length", help="Query token budget (default: the model's)."),
        document_max_length: Optional[int] = typer.Option(
            None, "--document-max-length", help="Document token budget (default: the model's)."),
    ) -> None:
        """Retrieve top --depth documents per training query, drop judged positives, write Tevatron JSONL.

        Example: laconic mine --model runs/p1-merged --corpus corpus.jsonl --queries queries.jsonl
        --qrels qrels/train.tsv --output train.jsonl
        """
        from laconic.errors import ConfigError
        from laconic.training.mining import MiningConfig, load_training_split, mine_hard_negatives, write_tevatron

        if not bm25 and model is None:
            raise ConfigError("give --model (an encoder checkpoint) or --bm25")
        config = MiningConfig(depth=depth, skip=skip, max_negatives=max_negatives, bm25=bm25, batch_size=batch_size)
        dataset = load_training_split(corpus, queries, qrels)
        encoder = None
        if not bm25:
            encoder = load_encoder(model, tokenizer=tokenizer, profile=profile, device=device,
                                   query_max_length=query_max_length, document_max_length=document_max_length)
        count = write_tevatron(mine_hard_negatives(dataset, config, encoder), output)
        typer.echo(f"wrote {count} training queries to {output}")
