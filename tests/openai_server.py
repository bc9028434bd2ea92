"""A tiny OpenAI-compatible chat-completions HTTP server over any LangChain chat model.

It lets the `openai` backend (ChatOpenAI) be tested against the real local model over real
HTTP, offline. Standard library only; for loopback use, not for the open network.
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
import uuid
from collections.abc import Generator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
)

MODEL_ID = "local"


class _BadRequest(Exception):
    """The request body is not a chat-completions request we understand."""


class OpenAIServer(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows the chat model it serves."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], model: BaseChatModel) -> None:
        super().__init__(address, _Handler)
        self.model = model

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Stay quiet when a client drops a kept-alive connection; report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    @property
    def base_url(self) -> str:
        """The URL to give an OpenAI client (ends in /v1)."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"


def serve_openai(
    model: BaseChatModel, host: str = "127.0.0.1", port: int = 0
) -> tuple[OpenAIServer, threading.Thread]:
    """Start serving `model` in a daemon thread; stop with server.shutdown(), server_close()."""
    server = OpenAIServer((host, port), model)
    thread = threading.Thread(target=server.serve_forever, name="openai-server", daemon=True)
    thread.start()
    return server, thread


def _content(value: Any) -> str:
    # OpenAI content is a string or a list of parts like {"type": "text", "text": ...}.
    if value is None or isinstance(value, str):
        return value or ""
    if isinstance(value, list):
        return "".join(p.get("text", "") for p in value if isinstance(p, dict))
    raise _BadRequest("message content must be a string or a list of text parts")


def to_langchain_messages(messages: Any) -> list[BaseMessage]:
    """OpenAI-style message dicts as LangChain messages."""
    if not isinstance(messages, list) or not messages:
        raise _BadRequest("'messages' must be a non-empty array")
    out: list[BaseMessage] = []
    for m in messages:
        if not isinstance(m, dict) or "role" not in m:
            raise _BadRequest("each message needs a 'role'")
        role, text = m["role"], _content(m.get("content"))
        if role in ("system", "developer"):
            out.append(SystemMessage(text))
        elif role == "user":
            out.append(HumanMessage(text))
        elif role == "assistant":
            out.append(AIMessage(text))
        else:
            out.append(ChatMessage(role=role, content=text))
    return out


def _call_options(body: dict[str, Any]) -> dict[str, Any]:
    """Per-request options passed on to the model: stop, max tokens, temperature."""
    opts: dict[str, Any] = {}
    stop = body.get("stop")
    if stop:
        opts["stop"] = [stop] if isinstance(stop, str) else list(stop)
    # Newer OpenAI clients (and ChatOpenAI) send max_completion_tokens instead of max_tokens.
    limit = body.get("max_completion_tokens") or body.get("max_tokens")
    if limit is not None:
        opts["max_tokens"] = int(limit)
    if body.get("temperature") is not None:
        opts["temperature"] = float(body["temperature"])
    return opts


def _usage(message: AIMessage | AIMessageChunk | None) -> dict[str, int] | None:
    u = message.usage_metadata if message is not None else None
    if not u:
        return None
    return {
        "prompt_tokens": u["input_tokens"],
        "completion_tokens": u["output_tokens"],
        "total_tokens": u["total_tokens"],
    }


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1: keep-alive for JSON replies (Content-Length), chunked encoding for SSE.
    protocol_version = "HTTP/1.1"
    server: OpenAIServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: tests and the CLI should not print an access log."""

    def do_GET(self) -> None:
        """GET /v1/models: the one model served."""
        if self.path.rstrip("/") not in ("/v1/models", "/models"):
            self._json(404, _error("not found", "invalid_request_error"))
            return
        model = {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "articleqa"}
        self._json(200, {"object": "list", "data": [model]})

    def do_POST(self) -> None:
        """POST /v1/chat/completions, streamed (SSE) or not."""
        if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
            self._json(404, _error("not found", "invalid_request_error"))
            return
        try:
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"null")
            if not isinstance(body, dict):
                raise _BadRequest("the body must be a JSON object")
            messages = to_langchain_messages(body.get("messages"))
            opts = _call_options(body)
        except (_BadRequest, ValueError, TypeError) as e:
            self._json(400, _error(str(e), "invalid_request_error"))
            return
        model_name = str(body.get("model") or MODEL_ID)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(messages, opts, model_name, include_usage)
        else:
            self._complete(messages, opts, model_name)

    def _complete(self, messages: list[BaseMessage], opts: dict[str, Any], name: str) -> None:
        try:
            reply = self.server.model.invoke(messages, **opts)
        except Exception as e:
            self._json(500, _error(str(e), "server_error"))
            return
        finish = reply.response_metadata.get("finish_reason") or "stop"
        payload = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": name,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": str(reply.text)},
                    "finish_reason": finish,
                }
            ],
        }
        usage = _usage(reply if isinstance(reply, AIMessage) else None)
        if usage:
            payload["usage"] = usage
        self._json(200, payload)

    def _stream(
        self, messages: list[BaseMessage], opts: dict[str, Any], name: str, include_usage: bool
    ) -> None:
        base = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": name,
        }

        def choice(delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
            return {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            self._event(choice({"role": "assistant", "content": ""}))
            total: AIMessageChunk | None = None
            with contextlib.closing(_pieces(self.server.model, messages, opts)) as pieces:
                for piece in pieces:
                    total = piece if total is None else total + piece
                    if piece.text:
                        self._event(choice({"content": str(piece.text)}))
            finish = (total.response_metadata.get("finish_reason") if total else None) or "stop"
            self._event(choice({}, finish))
            usage = _usage(total)
            if include_usage and usage:
                self._event({**base, "choices": [], "usage": usage})
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away; closing the generator stops the model
        except Exception as e:
            # Headers are sent: report the failure as an event, as OpenAI does.
            self._event(_error(str(e), "server_error"))
        self._write_chunk(b"data: [DONE]\n\n")
        self._write_chunk(b"")

    def _event(self, payload: dict[str, Any]) -> None:
        self._write_chunk(b"data: " + json.dumps(payload).encode() + b"\n\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _pieces(
    model: BaseChatModel, messages: list[BaseMessage], opts: dict[str, Any]
) -> Generator[AIMessageChunk, None, None]:
    """The model's streamed chunks, closed (stopping generation) when the caller stops."""
    stream = model.stream(messages, **opts)
    try:
        for piece in stream:
            if isinstance(piece, AIMessageChunk):
                yield piece
            else:
                yield AIMessageChunk(
                    content=piece.content, response_metadata=piece.response_metadata
                )
    finally:
        close = getattr(stream, "close", None)  # a generator: closing it stops generation
        if close is not None:
            close()


def _error(message: str, kind: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind}}
