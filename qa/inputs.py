"""Checks on what a user asks with (question, k, history, filters, URLs): one-line errors,
shared by the CLI, the chat and the API."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ingest.normalize import is_url, parse_filter_date
from qa.errors import ConfigError, InputError
from qa.rewrite import Turn

if TYPE_CHECKING:
    from qa.retrieve import Filters

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


def filter_date(value: object, name: str) -> str:
    """An ISO day from a typed date or a date picker's value (text or a timestamp); "" when
    empty; ConfigError naming the bound (`name`) when it is not a date."""
    if value is None or value == "":
        return ""
    iso = parse_filter_date(value)
    if not iso:
        raise ConfigError(f"{name}: cannot read {value!r} as a date")
    return iso[:10]  # the filter compares days (qa.store.published_day)


def parse_filters(sources: Iterable[str] | None, since: object, until: object) -> Filters:
    """The metadata filters a user gave (sources, and the since/until dates, inclusive)."""
    from qa.retrieve import Filters

    return Filters(tuple(sources or ()), filter_date(since, "since"), filter_date(until, "until"))


def parse_urls(text: str) -> list[str]:
    """The http(s) URLs in a pasted block (one per line or separated by spaces), each once;
    ConfigError naming the first word that is not one."""
    words = (text or "").split()
    bad = [w for w in words if not is_url(w)]
    if bad:
        raise ConfigError(f"not an http(s) URL: {bad[0]}")
    return list(dict.fromkeys(words))
