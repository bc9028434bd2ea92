"""Natural time words -> publish-date ranges against a fixed anchor day; publication time or
event time; the window's words for the user."""

from __future__ import annotations

from datetime import date

import pytest

from qa.timewords import (
    FEW_ARTICLES,
    TimeWindow,
    describe,
    find_publication_range,
    find_time_range,
    is_publication,
    named_days,
    window_note,
)

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
        "What is the latest iPhone model?",
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


@pytest.mark.parametrize(
    ("question", "phrase"),
    [
        ("What happened last week?", "last week"),
        ("Which articles from March mention Le Pen?", "from March"),
        ("Show me articles published in 2016 about oil", "in 2016"),
        ("news in March 2017 about Brexit", "in March 2017"),
        ("What did the articles say in March 2017?", "in March 2017"),
        ("What did the reports say about Syria in March 2017?", "in March 2017"),
        ("stories since Feb 10 about Flynn", "since Feb 10"),
        ("What did Reuters write about Uber in March?", "in March"),
        ("In March 2017, what did the press say about Wilders?", "In March 2017"),
        ("March 2017 headlines about oil", "March 2017"),
        ("What is the latest news on the travel ban?", "the latest news"),
        ("Give me the latest on the Syrian peace talks.", "the latest"),
        ("Who resigned recently?", "recently"),
        # The event's year first, the publication window later: the window is found.
        ("How did trade fall in 2016, according to articles from March 2017?", "from March 2017"),
    ],
)
def test_publication_time_words(question: str, phrase: str) -> None:
    found = find_publication_range(question, ANCHOR)
    assert found is not None and found.phrase == phrase


@pytest.mark.parametrize(
    "question",
    [
        "How much did Russia's foreign trade fall in 2016?",
        "Who was inaugurated in January?",
        "Who was born in 1950?",
        "What happened on 5 March at the summit?",  # reports of it came out days later
        "What did Trump say about Mexico on 26 January?",  # what he said then, not coverage
        "How did oil prices change last year?",  # a year back is the event's time
        "The reef lost 67 percent of its corals in 2016, prompting some media to claim it dead.",
        "How many journalists in 2016 were jailed?",
        "What did Trump say at his February 16 press conference?",
        "What did the February 2017 report on jobs show?",
    ],
)
def test_event_time_words_are_not_windows(question: str) -> None:
    found = find_time_range(question, ANCHOR)
    assert found is not None  # a time phrase, just not a publication one
    assert not is_publication(question, found)
    assert find_publication_range(question, ANCHOR) is None


def test_recent_is_a_rolling_window_and_from_is_the_period_itself() -> None:
    recent = find_time_range("the latest news about Brexit", ANCHOR)
    assert recent is not None and (recent.since, recent.until) == (date(2017, 3, 9), ANCHOR)
    from_march = find_time_range("articles from March 2017", ANCHOR)
    assert from_march is not None
    assert (from_march.since, from_march.until) == (date(2017, 3, 1), date(2017, 3, 31))


def test_describe_a_window() -> None:
    assert describe(date(2016, 3, 1), date(2016, 3, 31)) == "in March 2016"
    assert describe(date(2016, 1, 1), date(2016, 12, 31)) == "in 2016"
    assert describe(date(2017, 3, 5), date(2017, 3, 5)) == "on 5 Mar 2017"
    assert describe(date(2017, 3, 13), date(2017, 3, 19)) == "between 13 Mar 2017 and 19 Mar 2017"
    assert describe(date(2017, 2, 10), None) == "since 10 Feb 2017"
    assert describe(None, date(2017, 2, 28)) == "until 28 Feb 2017"


def test_window_notes() -> None:
    span = {"oldest": date(2017, 2, 1), "newest": date(2017, 3, 31)}
    march_2016 = (date(2016, 3, 1), date(2016, 3, 31))
    assert window_note(*march_2016, 0, **span, after=date(2017, 2, 1)) == (
        "no article was published in March 2016; the oldest is from 1 Feb 2017, "
        "the newest from 31 Mar 2017"
    )
    april = (date(2017, 4, 1), date(2017, 4, 30))
    assert window_note(*april, 0, **span, before=date(2017, 3, 31), filtered=True) == (
        "no article matching your filters was published in April 2017; "
        "the newest is from 31 Mar 2017"
    )
    assert window_note(*april, 2, **span) == (
        "only 2 articles were published in April 2017; the search was limited to them"
    )
    assert window_note(*april, FEW_ARTICLES, **span) == ""
    assert window_note(*april, 0, oldest=None, newest=None) == (
        "no article has a publish date; the search was not limited by date"
    )
    window = TimeWindow("last week", "2017-03-13", "2017-03-19", 3, True, "a note")
    assert window.to_dict() == {
        "text": "last week",
        "since": "2017-03-13",
        "until": "2017-03-19",
        "articles": 3,
        "applied": True,
    }


def test_named_days() -> None:
    assert named_days("What was the Brent oil price on February 7?") == [(None, 2, 7)]
    assert named_days("What happened on 5 March 2017 and March 9th?") == [
        (2017, 3, 5),
        (None, 3, 9),
    ]
    assert named_days("What happened in March 2017?") == []
