"""Follow-up questions become standalone questions before retrieval."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TypedDict


class Turn(TypedDict):
    """One chat turn, as in OpenAI-style histories."""

    role: str
    content: str


# Words that only make sense with the conversation before them.
_FOLLOW_UP = re.compile(
    r"^(and|also|what about|how about|but|so|then)\b|\b(it|its|they|them|their|this|that|these|"
    r"those|he|she|his|her|also|too|else|other|another|same)\b",
    re.I,
)


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question made understandable without the chat (unchanged when there is no chat).

    Small local models rewrite unreliably, so the dependable part is lexical: a follow-up is
    prefixed with the previous user question, which carries the names it refers to.
    """
    previous = [t["content"] for t in history if t.get("role") == "user" and t.get("content")]
    if not previous or not _FOLLOW_UP.search(question):
        return question
    return f"{previous[-1].rstrip(' ?')}? {question}"
