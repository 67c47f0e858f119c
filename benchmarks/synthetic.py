"""Synthetic learned-sparse collections for the search benchmark.

Real LACONIC encodings of a million documents need a GPU and a trained model;
the query processor only sees term ids and weights, so a generator that gets
the *statistics* right (how many terms per vector, how skewed posting lists
are, how queries and documents co-occur, how weights are distributed) is
enough to compare index structures. The model, all in vectorised numpy:

1. **Vocabulary** of ``V = 128,256`` term ids (Llama-3's). Global popularity is
   Zipfian, ``p(rank r) ~ 1 / r**s`` (``s = zipf_s``), over a random
   permutation of the ids so popular terms are scattered like real token ids.
2. **Topics**: ``T`` latent topics. Each has ``topic_terms`` term ids drawn
   from a flatter Zipf (``s = topic_term_s``), so topics own mid-frequency
   terms rather than stop-words. Inside a topic, term ``j`` (0-based) is drawn
   with probability ``~ 1 / (j + 1)**topic_inner_s``. Topics themselves are
   Zipf-popular (``topic_s``), so some topics (and their posting lists) are big.
3. **A vector** (document or query) picks ``n`` = log-normal non-zeros
   (mean ``nnz_mean``, log-std ``nnz_sigma``, clipped to ``[1, 512]``) and a
   mixture of up to ``topics_per_vector`` topics with Dirichlet weights. It
   draws ``oversample * n`` tokens: with probability ``topical`` from one of
   its topics (chosen by the mixture weight), otherwise from the global Zipf.
   Repeats of a term count as its term frequency ``tf``.
4. **Weights** imitate ``log(1 + ReLU(logit))``: a latent logit-like score
   ``z = base + tf_gain*log(tf) + topical_gain*[topical] - idf_gain*log(pop
   rank ratio) + noise`` (frequent terms weigh less, like IDF, topical and
   repeated terms more), then ``w = log1p(exp(z))``: positive, mostly 0-3.
5. **Top-k pruning** as in LACONIC: each vector keeps its ``n`` heaviest
   distinct terms.

Queries use the same topics with fewer terms (~40), fewer topics and a higher
topical share, so they hit documents the way real queries do. Documents are
generated in fixed chunks of 50,000, each with its own seed, so the first ``N``
documents of a bigger collection equal the ``N``-document collection (same
seed, ``N`` a multiple of the chunk size, e.g. 100k inside 1M).

Example:
    python benchmarks/synthetic.py --docs 1000000 --queries 1000 --data-dir bench_data
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from laconic.sparse import SparseVectors

GENERATOR_VERSION = 2  # bump when the model changes: it is part of the cache key
CHUNK_DOCS = 50_000  # documents per generation chunk (bounds peak memory, ~0.5 GB)


@dataclass(frozen=True)
class SyntheticConfig:
    """Knobs of the topic model (defaults tuned to look like LACONIC/SPLADE output).

    Args:
        vocab_size: number of term ids (Llama-3: 128,256).
        zipf_s: exponent of the global term popularity.
        n_topics: number of latent topics.
        topic_s: exponent of topic popularity.
        topic_terms: term ids owned by each topic.
        topic_term_s: exponent of the flatter Zipf that topic terms are drawn from.
        topic_inner_s: exponent of term popularity inside a topic.
        doc_nnz_mean / query_nnz_mean: mean non-zeros per vector.
        nnz_sigma: log-std of the log-normal non-zero count.
        doc_topics / query_topics: topics mixed per vector.
        doc_topical / query_topical: share of tokens drawn from the vector's topics.
        oversample: tokens drawn per kept term (repeats become term frequency).
        max_nnz: top-k cap (LACONIC keeps 512).
    """

    vocab_size: int = 128_256
    zipf_s: float = 1.05
    n_topics: int = 2_000
    topic_s: float = 0.7
    topic_terms: int = 400
    topic_term_s: float = 0.6
    topic_inner_s: float = 0.6
    doc_nnz_mean: float = 150.0
    query_nnz_mean: float = 40.0
    nnz_sigma: float = 0.5
    doc_topics: int = 3
    query_topics: int = 2
    doc_topical: float = 0.55
    query_topical: float = 0.7
    oversample: float = 1.6
    max_nnz: int = 512
    # weight model: z = base + tf_gain*log(tf) + topical_gain*topical - idf_gain*log(pop ratio) + noise
    w_base: float = -0.4
    w_tf_gain: float = 0.8
    w_topical_gain: float = 0.9
    w_idf_gain: float = 0.12
    w_noise: float = 0.6


@dataclass
class TopicModel:
    """The sampled world: global term popularity and each topic's terms."""

    rank_to_term: np.ndarray  # (V,) int64: term id of the r-th most popular term
    term_rank: np.ndarray  # (V,) int64: inverse of rank_to_term
    topic_terms: np.ndarray  # (T, M) int64 term ids per topic
    topic_cdf: np.ndarray  # (T,) float64 cumulative topic popularity


def _zipf_cdf(n: int, s: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** s
    cdf = np.cumsum(p)
    return cdf / cdf[-1]


def _zipf_ranks(rng: np.random.Generator, n: int, s: float, size: int) -> np.ndarray:
    """0-based ranks from a (continuous-approximation) Zipf over ``n`` items, by inverse CDF.

    Closed form instead of ``searchsorted`` over a 128k CDF: 200M draws take seconds.
    """
    u = rng.random(size, dtype=np.float32)  # float32: ranks < 2**24 stay exact enough, pow is 2x faster
    if abs(s - 1.0) < 1e-9:
        x = np.exp(u * np.float32(math.log(n + 1.0)))
    else:
        a = 1.0 - s
        x = u * np.float32((n + 1.0) ** a - 1.0)
        x += 1.0
        np.power(x, np.float32(1.0 / a), out=x)
    return np.minimum(x.astype(np.int64) - 1, n - 1).clip(0)


def build_topic_model(cfg: SyntheticConfig, seed: int) -> TopicModel:
    """Sample the vocabulary permutation and the topics (shared by documents and queries)."""
    rng = np.random.default_rng([seed, 0])
    rank_to_term = rng.permutation(cfg.vocab_size).astype(np.int64)
    term_rank = np.empty_like(rank_to_term)
    term_rank[rank_to_term] = np.arange(cfg.vocab_size)
    ranks = _zipf_ranks(rng, cfg.vocab_size, cfg.topic_term_s, cfg.n_topics * cfg.topic_terms)
    topic_terms = rank_to_term[ranks].reshape(cfg.n_topics, cfg.topic_terms)
    return TopicModel(
        rank_to_term, term_rank, topic_terms, _zipf_cdf(cfg.n_topics, cfg.topic_s)
    )


def sample_vectors(
    model: TopicModel,
    cfg: SyntheticConfig,
    n: int,
    rng: np.random.Generator,
    *,
    nnz_mean: float,
    n_topics: int,
    topical: float,
    return_topics: bool = False,
) -> SparseVectors | tuple[SparseVectors, np.ndarray]:
    """Draw ``n`` vectors from the topic model (see the module docstring); no per-vector loop.

    Returns the vectors, and with ``return_topics`` also the (n, n_topics) topic ids.
    """
    V = cfg.vocab_size
    # target non-zeros: log-normal with the requested mean, clipped to [1, max_nnz]
    mu = math.log(nnz_mean) - cfg.nnz_sigma**2 / 2
    target = np.clip(np.rint(rng.lognormal(mu, cfg.nnz_sigma, n)), 1, cfg.max_nnz).astype(np.int64)
    draws = np.ceil(target * cfg.oversample).astype(np.int64)
    total = int(draws.sum())

    # per-vector topics and mixture weights; split each vector's draws between the
    # global Zipf (source 0) and its topics (sources 1..K) with one multinomial
    topics = np.searchsorted(model.topic_cdf, rng.random((n, n_topics)))
    mix = rng.dirichlet(np.full(n_topics, 0.7), size=n)
    pvals = np.concatenate([np.full((n, 1), 1.0 - topical), topical * mix], axis=1)
    per_source = rng.multinomial(draws, pvals)  # (n, K + 1), rows sum to draws
    source_topic = np.concatenate([np.full((n, 1), -1), topics], axis=1).astype(np.int32)
    tok_topic = np.repeat(source_topic.ravel(), per_source.ravel())  # (D,) -1 = global
    is_topical = tok_topic >= 0
    n_topical = int(is_topical.sum())
    term = np.empty(total, np.int64)
    inner = _zipf_ranks(rng, cfg.topic_terms, cfg.topic_inner_s, n_topical)
    term[is_topical] = model.topic_terms[tok_topic[is_topical], inner]
    term[~is_topical] = model.rank_to_term[_zipf_ranks(rng, V, cfg.zipf_s, total - n_topical)]
    del tok_topic, inner

    # distinct (vector, term) pairs by one int64 sort; the low bit is 0 for a
    # topical draw so a group's first element tells whether the term is topical
    term *= 2
    term += ~is_topical
    term += np.repeat(np.arange(0, 2 * V * n, 2 * V, dtype=np.int64), draws)  # vector offset
    term.sort()
    key = term
    del is_topical
    pair = key >> 1
    head = np.flatnonzero(np.concatenate([[True], pair[1:] != pair[:-1]]))
    tf = np.diff(np.append(head, key.size))
    top = (key[head] & 1) == 0
    row, col = pair[head] // V, pair[head] % V
    del key, pair

    log_pop_ratio = np.log((model.term_rank[col] + 1.0).astype(np.float32) / 1000.0)  # < 0 for the top 1k terms
    z = rng.standard_normal(row.size, dtype=np.float32)
    z *= cfg.w_noise
    z += cfg.w_base
    z += cfg.w_tf_gain * np.log(tf.astype(np.float32))
    z += cfg.w_topical_gain * top
    z += cfg.w_idf_gain * log_pop_ratio
    w = np.log1p(np.exp(z))

    # LACONIC-style top-k: keep each vector's `target` heaviest terms. Two int64
    # sorts of packed (row, weight, term) keys; cheaper than argsort + gathers.
    row_bits, col_bits, w_bits = max(1, int(n).bit_length()), max(1, int(V - 1).bit_length()), 24
    assert row_bits + col_bits + w_bits <= 63, "chunk too large to pack"
    w_scale = ((1 << w_bits) - 1) / float(w.max() if w.size else 1.0)
    wq = np.clip(np.rint(w.astype(np.float64) * w_scale), 0, (1 << w_bits) - 1).astype(np.int64)  # 24-bit code
    packed = (row << (w_bits + col_bits)) | (((1 << w_bits) - 1 - wq) << col_bits) | col
    packed.sort()  # by row, then descending weight
    counts = np.bincount(row, minlength=n)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.arange(row.size) - np.repeat(starts, counts)
    packed = packed[rank < np.repeat(target, counts)]
    del rank, row, col, wq
    row = packed >> (w_bits + col_bits)
    col = packed & ((1 << col_bits) - 1)
    wq = (1 << w_bits) - 1 - ((packed >> col_bits) & ((1 << w_bits) - 1))
    packed = (row << (w_bits + col_bits)) | (col << w_bits) | wq
    packed.sort()  # back to (row, term) order
    col = ((packed >> w_bits) & ((1 << col_bits) - 1)).astype(np.int32)
    values = ((packed & ((1 << w_bits) - 1)).astype(np.float32) / np.float32(w_scale)).astype(np.float32)
    kept_counts = np.bincount(packed >> (w_bits + col_bits), minlength=n)
    indptr = np.concatenate([[0], np.cumsum(kept_counts)]).astype(np.int64)
    vectors = SparseVectors(indptr, col, values, V)  # validated: cheap next to sampling
    return (vectors, topics) if return_topics else vectors


#: Named workloads. "easy": ~150 terms per document, ~40 per query. "laconic": the shape of the
#: released LACONIC setup, top-512 on both sides (means near 384 per document and 293 per query).
WORKLOADS = {
    "easy": SyntheticConfig(),
    "laconic": SyntheticConfig(doc_nnz_mean=400.0, query_nnz_mean=300.0, nnz_sigma=0.3),
}


def generate_documents(cfg: SyntheticConfig, n_docs: int, seed: int, show_progress: bool = True) -> SparseVectors:
    """``n_docs`` documents, generated in seeded chunks (a prefix of a larger run is identical)."""
    model = build_topic_model(cfg, seed)
    parts = []
    n_chunks = max(1, math.ceil(n_docs / CHUNK_DOCS))
    chunks = range(n_chunks)
    if show_progress:
        from tqdm.auto import tqdm

        chunks = tqdm(chunks, desc="synthetic docs", unit="chunk", disable=n_chunks < 2)
    for c in chunks:
        size = min(CHUNK_DOCS, n_docs - c * CHUNK_DOCS)
        rng = np.random.default_rng([seed, 1, c])
        parts.append(
            sample_vectors(model, cfg, size, rng, nnz_mean=cfg.doc_nnz_mean, n_topics=cfg.doc_topics, topical=cfg.doc_topical)
        )
    return SparseVectors.concat(parts)


def generate_queries(cfg: SyntheticConfig, n_queries: int, seed: int) -> SparseVectors:
    """``n_queries`` queries from the same topic model as the documents."""
    model = build_topic_model(cfg, seed)
    rng = np.random.default_rng([seed, 2])
    return sample_vectors(model, cfg, n_queries, rng, nnz_mean=cfg.query_nnz_mean, n_topics=cfg.query_topics, topical=cfg.query_topical)


def _cache_name(kind: str, n: int, seed: int, cfg: SyntheticConfig) -> str:
    # a short digest of the config keeps files from different models apart
    import hashlib

    digest = hashlib.sha1(repr(sorted(asdict(cfg).items())).encode()).hexdigest()[:8]
    return f"synthetic-v{GENERATOR_VERSION}-{kind}-n{n}-seed{seed}-{digest}.npz"


def load_or_generate(
    data_dir: str | Path,
    n_docs: int,
    n_queries: int,
    seed: int = 0,
    cfg: SyntheticConfig | None = None,
    show_progress: bool = True,
) -> tuple[SparseVectors, SparseVectors]:
    """Documents and queries, read from ``data_dir`` when cached there, else generated and saved."""
    cfg = cfg or SyntheticConfig()
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, n, make in (
        ("docs", n_docs, lambda: generate_documents(cfg, n_docs, seed, show_progress)),
        ("queries", n_queries, lambda: generate_queries(cfg, n_queries, seed)),
    ):
        path = data_dir / _cache_name(kind, n, seed, cfg)
        if path.is_file():
            out.append(SparseVectors.load(path))
        else:
            vectors = make()
            vectors.save(path)
            out.append(vectors)
    return out[0], out[1]


def describe(vectors: SparseVectors) -> dict[str, float]:
    """Summary statistics worth printing next to a benchmark (nnz, weights, posting skew)."""
    nnz = vectors.row_nnz()
    df = np.bincount(vectors.indices, minlength=vectors.vocab_size)
    df_sorted = np.sort(df)[::-1]
    return {
        "vectors": len(vectors),
        "nnz_mean": float(nnz.mean()) if len(vectors) else 0.0,
        "nnz_p50": float(np.median(nnz)) if len(vectors) else 0.0,
        "nnz_max": int(nnz.max()) if len(vectors) else 0,
        "weight_mean": float(vectors.values.mean()) if vectors.nnz else 0.0,
        "weight_p99": float(np.quantile(vectors.values, 0.99)) if vectors.nnz else 0.0,
        "terms_used": int((df > 0).sum()),
        "top1pct_term_share": float(df_sorted[: max(1, vectors.vocab_size // 100)].sum() / max(1, df.sum())),
        "longest_posting": int(df_sorted[0]),
    }


def main(argv: list[str] | None = None) -> None:
    """Generate (or find cached) documents and queries and print their statistics."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--docs", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data-dir", default="bench_data")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    docs, queries = load_or_generate(args.data_dir, args.docs, args.queries, args.seed)
    print(f"ready in {time.perf_counter() - t0:.1f} s (cache: {Path(args.data_dir).resolve()})")
    for name, v in (("documents", docs), ("queries", queries)):
        print(name, {k: round(x, 3) if isinstance(x, float) else x for k, x in describe(v).items()})


if __name__ == "__main__":
    main()
