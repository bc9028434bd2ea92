"""Decide whether the retrieved evidence answers the question, or the articles do not say.

One similarity cannot tell: a question about an article that is not indexed still finds a
sentence of the same kind ("What year did Tesla die?" -> "Prince died in April last year"),
with a cosine as high as a real answer's. What such evidence lacks is the question's own
salient words: the names, numbers and rare words that say what is asked about. So the
question's content terms are weighted by their rarity in the index (IDF), and the decision
reads how much of that weight the best evidence holds, next to the best sentence's scores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from qa.types import Hit
from qa.verify import content_terms

if TYPE_CHECKING:
    from qa.answer import Ranked

# Term -> rarity in the index, 0 (in every chunk) .. 1 (in none); see LexicalIndex.idf.
Idf = Callable[[Iterable[str]], Mapping[str, float]]

# Thresholds, chosen by measurement (docs/answerability.md: commands and the table of
# operating points). No pair meets every target at once: the XQuAD refusal set asks for a
# relevance floor near 0.65-0.70, which refuses 8-11% of XQuAD questions over their own
# paragraphs (contains-gold 0.837 -> 0.79) and 35-41% of MTRAG's tasks. These keep those
# refusals at 2% (contains-gold 0.830) and were the best such pair on the tuning half of the
# refusal set (even article pairs: refused 0.458, answered 1.000; other half 0.322, 1.000;
# MTRAG dev refusal precision 0.523, recall 0.489). A best sentence this relevant answers,
# whatever its words:
WEAK_RELEVANCE = 0.53
# Below it, the best sentence with its neighbours and title must hold this share of the
# question's IDF weight.
MIN_COVERAGE = 0.45


@dataclass(frozen=True)
class Judgement:
    """Whether the evidence answers the question, why, and the numbers behind it."""

    answerable: bool
    reason: str  # short, for notes and debugging
    signals: dict[str, float]


def judge(
    query: str,
    hits: list[Hit],
    ranked: Ranked,
    *,
    idf: Idf,
    min_cosine: float = 0.0,
    weak_relevance: float = WEAK_RELEVANCE,
    min_coverage: float = MIN_COVERAGE,
) -> Judgement:
    """Judge whether the hits, ranked against the query, answer it."""
    weights = dict(idf(sorted(content_terms(query))))
    signals, missing = evidence_signals(weights, hits, ranked)
    return decide(
        signals,
        missing,
        min_cosine=min_cosine,
        weak_relevance=weak_relevance,
        min_coverage=min_coverage,
    )


def evidence_signals(
    weights: Mapping[str, float], hits: list[Hit], ranked: Ranked
) -> tuple[dict[str, float], list[str]]:
    """The signals `decide` reads (and a few more for reports), and the question's terms
    that the best evidence (best sentence, its neighbours, its title) lacks, rarest first."""
    signals = {"cosine": float(ranked.best), "terms": float(len(weights))}
    if not ranked.cands:
        return signals, sorted(weights, key=lambda t: -weights[t])
    best = ranked.order[0]
    top = float(ranked.relevance[best])
    second = float(ranked.relevance[ranked.order[1]]) if len(ranked.order) > 1 else 0.0
    window = _window(ranked, best)
    everywhere = set().union(*(content_terms(f"{h.title} {h.chunk.text}") for h in hits))
    signals |= {
        "relevance": top,
        "gap": top - second,
        "coverage": _share(weights, window),
        "sentence_coverage": _share(weights, content_terms(ranked.cands[best].text)),
        # the rarest question term that no retrieved passage holds
        "missing": max((w for t, w in weights.items() if t not in everywhere), default=0.0),
    }
    return signals, sorted((t for t in weights if t not in window), key=lambda t: -weights[t])


def decide(
    signals: Mapping[str, float],
    missing: Sequence[str] = (),
    *,
    min_cosine: float = 0.0,
    weak_relevance: float = WEAK_RELEVANCE,
    min_coverage: float = MIN_COVERAGE,
) -> Judgement:
    """The rule: refuse when nothing is close to the question, or when the best sentence is
    only weakly relevant and lacks most of what the question is about."""
    s = dict(signals)
    if "relevance" not in s or s["cosine"] < min_cosine:
        return Judgement(False, f"nothing close to the question (cosine {s['cosine']:.2f})", s)
    if s["relevance"] < weak_relevance and s["coverage"] < min_coverage:
        words = ", ".join(f"'{t}'" for t in missing[:3])
        return Judgement(
            False,
            f"the question's key terms {words} are not in the best evidence "
            f"(relevance {s['relevance']:.2f}, {s['coverage']:.0%} of the key terms)",
            s,
        )
    return Judgement(
        True, f"relevance {s['relevance']:.2f}, {s['coverage']:.0%} of the key terms", s
    )


def _share(weights: Mapping[str, float], terms: set[str]) -> float:
    """Share of the weight whose terms are in `terms` (1.0 when nothing weighs)."""
    total = sum(weights.values())
    return sum(w for t, w in weights.items() if t in terms) / total if total else 1.0


def _window(ranked: Ranked, i: int) -> set[str]:
    """Content terms of candidate i, its neighbours in the same passage, and its title."""
    cands = ranked.cands
    hit = cands[i].hit
    near = [cands[j].text for j in (i - 1, i, i + 1) if 0 <= j < len(cands) and cands[j].hit is hit]
    return content_terms(" ".join([hit.title, *near]))
