"""``LaconicSystem``: a LACONIC encoder plus our CPU inverted index, as a :class:`RetrievalSystem`."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import InputError
from laconic.evaluation.datasets import BeirDataset
from laconic.evaluation.memory import directory_bytes, index_memory, stats_bytes
from laconic.evaluation.system import RetrievalSystem
from laconic.sparse import SparseVectors

__all__ = ["LaconicSystem", "check_index_ids", "model_display_name"]


def model_display_name(model: Any) -> str:
    """A short name for a model path or an encoder object (its folder's name)."""
    if isinstance(model, (str, Path)):
        return Path(str(model).rstrip("/")).name or str(model)
    backbone = getattr(model, "model", None)
    path = getattr(backbone, "name_or_path", None) or getattr(model, "name_or_path", None)
    if path:
        return Path(str(path).rstrip("/")).name
    return type(model).__name__


def _json_safe(value: Any) -> Any:
    """Numbers, strings and nested dicts/lists of them (index stats go into report.json)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value if isinstance(value, (int, float, str, bool, type(None))) else repr(value)


def check_index_ids(index: Any, doc_ids: list[str], path: str | Path | None = None) -> None:
    """Refuse an index that is not of this corpus: its scores would be silently wrong."""
    have, want = set(index.ids()), set(doc_ids)
    if have != want:
        missing, extra = len(want - have), len(have - want)
        example = next(iter(sorted(want - have) or sorted(have - want)))
        raise InputError(
            f"the index holds {len(have):,} documents, the dataset {len(want):,}: {missing:,} dataset ids are "
            f"missing from it and {extra:,} of its ids are not in the dataset (e.g. {example!r}); "
            "rebuild it for this corpus (and the same --max-docs)",
            path=path,
        )


class LaconicSystem(RetrievalSystem):
    """Encode with a :class:`laconic.SparseEncoder`, index and search with :class:`laconic.SparseIndex`.

    Args:
        encoder: a loaded ``SparseEncoder`` (or any object with its encode contract).
        mode: ``exact`` or ``approximate`` search.
        params: ``SearchParams`` for approximate search (None: the index's defaults).
        build_config: ``BuildConfig`` for the index (None: defaults).
        batch_size: encoding batch size.
        name: display name (default: the model folder's name).
        index_factory: callable ``(vectors, ids, config, show_progress) -> index``;
            None means ``SparseIndex.build``.
        index: an already built index of this corpus (e.g. ``SparseIndex.open`` of a
            ``--keep-index`` folder): corpus encoding and the build are skipped, so
            search knobs can be swept without re-encoding. Its ids must be the
            dataset's document ids.
        index_path: where ``index`` was loaded from (named in errors and the report).
    """

    kind = "laconic"

    def __init__(
        self,
        encoder: Any,
        *,
        mode: str = "exact",
        params: Any = None,
        build_config: Any = None,
        batch_size: int = 32,
        name: str | None = None,
        index_factory: Any = None,
        index: Any = None,
        index_path: str | Path | None = None,
    ) -> None:
        self.encoder = encoder
        self.mode = mode
        self.params = params
        self.build_config = build_config
        self.batch_size = batch_size
        self.name = name or model_display_name(encoder)
        self._index_factory = index_factory
        self.index: Any = index
        self._prebuilt = index is not None
        self.index_path = str(index_path) if index_path is not None else None

    def encode_corpus(self, dataset: BeirDataset, show_progress: bool | None = None) -> SparseVectors | None:
        if self._prebuilt:
            self._check_prebuilt(dataset.doc_ids)
            return None
        return self.encoder.encode_documents(
            dataset.documents, batch_size=self.batch_size, show_progress=show_progress, ids=dataset.doc_ids
        )

    def _check_prebuilt(self, doc_ids: list[str]) -> None:
        vocab = getattr(self.encoder, "vocab_size", None)
        if vocab is not None and int(vocab) != int(self.index.vocab_size):
            raise InputError(
                f"the index was built for a {self.index.vocab_size:,}-term vocabulary, the model has {int(vocab):,} terms",
                path=self.index_path,
            )
        check_index_ids(self.index, doc_ids, self.index_path)

    def build(self, encoded_corpus: SparseVectors | None, doc_ids: list[str], show_progress: bool | None = None) -> None:
        if self._prebuilt:
            return
        factory = self._index_factory
        if factory is None:
            from laconic.index import SparseIndex

            factory = SparseIndex.build
        self.index = factory(encoded_corpus, ids=doc_ids, config=self.build_config, show_progress=show_progress)

    def encode_queries(self, texts: list[str], query_ids: list[str], show_progress: bool | None = None) -> SparseVectors:
        return self.encoder.encode_queries(texts, batch_size=self.batch_size, show_progress=show_progress, ids=query_ids)

    def search(self, encoded_queries: SparseVectors, k: int, threads: int | None = None) -> tuple[list[list[str]], list[np.ndarray]]:
        res = self.index.search(encoded_queries, k=k, mode=self.mode, params=self.params, threads=threads)
        return res.ids, res.scores

    def mean_nnz(self, encoded: SparseVectors | None) -> float:
        if encoded is None:  # a prebuilt index: its postings are the corpus's non-zeros
            stats = self.index.stats()
            return stats["postings"] / max(stats["documents"], 1)
        return encoded.nnz / max(len(encoded), 1)

    def hidden_size(self) -> int | None:
        """The backbone's hidden size: the width of the equivalent dense model."""
        config = getattr(getattr(self.encoder, "model", None), "config", None)
        size = getattr(config, "hidden_size", None)
        return int(size) if size else None

    def memory(self, n_docs: int, work_dir: Path | None) -> dict[str, Any]:
        stats = self.index.stats() if hasattr(self.index, "stats") else {}
        disk = None
        if hasattr(self.index, "save"):
            if work_dir is not None:
                self.index.save(work_dir / "index")
                disk = directory_bytes(work_dir / "index")
            else:
                with tempfile.TemporaryDirectory(prefix="laconic-eval-") as tmp:
                    self.index.save(Path(tmp) / "index")
                    disk = directory_bytes(Path(tmp) / "index")
        out = index_memory(stats_bytes(stats), n_docs, self.hidden_size(), disk_bytes=disk)
        out["index_stats"] = _json_safe(stats)
        return out

    def describe(self) -> dict[str, Any]:
        config = getattr(self.encoder, "config", None)
        out: dict[str, Any] = {"mode": self.mode, "batch_size": self.batch_size}
        if config is not None:
            try:
                from dataclasses import asdict

                out["encoder"] = {k: v for k, v in asdict(config).items() if isinstance(v, (int, float, str, bool, type(None)))}
            except TypeError:
                pass
        if self.params is not None:
            out["search_params"] = repr(self.params)
        if self.build_config is not None:
            out["build_config"] = repr(self.build_config)
        if self.index_path is not None:
            out["index_path"] = self.index_path
        return out
