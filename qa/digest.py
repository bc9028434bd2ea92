"""Digests and comparisons: one article's own sentence per story, across articles.

A digest question ("What happened with the protests in Romania?") is answered by the best
sentence on the topic from each of the most relevant articles, near-duplicate stories
collapsed, oldest first, each line with its date and source. A comparison ("How do the CNN and
DW reports differ on X?") sets each named source's best sentence side by side. Every line is
an article's verbatim sentence, so it is true of its article by construction, and cited with
the same Citation (snippet and offsets) as factoid answers.

No model draft: a 135M model summarizing six articles cannot be checked sentence by sentence
against six sources as a factoid draft is (it mixes their facts), and the quotes already are
the digest.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import urlsplit

import numpy as np

from qa.answer import NOT_FOUND, Ranked, citation, excerpt, rank_sentences
from qa.kinds import COMPARISON
from qa.retrieve import Filters, Retriever
from qa.store import Store, chunk_from
from qa.timewords import TimeWindow
from qa.types import Answer, Hit
from qa.verify import Candidate, content_terms

# Chunks retrieved for a digest (the retriever keeps at most two per article): wide enough for
# a dozen articles on the topic.
DIGEST_K = 30
# Chunks retrieved per named source in a comparison.
SOURCE_K = 8
MAX_ITEMS = 6
# An article is on the topic when its best sentence's relevance (rank_sentences: cosine plus
# shared words, less a headline penalty) reaches MIN_RELEVANCE and is at most TOPIC_GAP below
# the best article's. Over ten news topics (docs/digests.md) this kept no off-topic article
# and at least six on-topic ones per topic; a fixed 0.65 let 4 off-topic ones through.
MIN_RELEVANCE = 0.45
TOPIC_GAP = 0.3
# Two articles tell the same story (the same report from two outlets, or two versions of one
# article) when their chosen sentences' embeddings are this close, or their titles' are
# SAME_TITLE close and they came out within SAME_DAYS days of each other (docs/digests.md).
SAME_STORY = 0.85
SAME_TITLE = 0.65
SAME_DAYS = 2
# A line's quote: sentences shorter than this many words are titles, bylines or captions.
MIN_WORDS = 6
# A longer sentence is quoted by its LINE_WORDS words around the topic's (with ellipses); its
# citation holds it whole.
LINE_WORDS = 40

_FRAME = re.compile(
    r"\b(?:what|how)\s+(?:has\s+|have\s+)?(?:happened|is\s+happening|went\s+on)\b"
    r"|\b(?:what|how)\s+(?:did|do|does|have|has|is|are|was|were)\s+(?:the\s+)?"
    r"(?:articles?|reports?|news|press|media|coverage|stories|outlets?|sources?)\s+"
    r"(?:say|said|saying|report|reported|reporting|tell|write|wrote|cover|covered)\b"
    r"|\b(?:summari[sz]e|sum\s+up|recap|give\s+me|tell\s+me|catch\s+me\s+up|fill\s+me\s+in)\b"
    r"|\b(?:a|an|the)\s+(?:summary|timeline|chronology|overview|rundown|round-?up|recap)\s+of\b"
    r"|\b(?:timeline|chronology|overview|summary|latest|recent|news|updates?|developments?)\b"
    r"|\b(?:compare|comparing|differ|differently|difference|versus|vs\.?|side\s+by\s+side)\b"
    # "Article 50" is a topic, "the articles" are not.
    r"|\b(?:the\s+)?(?:articles?(?!\s+\d)|reports?|coverage|stories|outlets?)\b"
    r"|\b(?:with|about|on|of|regarding|concerning|in|for|is|are|and)\b(?=\s*$)"
    r"|^\s*(?:any|the|what|how|and|is|are|with|about|on|of|regarding|concerning|in|for)\b",
    re.I,
)
# Not a statement of what happened: links to other stories ("READ MORE: ...", "OPINION:"),
# share buttons, tweets (handles, hashtags, links).
_NOT_NEWS = re.compile(
    r"\b(?:READ MORE|OPINION|EXPLAINED|WATCH|Send Facebook|Whatsapp)\b|https?:|www\.|t\.co/"
    r"|(?:^|\s)[@#]\w"
)


@dataclass(frozen=True)
class Line:
    """One article's chosen sentence for the digest, and how relevant it is."""

    candidate: Candidate
    relevance: float
    vector: np.ndarray
    title_vector: np.ndarray | None = None  # None when the article has no title

    @property
    def published(self) -> str:
        """The article's publication date (ISO), "" when unknown."""
        return str(self.candidate.hit.meta.get("published", ""))


def topic_of(question: str, window: TimeWindow | None = None) -> str:
    """The question's topic: without its digest wording ("what happened with", "summarize
    the news about") and its publication-time words ("last week")."""
    text = question
    if window is not None and window.applied and window.text:
        text = text.replace(window.text, " ")
    for _ in range(5):  # framing words peel off in layers ("is the latest news about the")
        before = text
        text = " ".join(_FRAME.sub(" ", text.strip(" ?.!,;:")).split())
        if text == before:
            break
    return text


def best_per_article(r: Ranked, *, lead: bool = False) -> list[Line]:
    """Each article's most relevant body sentence (not a headline, byline, caption or
    boilerplate), or with `lead` its first one (a question with no topic has no relevance:
    a news article's opening sentence says what happened)."""
    articles: dict[str, set[str]] = {}
    for c in r.cands:
        articles.setdefault(" ".join(c.text.split()), set()).add(c.hit.chunk.article_id)
    order = sorted(r.order, key=lambda i: r.cands[i].start) if lead else r.order
    best: dict[str, int] = {}
    for i in order:
        c = r.cands[i]
        # A sentence that several articles carry word for word is boilerplate ("Sample
        # article written for ...", a newsletter plug), not their news.
        if not is_news_sentence(c.text) or len(articles[" ".join(c.text.split())]) > 1:
            continue
        best.setdefault(c.hit.chunk.article_id, i)
    return [Line(r.cands[i], float(r.relevance[i]), r.vectors[i]) for i in best.values()]


def lead_chunks(hits: Sequence[Hit], store: Store) -> list[Hit]:
    """The first chunk of each article the hits come from, in the hits' order."""
    firsts = list(dict.fromkeys(f"{h.chunk.article_id}:0" for h in hits))
    rows = store.chunks_by_id(firsts)
    score = {h.chunk.article_id: h.score for h in reversed(hits)}  # each article's best
    out = []
    for cid in firsts:
        if cid in rows:
            text, meta = rows[cid]
            chunk = chunk_from(cid, text, meta)
            out.append(Hit(chunk, score.get(chunk.article_id, 0.0), meta))
    return out


def is_news_sentence(text: str) -> bool:
    """A sentence that can stand as a digest line: a statement (not a headline, byline,
    caption, question, link or tweet) of at least MIN_WORDS words."""
    end = text.rstrip("\"'”’)")[-1:]
    return len(text.split()) >= MIN_WORDS and end in ".!" and not _NOT_NEWS.search(text)


def with_titles(
    lines: Sequence[Line], embed: Callable[[list[str]], list[list[float]]]
) -> list[Line]:
    """The lines with their articles' title embeddings (for telling stories apart)."""
    titled = [x for x in lines if x.candidate.hit.title.strip()]
    vectors = embed([x.candidate.hit.title for x in titled]) if titled else []
    tv = {id(x): np.asarray(v, dtype=np.float32) for x, v in zip(titled, vectors, strict=True)}
    return [replace(x, title_vector=tv.get(id(x))) for x in lines]


def same_story(a: Line, b: Line, same_sentence: float = SAME_STORY) -> bool:
    """Whether two lines tell one story: near-identical sentences, or near-identical titles
    a few days apart at most."""
    if float(a.vector @ b.vector) >= same_sentence:
        return True
    if a.title_vector is None or b.title_vector is None:
        return False
    if float(a.title_vector @ b.title_vector) < SAME_TITLE:
        return False
    return _days_apart(a.published, b.published) <= SAME_DAYS


def _days_apart(a: str, b: str) -> int:
    try:
        return abs((date.fromisoformat(a[:10]) - date.fromisoformat(b[:10])).days)
    except ValueError:  # undated: nothing says they are days apart
        return 0


def distinct_stories(lines: Sequence[Line], same_sentence: float = SAME_STORY) -> list[Line]:
    """The lines, most relevant first, less any that tells the story of a kept one again."""
    kept: list[Line] = []
    for line in sorted(lines, key=lambda x: -x.relevance):
        if not any(same_story(line, k, same_sentence) for k in kept):
            kept.append(line)
    return kept


def pick_lines(
    lines: Sequence[Line],
    *,
    min_relevance: float = MIN_RELEVANCE,
    gap: float = TOPIC_GAP,
    same_sentence: float = SAME_STORY,
    limit: int = MAX_ITEMS,
) -> list[Line]:
    """The digest's lines: on the topic, one per story, the `limit` most relevant, oldest
    first (undated last)."""
    top = max((x.relevance for x in lines), default=0.0)
    on_topic = [x for x in lines if x.relevance >= max(min_relevance, top - gap)]
    chosen = distinct_stories(on_topic, same_sentence)[:limit]
    return sorted(chosen, key=lambda x: (not x.published, x.published[:10]))


def named_sources(question: str, sources: Sequence[str]) -> list[tuple[str, str]]:
    """(name as written, source) for each indexed source the question names, in the order
    named: "CNN" -> cnn.com, "Al Jazeera" -> aljazeera.com, "ABC" -> abcnews.go.com."""
    words = [(m.group(0), m.start()) for m in re.finditer(r"[\w&-]+", question)]
    found: dict[str, tuple[int, str]] = {}
    for n in (3, 2, 1):  # longest names first: "Al Jazeera" before "Al"
        for i in range(len(words) - n + 1):
            group = words[i : i + n]
            # Outlets are written as names or acronyms: "the reports" names nothing.
            if not all(w[:1].isupper() for w, _ in group):
                continue
            key = "".join(w for w, _ in group).lower()
            for source in sources:
                label = _label(source)
                if len(key) >= 2 and (label == key or (len(key) >= 3 and label.startswith(key))):
                    found.setdefault(source, (group[0][1], " ".join(w for w, _ in group)))
    return [(name, s) for s, (_, name) in sorted(found.items(), key=lambda x: x[1][0])]


def _label(source: str) -> str:
    """A source's name part: "cnn.com" -> "cnn", "www.dw.com" -> "dw"."""
    host = (urlsplit(source).hostname or source) if "//" in source else source
    parts = [p for p in host.lower().split(".") if p not in ("www", "en", "edition", "m")]
    return re.sub(r"[^a-z0-9]", "", parts[0]) if parts else ""


def digest_answer(
    question: str,
    *,
    kind: str,
    query: str,
    retriever: Retriever,
    filters: Filters | None = None,
    notes: Sequence[str] = (),
) -> Answer | None:
    """The digest (or comparison) Answer, or None when fewer than two articles are on the
    topic (the caller answers as for a fact)."""
    if kind == COMPARISON:
        answer = _comparison(question, query, retriever, filters, notes)
        if answer is not None:
            return answer
    hits, window = retriever.search_in_window(query, k=DIGEST_K, filters=filters)
    topic = topic_of(query, window)
    if window is not None and not window.articles and not topic_of(query.replace(window.text, " ")):
        # "What did the articles say in March 2016?" with nothing from then: a digest of
        # other months' sentences that mention March would answer a question not asked.
        return Answer(
            question,
            NOT_FOUND,
            False,
            standalone_question=query,
            notes=tuple([*notes, window.note]),
            closest=tuple(hits),
            time_window=window,
            kind=kind,
        )
    if not topic:
        # A question with no topic ("What happened last week?") lists the window's articles
        # by their opening chunks, where news says what happened.
        hits = lead_chunks(hits, retriever.store)
    r = rank_sentences(topic or query, hits, retriever.embeddings)
    found = best_per_article(r, lead=not topic)
    if window is not None and window.applied:
        # Undated articles pass a window guessed from the question's words, but a digest of
        # the window lists what was published in it.
        found = [x for x in found if x.published]
    lines = pick_lines(
        with_titles(found, retriever.embeddings.embed_documents),
        # Without a topic every article of the window is on it.
        min_relevance=MIN_RELEVANCE if topic else -np.inf,
        gap=TOPIC_GAP if topic else np.inf,
    )
    if len(lines) < 2:
        return None
    window_notes = [window.note] if window and window.note else []
    asked = frozenset(content_terms(topic))
    text = "\n".join(f"- {_head(x)}: {_quote(x, n, asked)}" for n, x in enumerate(lines, 1))
    return _answer(question, query, kind, text, lines, [*notes, *window_notes], window)


def _comparison(
    question: str,
    query: str,
    retriever: Retriever,
    filters: Filters | None,
    notes: Sequence[str],
) -> Answer | None:
    """Each named source's best sentence on the topic, side by side; None unless the question
    names two sources or more."""
    index = retriever.lexical_index()
    named = named_sources(question, sorted({str(s) for s in index.sources if s}))
    if len(named) < 2:
        return None
    topic = topic_of(query)
    for name, _ in named:
        topic = re.sub(rf"\b{re.escape(name)}(?:'s)?\b", " ", topic)
    topic = topic_of(topic) or query
    base = filters or Filters()
    found: dict[str, list[Line]] = {}
    window = None
    for _, source in named:
        if base.sources and source not in base.sources:
            continue
        hits, window = retriever.search_in_window(
            topic, k=SOURCE_K, filters=Filters((source,), base.since, base.until)
        )
        found[source] = best_per_article(rank_sentences(topic, hits, retriever.embeddings))
    # On the topic as in a digest: relative to the best article of any named source, so a
    # source with only off-topic articles has no line.
    top = max((x.relevance for lines in found.values() for x in lines), default=0.0)
    floor = max(MIN_RELEVANCE, top - TOPIC_GAP)
    parts: list[str] = []
    picked: list[Line] = []
    asked = frozenset(content_terms(topic))
    for name, source in named:
        if source not in found:
            parts.append(f"{name}: the search was limited to other sources.")
            continue
        best = pick_lines(found[source], min_relevance=floor, limit=1)
        if not best:
            parts.append(f"{name}: no article from {source} on this topic in the index.")
            continue
        picked.append(best[0])
        parts.append(f"{name} ({_date(best[0])}): {_quote(best[0], len(picked), asked)}")
    if not picked:
        return None
    return _answer(question, query, COMPARISON, "\n".join(parts), picked, list(notes), window)


def _answer(
    question: str,
    query: str,
    kind: str,
    text: str,
    lines: Sequence[Line],
    notes: Sequence[str],
    window: TimeWindow | None,
) -> Answer:
    citations = tuple(
        citation(n, x.candidate, round(x.relevance, 4)) for n, x in enumerate(lines, 1)
    )
    return Answer(
        question,
        text,
        True,
        citations,
        standalone_question=query,
        notes=tuple(notes),
        time_window=window,
        kind=kind,
    )


def _date(x: Line) -> str:
    return x.published[:10] or "undated"


def _head(x: Line) -> str:
    source = str(x.candidate.hit.meta.get("source", ""))
    return f"{_date(x)}, {source}" if source else _date(x)


def _quote(x: Line, n: int, asked: frozenset[str]) -> str:
    text = " ".join(x.candidate.text.split())
    if len(text.split()) > LINE_WORDS:
        text = excerpt(text, asked, LINE_WORDS)
    return f"“{text}” [{n}]"
