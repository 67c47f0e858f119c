"""The LACONIC sparse encoder: text to ``SparseVectors`` through a bidirectional LLM's LM head."""

from laconic.encoder.config import EncoderConfig
from laconic.encoder.inputs import read_items
from laconic.encoder.model import SparseEncoder
from laconic.encoder.pooling import keep_top_k, pool_term_weights
from laconic.encoder.profile import LACONIC, SPLADE, EncodingProfile

__all__ = [
    "LACONIC",
    "SPLADE",
    "EncoderConfig",
    "EncodingProfile",
    "SparseEncoder",
    "keep_top_k",
    "pool_term_weights",
    "read_items",
]
