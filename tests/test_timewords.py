"""Natural time words -> publish-date ranges, against a fixed anchor day."""

from __future__ import annotations

from datetime import date

import pytest

from qa.timewords import find_time_range

ANCHOR = date(2017, 3, 22)  # a Wednesday


@pytest.mark.parametrize(
    ("question", "since", "until", "phrase"),
    [
        ("What happened last week?", date(2017, 3, 13), date(2017, 3, 19), "last week"),
        ("news this week about Brexit", date(2017, 3, 20), ANCHOR, "this week"),
        ("Who resigned last month", date(2017, 2, 1), date(2017, 2, 28), "last month"),
        ("this month's storms", date(2017, 3, 1), ANCHOR, "this month"),
        ("What did the Fed do in the past week?", date(2017, 3, 16), ANCHOR, "in the past week"),
        ("What happened in the last 3 days?", date(2017, 3, 20), ANCHOR, "in the last 3 days"),
        ("over the past two weeks", date(2017, 3, 9), ANCHOR, "over the past two weeks"),
        ("What was said yesterday?", date(2017, 3, 21), date(2017, 3, 21), "yesterday"),
        ("What happened today", ANCHOR, ANCHOR, "today"),
        ("the vote 2 days ago", date(2017, 3, 20), date(2017, 3, 20), "2 days ago"),
        ("last year's budget", date(2016, 1, 1), date(2016, 12, 31), "last year"),
        ("Trump and Mexico in March 2017", date(2017, 3, 1), date(2017, 3, 31), "in March 2017"),
        ("storms in February", date(2017, 2, 1), date(2017, 2, 28), "in February"),
        ("what happened in December", date(2016, 12, 1), date(2016, 12, 31), "in December"),
        ("tweets on March 5, 2017", date(2017, 3, 5), date(2017, 3, 5), "on March 5, 2017"),
        ("tweets on 5 March", date(2017, 3, 5), date(2017, 3, 5), "on 5 March"),
        ("the Feb. 28 speech", date(2017, 2, 28), date(2017, 2, 28), "Feb. 28"),
        ("Who won in 2016?", date(2016, 1, 1), date(2016, 12, 31), "in 2016"),
        ("What changed since February 2017?", date(2017, 2, 1), None, "since February 2017"),
        ("before March 2017", None, date(2017, 2, 28), "before March 2017"),
        ("after March 10, 2017", date(2017, 3, 11), None, "after March 10, 2017"),
        ("rain until March 2017", None, date(2017, 3, 31), "until March 2017"),
        ("elections in May 2017", date(2017, 5, 1), date(2017, 5, 31), "in May 2017"),
    ],
)
def test_time_words_resolve(question: str, since: date, until: date, phrase: str) -> None:
    found = find_time_range(question, ANCHOR)
    assert found is not None
    assert (found.since, found.until) == (since, until)
    assert found.phrase == phrase
    assert question[found.start : found.end] == phrase


@pytest.mark.parametrize(
    "question",
    [
        "What is the last name of the player who scored?",
        "How many points did the Broncos score in the last three minutes of the game?",
        "How much has temperature changed in the last century?",
        "Which NASA location came around last to the idea of the LOR?",
        "The striker may leave the club",  # "may" is a verb here
        "What was 2017 revenue?",  # a bare year without a preposition
        "How long did the fighting last in the Seven Years War?",
        "Whose wall is visible today's tourists?",
        "What is the march of progress?",
    ],
)
def test_words_that_are_not_time_filters(question: str) -> None:
    assert find_time_range(question, ANCHOR) is None


def test_strip_removes_only_the_time_words() -> None:
    q = "What did Trump say about Mexico in March 2017?"
    found = find_time_range(q, ANCHOR)
    assert found is not None
    assert found.strip(q) == "What did Trump say about Mexico ?"
    q2 = "Last week, what did the Fed decide"
    found2 = find_time_range(q2, ANCHOR)
    assert found2 is not None and found2.strip(q2) == "what did the Fed decide"


def test_overlap_with_the_index_dates() -> None:
    found = find_time_range("Who won the Super Bowl in 2016?", ANCHOR)
    assert found is not None
    assert not found.overlaps(date(2017, 2, 1), date(2017, 3, 31))
    assert found.overlaps(date(2016, 12, 1), date(2017, 3, 31))
    open_range = find_time_range("since 2010", ANCHOR)
    assert open_range is not None and open_range.overlaps(date(2017, 2, 1), date(2017, 3, 31))


def test_invalid_day_is_ignored() -> None:
    assert find_time_range("on February 30, 2017", ANCHOR) is None or (
        find_time_range("on February 30, 2017", ANCHOR).phrase != "on February 30, 2017"  # type: ignore[union-attr]
    )
