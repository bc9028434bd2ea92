"""Follow-up questions use the conversation: rewriting, --history replay, the terminal chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.app import App
from qa.rewrite import Turn, dependence, follow_up, standalone_question
from qa.types import Answer
from tests.conftest import DATA, ROOT, SEED, make_settings

FIRST = "Why did Google put a ban on Huawei?"
FOLLOW_UP = "which chip designer also cut ties?"


def test_follow_up_is_rewritten_with_the_previous_question() -> None:
    history = [{"role": "user", "content": FIRST}, {"role": "assistant", "content": "..."}]
    q = standalone_question(FOLLOW_UP, history)  # type: ignore[arg-type]
    assert "Huawei" in q and FOLLOW_UP in q
    assert standalone_question("Who won the 2017 election?", history) == (  # type: ignore[arg-type]
        "Who won the 2017 election?"
    )
    assert standalone_question(FOLLOW_UP, []) == FOLLOW_UP


CRANES = "How many cranes did the volunteers count?"
FERRY = "When does the harbor ferry service resume after its pier repairs?"
CEO = "Who is the new CEO of Norvale Foods?"
BEFORE = "Where did she work before?"


def _turns(question: str, answer: str) -> list[Turn]:
    return [Turn(role="user", content=question), Turn(role="assistant", content=answer)]


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        (FERRY, "standalone"),  # "its" is the ferry service, named before it
        ("Do you believe this ocean current plays a role in the climate?", "standalone"),
        ("Is it true that Apple bought Shazam?", "standalone"),  # "it" stands for the clause
        (BEFORE, "pronoun"),
        ("Did it receive any recent updates?", "pronoun"),
        ("How can we enhance its performance?", "pronoun"),  # "enhance" is a verb, not "its"
        ("How does CIS do it?", "pronoun"),  # an object can't be its own clause's subject
        ("Is that right?", "pronoun"),
        ("And in Germany?", "ellipsis"),
        ("what about ARM?", "ellipsis"),
        ("why?", "ellipsis"),
        ("Which is more important?", "ellipsis"),
        ("which chip designer also cut ties?", "ellipsis"),
    ],
)
def test_only_questions_that_need_the_conversation_depend_on_it(question: str, kind: str) -> None:
    assert dependence(question) == kind


def test_an_unrelated_question_is_not_glued_to_the_previous_one() -> None:
    history = _turns(CRANES, "Volunteers counted 31,000 common cranes [1].")
    assert standalone_question(FERRY, history) == FERRY
    assert follow_up(FERRY, history).ranking == FERRY


def test_a_pronoun_carries_the_name_the_answer_introduced() -> None:
    history = _turns(CEO, "“Norvale Foods on Monday named Dana Whitfield as its new CEO.” [1]")
    f = follow_up(BEFORE, history)
    assert f.kind == "pronoun" and f.retrieval.startswith(BEFORE)
    assert "Dana Whitfield" in f.carried and "Norvale Foods" in f.carried
    # Ranked by the question and the surname the article repeats, not the whole topic.
    assert f.ranking == f"{BEFORE} (Whitfield)"


def test_an_ellipsis_ranks_with_the_previous_topic() -> None:
    f = follow_up("And in Germany?", _turns("How many stores does Aldi have in France?", "..."))
    assert f.kind == "ellipsis" and f.ranking == f.retrieval
    assert {"stores", "Aldi", "France"} <= set(f.carried)


def test_a_follow_up_of_a_follow_up_keeps_the_first_topic() -> None:
    history = _turns(CEO, "Norvale Foods named Dana Whitfield [1].") + _turns(BEFORE, "...")
    assert "Norvale Foods" in follow_up("And how old is she?", history).carried


def _final(app: App, question: str, history: list[Turn]) -> Answer:
    final = list(app.ask(question, history=history))[-1]
    assert isinstance(final, Answer)
    return final


@pytest.fixture
def samples_app(tmp_path: Path, embeddings) -> App:
    """The bundled samples and the CEO article, answered extractively."""
    app = App(make_settings(tmp_path))
    app.__dict__["embeddings"] = embeddings
    app.index([str(ROOT / "examples" / "articles"), str(DATA / "new-ceo.txt")])
    return app


def test_ferry_answer_after_cranes_cites_the_ferry(samples_app: App) -> None:
    cranes = _final(samples_app, CRANES, [])
    assert "31,000" in cranes.citations[0].snippet
    ferry = _final(samples_app, FERRY, _turns(CRANES, cranes.text))
    assert ferry.standalone_question == FERRY
    assert "ferry" in ferry.citations[0].snippet and "crane" not in ferry.text


def _ask_where_she_worked(app: App) -> Answer:
    ceo = _final(app, CEO, [])
    assert "Dana Whitfield" in ceo.text
    return _final(app, BEFORE, _turns(CEO, ceo.text))


def test_ceo_follow_up_cites_where_she_worked_before(samples_app: App) -> None:
    before = _ask_where_she_worked(samples_app)
    assert "Harlow Logistics" in before.citations[0].snippet


@pytest.mark.slow
def test_ceo_follow_up_with_the_local_model(samples_app: App, local_llm) -> None:
    samples_app.__dict__["llm"] = local_llm
    before = _ask_where_she_worked(samples_app)
    assert before.answerable and "Harlow Logistics" in before.citations[0].snippet


def test_follow_up_retrieves_the_arm_sentence(tmp_path: Path, embeddings) -> None:
    app = App(make_settings(tmp_path))
    app.__dict__["embeddings"] = embeddings
    app.index([str(ROOT / "examples" / "articles")])
    history = [
        {"role": "user", "content": FIRST},
        {"role": "assistant", "content": "Google announced a ban on Huawei [1]."},
    ]
    final = list(app.ask(FOLLOW_UP, history=history))[-1]  # type: ignore[arg-type]
    assert final.answerable  # type: ignore[union-attr]
    assert "ARM" in final.text  # type: ignore[union-attr]
    assert any("ARM has also banned Huawei" in c.snippet for c in final.citations)  # type: ignore[union-attr]
    assert "Huawei" in final.standalone_question  # type: ignore[union-attr]


def _cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ARTICLEQA_DATA_DIR": str(data_dir), "ARTICLEQA_LLM": "extractive"}
    return subprocess.run(
        [sys.executable, "-m", "qa", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )


@pytest.fixture(scope="module")
def seed_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("conv")
    assert _cli(data_dir, "index", str(SEED)).returncode == 0
    return data_dir


def test_ask_history_file_replays_a_conversation(seed_index: Path, tmp_path: Path) -> None:
    history = tmp_path / "turns.json"
    history.write_text(
        json.dumps([{"role": "user", "content": FIRST}, {"role": "assistant", "content": "A ban."}])
    )
    got = _cli(seed_index, "ask", FOLLOW_UP, "--history", str(history), "--json")
    assert got.returncode == 0, got.stderr
    ans = json.loads(got.stdout)
    assert "Huawei" in ans["standalone_question"] and "ARM" in ans["answer"]


def test_bad_history_file_is_one_line(seed_index: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"not": "a list"}')
    got = _cli(seed_index, "ask", FOLLOW_UP, "--history", str(bad))
    assert got.returncode == 1 and "history must be a list of turns" in got.stderr
    assert "Traceback" not in got.stderr


def test_terminal_chat_keeps_history_and_commands(seed_index: Path) -> None:
    commands = "/sources\n/details\n/reset\n/quit\n"
    got = _cli(seed_index, "chat", stdin=f"{FIRST}\n{FOLLOW_UP}\n{commands}")
    assert got.returncode == 0, got.stderr
    out = got.stdout
    assert "ARM" in out and "Sources:" in out and "(conversation cleared)" in out
    assert "/details" in out and "(nothing to show)" in out  # extractive: nothing was removed
