"""Spot articles that disagree: the same fact reported with different numbers or dates.

Two sentences state "the same fact" when they come from different articles, both rank near
the top for the question, and their embeddings are close; they "disagree" when each carries
numbers and the numbers differ. Cheap and conservative: it only has to catch the common
case of wire updates (death tolls, prices, dates) that news readers need to see side by side.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from qa.verify import Candidate

_NUMBER = re.compile(r"\b\d[\d,.]*\d\b|\b\d\b")
SAME_FACT_COSINE = 0.7
NEAR_TOP = 0.15  # relevance margin under the best sentence


def facts(text: str) -> set[str]:
    """The numbers in a sentence ("1,200" and "1200" count as one). Weekday names are left
    out on purpose: follow-up reports name the day they were written, which is no conflict."""
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def _separate(a: Candidate, b: Candidate) -> bool:
    """Two reports, not two parts of one story: their titles or their dates differ."""
    ma, mb = a.hit.meta, b.hit.meta
    return ma.get("title") != mb.get("title") or ma.get("published") != mb.get("published")


def find_conflict(
    cands: Sequence[Candidate], vectors: np.ndarray, relevance: np.ndarray, order: Sequence[int]
) -> tuple[Candidate, Candidate] | None:
    """Two near-top sentences of different articles stating one fact differently, newest
    first; None when the articles agree (or say different things)."""
    if not order:
        return None
    best = float(relevance[order[0]])
    top = [i for i in order[:8] if best - float(relevance[i]) <= NEAR_TOP]
    for a_pos, a in enumerate(top):
        fa = facts(cands[a].text)
        if not fa:
            continue
        for b in top[a_pos + 1 :]:
            ca, cb = cands[a], cands[b]
            if ca.hit.chunk.article_id == cb.hit.chunk.article_id or not _separate(ca, cb):
                continue
            fb = facts(cb.text)
            if not fb or fa == fb or fa <= fb or fb <= fa:
                continue  # no numbers, same numbers, or one just adds detail
            if float(vectors[a] @ vectors[b]) < SAME_FACT_COSINE:
                continue
            first, second = sorted(
                (ca, cb), key=lambda c: str(c.hit.meta.get("published", "")), reverse=True
            )
            return first, second
    return None
