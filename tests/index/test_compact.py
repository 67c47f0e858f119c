"""Compact segments (format version 4): entries coded as docs/index-format.md says, lossless, and safe to open."""

from __future__ import annotations

import json

import numpy as np
import pytest
from index_oracle import assert_matches_oracle, oracle, pair_pointers, put_array
from typer.testing import CliRunner

from laconic.cli.main import app
from laconic.errors import ConfigError, IndexCorruptError, IndexFormatError
from laconic.index import BuildConfig, SearchParams, SparseIndex
from laconic.sparse import SparseVectors

BLOCK_ARRAYS = ("term_ptr", "term_blocks", "term_max", "pair_off", "pair_base", "post_doc", "post_w", "doc_order",
                "levels", "units")


def _hand_index(bits: int) -> SparseIndex:
    """800 documents in blocks of 4, insertion order; the pairs below are what the test reasons about."""
    rows: list[dict[int, float]] = [{} for _ in range(800)]
    rows[0] = {0: 1.0, 1: 1.0}
    rows[1] = {1: 0.5}
    rows[401] = {0: 1.0}  # term 0: blocks 0 and 100, one posting each
    rows[600] = {1: 0.25}
    rows[602] = {1: 0.3}  # term 1: blocks 0 and 150, two postings each
    rows[603] = {2: 0.5}  # term 2: block 150 alone
    rows[5] = {3: 1e-5}  # term 3: block 1, a weight far below its bound level's neighbours
    docs = SparseVectors.from_dicts(rows, 4, ids=[f"d{i}" for i in range(800)])
    return SparseIndex.build(docs, config=BuildConfig(block_size=4, weight_bits=bits, reorder="none"))


def test_entries_follow_the_format_by_hand(tmp_path):
    index = _hand_index(8)
    index.save(tmp_path / "c", storage="compact")
    seg = tmp_path / "c" / "seg-0000"
    (blocks,) = index._snap.segments
    code = np.asarray(blocks.arrays["term_max"])  # bound codes, pair by pair (terms 0, 0, 1, 1, 2, 3)
    w = np.asarray(blocks.arrays["post_w"])  # codes of postings: t0 (2), t1 (4), t2 (1), t3 (1)
    assert np.array_equal(np.asarray(blocks.arrays["term_blocks"]), [0, 100, 0, 150, 150, 1])
    r0, r2 = 255 - int(w[0]), 255 - int(w[6])
    assert max(r0, 255 - int(w[1]), r2) <= 7 and int(w[7]) < 248  # one-posting codes: 248-255, but term 3's

    def single(gap, r, pos):
        return [0x80 | (r >> 2) << 6 | gap, (r & 3) << 6 | pos]

    expected = [  # (ent_gap, ent_code, ent_x)
        (single(1, r0, 0)[0], code[0], single(1, r0, 0)[1]),  # term 0, block 0, position 0
        (100, code[1], 0),  # term 0, block 100: a gap of 64-127 makes a one-posting pair an ordinary entry
        (1, code[2], 1),  # term 1, block 0, two postings
        (0, 149, 0),  # jump: 150 - 0 is too wide for 7 bits: adds 149, the entry adds 1
        (1, code[3], 1),  # term 1, block 150, two postings
        (0, 150, 0),  # term 2: from -1 to 150, too wide for any entry
        (single(1, r2, 3)[0], code[4], single(1, r2, 3)[1]),  # document 603: position 3
        (2, code[5], 0),  # term 3: block 1 from -1, an ordinary entry (its code is too low to inline)
    ]
    got = list(zip(*(np.load(seg / f"ent_{n}.npy").tolist() for n in ("gap", "code", "x"))))
    assert got == [tuple(int(v) for v in e) for e in expected]
    # ordinary entries' postings, in entry order: term 0's second, term 1's four, term 3's one
    assert np.load(seg / "post_doc.npy").tolist() == [1, 0, 1, 0, 2, 1]
    assert np.load(seg / "post_w.npy").tolist() == [int(w[i]) for i in (1, 2, 3, 4, 5, 7)]
    assert np.load(seg / "doc_order.npy").dtype == np.uint32


def test_wide_weights_keep_every_posting_in_the_stream(tmp_path):
    index = _hand_index(16)
    index.save(tmp_path / "c", storage="compact")
    seg = tmp_path / "c" / "seg-0000"
    gaps = np.load(seg / "ent_gap.npy").tolist()
    # 16-bit codes are never inlined, so every gap up to 127 fits its entry: only the gaps of 150 and 151 jump
    assert gaps == [1, 100, 1, 0, 1, 0, 1, 2]
    assert np.load(seg / "ent_x.npy").tolist() == [0, 0, 1, 0, 1, 0, 0, 0]
    assert np.load(seg / "post_doc.npy").size == 8


@pytest.mark.parametrize(("bits", "block_size", "reorder"), [(8, 64, "seeds"), (8, 8, "none"), (8, 128, "bp"),
                                                            (16, 32, "seeds"), (32, 64, "terms")])
def test_compact_index_decodes_to_the_same_arrays_and_results(tmp_path, realistic, bits, block_size, reorder):
    docs, queries = realistic
    built = SparseIndex.build(docs, config=BuildConfig(block_size=block_size, weight_bits=bits, reorder=reorder,
                                                       shards=2, storage="compact"))
    built.save(tmp_path / "c")
    header = json.loads((tmp_path / "c" / "header.json").read_text())
    assert header["version"] == 4 and {m["layout"] for m in header["segments"]} == {"compact"}
    opened = SparseIndex.open(tmp_path / "c", verify=True)
    assert all(seg.layout == "compact" for seg in opened._snap.segments)  # searched in place, not decoded
    for a, b in zip(built._snap.segments, opened._snap.segments):
        for name in BLOCK_ARRAYS:
            assert np.array_equal(np.asarray(a.arrays[name]), b.block_arrays()[name]), name
    # every search path over the entries gives the block layout's hits and bit-identical scores
    runs = [("exact", None, 2), ("exact", None, 1), ("approximate", SearchParams(alpha=0.8), 2),
            ("approximate", SearchParams(max_blocks=3), 1), ("approximate", SearchParams(query_cut=4), 2),
            ("exhaustive", None, 2)]
    for mode, params, threads in runs:
        x = built.search(queries, k=10, mode=mode, params=params, threads=threads)
        y = opened.search(queries, k=10, mode=mode, params=params, threads=threads)
        assert x.ids == y.ids and all(np.array_equal(p, q) for p, q in zip(x.scores, y.scores)), (mode, params)
        one_x, one_y = built.search(queries[:1], k=10, mode=mode, params=params), opened.search(
            queries[:1], k=10, mode=mode, params=params)
        assert one_x.ids == one_y.ids and np.array_equal(one_x.scores[0], one_y.scores[0])
    assert_matches_oracle(opened.search(queries, k=10), *oracle(opened, queries, 10))
    for i in range(0, len(queries), 7):
        hit = built.search(queries[i:i + 1], k=3).ids[0]
        assert hit and built.explain(queries[i:i + 1], hit) == opened.explain(queries[i:i + 1], hit)


def _dir_bytes(path, pattern="*.npy") -> int:
    return sum(f.stat().st_size for f in path.rglob(pattern))


def test_compact_segment_weighs_what_its_counts_say(tmp_path, realistic):
    """3 bytes per pair and per jump, 2 per posting not inside its entry: counted with numpy."""
    docs, _ = realistic
    index = SparseIndex.build(docs, config=BuildConfig(block_size=8))  # 375 blocks: gaps of every width
    index.save(tmp_path / "c", storage="compact")
    index.save(tmp_path / "b", storage="blocks")
    (seg,) = index._snap.segments
    a = {k: np.asarray(v) for k, v in seg.arrays.items()}
    ptr = pair_pointers(a["pair_off"], a["pair_base"])
    counts = np.diff(ptr)
    eligible = (counts == 1) & (a["post_w"][ptr[:-1].clip(max=a["post_w"].size - 1)] >= 248)
    first = np.zeros(a["term_blocks"].size, bool)
    first[a["term_ptr"][:-1][np.diff(a["term_ptr"]) > 0]] = True
    prev = np.r_[-1, a["term_blocks"][:-1].astype(np.int64)]
    gaps = a["term_blocks"].astype(np.int64) - np.where(first, -1, prev)
    middle = (gaps > 63) & (gaps <= 127)  # cheaper as an ordinary entry than as a jump and a one-posting one
    inline = eligible & ~middle
    jumps = int(np.sum(gaps > np.where(inline, 63, 127)))
    assert jumps and inline.sum() and (eligible & middle).sum()  # every case occurs
    entries = a["term_blocks"].size + jumps
    postings = int(counts.sum() - inline.sum())
    c = tmp_path / "c" / "seg-0000"
    assert np.load(c / "ent_gap.npy").size == entries and np.load(c / "post_doc.npy").size == postings
    assert _dir_bytes(tmp_path / "c") < _dir_bytes(tmp_path / "b")


def _replace(path, rel: str, arr: np.ndarray) -> None:
    """Write ``arr`` as ``rel`` and make the header agree (size, CRC): only the decoding checks remain."""
    header = json.loads((path / "header.json").read_text())
    put_array(path, header, rel, arr)
    (path / "header.json").write_text(json.dumps(header))


def _craft(path, rel: str, edit) -> None:
    """Apply ``edit`` to one array (in place, or returning a new one) and make the header agree."""
    arr = np.load(path / rel)
    out = edit(arr)
    _replace(path, rel, arr if out is None else out)


def _set(i, v):
    def edit(a):
        a[i] = v
    return edit


@pytest.mark.parametrize(
    ("bits", "rel", "edit", "message"),
    [
        (8, "ent_gap.npy", _set(4, 127), r"ent_gap.npy: entry 4 names a block outside"),
        (8, "ent_gap.npy", lambda a: a[:-1], r"ent_gap.npy, ent_code.npy and ent_x.npy differ"),
        (8, "ent_x.npy", _set(2, 200), r"post_doc.npy: entry 2 counts postings past the end"),
        # entry 2 (term 1, block 0) gives up a posting: term 1's next pair reads it, out of order
        (8, "ent_x.npy", _set(2, 0), r"post_doc.npy: positions of a \(term, block\) pair are not increasing"),
        (8, "ent_gap.npy", _set(3, 0x80), r"ent_gap.npy: entry 3 repeats its term's previous block"),
        (8, "ent_x.npy", _set(0, 7), r"ent_x.npy: entry 0 holds a position past its block's documents"),
        (32, "post_w.npy", _set(0, np.nan), r"post_w.npy: weight 0 is negative, infinite or NaN"),
        (8, "levels.npy", _set(3, np.inf), r"levels.npy: bound level is negative, infinite or NaN"),
        (8, "post_doc.npy", lambda a: a[:-1], r"post_w.npy: \d+ weights for"),
        (8, "term_ptr.npy", lambda a: a + 1, r"term_ptr.npy: does not run from 0"),
        (8, "doc_order.npy", _set(0, 1), r"doc_order.npy: global order used twice"),
        # 8- and 16-bit weights scale with their pair's bound code; float weights do not
        (32, "ent_code.npy", _set(2, 1), r"ent_code.npy: entry 2's block bound is below a stored weight"),
    ],
)
def test_crafted_compact_files_are_refused_by_name(tmp_path, bits, rel, edit, message):
    index = _hand_index(bits)
    index.save(tmp_path / "c", storage="compact")
    _craft(tmp_path / "c", f"seg-0000/{rel}", edit)
    with pytest.raises(IndexCorruptError, match=message):
        SparseIndex.open(tmp_path / "c")


def test_entries_cut_short_are_refused(tmp_path):
    index = _hand_index(8)
    index.save(tmp_path / "c", storage="compact")
    for name in ("ent_gap", "ent_code", "ent_x"):
        _craft(tmp_path / "c", f"seg-0000/{name}.npy", lambda a: a[:-2])
    with pytest.raises(IndexCorruptError, match=r"ent_gap.npy: entries end before term 2's pairs do"):
        SparseIndex.open(tmp_path / "c")


def test_postings_left_over_are_refused(tmp_path):
    _hand_index(8).save(tmp_path / "c", storage="compact")
    for name in ("post_doc", "post_w"):
        _craft(tmp_path / "c", f"seg-0000/{name}.npy", lambda a: np.r_[a, a[-1:]])
    with pytest.raises(IndexCorruptError, match=r"post_doc.npy: postings left over after the last entry"):
        SparseIndex.open(tmp_path / "c")


def test_a_posting_inside_an_entry_of_a_16_bit_segment_is_refused(tmp_path):
    _hand_index(16).save(tmp_path / "c", storage="compact")
    _craft(tmp_path / "c", "seg-0000/ent_gap.npy", _set(0, 0x81))
    with pytest.raises(IndexCorruptError, match="ent_gap.npy: entry 0 holds a posting"):
        SparseIndex.open(tmp_path / "c")


def _reference_accepts(seg, bits: int, block_size: int, n_docs: int) -> bool:
    """Whether a compact segment decodes (docs/index-format.md) to arrays that hold every block-segment invariant.

    Plain Python over the files, independent of the kernels: block ids increasing
    and in range, positions increasing and inside their block, float weights
    finite and >= 0, every weight within its pair's bound, every stream used up.
    """
    a = {n: np.load(seg / f"{n}.npy") for n in ("term_ptr", "ent_gap", "ent_code", "ent_x", "post_doc", "post_w",
                                                 "levels", "units")}
    term_ptr, gap, code, x = (a[n].astype(np.int64) for n in ("term_ptr", "ent_gap", "ent_code", "ent_x"))
    in_doc, in_w, levels, units = a["post_doc"].astype(np.int64), a["post_w"], a["levels"], a["units"]
    n, n_blocks = gap.size, -(-n_docs // block_size)
    last_fill = n_docs - (n_blocks - 1) * block_size
    if term_ptr[0] != 0 or not 0 <= term_ptr[-1] <= n or code.size != n or x.size != n or in_w.size != in_doc.size:
        return False
    e = z = 0
    for t in range(term_ptr.size - 1):
        if term_ptr[t + 1] < term_ptr[t]:
            return False
        prev = -1
        for _ in range(term_ptr[t + 1] - term_ptr[t]):
            while e < n and gap[e] == 0:
                prev += int(code[e]) | int(x[e]) << 8
                e += 1
            if e >= n:
                return False
            g, xe = int(gap[e]), int(x[e])
            if g & 0x80:
                if bits != 8 or block_size > 64:
                    return False
                new, docs, ws = prev + (g & 63), [xe & 63], [255 - ((((g >> 6) & 1) << 2) | (xe >> 6))]
            else:
                if z + xe + 1 > in_doc.size:
                    return False
                new, docs, ws = prev + g, in_doc[z:z + xe + 1].tolist(), in_w[z:z + xe + 1].astype(float).tolist()
                z += xe + 1
            if new <= prev or not 0 <= new < n_blocks:
                return False
            prev = new
            limit = last_fill if new == n_blocks - 1 else block_size
            if max(docs) >= limit or any(b <= a for a, b in zip(docs, docs[1:])):
                return False
            if bits == 32 and not all(np.isfinite(w) and w >= 0 for w in ws):
                return False
            if max(ws) * units[code[e]] > levels[code[e]] * (1.0 + 1e-6):
                return False
            e += 1
    return e == n and z == in_doc.size


def test_random_damage_is_refused_exactly_when_a_reference_decoder_refuses_it(tmp_path, small_random):
    """Flip bytes in each compact file's data (header CRCs recomputed): opening refuses exactly the files a plain
    Python decoder finds invalid, never crashes, and what opens searches."""
    docs, queries = small_random
    index = SparseIndex.build(docs, config=BuildConfig(block_size=8))
    rng = np.random.default_rng(7)
    refused = 0
    for trial in range(60):
        path = tmp_path / f"t{trial}"
        index.save(path, storage="compact")
        name = ["ent_gap", "ent_code", "ent_x", "post_doc", "post_w", "term_ptr"][trial % 6]
        arr = np.load(path / "seg-0000" / f"{name}.npy")
        raw = arr.view(np.uint8)
        for _ in range(1 + trial % 3):
            raw[rng.integers(raw.size)] ^= np.uint8(1 << int(rng.integers(8)))
        _replace(path, f"seg-0000/{name}.npy", arr)
        want = _reference_accepts(path / "seg-0000", 8, 8, len(docs))
        try:
            opened = SparseIndex.open(path)
        except IndexCorruptError:
            refused += 1
            assert not want, f"trial {trial}: refused a valid segment"
            continue
        assert want, f"trial {trial}: opened a segment the reference decoder refuses"
        results = opened.search(queries, k=5)
        assert len(results.ids) == len(queries)
    assert refused > 0


def test_saving_after_add_links_the_unchanged_compact_segment(tmp_path, realistic):
    docs, queries = realistic
    path = tmp_path / "c"
    SparseIndex.build(docs[:2000], config=BuildConfig(storage="compact")).save(path)
    before = {p.name: p.stat().st_ino for p in (path / "seg-0000").iterdir()}
    index = SparseIndex.open(path)
    index.add(docs[2000:])
    index.save(path)
    after = {p.name: p.stat().st_ino for p in (path / "seg-0000").iterdir()}
    assert after == before  # hard-linked, not rewritten
    header = json.loads((path / "header.json").read_text())
    assert [m["layout"] for m in header["segments"]] == ["compact", "compact"]
    again = SparseIndex.open(path)
    assert_matches_oracle(again.search(queries, k=10), *oracle(again, queries, 10))
    assert again.vectors().ids == docs.ids


def test_repack_to_compact_and_back_gives_the_same_files(tmp_path, realistic):
    docs, _ = realistic
    path = tmp_path / "idx"
    SparseIndex.build(docs, config=BuildConfig(shards=2)).save(path)
    runner = CliRunner()
    r = runner.invoke(app, ["index", "repack", str(path), "--storage", "compact", "--output", str(tmp_path / "c")])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["index", "info", str(tmp_path / "c")])
    assert r.exit_code == 0 and "compact storage" in r.output, r.output
    r = runner.invoke(app, ["index", "repack", str(tmp_path / "c"), "--storage", "blocks"])
    assert r.exit_code == 0, r.output
    for f in path.rglob("seg-*/*.npy"):
        assert f.read_bytes() == (tmp_path / "c" / f.relative_to(path)).read_bytes(), f
    r = runner.invoke(app, ["index", "repack", str(path), "--storage", "zip"])
    assert r.exit_code != 0 and "storage must be one of" in str(r.exception or r.output)


def test_streamed_build_writes_compact_segments(tmp_path, realistic):
    docs, queries = realistic
    for i, (lo, hi) in enumerate([(0, 1200), (1200, 3000)]):
        docs[lo:hi].save(tmp_path / f"docs-{i}.npz")
    files = sorted(tmp_path.glob("docs-*.npz"))
    config = BuildConfig(storage="compact", block_size=32)
    streamed = SparseIndex.build_from_files(files, tmp_path / "s", config=config)
    header = json.loads((tmp_path / "s" / "header.json").read_text())
    assert {m["layout"] for m in header["segments"]} == {"compact"}
    assert_matches_oracle(streamed.search(queries, k=10), *oracle(streamed, queries, 10))


def test_segment_with_orders_past_32_bits_is_stored_as_blocks(tmp_path, realistic, monkeypatch):
    from laconic.index import compact

    docs, queries = realistic
    monkeypatch.setattr(compact, "MAX_COMPACT_ORDER", 1500)  # stands in for 2^32 - 1
    index = SparseIndex.build(docs[:1000], config=BuildConfig(storage="compact"))
    index.add(docs[1000:])
    index.save(tmp_path / "c")
    header = json.loads((tmp_path / "c" / "header.json").read_text())
    assert [m["layout"] for m in header["segments"]] == ["compact", "blocks"]
    opened = SparseIndex.open(tmp_path / "c")
    assert_matches_oracle(opened.search(queries, k=10), *oracle(opened, queries, 10))


def test_unknown_layout_and_storage_are_refused(tmp_path, small_random):
    docs, _ = small_random
    SparseIndex.build(docs).save(tmp_path / "i")
    header = json.loads((tmp_path / "i" / "header.json").read_text())
    header["segments"][0]["layout"] = "zstd"
    (tmp_path / "i" / "header.json").write_text(json.dumps(header))
    with pytest.raises(IndexFormatError, match="unknown layout 'zstd'"):
        SparseIndex.open(tmp_path / "i")
    with pytest.raises(ConfigError, match="storage must be one of"):
        BuildConfig(storage="zstd")


def test_block_lookups_through_skip_anchors_match_the_block_layout(tmp_path, realistic):
    """``find_pair`` for every block id of long terms (several anchors each, jumps between them) against the
    block layout's pairs: found exactly where the term has a pair, with that pair's postings and codes."""
    from laconic.index.kernels.compact_search import SKIP, find_pair

    docs, _ = realistic
    SparseIndex.build(docs, config=BuildConfig(block_size=4, reorder="none")).save(tmp_path / "c", storage="compact")
    (seg,) = SparseIndex.open(tmp_path / "c")._snap.segments
    blocks = seg.block_arrays()
    ptr = pair_pointers(blocks["pair_off"], blocks["pair_base"])
    term_ptr, term_ent = blocks["term_ptr"], seg.arrays["term_ent"]
    long_terms = np.flatnonzero(np.diff(term_ent) > 3 * SKIP)[:12]
    assert long_terms.size >= 5 and np.any(seg.arrays["ent_gap"] == 0)
    stored_docs, stored_w = seg.arrays["post_doc"], seg.arrays["post_w"]
    for t in long_terms:
        have = dict(zip(blocks["term_blocks"][term_ptr[t]:term_ptr[t + 1]].tolist(), range(term_ptr[t], term_ptr[t + 1])))
        for b in range(seg.n_blocks):
            e, a, c = find_pair(seg.seg, term_ent[t], term_ent[t + 1], seg.arrays["term_post"][t], b)
            if b not in have:
                assert e == -1, (t, b)
                continue
            q = have[b]
            assert e >= 0 and seg.arrays["ent_code"][e] == blocks["term_max"][q]
            want = list(zip(blocks["post_doc"][ptr[q]:ptr[q + 1]].tolist(), blocks["post_w"][ptr[q]:ptr[q + 1]].tolist()))
            got = [(-1 - a, c)] if a < 0 else list(zip(stored_docs[a:c].tolist(), stored_w[a:c].tolist()))
            assert got == want, (t, b)


@pytest.mark.parametrize("every", [1, 3])
def test_filing_many_pairs_grows_its_buffers_and_matches_the_block_layout(tmp_path, realistic, every):
    """Every term as one query, every (or every third) block kept: tens of thousands of filed pairs, so the
    compact scan stops on full buffers and resumes many times. Each block's list must hold the block layout's
    pairs in the same order, with the same postings and the same query weight x unit."""
    from laconic.index.kernels import dispatch
    from laconic.index.segment import ARRAYS

    docs, _ = realistic
    SparseIndex.build(docs, config=BuildConfig(block_size=8, reorder="none")).save(tmp_path / "c", storage="compact")
    (seg,) = SparseIndex.open(tmp_path / "c")._snap.segments
    blocks = seg.block_arrays()
    block_tuple = tuple(blocks[name] for name in ARRAYS)  # a block segment's search tuple
    vocab = blocks["term_ptr"].size - 1
    q_t = np.arange(vocab, dtype=np.int32)
    q_w = np.random.default_rng(5).uniform(0.1, 2.0, vocab).astype(np.float32)
    keep = np.zeros(seg.n_blocks, np.bool_)
    keep[::every] = True
    lists = {}
    for name, tup in (("blocks", block_tuple), ("compact", seg.seg)):
        lo, hi, w, p0 = dispatch.query_terms(q_t, q_w, tup)
        cnt = np.zeros(seg.n_blocks + 1, np.int64)
        lists[name] = dispatch.fill_lists(lo, hi, w, p0, tup, keep, cnt)
        assert not cnt.any()  # left zeroed
    (bs, bspan, bw), (cs, cspan, cw) = lists["blocks"], lists["compact"]
    assert bspan.shape[0] > 20 * 1024  # far past the first buffers
    assert np.array_equal(bs, cs) and np.array_equal(bw, cw)
    stored_docs, stored_w = seg.arrays["post_doc"], seg.arrays["post_w"]
    for s in range(bspan.shape[0]):
        a, b = bspan[s]
        want = list(zip(blocks["post_doc"][a:b].tolist(), blocks["post_w"][a:b].tolist()))
        a, c = cspan[s]
        got = [(-1 - a, c)] if a < 0 else list(zip(stored_docs[a:c].tolist(), stored_w[a:c].tolist()))
        assert got == want, s
