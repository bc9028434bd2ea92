"""search_in_window on a small real index: event dates do not filter, empty windows are
reported and not applied, the user's own dates stay strict."""

from __future__ import annotations

import pytest

from qa.retrieve import Filters, Retriever
from qa.types import Article, Hit
from tests.conftest import indexed_retriever

NEWS = [
    (
        "t1",
        "2017-02-07",
        "reuters.com",
        "Oil prices",
        "Brent crude rose above 56 dollars a barrel as OPEC output cuts took hold.",
    ),
    (
        "t2",
        "2017-03-07",
        "tass.com",
        "Russian trade",
        "Russia's foreign trade turnover fell by 11.2 percent to 471 billion dollars, the "
        "Federal Customs Service said.",
    ),
    (
        "t3",
        "2017-03-14",
        "bbc.co.uk",
        "Snowstorm",
        "A blizzard brought heavy snow and closed schools across the northern mountains.",
    ),
    (
        "t4",
        "2017-03-15",
        "reuters.com",
        "Football",
        "The striker scored twice as the home side won the cup final.",
    ),
    (
        "t5",
        "2017-03-16",
        "apnews.com",
        "Dutch election",
        "Prime Minister Mark Rutte's party won the most seats in the Dutch election.",
    ),
    (
        "t6",
        "2017-03-21",
        "apnews.com",
        "Spring weather",
        "Heavy snow returned to the valley on the first day of spring, closing roads.",
    ),
]


@pytest.fixture(scope="module")
def retriever(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Retriever:
    tmp = tmp_path_factory.mktemp("window")
    items = [
        Article(id=i, text=t, title=ti, source=s, published=d, origin=str(tmp))
        for i, d, s, ti, t in NEWS
    ]
    return indexed_retriever(tmp, embeddings, items, "tw")


def ids(hits: list[Hit]) -> list[str]:
    """The article ids of hits, in order."""
    return [h.chunk.article_id for h in hits]


def test_an_event_year_does_not_filter(retriever: Retriever) -> None:
    hits, window = retriever.search_in_window(
        "How much did Russia's foreign trade fall in 2016?", k=3
    )
    assert window is None
    assert ids(hits)[0] == "t2"  # published 2017, about 2016


def test_a_window_without_articles_is_reported_not_applied(retriever: Retriever) -> None:
    hits, window = retriever.search_in_window("What did the articles say in March 2016?", k=6)
    assert window is not None
    assert (window.text, window.since, window.until) == (
        "in March 2016",
        "2016-03-01",
        "2016-03-31",
    )
    assert window.articles == 0 and not window.applied
    assert window.note == (
        "no article was published in March 2016; the oldest is from 7 Feb 2017, "
        "the newest from 21 Mar 2017"
    )
    assert len(hits) == 6  # searched unfiltered
    _, after = retriever.search_in_window("news from April 2017 about snow", k=2)
    assert after is not None and not after.applied
    assert after.note == "no article was published in April 2017; the newest is from 21 Mar 2017"
    _, gap = retriever.search_in_window("articles published on 10 March 2017", k=2)
    assert gap is not None and not gap.applied
    assert gap.note == (
        "no article was published on 10 Mar 2017; the nearest are from 7 Mar 2017 and 14 Mar 2017"
    )


def test_last_week_applies_and_counts(retriever: Retriever) -> None:
    # The newest article is Tuesday 2017-03-21: last week is 13-19 March.
    hits, window = retriever.search_in_window("What happened last week?", k=6)
    assert window is not None
    assert window.to_dict() == {
        "text": "last week",
        "since": "2017-03-13",
        "until": "2017-03-19",
        "articles": 3,
        "applied": True,
    }
    assert window.note == ""
    assert set(ids(hits)) == {"t3", "t4", "t5"}
    hits, week = retriever.search_in_window("heavy snow this week", k=6)
    assert week is not None and week.articles == 1 and week.applied
    assert week.note == (
        "only 1 article was published between 20 Mar 2017 and 21 Mar 2017; "
        "the search was limited to it"
    )
    assert ids(hits) == ["t6"]


def test_the_users_own_dates_stay_strict(retriever: Retriever) -> None:
    typed = Filters(since="2017-03-15")
    hits, window = retriever.search_in_window("What happened last week?", k=6, filters=typed)
    assert window is not None and window.articles == 2 and window.applied
    assert set(ids(hits)) == {"t4", "t5"}
    late = Filters(since="2017-03-20")
    hits, window = retriever.search_in_window("snow news from last week", k=6, filters=late)
    assert window is not None and window.articles == 0 and not window.applied
    assert window.note.startswith("no article matching your filters was published between")
    assert ids(hits) == ["t6"]  # the typed date still filters


def test_time_words_off_reports_no_window(retriever: Retriever) -> None:
    retriever.time_words = False
    try:
        hits, window = retriever.search_in_window("What happened last week?", k=6)
    finally:
        retriever.time_words = True
    assert window is None and len(hits) == 6


def test_answers_report_the_window_and_answer_event_dates(retriever: Retriever) -> None:
    from qa.answer import answer

    # "in 2016" is when the trade fell, not when it was reported: answered from the 2017 article.
    ans = answer("How much did Russia's foreign trade fall in 2016?", retriever=retriever, llm=None)
    assert ans.answerable and "11.2 percent" in ans.text
    assert ans.citations[0].article_id == "t2" and ans.time_window is None
    assert ans.to_dict()["time_window"] is None
    # No article from March 2016: said in the notes and the JSON, answered from the others.
    ans = answer(
        "What did the articles say about snow in March 2016?", retriever=retriever, llm=None
    )
    window = ans.to_dict()["time_window"]
    assert window["articles"] == 0 and window["applied"] is False
    assert any(n.startswith("no article was published in March 2016") for n in ans.notes)
    assert ans.answerable and ans.citations[0].article_id in {"t3", "t6"}
