"""Answer backends through App, as a user configures them: openai (a real OpenAI-protocol
server on loopback serving the local model), ollama (skips without a server), extractive."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import pytest

from qa.app import App
from qa.errors import ConfigError
from qa.types import Answer
from tests.conftest import SEED, make_settings

QUESTION = "Which company does the US want South Korea to abandon?"


def indexed_app(tmp_path: Path, embeddings, **kw: object) -> App:
    app = App(make_settings(tmp_path, **kw))
    app.__dict__["embeddings"] = embeddings
    app.index([str(SEED)])
    return app


@pytest.mark.slow
def test_openai_backend_against_loopback_server(tmp_path: Path, embeddings, local_llm) -> None:
    from tests.openai_server import serve_openai

    server, _thread = serve_openai(local_llm, host="127.0.0.1", port=0)
    try:
        port = server.server_address[1]
        app = indexed_app(
            tmp_path,
            embeddings,
            llm="openai",
            openai_base_url=f"http://127.0.0.1:{port}/v1",
            openai_model="smollm2",
            openai_api_key="not-needed",
        )
        items = list(app.ask(QUESTION))
    finally:
        server.shutdown()
    final = items[-1]
    assert isinstance(final, Answer) and final.answerable
    tokens = [i for i in items if isinstance(i, str)]
    assert len(tokens) > 1, "the openai backend should stream tokens"
    assert "Huawei" in final.text
    assert final.citations[0].snippet in SEED.read_text()


def test_ollama_backend_or_clear_skip(tmp_path: Path, embeddings) -> None:
    app = indexed_app(tmp_path, embeddings, llm="ollama")
    url = app.settings.ollama_base_url
    try:
        urllib.request.urlopen(f"{url}/api/tags", timeout=2)
    except OSError:
        pytest.skip(f"no Ollama server answers at {url}")
    final = list(app.ask(QUESTION))[-1]
    assert isinstance(final, Answer) and final.answerable


def test_missing_local_model_file_is_a_config_error(tmp_path: Path) -> None:
    app = App(make_settings(tmp_path, llm="local", local_model=str(tmp_path / "nope.gguf")))
    with pytest.raises(ConfigError):
        _ = app.llm


def test_unreachable_openai_endpoint_fails_cleanly(tmp_path: Path, embeddings) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = indexed_app(
        tmp_path,
        embeddings,
        llm="openai",
        openai_base_url=f"http://127.0.0.1:{port}/v1",
        openai_api_key="x",
    )
    from qa.errors import BackendError

    with pytest.raises(BackendError):
        list(app.ask(QUESTION))
