"""Conflicting reports: cited side by side, newest first (real retrieval and embeddings)."""

from __future__ import annotations

import re
from pathlib import Path

from qa.answer import answer
from qa.app import App
from qa.conflicts import facts
from qa.types import Article
from tests.conftest import make_settings

EARLY = (
    "Warehouse fire in Dunmore\n\nA fire at a warehouse in Dunmore killed 12 people on "
    "Tuesday, police said. Firefighters worked through the night."
)
LATE = (
    "Dunmore fire toll rises\n\nThe warehouse fire in Dunmore killed 15 people, police "
    "said on Wednesday, as two injured workers died in hospital."
)
OTHER = "Dunmore council news\n\nThe Dunmore council approved a new library budget on Monday."


def _indexed(tmp_path: Path, embeddings, items: list[Article]) -> App:
    """An App over a fresh on-disk index of `items`."""
    from ingest.index import index_sources

    app = App(make_settings(tmp_path))
    app.__dict__["embeddings"] = embeddings
    index_sources(
        [str(tmp_path)],
        store=app.store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=lambda o: items,
    )
    app.store.bump_generation()
    return app


def test_facts_normalizes_numbers() -> None:
    assert facts("It cost 1,200 dollars on Monday, up 3.5%.") == {1200.0, 3.5}
    assert facts("twelve people and 12 cars") == {12.0}
    assert facts("No figures here.") == set()


def test_disagreeing_reports_are_cited_newest_first(tmp_path: Path, embeddings) -> None:
    items = [
        Article(id="early", text=EARLY, title="Warehouse fire", published="2017-03-07"),
        Article(id="late", text=LATE, title="Fire toll rises", published="2017-03-08"),
        Article(id="other", text=OTHER, title="Council", published="2017-03-06"),
    ]
    app = _indexed(tmp_path, embeddings, items)
    ans = answer(
        "How many people did the Dunmore warehouse fire kill?", retriever=app.retriever, llm=None
    )
    assert "Reports differ" in ans.text and any("different figures" in n for n in ans.notes)
    cited = [c.article_id for c in ans.citations]
    assert cited.index("late") < cited.index("early")  # newest first
    assert ans.text.index("15") < ans.text.index("12")
    assert set(re.findall(r"\[(\d+)\]", ans.text)) == {str(c.id) for c in ans.citations}


def test_reports_a_month_apart_are_two_moments_not_a_conflict(tmp_path: Path, embeddings) -> None:
    # Brent's price on 7 February and on 16 March differ; neither report is wrong.
    items = [
        Article(id="early", text=EARLY, title="Warehouse fire", published="2017-02-07"),
        Article(id="late", text=LATE, title="Fire toll rises", published="2017-03-16"),
    ]
    app = _indexed(tmp_path, embeddings, items)
    ans = answer(
        "How many people did the Dunmore warehouse fire kill?", retriever=app.retriever, llm=None
    )
    assert "Reports differ" not in ans.text and not any("figures" in n for n in ans.notes)


def test_agreeing_reports_are_not_flagged(tmp_path: Path, embeddings) -> None:
    same = LATE.replace("15 people", "12 people").replace(
        "as two injured workers died in hospital", "a spokesman added"
    )
    items = [
        Article(id="a", text=EARLY, published="2017-03-07"),
        Article(id="b", text=same, published="2017-03-08"),
    ]
    app = _indexed(tmp_path, embeddings, items)
    ans = answer(
        "How many people did the Dunmore warehouse fire kill?", retriever=app.retriever, llm=None
    )
    assert "Reports differ" not in ans.text


def test_figures_about_different_things_are_not_a_conflict(tmp_path: Path, embeddings) -> None:
    # Over the news corpus "How much did Russia's foreign trade fall in 2016?" set Russia's
    # trade with China beside Russia's total trade as if the reports disagreed.
    total = (
        "Russian trade\n\nRussia's foreign trade turnover dropped 11.9% in 2016 to $470.6 "
        "billion, the Ministry of Economic Development said."
    )
    china = (
        "Russia and China\n\nThe trade turnover between Russia and China in 2016 grew by 2.2% "
        "to $69.52 billion."
    )
    items = [
        Article(id="total", text=total, title="Russian trade", published="2017-02-07"),
        Article(id="china", text=china, title="Russia and China", published="2017-03-15"),
    ]
    app = _indexed(tmp_path, embeddings, items)
    ans = answer(
        "How much did Russia's foreign trade fall in 2016?", retriever=app.retriever, llm=None
    )
    assert "Reports differ" not in ans.text and not any("figures" in n for n in ans.notes)
    assert ans.citations[0].article_id == "total"
