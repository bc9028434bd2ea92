"""Natural time words in a question ("last week", "in March 2017") -> a publish-date range.

Relative words are resolved against an anchor day that the caller chooses; retrieval uses the
newest article date in the index, not the clock, so that "last week" over an archive means the
archive's last week (over a live feed the two are the same). Words are matched conservatively:
"the last name", "the last three minutes of the game" or "in the year 2000" are not time
filters, and a caller should ignore a range that falls outside the dates it holds (the question
then talks about when something happened, not when it was reported).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta

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
    """Apply "since/after/before/until X" to the period [since, until] of X."""
    match bound:
        case "since" | "from":
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


def find_time_range(question: str, anchor: date) -> TimeRange | None:
    """The first time expression in the question as a day range, or None."""
    best: tuple[int, TimeRange] | None = None
    for pattern in _RELATIVE:
        for m in pattern.finditer(question):
            since, until = _relative(m, anchor)
            found = TimeRange(since, until, m.group(0), m.start(), m.end())
            if best is None or m.start() < best[0]:
                best = (m.start(), found)
            break
    for pattern in _ABSOLUTE:
        for m in pattern.finditer(question):
            if not _plausible(m):
                continue
            period = _absolute(m, anchor)
            if period is None:
                continue
            since, until = _bounded((m.groupdict().get("bound") or "").lower() or None, *period)
            found = TimeRange(since, until, m.group(0), m.start(), m.end())
            # At one position the longer match wins ("on March 5, 2017" over "March").
            if (
                best is None
                or m.start() < best[0]
                or (m.start() == best[0] and len(m.group(0)) > len(best[1].phrase))
            ):
                best = (m.start(), found)
            break
    return best[1] if best else None
