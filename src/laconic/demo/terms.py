"""Readable strings for vocabulary ids (the demo prints which terms matched).

Byte-level BPE tokens (Llama-3) carry a leading ``Ġ`` for a space and raw bytes
for non-ASCII; WordPiece tokens (BERT) a ``##`` continuation prefix. We show
what a reader recognises: the decoded text of the token, stripped.
"""

from __future__ import annotations

from collections.abc import Sequence


def term_strings(tokenizer, term_ids: Sequence[int]) -> list[str]:
    """Decode each id on its own; fall back to the raw token when decoding yields nothing."""
    out = []
    for tid in term_ids:
        raw = tokenizer.convert_ids_to_tokens(int(tid))
        text = tokenizer.convert_tokens_to_string([raw]).strip() if raw is not None else ""
        if raw is not None and raw.startswith("##"):
            text = raw  # keep WordPiece's continuation marker: "##itis" reads better than "itis"
        out.append(text or str(raw) or f"#{tid}")
    return out


def format_terms(pairs: Sequence[tuple[str, float]], limit: int) -> str:
    """``term (weight), ...`` for the ``limit`` heaviest pairs."""
    return ", ".join(f"{t} ({w:.2f})" for t, w in list(pairs)[:limit])
