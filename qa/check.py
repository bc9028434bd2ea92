"""`articleqa check`: verify any text (a draft, a claim, another model's answer) sentence by
sentence against the indexed articles or against passages the caller gives.

The same claim-level verifier as the answer path (qa/claims.py); each sentence gets a verdict,
a reason and its evidence span, verbatim with offsets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.claims import Evidence, Verdict, check_sentences, passage_evidence
from qa.retrieve import Filters, Retriever
from qa.types import Hit
from qa.verify import split_answer

# Passages retrieved per sentence when checking against the index.
CHECK_K = 5


@dataclass(frozen=True)
class EvidenceSpan:
    """Where a sentence's evidence is: a passage given to check, or a stored article."""

    passage: int | None
    article_id: str | None
    start: int
    end: int
    snippet: str
    title: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the check --json schema)."""
        return {
            "passage": self.passage,
            "article_id": self.article_id,
            "start": self.start,
            "end": self.end,
            "snippet": self.snippet,
        }


@dataclass(frozen=True)
class SentenceCheck:
    """One sentence's verdict."""

    text: str
    supported: bool
    reason: str
    evidence: tuple[EvidenceSpan, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the check --json schema)."""
        return {
            "text": self.text,
            "supported": self.supported,
            "reason": self.reason,
            "evidence": [e.to_dict() for e in self.evidence],
        }


@dataclass(frozen=True)
class CheckResult:
    """Every sentence of a text checked; `supported` when all of them are."""

    sentences: tuple[SentenceCheck, ...] = field(default_factory=tuple)

    @property
    def supported(self) -> bool:
        """True when the text has sentences and every one is supported."""
        return bool(self.sentences) and all(s.supported for s in self.sentences)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: {"supported", "sentences": [...]}."""
        return {"supported": self.supported, "sentences": [s.to_dict() for s in self.sentences]}


def claim_sentences(text: str) -> list[str]:
    """The sentences of a text as they are checked (citation markers and "The answer is:"
    preambles removed)."""
    return [s for s, _ in split_answer(text)]


def check_passages(text: str, passages: Sequence[str], embeddings: Embeddings) -> CheckResult:
    """Check text against the given passages only."""
    sentences = claim_sentences(text)
    if not sentences:
        return CheckResult()
    evidence = passage_evidence(passages, embeddings.embed_documents)
    verdicts = _verdicts(sentences, evidence, embeddings)
    return CheckResult(
        tuple(
            SentenceCheck(v.sentence, v.supported, v.reason, _given_span(evidence, v))
            for v in verdicts
        )
    )


def check_index(
    text: str,
    retriever: Retriever,
    *,
    question: str = "",
    filters: Filters | None = None,
    k: int = CHECK_K,
) -> CheckResult:
    """Check text against the indexed articles: each sentence against the passages
    retrieved for it (and for the question, when given)."""
    sentences = claim_sentences(text)
    out = []
    for sentence in sentences:
        query = f"{question} {sentence}".strip() if question else sentence
        hits = retriever.search(query, k=k, filters=filters)
        evidence = passage_evidence(
            [h.chunk.text for h in hits], retriever.embeddings.embed_documents
        )
        (v,) = _verdicts([sentence], evidence, retriever.embeddings)
        out.append(
            SentenceCheck(v.sentence, v.supported, v.reason, _stored_span(evidence, v, hits))
        )
    return CheckResult(tuple(out))


def _verdicts(sentences: list[str], evidence: Evidence, embeddings: Embeddings) -> list[Verdict]:
    vectors = np.asarray(embeddings.embed_documents(sentences), dtype=np.float32)
    return check_sentences(
        sentences, vectors, evidence.spans, evidence.vectors, proper=evidence.proper
    )


def _given_span(evidence: Evidence, v: Verdict) -> tuple[EvidenceSpan, ...]:
    if v.span is None:
        return ()
    s = evidence.spans[v.span]
    return (EvidenceSpan(s.passage, None, s.start, s.end, s.text),)


def _stored_span(evidence: Evidence, v: Verdict, hits: list[Hit]) -> tuple[EvidenceSpan, ...]:
    if v.span is None:
        return ()
    s = evidence.spans[v.span]
    hit = hits[s.passage]
    start = hit.chunk.start + s.start
    return (
        EvidenceSpan(
            None, hit.chunk.article_id, start, start + len(s.text), s.text, title=hit.title
        ),
    )
