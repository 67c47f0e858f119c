"""ONNX Runtime and OpenVINO backends against torch: same vectors (fp32), close vectors and rankings (int8)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from laconic.encoder import SparseEncoder
from laconic.errors import ConfigError

pytest.importorskip("onnxruntime", reason="the onnx extra is part of [all]")

TEXTS = ["a", "the quick brown fox jumps over the lazy dog", "vitamin d deficiency is associated with bone loss",
         "x y", "statins reduce cholesterol and the risk of heart disease"]
SPLADE = Path(__file__).resolve().parents[2].parent / "shared" / "models" / "splade-tiny"


@pytest.fixture(scope="module")
def exported(tiny_llama_dir, tmp_path_factory) -> Path:
    """``laconic export`` of the tiny Llama, ONNX and OpenVINO, with int8."""
    from typer.testing import CliRunner

    from laconic.cli.main import app

    out = tmp_path_factory.mktemp("exported") / "m"
    for backend in ("onnx", "openvino"):
        result = CliRunner().invoke(app, ["export", "--model", str(tiny_llama_dir), "--backend", backend, "--int8",
                                          "--output", str(out)])
        assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_fp32_backends_equal_torch(exported, tiny_llama_dir, backend):
    if backend == "openvino":
        pytest.importorskip("openvino", reason="the openvino extra is part of [all]")
    torch_enc = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", max_terms=0)
    other = SparseEncoder.from_pretrained(exported, backend=backend, max_terms=0)
    assert other.model is None and other.runner is not None and other.profile == torch_enc.profile
    for kind in ("query", "document"):  # mixed lengths, one single-token text, the profile's prefixes
        a = torch_enc.encode(TEXTS, kind, batch_size=2).to_dense()
        b = other.encode(TEXTS, kind, batch_size=3).to_dense()
        assert np.abs(a - b).max() <= 1e-3
    # top-k is applied outside the graph, identically
    k8 = SparseEncoder.from_pretrained(exported, backend=backend, max_terms=8).encode_documents(TEXTS)
    assert (k8.row_nnz() <= 8).all()
    np.testing.assert_allclose(
        k8.to_dense(), SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", max_terms=8).encode_documents(TEXTS).to_dense(),
        atol=1e-3,
    )


@pytest.mark.parametrize("backend", ["onnx", "openvino"])
def test_exported_pooling_equals_torch_at_every_length(exported, tiny_llama_dir, backend):
    """The graph pools by halving L and copying real rows over padding (encoder/pooling.py); torch
    masks and reduces. Lengths around the halvings' boundaries, odd ones, more rows than the
    halvings reduce to one (L > 32), and a row of padding only, in one right-padded batch."""
    import torch

    if backend == "openvino":
        pytest.importorskip("openvino", reason="the openvino extra is part of [all]")
    torch_enc = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", max_terms=0)
    runner = SparseEncoder.from_pretrained(exported, backend=backend).runner
    lengths = [1, 2, 3, 16, 31, 32, 33, 63, 65, 130, 0]
    width = max(lengths)
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(3, torch_enc.vocab_size, (len(lengths), width), generator=gen)
    mask = (torch.arange(width)[None, :] < torch.tensor(lengths)[:, None]).long()
    with torch.no_grad():
        want = torch_enc(ids, mask, top_k=None).numpy()
    got = runner(ids.numpy(), mask.numpy(), 1)
    assert np.abs(got - want).max() <= 1e-4
    assert not got[-1].any() and (got[:-1] > 0).any(axis=1).all()  # no real token: all zeros
    one = runner(ids[4:5, :31].numpy(), mask[4:5, :31].numpy(), 1)  # unpadded, alone: the same vector
    assert np.abs(one[0] - got[4]).max() <= 1e-4


@pytest.mark.parametrize("backend", ["torch", "onnx", "openvino"])
def test_int8_is_close_to_fp32(exported, tiny_llama_dir, backend):
    if backend == "openvino":
        pytest.importorskip("openvino", reason="the openvino extra is part of [all]")
    source = tiny_llama_dir if backend == "torch" else exported
    fp32 = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", max_terms=0).encode_documents(TEXTS).to_dense()
    int8 = SparseEncoder.from_pretrained(source, backend=backend, int8=True, max_terms=0).encode_documents(TEXTS).to_dense()
    assert not np.array_equal(int8, fp32)  # really quantised
    cos = (fp32 * int8).sum(1) / (np.linalg.norm(fp32, axis=1) * np.linalg.norm(int8, axis=1))
    assert cos.min() > 0.99, cos


def _scifact_sample(beir_dir: Path, n_docs: int, n_queries: int) -> tuple[list[dict], list[str]]:
    """The first documents and queries of SciFact, as records and texts."""
    with open(beir_dir / "scifact" / "corpus.jsonl", encoding="utf-8") as f:
        docs = [json.loads(line) for _, line in zip(range(n_docs), f)]
    with open(beir_dir / "scifact" / "queries.jsonl", encoding="utf-8") as f:
        queries = [json.loads(line)["text"] for _, line in zip(range(n_queries), f)]
    return docs, queries


def _top10_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Mean share of each row's top-10 columns in ``a`` that are also in ``b``'s."""
    return float(np.mean([len(set(np.argsort(-x)[:10]) & set(np.argsort(-y)[:10])) / 10 for x, y in zip(a, b)]))


def _scores(encoder: SparseEncoder, docs: list[dict], queries: list[str]) -> np.ndarray:
    return (encoder.encode_queries(queries).to_scipy() @ encoder.encode_documents(docs).to_scipy().T).toarray()


def test_int8_keeps_rankings_on_a_real_model(beir_dir, tmp_path):
    """splade-tiny (a real SPLADE model) on SciFact text: int8 ONNX keeps the top-10 of fp32."""
    if not SPLADE.is_dir():
        pytest.fail(f"splade-tiny expected at {SPLADE}")
    docs, queries = _scifact_sample(beir_dir, 300, 30)
    fp32 = SparseEncoder.from_pretrained(SPLADE, backend="onnx")
    int8 = SparseEncoder.from_pretrained(SPLADE, backend="onnx", int8=True)
    overlap = _top10_overlap(_scores(fp32, docs, queries), _scores(int8, docs, queries))
    assert overlap >= 0.9, overlap


def test_block_int8_keeps_rankings_better_than_per_channel(beir_dir, tmp_path):
    """The default block-wise graph (MatMulNBits) against the per-channel dynamic one, both against the
    fp32 graph, on splade-tiny and SciFact text: blocks must keep at least as much of fp32's top-10."""
    import onnx
    from typer.testing import CliRunner

    from laconic.cli.main import app

    docs, queries = _scifact_sample(beir_dir, 300, 40)
    scores = {}
    for name, block in (("block", "32"), ("channel", "0")):
        out = tmp_path / name
        result = CliRunner().invoke(app, ["export", "--model", str(SPLADE), "--backend", "onnx", "--int8",
                                          "--int8-block", block, "--output", str(out)])
        assert result.exit_code == 0, result.output
        ops = {n.op_type for n in onnx.load(str(out / "onnx" / "model_qint8.onnx"), load_external_data=False).graph.node}
        assert ("MatMulNBits" in ops) == (name == "block") and ("MatMulInteger" in ops) == (name == "channel")
        scores[name] = _scores(SparseEncoder.from_pretrained(out, backend="onnx", int8=True), docs, queries)
    scores["fp32"] = _scores(SparseEncoder.from_pretrained(tmp_path / "block", backend="onnx"), docs, queries)
    block, channel = _top10_overlap(scores["fp32"], scores["block"]), _top10_overlap(scores["fp32"], scores["channel"])
    assert block >= channel and block >= 0.95, (block, channel)


def test_block_int8_leaves_the_process_logging_alone(tiny_llama_dir, tmp_path):
    """ONNX Runtime's MatMulNBits module calls logging.basicConfig(INFO) on import and logs every node;
    quantising must leave the root logger as it was and print no per-node lines (fresh process)."""
    import subprocess
    import sys

    script = (
        "import logging, sys; from pathlib import Path\n"
        "from laconic.encoder import SparseEncoder, backends\n"
        f"enc = SparseEncoder.from_pretrained({str(tiny_llama_dir)!r}, device='cpu')\n"
        f"out = Path({str(tmp_path)!r})\n"
        "backends.export(enc, out, 'onnx', int8=True)\n"
        "root = logging.getLogger()\n"
        "assert not root.handlers and root.level == logging.WARNING, (root.handlers, root.level)\n"
        "assert (out / 'onnx' / 'model_qint8.onnx').is_file()\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "skip to quantize" not in done.stderr and "[INFO]" not in done.stderr, done.stderr[-3000:]


@pytest.mark.parametrize("args, message", [
    (["--int8", "--int8-block", "24"], "power of two"),
    (["--int8", "--int8-block", "-1"], "power of two"),
    (["--int8-block", "64"], "--int8"),
])
def test_export_refuses_bad_int8_block(tiny_llama_dir, tmp_path, args, message):
    from typer.testing import CliRunner

    from laconic.cli.main import app

    out = tmp_path / "m"
    result = CliRunner().invoke(app, ["export", "--model", str(tiny_llama_dir), "--backend", "onnx", "--output", str(out),
                                      *args])
    assert result.exit_code != 0 and message in str(result.exception), result.output
    assert not out.exists()  # refused before anything was written


def test_graph_backends_encode_only(exported):
    enc = SparseEncoder.from_pretrained(exported, backend="onnx")
    batch = enc.tokenize(["x"], "query")
    with pytest.raises(ConfigError, match="backend='torch'"):
        enc(batch["input_ids"], batch["attention_mask"])
    with pytest.raises(ConfigError, match="no torch weights"):
        enc.save_pretrained(exported.parent / "copy")
    with pytest.raises(ConfigError, match="unknown backend"):
        SparseEncoder.from_pretrained(exported, backend="tensorrt")


def test_cli_encode_with_backend(exported, tmp_path):
    from typer.testing import CliRunner

    from laconic.cli.main import app
    from laconic.sparse import SparseVectors

    queries = tmp_path / "q.jsonl"
    queries.write_text("".join(json.dumps({"_id": str(i), "text": t}) + "\n" for i, t in enumerate(TEXTS)))
    outs = {}
    for backend in ("torch", "onnx"):
        out = tmp_path / f"{backend}.npz"
        result = CliRunner().invoke(app, ["encode", "--model", str(exported), "--input", str(queries), "--kind", "queries",
                                          "--output", str(out), "--backend", backend, "--max-terms", "0"])
        assert result.exit_code == 0, result.output
        outs[backend] = SparseVectors.load(out).to_dense()
    assert np.abs(outs["torch"] - outs["onnx"]).max() <= 1e-3


def test_smoothing_leaves_fp32_vectors_unchanged(tiny_llama_dir):
    """SmoothQuant only moves scale between activations and weights: the float model is the same."""
    from laconic.encoder.smoothing import SmoothedLinear, smooth_for_int8

    plain = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", max_terms=0)
    smoothed = smooth_for_int8(plain, TEXTS, alpha=0.75)
    wrapped = [m for m in smoothed.model.modules() if isinstance(m, SmoothedLinear)]
    assert len(wrapped) == 2 * 7  # q, k, v, o, gate, up, down in both layers
    assert any(not np.allclose(m.inverse.numpy(), 1.0) for m in wrapped)  # real scales, not identity
    np.testing.assert_allclose(smoothed.encode_documents(TEXTS).to_dense(), plain.encode_documents(TEXTS).to_dense(),
                               rtol=1e-4, atol=1e-5)
    assert not any(isinstance(m, SmoothedLinear) for m in plain.model.modules())  # the original is untouched
    with pytest.raises(ValueError, match="alpha"):
        smooth_for_int8(plain, TEXTS, alpha=1.5)


def test_export_int8_with_calibration(tiny_llama_dir, tmp_path):
    from typer.testing import CliRunner

    from laconic.cli.main import app

    texts = tmp_path / "calib.txt"
    texts.write_text("\n".join(TEXTS * 4) + "\n")
    out = tmp_path / "m"
    runner = CliRunner()
    result = runner.invoke(app, ["export", "--model", str(tiny_llama_dir), "--backend", "onnx", "--int8",
                                 "--calibration", str(texts), "--output", str(out)])
    assert result.exit_code == 0, result.output
    fp32 = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", max_terms=0).encode_documents(TEXTS).to_dense()
    graph32 = SparseEncoder.from_pretrained(out, backend="onnx", max_terms=0).encode_documents(TEXTS).to_dense()
    int8 = SparseEncoder.from_pretrained(out, backend="onnx", int8=True, max_terms=0).encode_documents(TEXTS).to_dense()
    np.testing.assert_allclose(graph32, fp32, atol=1e-4)  # the fp32 graph is the unsmoothed model
    cos = (fp32 * int8).sum(1) / (np.linalg.norm(fp32, axis=1) * np.linalg.norm(int8, axis=1))
    assert cos.min() > 0.99 and not np.array_equal(int8, fp32), cos
    result = runner.invoke(app, ["export", "--model", str(tiny_llama_dir), "--backend", "onnx",
                                 "--calibration", str(texts), "--output", str(tmp_path / "n")])
    assert result.exit_code != 0 and "--int8" in str(result.exception)
