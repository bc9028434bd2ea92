"""Term counts per chunk, kept on disk so the BM25 index is updated, not rebuilt.

Rebuilding BM25 after a write run would re-read and re-tokenize every chunk of the store, and
make memory and time grow with the corpus. Term counts are what BM25 is computed from and they do
not change when other chunks come and go, so they are stored once per chunk (compact numpy arrays,
CSR by chunk) and only new chunks are tokenized; the scores, which do depend on the whole corpus
(idf, average length), are recomputed from the arrays in C-speed numpy.
"""

from __future__ import annotations

import contextlib
import io
import json
import mmap
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path
from typing import IO, Any

import numpy as np

from qa.bm25_adapter import term_scores, tokenizer

# Filter fields, and "version": the article's content hash, because an edited article keeps its
# chunk ids (chunks are overwritten in place) and only the version tells the text changed.
META_KEYS = ("article_id", "day", "source", "version")
BATCH = 1000  # chunks tokenized at a time: bounds the Python lists the tokenizer makes
# The arrays, in the order `_count` returns them and a spilled part is laid out on disk.
FIELDS = (("lengths", np.int32), ("counts", np.int32), ("terms", np.int32), ("tfs", np.int32))
SLICE = 10_000  # rows per line of rows.jsonl when held rows are saved (bounds the JSON strings)
BLOCK = 10_000  # saved rows per block when they are saved again (~1M counts, 4 MB an array)


def _empty_meta() -> dict[str, list[Any]]:
    return {k: [] for k in META_KEYS}


@dataclass
class Postings:
    """Chunk ids, their filter metadata and term counts (CSR: row = chunk, column = term)."""

    tok: Any
    title: bool = True  # the article title is indexed with each of its chunks
    ids: list[str] = field(default_factory=list)
    meta: dict[str, list[Any]] = field(default_factory=_empty_meta)
    lengths: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    indptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    terms: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    tfs: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    # Rows added but not yet merged: a writer adds a few hundred chunks per flush, and merging
    # each time would copy the whole arrays every flush. They wait in `_spill`, each part as
    # (offset, rows, entries, bytes of its ids and metadata as JSON) there.
    _pending: list[tuple[int, int, int, int]] = field(default_factory=list, repr=False)
    # In memory, or for a writer's run a file (spill_to) until they are saved: the counts are
    # ~0.6 KB per chunk and the ids and metadata ~0.25 KB as Python lists; held in memory they
    # grew the writer with the corpus.
    _spill: IO[bytes] = field(default_factory=io.BytesIO, repr=False)
    # Article ids held, built on first need: a writer asks whether each flush rewrites held
    # chunks, and scanning the id list every time was quadratic over a run.
    _held: set[str] | None = field(default=None, repr=False)
    # A saved index's rows.jsonl (open: another process may replace the folder), whose ids
    # and metadata come before `ids` and `meta` and are read only when needed: a run that
    # adds articles to a big index never reads them into lists, only streams them.
    _rows: IO[str] | None = field(default=None, repr=False)
    # Rows dropped but still in place (rewritten or deleted chunks of held articles): dropping
    # them at once meant reading every saved row in, so a run that edits a few articles of a
    # big index grew with the index. Each drop names the rows before it (a row's position in
    # saved + merged + pending order), so a chunk rewritten twice keeps its newest row:
    # chunk id -> rows before this position with that id are gone;
    _dropped_ids: dict[str, int] = field(default_factory=dict, repr=False)
    # article id -> [(first chunk index dropped, rows before this position)].
    _dropped_from: dict[str, list[tuple[int, int]]] = field(default_factory=dict, repr=False)

    @classmethod
    def empty(cls, *, stem: bool = True, title: bool = True) -> Postings:
        """No chunks yet."""
        return cls(tokenizer(stem), title)

    def __len__(self) -> int:
        kept = self._kept()
        return self._positions() if kept is None else int(kept.sum())

    def _positions(self) -> int:
        """Rows in place, dropped ones included: the position the next added row gets."""
        return len(self.lengths) + sum(p[1] for p in self._pending)

    @property
    def vocab_size(self) -> int:
        """Number of term ids the tokenizer has handed out (columns of the matrix)."""
        return len(self.tok.get_vocab_dict())

    def spill_to(self, folder: Path) -> None:
        """Keep counts added from now on in a temporary file in `folder` until they are
        merged (by a search, a rewrite, or not at all: `save` streams them)."""
        if isinstance(self._spill, io.BytesIO):
            folder.mkdir(parents=True, exist_ok=True)
            held = self._spill.getvalue()  # parts added before keep their offsets
            # Nameless (unlinked at once), so a killed run leaves nothing behind; it lives as
            # long as these postings and closes with them.
            self._spill = tempfile.TemporaryFile(dir=folder, prefix=".postings-")  # noqa: SIM115
            self._spill.write(held)

    def add(self, rows: Iterable[tuple[str, str, dict[str, Any]]]) -> None:
        """Tokenize and append (chunk_id, text, metadata) rows, a batch at a time."""
        it = iter(rows)
        while batch := list(islice(it, BATCH)):
            part = self._count(batch)
            columns: dict[str, list[Any]] = {"ids": [cid for cid, _, _ in batch]}
            for k in self.meta:
                columns[k] = [m.get(k, 0 if k == "day" else "") for _, _, m in batch]
            if self._held is not None:
                self._held.update(str(a) for a in columns["article_id"])
            blob = json.dumps(columns).encode()
            offset = self._spill.seek(0, 2)
            for (_, dtype), a in zip(FIELDS, part, strict=True):
                self._spill.write(np.ascontiguousarray(a, dtype=dtype).tobytes())
            self._spill.write(blob)
            self._pending.append((offset, len(part[0]), len(part[2]), len(blob)))

    def _part(self, part: tuple[int, int, int, int], which: int) -> np.ndarray:
        """One array (FIELDS[which]) of a pending part, read back from `_spill`."""
        offset, rows, entries, _ = part
        sizes = [rows, rows, entries, entries]
        at = offset + sum(sizes[i] * np.dtype(FIELDS[i][1]).itemsize for i in range(which))
        dtype = np.dtype(FIELDS[which][1])
        self._spill.seek(at)
        return np.frombuffer(self._spill.read(sizes[which] * dtype.itemsize), dtype=dtype)

    def _columns(self, part: tuple[int, int, int, int]) -> dict[str, list[Any]]:
        """The chunk ids ("ids") and metadata lists of a pending part, read back."""
        offset, rows, entries, size = part
        self._spill.seek(offset + 8 * (rows + entries))  # after its four int32 arrays
        columns: dict[str, list[Any]] = json.loads(self._spill.read(size))
        return columns

    def _saved_pieces(self) -> Iterator[dict[str, list[Any]]]:
        """The saved rows not read in yet (none once merged), a line of rows.jsonl at a time."""
        if self._rows is not None:
            self._rows.seek(0)
            for line in self._rows:
                yield json.loads(line)

    def pieces(self) -> Iterator[dict[str, list[Any]]]:
        """Every row's chunk id ("ids") and metadata, in order, a piece of rows at a time."""
        yield from self._saved_pieces()  # while there are any, `ids` and `meta` are empty
        for lo in range(0, len(self.ids), SLICE):
            yield {"ids": self.ids[lo : lo + SLICE]} | {
                k: v[lo : lo + SLICE] for k, v in self.meta.items()
            }
        for p in self._pending:
            yield self._columns(p)

    def merge(self) -> None:
        """Fold the saved and pending rows into the arrays and lists (once, before they are
        read)."""
        for piece in chain(self._saved_pieces(), map(self._columns, self._pending)):
            self.ids.extend(piece["ids"])
            for k, values in self.meta.items():
                values.extend(piece[k])
        if self._rows is not None:
            self._rows.close()
            self._rows = None
        if self._pending:
            lengths, counts, terms, tfs = (
                np.concatenate([self._part(p, i) for p in self._pending])
                for i in range(len(FIELDS))
            )
            self._pending = []
            self._spill.seek(0)
            self._spill.truncate()
            base = self.indptr[-1]
            self.indptr = np.concatenate([self.indptr, base + np.cumsum(counts, dtype=np.int64)])
            self.lengths = np.concatenate([self.lengths, lengths])
            self.terms = np.concatenate([self.terms, terms])
            self.tfs = np.concatenate([self.tfs, tfs])
        kept = self._kept()
        self._dropped_ids, self._dropped_from = {}, {}
        if kept is not None:
            self._filter(kept)

    def _count(
        self, batch: list[tuple[str, str, dict[str, Any]]]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        texts = []
        for _, text, m in batch:
            # Titles carry names the body may only abbreviate; index them with the chunk.
            title = str(m.get("title", "")) if self.title else ""
            texts.append(f"{title}\n{text}" if title else text)
        docs = self.tok.tokenize(texts, update_vocab=True, show_progress=False, return_as="ids")
        lengths = np.fromiter((len(d) for d in docs), np.int64, len(docs))
        flat = np.fromiter((t for d in docs for t in d), np.int64, int(lengths.sum()))
        row = np.repeat(np.arange(len(docs), dtype=np.int64), lengths)
        # One sort of (row, term) keys turns token lists into per-row term counts.
        width = int(flat.max(initial=0)) + 1
        keys, tfs = np.unique(row * width + flat, return_counts=True)
        counts = np.bincount(keys // width, minlength=len(docs))
        return (
            lengths.astype(np.int32),
            counts.astype(np.int32),
            (keys % width).astype(np.int32),
            tfs.astype(np.int32),
        )

    def replace(self, rows: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Add rows, dropping any held rows with the same chunk ids (rewritten chunks)."""
        # Only an article held already can hold these ids (a chunk id is "article_id:n").
        held = self._articles()
        before = self._positions()
        for cid, _, m in rows:
            if str(m.get("article_id", "")) in held:
                self._dropped_ids[cid] = before
        self.add(rows)

    def drop_article(self, article_id: str, first: int = 0) -> None:
        """Drop the article's chunks whose index (the id's ":n" suffix) is `first` or more."""
        if article_id in self._articles():
            self._dropped_from.setdefault(article_id, []).append((first, self._positions()))

    def _kept(self) -> np.ndarray | None:
        """Per row in place, False where a drop applies; None when nothing was dropped.

        Streams the rows' ids (a bool per row is all it holds), so it costs a pass over
        rows.jsonl, which a save makes anyway."""
        if not (self._dropped_ids or self._dropped_from):
            return None
        kept = np.ones(self._positions(), dtype=bool)
        at = 0
        for piece in self.pieces():
            for i, (cid, aid) in enumerate(zip(piece["ids"], piece["article_id"], strict=True)):
                if at + i < self._dropped_ids.get(cid, 0):
                    kept[at + i] = False
                elif drops := self._dropped_from.get(str(aid)):
                    n = int(cid.rpartition(":")[2])
                    kept[at + i] = not any(n >= f and at + i < end for f, end in drops)
            at += len(piece["ids"])
        return kept

    def keys(self) -> Iterator[tuple[str, str]]:
        """(chunk id, version) of every chunk held."""
        self.merge()
        return zip(self.ids, (str(v) for v in self.meta["version"]), strict=True)

    def keep(self, wanted: set[tuple[str, str]]) -> int:
        """Drop every chunk whose (id, version) is not in `wanted`; return how many."""
        return self._keep_rows([k in wanted for k in self.keys()])

    def _articles(self) -> set[str]:
        """Article ids held (merged or pending)."""
        if self._held is None:
            self._held = {str(a) for piece in self.pieces() for a in piece["article_id"]}
        return self._held

    def _keep_rows(self, flags: list[bool]) -> int:
        """Keep the rows flagged True (of the merged rows); return how many were dropped."""
        self.merge()
        return self._filter(np.asarray(flags, dtype=bool))

    def _filter(self, rows: np.ndarray) -> int:
        """Keep the merged rows where `rows` is True; return how many were dropped."""
        dropped = int((~rows).sum())
        if not dropped:
            return 0
        flags = rows.tolist()
        per_row = np.diff(self.indptr)
        entries = np.repeat(rows, per_row)
        self.terms, self.tfs = self.terms[entries], self.tfs[entries]
        self.indptr = np.concatenate([[0], np.cumsum(per_row[rows], dtype=np.int64)])
        self.lengths = self.lengths[rows]
        self.ids = [cid for cid, ok in zip(self.ids, flags, strict=True) if ok]
        self._held = None
        self.meta = {
            k: [v for v, ok in zip(vs, flags, strict=True) if ok] for k, vs in self.meta.items()
        }
        return dropped

    def bm25(self, *, k1: float, b: float, method: str) -> dict[str, Any]:
        """The BM25 score matrix in bm25s's layout (CSC: column = term, row = chunk)."""
        import scipy.sparse as sp

        self.merge()
        n, width = len(self.ids), self.vocab_size
        df = np.bincount(self.terms, minlength=width)
        row_len = np.repeat(self.lengths, np.diff(self.indptr)).astype(np.float32)
        avg = float(self.lengths.mean()) if n else 1.0
        idf, tfc = term_scores(
            df, n, self.tfs.astype(np.float32), row_len, avg, k1=k1, b=b, method=method
        )
        data = (idf[self.terms] * tfc).astype(np.float32)
        # scipy's CSR->CSC transpose is C code with int32 indices: no int64 sort temporaries.
        csc = sp.csr_matrix((data, self.terms, self.indptr), shape=(n, width)).tocsc()
        return {
            "data": csc.data.astype(np.float32),
            "indices": csc.indices.astype(np.int32),
            "indptr": csc.indptr.astype(np.int64),
            "num_docs": n,
        }

    def save(self, folder: Path) -> int:
        """Write the arrays, the rows and the tokenizer's vocabulary into `folder` (which must
        exist); return the number of rows written.

        Saved, merged and pending rows are streamed into the files a block at a time, with
        the drops applied on the way, not merged first: a merge holds the whole arrays twice
        (the peak memory at the end of a big run), and reads every saved row in."""
        kept = self._kept()
        if kept is None:
            rows, entries = self._positions(), len(self.terms) + sum(p[2] for p in self._pending)
        else:  # the kept rows' entries: a pass over the row counts alone, not the terms
            rows = int(kept.sum())
            entries = sum(int(c[kept[at : at + len(c)]].sum()) for at, c in self._counts())
        with contextlib.ExitStack() as stack:
            out = {
                name: stack.enter_context(_NpyFile(folder / f"{name}.npy", total, dtype))
                for name, total, dtype in (
                    ("lengths", rows, np.int32),
                    ("indptr", rows + 1, np.int64),
                    ("terms", entries, np.int32),
                    ("tfs", entries, np.int32),
                )
            }
            base = np.zeros(1, np.int64)
            out["indptr"].write(base)
            for at, block in self._blocks():
                if kept is not None:
                    rows_in = kept[at : at + len(block[0])]
                    entries_in = np.repeat(rows_in, block[1])
                    block = (*(a[rows_in] for a in block[:2]), *(a[entries_in] for a in block[2:]))
                lengths, counts, terms, tfs = block
                ends = base[-1] + np.cumsum(counts, dtype=np.int64)
                base = ends[-1:] if len(ends) else base
                out["lengths"].write(lengths)
                out["indptr"].write(ends)
                out["terms"].write(terms)
                out["tfs"].write(tfs)
        with open(folder / "rows.jsonl", "w", encoding="utf-8") as f:
            at = 0
            for piece in self.pieces():
                n = len(piece["ids"])
                if kept is not None:
                    mine = kept[at : at + n].tolist()
                    piece = {
                        k: [v for v, ok in zip(vs, mine, strict=True) if ok]
                        for k, vs in piece.items()
                    }
                at += n
                if piece["ids"]:
                    f.write(json.dumps(piece) + "\n")
        self.tok.save_vocab(str(folder))
        return rows

    def _counts(self) -> Iterator[tuple[int, np.ndarray]]:
        """(position, entries per row) of every row in place, a block at a time."""
        for lo in range(0, len(self.lengths), BLOCK):
            bounds = self.indptr[lo : lo + BLOCK + 1]
            yield lo, np.diff(bounds)
            _give_back(self.indptr)
        at = len(self.lengths)
        for p in self._pending:
            yield at, self._part(p, 1)
            at += p[1]

    def _blocks(self) -> Iterator[tuple[int, tuple[np.ndarray, ...]]]:
        """(position, (lengths, counts, terms, tfs)) of every row in place, a block at a time:
        the saved or merged arrays in slices, then each pending part."""
        for lo in range(0, len(self.lengths), BLOCK):
            bounds = np.array(self.indptr[lo : lo + BLOCK + 1])
            a, b = int(bounds[0]), int(bounds[-1])
            yield (
                lo,
                (self.lengths[lo : lo + BLOCK], np.diff(bounds), self.terms[a:b], self.tfs[a:b]),
            )
            for held in (self.lengths, self.indptr, self.terms, self.tfs):
                _give_back(held)
        at = len(self.lengths)
        for p in self._pending:
            yield at, tuple(self._part(p, i) for i in range(len(FIELDS)))
            at += p[1]

    @classmethod
    def load(
        cls,
        folder: Path,
        *,
        stem: bool,
        title: bool,
    ) -> Postings:
        """Read what `save` wrote.

        The arrays are mapped, not read: a write run that adds to a big index then holds
        none of the saved counts in its own memory (~0.6 KB per stored chunk), only the
        pages it touches, which the kernel can drop. Searching reads them once, to score."""
        tok = tokenizer(stem)
        tok.load_vocab(str(folder))
        names = ("lengths", "indptr", "terms", "tfs")
        arrays = {k: np.load(folder / f"{k}.npy", mmap_mode="r") for k in names}
        stream = open(folder / "rows.jsonl", encoding="utf-8")  # noqa: SIM115 (held open)
        return cls(tok, title, **arrays, _rows=stream)


def _give_back(a: np.ndarray) -> None:
    """Drop the pages of a mapped array (a saved index) that were read: read through, they
    would count in this process's memory until it ends, as if the whole array had been
    loaded. They stay in the page cache, which the kernel can take back."""
    mapping = getattr(a, "_mmap", None)  # np.memmap's mapping; None for arrays in memory
    if mapping is not None:
        mapping.madvise(mmap.MADV_DONTNEED)


class _NpyFile:
    """A 1-d .npy array of `total` items written a part at a time (a part may be a slice of
    a mapped array as big as the index: never copied whole); checked complete on close."""

    def __init__(self, path: Path, total: int, dtype: Any) -> None:
        self.path, self.total, self.dtype, self.written = path, total, np.dtype(dtype), 0
        self.file = open(path, "wb")  # noqa: SIM115 (closed by __exit__)
        header = {
            "descr": np.lib.format.dtype_to_descr(self.dtype),
            "fortran_order": False,
            "shape": (total,),
        }
        np.lib.format.write_array_header_1_0(self.file, header)

    def write(self, part: np.ndarray) -> None:
        """Append items."""
        self.file.write(np.ascontiguousarray(part, dtype=self.dtype).tobytes())
        self.written += len(part)

    def __enter__(self) -> _NpyFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.file.close()
        if self.written != self.total and exc[0] is None:  # a reader would see a broken array
            raise ValueError(f"postings {self.path.name}: wrote {self.written} of {self.total}")


def batched(items: list[str], size: int) -> Iterator[list[str]]:
    """Consecutive slices of at most `size` items."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
