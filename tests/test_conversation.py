"""Follow-up questions use the conversation: rewriting, --history replay, the terminal chat."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from qa.app import App
from qa.rewrite import standalone_question
from tests.conftest import ROOT, SEED, make_settings

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
    assert got.returncode == 1 and "history must be a JSON list" in got.stderr
    assert "Traceback" not in got.stderr


def test_terminal_chat_keeps_history_and_commands(seed_index: Path) -> None:
    got = _cli(seed_index, "chat", stdin=f"{FIRST}\n{FOLLOW_UP}\n/sources\n/reset\n/quit\n")
    assert got.returncode == 0, got.stderr
    out = got.stdout
    assert "ARM" in out and "Sources:" in out and "(conversation cleared)" in out
