"""Bad build input fails loudly; ids default sensibly."""

from __future__ import annotations

import numpy as np
import pytest

from laconic.errors import UnknownDocumentError

from laconic.errors import ConfigError
from laconic.index import BuildConfig, SearchParams, SparseIndex
from laconic.sparse import SparseVectors


def test_ids_default_to_vector_ids_then_positions():
    v = SparseVectors.from_dicts([{1: 1.0}, {1: 2.0}], vocab_size=4)
    assert SparseIndex.build(v).search(v[:1], k=2).ids == [["1", "0"]]
    assert SparseIndex.build(v.with_ids(["a", "b"])).search(v[:1], k=2).ids == [["b", "a"]]
    assert SparseIndex.build(v, ids=["x", "y"]).search(v[:1], k=1).ids == [["y"]]


def test_duplicate_ids_rejected():
    v = SparseVectors.from_dicts([{1: 1.0}, {1: 2.0}], vocab_size=4)
    with pytest.raises(ValueError, match="duplicate document id 'a'"):
        SparseIndex.build(v, ids=["a", "a"])
    with pytest.raises(ValueError, match="2 vectors"):
        SparseIndex.build(v, ids=["a"])


@pytest.mark.parametrize("bad, what", [(-0.5, "negative"), (np.nan, "non-finite"), (np.inf, "non-finite")])
def test_bad_weights_rejected_with_position(bad, what):
    v = SparseVectors(np.array([0, 1, 3]), np.array([1, 0, 2]), np.array([1.0, 2.0, bad], np.float32), 4, check=False)
    with pytest.raises(ValueError, match=f"{what} weight .* vector 1 .* term 2"):
        SparseIndex.build(v)


def test_config_validation():
    with pytest.raises(ConfigError):
        BuildConfig(weight_bits=12)
    with pytest.raises(ConfigError):
        BuildConfig(block_size=1000)
    with pytest.raises(ConfigError):
        SearchParams(alpha=0.0)
    with pytest.raises(ConfigError):
        BuildConfig.from_dict({"block_size": 8, "colour": "red"})


def test_empty_collection_and_stats():
    index = SparseIndex.build(SparseVectors.empty(16, 0))
    assert len(index) == 0
    assert index.search(SparseVectors.from_dicts([{1: 1.0}], vocab_size=16), k=3).ids == [[]]
    same = SparseVectors.from_dicts([{1: 1.0, 2: 3.0}] * 70, vocab_size=16)
    st = SparseIndex.build(same, config=BuildConfig(block_size=32)).stats()
    assert st["documents"] == 70 and st["postings"] == 140 and st["blocks"] == 3
    assert st["total_bytes"] == sum(st["bytes"].values()) and st["bytes_per_doc"] > 0


def test_explain_lists_matched_terms_by_contribution():
    docs = SparseVectors.from_dicts([{1: 1.0, 2: 2.0, 3: 0.5}, {4: 1.0}], vocab_size=8, ids=["a", "b"])
    index = SparseIndex.build(docs, config=BuildConfig(weight_bits=32))
    q = SparseVectors.from_dicts([{1: 3.0, 2: 1.0, 4: 1.0, 7: 1.0}], vocab_size=8)
    got = index.explain(q, ["a", "b"])
    assert [t for t, _ in got[0]] == [1, 2] and got[0][0][1] == pytest.approx(3.0)
    assert got[1] == [(4, pytest.approx(1.0))]
    assert sum(c for _, c in got[0]) == pytest.approx(float(index.search(q, k=1).scores[0][0]))
    with pytest.raises(UnknownDocumentError, match="document id 'zzz' is not in the index") as err:
        index.explain(q, ["zzz"])
    assert not isinstance(err.value, KeyError)
    index.delete(["b"])
    with pytest.raises(UnknownDocumentError, match="'b'"):
        index.explain(q, ["b"])
