"""Helpers for the UI tests: serve an App in-process on a free port, a slow streaming fake LLM."""

from __future__ import annotations

import itertools
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from qa.app import App

SEED_QUESTION = "Which company does the US want South Korea to abandon?"
SEED_DRAFT = "The U.S. wants South Korea to abandon Huawei products in a weird fashion."


class SlowFakeChatModel(GenericFakeChatModel):
    """A fake chat model that streams its words with a pause, so streaming can be watched."""

    delay: float = 0.15

    def _stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        for chunk in super()._stream(*args, **kwargs):
            time.sleep(self.delay)
            yield chunk


def slow_fake(text: str = SEED_DRAFT, delay: float = 0.15) -> SlowFakeChatModel:
    """A fake model that always answers `text`, word by word."""
    return SlowFakeChatModel(messages=itertools.cycle([AIMessage(text)]), delay=delay)


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served(app: App, auth: str = "", throttle: Any = None) -> Iterator[str]:
    """The app's UI served in this process; yields its URL and closes it afterwards."""
    from qa.ui import serve

    port = free_port()
    demo = serve(app, host="127.0.0.1", port=port, auth=auth, block=False, throttle=throttle)
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        demo.close()
