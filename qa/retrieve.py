"""The question's way to passages: dense + BM25, fused, filtered, diversified."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from qa.lexical import LexicalIndex
from qa.store import Store, chunk_from, published_day
from qa.types import Hit

RRF_K = 60  # the usual reciprocal-rank-fusion constant: damps the weight of rank 1 vs rank 5


@dataclass(frozen=True)
class Filters:
    """Metadata filters every entry point accepts."""

    sources: tuple[str, ...] = ()
    since: str = ""  # ISO date, inclusive
    until: str = ""  # ISO date, inclusive

    def where(self) -> dict[str, Any] | None:
        """The same filter as a Chroma `where` clause."""
        parts: list[dict[str, Any]] = []
        if self.sources:
            parts.append({"source": {"$in": list(self.sources)}})
        if self.since:
            parts.append({"day": {"$gte": published_day(self.since)}})
        if self.until:
            parts.append({"day": {"$lte": published_day(self.until)}})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def allows(self, meta: dict[str, Any]) -> bool:
        """The same filter for one chunk's metadata (for the lexical side)."""
        day = int(meta.get("day") or 0)
        if self.sources and meta.get("source") not in self.sources:
            return False
        if self.since and day < published_day(self.since):
            return False
        return not (self.until and day > published_day(self.until))

    def __bool__(self) -> bool:
        return bool(self.sources or self.since or self.until)


class Retriever:
    """Hybrid search over a Store; the lexical index is reloaded when the store changes."""

    def __init__(
        self,
        store: Store,
        embeddings: Embeddings,
        *,
        lexical_dir: Path | None = None,
        dense: bool = True,
        lexical: bool = True,
        fetch_k: int = 40,
        per_article: int = 2,
    ):
        self.store = store
        self.embeddings = embeddings
        self.lexical_dir = lexical_dir
        self.use_dense = dense
        self.use_lexical = lexical
        self.fetch_k = fetch_k
        self.per_article = per_article
        self._lexical: LexicalIndex | None = None
        self._generation: str | None = None
        self._lock = threading.Lock()

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index in step with the store (loaded, or rebuilt when stale)."""
        with self._lock:
            gen = self.store.generation()
            if self._lexical is not None and gen == self._generation:
                return self._lexical
            loaded = LexicalIndex.load(self.lexical_dir) if self.lexical_dir else None
            if loaded is not None and loaded[1] == gen:
                self._lexical = loaded[0]
            else:
                self._lexical = LexicalIndex.build(self.store.iter_chunks())
                if self.lexical_dir is not None:
                    self._lexical.save(self.lexical_dir, gen)
            self._generation = gen
            return self._lexical

    def search(self, query: str, *, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """Top-k diversified hits; each hit's meta has `cosine` (dense similarity to query)."""
        filters = filters or Filters()
        qvec = self.embeddings.embed_query(query)
        dense = (
            self.store.dense_search(qvec, self.fetch_k, filters.where()) if (self.use_dense) else []
        )
        lexical: list[tuple[str, float]] = []
        if self.use_lexical:
            allow = filters.allows if filters else None
            lexical = self.lexical_index().search(query, self.fetch_k, allow)
        fused: dict[str, float] = {}
        for rank, hit in enumerate(dense):
            fused[hit.chunk.id] = fused.get(hit.chunk.id, 0.0) + 1.0 / (RRF_K + rank + 1)
        for rank, (cid, _) in enumerate(lexical):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + rank + 1)
        by_id = {h.chunk.id: h for h in dense}
        missing = [cid for cid in fused if cid not in by_id]
        for cid, (text, meta, cos) in self._fetch(missing, qvec).items():
            by_id[cid] = Hit(chunk_from(cid, text, meta), cos, meta)
        ranked = sorted(fused, key=lambda c: -fused[c])
        hits = [
            Hit(by_id[c].chunk, fused[c], {**by_id[c].meta, "cosine": by_id[c].score})
            for c in ranked
            if c in by_id
        ]
        return diversify(hits, k, self.per_article)

    def _fetch(
        self, ids: list[str], qvec: list[float]
    ) -> dict[str, tuple[str, dict[str, Any], float]]:
        """Text, metadata and cosine to the query of chunks only the lexical side found."""
        if not ids:
            return {}
        import numpy as np

        got = self.store.chunks.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        q = np.asarray(qvec, dtype=np.float32)
        out = {}
        for cid, doc, meta, emb in zip(
            got["ids"],
            got["documents"] or [],
            got["metadatas"] or [],
            got["embeddings"] if got["embeddings"] is not None else [],
            strict=True,
        ):
            out[cid] = (doc, dict(meta), float(np.asarray(emb, dtype=np.float32) @ q))
        return out


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def diversify(hits: list[Hit], k: int, per_article: int = 2, max_overlap: float = 0.6) -> list[Hit]:
    """Keep the best of near-duplicate chunks (syndicated copies, overlapping windows) and at
    most `per_article` chunks of one article, so several articles can be heard."""
    chosen: list[Hit] = []
    seen_shingles: list[set[str]] = []
    per: dict[str, int] = {}
    for hit in hits:
        if per.get(hit.chunk.article_id, 0) >= per_article:
            continue
        sh = _shingles(hit.chunk.text)
        if any(len(sh & s) / max(1, min(len(sh), len(s))) > max_overlap for s in seen_shingles):
            continue
        chosen.append(hit)
        seen_shingles.append(sh)
        per[hit.chunk.article_id] = per.get(hit.chunk.article_id, 0) + 1
        if len(chosen) == k:
            break
    return chosen
