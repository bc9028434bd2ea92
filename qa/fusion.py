"""Ranking after retrieval: fusing the dense and BM25 scores, then diversifying the top k.

Pure functions of candidate ids and scores (no store, no model), so benchmarks can replay them
on precomputed scores: bench/retrieval_variants.py measures every setting here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from qa.types import Hit

FusionMethod = Literal["rrf", "convex"]


@dataclass(frozen=True)
class Fusion:
    """How the dense and the BM25 side are combined into one ranking.

    "rrf": sum of weight / (rrf_k + rank) over the sides. "convex": lexical_weight times the
    BM25 score divided by the best BM25 score, plus (1 - lexical_weight) times the cosine
    min-max scaled over the candidates. `lexical_weight` also weighs the BM25 side in RRF
    (0.5 = the usual unweighted RRF).
    """

    method: FusionMethod = "convex"
    lexical_weight: float = 0.5
    rrf_k: int = 60

    def fuse(
        self,
        dense: Sequence[str],
        lexical: Sequence[str],
        cosine: dict[str, float],
        bm25: dict[str, float],
    ) -> dict[str, float]:
        """Fused score of every candidate (ids of both ranked lists, best first)."""
        w = self.lexical_weight
        fused: dict[str, float] = {}
        if self.method == "rrf":
            for weight, ranked in ((1.0 - w, dense), (w, lexical)):
                for rank, cid in enumerate(ranked):
                    fused[cid] = fused.get(cid, 0.0) + 2 * weight / (self.rrf_k + rank + 1)
            return fused
        ids = list(dict.fromkeys([*dense, *lexical]))
        if not ids:
            return {}
        cos = np.asarray([cosine.get(c, 0.0) for c in ids], dtype=np.float64)
        lex = np.asarray([bm25.get(c, 0.0) for c in ids], dtype=np.float64)
        spread = float(cos.max() - cos.min())
        cos_n = (cos - cos.min()) / spread if spread > 0 else np.ones_like(cos)
        lex_n = lex / float(lex.max()) if lex.max() > 0 else np.zeros_like(lex)
        if not lexical:
            w = 0.0
        elif not dense:
            w = 1.0
        score = w * lex_n + (1.0 - w) * cos_n
        return {c: float(s) for c, s in zip(ids, score, strict=True)}


@dataclass(frozen=True)
class Diversity:
    """How near-duplicates and repeats of one article are kept out of the top k."""

    per_article: int = 2  # hard cap of chunks from one article
    article_decay: float = 1.0  # score factor per chunk already taken from the same article
    max_overlap: float = 0.6  # share of word 3-grams above which a chunk counts as a copy


def _story(hit: Hit) -> str:
    """The story a chunk tells: near-duplicate articles (wire copies) share the first one's id."""
    return str(hit.meta.get("dup_of") or hit.chunk.article_id)


def _shingles(text: str) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + 3]) for i in range(max(1, len(words) - 2))}


def diversify(
    hits: Iterable[Hit],
    k: int,
    per_article: int = 2,
    max_overlap: float = 0.6,
    article_decay: float = 1.0,
) -> list[Hit]:
    """Keep the best of near-duplicate chunks (syndicated copies, overlapping windows), at most
    `per_article` chunks of one article (near-duplicate articles count as one story), and with
    article_decay < 1 prefer a new article over an equally relevant second chunk of one already
    taken. Hits come best first."""
    pool = list(hits)
    chosen: list[Hit] = []
    seen_shingles: list[set[str]] = []
    per: dict[str, int] = {}
    shingles: dict[int, set[str]] = {}
    while pool and len(chosen) < k:
        # Greedy: the best remaining hit after the decay for its article's chunks taken so far.
        best_i, best_score = -1, -np.inf
        for i, hit in enumerate(pool):
            taken = per.get(_story(hit), 0)
            if taken >= per_article:
                continue
            score = hit.score * article_decay**taken if taken else hit.score
            if score > best_score:
                best_i, best_score = i, score
            if article_decay >= 1.0 or taken == 0:
                break  # no decay applies ahead of this one: the first eligible is the best
        if best_i < 0:
            break
        hit = pool.pop(best_i)
        sh = shingles.setdefault(id(hit), _shingles(hit.chunk.text))
        if any(len(sh & s) / max(1, min(len(sh), len(s))) > max_overlap for s in seen_shingles):
            continue
        chosen.append(hit)
        seen_shingles.append(sh)
        per[_story(hit)] = per.get(_story(hit), 0) + 1
    return chosen
