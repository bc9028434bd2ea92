"""Checks on what a user asks with (question, k, history): one-line errors, shared by the CLI
and the API."""

from __future__ import annotations

from typing import Any

from qa.errors import InputError
from qa.rewrite import Turn

ROLES = ("user", "assistant")
MAX_K = 50  # the most passages a question or search may ask for (Settings.k's bound too)


def check_question(question: object) -> str:
    """The question, or InputError when it is not text or is blank."""
    if not isinstance(question, str) or not question.strip():
        raise InputError("the question is empty")
    return question


def check_k(k: object, *, default: int) -> int:
    """k when it is a whole number from 1 to MAX_K, default when 0 or None, else InputError."""
    if k is None or k == 0:
        return default
    if isinstance(k, bool) or not isinstance(k, int | float) or int(k) != k:
        raise InputError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    if not 1 <= k <= MAX_K:
        raise InputError(f"k must be from 1 to {MAX_K}, got {int(k)}")
    return int(k)


def parse_history(turns: Any) -> list[Turn]:
    """A chat history as Turns, or InputError naming the first thing wrong with it."""
    if turns is None:
        return []
    if not isinstance(turns, list):
        raise InputError(f"history must be a list of turns, got {type(turns).__name__}")
    out: list[Turn] = []
    for n, t in enumerate(turns, 1):
        if not isinstance(t, dict):
            raise InputError(
                f"history turn {n} must be an object with role and content, got {type(t).__name__}"
            )
        role, content = t.get("role"), t.get("content")
        if role not in ROLES:
            raise InputError(
                f"history turn {n}: role must be one of {', '.join(ROLES)}, got {role!r}"
            )
        if not isinstance(content, str):
            raise InputError(
                f"history turn {n}: content must be text, got {type(content).__name__}"
            )
        out.append(Turn(role=role, content=content))
    return out
