"""Find what an answer's text says twice: a sentence or quote repeated, or contained in another."""

from __future__ import annotations

import re

# Shorter pieces ("the U.S.", "in 2017") recur in any text and are not a repeated statement.
MIN_WORDS = 4


def pieces(text: str) -> list[str]:
    """The answer's quotes and sentences, normalized, without citation markers or ellipses."""
    out = []
    # Citation markers and quotation marks bound the answer's parts; within a part, a stop
    # after a lowercase word or a digit ends a sentence ("the U.S. has" does not).
    for part in re.split(r"\[\d+\]|[“”\"]", text.replace("…", " ")):
        for sentence in re.split(r"(?<=[a-z0-9%][.!?])\s+(?=[A-Z“\"])", part):
            words = re.findall(r"\w+", sentence.lower())
            if len(words) >= MIN_WORDS:
                out.append(" ".join(words))
    return out


def repeats(text: str) -> list[str]:
    """The quotes or sentences of text that appear again in it, whole or inside a longer one."""
    found = pieces(text)
    return [
        p
        for i, p in enumerate(found)
        if any(f" {p} " in f" {q} " for j, q in enumerate(found) if j != i)
    ]
