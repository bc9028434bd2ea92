"""Claim-level verification: is a sentence said by up to three consecutive sentences of one
passage, with the same numbers, the same names and the same polarity?

A sentence is supported by a span when
  1. every number in it appears in the span with the same value (qa/facts.py normalizes
     "$54.71"/"54.71 dollars", "17%"/"17 percent", "2.4 million"/"2,400,000");
  2. every name in it (capitalized words inside the sentence, acronyms) appears in the span;
  3. a negation in one applies to words the other affirms nowhere ("is" vs "is not");
  4. the rest is a paraphrase: embedding similarity or coverage of its content words.
The span is then the citation: verbatim text with its offsets. Used by the answer path and by
`articleqa check`; thresholds were chosen on MTRAG dev (docs/benchmarks.md, "Verification").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from ingest.chunking import sentence_spans
from qa.facts import (
    Mention,
    name_mentions,
    number_mentions,
    opposite_word,
    polarity_differs,
    proper_names,
    replaced_numbers,
)
from qa.injection import flag_instructions
from qa.verify import content_terms

Embed = Callable[[list[str]], list[list[float]]]  # texts -> vectors (embed_documents)

# A span may join this many consecutive sentences: people and models merge two or three.
MAX_SPAN = 3
# Paraphrase: cosine of the sentence and the span, or the share of its content words found in
# the span (stemmed). Either suffices. On MTRAG dev reference sentences the facts decide
# nearly everything: 0.5-0.6 and 0.55-0.7 moved faithful kept by under a point.
COSINE_MIN = 0.5
COVERAGE_MIN = 0.65
# How many of the most similar spans are examined per sentence.
CANDIDATE_SPANS = 12


@dataclass(frozen=True)
class Span:
    """Consecutive sentences of one passage: `text` is passage[start:end], verbatim."""

    passage: int  # index of the passage (a chunk, or a text given to `check`)
    start: int
    end: int
    text: str
    sentences: tuple[int, ...]  # indexes of its sentences in the sentence list


@dataclass(frozen=True)
class Verdict:
    """Whether one sentence is supported, why not, and its best evidence span."""

    sentence: str
    supported: bool
    reason: str  # "supported", or what failed: "number 55.5 not in evidence", ...
    span: int | None  # index into the spans (the support, or the closest miss)
    score: float  # paraphrase strength of that span (cosine + coverage)


def spans(sentence_passage: Sequence[int], adjacent: Sequence[bool]) -> list[tuple[int, ...]]:
    """Runs of 1..MAX_SPAN consecutive sentences: `sentence_passage[i]` is sentence i's
    passage; `adjacent[i]` says sentence i directly follows sentence i-1 (same passage, only
    whitespace between)."""
    out: list[tuple[int, ...]] = []
    for i in range(len(sentence_passage)):
        run = [i]
        out.append((i,))
        for j in range(i + 1, min(i + MAX_SPAN, len(sentence_passage))):
            if not adjacent[j]:
                break
            run.append(j)
            out.append(tuple(run))
    return out


def span_vectors(sentence_vectors: np.ndarray, members: Sequence[tuple[int, ...]]) -> np.ndarray:
    """A span's embedding: the normalized mean of its sentences' (no second model pass)."""
    if not len(members):
        return np.zeros((0, sentence_vectors.shape[1] if sentence_vectors.ndim == 2 else 0))
    out = np.stack([sentence_vectors[list(m)].sum(axis=0) for m in members])
    norms = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.maximum(norms, 1e-9)


@dataclass(frozen=True)
class _SpanFacts:
    numbers: tuple[tuple[float, set[str], str], ...]
    names: dict[str, list[Mention]]  # capitalized words of the span by key
    terms: frozenset[str]
    replaced: frozenset[float]  # figures the span gives only as replaced ("instead of 30")


def check_sentences(
    sentences: Sequence[str],
    sentence_vectors: np.ndarray,
    all_spans: Sequence[Span],
    vectors: np.ndarray,
    *,
    proper: frozenset[str] = frozenset(),
) -> list[Verdict]:
    """One Verdict per sentence against the spans (`vectors`: one embedding per span).

    `proper`: name keys the evidence capitalizes (see qa.facts.name_mentions). Names the
    question uses get no pass: on MTRAG dev that let 1.6% more swapped names through for
    0.2% more faithful sentences."""
    facts: dict[int, _SpanFacts] = {}

    def facts_of(j: int) -> _SpanFacts:
        if j not in facts:
            text = all_spans[j].text
            facts[j] = _SpanFacts(
                tuple(number_mentions(text, unscaled=True)),
                _by_key(_sentence_mentions(text)),
                frozenset(content_terms(text)),
                frozenset(replaced_numbers(text)),
            )
        return facts[j]

    sims = sentence_vectors @ vectors.T if len(all_spans) else np.zeros((len(sentences), 0))
    out = []
    for i, sentence in enumerate(sentences):
        out.append(_check(sentence, sims[i], all_spans, facts_of, proper))
    return out


def _check(
    sentence: str,
    sims: np.ndarray,
    all_spans: Sequence[Span],
    facts_of: Callable[[int], _SpanFacts],
    proper: frozenset[str],
) -> Verdict:
    terms = content_terms(sentence)
    nums = number_mentions(sentence)
    claimed = name_mentions(sentence, proper)
    if not len(sims):
        return Verdict(sentence, False, "no support", None, 0.0)
    order = np.argsort(-sims)[:CANDIDATE_SPANS]
    passed: list[tuple[int, float, int]] = []  # (sentences, -score, span)
    first_miss: tuple[float, int, str] | None = None
    for j in (int(x) for x in order):
        f = facts_of(j)
        coverage = len(terms & f.terms) / len(terms) if terms else 0.0
        cosine = float(sims[j])
        score = cosine + coverage
        reason = _mismatch(sentence, nums, claimed, f, all_spans[j].text)
        if reason is None and (cosine >= COSINE_MIN or coverage >= COVERAGE_MIN):
            passed.append((len(all_spans[j].sentences), -score, j))
        elif first_miss is None or score > first_miss[0]:
            first_miss = (score, j, reason or "no support")
    if passed:  # the shortest span that says it: the citation should be no longer than needed
        n, neg_score, j = min(passed)
        return Verdict(sentence, True, "supported", j, -neg_score)
    assert first_miss is not None
    score, j, reason = first_miss
    if score < COSINE_MIN:  # nothing close at all: the facts are not the problem
        reason = "no support"
    return Verdict(sentence, False, reason, j, score)


def _mismatch(
    sentence: str,
    nums: list[tuple[float, set[str], str]],
    claimed: list[Mention],
    f: _SpanFacts,
    text: str,
) -> str | None:
    """The first fact of the sentence that the span does not state, or None."""
    mine_replaced = replaced_numbers(sentence) if f.replaced else set()
    for value, around, written in nums:
        # The same value must be there, about the same thing when the claim says what.
        if not any(v == value and (ctx & around or not around) for v, ctx, _ in f.numbers):
            return f"number {written} not in evidence"
        if value in f.replaced and value not in mine_replaced:
            return f"number {written} is the figure the evidence replaces"
    for name in claimed:
        seen = f.names.get(name.key, []) + f.names.get(name.key + "s", [])
        # The name must be there, in the same compound ("Hulu Girl" is not "Gossip Girl" next
        # to "Hulu") and next to some of the same words ("Europe" of "immigrants from Europe"
        # is not the "Europe" of a claim about the population).
        if not any(
            (not name.before or m.before == name.before) and _same_role(name, m) for m in seen
        ):
            return f"name {name.word} not in evidence"
    closest = _closest_sentence(sentence, text)
    if polarity_differs(sentence, closest):
        return "negation differs"
    flipped = opposite_word(sentence, closest)
    if flipped:
        mine, theirs = flipped.split("/")
        return f"says {mine!r} where the evidence says {theirs!r}"
    return None


def _same_role(claim: Mention, evidence: Mention) -> bool:
    """The name is next to some of the same words: an ordinary word or a part of its own
    compound, or two words of any kind (one, when either side has no more to offer).
    Another name alone ("Iran" next to both Trump and Khamenei) does not say who did it."""
    if not claim.around:
        return True
    shared = len(claim.around & evidence.around)
    needed = min(2 if claim.plain else 1, len(evidence.around))
    return bool(claim.plain & evidence.plain) or shared >= max(needed, 1)


def _sentence_mentions(text: str) -> list[Mention]:
    return [m for a, b in sentence_spans(text) for m in name_mentions(text[a:b])]


def _by_key(mentions: list[Mention]) -> dict[str, list[Mention]]:
    out: dict[str, list[Mention]] = {}
    for m in mentions:
        out.setdefault(m.key, []).append(m)
    return out


def _closest_sentence(sentence: str, text: str) -> str:
    """The sentence of a span that shares most words with the claim: polarity is compared
    there, not with a negation elsewhere in the span."""
    parts = [text[a:b] for a, b in sentence_spans(text)]
    if len(parts) <= 1:
        return text
    terms = content_terms(sentence)
    return max(parts, key=lambda p: len(terms & content_terms(p)))


@dataclass(frozen=True)
class Evidence:
    """The sentences of some passages, and every span of them, ready to check claims against."""

    spans: tuple[Span, ...]
    vectors: np.ndarray  # one per span
    proper: frozenset[str]  # name keys the passages capitalize inside sentences


def passage_evidence(passages: Sequence[str], embed: Embed) -> Evidence:
    """Split passages into sentences and spans; embed the sentences once (`embed`: texts ->
    vectors, e.g. an Embeddings' embed_documents). Text that addresses the model is never
    evidence, and a span never reaches across it."""
    texts: list[str] = []
    where: list[tuple[int, int, int]] = []
    adjacent: list[bool] = []
    for p, passage in enumerate(passages):
        bounds = sentence_spans(passage)
        flags = flag_instructions([passage[a:b] for a, b in bounds])
        prev_end: int | None = None
        for (a, b), flagged in zip(bounds, flags, strict=True):
            if flagged:
                prev_end = None
                continue
            adjacent.append(prev_end is not None and not passage[prev_end:a].strip())
            texts.append(passage[a:b])
            where.append((p, a, b))
            prev_end = b
    vecs = np.asarray(embed(texts), dtype=np.float32) if texts else np.zeros((0, 0))
    members = spans([w[0] for w in where], adjacent)
    all_spans = tuple(
        Span(
            where[m[0]][0],
            where[m[0]][1],
            where[m[-1]][2],
            passages[where[m[0]][0]][where[m[0]][1] : where[m[-1]][2]],
            m,
        )
        for m in members
    )
    return Evidence(
        all_spans,
        span_vectors(vecs, members),
        frozenset(proper_names(" ".join(passages))),
    )
