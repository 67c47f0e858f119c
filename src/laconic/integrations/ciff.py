"""CIFF (Common Index File Format) export and import: inverted indexes shared with PISA, Anserini/Lucene, JASS.

A ``.ciff`` file is a sequence of length-delimited protobuf messages: one
``Header``, ``num_postings_lists`` ``PostingsList`` messages (a term, its df/cf
and ``(docid, tf)`` postings with docids as gaps: the first absolute, then the
difference to the previous one), then ``num_doc_records`` ``DocRecord`` messages
(internal docid, collection docid, document length). Spec: github.com/osirrc/ciff.

Learned sparse weights travel as integer impacts in ``tf``: ``round(weight x
scale)`` (PISA and Anserini score impact indexes by summing them); weights that
round to 0 are dropped, as in ``laconic convert --scale``. Terms are the model's
token strings when a vocabulary is given, else the term id as text.

Why not ``ciff-toolkit``: it pins ``protobuf<5`` and so cannot be installed
beside onnx/openvino here. The messages are built from the spec's schema with
the protobuf library itself (no generated code, no ``protoc``); only the
length prefix (a varint) is written and read here.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from laconic.errors import InputError
from laconic.sparse import SparseVectors
from laconic.storage import atomic_file

CIFF_VERSION = 1
_MESSAGES: dict[str, Any] | None = None


def _messages() -> dict[str, Any]:
    """The four CIFF message classes, built once from the schema (package ``io.osirrc.ciff``)."""
    global _MESSAGES
    if _MESSAGES is None:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

        F = descriptor_pb2.FieldDescriptorProto
        schema = {
            "Header": [("version", F.TYPE_INT32), ("num_postings_lists", F.TYPE_INT32), ("num_doc_records", F.TYPE_INT32),
                       ("total_postings_lists", F.TYPE_INT32), ("total_docs", F.TYPE_INT32),
                       ("total_terms_in_collection", F.TYPE_INT64), ("average_doclength", F.TYPE_DOUBLE),
                       ("description", F.TYPE_STRING)],
            "Posting": [("docid", F.TYPE_INT32), ("tf", F.TYPE_INT32)],
            "PostingsList": [("term", F.TYPE_STRING), ("df", F.TYPE_INT64), ("cf", F.TYPE_INT64),
                             ("postings", F.TYPE_MESSAGE)],
            "DocRecord": [("docid", F.TYPE_INT32), ("collection_docid", F.TYPE_STRING), ("doclength", F.TYPE_INT32)],
        }
        file = descriptor_pb2.FileDescriptorProto(name="laconic_ciff.proto", package="io.osirrc.ciff", syntax="proto3")
        for name, fields in schema.items():
            msg = file.message_type.add(name=name)
            for number, (field, kind) in enumerate(fields, start=1):
                f = msg.field.add(name=field, number=number, type=kind, label=F.LABEL_OPTIONAL)
                if field == "postings":
                    f.label = F.LABEL_REPEATED
                    f.type_name = ".io.osirrc.ciff.Posting"
        pool = descriptor_pool.DescriptorPool()
        pool.Add(file)
        _MESSAGES = {
            name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"io.osirrc.ciff.{name}"))
            for name in schema
        }
    return _MESSAGES


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low = n & 0x7F
        n >>= 7
        if n:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


def _write(handle: Any, message: Any) -> None:
    data = message.SerializeToString()
    handle.write(_varint(len(data)))
    handle.write(data)


def write_ciff(vectors: SparseVectors, path: str | Path, *, scale: float, terms: Sequence[str] | None = None,
               description: str = "laconic learned sparse vectors (impacts = round(weight x scale))") -> Path:
    """Write ``vectors`` as a CIFF file (atomically), postings lists in term id order.

    Args:
        scale: impacts are ``round(weight x scale)`` (e.g. 100); zeros are dropped.
        terms: the vocabulary's term strings (by id); default: the id as text.
    """
    if not scale > 0:
        raise InputError(f"scale must be > 0 (impacts are round(weight x scale)), got {scale}", field="scale")
    if terms is not None and len(terms) < vectors.vocab_size:
        raise InputError(f"the vocabulary has {len(terms)} terms, the vectors {vectors.vocab_size}")
    if terms is not None and len(set(terms)) != len(terms):
        raise InputError("the vocabulary spells two term ids the same way: write term ids instead (no --model)")
    M = _messages()
    impacts = np.rint(vectors.values.astype(np.float64) * scale)
    if impacts.size and impacts.max() > np.iinfo(np.int32).max:
        raise InputError(f"impacts overflow int32 at scale {scale}: use a smaller scale", field="scale")
    mat = SparseVectors(vectors.indptr, vectors.indices, impacts.astype(np.float32), vectors.vocab_size).to_scipy()
    mat.eliminate_zeros()
    doclen = np.asarray(mat.sum(axis=1)).ravel().astype(np.int64)
    csc = mat.tocsc()
    csc.sort_indices()
    df = np.diff(csc.indptr)
    used = np.flatnonzero(df)
    ids = vectors.ids or [str(i) for i in range(len(vectors))]
    path = Path(path)
    with atomic_file(path, "wb") as handle:
        _write(handle, M["Header"](
            version=CIFF_VERSION, num_postings_lists=int(used.size), num_doc_records=len(vectors),
            total_postings_lists=int(used.size), total_docs=len(vectors), total_terms_in_collection=int(doclen.sum()),
            average_doclength=float(doclen.mean()) if len(vectors) else 0.0, description=description,
        ))
        for t in used.tolist():
            a, b = csc.indptr[t], csc.indptr[t + 1]
            docs = csc.indices[a:b].astype(np.int64)
            gaps = np.diff(docs, prepend=0)
            tfs = csc.data[a:b].astype(np.int64)
            plist = M["PostingsList"](term=terms[t] if terms is not None else str(t), df=int(b - a), cf=int(tfs.sum()))
            plist.postings.extend(M["Posting"](docid=int(g), tf=int(f)) for g, f in zip(gaps.tolist(), tfs.tolist()))
            _write(handle, plist)
        for i in range(len(vectors)):
            _write(handle, M["DocRecord"](docid=i, collection_docid=ids[i], doclength=int(doclen[i])))
    return path


def _read_messages(path: Path, data: memoryview):
    """Yield ``(offset, payload)`` of every length-delimited message."""
    pos, end = 0, len(data)
    while pos < end:
        start, shift, n = pos, 0, 0
        while True:
            if pos >= end or shift > 63:
                raise InputError(f"truncated or damaged length prefix at byte {start}", path=path)
            byte = data[pos]
            pos += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        if pos + n > end:
            raise InputError(f"message at byte {start} runs past the end of the file (truncated)", path=path)
        yield start, data[pos:pos + n]
        pos += n


def read_ciff(path: str | Path, *, vocab_size: int | None = None, terms: Sequence[str] | None = None,
              scale: float | None = None) -> SparseVectors:
    """Read a CIFF file into ``SparseVectors`` (one row per DocRecord, ids = collection docids).

    Terms map through ``terms`` (a vocabulary) when given, else they must be
    term ids as text below ``vocab_size``. ``scale`` divides impacts back into
    weights. Anything malformed raises :class:`InputError` naming the file and
    the message (byte offset).
    """
    path = Path(path)
    if terms is None and vocab_size is None:
        raise InputError("reading CIFF needs a vocabulary (terms) or vocab_size (term ids as text)", path=path)
    size = len(terms) if terms is not None else int(vocab_size)
    lookup = {t: i for i, t in enumerate(terms)} if terms is not None else None
    M = _messages()
    from google.protobuf.message import DecodeError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read ({exc.strerror or exc})", path=path) from None
    stream = _read_messages(path, memoryview(raw))

    def parse(kind: str, what: str):
        try:
            offset, payload = next(stream)
        except StopIteration:
            raise InputError(f"ends before {what} (the header promised more)", path=path) from None
        msg = M[kind]()
        try:
            msg.ParseFromString(payload.tobytes())
        except DecodeError as exc:
            raise InputError(f"{what} at byte {offset} is not a {kind} message ({exc})", path=path) from None
        return offset, msg

    _, header = parse("Header", "the header")
    if header.version != CIFF_VERSION or header.num_postings_lists < 0 or header.num_doc_records < 0:
        raise InputError(f"not a CIFF version {CIFF_VERSION} header (version {header.version})", path=path)
    n_docs = int(header.num_doc_records)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    for k in range(header.num_postings_lists):
        offset, plist = parse("PostingsList", f"postings list {k}")
        term = plist.term
        t = lookup.get(term) if lookup is not None else (int(term) if term.isdigit() else None)
        if t is None or not 0 <= t < size:
            raise InputError(f"postings list {k} (byte {offset}): unknown term {term!r}", path=path)
        gaps = np.fromiter((p.docid for p in plist.postings), np.int64, len(plist.postings))
        tfs = np.fromiter((p.tf for p in plist.postings), np.int64, len(plist.postings))
        docs = np.cumsum(gaps)
        if gaps.size and (gaps[0] < 0 or (gaps[1:] <= 0).any() or docs[-1] >= n_docs or (tfs < 0).any()):
            raise InputError(f"postings list {k} ({term!r}, byte {offset}): docids not increasing within "
                             f"[0, {n_docs}) or a negative tf", path=path)
        rows.append(docs)
        cols.append(np.full(docs.size, t, np.int64))
        vals.append(tfs)
    ids = [""] * n_docs
    seen = np.zeros(n_docs, bool)
    for k in range(n_docs):
        offset, rec = parse("DocRecord", f"doc record {k}")
        if not 0 <= rec.docid < n_docs or seen[rec.docid]:
            raise InputError(f"doc record {k} (byte {offset}): docid {rec.docid} out of range or repeated", path=path)
        seen[rec.docid] = True
        ids[rec.docid] = rec.collection_docid
    if next(stream, None) is not None:
        raise InputError("more messages than the header announces", path=path)
    import scipy.sparse as sp

    row = np.concatenate(rows) if rows else np.zeros(0, np.int64)
    col = np.concatenate(cols) if cols else np.zeros(0, np.int64)
    val = np.concatenate(vals).astype(np.float64) if vals else np.zeros(0)
    if scale:
        val = val / scale
    mat = sp.coo_matrix((val.astype(np.float32), (row, col)), shape=(n_docs, size)).tocsr()
    if mat.nnz != row.size:
        raise InputError("a term's postings list appears twice (duplicate term)", path=path)
    mat.sort_indices()
    return SparseVectors.from_scipy(mat, ids=ids)
