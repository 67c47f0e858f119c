"""Inference backends for the encoder: PyTorch, ONNX Runtime, OpenVINO, each optionally int8.

``SparseEncoder.from_pretrained(path, backend="onnx", int8=True)`` runs the same
encoding (profile, tokenizer, top-k) through another runtime. The exported graph is
ours, not an Optimum export: Optimum's decoder exports are causal language models
that return B x L x V logits (for Llama-3, 131 MB per 256-token text in float32)
and know nothing of bidirectional attention. Ours is ``SparseEncoder.forward``
itself, traced: the backbone with ``config.is_causal = False`` (the bidirectional
mask is part of the graph), and the chunked max pooling, so the graph's output is
the (B, V) term weights and B x L x V never exists. Top-k stays outside, in torch,
so every backend shares it.

int8, per backend, with the runtimes' own tools:

- ``torch``: ``torch.ao.quantization.quantize_dynamic`` on the backbone's
  ``nn.Linear`` layers (the vocabulary projection is a raw matmul in pooling and
  stays float32);
- ``onnx``: every weight MatMul, the vocabulary projection included, becomes ONNX
  Runtime's ``MatMulNBits`` with 8-bit weights in blocks of ``INT8_BLOCK`` input channels
  and int8 activations quantised per row and block at run time (``accuracy_level=4``);
  ``block_size=0`` gives the older per-channel ``quantize_dynamic`` graph instead (see
  :func:`quantize_onnx` for why blocks are the default);
- ``openvino``: the ONNX int8 graph converted by OpenVINO (its ONNX frontend reads
  ``MatMulNBits`` and ``DynamicQuantizeLinear`` / ``MatMulInteger``), so no NNCF is needed.

Files, inside a model folder (``laconic export`` writes them next to the torch
weights, as Sentence Transformers lays out its ``onnx/`` and ``openvino/``):
``onnx/model.onnx``, ``onnx/model_qint8.onnx``, ``openvino/model.xml`` (+ ``.bin``),
``openvino/model_qint8.xml``.
"""

from __future__ import annotations

import atexit
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from laconic.errors import ConfigError

BACKENDS = ("torch", "onnx", "openvino")
ONNX_OPSET = 17
INT8_BLOCK = 32  # input channels per weight scale and per activation scale (docs/BENCHMARKS.md)
log = logging.getLogger(__name__)


def graph_file(backend: str, int8: bool) -> str:
    """The file of ``backend``'s graph inside a model folder."""
    if backend == "onnx":
        return "onnx/model_qint8.onnx" if int8 else "onnx/model.onnx"
    if backend == "openvino":
        return "openvino/model_qint8.xml" if int8 else "openvino/model.xml"
    raise ConfigError(f"backend {backend!r} has no graph file; backends: {BACKENDS}")


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise ConfigError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


# ------------------------------------------------------------------- torch int8
def quantize_torch(model: nn.Module) -> nn.Module:
    """int8 dynamic quantisation of the backbone's ``nn.Linear`` layers, in place (the head is
    read as a raw weight matrix by pooling, so it stays float32)."""
    from torch.ao.quantization import quantize_dynamic

    from laconic.encoder import backbone as bb

    quantize_dynamic(bb.body(model), {nn.Linear}, dtype=torch.qint8, inplace=True)
    return model


# ------------------------------------------------------------------------ export
class _TermWeightGraph(nn.Module):
    """What is traced: ``(input_ids, attention_mask) -> (B, V)`` weights, no top-k."""

    def __init__(self, encoder: Any) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.encoder(input_ids, attention_mask, top_k=None)


def export_onnx(encoder: Any, directory: str | Path, *, int8: bool = False, calibration: Any = None,
                alpha: float = 0.75, int8_block: int = INT8_BLOCK) -> Path:
    """Write ``onnx/model.onnx`` (and ``onnx/model_qint8.onnx`` with ``int8``) into ``directory``.

    The trace runs in float32 on the CPU with dynamic batch and length axes. With
    ``calibration`` texts the int8 graph is quantised from a SmoothQuant-ed copy
    (:mod:`laconic.encoder.smoothing`, strength ``alpha``); the fp32 graph is the model as it is.
    """
    directory = Path(directory)
    target = directory / graph_file("onnx", False)
    _trace(encoder, target)
    if int8 and calibration:
        from laconic.encoder.smoothing import smooth_for_int8

        with tempfile.TemporaryDirectory(prefix="laconic-smooth-") as tmp:
            smoothed = Path(tmp) / "model.onnx"
            _trace(smooth_for_int8(encoder, calibration, alpha), smoothed)
            quantize_onnx(smoothed, directory / graph_file("onnx", True), int8_block)
    elif int8:
        quantize_onnx(target, directory / graph_file("onnx", True), int8_block)
    return target


def _trace(encoder: Any, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    graph = _TermWeightGraph(encoder).eval()
    example = encoder.tokenize(["a short example query", "laconic"], "query")  # 2 x L, padded
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}, "weights": {0: "batch"}}
    with torch.no_grad():
        # The TorchScript exporter: it keeps the bidirectional mask and the unrolled pooling chunks
        # as ordinary ops, with dynamic axes (checked against torch by tests/encoder/test_backends.py).
        torch.onnx.export(
            graph, (example["input_ids"].cpu(), example["attention_mask"].cpu()), str(target),
            input_names=["input_ids", "attention_mask"], output_names=["weights"], dynamic_axes=axes,
            opset_version=ONNX_OPSET, dynamo=False,
        )


def check_int8_block(block_size: int) -> None:
    """``MatMulNBits`` takes blocks of a power of two >= 16 input channels; 0 is the per-channel graph."""
    if block_size < 0 or (block_size and (block_size < 16 or block_size & (block_size - 1))):
        raise ConfigError(f"int8 block size must be 0 (per channel) or a power of two >= 16, not {block_size}")


def _over_protobuf_limit(graph: Path) -> bool:
    """Whether ``graph``'s folder holds more than 2 GB (weights past protobuf's limit go beside the
    graph as external data; billion-parameter Llamas get there even in int8)."""
    return sum(f.stat().st_size for f in graph.parent.iterdir() if f.is_file()) > 2_000_000_000


def quantize_onnx(source: Path, target: Path, block_size: int = INT8_BLOCK) -> Path:
    """int8 every weight MatMul of ``source`` into ``target``.

    Default (``block_size`` > 0): ONNX Runtime's ``MatMulNBits`` (8-bit symmetric weights, one
    scale per ``block_size`` input channels of each output channel; ``accuracy_level=4``:
    activations quantised to int8 per row and per block when the call runs). Why: dynamic int8
    with one activation scale per tensor let the few outlier channels of BERT-style hidden states
    cost every other channel its resolution, and neither choosing MatMuls nor SmoothQuant brought
    the shipped MiniLM's top-10 overlap with fp32 above 0.93. With scales per 32 channels it
    is 0.976 on the full SciFact and NFCorpus test sets, and splade-tiny's 0.98-0.99
    (docs/BENCHMARKS.md, "Block-wise int8"). The kernel is ONNX Runtime's, not ours.

    ``block_size=0``: the older per-channel ``quantize_dynamic`` graph: faster in ONNX Runtime
    (shipped MiniLM query 6.4 against 10.9 ms), less exact (overlap 0.89). It uses
    ``reduce_range`` (7-bit weights): on x86 CPUs without VNNI ONNX Runtime's u8 x s8 kernel
    (VPMADDUBSW) saturates its 16-bit pair sums, and splade-tiny's overlap fell to 0.88 there.
    """
    check_int8_block(block_size)
    if block_size == 0:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantize_dynamic(str(source), str(target), weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul", "Gemm"],
                         per_channel=True, reduce_range=True, use_external_data_format=_over_protobuf_limit(source))
        return target
    import onnx

    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

    # That module calls logging.basicConfig(level=INFO) when imported, which would turn on INFO
    # logging for the whole process, and logs a line per graph node; undo the one, quiet the other.
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger(MatMulNBitsQuantizer.__module__).setLevel(logging.WARNING)
    quantizer = MatMulNBitsQuantizer(onnx.load(str(source)), bits=8, block_size=block_size, is_symmetric=True,
                                     accuracy_level=4)
    quantizer.process()
    quantizer.model.save_model_to_file(str(target), use_external_data_format=_over_protobuf_limit(source))
    return target


def export_openvino(encoder: Any, directory: str | Path, *, int8: bool = False, calibration: Any = None,
                    alpha: float = 0.75, int8_block: int = INT8_BLOCK) -> Path:
    """Write ``openvino/model.xml`` (and ``model_qint8.xml`` with ``int8``), converted from our ONNX graph."""
    import openvino as ov

    directory = Path(directory)
    target = directory / graph_file("openvino", False)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        onnx_path = export_onnx(encoder, tmp, int8=int8, calibration=calibration, alpha=alpha,
                                int8_block=int8_block)
        ov.save_model(ov.convert_model(str(onnx_path)), str(target), compress_to_fp16=False)
        if int8:
            int8_graph = ov.convert_model(str(Path(tmp) / graph_file("onnx", True)))
            ov.save_model(int8_graph, str(directory / graph_file("openvino", True)), compress_to_fp16=False)
    return target


def export(encoder: Any, directory: str | Path, backend: str, *, int8: bool = False, calibration: Any = None,
           alpha: float = 0.75, int8_block: int = INT8_BLOCK) -> Path:
    """Export ``encoder`` (torch) for ``backend`` into a model folder; returns the graph's path.

    ``calibration``: texts for SmoothQuant before int8 (see :func:`export_onnx`).
    """
    check_backend(backend)
    if backend == "onnx":
        return export_onnx(encoder, directory, int8=int8, calibration=calibration, alpha=alpha, int8_block=int8_block)
    if backend == "openvino":
        return export_openvino(encoder, directory, int8=int8, calibration=calibration, alpha=alpha,
                               int8_block=int8_block)
    raise ConfigError("the torch backend needs no export: save_pretrained writes its weights")


# ----------------------------------------------------------------------- runners
class OnnxRunner:
    """An ONNX Runtime session per thread count; ``runner(ids, mask, threads)`` -> (B, V) float32."""

    def __init__(self, path: str | Path) -> None:
        import onnxruntime  # noqa: F401  (fail here, clearly, when it is missing)

        self.path = str(path)
        self._sessions: dict[int | None, Any] = {}
        self.vocab_size = int(self._session(None).get_outputs()[0].shape[1])

    def _session(self, threads: int | None) -> Any:
        if threads not in self._sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = int(threads or torch.get_num_threads())
            options.inter_op_num_threads = 1
            self._sessions[threads] = ort.InferenceSession(self.path, options, providers=["CPUExecutionProvider"])
        return self._sessions[threads]

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, threads: int | None = None) -> np.ndarray:
        feed = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
        return self._session(threads).run(["weights"], feed)[0]


class OpenVinoRunner:
    """A compiled OpenVINO model per thread count; same call as :class:`OnnxRunner`."""

    def __init__(self, path: str | Path) -> None:
        import openvino as ov

        self.core = ov.Core()
        self.model = self.core.read_model(str(path))
        self._compiled: dict[int | None, Any] = {}
        self.vocab_size = int(self.model.outputs[0].get_partial_shape()[1].get_length())
        self._compiled_model(None)  # compile now, while the graph's files surely exist

    def _compiled_model(self, threads: int | None) -> Any:
        if threads not in self._compiled:
            config = {"INFERENCE_NUM_THREADS": int(threads or torch.get_num_threads()), "INFERENCE_PRECISION_HINT": "f32"}
            self._compiled[threads] = self.core.compile_model(self.model, "CPU", config)
        return self._compiled[threads]

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray, threads: int | None = None) -> np.ndarray:
        request = self._compiled_model(threads)
        out = request({"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)})
        return np.asarray(next(iter(out.values())), dtype=np.float32)


def open_runner(folder: Path | None, backend: str, int8: bool, encoder_factory: Any) -> Any:
    """The runner of ``backend`` from ``folder``'s exported graph; exported on the fly (to a temporary
    folder, with a warning) when the folder has none, from ``encoder_factory()``'s torch encoder."""
    runner_type = OnnxRunner if backend == "onnx" else OpenVinoRunner
    path = None if folder is None else folder / graph_file(backend, int8)
    if path is not None and path.is_file():
        return runner_type(path)
    log.warning("%s has no %s; exporting it for this process (save it with: laconic export --backend %s%s)",
                folder, graph_file(backend, int8), backend, " --int8" if int8 else "")
    # Kept until the process exits: ONNX Runtime reads the file again for each new thread count.
    tmp = tempfile.mkdtemp(prefix=f"laconic-{backend}-")
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    export(encoder_factory(), tmp, backend, int8=int8)
    return runner_type(Path(tmp) / graph_file(backend, int8))
