"""The figure writers produce real PNGs from the numbers they are given, and count what they say they count."""

from __future__ import annotations

from laconic.evaluation.plots import ndcg_bars, per_query_plot, recall_latency_plot, training_curves

PNG = b"\x89PNG\r\n\x1a\n"


def test_per_query_counts(tmp_path):
    counts = per_query_plot({"a": 1.0, "b": 0.2, "c": 0.5}, {"a": 0.5, "b": 0.2, "d": 0.3}, names=("ours", "BM25"),
                            measure="nDCG@10", path=tmp_path / "p.png")
    # a: +0.5 win, b: tie, c: +0.5 win (absent from BM25), d: -0.3 loss (absent from ours)
    assert counts == {"wins": 2, "losses": 1, "ties": 1}
    assert (tmp_path / "p.png").read_bytes()[:8] == PNG


def test_other_figures_write_pngs(tmp_path):
    points = [{"engine": e, "recall": r, "p50_ms": 0.1 + r, "p99_ms": 1 + r} for e in ("a", "b") for r in (0.5, 0.9, 0.99)]
    recall_latency_plot(points, tmp_path / "r.png", title="t")
    records = [{"step": s, "ranking": 1 / s, "flops_q": 2.0, "flops_d": 3.0, "nnz_q": 10, "nnz_d": 20} for s in range(1, 30)]
    training_curves({"run": records}, tmp_path / "t.png")
    ndcg_bars({"BM25": {"scifact": 0.67, "nfcorpus": 0.32}, "ours": {"scifact": 0.59}}, ["scifact", "nfcorpus"], tmp_path / "n.png")
    for name in ("r.png", "t.png", "n.png"):
        assert (tmp_path / name).read_bytes()[:8] == PNG and (tmp_path / name).stat().st_size > 5_000
