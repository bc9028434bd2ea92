"""One answer path: the CLI (`articleqa ask --json`), the served API (`/ask` through
gradio_client) and the chat tab give the same Answer for the same question and settings, and
send the model the same messages. Real embeddings, real on-disk Chroma; the App behind each
view is built from settings as its entry point builds it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from langchain_core.language_models import BaseChatModel, GenericFakeChatModel
from langchain_core.messages import AIMessage, BaseMessage

from qa import backends
from qa.app import App
from qa.cli import cli
from qa.inputs import parse_filters
from qa.settings import load_settings
from qa.types import Answer
from qa.ui_api import api_json
from qa.ui_chat import Exchange, Options, ask
from tests.conftest import ROOT
from tests.ui_support import served

gradio_client = pytest.importorskip("gradio_client")

# A follow-up with filters and k: history, sources, since/until and k all travel every way.
HISTORY = [
    {"role": "user", "content": "When did the harbor ferry resume service?"},
    {"role": "assistant", "content": "The harbor ferry resumed service on Monday."},
]
FOLLOW_UP = "Why was it suspended?"
FILTERS = (["example.org"], "2024-02-01", "2024-03-31")
DRAFT = "The ferry stopped for three weeks of repairs to the pier damaged by January's storm."


class RecordingChatModel(GenericFakeChatModel):
    """A fake chat model that keeps the messages of every call (what the model was sent)."""

    sent: list[list[BaseMessage]] = []

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[Any]:
        self.sent.append(list(messages))
        yield from super()._stream(messages, *args, **kwargs)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, embeddings) -> Path:
    """The bundled sample articles, indexed once for this module."""
    folder = tmp_path_factory.mktemp("one-path") / "data"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(backends, "make_embeddings", lambda settings: embeddings)
        report = App(load_settings(data_dir=folder)).index([str(ROOT / "examples" / "articles")])
    assert report.added >= 5 and not report.failed
    return folder


@pytest.fixture
def parts(monkeypatch: pytest.MonkeyPatch, embeddings) -> Any:
    """Every App built from here on gets the session's embedding model and `llm` (a model,
    or a factory called once per App)."""
    monkeypatch.setattr(backends, "make_embeddings", lambda settings: embeddings)

    def use_llm(llm: Any) -> None:
        make = llm if callable(llm) and not isinstance(llm, BaseChatModel) else lambda: llm
        monkeypatch.setattr(backends, "make_llm", lambda settings: make())

    return use_llm


def cli_answer(data_dir: Path, llm: str, tmp_path: Path) -> dict[str, Any]:
    """`articleqa ask` of the follow-up with filters, history and k, as JSON (with the API's
    key names)."""
    history = tmp_path / "history.json"
    history.write_text(json.dumps(HISTORY), encoding="utf-8")
    args = ["--data-dir", str(data_dir), "ask", FOLLOW_UP, "--json", "--llm", llm]
    args += ["--history", str(history), "--source", FILTERS[0][0], "--k", "4"]
    args += ["--since", FILTERS[1], "--until", FILTERS[2]]
    result = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return api_json(json.loads(result.stdout))


def api_answer(app: App) -> dict[str, Any]:
    """The same question through the served API's /ask."""
    with served(app) as url:
        client = gradio_client.Client(url, verbose=False)
        got: dict[str, Any] = client.predict(FOLLOW_UP, HISTORY, *FILTERS, 4, api_name="/ask")
    return got


def assert_same(cli_json: dict[str, Any], api: dict[str, Any]) -> None:
    assert cli_json["answerable"] and cli_json["citations"]  # an answer worth comparing
    assert api["answer"] == cli_json["answer"]
    assert api["citations"] == cli_json["citations"]
    assert api == cli_json  # notes, verification, closest passages: the whole Answer


def test_cli_and_api_give_the_same_extractive_answer(
    data_dir: Path, parts: Any, tmp_path: Path
) -> None:
    parts(None)
    cli_json = cli_answer(data_dir, "extractive", tmp_path)
    assert cli_json["citations"][0]["title"] == "Harbor ferry service resumes after storm repairs"
    assert_same(cli_json, api_answer(App(load_settings(data_dir=data_dir, llm="extractive"))))


@pytest.mark.slow
def test_cli_and_api_give_the_same_local_model_answer(
    data_dir: Path, parts: Any, local_llm: Any, tmp_path: Path
) -> None:
    parts(local_llm)
    cli_json = cli_answer(data_dir, "local", tmp_path)
    assert cli_json["verification"]["drafted"] > 0  # the model wrote the draft
    assert_same(cli_json, api_answer(App(load_settings(data_dir=data_dir, llm="local"))))


def test_cli_chat_and_api_send_the_model_the_same_passages(
    data_dir: Path, parts: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ARTICLEQA_ANSWER_CONTEXT", "passages")
    models: list[RecordingChatModel] = []

    def recorder() -> RecordingChatModel:
        models.append(RecordingChatModel(messages=iter([AIMessage(DRAFT)] * 3), sent=[]))
        return models[-1]

    parts(recorder)
    cli_json = cli_answer(data_dir, "local", tmp_path)
    app = App(load_settings(data_dir=data_dir, llm="local"))
    assert_same(cli_json, api_answer(app))
    # The chat tab: the same question, conversation and controls, through its own event code.
    earlier = Exchange(
        HISTORY[0]["content"], Answer(HISTORY[0]["content"], HISTORY[1]["content"], True)
    )
    *_, (_, _, ex) = ask(app, FOLLOW_UP, [earlier], Options(parse_filters(*FILTERS), "", 4))
    assert ex is not None and ex.answer is not None, ex
    assert api_json(ex.answer.to_dict()) == cli_json
    [cli_model, app_model] = models
    [cli_sent] = cli_model.sent
    assert "Passages from news articles:" in str(cli_sent[-1].content)
    assert app_model.sent == [cli_sent, cli_sent]  # the API's call, then the chat tab's
