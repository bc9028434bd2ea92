"""Check answer sentences against candidate snippets: lexical and embedding support.

Pure functions over plain data; the embedding similarities are computed by the caller.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from qa.injection import flag_instructions
from qa.injection import looks_like_instruction as looks_like_instruction  # re-exported
from qa.types import Hit

_WORD = re.compile(r"[\w'’-]+")
_STOP = """a an the and or but if of to in on at by for with from as is are was were be been being
it its this that these those there their they them he she his her we our you your i me my
do does did has have had not no so than then too very can could would should will may might
what which who whom whose when where why how also just about into over after before up out
says said say according answer answers passage passages article articles
mentioned mention text question"""
STOPWORDS = frozenset(_STOP.split())


@dataclass(frozen=True)
class Candidate:
    """One sentence of a retrieved chunk: a possible snippet to cite."""

    hit: Hit
    text: str
    start: int  # offsets in the article (chunk.start + offset in chunk)
    end: int


@functools.cache
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


@functools.cache
def _stemmer() -> Any:
    import Stemmer

    return Stemmer.Stemmer("english")


def content_terms(text: str) -> set[str]:
    """Stemmed, lowercased words that carry meaning (no stopwords, no [n] markers)."""
    words = _WORD.findall(re.sub(r"\[\d+\]", " ", text).lower())
    return {_stem(w.strip("'’-")) for w in words if w.strip("'’-") and w not in STOPWORDS}


def lexical_support(sentence: str, snippet: str) -> float:
    """Share of the sentence's content terms that appear in the snippet (1.0 = all)."""
    s = content_terms(sentence)
    if not s:
        return 0.0
    return len(s & content_terms(snippet)) / len(s)


# A "sentence" of fewer words than this is a dateline or a fragment ("MOSCOW, February 7.",
# "/TASS/."): it opens the sentence after it, whose date and place it gives.
DATELINE_WORDS = 4


def candidates(hits: list[Hit]) -> list[Candidate]:
    """Sentences of the hits, with article offsets; instruction-like text is left out."""
    from ingest.chunking import sentence_spans

    out = []
    for hit in hits:
        text = hit.chunk.text
        spans = sentence_spans(text)
        texts = [text[a:b] for a, b in spans]
        lead: int | None = None  # where a dateline before this sentence starts
        for (a, b), sentence, flagged in zip(spans, texts, flag_instructions(texts), strict=True):
            short = len(_WORD.findall(sentence)) < DATELINE_WORDS
            if flagged or (short and not sentence.endswith(".")):
                lead = None
                continue
            if short:  # "MOSCOW, February 7." "/TASS/.": a dateline, part of what follows
                lead = a if lead is None else lead
                continue
            if lead is not None and "\n" in text[lead:a]:
                lead = None  # a line of its own (a heading), not a dateline
            start = a if lead is None else lead
            lead = None
            out.append(Candidate(hit, text[start:b], hit.chunk.start + start, hit.chunk.start + b))
    return out


# Model boilerplate around the actual claim ("The answer is: 9,000").
_PREAMBLE = re.compile(
    r"^\s*(the (short )?answer is|answer|according to (the )?(passages?|articles?|text|quotes?)"
    r"( \[\d+\])?|based on (the )?(passages?|articles?|quotes?)"
    r"|(the )?quotes?( from (the )?news articles?)?( say| says)?)\s*[:,]?\s*",
    re.I,
)


def split_answer(text: str) -> list[tuple[str, list[int]]]:
    """Answer text -> [(sentence without markers, [cited passage numbers])]."""
    from ingest.chunking import sentence_spans

    out = []
    for a, b in sentence_spans(text):
        sent = text[a:b]
        cited = [int(n) for n in re.findall(r"\[(\d+)\]", sent)]
        clean = re.sub(r"\s*\[\d+(?:,\s*\d+)*\]", "", sent).strip()
        clean = _PREAMBLE.sub("", clean).strip().strip("\"“”'").strip()
        if re.sub(r"\W", "", clean):
            out.append((clean, cited))
    return out
