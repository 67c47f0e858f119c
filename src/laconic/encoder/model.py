"""``SparseEncoder``: text in, LACONIC sparse term-weight vectors (``SparseVectors``) out."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from laconic.encoder import backbone as bb
from laconic.encoder.config import EncoderConfig
from laconic.encoder.pooling import keep_top_k, pool_term_weights
from laconic.encoder.profile import EncodingProfile
from laconic.encoder.tokenization import pad_batch
from laconic.errors import ConfigError
from laconic.sparse import SparseVectors

_AUTO_PROGRESS_BATCHES = 4  # show a bar by default beyond this many batches (on a tty)


class SparseEncoder(nn.Module):
    """A learned sparse encoder: an LLM (or MLM) whose pooled vocabulary logits are term weights.

    Each text becomes ``w = log(1 + ReLU(max_i H_i))`` over its non-padding positions
    ``i`` (``H_i``: LM-head logits), keeping the ``max_terms`` largest weights. Queries
    and documents share the weights; relevance is the dot product.

    Args:
        model: a transformers ``*ForCausalLM`` / ``*ForMaskedLM`` / bare encoder (possibly PEFT-wrapped).
        tokenizer: its tokenizer (prepared: pad = EOS, right padding/truncation).
        config: the :class:`EncoderConfig`.

    References:
        LACONIC (Xu et al., 2026, arXiv:2601.01684); SPLADE v2 (Formal et al., 2021).

    Example:
        >>> enc = SparseEncoder.from_pretrained("utahnlp/laconic-1b")  # doctest: +SKIP
        >>> q = enc.encode_queries(["what causes scurvy?"])  # doctest: +SKIP
        >>> enc.decode(q, top_k=5)  # doctest: +SKIP
    """

    def __init__(
        self, model: nn.Module | None, tokenizer: Any, config: EncoderConfig | None = None, runner: Any = None
    ) -> None:
        super().__init__()
        if model is None and runner is None:
            raise ConfigError("a SparseEncoder needs torch weights or an exported graph (runner)")
        self.model = model
        self.runner = runner  # an ONNX / OpenVINO graph of forward() (encoder/backends.py); None: torch
        self.tokenizer = tokenizer
        self.config = config or EncoderConfig()
        if self.config.backbone == "causal" and model is not None:
            bb.set_bidirectional(self.model, self.config.bidirectional)
        elif not self.config.bidirectional:
            raise ConfigError("bidirectional=False needs a decoder (causal LM) backbone; encoders attend both ways")

    # ----------------------------------------------------------------- loading
    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | Path,
        *,
        device: str | torch.device | None = None,
        dtype: str | torch.dtype | None = None,
        max_terms: int | None = None,
        query_max_length: int | None = None,
        document_max_length: int | None = None,
        bidirectional: bool | None = None,
        merge_lora: bool = True,
        head: str | None = None,
        pooling_chunk_size: int | None = None,
        attn_implementation: str | None = None,
        tokenizer: Any = None,
        profile: str | EncodingProfile | Mapping[str, Any] | None = None,
        revision: str | None = None,
        gguf_file: str | None = None,
        backend: str = "torch",
        int8: bool = False,
    ) -> SparseEncoder:
        """Load a LACONIC encoder, a Llama-family LM, a LoRA adapter, a SPLADE or BERT model.

        Args:
            name_or_path: local directory (HF weights, ``save_pretrained`` output, PEFT
                adapter, Sentence Transformers model) or a Hub id (``utahnlp/laconic-1b``).
            device: ``"cpu"``, ``"cuda"``, ...; default CUDA when available.
            dtype: ``"float32"``, ``"bfloat16"``, ``"float16"`` or a torch dtype; default
                the profile's ``cuda_dtype`` on CUDA, float32 on CPU.
            max_terms: top-k per vector (0 keeps all); default: the profile's (512).
            query_max_length, document_max_length: token budgets (default: the profile's, 256).
            bidirectional: decoder attention both ways (default: saved, or True).
            merge_lora: merge an adapter into the base weights (``False`` keeps it separate).
            head: ``"lm"`` or ``"tied"`` (see :class:`EncoderConfig`); default: detected.
            pooling_chunk_size: vocabulary chunk of pooling (default: saved or 8192).
            attn_implementation: transformers attention backend (``"sdpa"``, ``"eager"``, ...).
            tokenizer: a tokenizer, or where to load one (folder or Hub id); default: the
                checkpoint's own, else its known or named base model's (see ``loading.py``).
            profile: the encoding conventions: a preset name (``"laconic"``, ``"splade"``),
                an :class:`EncodingProfile`, or a mapping of fields to change in the
                model's own (e.g. ``{"query_prefix": ""}``). Default: saved with the
                model, else by family (Llama-family: ``"laconic"``; MLM: ``"splade"``).
            revision: Hub revision (branch, tag or commit) of a Hub id.
            gguf_file: a GGUF file inside ``name_or_path`` (llama.cpp), dequantised on load.
            backend: ``"torch"``, ``"onnx"`` (ONNX Runtime) or ``"openvino"``: where encoding
                runs (``encoder/backends.py``). The exported graph is read from the folder
                (``laconic export`` writes it), or exported on the fly. Non-torch backends
                encode only (no training, no ``forward`` gradients).
            int8: int8 weights: torch dynamic quantisation, ONNX Runtime's dynamic
                quantisation, or that int8 graph in OpenVINO.

        Example:
            >>> enc = SparseEncoder.from_pretrained("utahnlp/laconic-1b")  # doctest: +SKIP
            >>> enc.profile.query_prefix  # doctest: +SKIP
            'query: '
        """
        from laconic.encoder import backends
        from laconic.encoder.loading import load, resolve_device

        backends.check_backend(backend)
        dev = resolve_device(device) if backend == "torch" else torch.device("cpu")
        options = dict(
            device=dev, dtype=dtype if backend == "torch" else "float32", head=head, merge_lora=merge_lora,
            attn_implementation=attn_implementation, tokenizer=tokenizer, profile=profile, revision=revision,
            gguf_file=gguf_file,
        )
        changes = dict(
            max_terms=max_terms,
            query_max_length=query_max_length,
            document_max_length=document_max_length,
            bidirectional=bidirectional,
            pooling_chunk_size=pooling_chunk_size,
        )
        if backend == "torch":
            loaded = load(name_or_path, **options)
            model = backends.quantize_torch(loaded.model) if int8 else loaded.model
            return cls(model, loaded.tokenizer, loaded.config.replace(**changes)).to(dev).eval()
        loaded = load(name_or_path, **options, weights=False)

        def torch_encoder() -> SparseEncoder:  # only when the folder holds no exported graph
            full = load(name_or_path, **options)
            return cls(full.model, full.tokenizer, full.config.replace(**changes)).eval()

        runner = backends.open_runner(loaded.path, backend, int8, torch_encoder)
        return cls(None, loaded.tokenizer, loaded.config.replace(**changes), runner=runner).eval()

    def save_pretrained(self, path: str | Path) -> Path:
        """Write weights, tokenizer, ``laconic_config.json`` and Sentence Transformers files (atomically).

        A PEFT-wrapped model is saved as its adapter (``adapter_config.json`` names the
        base); merge it first (``model.merge_and_unload()``) for a standalone encoder.
        """
        from laconic.storage import atomic_directory

        path = Path(path)
        with atomic_directory(path) as tmp:
            self.write_files(tmp)
        return path

    def write_files(self, directory: Path, state_dict: dict[str, torch.Tensor] | None = None) -> None:
        """The files of :meth:`save_pretrained`, into an existing ``directory`` (the caller makes it atomic).

        ``state_dict`` (names relative to ``self.model``) replaces the live weights:
        a training run passes the whole weights gathered from its FSDP shards.
        """
        from laconic.encoder.interop import write_st_files

        if self.model is None:
            raise ConfigError("an exported-graph encoder has no torch weights to save: save the torch model, then export")
        self.model.save_pretrained(directory, state_dict=state_dict)
        self.tokenizer.save_pretrained(directory)
        self.config.save(directory)
        if not (directory / "adapter_config.json").is_file() and self.config.head == "lm":
            write_st_files(directory, backbone=self.config.backbone, vocab_size=self.vocab_size, profile=self.config.profile)

    # -------------------------------------------------------------- properties
    @property
    def _no_split_modules(self) -> list[str] | None:
        """The backbone's layer classes: accelerate's FSDP TRANSFORMER_BASED_WRAP makes each one a shard unit,
        so one accelerate config serves Llama and BERT backbones alike."""
        return getattr(self.model, "_no_split_modules", None)

    @property
    def device(self) -> torch.device:
        if self.model is None:
            return torch.device("cpu")
        return next(self.model.parameters()).device

    @property
    def profile(self) -> EncodingProfile:
        """The encoding conventions in force (prefixes, special tokens, lengths, top-k)."""
        return self.config.profile

    @property
    def vocab_size(self) -> int:
        """Number of term ids (rows of the vocabulary projection)."""
        if self.model is None:
            return int(self.runner.vocab_size)
        return int(bb.head_weights(self.model, self.config.head)[0].shape[0])

    # ------------------------------------------------------------------ tensors
    def tokenize(
        self, items: Sequence[Any], kind: str = "query", max_length: int | None = None
    ) -> dict[str, torch.Tensor]:
        """Right-padded ``input_ids`` / ``attention_mask`` (B, L) on the encoder's device.

        ``items`` are queries (str) or documents (str or ``{"title", "text"}``), formatted
        and tokenised by the profile.
        """
        rows = self.profile.token_ids(self.tokenizer, items, kind, max_length)
        return pad_batch(rows, self.tokenizer.pad_token_id, self.device)

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, top_k: int | None = None
    ) -> torch.Tensor:
        """Dense (B, V) float32 term weights; differentiable (pooling is chunked and recomputed).

        Args:
            input_ids: (B, L) int64, right-padded.
            attention_mask: (B, L), 1 for tokens, 0 for padding.
            top_k: keep each row's k largest weights (``None``: keep all).
        """
        if self.model is None:
            raise ConfigError("this encoder runs an exported graph (backend onnx/openvino): it encodes, "
                              "but forward, gradients and training need backend='torch'")
        if self.config.backbone == "causal" and bb.is_bidirectional(self.model) != self.config.bidirectional:
            bb.set_bidirectional(self.model, self.config.bidirectional)
        # no KV cache: an encoder never decodes, and building one costs every forward pass
        extra = {"use_cache": False} if self.config.backbone == "causal" else {}
        out = bb.body(self.model)(input_ids=input_ids, attention_mask=attention_mask, **extra)
        hidden = out[0] if isinstance(out, tuple) else out.last_hidden_state  # (B, L, H)
        transform = bb.head_transform(self.model, self.config.head)
        if transform is not None:
            hidden = transform(hidden)
        weight, bias = bb.head_weights(self.model, self.config.head)
        if self.config.logit_bias:
            shift = torch.full((weight.shape[0],), float(self.config.logit_bias), device=weight.device)
            bias = shift.to(weight.dtype) if bias is None else bias + shift.to(bias.dtype)
        pooled = pool_term_weights(hidden, attention_mask, weight, bias, chunk_size=self.config.pooling_chunk_size)
        if self.config.masks_special_tokens:
            pooled = pooled.index_fill(1, self._special_ids(pooled.shape[1], pooled.device), 0.0)
        return keep_top_k(pooled, top_k)

    def _term_weights(self, batch: dict[str, torch.Tensor], threads: int | None) -> torch.Tensor:
        """(B, V) weights of a tokenised batch, through torch or the exported graph."""
        if self.runner is None:
            return self(batch["input_ids"], batch["attention_mask"])
        out = self.runner(batch["input_ids"].cpu().numpy(), batch["attention_mask"].cpu().numpy(), threads)
        return torch.from_numpy(out)

    def _special_ids(self, vocab: int, device: torch.device) -> torch.Tensor:
        """Ids of the tokenizer's special tokens inside the output vocabulary."""
        ids = sorted({int(i) for i in getattr(self.tokenizer, "all_special_ids", []) if 0 <= int(i) < vocab})
        return torch.tensor(ids, dtype=torch.long, device=device)

    # ----------------------------------------------------------------- encoding
    def encode(
        self,
        texts: Sequence[str | Mapping[str, Any]],
        kind: str = "query",
        *,
        batch_size: int = 32,
        show_progress: bool | None = None,
        ids: Sequence[str] | None = None,
        max_length: int | None = None,
        threads: int | None = None,
        max_tokens: int | None = None,
    ) -> SparseVectors:
        """Encode queries or documents into ``SparseVectors`` (input order kept; top-k applied).

        Each item is formatted by the profile first (prefix; a document's title and
        text joined). Items are sorted by token length and batched so each batch pads
        little; the output rows are put back in input order.

        ``max_tokens`` packs batches by a token budget instead of ``batch_size``: each
        batch holds as many texts as fit in ``max_tokens`` padded tokens, so short texts
        share a forward pass in large numbers and long ones in small (bounded memory).
        """
        from tqdm.auto import tqdm

        if ids is not None and len(ids) != len(texts):
            raise ValueError(f"got {len(ids)} ids for {len(texts)} texts")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if max_tokens is not None and max_tokens < 1:
            raise ValueError(f"max_tokens must be >= 1, got {max_tokens}")
        rows = self.profile.token_ids(self.tokenizer, texts, kind, max_length)
        order = np.argsort([-len(r) for r in rows], kind="stable")
        spans = _batch_spans([len(rows[i]) for i in order], batch_size, max_tokens)
        n_batches = len(spans)
        if show_progress is None:
            show_progress = n_batches > _AUTO_PROGRESS_BATCHES and sys.stderr.isatty()
        parts = []
        was_training = self.training
        self.eval()  # no dropout while encoding, even mid-training
        plural = "queries" if kind == "query" else f"{kind}s"
        bar = tqdm(total=len(rows), desc=f"encode {plural}", unit=kind[0]) if show_progress else None
        try:
            with _num_threads(threads), torch.inference_mode():
                for lo, hi in spans:
                    batch = [rows[i] for i in order[lo:hi]]
                    enc = pad_batch(batch, self.tokenizer.pad_token_id, self.device)
                    dense = self._term_weights(enc, threads)  # (B, V)
                    parts.append(_to_sparse(dense, self.config.top_k))
                    if bar is not None:
                        bar.update(len(batch))
        finally:
            if bar is not None:
                bar.close()
            self.train(was_training)
        if not parts:
            return SparseVectors.empty(self.vocab_size, 0).with_ids(list(ids) if ids is not None else None)
        stacked = parts[0] if len(parts) == 1 else SparseVectors.concat(parts)
        # one query at a time is the service's case: skip the reorder (a scipy copy) when there is none
        sorted_already = bool(np.all(order[1:] > order[:-1]))
        restored = stacked if sorted_already else stacked[np.argsort(order, kind="stable")]
        return restored.with_ids(list(ids) if ids is not None else None)

    def encode_queries(self, texts: Sequence[str], batch_size: int = 32, show_progress: bool | None = None,
                       ids: Sequence[str] | None = None, **kwargs: Any) -> SparseVectors:
        """Encode queries (budget ``config.query_max_length``)."""
        return self.encode(list(texts), "query", batch_size=batch_size, show_progress=show_progress, ids=ids, **kwargs)

    def encode_documents(self, docs: Sequence[str | Mapping[str, Any]], batch_size: int = 32,
                         show_progress: bool | None = None, ids: Sequence[str] | None = None,
                         **kwargs: Any) -> SparseVectors:
        """Encode documents: strings or BEIR dicts (``title`` + ``text``, joined by the profile)."""
        return self.encode(list(docs), "document", batch_size=batch_size, show_progress=show_progress, ids=ids, **kwargs)

    def encode_query(self, text: str | Sequence[str], **kwargs: Any) -> SparseVectors:
        """Sentence-Transformers-style alias: one query (or a list)."""
        return self.encode_queries([text] if isinstance(text, str) else text, **kwargs)

    def encode_document(self, doc: Any, **kwargs: Any) -> SparseVectors:
        """Sentence-Transformers-style alias: one document (str or dict) or a list."""
        return self.encode_documents([doc] if isinstance(doc, (str, Mapping)) else doc, **kwargs)

    # ------------------------------------------------------------------ reading
    def decode(self, vector: SparseVectors | torch.Tensor | np.ndarray, top_k: int | None = None) -> Any:
        """``[(token, weight), ...]`` by decreasing weight (tokens as the tokenizer spells them).

        A batch of several vectors gives one such list per vector.
        """
        if not isinstance(vector, SparseVectors):
            arr = vector.detach().float().cpu().numpy() if hasattr(vector, "detach") else np.asarray(vector)
            vector = SparseVectors.from_dense(np.atleast_2d(arr))
        out = [list(zip(self.tokenizer.convert_ids_to_tokens(idx.tolist()), vals.tolist()))
               for idx, vals in vector.ranked(top_k)]
        return out[0] if len(out) == 1 else out


def _to_sparse(dense: torch.Tensor, k: int | None) -> SparseVectors:
    """(B, V) weights to CSR, keeping each row's top ``k`` positive weights, term ids sorted."""
    vocab = dense.shape[1]
    if not bool(torch.isfinite(dense).all()):
        raise ValueError("the model produced non-finite term weights (NaN or inf); in float16, try dtype='float32'")
    positive = dense > 0
    # Trained models keep far fewer than k positive weights per query: then the top k are all of
    # them, and a mask is enough (no topk over the vocabulary, no sort). Measured on a one-query
    # batch of splade-tiny (graph stubbed out, machine loaded): Python side 0.69 -> 0.36-0.47 ms.
    if k and k < vocab and int(positive.sum(dim=1).max()) > k:
        vals, idx = dense.topk(int(k), dim=1)  # (B, k)
        idx = torch.where(vals > 0, idx, torch.full_like(idx, vocab))  # push zeros to the end
        idx, perm = idx.sort(dim=1)
        vals = vals.gather(1, perm)
        keep = idx < vocab
        counts = keep.sum(dim=1).cpu().numpy()
        cols, data = idx[keep].cpu().numpy(), vals[keep].float().cpu().numpy()
    else:
        nz = positive.nonzero()  # row-major: rows, then term ids ascending
        counts = np.bincount(nz[:, 0].cpu().numpy(), minlength=dense.shape[0])
        cols, data = nz[:, 1].cpu().numpy(), dense[nz[:, 0], nz[:, 1]].float().cpu().numpy()
    indptr = np.concatenate([[0], np.cumsum(counts)])
    return SparseVectors(indptr, cols, data, vocab, check=False)  # ids sorted and in range by construction


@contextlib.contextmanager
def _num_threads(n: int | None) -> Iterator[None]:
    """Temporarily set torch's intra-op CPU threads."""
    if not n:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _batch_spans(lengths: Sequence[int], batch_size: int, max_tokens: int | None) -> list[tuple[int, int]]:
    """``[lo, hi)`` batches over texts sorted longest first: ``batch_size`` each, or packed to ``max_tokens``.

    In longest-first order a batch's first text sets its padded width, so a batch
    of ``n`` texts costs ``n x lengths[lo]`` tokens.
    """
    if max_tokens is None:
        return [(lo, min(lo + batch_size, len(lengths))) for lo in range(0, len(lengths), batch_size)]
    spans, lo = [], 0
    while lo < len(lengths):
        width = max(1, lengths[lo])
        hi = min(len(lengths), lo + max(1, max_tokens // width))
        spans.append((lo, hi))
        lo = hi
    return spans
