"""Released LACONIC checkpoints, loaded by Hub id from an offline cache laid out as the Hub fills it.

The cache holds ``utahnlp/laconic-1b`` as released (config + safetensors, no
tokenizer, no laconic config) and the base tokenizer under
``meta-llama/Llama-3.2-1B``. The tiny random Llama stands in for the weights and a
Llama-3-style tokenizer (its post-processor prepends ``<|begin_of_text|>``) for
the base's. Every vector is compared with ``encoder_reference``, written from
SPEC's conventions with plain transformers and explicit strings.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from encoder_reference import reference_input_ids, reference_vectors
from hub_cache import TOKENIZER_FILES, add_repo, encode_offline, folder_files, weights_only

from laconic.encoder import SparseEncoder

QUERIES = ["what causes scurvy?", "statins reduce cholesterol", "a query"]
DOCS = [
    {"title": "Vitamin C", "text": "scurvy is caused by a lack of vitamin c in the diet"},
    {"title": "", "text": "the quick brown fox jumps over the lazy dog"},
    "sparse retrieval with large language models uses an inverted index",
]
# SPEC's conventions, spelled out by hand: prefixes, the title join (an empty title keeps the space).
QUERY_STRINGS = ["query: " + q for q in QUERIES]
DOC_STRINGS = [
    "passage: Vitamin C scurvy is caused by a lack of vitamin c in the diet",
    "passage:  the quick brown fox jumps over the lazy dog",
    "passage: sparse retrieval with large language models uses an inverted index",
]


@pytest.fixture(scope="module")
def hub(tiny_llama_dir, tmp_path_factory):
    """An HF_HOME with the released layout and a few variants around it."""
    home = tmp_path_factory.mktemp("hf_home")
    tokenizer = folder_files(tiny_llama_dir, only=TOKENIZER_FILES)
    add_repo(home, "utahnlp/laconic-1b", weights_only(tiny_llama_dir))
    add_repo(home, "meta-llama/Llama-3.2-1B", tokenizer)
    # the 3B id with only the ungated mirror of its base in the cache
    add_repo(home, "utahnlp/laconic-3b", weights_only(tiny_llama_dir))
    add_repo(home, "unsloth/Llama-3.2-3B", tokenizer)
    # a fine-tune whose config.json names its base
    config = json.loads((tiny_llama_dir / "config.json").read_text())
    named = dict(weights_only(tiny_llama_dir), **{"config.json": json.dumps({**config, "_name_or_path": "meta-llama/Llama-3.2-1B"})})
    add_repo(home, "someone/llama-finetune", named)
    # weights with no way to find a tokenizer
    add_repo(home, "someone/orphan", weights_only(tiny_llama_dir))
    return home


@pytest.fixture(scope="module")
def reference(tiny_llama_dir):
    return {
        "q": reference_vectors(tiny_llama_dir, QUERY_STRINGS, top_k=512),
        "d": reference_vectors(tiny_llama_dir, DOC_STRINGS, top_k=512),
        "q_ids": reference_input_ids(tiny_llama_dir, QUERY_STRINGS),
        "d_ids": reference_input_ids(tiny_llama_dir, DOC_STRINGS),
    }


def _unpad(rows, like):
    return [row[: len(ref)] for row, ref in zip(rows, like)]


def test_released_checkpoint_by_hub_id_matches_reference(hub, reference, tmp_path):
    jobs = {
        "released": {"source": "utahnlp/laconic-1b"},
        "mirror": {"source": "utahnlp/laconic-3b"},
        "named_base": {"source": "someone/llama-finetune"},
        "override": {"source": "someone/orphan", "kwargs": {"tokenizer": "meta-llama/Llama-3.2-1B"}},
    }
    arrays, meta = encode_offline(hub, jobs, QUERIES, DOCS, tmp_path / "out.npz")
    for name in jobs:
        assert "error" not in meta[name], (name, meta[name])
        np.testing.assert_allclose(arrays[f"{name}/q"], reference["q"], atol=1e-4, err_msg=name)
        np.testing.assert_allclose(arrays[f"{name}/d"], reference["d"], atol=1e-4, err_msg=name)
        assert _unpad(meta[name]["q_ids"], reference["q_ids"]) == reference["q_ids"]
        assert _unpad(meta[name]["d_ids"], reference["d_ids"]) == reference["d_ids"]
        bos = meta[name]["bos"]
        assert bos is not None and all(bos not in row for row in meta[name]["q_ids"] + meta[name]["d_ids"])
        profile = meta[name]["profile"]
        assert profile["name"] == "laconic" and profile["query_prefix"] == "query: "
        assert profile["passage_prefix"] == "passage: " and profile["add_special_tokens"] is False
        assert profile["max_terms"] == 512 and profile["query_max_length"] == 256


def test_checkpoint_without_tokenizer_names_the_override(hub, tmp_path):
    _, meta = encode_offline(hub, {"orphan": {"source": "someone/orphan"}}, QUERIES, DOCS, tmp_path / "o.npz")
    error = meta["orphan"]["error"]
    assert error.startswith("InputError") and "tokenizer=" in error and "--tokenizer" in error


def test_missing_hub_id_is_a_clear_error(hub, tmp_path):
    _, meta = encode_offline(hub, {"absent": {"source": "utahnlp/laconic-9b"}}, QUERIES, DOCS, tmp_path / "a.npz")
    error = meta["absent"]["error"]
    assert error.startswith("InputError") and "utahnlp/laconic-9b" in error and "cache" in error


def test_long_text_keeps_255_tokens(hub, reference, tiny_llama_dir, tmp_path):
    long_doc = "vitamin d deficiency is associated with bone loss " * 80
    _, meta = encode_offline(hub, {"r": {"source": "utahnlp/laconic-1b"}}, ["x"], [long_doc], tmp_path / "l.npz")
    (ids,) = meta["r"]["d_ids"]
    assert len(ids) == 255
    assert ids == reference_input_ids(tiny_llama_dir, ["passage: " + long_doc], max_length=255)[0]


def test_own_models_and_lora_adapters_by_hub_id(hub, tiny_llama_dir, tmp_path):
    from peft import LoraConfig, get_peft_model

    # our own saved model, with a profile that differs from the default in three fields
    ours = SparseEncoder.from_pretrained(
        tiny_llama_dir, device="cpu", profile={"max_terms": 9, "query_prefix": "Q: ", "passage_prefix": "D: "}
    )
    ours.save_pretrained(tmp_path / "ours")
    add_repo(hub, "someone/laconic-ours", folder_files(tmp_path / "ours"))
    expected_ours = (ours.encode_queries(QUERIES).to_dense(), ours.encode_documents(DOCS).to_dense())
    # a LoRA adapter repository whose base is the released checkpoint, by Hub id
    base = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    torch.manual_seed(3)
    targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
    base.model = get_peft_model(base.model, LoraConfig(r=4, lora_alpha=8, target_modules=targets, init_lora_weights=False))
    expected_lora = (base.encode_queries(QUERIES).to_dense(), base.encode_documents(DOCS).to_dense())
    base.model.save_pretrained(tmp_path / "adapter")  # the adapter alone, as PEFT repositories ship
    cfg_path = tmp_path / "adapter" / "adapter_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["base_model_name_or_path"] = "utahnlp/laconic-1b"
    cfg_path.write_text(json.dumps(cfg))
    add_repo(hub, "someone/laconic-lora", folder_files(tmp_path / "adapter"))

    jobs = {"ours": {"source": "someone/laconic-ours"}, "lora": {"source": "someone/laconic-lora"}}
    arrays, meta = encode_offline(hub, jobs, QUERIES, DOCS, tmp_path / "own.npz")
    assert "error" not in meta["ours"] and "error" not in meta["lora"], meta
    assert meta["ours"]["profile"]["query_prefix"] == "Q: " and meta["ours"]["profile"]["max_terms"] == 9
    np.testing.assert_allclose(arrays["ours/q"], expected_ours[0], atol=1e-5)
    np.testing.assert_allclose(arrays["ours/d"], expected_ours[1], atol=1e-5)
    assert (arrays["ours/q"] > 0).sum(axis=1).max() == 9
    np.testing.assert_allclose(arrays["lora/q"], expected_lora[0], atol=1e-5)
    np.testing.assert_allclose(arrays["lora/d"], expected_lora[1], atol=1e-5)
    assert meta["lora"]["profile"]["name"] == "laconic"


def test_cli_encodes_by_hub_id_and_prints_profile(hub, reference, tmp_path):
    from hub_cache import run_offline

    queries = tmp_path / "queries.jsonl"
    queries.write_text("".join(json.dumps({"_id": f"q{i}", "text": q}) + "\n" for i, q in enumerate(QUERIES)))
    out = tmp_path / "q.npz"
    cli = "from laconic.cli.main import main; import sys; sys.argv[0] = 'laconic'; main()"
    shown = run_offline(hub, cli, "encode", "--model", "utahnlp/laconic-1b", "--print-profile")
    assert shown.returncode == 0, shown.stderr[-3000:]
    profile = json.loads(shown.stdout)
    assert profile["query_prefix"] == "query: " and profile["add_special_tokens"] is False
    proc = run_offline(hub, cli, "encode", "--model", "utahnlp/laconic-1b", "--input", str(queries),
                       "--kind", "queries", "--output", str(out))
    assert proc.returncode == 0, proc.stderr[-3000:]
    from laconic.sparse import SparseVectors

    np.testing.assert_allclose(SparseVectors.load(out).to_dense(), reference["q"], atol=1e-4)
    # --tokenizer overrides; without it the orphan fails with a message naming the flag
    bad = run_offline(hub, cli, "encode", "--model", "someone/orphan", "--input", str(queries),
                      "--kind", "queries", "--output", str(tmp_path / "x.npz"))
    assert bad.returncode == 2 and "--tokenizer" in bad.stderr and not (tmp_path / "x.npz").exists()
    good = run_offline(hub, cli, "encode", "--model", "someone/orphan", "--tokenizer", "meta-llama/Llama-3.2-1B",
                       "--input", str(queries), "--kind", "queries", "--output", str(tmp_path / "y.npz"))
    assert good.returncode == 0, good.stderr[-3000:]
    np.testing.assert_allclose(SparseVectors.load(tmp_path / "y.npz").to_dense(), reference["q"], atol=1e-4)
