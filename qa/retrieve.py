"""The question's way to passages: dense + BM25, fused, filtered, diversified.

Both sides fetch `fetch_k` candidates; every candidate then has both scores (the cosine of
lexical-only hits is computed from their stored vectors, the BM25 score of dense-only hits read
from the full BM25 score vector), so fusion can weigh scores, not just ranks. The fusion method
and its weights were chosen by measurement on XQuAD with news distractors (docs/benchmarks.md).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.fusion import Diversity, Fusion, diversify
from qa.lexical import (
    BM25Params,
    LexicalIndex,
    load_postings,
    mark_dirty,
    save_postings,
    sync_postings,
)
from qa.postings import Postings
from qa.store import Store, chunk_from, published_day
from qa.timewords import TimeWindow, find_publication_range, window_note
from qa.types import Hit

if TYPE_CHECKING:
    from qa.settings import Settings

# Filters are applied after an unfiltered dense query at most this deep (about 10 ms at 100k
# chunks); only narrower filters go to Chroma's own `where` (over 100 ms at 100k chunks).
POST_FILTER_MAX = 2000


@dataclass(frozen=True)
class Filters:
    """Metadata filters every entry point accepts."""

    sources: tuple[str, ...] = ()
    since: str = ""  # ISO date, inclusive
    until: str = ""  # ISO date, inclusive
    # Dates guessed from the question's words also let undated articles through: nothing says
    # they are outside the range. Dates the user typed (--since) are strict.
    keep_undated: bool = False

    def where(self) -> dict[str, Any] | None:
        """The same filter as a Chroma `where` clause."""
        parts: list[dict[str, Any]] = []
        if self.sources:
            parts.append({"source": {"$in": list(self.sources)}})
        days: list[dict[str, Any]] = []
        if self.since:
            days.append({"day": {"$gte": published_day(self.since)}})
        if self.until:
            days.append({"day": {"$lte": published_day(self.until)}})
        if days:
            dated = days[0] if len(days) == 1 else {"$and": days}
            parts.append({"$or": [dated, {"day": {"$eq": 0}}]} if self.keep_undated else dated)
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}

    def mask(self, index: LexicalIndex) -> np.ndarray | None:
        """The same filter as a 0/1 vector over the lexical index's chunks."""
        return index.mask(
            self.sources,
            published_day(self.since) if self.since else 0,
            published_day(self.until) if self.until else 0,
            keep_undated=self.keep_undated,
        )

    def narrowed(self, since: date | None, until: date | None) -> Filters:
        """These filters intersected with a date range found in the question."""
        new_since = since.isoformat() if since else ""
        new_until = until.isoformat() if until else ""
        if self.since and (not new_since or self.since > new_since):
            new_since = self.since
        if self.until and (not new_until or self.until < new_until):
            new_until = self.until
        strict = bool(self.since or self.until)
        return replace(self, since=new_since, until=new_until, keep_undated=not strict)

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
        fusion: Fusion | None = None,
        diversity: Diversity | None = None,
        bm25: BM25Params | None = None,
        time_words: bool = True,
    ):
        self.store = store
        self.embeddings = embeddings
        self.lexical_dir = lexical_dir
        self.use_dense = dense
        self.use_lexical = lexical
        self.fetch_k = fetch_k
        self.fusion = fusion or Fusion()
        self.diversity = diversity or Diversity(per_article=per_article)
        self.bm25 = bm25 or BM25Params()
        self.time_words = time_words
        self._lexical: LexicalIndex | None = None
        self._synced: tuple[Postings, str] | None = None  # term counts not yet scored
        self._live: Postings | None = None  # term counts a write run is updating
        self._generation: str | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls,
        store: Store,
        embeddings: Embeddings,
        settings: Settings,
        *,
        lexical_dir: Path | None = None,
    ) -> Retriever:
        """A Retriever configured by the retrieval fields of Settings."""
        s = settings
        return cls(
            store,
            embeddings,
            lexical_dir=lexical_dir,
            dense=s.dense,
            lexical=s.lexical,
            fetch_k=s.fetch_k,
            fusion=Fusion(
                method=s.fusion,
                lexical_weight=s.lexical_weight,
                rrf_k=s.rrf_k,
            ),
            diversity=Diversity(
                per_article=s.per_article,
                article_decay=s.article_decay,
            ),
            bm25=BM25Params(
                k1=s.bm25_k1,
                b=s.bm25_b,
                title=s.bm25_title,
            ),
            time_words=s.time_words,
        )

    def config(self) -> dict[str, Any]:
        """Every knob, for reports and benchmarks."""
        return {
            "dense": self.use_dense,
            "lexical": self.use_lexical,
            "fetch_k": self.fetch_k,
            "fusion": asdict(self.fusion),
            "diversity": asdict(self.diversity),
            "bm25": self.bm25.to_dict(),
            "time_words": self.time_words,
        }

    def lexical_index(self) -> LexicalIndex:
        """The BM25 index in step with the store (loaded, or synced when stale)."""
        with self._lock:
            gen = self.store.generation()
            if self._lexical is not None and gen == self._generation:
                return self._lexical
            if self._synced is not None and self._synced[1] == gen:
                postings = self._synced[0]
            else:
                saved = self._saved()
                postings = saved[0] if saved and saved[1] == gen else self._sync(gen, saved)
            self._synced = None
            self._lexical, self._generation = LexicalIndex.from_postings(postings, self.bm25), gen
            return self._lexical

    def sync_lexical(self, generation: str) -> None:
        """Save the BM25 term counts after a write, in step with the store (the writer calls
        this); the scores wait for the first search, which a plain `index` run never makes."""
        with self._lock:  # lexical_index() saves under this lock too: one saver per process
            if self._live is not None:  # kept in step by the store's change events
                postings, self._live = self._live, None
                if self.lexical_dir is not None:
                    save_postings(self.lexical_dir, generation, postings, self.bm25)
            else:
                postings = self._sync(generation, self._saved())
            self._synced, self._lexical = (postings, generation), None

    # -- ChunkListener: the store tells the writer's retriever what it changed ---------------
    def chunks_written(self, rows: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """Tokenize chunks as they are stored (no reading back at the end of the run)."""
        with self._lock:
            self._live_postings().replace(list(rows))

    def chunks_dropped(self, article_id: str, first: int) -> None:
        """Forget an article's deleted chunks."""
        with self._lock:
            self._live_postings().drop_article(article_id, first)

    def _live_postings(self) -> Postings:
        """The term counts this run updates: the saved ones if they were in step with the
        store before the run's first write, else brought in step by listing the store."""
        if self._live is None:
            saved = self._saved()
            if self.lexical_dir is not None:
                mark_dirty(self.lexical_dir)  # a crash before the save must not trust them
            if saved is not None and saved[1] == self.store.generation():
                self._live = saved[0]
            else:
                self._live = self._diff(saved[0] if saved else None)
            if self.lexical_dir is not None:  # the run's new counts wait on disk for the save
                self._live.spill_to(self.lexical_dir.parent)
        return self._live

    def _saved(self) -> tuple[Postings, str] | None:
        """The term counts saved in lexical_dir and their generation, if any."""
        return load_postings(self.lexical_dir, self.bm25) if self.lexical_dir else None

    def _sync(self, generation: str, saved: tuple[Postings, str] | None) -> Postings:
        """Bring the `saved` term counts up to the store's chunks and save them."""
        postings = self._diff(saved[0] if saved else None)
        if self.lexical_dir is not None:
            save_postings(self.lexical_dir, generation, postings, self.bm25)
        return postings

    def _diff(self, previous: Postings | None) -> Postings:
        """`previous` brought in step with the store by listing it (ids, article hashes) and
        reading only the chunks that are new or changed."""
        versions = self.store.article_hashes()

        def version(chunk_id: str) -> str:
            return versions.get(chunk_id.rpartition(":")[0], "")

        def fetch(ids: list[str]) -> Iterator[tuple[str, str, dict[str, Any]]]:
            for cid, (text, meta) in self.store.chunks_by_id(ids).items():
                yield cid, text, {**meta, "version": version(cid)}

        postings, _, _ = sync_postings(
            previous, [(cid, version(cid)) for cid in self.store.chunk_ids()], fetch, self.bm25
        )
        return postings

    def resolve_time_words(
        self, query: str, filters: Filters, index: LexicalIndex | None = None
    ) -> tuple[str, Filters]:
        """The query without its publication-time words and the filters they narrow (both
        unchanged when there are none, or when no article was published in the window)."""
        query, filters, _ = self.resolve_window(query, filters, index)
        return query, filters

    def resolve_window(
        self, query: str, filters: Filters, index: LexicalIndex | None = None
    ) -> tuple[str, Filters, TimeWindow | None]:
        """Publication-time words ("last week", "articles from March") -> the query to search,
        the filters to search with, and the window for the user (None when there are none).

        A window that holds no article (after the user's own filters) is not applied: the
        search runs as if the words were not there and the window's note says which dates the
        index does hold. Event dates ("fell in 2016") are not windows: they stay in the query.
        """
        index = index or self.lexical_index()
        first, last = index.date_span()
        found = find_publication_range(query, _day(last) if last else date.today())
        if found is None:
            return query, filters, None
        narrowed = filters.narrowed(found.since, found.until)
        # Undated articles pass a guessed window but were not published in it: not counted.
        articles = index.article_count(replace(narrowed, keep_undated=False).mask(index))
        window = TimeWindow(
            text=found.phrase,
            since=found.since.isoformat() if found.since else "",
            until=found.until.isoformat() if found.until else "",
            articles=articles,
            applied=articles > 0,
            note=self._window_note(found.since, found.until, articles, filters, index),
        )
        if not articles:
            return query, filters, window
        return found.strip(query) or query, narrowed, window

    def _window_note(
        self,
        since: date | None,
        until: date | None,
        articles: int,
        filters: Filters,
        index: LexicalIndex,
    ) -> str:
        """The window's note, with the publish days nearest to it among the articles the
        user's filters allow."""
        days = index.days
        allowed = filters.mask(index)
        days = days[(days > 0) & (allowed > 0)] if allowed is not None else days[days > 0]
        if not days.size:
            return window_note(since, until, articles, oldest=None, newest=None)
        lo = published_day(since.isoformat()) if since else 0
        hi = published_day(until.isoformat()) if until else 0
        earlier = days[days < lo] if lo else days[:0]
        later = days[days > hi] if hi else days[:0]
        return window_note(
            since,
            until,
            articles,
            oldest=_day(int(days.min())),
            newest=_day(int(days.max())),
            before=_day(int(earlier.max())) if earlier.size else None,
            after=_day(int(later.min())) if later.size else None,
            filtered=bool(filters),
        )

    def search(self, query: str, *, k: int = 5, filters: Filters | None = None) -> list[Hit]:
        """Top-k diversified hits; each hit's meta has `cosine` (dense similarity to query)."""
        return self.search_in_window(query, k=k, filters=filters)[0]

    def search_in_window(
        self, query: str, *, k: int = 5, filters: Filters | None = None
    ) -> tuple[list[Hit], TimeWindow | None]:
        """Top-k hits as `search`, and the publication window the question's words asked for
        (None when they ask for none, or time words are off)."""
        filters = filters or Filters()
        # The BM25 index is also the in-memory copy of every chunk's filter fields.
        index = self.lexical_index()
        if not len(index):
            return [], None
        window = None
        if self.time_words:
            query, filters, window = self.resolve_window(query, filters, index)
        mask = filters.mask(index)
        qvec = self.embeddings.embed_query(query)
        dense = self._dense(qvec, index, mask, filters, k) if self.use_dense else []
        cosine = dict(dense)
        lexical: list[tuple[str, float]] = []
        bm25: dict[str, float] = {}
        if self.use_lexical:
            scores = index.scores(query, mask)
            lexical = index.top(scores, self.fetch_k)
            bm25 = index.score_of(scores, cosine)
            bm25.update(lexical)
        cosine.update(self._cosines([c for c, _ in lexical if c not in cosine], qvec))
        fused = self.fusion.fuse(
            [c for c, _ in dense], [c for c, _ in lexical if c in cosine], cosine, bm25
        )
        ranked = sorted(fused, key=lambda c: -fused[c])
        return self._diversified(ranked, fused, cosine, k), window

    def _dense(
        self,
        qvec: list[float],
        index: LexicalIndex,
        mask: np.ndarray | None,
        filters: Filters,
        k: int,
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine) of the nearest chunks that pass the filters, best first.

        Chroma answers an unfiltered query for ids and distances in about a millisecond, but
        takes 12-60 ms at 10k chunks with a metadata `where`, over 100 ms at 100k (and several
        ms to return texts and metadata: those are read later, only for the hits kept).
        So a filter that keeps a fair share of the chunks is applied afterwards, on a deeper
        unfiltered query, with the in-memory filter fields; only a narrow filter (or one that
        left too few) goes to Chroma.
        """
        nearest = functools.partial(self.store.nearest_chunks, qvec)
        allowed = len(index) if mask is None else int(mask.sum())
        if allowed == 0:
            return []
        if mask is None:
            return nearest(self.fetch_k)
        # Deep enough to keep about fetch_k, then the deepest we allow, then Chroma's filter.
        first = min(POST_FILTER_MAX, math.ceil(self.fetch_k * len(index) / allowed * 1.5))
        pos = index.position
        for depth in dict.fromkeys((first, POST_FILTER_MAX)):
            pairs = nearest(depth)
            kept = [(c, s) for c, s in pairs if (i := pos.get(c)) is not None and mask[i] > 0]
            if len(kept) >= min(k, allowed) or len(pairs) < depth:
                return kept[: self.fetch_k]
        return nearest(self.fetch_k, filters.where())

    def _cosines(self, ids: list[str], qvec: list[float]) -> dict[str, float]:
        """Cosine to the query of chunks only the lexical side found (from stored vectors)."""
        if not ids:
            return {}
        found, vectors = self.store.vectors_of(ids)
        if not found:
            return {}
        sims = vectors @ np.asarray(qvec, dtype=np.float32)
        return {cid: float(x) for cid, x in zip(found, sims, strict=True)}

    def _diversified(
        self, ranked: list[str], fused: dict[str, float], cosine: dict[str, float], k: int
    ) -> list[Hit]:
        """The top k after diversity, reading texts and metadata only for the candidates it
        looks at (a few per result), not for every candidate."""
        d = self.diversity
        pool: list[Hit] = []
        chosen: list[Hit] = []
        step = max(10, 3 * k)
        for lo in range(0, len(ranked), step):
            part = ranked[lo : lo + step]
            rows = self.store.chunks_by_id(part)
            for cid in part:
                if cid in rows:
                    text, meta = rows[cid]
                    meta = {**meta, "cosine": cosine.get(cid, 0.0)}
                    pool.append(Hit(chunk_from(cid, text, meta), fused[cid], meta))
            chosen = diversify(pool, k, d.per_article, d.max_overlap, d.article_decay)
            if len(chosen) >= k:
                break
        return chosen


def _day(n: int) -> date:
    return date(n // 10000, n // 100 % 100, n % 100)
