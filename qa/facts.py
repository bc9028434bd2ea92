"""The checkable facts of a sentence: its numbers, its names and its negations.

Content-word overlap cannot tell "55.50" from "54.71", "Khamenei" from "Trump" or "is" from
"is not" (numbers are rare words, names are swapped for names of the same story, and "not" is
a stopword), so a claim's facts are pulled out and compared one by one (qa/claims.py).
Pure functions over text; nothing is loaded.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from qa.verify import STOPWORDS, content_terms

_SCALE = {
    "thousand": 1e3,
    "million": 1e6,
    "mln": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bln": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "trln": 1e12,
    "tn": 1e12,
}
# Small number words: "three people" and "3 people" state the same fact. "one" is left out on
# purpose: it is far more often a pronoun ("one of the") than a count.
_SMALL = """zero _ two three four five six seven eight nine ten eleven twelve thirteen fourteen
fifteen sixteen seventeen eighteen nineteen twenty"""
_WORDS = {w: i for i, w in enumerate(_SMALL.split()) if w != "_"}
_WORDS |= {"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}
_WORDS |= {"ninety": 90, "hundred": 100, "dozen": 12}
_NUMBER = re.compile(
    r"(?<![\w.])[$€£¥]?\s?(?P<n>\d+(?:,\d+)*(?:\.\d+)?)"
    r"(?:\s?(?P<scale>thousand|million|billion|trillion|mln|bln|trln|mn|bn|tn|m|b)\b)?",
    re.I,
)
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_WORDS) + r")\b", re.I)


NUMBER_CONTEXT = 4  # content words either side of a number that say what it counts


def number_mentions(text: str, *, unscaled: bool = False) -> list[tuple[float, set[str], str]]:
    """Each number of the text as (value, content terms around it, as written): "1987" next to
    "Philtrum Press" and "1987" next to "Viking" are two different facts. With `unscaled`, a
    scaled number ("2.4 million") is also listed as its bare value."""
    out: list[tuple[float, set[str], str]] = []
    for m, value in _number_matches(text, unscaled):
        before = _ordered_terms_back(text[max(0, m.start() - 200) : m.start()])
        after = _ordered_terms(text[m.end() :])
        around = set(before[-NUMBER_CONTEXT:]) | set(after[:NUMBER_CONTEXT])
        out.append((value, around, m.group().strip()))
    return out


# A figure right after these words is the one being replaced or compared against: "every 40
# minutes instead of every 30" does not say "every 30 minutes". "from" only counts where the
# clause also has "to <number>" ("rose to 5.1% from 4.8%", "from 30 to 40").
_REPLACED = re.compile(
    r"\b(?:instead\s+of|rather\s+than|down\s+from|up\s+from|compared\s+(?:with|to)|from)"
    r"(?:\s+[a-z]+){0,2}\s*[$€£¥]?\s?$",
    re.I,
)
_TO_NUMBER = re.compile(r"\bto\s+[$€£¥]?\s?\d", re.I)


def replaced_numbers(text: str) -> set[float]:
    """Values the text gives only as the figure replaced or compared against ("instead of 30",
    "down from 4.8%"), never as a figure in its own right."""
    replaced: set[float] = set()
    plain: set[float] = set()
    for m, value in _number_matches(text, False):
        before = text[max(0, m.start() - 40) : m.start()]
        marker = _REPLACED.search(before)
        if marker and marker.group().lower().startswith("from"):
            clause = text[max(0, m.start() - 60) : m.end() + 40]
            marker = marker if _TO_NUMBER.search(clause) else None
        (replaced if marker else plain).add(value)
    return replaced - plain


def _number_matches(text: str, unscaled: bool) -> list[tuple[re.Match[str], float]]:
    out = []
    for m in _NUMBER.finditer(text):
        value = float(m.group("n").replace(",", ""))
        scale = (m.group("scale") or "").lower()
        out.append((m, round(value * _SCALE.get(scale, 1.0), 6)))
        if unscaled and scale:
            out.append((m, round(value, 6)))
    for m in _NUMBER_WORD.finditer(text):
        out.append((m, float(_WORDS[m.group(1).lower()])))
    return out


def _ordered_terms_back(text: str, most: int = 0, *, caps: bool = True) -> list[str]:
    most = most or NUMBER_CONTEXT
    terms: list[str] = []
    for word in reversed(re.findall(r"[\w'’-]+", text)):
        t = content_terms(word)
        if t and not any(c.isdigit() for c in word) and (caps or not word[:1].isupper()):
            terms.insert(0, next(iter(t)))
        if len(terms) >= most:
            break
    return terms


_MONTHS = {
    "jan": "january",
    "feb": "february",
    "mar": "march",
    "apr": "april",
    "jun": "june",
    "jul": "july",
    "aug": "august",
    "sep": "september",
    "sept": "september",
    "oct": "october",
    "nov": "november",
    "dec": "december",
}
# Titles and roles are capitalized before a name but are not the name: "President Trump" and
# "Trump" name the same person.
_TITLE_WORDS = """mr mrs ms dr prof sir dame president vice prime minister senator sen
representative rep gov governor chancellor king queen prince princess pope general gen secretary
chief executive ceo director officer judge justice speaker leader chairman chairwoman chair
professor saint st lord lady mayor ambassador captain commissioner spokesman spokeswoman
spokesperson"""
_TITLES = frozenset(_TITLE_WORDS.split())
_TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z]\.?)*(?:['’][A-Za-z]+)?|\d[\w.,]*")


def name_key(token: str) -> str:
    """How a name is compared: "U.S." = "US", "Trump's" = "Trump", "EVs" = "EV", "Feb" =
    "February", case ignored."""
    t = re.sub(r"['’]s?$", "", token).replace(".", "").lower()
    if len(t) > 2 and token[:1].isupper() and token[1:2].isupper() and t.endswith("s"):
        t = t[:-1]  # "EVs", "CEOs": the acronym's plural
    return _MONTHS.get(t, t)


@dataclass(frozen=True)
class Mention:
    """A name as a sentence uses it: what it is next to says which entity and which role."""

    word: str  # as written
    key: str  # as compared (name_key)
    before: str  # key of the capitalized word right before it, "" if none
    around: frozenset[str]  # content terms either side
    plain: frozenset[str]  # the same without other names' words


# Long and short forms of the names most often written both ways.
_ALIASES = {
    "United States": "US",
    "United Kingdom": "UK",
    "United Nations": "UN",
    "European Union": "EU",
}
_ALIAS = re.compile(r"\b(?:" + "|".join(_ALIASES) + r")\b")


def name_mentions(sentence: str, proper: Collection[str] | None = None) -> list[Mention]:
    """The names a text uses: capitalized words and acronyms. With `proper` (a claim), a
    capitalized word opening a sentence or clause counts only when `proper` holds it (words
    the evidence capitalizes and never lowercases, see proper_names): every sentence starts
    with a capital, and "Additionally" is no name. Without it (evidence), every capitalized
    word is listed, with a wider window of words around it."""
    out: list[Mention] = []
    sentence = _ALIAS.sub(lambda a: _ALIASES[a.group()], sentence)
    tokens = list(_TOKEN.finditer(sentence))
    prev_key, prev_end = "", -1  # the last name, to tell compounds ("Gossip Girl")
    for i, m in enumerate(tokens):
        word = m.group()
        key = name_key(word)
        if not word[:1].isupper() or word == "I" or key in _TITLES or key in STOPWORDS:
            continue
        before = sentence[: m.start()].rstrip()
        starts = i == 0 or before.endswith((":", ".", "!", "?", '"', "“", "(", "—", "-", "*"))
        acronym = len(word) > 1 and word[1:2].isupper()
        if proper is not None and starts and not acronym and key not in proper:
            continue
        run = prev_key if prev_end >= 0 and not sentence[prev_end : m.start()].strip() else ""
        prev_key, prev_end = key, m.end()
        width = NAME_CONTEXT if proper is not None else EVIDENCE_CONTEXT
        left, right = sentence[max(0, m.start() - 300) : m.start()], sentence[m.end() :]
        around = _ordered_terms_back(left, width)[-width:] + _ordered_terms(right, width)
        # What a name does is said by the ordinary words near it and by its own compound
        # ("Gossip Girl"); another name nearby ("Iran" next to both Trump and Khamenei) does
        # not say which one did it.
        plain = _ordered_terms_back(left, width, caps=False)[-width:]
        plain += _ordered_terms(right, width, caps=False)
        for n in (i - 1, i + 1):
            if 0 <= n < len(tokens) and tokens[n].group()[:1].isupper():
                gap = sentence[min(m.end(), tokens[n].end()) : max(m.start(), tokens[n].start())]
                plain += [] if gap.strip() else list(content_terms(tokens[n].group()))
        out.append(Mention(word, key, run, frozenset(around), frozenset(plain)))
    return out


NAME_CONTEXT = 4  # content words either side of a name that say what it does
EVIDENCE_CONTEXT = 8  # the same, in the evidence: it may say more between them


def proper_names(text: str) -> set[str]:
    """Name keys of the words a text capitalizes and never writes in lower case."""
    return {name_key(w) for w in _TOKEN.findall(text) if w[:1].isupper()} - common_words(text)


def common_words(text: str) -> set[str]:
    """Words that appear lowercased in text: ordinary words, not names."""
    return {name_key(w) for w in re.findall(r"\b[a-z][a-z'’]+\b", text)}


_NEGATION = re.compile(
    r"\b(?:not|never|no|none|nobody|nothing|neither|nor|cannot|without|no longer)\b|n['’]t\b",
    re.I,
)
SCOPE_TERMS = 3  # content words after a negation that it applies to


def negated_terms(text: str) -> list[list[str]]:
    """For each negation in the text, the content terms it applies to: the next few, within
    its clause ("do not live in a high-risk area, flood insurance" negates living only)."""
    out = []
    for m in _NEGATION.finditer(text):
        clause = re.split(r"[,;:.!?()]", text[m.end() :], maxsplit=1)[0]
        out.append(_ordered_terms(clause)[:SCOPE_TERMS])
    return out


def _evidence_negations(text: str) -> list[list[str]]:
    """Like negated_terms, with the whole clause after each negation: the evidence may put
    the claim's negated word further on ("do not clash or recovered VMs interact")."""
    return [
        _ordered_terms(re.split(r"[,;:.!?()]", text[m.end() :], maxsplit=1)[0], 8)
        for m in _NEGATION.finditer(text)
    ]


def _same_negation(mine: list[str], theirs: list[str]) -> bool:
    """Two negations negate the same thing: the claim's negated head word is among the
    evidence's, or they share two words."""
    return bool(mine) and (mine[0] in theirs or len(set(mine) & set(theirs)) >= 2)


def _ordered_terms(text: str, most: int = 0, *, caps: bool = True) -> list[str]:
    """The first `most` content terms of text, in order (digits left out; with caps=False,
    capitalized words too)."""
    most = most or max(SCOPE_TERMS, NUMBER_CONTEXT)
    terms: list[str] = []
    for word in re.findall(r"[\w'’-]+", text[:300]):
        t = content_terms(word)
        if t and not any(c.isdigit() for c in word) and (caps or not word[:1].isupper()):
            terms.append(next(iter(t)))
        if len(terms) >= most:
            break
    return terms


def polarity_differs(claim: str, evidence: str) -> bool:
    """True when one side negates what the other affirms: a negation in the claim that no
    negation of the evidence matches (one to one: "don't have not" is not "don't have"), or
    a negation in the evidence of words the claim states plainly."""
    mine = negated_terms(claim)
    theirs = _evidence_negations(evidence)
    free = list(range(len(theirs)))
    for scope in mine:
        match = next((j for j in free if _same_negation(scope, theirs[j])), None)
        if match is None:
            return True
        free.remove(match)
    if mine:
        return False
    claim_terms = content_terms(claim)
    return any(set(scope[:2]) & claim_terms for scope in negated_terms(evidence))


# Words that state the opposite of each other: "prices rose" and "prices fell" share every
# other word, and a paraphrase check alone passes one for the other.
_OPPOSITES = [
    (
        "increase increased increases increasing rise rose risen rising grew grow grows growing "
        "gain gained gains",
        "decrease decreased decreases decreasing fall fell fallen falling "
        "drop dropped drops dropping declined decline declines shrank shrink",
    ),
    (
        "higher high highest more most larger largest bigger above maximum",
        "lower low lowest less least fewer smaller smallest below minimum",
    ),
    ("before earlier", "after later"),
    ("won win wins winning", "lost lose loses losing defeated"),
    ("allowed allow allows permitted permit", "prohibited prohibit prohibits banned ban forbidden"),
    ("accepted accept accepts approved approve", "rejected reject rejects refused refuse denied"),
    ("support supports supported", "oppose opposes opposed"),
]
_SIDE: dict[str, int] = {}
for _n, (_a, _b) in enumerate(_OPPOSITES):
    _SIDE.update({w: 2 * _n for w in _a.split()} | {w: 2 * _n + 1 for w in _b.split()})


def opposite_word(claim: str, evidence: str) -> str:
    """ "rose" vs "fell": a word of the claim whose opposite the evidence uses instead of
    it (as "claim-word/evidence-word"), or ""."""
    mine = {_SIDE[w]: w for w in re.findall(r"[a-z]+", claim.lower()) if w in _SIDE}
    theirs = {_SIDE[w]: w for w in re.findall(r"[a-z]+", evidence.lower()) if w in _SIDE}
    for side, word in mine.items():
        other = side ^ 1
        if other in theirs and side not in theirs:
            return f"{word}/{theirs[other]}"
    return ""
