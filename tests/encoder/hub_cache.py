"""Lay out an offline Hugging Face cache the way the Hub client fills it, and run code against it.

``HF_HOME/hub/models--{org}--{name}/`` holds ``blobs/<sha256>`` (file contents),
``snapshots/<commit>/<path>`` (symlinks into ``blobs``) and ``refs/main`` (the
commit). huggingface_hub reads its cache location when imported, so code that
must see this cache runs in a child process with ``HF_HOME`` and
``HF_HUB_OFFLINE=1`` set (:func:`run_offline`).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def add_repo(hf_home: Path, repo_id: str, files: dict[str, Path | bytes | str]) -> Path:
    """Put ``files`` (repo path -> source file or content) into the cache; return the snapshot folder."""
    repo_dir = hf_home / "hub" / ("models--" + repo_id.replace("/", "--"))
    commit = hashlib.sha1(repo_id.encode()).hexdigest()
    snapshot = repo_dir / "snapshots" / commit
    (repo_dir / "blobs").mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        data = source.read_bytes() if isinstance(source, Path) else (source.encode() if isinstance(source, str) else source)
        blob = repo_dir / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.symlink_to(os.path.relpath(blob, target.parent))
    (repo_dir / "refs").mkdir(exist_ok=True)
    (repo_dir / "refs" / "main").write_text(commit)
    return snapshot


def folder_files(folder: Path, *, exclude: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> dict[str, Path]:
    """Every file below ``folder`` as repo path -> file, filtered by name."""
    out = {}
    for f in sorted(folder.rglob("*")):
        rel = f.relative_to(folder).as_posix()
        if f.is_file() and rel not in exclude and (only is None or rel in only):
            out[rel] = f
    return out


def weights_only(model_dir: Path) -> dict[str, Path]:
    """A released-checkpoint layout: config and safetensors, no tokenizer, no laconic config."""
    return folder_files(model_dir, only=("config.json", "model.safetensors"))


def run_offline(hf_home: Path, code: str, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run ``python -c code args...`` with only this cache visible and the Hub unreachable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "HUGGINGFACE_"))}
    env.update(HF_HOME=str(hf_home), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    return subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True, timeout=timeout
    )


# Child-process program: load each job's encoder by Hub id, encode fixed texts, save dense vectors.
ENCODE_JOBS = r'''
import json, sys, numpy as np
from laconic.encoder import SparseEncoder
jobs, queries, docs, out = json.loads(sys.argv[1]), json.loads(sys.argv[2]), json.loads(sys.argv[3]), sys.argv[4]
arrays, meta = {}, {}
for name, job in jobs.items():
    try:
        enc = SparseEncoder.from_pretrained(job["source"], device="cpu", **job.get("kwargs", {}))
    except Exception as exc:
        meta[name] = {"error": f"{type(exc).__name__}: {exc}"}
        continue
    q = enc.encode_queries(queries)
    d = enc.encode_documents(docs)
    arrays[name + "/q"] = q.to_dense()
    arrays[name + "/d"] = d.to_dense()
    meta[name] = {
        "q_ids": enc.tokenize(queries, "query")["input_ids"].tolist(),
        "d_ids": enc.tokenize(docs, "document")["input_ids"].tolist(),
        "profile": enc.profile.to_dict(),
        "bos": enc.tokenizer.bos_token_id,
    }
np.savez(out, **arrays)
print(json.dumps(meta))
'''


def encode_offline(hf_home: Path, jobs: dict, queries: list[str], docs: list, out: Path):
    """Run :data:`ENCODE_JOBS`; returns (arrays, meta) or fails with the child's stderr."""
    import numpy as np

    proc = run_offline(hf_home, ENCODE_JOBS, json.dumps(jobs), json.dumps(queries), json.dumps(docs), str(out))
    assert proc.returncode == 0, proc.stderr[-4000:]
    meta = json.loads(proc.stdout.strip().splitlines()[-1])
    return dict(np.load(out)), meta
