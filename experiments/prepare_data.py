"""Build the training data of the two-phase curriculum from local BEIR files only.

Why this exists: LACONIC's released recipe trains phase 1 on weakly supervised
pairs (nomic-embed-pretrain-lite) and phase 2 on curated hard negatives
(rlhn-680K). Neither is available offline, so we build small local stand-ins:

* phase 1 (weak pairs, no labels): for every document of the SciFact and NFCorpus
  corpora, (title -> abstract) and (first sentence -> rest of the abstract).
  Only corpus text is used; no query and no qrels of any split.
* ``phase1-sentences.jsonl``: one (inner sentence -> the document without it) pair per
  document with at least three sentences. A title or a first sentence announces the topic;
  an inner sentence states one finding, as a SciFact claim does, and the rest of the
  abstract must be found from it without the words it took away. Harder than the pairs
  above (whose in-batch loss is ~0.01 after 600 steps), so a further phase-1 stage learns from it.
* phase 2 (supervised) is not built here: ``laconic mine`` reads the SciFact and
  NFCorpus *train* qrels straight from the BEIR folders and writes Tevatron JSONL
  with hard negatives (see experiments/run_all.sh). Test queries and test qrels
  are never read by any training step.

Also written: ``corpus.jsonl``, the union of both corpora (ids prefixed by the
dataset name), which the tokenizer of the from-scratch Llama is trained on.

Output is Tevatron-format JSONL (``query_id``, ``query``, ``positive_passages``,
``negative_passages``; passages are ``{"docid", "title", "text"}``).

Example:
    python experiments/prepare_data.py --beir ../shared/data/beir --out runs/data
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
from pathlib import Path

DATASETS = ("scifact", "nfcorpus")
# A sentence ends at . ! ? followed by a space and an upper-case letter or digit.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")
_MIN_SPAN_CHARS = 30  # shorter "first sentences" are headings ("BACKGROUND:"), not queries
_MAX_SENTENCE_CHARS = 300  # longer "sentences" are unsplit runs (lists, missing spaces), not claims


def read_jsonl(path: Path) -> list[dict]:
    """Read a JSONL file, naming the line of any parse error."""
    rows = []
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if line.strip():
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError as exc:
                    raise SystemExit(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
    return rows


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    """BEIR qrels TSV (header, CRLF) -> {query_id: {doc_id: grade}} for grade > 0."""
    qrels: dict[str, dict[str, int]] = {}
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter="\t")
        next(reader)  # header
        for row in reader:
            if len(row) >= 3 and int(row[2].strip()) > 0:
                qrels.setdefault(row[0].strip(), {})[row[1].strip()] = int(row[2].strip())
    return qrels


def weak_pairs(corpus: list[dict], prefix: str) -> list[dict]:
    """(title -> abstract) and (first sentence -> rest) pairs from corpus text only."""
    out = []
    for doc in corpus:
        title, text = doc.get("title", "").strip(), doc.get("text", "").strip()
        if title and text:
            out.append(
                {
                    "query_id": f"{prefix}:title:{doc['_id']}",
                    "query": title,
                    "positive_passages": [{"docid": f"{prefix}:{doc['_id']}", "title": "", "text": text}],
                    "negative_passages": [],
                }
            )
        parts = _SENTENCE_END.split(text, maxsplit=1)
        if len(parts) == 2 and len(parts[0]) >= _MIN_SPAN_CHARS and len(parts[1]) >= _MIN_SPAN_CHARS:
            out.append(
                {
                    "query_id": f"{prefix}:span:{doc['_id']}",
                    "query": parts[0],
                    "positive_passages": [{"docid": f"{prefix}:{doc['_id']}", "title": title, "text": parts[1]}],
                    "negative_passages": [],
                }
            )
    return out


def sentence_pairs(corpus: list[dict], prefix: str, rng: random.Random) -> list[dict]:
    """(one inner sentence -> title + the other sentences) per document, the sentence drawn by ``rng``."""
    out = []
    for doc in corpus:
        title, text = doc.get("title", "").strip(), doc.get("text", "").strip()
        sentences = _SENTENCE_END.split(text)
        inner = [i for i in range(1, len(sentences) - 1) if _MIN_SPAN_CHARS <= len(sentences[i]) <= _MAX_SENTENCE_CHARS]
        if not inner:  # also when there are fewer than three sentences
            continue
        i = rng.choice(inner)
        rest = " ".join(sentences[:i] + sentences[i + 1:])
        out.append(
            {
                "query_id": f"{prefix}:sentence:{doc['_id']}",
                "query": sentences[i],
                "positive_passages": [{"docid": f"{prefix}:{doc['_id']}", "title": title, "text": rest}],
                "negative_passages": [],
            }
        )
    return out


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)
    print(f"wrote {len(rows):>6} examples -> {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--beir", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/beir")
    ap.add_argument("--out", type=Path, default=Path("runs/data"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    sentence_rng = random.Random(args.seed + 1)  # its own stream: phase1.jsonl stays what it was before this file existed

    phase1, sentences, corpus_all = [], [], []
    for name in DATASETS:
        root = args.beir / name
        corpus = read_jsonl(root / "corpus.jsonl")
        phase1 += weak_pairs(corpus, name)
        sentences += sentence_pairs(corpus, name, sentence_rng)
        corpus_all += [{**d, "_id": f"{name}:{d['_id']}"} for d in corpus]

    rng.shuffle(phase1)
    write_jsonl(args.out / "phase1.jsonl", phase1)
    sentence_rng.shuffle(sentences)
    write_jsonl(args.out / "phase1-sentences.jsonl", sentences)
    # The union of both corpora (ids prefixed by dataset) is the pool `laconic mine` draws negatives from.
    write_jsonl(args.out / "corpus.jsonl", corpus_all)


if __name__ == "__main__":
    main()
