"""Answer a question from retrieved passages, with every kept sentence backed by a snippet.

The LLM drafts; verification decides. A drafted sentence stays only if a sentence of the
retrieved articles supports it (lexically, and by embedding similarity); the snippet that
supports it becomes its citation. When nothing the model said can be verified (small local
models invent details), the best-matching sentence of the articles is quoted instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from qa.prompts import render
from qa.retrieve import Filters, Retriever
from qa.rewrite import Turn, standalone_question
from qa.types import Answer, Citation, Hit
from qa.verify import Candidate, candidates, lexical_support, looks_like_instruction, split_answer

NOT_FOUND = "The indexed articles do not say."
# Support thresholds (lexical share of content words, embedding cosine); see docs/benchmarks.md.
LEXICAL_MIN = 0.6
LEXICAL_STRONG = 0.85
COSINE_MIN = 0.45


@dataclass(frozen=True)
class _Support:
    sentence: str
    candidate: Candidate
    score: float


def stream_answer(
    question: str,
    *,
    retriever: Retriever,
    llm: BaseChatModel | None,
    history: Sequence[Turn] = (),
    k: int = 5,
    filters: Filters | None = None,
    min_relevance: float = 0.25,
) -> Iterator[str | Answer]:
    """Yield the model's tokens as they come, then the final verified Answer (last item)."""
    query = standalone_question(question, history, llm)
    hits = retriever.search(query, k=k, filters=filters)
    cands = candidates(hits)
    emb = retriever.embeddings
    qv = np.asarray(emb.embed_query(query), dtype=np.float32)
    cv = np.asarray(emb.embed_documents([c.text for c in cands]), dtype=np.float32)
    cosine = cv @ qv if len(cands) else np.zeros(0, dtype=np.float32)
    # Relevance of the best passage: a whole chunk dilutes one relevant sentence, so the
    # best sentence counts too.
    best = max(
        [float(h.meta.get("cosine", 0.0)) for h in hits] + [float(x) for x in cosine],
        default=0.0,
    )
    if not cands or best < min_relevance:
        yield Answer(question, NOT_FOUND, False, standalone_question=query, closest=tuple(hits))
        return
    relevance = cosine + 0.3 * np.asarray([lexical_support(query, c.text) for c in cands])
    # Headlines, bylines and captions match questions well but answer nothing: prefer sentences.
    relevance -= 0.15 * np.asarray([c.text.rstrip("\"'”’)")[-1:] not in ".!?" for c in cands])

    draft = ""
    if llm is not None:
        messages = [
            SystemMessage(render("answer_system")),
            HumanMessage(render("answer_user", passages=_passages(hits), question=query)),
        ]
        for chunk in llm.stream(messages):
            token = chunk.content if isinstance(chunk.content, str) else ""
            draft += token
            if token:
                yield token
    supports, dropped = _verify(draft, cands, cv, relevance, emb.embed_documents)
    notes: list[str] = []
    if dropped:
        notes.append(
            f"{dropped} sentence(s) of the model's answer had no support in the "
            "articles and were removed"
        )
    if not supports:
        top = int(np.argmax(relevance))
        supports = [_Support(cands[top].text, cands[top], float(relevance[top]))]
        if llm is not None:
            notes.append("showing the best-matching passage instead of the model's answer")
    yield _compose(question, query, supports, notes)


def answer(question: str, **kwargs: object) -> Answer:
    """The final Answer of `stream_answer` (same keyword arguments), without the tokens."""
    result = None
    for item in stream_answer(question, **kwargs):  # type: ignore[arg-type]
        if isinstance(item, Answer):
            result = item
    assert result is not None
    return result


def _passages(hits: list[Hit]) -> str:
    parts = []
    for n, h in enumerate(hits, 1):
        # Drop sentences that address the model, and our own delimiters, from the data.
        text = " ".join(c.text for c in candidates([h])) or h.chunk.text
        text = text.replace("<<<", "«").replace(">>>", "»")
        parts.append(
            render(
                "passage",
                n=n,
                title=h.meta.get("title", "") or "untitled",
                published=h.meta.get("published", "") or "undated",
                text=text,
            )
        )
    return "\n\n".join(parts)


def _verify(
    draft: str,
    cands: list[Candidate],
    cv: np.ndarray,
    relevance: np.ndarray,
    embed: object,
) -> tuple[list[_Support], int]:
    """Match each drafted sentence to its best supporting candidate; count the unsupported."""
    sentences = [
        s
        for s, _ in split_answer(draft)
        if "do not say" not in s.lower() and not looks_like_instruction(s)
    ]
    if not sentences:
        return [], 0
    sv = np.asarray(embed(sentences), dtype=np.float32)  # type: ignore[operator]
    sims = sv @ cv.T
    kept: list[_Support] = []
    dropped = 0
    for i, sentence in enumerate(sentences):
        best: _Support | None = None
        for j, cand in enumerate(cands):
            lex = lexical_support(sentence, cand.text)
            ok = lex >= LEXICAL_STRONG or (lex >= LEXICAL_MIN and sims[i, j] >= COSINE_MIN)
            score = lex + float(sims[i, j]) + float(relevance[j])
            if ok and (best is None or score > best.score):
                best = _Support(sentence, cand, score)
        if best is None:
            dropped += 1
        elif all(best.sentence != k.sentence for k in kept):
            kept.append(best)
    return kept, dropped


def _compose(question: str, query: str, supports: list[_Support], notes: list[str]) -> Answer:
    """Number citations by strength of support and put their markers in the text."""
    order = sorted({id(s.candidate): s for s in supports}.values(), key=lambda s: -s.score)
    number = {id(s.candidate): n for n, s in enumerate(order, 1)}
    citations = tuple(
        Citation(
            id=number[id(s.candidate)],
            chunk_id=s.candidate.hit.chunk.id,
            article_id=s.candidate.hit.chunk.article_id,
            title=str(s.candidate.hit.meta.get("title", "")),
            url=str(s.candidate.hit.meta.get("url", "")),
            source=str(s.candidate.hit.meta.get("source", "")),
            published=str(s.candidate.hit.meta.get("published", "")),
            path=str(s.candidate.hit.meta.get("path", "")),
            snippet=s.candidate.text,
            start=s.candidate.start,
            end=s.candidate.end,
            score=round(s.score, 4),
        )
        for s in order
    )
    text = " ".join(_cite(s.sentence, number[id(s.candidate)]) for s in supports)
    return Answer(question, text, True, citations, standalone_question=query, notes=tuple(notes))


def _cite(sentence: str, n: int) -> str:
    """'It rained.' -> 'It rained [1].' (the marker inside the sentence it supports)."""
    s = sentence.strip()
    stop = s[-1] if s[-1:] in ".!?" else "."
    return f"{s.rstrip('.!?').rstrip()} [{n}]{stop}"
