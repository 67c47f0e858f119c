"""Turn rows into tokenised (queries, passage groups) batches, deterministically per (seed, epoch, row).

Negatives are re-sampled every epoch from a generator seeded by
``(seed, epoch, row)``: the same batch comes out whether a run goes straight
through or resumes mid-epoch, and whichever DataLoader worker builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from laconic.errors import InputError
from laconic.training.data import Example, epoch_order, sample_group

Tokenize = Callable[..., dict]  # SparseEncoder.tokenize(items, kind=..., max_length=...)


class GroupDataset:
    """Index ``(epoch, row)`` -> (query text, ``n`` passages: positive first).

    Passages stay ``{"title", "text"}`` mappings: the encoder's profile formats them,
    so training sees text exactly as encoding does (prefixes, title join).
    """

    def __init__(self, records: Sequence[Example], passages_per_query: int, seed: int) -> None:
        self.records = records
        self.n = passages_per_query
        self.seed = seed

    def __len__(self) -> int:
        return len(self.records)

    def __getitem__(self, key: tuple[int, int]) -> tuple[str, list[str]]:
        epoch, row = key
        example = self.records[row]
        rng = np.random.default_rng([self.seed, epoch, row])
        try:
            group = sample_group(example, self.n, rng)
        except ValueError as exc:
            source = getattr(self.records, "path", None) or getattr(self.records, "source", None)
            line = int(self.records._lines[row]) if hasattr(self.records, "_lines") else row + 1
            raise InputError(str(exc), path=source, line=line, field="negative_passages") from None
        return example.query, list(group)


class BatchPlan:
    """The global order of batches: epoch by epoch, each a seeded permutation cut into full batches.

    Process ``rank`` of ``world`` takes its ``per_device`` slice of each
    global batch. ``start`` skips already-consumed micro-batches on resume
    without reading them.
    """

    def __init__(self, num_rows: int, per_device: int, world: int, rank: int, seed: int, epochs: int) -> None:
        self.num_rows, self.per_device, self.world, self.rank = num_rows, per_device, world, rank
        self.seed, self.epochs = seed, epochs
        self.per_epoch = num_rows // (per_device * world)
        self.start = 0  # micro-batch position (global counter across epochs)

    def __len__(self) -> int:
        return max(0, self.per_epoch * self.epochs - self.start)

    def __iter__(self):
        g = self.per_device * self.world
        for pos in range(self.start, self.per_epoch * self.epochs):
            epoch, b = divmod(pos, self.per_epoch)
            order = epoch_order(self.num_rows, self.seed, epoch)
            chunk = order[b * g + self.rank * self.per_device: b * g + (self.rank + 1) * self.per_device]
            yield [(epoch, int(r)) for r in chunk]


class CpuTokenize:
    """``SparseEncoder.tokenize`` without the move to the device: picklable, for DataLoader workers."""

    def __init__(self, tokenizer: Any, profile: Any) -> None:
        self.tokenizer = tokenizer
        self.profile = profile

    def __call__(self, items: Sequence[Any], kind: str = "query", max_length: int | None = None) -> dict:
        from laconic.encoder.tokenization import pad_batch

        return pad_batch(self.profile.token_ids(self.tokenizer, items, kind, max_length), self.tokenizer.pad_token_id)


class GroupCollator:
    """Tokenise a list of (query, passages) into the tensors the loop feeds the encoder.

    Args:
        tokenize: ``SparseEncoder.tokenize`` or a picklable equivalent.
        query_max_length, document_max_length: truncation lengths.

    Returns (per call) a dict with ``q`` and ``p`` (each ``{input_ids,
    attention_mask}``, ``p`` of shape ``(B*n, L)`` grouped per query) and the
    real (non-padding) token count in ``tokens``.
    """

    def __init__(self, tokenize: Tokenize, query_max_length: int, document_max_length: int) -> None:
        self.tokenize = tokenize
        self.query_max_length = query_max_length
        self.document_max_length = document_max_length

    def __call__(self, items: list[tuple[str, list[Any]]]) -> dict[str, Any]:
        queries = [q for q, _ in items]
        passages = [p for _, group in items for p in group]
        q = self.tokenize(queries, kind="query", max_length=self.query_max_length)
        p = self.tokenize(passages, kind="document", max_length=self.document_max_length)
        q = {"input_ids": q["input_ids"], "attention_mask": q["attention_mask"]}
        p = {"input_ids": p["input_ids"], "attention_mask": p["attention_mask"]}
        tokens = int(q["attention_mask"].sum()) + int(p["attention_mask"].sum())
        return {"q": q, "p": p, "tokens": tokens}
