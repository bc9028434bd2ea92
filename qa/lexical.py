"""BM25 over the chunk texts (bm25s), persisted next to the Chroma data.

Vector search misses exact names and numbers; BM25 catches them. The index is rebuilt from the
store after every write run and tagged with the store's generation (and its own parameters), so
a process that finds a stale copy (another process re-indexed, or the settings changed) rebuilds
it instead of answering from old data.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

META_KEYS = ("article_id", "day", "source")


@dataclass(frozen=True)
class BM25Params:
    """How text becomes BM25 scores; defaults chosen by measurement (docs/benchmarks.md)."""

    k1: float = 1.2
    b: float = 0.75
    method: str = "lucene"  # bm25s: robertson, lucene, atire, bm25l, bm25+
    stem: bool = True
    title: bool = True  # index the article title with each of its chunks

    def to_dict(self) -> dict[str, Any]:
        """JSON form stored beside the index (a saved index with other params is stale)."""
        return asdict(self)


def _tokenizer(stem: bool) -> Any:
    import bm25s.tokenization

    stemmer = None
    if stem:
        import Stemmer

        stemmer = Stemmer.Stemmer("english").stemWord
    return bm25s.tokenization.Tokenizer(stopwords="english", stemmer=stemmer)


class LexicalIndex:
    """A BM25 index of chunks with the few metadata fields filters need, as arrays."""

    def __init__(
        self,
        retriever: Any,
        tokenizer: Any,
        ids: list[str],
        meta: dict[str, list[Any]],
        params: BM25Params | None = None,
    ):
        self.retriever = retriever
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

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(
        cls, rows: Iterable[tuple[str, str, dict[str, Any]]], params: BM25Params | None = None
    ) -> LexicalIndex:
        """Index (chunk_id, text, metadata) rows."""
        import bm25s

        params = params or BM25Params()
        ids: list[str] = []
        texts: list[str] = []
        meta: dict[str, list[Any]] = {k: [] for k in META_KEYS}
        for cid, text, m in rows:
            ids.append(cid)
            # Titles carry names the body may only abbreviate; index them with the chunk.
            title = str(m.get("title", "")) if params.title else ""
            texts.append(f"{title}\n{text}" if title else text)
            for k in META_KEYS:
                meta[k].append(m.get(k, 0 if k == "day" else ""))
        tok = _tokenizer(params.stem)
        retriever = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
        if texts:
            retriever.index(
                tok.tokenize(texts, show_progress=False, return_as="tuple"), show_progress=False
            )
        return cls(retriever, tok, ids, meta, params)

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
        s = np.asarray(self.retriever.get_scores(list(q.ids[0])), dtype=np.float32)
        return s * mask if mask is not None else s

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

    def save(self, folder: Path, generation: str) -> None:
        """Write atomically (temp folder + rename), so readers never see half an index."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        if self.ids:  # bm25s cannot save (or load) an index of nothing
            self.retriever.save(str(tmp), show_progress=False)
            self.tokenizer.save_vocab(str(tmp))
        (tmp / "chunks.json").write_text(
            json.dumps(
                {
                    "generation": generation,
                    "params": self.params.to_dict(),
                    "ids": self.ids,
                    "meta": self.meta,
                }
            )
        )
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

    @classmethod
    def load(
        cls, folder: Path, params: BM25Params | None = None
    ) -> tuple[LexicalIndex, str] | None:
        """The saved index and its generation; None if there is none, it is broken, or it was
        built with other parameters than `params`."""
        import bm25s

        params = params or BM25Params()
        try:
            info = json.loads((folder / "chunks.json").read_text())
            if info.get("params") != params.to_dict():
                return None
            tok = _tokenizer(params.stem)
            retriever = None
            if info["ids"]:
                tok.load_vocab(str(folder))
                retriever = bm25s.BM25.load(str(folder), show_progress=False)
        except (OSError, ValueError, KeyError):
            return None
        return cls(retriever, tok, info["ids"], info["meta"], params), str(info["generation"])
