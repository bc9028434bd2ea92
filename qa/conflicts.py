"""Spot articles that disagree: the same fact reported with different numbers or dates.

Two sentences state "the same fact" when they come from different articles, both rank near
the top for the question, their embeddings are close and they name the same things (one's
names among the other's: "trade between Russia and China" is not "Russia's foreign trade");
they "disagree" when each carries numbers and the numbers differ. Cheap and conservative: it
only has to catch the common case of wire updates (death tolls, prices, dates) that news
readers need to see side by side.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from datetime import date

import numpy as np

from qa.facts import name_mentions, number_mentions
from qa.verify import Candidate

SAME_FACT_COSINE = 0.7
NEAR_TOP = 0.15  # relevance margin under the best sentence


def facts(text: str) -> set[float]:
    """The numbers in a sentence as values ("1,200", "1200" and "twelve hundred" are not
    told apart from their value). Weekday names are left out on purpose: follow-up reports
    name the day they were written, which is no conflict."""
    return {value for value, _, _ in number_mentions(text)}


ROUNDING = 0.015  # "$69 bln" and "$69.52 billion" are one figure, rounded


def _covers(small: set[float], big: set[float]) -> bool:
    """Every number of `small` is in `big`, up to rounding."""
    return all(any(abs(a - b) <= ROUNDING * max(abs(a), abs(b)) for b in big) for a in small)


_WEEKDAYS = frozenset(calendar.day_name[d].lower() for d in range(7))


def _same_subject(a: str, b: str) -> bool:
    """One sentence's names are all among the other's (the other may add detail); the day
    each was written on does not count."""
    na = {m.key for m in name_mentions(a)} - _WEEKDAYS
    nb = {m.key for m in name_mentions(b)} - _WEEKDAYS
    return na <= nb or nb <= na


# Reports further apart than this describe two moments, not one fact told two ways: Brent's
# price on 7 February and on 16 March differ, and neither report is wrong. Wire updates of one
# event (a death toll, a count) come within days.
SAME_NEWS_DAYS = 7


def _days_apart(a: Candidate, b: Candidate) -> int:
    """Days between the two articles' publication dates (0 when either is undated)."""
    da = str(a.hit.meta.get("published", ""))[:10]
    db = str(b.hit.meta.get("published", ""))[:10]
    try:
        return abs((date.fromisoformat(da) - date.fromisoformat(db)).days)
    except ValueError:
        return 0


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
            if _days_apart(ca, cb) > SAME_NEWS_DAYS:
                continue
            fb = facts(cb.text)
            if not fb or _covers(fa, fb) or _covers(fb, fa):
                continue  # no numbers, the same numbers (rounded), or one just adds detail
            if not _same_subject(ca.text, cb.text):
                continue  # about different places, people or things
            if float(vectors[a] @ vectors[b]) < SAME_FACT_COSINE:
                continue
            first, second = sorted(
                (ca, cb), key=lambda c: str(c.hit.meta.get("published", "")), reverse=True
            )
            return first, second
    return None
