"""BM25 over the chunk texts (bm25s scoring), persisted next to the Chroma data.

Vector search misses exact names and numbers; BM25 catches them. After every write run the
index is brought in step with the store (only new chunks are tokenized, see qa/postings.py) and
tagged with the store's generation (and its own parameters), so a process that finds a stale
copy (another process re-indexed, or the settings changed) syncs it instead of answering from
old data.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from qa.bm25_adapter import Scorer
from qa.postings import Postings, batched

FETCH = 1000  # new chunks read from the store per call while syncing
DIRTY = "dirty"  # file in a saved index: a writer changed the store after it was saved


def mark_dirty(folder: Path) -> None:
    """Flag the saved term counts as behind the store (until the next save replaces them)."""
    if folder.is_dir():
        (folder / DIRTY).touch()


@dataclass(frozen=True)
class BM25Params:
    """How text becomes BM25 scores; defaults chosen by measurement (docs/benchmarks.md)."""

    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"  # robertson, lucene or atire (qa/bm25_adapter.py)
    stem: bool = True
    title: bool = True  # index the article title with each of its chunks

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored beside the index (a saved index with other params is stale)."""
        return asdict(self)


class LexicalIndex:
    """A BM25 index of chunks with the few metadata fields filters need, as arrays."""

    def __init__(
        self,
        scorer: Scorer,
        tokenizer: Any,
        ids: list[str],
        meta: dict[str, list[Any]],
        params: BM25Params | None = None,
    ):
        self.scorer = scorer
        self.tokenizer = tokenizer
        self.ids = ids
        self.meta = meta
        self.params = params or BM25Params()
        # Filters run on every question: numpy arrays keep them well under a millisecond at
        # 100k chunks, where a Python loop over metadata dicts took ~100 ms.
        self.days = np.asarray(meta.get("day") or [], dtype=np.int64)
        self.sources = np.asarray(meta.get("source") or [], dtype=object)
        self.position = {cid: i for i, cid in enumerate(ids)}
        dated = self.days[self.days > 0]
        self._span = (int(dated.min()), int(dated.max())) if dated.size else (0, 0)
        self._articles: np.ndarray | None = None  # an article number per chunk, when asked
        self._df: np.ndarray | None = None  # chunks per term, for idf()

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def from_postings(cls, postings: Postings, params: BM25Params | None = None) -> LexicalIndex:
        """The BM25 index of the chunks whose term counts `postings` holds."""
        params = params or BM25Params()
        postings.merge()  # searching needs every row in memory (a writer leaves them on disk)
        # Scores come from our stored term counts, not bm25s.index(): the same formulas (its
        # idf/tf scorers), without re-tokenizing the corpus; columns are the tokenizer's ids.
        p = params
        scorer = Scorer(
            postings.bm25(k1=p.k1, b=p.b, method=p.method),
            postings.tok.get_vocab_dict(),
            k1=p.k1,
            b=p.b,
            method=p.method,
        )
        return cls(scorer, postings.tok, list(postings.ids), postings.meta, params)

    @classmethod
    def build(
        cls, rows: Iterable[tuple[str, str, dict[str, Any]]], params: BM25Params | None = None
    ) -> LexicalIndex:
        """Index (chunk_id, text, metadata) rows from scratch."""
        params = params or BM25Params()
        postings = Postings.empty(stem=params.stem, title=params.title)
        postings.add(rows)
        return cls.from_postings(postings, params)

    def mask(
        self,
        sources: Sequence[str] = (),
        since_day: int = 0,
        until_day: int = 0,
        *,
        keep_undated: bool = False,
    ) -> np.ndarray | None:
        """1.0 for chunks that pass the filters, 0.0 for the rest; None when nothing filters."""
        if not (sources or since_day or until_day) or not self.ids:
            return None
        ok = np.ones(len(self.ids), dtype=bool)
        if sources:
            ok &= np.isin(self.sources, list(sources))
        dated = np.ones(len(self.ids), dtype=bool)
        if since_day:
            dated &= self.days >= since_day
        if until_day:
            dated &= self.days <= until_day
        if keep_undated and (since_day or until_day):
            dated |= self.days == 0
        return (ok & dated).astype(np.float32)

    def article_count(self, mask: np.ndarray | None = None) -> int:
        """How many articles have a chunk where `mask` is set (every article when None)."""
        if self._articles is None:  # numbered once per loaded index, on the first count
            ids = np.asarray(self.meta.get("article_id") or [], dtype=str)
            self._articles = np.unique(ids, return_inverse=True)[1].reshape(-1)
        codes = self._articles if mask is None else self._articles[mask > 0]
        return int(np.unique(codes).size)

    def date_span(self) -> tuple[int, int]:
        """(oldest, newest) publish day of the dated chunks, (0, 0) when none is dated."""
        return self._span

    def scores(self, query: str, mask: np.ndarray | None = None) -> np.ndarray:
        """BM25 score of every chunk for the query (0 where masked out or nothing matches)."""
        if not self.ids:
            return np.zeros(0, dtype=np.float32)
        q = self.tokenizer.tokenize(
            [query], update_vocab=False, show_progress=False, return_as="tuple"
        )
        if not q.ids or not q.ids[0]:
            return np.zeros(len(self.ids), dtype=np.float32)
        # The tokenizer maps a query of unknown words to its empty token, which would match
        # empty chunks; and ids past the matrix would be words added after it was built.
        width = self.scorer.width
        empty = self.tokenizer.get_vocab_dict().get("")
        terms = [t for t in q.ids[0] if t < width and t != empty]
        if not terms:
            return np.zeros(len(self.ids), dtype=np.float32)
        s = self.scorer.scores(terms)
        return s * mask if mask is not None else s

    def idf(self, terms: Iterable[str]) -> dict[str, float]:
        """Rarity of stemmed terms (as `content_terms` makes them) over the chunks, 0..1:
        0 for a term in every chunk, 1 for a term in none."""
        if self._df is None:  # a term's column in the score matrix holds one entry per chunk
            self._df = self.scorer.chunks_per_term() if self.ids else np.zeros(0)
        vocab = self.tokenizer.get_vocab_dict()
        out = {}
        for term in terms:
            t = vocab.get(term)
            df = int(self._df[t]) if t is not None and t < len(self._df) else 0
            out[term] = scaled_idf(df, len(self.ids))
        return out

    def top(self, scores: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The k best (chunk_id, score) of a score vector, best first, zeros left out."""
        if scores.size == 0 or k <= 0:
            return []
        k = min(k, scores.size)
        part = np.argpartition(-scores, k - 1)[:k]
        order = part[np.argsort(-scores[part], kind="stable")]
        return [(self.ids[int(i)], float(scores[i])) for i in order if scores[i] > 0]

    def search(self, query: str, k: int, mask: np.ndarray | None = None) -> list[tuple[str, float]]:
        """Top-k chunk ids with BM25 scores; `mask` (from `mask()`) filters on metadata."""
        return self.top(self.scores(query, mask), k)

    def score_of(self, scores: np.ndarray, chunk_ids: Iterable[str]) -> dict[str, float]:
        """The scores of given chunks in a score vector (0 for chunks the index lacks)."""
        out = {}
        for cid in chunk_ids:
            i = self.position.get(cid)
            out[cid] = float(scores[i]) if i is not None else 0.0
        return out

    @classmethod
    def load(
        cls, folder: Path, params: BM25Params | None = None
    ) -> tuple[LexicalIndex, str] | None:
        """The saved index and its generation (None as for `load_postings`)."""
        got = load_postings(folder, params)
        if got is None:
            return None
        return cls.from_postings(got[0], params), got[1]


def scaled_idf(df: int, n: int) -> float:
    """IDF scaled to 0..1: 0 for a term in every one of n chunks, 1 for a term in none."""
    return math.log((n + 1) / (df + 1)) / math.log(n + 1) if n > 0 else 1.0


def sync_postings(
    previous: Postings | None,
    chunk_keys: Sequence[tuple[str, str]],
    fetch: Callable[[list[str]], Iterable[tuple[str, str, dict[str, Any]]]],
    params: BM25Params | None = None,
) -> tuple[Postings, int, int]:
    """Bring `previous` term counts in step with the store's (chunk id, version) keys: drop
    the chunks that are gone or changed, tokenize only the new ones (`fetch` reads their rows,
    "version" in the metadata). Returns the postings and the numbers of chunks added and
    dropped; the scores are computed when the index is first searched (`from_postings`)."""
    params = params or BM25Params()
    postings = previous or Postings.empty(stem=params.stem, title=params.title)
    dropped = postings.keep(set(chunk_keys))
    have = set(postings.ids)
    new = [cid for cid, _ in chunk_keys if cid not in have]
    postings.add(row for ids in batched(new, FETCH) for row in fetch(ids))
    return postings, len(new), dropped


def save_postings(
    folder: Path, generation: str, postings: Postings, params: BM25Params | None = None
) -> None:
    """Write the term counts and chunk list atomically (temp folder + rename), so readers
    never see half an index; the scores are recomputed from the counts on load."""
    params = params or BM25Params()
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
    rows = postings.save(tmp)
    info = {"generation": generation, "params": params.to_dict(), "rows": rows}
    (tmp / "chunks.json").write_text(json.dumps(info))
    # Another thread or process may be saving the same folder right now: move the old copy
    # to a name of our own, and if a fresh copy lands first, keep that one and drop ours.
    old = Path(f"{tmp}.old")
    with contextlib.suppress(FileNotFoundError):
        os.replace(folder, old)
    try:
        os.replace(tmp, folder)
    except OSError:  # folder re-created by a concurrent save (directory not empty)
        shutil.rmtree(tmp, ignore_errors=True)
    shutil.rmtree(old, ignore_errors=True)


def load_postings(folder: Path, params: BM25Params | None = None) -> tuple[Postings, str] | None:
    """The saved term counts and their store generation; None if there are none, they are
    broken, or they were made with other parameters than `params`."""
    params = params or BM25Params()
    try:
        info = json.loads((folder / "chunks.json").read_text())
        if info.get("params") != params.to_dict():
            return None
        if (folder / DIRTY).exists():  # a writer died mid-run: counts may lag the store
            info["generation"] = ""
        postings = Postings.load(folder, stem=params.stem, title=params.title)
        want = int(info["rows"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    entries = len(postings.terms)
    if len(postings.indptr) != want + 1 or len(postings.lengths) != want:  # two saves' files
        return None
    if int(postings.indptr[-1]) != entries or len(postings.tfs) != entries:
        return None
    return postings, str(info["generation"])
