"""Helpers of the index tests: data generators and the brute-force oracle (imported by name)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from laconic.sparse import SparseVectors


def zipf_topic_vectors(n: int, vocab: int, nnz: int, seed: int, n_topics: int = 30) -> SparseVectors:
    """Learned-sparse-like vectors: Zipfian term popularity, topic mixtures, log1p(exp) weights."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, vocab + 1) ** 1.05
    pop /= pop.sum()
    topics = [np.random.default_rng([7, t]).choice(vocab, 60, replace=False) for t in range(n_topics)]
    rows, cols, vals = [], [], []
    for i in range(n):
        m = int(np.clip(rng.lognormal(np.log(nnz), 0.4), 1, 4 * nnz))
        t = topics[rng.integers(n_topics)]
        terms = np.concatenate([rng.choice(t, m // 2), rng.choice(vocab, m - m // 2, p=pop)])
        terms = np.unique(terms)
        w = np.log1p(np.exp(rng.normal(0.0, 0.8, terms.size) + np.isin(terms, t))).astype(np.float32)
        rows.append(np.full(terms.size, i))
        cols.append(terms)
        vals.append(w)
    mat = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n, vocab))
    return SparseVectors.from_scipy(mat, ids=[f"d{i}" for i in range(n)])


def random_vectors(n: int, vocab: int, density: float, seed: int, prefix: str = "d") -> SparseVectors:
    mat = sp.random(n, vocab, density=density, random_state=seed, format="csr", dtype=np.float32)
    return SparseVectors.from_scipy(mat, ids=[f"{prefix}{i}" for i in range(n)])


def oracle(index, queries: SparseVectors, k: int) -> tuple[list[list[str]], list[np.ndarray]]:
    """Brute force over the index's stored (dequantised) weights, ties by insertion order."""
    return brute_force(queries, index.vectors(), k)


def brute_force(queries: SparseVectors, docs: SparseVectors, k: int) -> tuple[list[list[str]], list[np.ndarray]]:
    """Top-k ids and scores of ``docs`` (with ids) by scipy dot products, ties by row order."""
    scores = (queries.to_scipy() @ docs.to_scipy().T).toarray()
    ids, out = [], []
    for row in scores:
        pos = np.flatnonzero(row > 0)
        order = pos[np.lexsort((pos, -row[pos]))][:k]
        ids.append([docs.ids[j] for j in order])
        out.append(row[order].astype(np.float32))
    return ids, out


def assert_matches_oracle(results, expected_ids, expected_scores, rtol: float = 1e-5) -> None:
    """Same scores; same ids wherever the score is not (nearly) tied with a neighbour."""
    assert len(results.ids) == len(expected_ids)
    for got_ids, got, want_ids, want in zip(results.ids, results.scores, expected_ids, expected_scores):
        assert len(got_ids) == len(want_ids)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=1e-6)
        assert np.all(np.diff(got) <= 0)
        for r, (a, b) in enumerate(zip(got_ids, want_ids)):
            near = np.abs(want - want[r]) <= rtol * abs(want[r]) + 1e-6
            if near.sum() == 1:
                assert a == b, f"rank {r}: {a} != {b}"


def pair_pointers(pair_off: np.ndarray, pair_base: np.ndarray) -> np.ndarray:
    """Full pair pointers of a format-3 segment, decoded as docs/index-format.md says (not by the kernels)."""
    base = np.asarray(pair_base, np.int64)[np.arange(pair_off.size) // 256]
    return base + (np.asarray(pair_off, np.int64) - base) % 65536


def put_array(root, header: dict, rel: str, arr: np.ndarray) -> None:
    """Save ``arr`` as ``root/rel`` and record its dtype, shape, size and CRC-32 in ``header["files"]``."""
    import zlib

    np.save(root / rel, arr)
    data = (root / rel).read_bytes()
    header["files"][rel] = {"dtype": arr.dtype.str, "shape": [arr.size], "bytes": len(data), "crc32": zlib.crc32(data)}
