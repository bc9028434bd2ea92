"""The few words that answer a factoid question, copied verbatim from a cited snippet.

Candidate spans (names, numbers, dates, noun-phrase-like runs) are typed by what the question
asks for (its wh-word) and ranked by type match, nearness to the question's words in the
snippet and the snippet's rank. A span is always a slice of a snippet, so it is verified by
construction. Questions that ask for an explanation or a summary get "". Pure functions.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from qa.facts import name_key
from qa.verify import STOPWORDS, content_terms

# What a question asks for.
NAME, DATE, NUMBER, PLACE, THING, NONE = "name", "date", "number", "place", "thing", ""

_EXPLAIN = re.compile(
    r"^\s*(?:why\b|how (?:do|does|did|is|are|was|were|can|could|should|would|has|have)\b"
    r"|what (?:happened|is happening|did \w+ (?:say|report))|summari[sz]e|explain|describe"
    r"|tell me about|what do (?:the )?(?:articles|news|reports) say|give (?:me )?an? overview)",
    re.I,
)
_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?"
    r"|Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day"
_DATES = re.compile(
    rf"\b(?:{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}\s+\d{{4}}|{_WEEKDAY}"
    r"|(?:early |late |mid-)?(?:1\d|20)\d\d(?:s|\s*(?:BC|AD|BCE|CE))?"
    r"|\d{1,2}(?:st|nd|rd|th) century)\b"
)
_SCALE = r"(?:hundred|thousand|million|billion|trillion|mln|bln|bn|m)"
_NUMWORD = (
    r"(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|twenty|thirty"
    r"|forty|fifty|sixty|seventy|eighty|ninety|hundred|dozen|hundreds|thousands|millions)"
)
_NUMBERS = re.compile(
    rf"(?<![\w.])(?:[$€£¥]\s?)?(?:\d(?:[\d,]*\d)?(?:\.\d+)?|{_NUMWORD}\b)(?:\s?(?:%|percent\b))?"
    rf"(?:[\s-]{_SCALE}\b)?",
    re.I,
)
_ROMAN = re.compile(r"[IVXLCDM]+")
_TOKEN = re.compile(r"(?:[^\W\d_]\.){2,}|[^\W_][\w'’-]*|[^\w\s]")
_DATE_WORDS = {"year", "date", "month", "day", "century", "decade", "time", "period", "era"}
_NUMBER_WORDS = {"number", "percentage", "percent", "amount", "population", "size", "price"}
_NUMBER_WORDS |= {"rate", "cost", "length", "distance", "speed", "age", "height", "weight", "total"}
_NUMBER_WORDS |= {"score", "temperature", "value", "share"}
_NAME_WORDS = {"person", "company", "team", "group", "organization", "name", "player", "man"}
_NAME_WORDS |= {"woman", "leader", "president", "country", "city", "party", "individual"}
# People by their role ("Which police official was gunned down?"): news asks this way.
_NAME_WORDS |= {"official", "officer", "minister", "senator", "judge", "politician", "author"}
_NAME_WORDS |= {"candidate", "director", "spokesman", "spokeswoman", "chief", "lawmaker"}
# Inside a name run: "University of Chicago", "Bank of England".
_NAME_GLUE = {"of", "de", "du", "von", "van", "the", "and", "&", "for"}
# Inside a noun-phrase run: "the amount of the solar radiation".
_PHRASE_GLUE = {"of", "the", "a", "an", "and"}
# Words that open sentences capitalized but name nothing, and verbs that end a noun phrase.
_NOT_NAME_WORDS = """despite however although during while since meanwhile following because
thus though other both each many most some several after before in on at as for with by from
like unlike under among between one two three four five six seven eight nine ten now then
today yesterday according"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_VERB_WORDS = """made known found including became become called named used led won took gave
began went came held saw set put caused considered included includes uses help helps
make makes take takes give gives get gets show shows lead leads allow allows provide provides
require requires become becomes remain remains seem seems appear appears contain contains
means call calls know knows find finds believe believes use"""
_VERBS = frozenset(_VERB_WORDS.split())


def question_type(question: str) -> str:
    """What the question asks for: name, date, number, place, thing, or "" (an explanation
    or a summary, which has no short answer)."""
    q = question.strip().lower()
    if _EXPLAIN.search(q):
        return NONE
    words = re.findall(r"[\w']+", q)
    if re.search(r"\bhow (?:many|much|long|old|far|large|big|tall|high|often|fast)\b", q):
        return NUMBER
    if re.search(r"\b(?:when|what (?:year|date|day|month|time|century|decade))\b", q):
        return DATE
    if re.search(r"\b(?:who|whom|whose)\b", q):
        return NAME
    if re.search(r"\bwhere\b", q):
        return PLACE
    m = re.search(r"\b(?:which|what)\s+(?:(?:is|was|are|were|the|a|an)\s+)*((?:\w+\s*){1,3})", q)
    if m:
        # The head noun, or one of the next two words ("what average family size").
        for head in m.group(1).split()[:HEAD_WORDS]:
            if head in _DATE_WORDS:
                return DATE
            if head in _NUMBER_WORDS:
                return NUMBER
            if head in _NAME_WORDS:
                return NAME
    return THING if words else NONE


@dataclass(frozen=True)
class Span:
    """A candidate answer: where it lies in which snippet, and what kind of thing it is."""

    snippet: int  # index of the snippet (its rank)
    start: int
    end: int
    kind: str  # name, date, number or thing


def candidate_spans(snippet: str, rank: int, asked: set[str]) -> list[Span]:
    """Names, dates, numbers and noun-phrase runs of a snippet, without the question's
    words (a span of only question words answers nothing)."""
    out = [Span(rank, m.start(), m.end(), DATE) for m in _DATES.finditer(snippet)]
    dated = [(s.start, s.end) for s in out]
    for m in _NUMBERS.finditer(snippet):
        if not any(a <= m.start() < b for a, b in dated):
            out.append(Span(rank, m.start(), m.end(), NUMBER))
    tokens = list(_TOKEN.finditer(snippet))
    out += _runs(snippet, tokens, asked, rank, name=True)
    out += _runs(snippet, tokens, asked, rank, name=False)
    # A run that cuts a number or date in two ("3" and "62" of "3.62") is not a candidate.
    whole = [(s.start, s.end) for s in out if s.kind in (DATE, NUMBER)]
    out = [s for s in out if s.kind in (DATE, NUMBER) or not any(_cuts(s, a, b) for a, b in whole)]
    return [s for s in out if content_terms(snippet[s.start : s.end]) - asked]


def _cuts(span: Span, a: int, b: int) -> bool:
    """The span overlaps [a, b) without holding all of it."""
    return span.start < b and a < span.end and not (span.start <= a and b <= span.end)


def _runs(
    snippet: str, tokens: list[re.Match[str]], asked: set[str], rank: int, *, name: bool
) -> list[Span]:
    """Maximal runs of capitalized words (name=True) or of content words (name=False),
    split at the question's words and at punctuation."""
    out: list[Span] = []
    run: list[re.Match[str]] = []
    glue = _NAME_GLUE if name else _PHRASE_GLUE

    def close() -> None:
        while run and (run[-1].group().lower() in glue or _asked(run[-1].group(), asked)):
            run.pop()
        while run and (run[0].group().lower() in glue or _asked(run[0].group(), asked)):
            run.pop(0)
        if any(_asked(t.group(), asked) for t in run):
            run.clear()
        if run:
            kind = NAME if name else THING
            out.append(Span(rank, run[0].start(), run[-1].end(), kind))
        run.clear()

    for i, t in enumerate(tokens):
        word = t.group()
        low = word.lower()
        terms = content_terms(word)
        if not word[0].isalnum() or (not name and terms and terms <= asked):
            close()
            continue
        if low in glue and run:
            run.append(t)
            continue
        if name:
            opens = i == 0 or tokens[i - 1].group() in {".", "!", "?", '"', "“", ":"}
            ok = word[0].isupper() and low not in STOPWORDS and not (opens and len(word) < 3)
            ok = ok and not (opens and low in _NOT_NAMES) and not _ROMAN.fullmatch(word)
        else:
            ending = low.endswith(("ed", "ing", "ly"))
            verb = low in _VERBS or (len(low) >= 5 and ending)
            ok = low not in STOPWORDS and not verb
        if ok:
            run.append(t)
        else:
            close()
    close()
    return out


def _asked(word: str, asked: set[str]) -> bool:
    """The word is one of the question's own content words."""
    terms = content_terms(word) or content_terms(name_key(word))
    return bool(terms) and (terms <= asked or content_terms(name_key(word)) <= asked)


# Weights chosen on the first half of XQuAD dev (docs/short_answer.md).
TYPE_MATCH = 2.0
NEAR = 2.0
RANK = 0.1
SCALE = 10.0  # characters at which nearness halves
MIN_SCORE = 0.0
RARITY = 2.0  # how much more a rare question word counts
HEAD_WORDS = 3  # words after "what"/"which" that may say the type
BEFORE = 1.5  # distance factor for question words after the span
# Abstaining: below this lead over the runner-up the short answer is "" (0: always answer).
MIN_MARGIN = 0.2
SURE_KINDS = frozenset({NAME, DATE, NUMBER, PLACE})


def _score(span: Span, snippet: str, wanted: str, weights: dict[str, float]) -> float:
    """Higher is better: the kind asked for, close to the question's words in its
    sentence (the rarer the word, the more it counts), in a high-ranked snippet."""
    match = {
        NAME: {NAME: 1.0, THING: 0.2},
        PLACE: {NAME: 1.0, THING: 0.2},
        DATE: {DATE: 1.0, NUMBER: 0.4},
        NUMBER: {NUMBER: 1.0, DATE: 0.2},
        THING: {THING: 0.5, NAME: 0.7, NUMBER: 0.2, DATE: 0.2},
    }[wanted].get(span.kind, 0.0)
    # The sentence holding the span: the question's words should be there, near it.
    a = max(snippet.rfind(". ", 0, span.start), -1) + 1
    b = snippet.find(". ", span.end)
    sentence = snippet[a : b if b >= 0 else len(snippet)]
    words = list(re.finditer(r"[\w'’-]+", sentence))
    lo, hi = span.start - a, span.end - a
    nearest: dict[str, float] = {}
    for w in words:
        for t in content_terms(w.group()) & weights.keys():
            # A question word after the span counts as farther: SQuAD answers tend to
            # follow the words the question repeats ("also called Southwest Fresno").
            d = float(w.start() - hi) * BEFORE if w.start() >= hi else float(max(0, lo - w.end()))
            nearest[t] = min(d, nearest.get(t, d))
    near = sum(weights[t] / (1.0 + d / SCALE) for t, d in nearest.items())
    return TYPE_MATCH * match + NEAR * near - RANK * span.snippet


def term_weights(asked: set[str], snippets: Sequence[str]) -> dict[str, float]:
    """Weight of each question word, summing to 1: a word the snippets repeat everywhere
    (the story's subject) says less about where the answer is than a rare one."""
    seen: dict[str, int] = dict.fromkeys(asked, 0)
    for snippet in snippets:
        for word in re.findall(r"[\w'’-]+", snippet):
            for t in content_terms(word) & asked:
                seen[t] += 1
    raw = {t: 1.0 / (1.0 + n) ** RARITY for t, n in seen.items()}
    total = sum(raw.values()) or 1.0
    return {t: w / total for t, w in raw.items()}


def ranked_spans(question: str, snippets: Sequence[str]) -> list[tuple[float, str]]:
    """Every candidate span's text with its best score, best first, each text once; empty
    for an explanation or summary question."""
    wanted = question_type(question)
    if wanted == NONE:
        return []
    asked = content_terms(question)
    weights = term_weights(asked, snippets)
    best: dict[str, float] = {}
    for rank, snippet in enumerate(snippets):
        for span in candidate_spans(snippet, rank, asked):
            text = snippet[span.start : span.end].strip()
            score = _score(span, snippet, wanted, weights)
            if text and score > best.get(text, float("-inf")):
                best[text] = score
    # Ties keep the order of first appearance (sorted is stable).
    return sorted(((s, t) for t, s in best.items()), key=lambda x: -x[0])


def short_answer(question: str, snippets: Sequence[str], *, min_margin: float | None = None) -> str:
    """The few words of one snippet that answer a factoid question, verbatim; "" for an
    explanation or summary question, or when unsure: a "what X" question (whose noun-phrase
    answers the rules rank poorly) or a best span that scores within `min_margin` of another."""
    margin = MIN_MARGIN if min_margin is None else min_margin
    if margin > 0 and question_type(question) not in SURE_KINDS:
        return ""
    ranked = ranked_spans(question, snippets)
    if not ranked or ranked[0][0] <= MIN_SCORE:
        return ""
    runner_up = ranked[1][0] if len(ranked) > 1 else MIN_SCORE
    return ranked[0][1] if ranked[0][0] - runner_up >= margin else ""
