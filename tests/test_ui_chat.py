"""The chat tab's logic without a browser: streaming states, errors as messages, history."""

from __future__ import annotations

import pytest

from qa.app import App
from qa.errors import ConfigError
from qa.inputs import filter_date, parse_filters
from qa.ui_chat import Exchange, Options, ask, history_of, messages
from tests.conftest import SEED
from tests.ui_support import SEED_QUESTION, slow_fake


def test_empty_index_answers_with_the_hint_instead_of_failing(app: App) -> None:
    steps = list(ask(app, "anything?", [], Options()))
    msgs, _, ex = steps[-1]
    assert ex is not None and ex.answer is None and "nothing is indexed yet" in ex.error
    assert msgs[-1]["content"].startswith("**Error:**")


def test_draft_streams_then_the_verified_answer(app: App) -> None:
    app.index([str(SEED)])
    app.__dict__["llm"] = slow_fake(delay=0)
    app.settings.llm = "local"  # the App's own (fake) model is the "local" backend here
    steps = list(ask(app, SEED_QUESTION, [], Options(k=3)))
    drafts = [m[-1]["content"] for m, _, ex in steps if ex is None]
    assert drafts[0] == "*Searching the articles…*"
    assert any("Draft" in d for d in drafts[1:]) and len(drafts) > 5  # word by word
    msgs, panel, ex = steps[-1]
    assert ex is not None and ex.answer is not None and ex.answer.answerable
    assert 'href="#aq-cite-0-1"' in msgs[-1]["content"] and "<mark>" in (panel or "")
    # The next question carries this exchange as history; the messages re-render the same.
    turns = history_of([ex])
    assert [t["role"] for t in turns] == ["user", "assistant"] and "Huawei" in turns[1]["content"]
    assert messages([ex]) == msgs


def test_failed_exchanges_stay_out_of_history_and_unknown_backends_fail(app: App) -> None:
    assert history_of([Exchange("q", error="boom")]) == []
    with pytest.raises(ConfigError):
        app.chat_model("nope")


def test_filter_dates_read_picker_values_and_typed_dates() -> None:
    assert filter_date("", "since") == ""
    assert filter_date(None, "since") == ""
    assert filter_date("2024-03-05", "since") == "2024-03-05"
    assert filter_date(1709596800.0, "since") == "2024-03-05"
    assert filter_date("2024-03-05T23:10:00", "until") == "2024-03-05"
    with pytest.raises(ConfigError, match="^since: cannot read 'soon' as a date$"):
        filter_date("soon", "since")
    got = parse_filters(["bbc.co.uk"], "2024-03-05", None)
    assert (got.sources, got.since, got.until) == (("bbc.co.uk",), "2024-03-05", "")
    with pytest.raises(ConfigError, match="^until: "):
        parse_filters(None, "", "later")
