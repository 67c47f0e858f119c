"""EncodingProfile values, config round trips (v1 files too), overrides and the transformers floor."""

from __future__ import annotations

import json

import pytest

from laconic.encoder import LACONIC, SPLADE, EncoderConfig, EncodingProfile, SparseEncoder
from laconic.encoder.backbone import check_transformers
from laconic.errors import ConfigError, InputError


def test_laconic_preset_is_the_spec():
    assert (LACONIC.add_special_tokens, LACONIC.query_prefix, LACONIC.passage_prefix) == (False, "query: ", "passage: ")
    assert (LACONIC.max_terms, LACONIC.query_max_length, LACONIC.document_max_length) == (512, 256, 256)
    assert LACONIC.truncation_length("document") == 255 and LACONIC.truncation_length("query", 64) == 63
    assert SPLADE.truncation_length("query") == 256 and SPLADE.add_special_tokens


@pytest.mark.parametrize("bad", [
    {"query_max_length": 0}, {"max_terms": -1}, {"reserved_tokens": 256}, {"cuda_dtype": "int8"},
    {"query_prefix": 3}, {"document_max_length": True},
])
def test_bad_profile_fields_are_refused(bad):
    with pytest.raises(ConfigError):
        LACONIC.replace(**bad)


def test_edited_profile_is_custom_and_round_trips(tmp_path):
    edited = LACONIC.replace(query_prefix="")
    assert edited.name == "custom" and LACONIC.replace(max_terms=512).name == "laconic"
    config = EncoderConfig(profile=edited).replace(max_terms=64)
    assert config.max_terms == 64 and config.profile.max_terms == 64 and config.profile.query_prefix == ""
    config.save(tmp_path)
    saved = json.loads((tmp_path / "laconic_config.json").read_text())
    assert saved["format"] == "laconic.encoder.v2" and saved["profile"]["max_terms"] == 64
    assert EncoderConfig.load(tmp_path) == config
    with pytest.raises(ConfigError):
        EncodingProfile.from_dict({"query_prefix": "q", "bos": True})


def test_v1_config_reads_as_the_convention_it_was_written_with(tmp_path):
    v1 = {"format": "laconic.encoder.v1", "max_terms": 48, "query_max_length": 128, "document_max_length": 200,
          "bidirectional": True, "head": "tied", "pooling_chunk_size": 8192, "backbone": "masked",
          "logit_bias": -2.5, "mask_special_tokens": None, "extra": {}}
    (tmp_path / "laconic_config.json").write_text(json.dumps(v1))
    config = EncoderConfig.load(tmp_path)
    assert config.profile.add_special_tokens and config.profile.query_prefix == "" and config.profile.name == "v1"
    assert (config.max_terms, config.query_max_length, config.document_max_length) == (48, 128, 200)
    assert config.logit_bias == -2.5
    (tmp_path / "laconic_config.json").write_text(json.dumps({**v1, "format": "laconic.encoder.v2", "profile": {"x": 1}}))
    with pytest.raises(InputError, match="laconic_config.json"):
        EncoderConfig.load(tmp_path)


def test_profile_override_changes_what_is_encoded(tiny_llama_dir, texts):
    default = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu")
    bare = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", profile={"query_prefix": ""})
    with_bos = SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", profile="splade")
    tok = default.tokenizer
    assert default.tokenize(["a query"], "query")["input_ids"][0].tolist() == tok("query: a query", add_special_tokens=False)["input_ids"]
    assert bare.tokenize(["a query"], "query")["input_ids"][0].tolist() == tok("a query", add_special_tokens=False)["input_ids"]
    assert with_bos.tokenize(["a query"], "query")["input_ids"][0, 0] == tok.bos_token_id
    assert (default.encode_queries(texts).to_dense() != bare.encode_queries(texts).to_dense()).any()
    with pytest.raises(ConfigError, match="unknown encoding profile"):
        SparseEncoder.from_pretrained(tiny_llama_dir, device="cpu", profile="colbert")


def test_transformers_floor():
    check_transformers("5.2.0")
    check_transformers("5.24.0.dev0")
    with pytest.raises(ConfigError, match=r"transformers >= 5\.2 \(found 4\.56\.1\)"):
        check_transformers("4.56.1")
    with pytest.raises(ConfigError):
        check_transformers("5.1.3")


def test_cli_profile_file_overrides_fields(tiny_llama_dir, tmp_path):
    from typer.testing import CliRunner

    from laconic.cli.main import app

    spec = tmp_path / "profile.json"
    spec.write_text(json.dumps({"query_prefix": "Q: ", "max_terms": 7}))
    result = CliRunner().invoke(app, ["encode", "--model", str(tiny_llama_dir), "--profile", str(spec), "--print-profile"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["query_prefix"] == "Q: " and shown["max_terms"] == 7 and shown["passage_prefix"] == "passage: "
    spec.write_text("[1, 2]")
    bad = CliRunner().invoke(app, ["encode", "--model", str(tiny_llama_dir), "--profile", str(spec), "--print-profile"])
    assert bad.exit_code != 0 and "profile.json" in str(bad.exception)
