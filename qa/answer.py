"""Answer a question from retrieved passages, with every kept sentence backed by a snippet.

The pipeline: retrieve passages, rank their sentences against the question, let the LLM draft
a short answer from the best sentences (or whole passages), then verify. A drafted sentence
stays only if up to three consecutive sentences of a retrieved article state the same facts
(numbers, names, negation: qa/claims.py) and paraphrase it; that span becomes its citation,
verbatim, with its offsets in the article. Removed sentences are listed with the reason.
The best-matching sentence itself follows the direct answer as quoted evidence, so the reader
(and the metrics) always get the article's own words, unless a shorter kept sentence whose
citation holds it opens the answer: nothing is said twice. When nothing the model said can
be verified (small local models invent details), the evidence alone is the answer.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from qa.answerability import has_type, judge
from qa.claims import Span, Verdict, check_sentences, span_vectors, spans
from qa.conflicts import find_conflict
from qa.errors import ArticleQAError, BackendError
from qa.facts import name_key, name_mentions, number_mentions, proper_names
from qa.kinds import FACTOID, question_kind
from qa.prompts import render
from qa.retrieve import Filters, Retriever
from qa.rewrite import Turn, follow_up
from qa.short_answer import DATE, NAME, NUMBER, question_type
from qa.timewords import named_days
from qa.types import Answer, Citation, Hit, final_answer
from qa.verify import (
    Candidate,
    candidates,
    content_terms,
    lexical_support,
    looks_like_instruction,
    split_answer,
)

NOT_FOUND = "The indexed articles do not say."
# A second evidence sentence is quoted when it ranks nearly as high as the first.
SECOND_EVIDENCE_MARGIN = 0.2
# A drafted sentence whose support ranks this far below the best sentence (relevance to the
# question) answers something else: small models copy a verbatim sentence of another quote.
# On 460 XQuAD dev questions 0.5 removed 13 of 202 kept model sentences, 12 of them wrong and
# none an answer's only gold (docs/benchmarks.md).
OFF_TOPIC_GAP = 0.5
# The answer's first sentence is a direct answer: a long quote there is cut to this many words.
FIRST_SENTENCE_WORDS = 30
# ... unless it is at most this long: then it opens whole, since what was asked often lies
# outside the short window and the sentence is not repeated after it. XQuAD dev, extractive,
# contains-gold: 45 words 0.819, 60 0.825, 80 0.828, always whole 0.830 (docs/no_repeat.md).
LEAD_WHOLE_WORDS = 80
# Quotes or sentences after the opening one.
MAX_SUPPORTING = 2
# Relevance added to sentences of articles published on the day the question names (or the
# day after): a judgment sized to beat a near-tie in wording, not a clearly better match.
DAY_BONUS = 0.1


@dataclass(frozen=True)
class _Support:
    sentence: str  # as it will appear in the answer
    candidate: Candidate
    score: float
    quoted: bool = False  # the article's own words, shown in quotation marks
    question_terms: frozenset[str] = frozenset()  # to cut a long quote around what was asked


def stream_answer(
    question: str,
    *,
    retriever: Retriever,
    llm: BaseChatModel | None,
    history: Sequence[Turn] = (),
    k: int = 5,
    filters: Filters | None = None,
    min_relevance: float = 0.25,
    context: str = "sentences",
    quotes: int = 4,
) -> Iterator[str | Answer]:
    """Yield the model's tokens as they come, then the final verified Answer (last item)."""
    resolved = follow_up(question, history)
    query = resolved.retrieval
    kind = question_kind(question)
    if kind != FACTOID:
        from qa.digest import digest_answer  # imports this module

        digest = digest_answer(
            question, kind=kind, query=query, retriever=retriever, filters=filters
        )
        if digest is not None:
            yield digest
            return
    hits, window = retriever.search_in_window(query, k=k, filters=filters)
    # A follow-up's sentences are ranked by the question asked (plus the name it refers to),
    # not by the previous question that retrieval needed.
    r = rank_sentences(resolved.ranking, hits, retriever.embeddings)
    window_notes = [window.note] if window and window.note else []
    idf = retriever.lexical_index().idf
    verdict = judge(resolved.ranking, hits, r, idf=idf, min_cosine=min_relevance)
    if not verdict.answerable:
        yield Answer(
            question,
            NOT_FOUND,
            False,
            standalone_question=query,
            notes=tuple([*window_notes, verdict.reason]),
            closest=tuple(hits),
            time_window=window,
            kind=kind,
        )
        return
    cands, cv, relevance, ranked = r.cands, r.vectors, r.relevance, r.order

    draft = ""
    if llm is not None:
        for token in _draft(llm, query, hits, [cands[i] for i in ranked[:quotes]], context):
            draft += token
            yield token
    checked = _verify(draft, resolved.ranking, r, retriever.embeddings.embed_documents)
    supports = checked.kept
    notes = window_notes
    details = [
        f"removed from the model's answer ({why}): “{text}”" for text, why in checked.removed
    ]
    if llm is not None and not supports:
        details.append("the model's answer could not be verified; quoting the articles instead")
    conflict = find_conflict(cands, cv, relevance, ranked)
    if conflict:
        notes.append("the articles give different figures; both are cited, newest first")
        evidence = [
            _Support(c.text, c, float(relevance[cands.index(c)]), quoted=True) for c in conflict
        ]
    else:
        asked = frozenset(content_terms(resolved.ranking))
        evidence = _evidence(cands, relevance, ranked, asked, resolved.ranking)
    parts = _lead_short(supports, evidence, keep_evidence_last=bool(conflict))
    composed = _compose(question, query, parts, notes, disagree=bool(conflict))
    drafted = len(supports) + len(checked.removed)
    yield replace(
        composed,
        drafted=drafted,
        verified=len(supports),
        removed=tuple(checked.removed),
        time_window=window,
        details=tuple(details),
        kind=kind,
    )


@dataclass(frozen=True)
class Ranked:
    """The retrieved passages' sentences ranked against the question."""

    cands: list[Candidate]
    vectors: np.ndarray  # one embedding per candidate
    relevance: np.ndarray  # ranking score per candidate
    order: list[int]  # candidate indexes, best first
    best: float  # cosine of the most relevant chunk or sentence: the refusal signal


def rank_sentences(query: str, hits: list[Hit], embeddings: Embeddings) -> Ranked:
    """Score every sentence of the hits by embedding similarity and shared words."""
    cands = candidates(hits)
    qv = np.asarray(embeddings.embed_query(query), dtype=np.float32)
    cv = np.asarray(embeddings.embed_documents([c.text for c in cands]), dtype=np.float32)
    cosine = cv @ qv if len(cands) else np.zeros(0, dtype=np.float32)
    # A whole chunk dilutes one relevant sentence, so the best sentence counts too.
    best = max(
        [float(h.meta.get("cosine", 0.0)) for h in hits] + [float(x) for x in cosine],
        default=0.0,
    )
    relevance = cosine + 0.3 * np.asarray([lexical_support(query, c.text) for c in cands])
    # Headlines, bylines and captions match questions well but answer nothing: prefer sentences.
    relevance -= 0.15 * np.asarray([c.text.rstrip("\"'”’)")[-1:] not in ".!?" for c in cands])
    days = named_days(query)
    if days:
        # "the Brent price on February 7": a report published that day or the next is about
        # that day; one from March gives March's price, however alike its words.
        relevance += DAY_BONUS * np.asarray([_reports_day(c, days) for c in cands])
    order = [int(i) for i in np.argsort(-relevance)]
    return Ranked(cands, cv, relevance, order, best)


def _reports_day(c: Candidate, days: list[tuple[int | None, int, int]]) -> bool:
    """The candidate's article was published on one of the days, or the day after."""
    try:
        published = date.fromisoformat(str(c.hit.meta.get("published", ""))[:10])
    except ValueError:
        return False
    for year, month, day in days:
        try:
            named = date(year or published.year, month, day)
        except ValueError:
            continue
        if 0 <= (published - named).days <= 1:
            return True
    return False


def answer(question: str, **kwargs: object) -> Answer:
    """The final Answer of `stream_answer` (same keyword arguments), without the tokens."""
    return final_answer(stream_answer(question, **kwargs))  # type: ignore[arg-type]


def _draft(
    llm: BaseChatModel, query: str, hits: list[Hit], top: list[Candidate], context: str
) -> Iterator[str]:
    """Stream the model's draft from the best sentences (or the passages)."""
    if context == "passages":
        user = render("answer_passages", passages=_passages(hits), question=query)
    else:
        quoted = [
            render(
                "quote",
                n=n,
                text=_data(c.text),
                title=_data(str(c.hit.meta.get("title", ""))) or "untitled",
                published=str(c.hit.meta.get("published", ""))[:10] or "undated",
            )
            for n, c in enumerate(top, 1)
        ]
        user = render("answer_user", passages="\n".join(quoted), question=query)
    messages = [SystemMessage(render("answer_system")), HumanMessage(user)]
    try:
        for chunk in llm.stream(messages):
            token = chunk.content if isinstance(chunk.content, str) else ""
            if token:
                yield token
    except ArticleQAError:
        raise
    except Exception as e:  # each provider raises its own types; the user needs one line
        raise BackendError(f"the {llm._llm_type} model failed: {e}") from e


def _data(text: str) -> str:
    """Article text as inert data inside the prompt (no fake delimiters or quote breaks)."""
    return text.replace("<<<", "«").replace(">>>", "»").replace('"', "'")


def _passages(hits: list[Hit]) -> str:
    parts = []
    for n, h in enumerate(hits, 1):
        # Sentences that address the model are dropped from the data it reads.
        text = " ".join(c.text for c in candidates([h])) or h.chunk.text
        parts.append(
            render(
                "passage",
                n=n,
                title=_data(str(h.meta.get("title", ""))) or "untitled",
                published=str(h.meta.get("published", ""))[:10] or "undated",
                text=_data(text),
            )
        )
    return "\n\n".join(parts)


def windows(
    cands: list[Candidate], cv: np.ndarray
) -> tuple[list[Candidate], list[Span], np.ndarray]:
    """Every run of up to three consecutive candidate sentences of one chunk, as a Candidate
    (its verbatim text and article offsets, for the citation), a Span (for the verifier) and
    an embedding (the normalized mean of its sentences')."""
    same: list[bool] = []
    for i, c in enumerate(cands):
        prev = cands[i - 1] if i else None
        same.append(
            prev is not None
            and prev.hit is c.hit
            and not c.hit.chunk.text[
                prev.end - c.hit.chunk.start : c.start - c.hit.chunk.start
            ].strip()
        )
    members = spans([0] * len(cands), same)
    out: list[Candidate] = []
    all_spans: list[Span] = []
    for m in members:
        first, last = cands[m[0]], cands[m[-1]]
        base = first.hit.chunk.start
        text = first.hit.chunk.text[first.start - base : last.end - base]
        out.append(Candidate(first.hit, text, first.start, last.end))
        all_spans.append(Span(m[0], first.start, last.end, text, m))
    return out, all_spans, span_vectors(cv, members)


@dataclass(frozen=True)
class _Checked:
    """What verification made of a draft: the kept sentences and the removed ones."""

    kept: list[_Support]
    removed: list[tuple[str, str]]  # (sentence, reason)


def _verify(
    draft: str,
    query: str,
    r: Ranked,
    embed: Callable[[list[str]], list[list[float]]],
) -> _Checked:
    """Check each drafted sentence's claims against spans of the retrieved articles; the
    supporting span becomes its citation. Record why the others were removed."""
    sentences = [
        s
        for s, _ in split_answer(draft)
        if "do not say" not in s.lower() and not looks_like_instruction(s)
    ]
    if not sentences:
        return _Checked([], [])
    spans_c, all_spans, span_vecs = windows(r.cands, r.vectors)
    sv = np.asarray(embed(sentences), dtype=np.float32)
    proper = frozenset(proper_names(" ".join(h.chunk.text for h in _hits(r.cands))))
    verdicts = check_sentences(sentences, sv, all_spans, span_vecs, proper=proper)
    asked = content_terms(query)
    # Small models copy a quote's label ("Title, 2017-03-01") as if it were an answer; words
    # from titles and dates alone answer nothing.
    labels = [
        content_terms(f"{c.hit.meta.get('title', '')} undated {c.hit.meta.get('published', '')}")
        for c in r.cands
    ]
    top = float(r.relevance.max()) if len(r.relevance) else 0.0
    kept: list[_Support] = []
    removed: list[tuple[str, str]] = []
    for v in verdicts:
        # What the sentence adds beyond the question must be in the span: restating the
        # question, or pinning an invented fact on the question's words, is not an answer.
        new = content_terms(v.sentence) - asked
        if any(new <= label for label in labels) and not _said_in_body(new, v, spans_c):
            removed.append((v.sentence, "only repeats a quote's title or date"))
            continue
        if not v.supported or v.span is None:
            removed.append((v.sentence, v.reason))
            continue
        span = all_spans[v.span]
        if not new or len(new & content_terms(span.text)) < 0.75 * len(new):
            removed.append((v.sentence, "adds nothing the evidence says beyond the question"))
            continue
        # Judged by the span's sentence that says it (most of its words), not by a neighbour
        # that happens to match the question better.
        said = content_terms(v.sentence)
        main = max(span.sentences, key=lambda i: len(said & content_terms(r.cands[i].text)))
        relevance = float(r.relevance[main])
        if top - relevance > OFF_TOPIC_GAP:
            removed.append((v.sentence, "does not address the question"))
            continue
        if all(v.sentence != k.sentence for k in kept):
            kept.append(_Support(v.sentence, spans_c[v.span], v.score + relevance))
    return _Checked(kept, removed)


def _said_in_body(new: set[str], v: Verdict, spans_c: list[Candidate]) -> bool:
    """A sentence made of a title's words still answers when its supporting span is article
    text that does not carry the title and holds all of them."""
    if not v.supported or v.span is None:
        return False
    c = spans_c[v.span]
    title = str(c.hit.meta.get("title", "")).strip(" .")
    return title not in c.text and new <= content_terms(c.text)


def _hits(cands: list[Candidate]) -> list[Hit]:
    """The distinct hits the candidates come from, in order."""
    return list({id(c.hit): c.hit for c in cands}.values())


def _evidence(
    cands: list[Candidate],
    relevance: np.ndarray,
    ranked: list[int],
    asked: frozenset[str] = frozenset(),
    question: str = "",
) -> list[_Support]:
    """The best-matching sentence (two when they rank close), quoted after the direct answer.

    Shown even when a drafted sentence says the same, unless that one is shorter and comes
    first (_lead_short): a recombination of article words can pass verification, the
    article's own sentence cannot mislead.
    """
    top = float(relevance[ranked[0]])
    picks = [ranked[0]]
    if len(ranked) > 1 and top - float(relevance[ranked[1]]) <= SECOND_EVIDENCE_MARGIN:
        picks.append(ranked[1])
    quotes = [cands[i] for i in picks]
    if question:
        quotes[0] = _with_what_is_asked(cands, picks[0], question)
    return [
        _Support(c.text, c, float(relevance[i]), quoted=True, question_terms=asked)
        for c, i in zip(quotes, picks, strict=True)
    ]


_CALENDAR_WORDS = frozenset(name_key(w) for w in [*calendar.day_name, *calendar.month_name[1:]])


def _with_what_is_asked(cands: list[Candidate], i: int, question: str) -> Candidate:
    """Candidate i, joined with the sentence after it in its passage when the question asks
    for a name, a number or a date that only that next sentence gives ("Which official
    resigned?": "The city's finance chief resigned on Monday." + "Maria Lopez had ...").
    On XQuAD dev (extractive) contains-gold 0.828 -> 0.837, median length unchanged."""
    wants = question_type(question)
    if wants not in (NAME, NUMBER, DATE) or i + 1 >= len(cands):
        return cands[i]
    c, nxt = cands[i], cands[i + 1]
    text = c.hit.chunk.text
    if (
        nxt.hit is not c.hit
        or not text[c.end - c.hit.chunk.start : nxt.start - c.hit.chunk.start].isspace()
    ):
        return c
    if _gives(wants, c.text, question) or not _gives(wants, nxt.text, question):
        return c
    joined = text[c.start - c.hit.chunk.start : nxt.end - c.hit.chunk.start]
    return Candidate(c.hit, joined, c.start, nxt.end)


def _gives(wants: str, sentence: str, question: str) -> bool:
    """The sentence holds a name, number or date of the kind asked that the question lacks."""
    if wants == NAME:  # a weekday or a month is capitalized, but names no one
        mine = {m.key for m in name_mentions(sentence)} - _CALENDAR_WORDS
        return bool(mine - {m.key for m in name_mentions(question)})
    if wants == NUMBER:
        return bool(
            {v for v, _, _ in number_mentions(sentence)}
            - {v for v, _, _ in number_mentions(question)}
        )
    return has_type("time", sentence) and not has_type("time", question)


def _same(a: _Support, b: _Support) -> bool:
    """Whether a and b say the same: one's words hold the other's, or a quote lies within
    the citation span of a drafted sentence (which then restates it)."""
    x, y = _plain(a.sentence), _plain(b.sentence)
    if x in y or y in x:
        return True
    if a.quoted == b.quoted:
        return False
    quote, drafted = (a, b) if a.quoted else (b, a)
    q, d = quote.candidate, drafted.candidate
    return (
        q.hit.chunk.article_id == d.hit.chunk.article_id and d.start <= q.start and q.end <= d.end
    )


def _lead_short(
    supports: list[_Support], evidence: list[_Support], *, keep_evidence_last: bool
) -> list[_Support]:
    """Supports then evidence, reordered so the answer opens with a short direct answer (a
    model sentence over FIRST_SENTENCE_WORDS gives way to a shorter one, or else to the
    evidence quote), without anything said twice, and at most MAX_SUPPORTING after it.

    With `keep_evidence_last`, the evidence is the two conflicting reports: both stay, last.
    """

    def short(s: _Support) -> bool:
        return len(s.sentence.split()) <= FIRST_SENTENCE_WORDS

    if keep_evidence_last:
        # The conflicting reports close the answer; a support saying one of them again goes.
        rest = _distinct([s for s in supports if not any(_same(s, e) for e in evidence)])
        return [*rest[: max(0, MAX_SUPPORTING + 1 - len(evidence))], *evidence]
    lead = next((s for s in supports if short(s)), None)
    if lead is None:
        parts = evidence + supports
    else:
        # The best quote comes right after the lead, before the model's other sentences: the
        # cap below must never cut the article's own words (a model that wrote three kept
        # sentences pushed it out and cost contains-gold 0.81 -> 0.72 on XQuAD).
        others = [s for s in supports if s is not lead]
        parts = [lead, *evidence[:1], *others, *evidence[1:]]
    return _distinct(parts)[: 1 + MAX_SUPPORTING]


def _distinct(parts: list[_Support]) -> list[_Support]:
    """The parts in order, less any that says what an earlier one already says."""
    kept: list[_Support] = []
    for p in parts:
        if not any(_same(p, k) for k in kept):
            kept.append(p)
    return kept


def _plain(text: str) -> str:
    return " ".join(text.lower().strip(" .!?\"“”'").split())


def excerpt(text: str, asked: frozenset[str], words: int) -> str:
    """The `words`-word stretch of text around the question's terms, with ellipses."""
    tokens = text.split()
    # Question words locate the answer; capitalized words and numbers not asked about are
    # what answers tend to be, so they count too.
    weight = [
        (1.0 if content_terms(t) & asked else 0.0)
        + (
            0.5
            if (t[:1].isupper() or any(c.isdigit() for c in t)) and not content_terms(t) & asked
            else 0.0
        )
        for t in tokens
    ]
    asked_at = [1.0 if content_terms(t) & asked else 0.0 for t in tokens]
    # The answer tends to follow the question's words: a window that ends on them cuts it off,
    # so they count only in its first two thirds (docs/no_repeat.md).
    lead = 2 * words // 3

    def score(i: int) -> float:
        return sum(weight[i : i + words]) - sum(asked_at[i + lead : i + words])

    best = max(range(len(tokens) - words + 1), key=score)
    cut = " ".join(tokens[best : best + words])
    return ("… " if best > 0 else "") + cut + (" …" if best + words < len(tokens) else "")


def _compose(
    question: str, query: str, supports: list[_Support], notes: list[str], disagree: bool = False
) -> Answer:
    """Number citations by strength of support and put their markers in the text.

    With `disagree`, the last two supports are the conflicting reports, newest first: they are
    numbered in that order and introduced as such.
    """
    order = sorted({id(s.candidate): s for s in supports}.values(), key=lambda s: -s.score)
    if disagree:
        pair = [id(s.candidate) for s in supports[-2:]]
        order = [s for s in order if id(s.candidate) not in pair] + supports[-2:]
    number = {id(s.candidate): n for n, s in enumerate(order, 1)}
    citations = tuple(_citation(number[id(s.candidate)], s) for s in order)
    parts = [_cite(s, number[id(s.candidate)]) for s in supports]
    if supports and supports[0].quoted and len(supports[0].sentence.split()) > LEAD_WHOLE_WORDS:
        # A very long quote opens with its words that match the question, as a short direct
        # answer, and is not repeated whole.
        parts[0] = _cite(supports[0], number[id(supports[0].candidate)], FIRST_SENTENCE_WORDS)
    if disagree:
        dated = [
            f"{str(s.candidate.hit.meta.get('published', ''))[:10] or 'undated'}: {p}"
            for s, p in zip(supports[-2:], parts[-2:], strict=True)
        ]
        parts = [*parts[:-2], "Reports differ — " + "; ".join(dated)]
    text = " ".join(parts)
    return Answer(question, text, True, citations, standalone_question=query, notes=tuple(notes))


def _citation(n: int, s: _Support) -> Citation:
    return citation(n, s.candidate, round(s.score, 4))


def citation(n: int, c: Candidate, score: float) -> Citation:
    """Citation [n]: the candidate's verbatim text, its offsets and its article's metadata."""
    meta = c.hit.meta
    return Citation(
        id=n,
        chunk_id=c.hit.chunk.id,
        article_id=c.hit.chunk.article_id,
        title=str(meta.get("title", "")),
        url=str(meta.get("url", "")),
        source=str(meta.get("source", "")),
        published=str(meta.get("published", "")),
        path=str(meta.get("path", "")),
        snippet=c.text,
        start=c.start,
        end=c.end,
        score=score,
    )


def _cite(s: _Support, n: int, window: int = 0) -> str:
    """'It rained.' -> 'It rained [1].'; a quote keeps its own punctuation: '“...” [1]'.

    With `window`, a longer quote is cut to its `window` words that share most with the
    question (marked with ellipses), so a first sentence stays a short, direct answer.
    """
    text = s.sentence.strip()
    if s.quoted:
        if window and len(text.split()) > window:
            text = excerpt(text, s.question_terms, window)
        return f"“{text}” [{n}]"
    stop = text[-1] if text[-1:] in ".!?" else "."
    return f"{text.rstrip('.!?').rstrip()} [{n}]{stop}"
