"""Natural time words in a question ("last week", "in March 2017") -> a publish-date range.

Relative words are resolved against an anchor day that the caller chooses; retrieval uses the
newest article date in the index, not the clock, so that "last week" over an archive means the
archive's last week (over a live feed the two are the same). Words are matched conservatively:
"the last name", "the last three minutes of the game" or "in the year 2000" are not time
filters.

Only words about PUBLICATION time may filter (`is_publication`): relative days, weeks and
months ("last week", "yesterday", "recently") and dates tied to reporting ("articles from
March", "published in 2016", "what did the reports say in March 2017"). A date of the event
asked about ("how much did trade fall in 2016", "what happened on 5 March at the summit")
is not a filter: reports of an event come out days or months later, so the date stays in the
query text, where BM25 gives a natural boost to articles naming it.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

MONTHS = {
    name: n
    for n in range(1, 13)
    for name in (calendar.month_name[n].lower(), calendar.month_abbr[n].lower())
}
MONTHS["sept"] = 9
_MONTH = r"(?P<month>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_UNITS = {"day": 1, "week": 7, "month": 30, "year": 365}
_NUMBERS = {
    "a": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "few": 3,
    "couple of": 2,
}
# "recent news", "recently", "the latest on": a rolling window this many days long, ending at
# the anchor (a judgment, not a measurement: looser than "this week", tighter than a month).
RECENT_DAYS = 14
# A window holding fewer articles than this gets a note for the user.
FEW_ARTICLES = 3
_COUNT = r"(?P<n>\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True)) + r")"
# "since", "after", "before", "until" turn a period into an open range.
_BOUND = r"(?:(?P<bound>since|after|before|until|till|from)\s+)?"


@dataclass(frozen=True)
class TimeRange:
    """An inclusive range of publish days found in a question, and the words that said it."""

    since: date | None
    until: date | None
    phrase: str  # the matched words, as written
    start: int  # character offsets of the phrase in the question
    end: int
    # For relative words the unit they count in ("day", "week", "month", "year" or "recent");
    # "" for dates written out.
    relative: str = ""

    def overlaps(self, first: date, last: date) -> bool:
        """True when the range shares at least one day with [first, last]."""
        return (self.since is None or self.since <= last) and (
            self.until is None or self.until >= first
        )

    def strip(self, question: str) -> str:
        """The question without the time words (for matching the rest of it)."""
        rest = (question[: self.start] + " " + question[self.end :]).strip()
        return re.sub(r"\s{2,}", " ", rest).strip(" ,")


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())  # Monday


def _bounded(bound: str | None, since: date, until: date) -> tuple[date | None, date | None]:
    """Apply "since/after/before/until X" to the period [since, until] of X ("from X" is X
    itself: "articles from March" are March's)."""
    match bound:
        case "since":
            return since, None
        case "after":
            return until + timedelta(days=1), None
        case "before":
            return None, since - timedelta(days=1)
        case "until" | "till":
            return None, until
    return since, until


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word]


def _relative(m: re.Match[str], anchor: date) -> tuple[date | None, date | None]:
    g = m.groupdict()
    word = m.group(0).lower()
    if g.get("recent"):  # "recent news", "recently", "the latest on"
        return anchor - timedelta(days=RECENT_DAYS - 1), anchor
    if g.get("n"):  # "past 3 days", "last two weeks", "in the last 10 days", "3 days ago"
        n = _count(g["n"].lower())
        days = n * _UNITS[g["unit"].lower()]
        if "ago" in word:
            return anchor - timedelta(days=days), anchor - timedelta(days=days)
        return anchor - timedelta(days=days - 1), anchor
    if "today" in word:
        return anchor, anchor
    if "yesterday" in word:
        day = anchor - timedelta(days=1)
        return day, day
    unit = g["unit"].lower()
    which = g["which"].lower().split()[-1]  # "this", "last" or "past" ("the past")
    if which == "past":  # "the past week": a rolling window ending at the anchor
        return anchor - timedelta(days=_UNITS[unit] - 1), anchor
    this = which == "this"
    if unit == "week":
        start = _week_start(anchor) - (timedelta(0) if this else timedelta(days=7))
        return start, (anchor if this else start + timedelta(days=6))
    if unit == "month":
        if this:
            return anchor.replace(day=1), anchor
        prev = anchor.replace(day=1) - timedelta(days=1)
        return prev.replace(day=1), prev
    if unit == "year":
        if this:
            return date(anchor.year, 1, 1), anchor
        return date(anchor.year - 1, 1, 1), date(anchor.year - 1, 12, 31)
    return None, None  # pragma: no cover - the pattern only matches the units above


def _absolute(m: re.Match[str], anchor: date) -> tuple[date, date] | None:
    g = m.groupdict()
    month = MONTHS[g["month"].lower()] if g.get("month") else None
    year = int(g["year"]) if g.get("year") else None
    day = int(g["day"]) if g.get("day") else None
    if month is None:
        assert year is not None
        return date(year, 1, 1), date(year, 12, 31)
    if year is None:  # "in March": the latest March not after the anchor
        year = anchor.year if month <= anchor.month else anchor.year - 1
    try:
        if day is not None:
            d = date(year, month, day)
            return d, d
        return date(year, month, 1), _month_end(year, month)
    except ValueError:  # "February 30"
        return None


_RELATIVE = [
    re.compile(
        r"\b(?:(?:in|during|over|within)\s+)?(?:the\s+)?(?:last|past)\s+" + _COUNT + r"\s+"
        r"(?P<unit>day|week|month|year)s?\b",
        re.I,
    ),
    re.compile(r"\b" + _COUNT + r"\s+(?P<unit>day|week|month|year)s?\s+ago\b", re.I),
    re.compile(
        r"\b(?:(?:in|during|over)\s+)?(?P<which>this|last|the\s+past|past)\s+"
        r"(?P<unit>week|month|year)\b(?!'s\s+game)",
        re.I,
    ),
    re.compile(r"\b(?P<when>today|yesterday)\b(?!'s)", re.I),
    re.compile(
        r"\b(?P<recent>(?:the\s+)?(?:latest|most\s+recent|recent)\s+(?:news|articles|reports|"
        r"stories|headlines|coverage|developments|updates)|recently|lately|"
        r"the\s+latest(?=\s+(?:on|about|from|in)\b))\b",
        re.I,
    ),
]
_ABSOLUTE = [
    # "on March 5, 2017", "March 5th 2017", "since 5 March 2017"
    re.compile(
        r"\b" + _BOUND + r"(?:on\s+)?" + _MONTH + r"\s+" + _DAY + r"(?:,?\s+" + _YEAR + r")?\b",
        re.I,
    ),
    re.compile(
        r"\b"
        + _BOUND
        + r"(?:on\s+)?"
        + _DAY
        + r"\s+(?:of\s+)?"
        + _MONTH
        + r"(?:,?\s+"
        + _YEAR
        + r")?\b",
        re.I,
    ),
    # "in March 2017", "March of 2017", "in March"
    re.compile(
        r"\b"
        + _BOUND
        + r"(?:(?:in|during)\s+)?(?:early\s+|late\s+|mid-?)?"
        + _MONTH
        + r"(?:,?\s+(?:of\s+)?"
        + _YEAR
        + r")?\b",
        re.I,
    ),
    # "in 2017", "since 2016" (a bare year needs a preposition: "2017 revenue" is not a filter)
    re.compile(
        r"\b(?:(?P<bound>since|after|before|until|till|from)\s+|(?:in|during)\s+)" + _YEAR + r"\b",
        re.I,
    ),
]


def _plausible(m: re.Match[str]) -> bool:
    """A month alone ("march", "may") is a date only after "in", "since"... and "may" only
    when capitalized: both are ordinary words far more often."""
    g = m.groupdict()
    if g.get("day") or g.get("year") or not g.get("month"):
        return True
    if g["month"].lower() == "may" and not g["month"].startswith("M"):
        return False
    return bool(re.match(r"(?i)(?:in|during|since|after|before|until|till|from)\s", m.group(0)))


def find_time_ranges(question: str, anchor: date) -> list[TimeRange]:
    """Every time expression in the question as a day range, in order, none overlapping."""
    found: list[TimeRange] = []
    for pattern in _RELATIVE:
        for m in pattern.finditer(question):
            since, until = _relative(m, anchor)
            unit = "recent" if m.groupdict().get("recent") else m.groupdict().get("unit") or "day"
            found.append(TimeRange(since, until, m.group(0), m.start(), m.end(), unit.lower()))
    for pattern in _ABSOLUTE:
        for m in pattern.finditer(question):
            if not _plausible(m):
                continue
            period = _absolute(m, anchor)
            if period is None:
                continue
            since, until = _bounded((m.groupdict().get("bound") or "").lower() or None, *period)
            found.append(TimeRange(since, until, m.group(0), m.start(), m.end()))
    # At one position the longer match wins ("on March 5, 2017" over "March").
    found.sort(key=lambda r: (r.start, -(r.end - r.start)))
    kept: list[TimeRange] = []
    for r in found:
        if not kept or r.start >= kept[-1].end:
            kept.append(r)
    return kept


def named_days(question: str) -> list[tuple[int | None, int, int]]:
    """Each calendar day the question names ("February 7", "7 Feb 2017") as (year or None,
    month, day)."""
    days = []
    for pattern in _ABSOLUTE[:2]:
        for m in pattern.finditer(question):
            g = m.groupdict()
            day, month = int(g["day"]), MONTHS[g["month"].lower()]
            if 1 <= day <= 31:
                days.append((m.start(), (int(g["year"]) if g.get("year") else None, month, day)))
    return [d for _, d in sorted(days)]


def find_time_range(question: str, anchor: date) -> TimeRange | None:
    """The first time expression in the question as a day range, or None."""
    found = find_time_ranges(question, anchor)
    return found[0] if found else None


# -- publication or event ------------------------------------------------------------------
# News words right next to a date make it a publication date ("news in March", "March 2017
# headlines"); not "report" (a jobs report is a document with a date of its own) nor "press
# conference".
_NEWS = (
    r"(?:news|articles?|reports|stories|story|headlines?|coverage|(?:news)?papers?|"
    r"press(?!\s+(?:conferences?|releases?|briefings?|secretary)))"
)
# Who reports, as the subject of "say", "write"...: also people and outlets, never next to a
# date ("journalists in 2016 were jailed" is about 2016).
_SOURCE = r"(?:" + _NEWS + r"|report|media|outlets?|journalists?|reporters?)"
_SAY = (
    r"(?:say|says|said|write|writes|wrote|written|report|reports|reported|cover|covers|"
    r"covered|mention|mentions|mentioned|publish|published|claim|claimed)"
)
# Each cue is (what it means, a pattern over the words before the phrase, one over the words
# after it); a phrase is about publication time when any cue matches (either side may be None).
_CUES: list[tuple[str, re.Pattern[str] | None, re.Pattern[str] | None]] = [
    # "articles from March", "news in March 2017", "stories since Feb 10",
    # "articles that were published in 2016"
    (
        "news word before",
        re.compile(
            r"\b" + _NEWS + r"(?:\s+(?:that|which)\s+(?:were|was)|\s+(?:were|was))?"
            r"(?:\s+(?:published|posted|dated|printed|written|filed|run))?\s*$",
            re.I,
        ),
        None,
    ),
    # "What was reported on 5 March?", "published in 2016"
    (
        "publishing verb before",
        re.compile(r"\b(?:published|posted|dated|printed|(?:was|were|been)\s+reported)\s*$", re.I),
        None,
    ),
    # "What did the articles say about Trump in March 2017?": a news word as the subject of a
    # reporting verb ("What did Trump say on 26 January" is about what he said then).
    (
        "reporting verb before",
        re.compile(r"\b" + _SOURCE + r"\s+(?:\w+\s+)?" + _SAY + r"\b[^.?!;]{0,60}$", re.I),
        None,
    ),
    # "What did Reuters write about Uber in March?": a journalist's verb, whoever the subject.
    (
        "journalism verb before",
        re.compile(
            r"\b(?:did|do|does|has|have)\s+[\w.'&-]+(?:\s+[\w.'&-]+){0,2}\s+"
            r"(?:report|write|publish|cover)\b[^.?!;]{0,60}$",
            re.I,
        ),
        None,
    ),
    # "March 2017 news", "this week's headlines", "In March 2017, what did the news say"
    (
        "news word after",
        None,
        re.compile(r"^(?:'s)?\s*" + _NEWS + r"\b", re.I),
    ),
    (
        "reporting verb after",
        re.compile(r"^\s*$"),  # the phrase opens the question: "In March, what did ... say"
        re.compile(r"^\s*,[^.?!;]{0,60}\b" + _SOURCE + r"\s+(?:\w+\s+)?" + _SAY + r"\b", re.I),
    ),
]


def publication_cue(question: str, found: TimeRange) -> str:
    """What in the question says the phrase is about publication time ("" when nothing does)."""
    if found.relative in ("day", "week", "month", "recent"):
        return "relative " + found.relative  # news talk: "last week" is when it was reported
    before, after = question[: found.start], question[found.end :]
    for name, pre, post in _CUES:
        if (pre is None or pre.search(before)) and (post is None or post.search(after)):
            return name
    return ""


def is_publication(question: str, found: TimeRange) -> bool:
    """True when the phrase says when articles were published, not when the event happened
    ("last year" and written-out dates need a reporting word: "how much did trade fall in
    2016" asks about 2016, it does not ask for articles of 2016)."""
    return bool(publication_cue(question, found))


def find_publication_range(question: str, anchor: date) -> TimeRange | None:
    """The first time phrase in the question that is about publication time, or None."""
    for found in find_time_ranges(question, anchor):
        if is_publication(question, found):
            return found
    return None


# -- the window a search used, for the user ------------------------------------------------
@dataclass(frozen=True)
class TimeWindow:
    """The publication window a question's words asked for, and what the index held in it."""

    text: str  # the phrase as written in the question
    since: str  # ISO date or ""
    until: str  # ISO date or ""
    articles: int  # indexed articles published in the window (after the user's own filters)
    applied: bool  # True when the search was filtered by it
    note: str = ""  # for the user: an empty or thin window, and the dates nearest to it

    def to_dict(self) -> dict[str, Any]:
        """The fields an answer's JSON carries."""
        return {
            "text": self.text,
            "since": self.since,
            "until": self.until,
            "articles": self.articles,
            "applied": self.applied,
        }


def day_text(d: date) -> str:
    """A date as the notes write it: "7 Feb 2017"."""
    return f"{d.day} {calendar.month_abbr[d.month]} {d.year}"


def describe(since: date | None, until: date | None) -> str:
    """A day range in words: "in March 2017", "on 5 Mar 2017", "since 10 Feb 2017"."""
    if since and until:
        if since == until:
            return "on " + day_text(since)
        if since.day == 1 and until == _month_end(since.year, since.month):
            return f"in {calendar.month_name[since.month]} {since.year}"
        if (since.month, since.day, until.month, until.day) == (1, 1, 12, 31):
            if since.year == until.year:
                return f"in {since.year}"
            return f"between {since.year} and {until.year}"
        return f"between {day_text(since)} and {day_text(until)}"
    if since:
        return "since " + day_text(since)
    if until:
        return "until " + day_text(until)
    return "at any time"


def window_note(
    since: date | None,
    until: date | None,
    articles: int,
    *,
    oldest: date | None,
    newest: date | None,
    before: date | None = None,
    after: date | None = None,
    filtered: bool = False,
) -> str:
    """The note for a window: why it was not applied (no article in it, and the dates
    nearest to it) or that it held few articles; "" when there is nothing to say.

    `oldest`/`newest` are the dated articles' span, `before`/`after` the nearest publish days
    outside the window, all among the articles the user's own filters allow (`filtered`)."""
    what = "article matching your filters" if filtered else "article"
    when = describe(since, until)
    if articles >= FEW_ARTICLES:
        return ""
    if articles:
        if articles == 1:
            return f"only 1 article was published {when}; the search was limited to it"
        return f"only {articles} articles were published {when}; the search was limited to them"
    if newest is None or oldest is None:
        return f"no {what} has a publish date; the search was not limited by date"
    if after is not None and before is None:  # the window is before every article
        return (
            f"no {what} was published {when}; the oldest is from {day_text(oldest)}, "
            f"the newest from {day_text(newest)}"
        )
    if before is not None and after is None:  # the window is after every article
        return f"no {what} was published {when}; the newest is from {day_text(newest)}"
    if before is not None and after is not None:
        return (
            f"no {what} was published {when}; the nearest are from {day_text(before)} "
            f"and {day_text(after)}"
        )
    return f"no {what} was published {when}"
