"""The OpenAI-compatible server: plumbing with a fake model, then ChatOpenAI on the real one."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_openai import ChatOpenAI

from qa.llm_local import LocalChatModel, find_gguf
from tests.openai_server import OpenAIServer, serve_openai

QUESTION = [
    SystemMessage("You are a helpful assistant. Answer in two sentences."),
    HumanMessage("What do newspapers report on?"),
]


def _client(server: OpenAIServer, **kwargs: object) -> ChatOpenAI:
    port = server.server_address[1]
    return ChatOpenAI(
        base_url=f"http://127.0.0.1:{port}/v1",
        api_key="x",
        model="local",
        max_retries=0,
        **kwargs,
    )


@pytest.fixture
def fake_server() -> Iterator[OpenAIServer]:
    fake = GenericFakeChatModel(messages=iter([AIMessage("one two three")] * 10))
    server, thread = serve_openai(fake)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_fake_model_invoke_and_stream(fake_server: OpenAIServer) -> None:
    client = _client(fake_server)
    assert client.invoke("hi").content == "one two three"
    chunks = [c.content for c in client.stream("hi")]
    assert "".join(str(c) for c in chunks) == "one two three"
    assert len([c for c in chunks if c]) > 1


def test_models_and_bad_requests(fake_server: OpenAIServer) -> None:
    base = fake_server.base_url
    models = httpx.get(f"{base}/models").json()
    assert models["data"][0]["id"] == "local"
    bad = httpx.post(f"{base}/chat/completions", json={"model": "local"})
    assert bad.status_code == 400
    assert "messages" in bad.json()["error"]["message"]
    assert httpx.post(f"{base}/chat/completions", content=b"{not json").status_code == 400
    assert httpx.get(f"{base}/nope").status_code == 404


def test_raw_sse_format(fake_server: OpenAIServer) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with httpx.stream("POST", f"{fake_server.base_url}/chat/completions", json=body) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = [line for line in r.iter_lines() if line]
    assert all(line.startswith("data: ") for line in lines)
    assert lines[-1] == "data: [DONE]"
    assert '"object": "chat.completion.chunk"' in lines[0]
    assert '"finish_reason": "stop"' in lines[-2]


@pytest.fixture(scope="module")
def local() -> LocalChatModel:
    # One thread: llama.cpp's spin barriers make 2 threads on 2 busy cores 10x slower.
    return LocalChatModel(model_path=str(find_gguf("smollm2")), n_threads=1, max_tokens=40)


@pytest.fixture(scope="module")
def local_server(local: LocalChatModel) -> Iterator[OpenAIServer]:
    server, thread = serve_openai(local)
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.slow
def test_chatopenai_invoke_matches_the_model(
    local: LocalChatModel, local_server: OpenAIServer
) -> None:
    direct = local.invoke(QUESTION).text
    assert direct.strip()
    reply = _client(local_server, temperature=0).invoke(QUESTION)
    assert reply.content == direct
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0


@pytest.mark.slow
def test_chatopenai_stream_matches_the_model(
    local: LocalChatModel, local_server: OpenAIServer
) -> None:
    direct = local.invoke(QUESTION).text
    chunks = list(_client(local_server, temperature=0, stream_usage=True).stream(QUESTION))
    assert len([c for c in chunks if c.content]) > 3
    assert "".join(str(c.content) for c in chunks) == direct
    total = chunks[0]
    for c in chunks[1:]:
        total += c
    assert total.usage_metadata and total.usage_metadata["output_tokens"] > 0


@pytest.mark.slow
def test_chatopenai_max_tokens_and_stop(local: LocalChatModel, local_server: OpenAIServer) -> None:
    short = _client(local_server, max_completion_tokens=3).invoke(QUESTION)
    assert short.usage_metadata and short.usage_metadata["output_tokens"] <= 3
    whole = local.invoke(QUESTION).text
    stop = whole.split()[2]
    cut = _client(local_server, stop=[stop]).invoke(QUESTION)
    assert cut.content == whole[: whole.index(stop)]
