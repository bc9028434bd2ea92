"""Split article text into chunks that fit the embedding model, at sentence boundaries.

all-MiniLM-L6-v2 reads at most 256 word pieces and silently drops the rest, so lengths are
measured with the model's own tokenizer, never with characters or words.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from qa.types import Chunk

TokenCounter = Callable[[Sequence[str]], list[int]]
# Word-piece ids of each text, as the model's tokenizer gives them (no [CLS]/[SEP]).
TokenEncoder = Callable[[Sequence[str]], Sequence[Sequence[int]]]

# A sentence ends at . ! ? (plus closing quotes/brackets) before whitespace and a non-lowercase
# letter, or at a line break. A run of marks is matched from its first mark only and without
# backtracking, so a line of a million dots costs linear time, not quadratic.
_SENTENCE_END = re.compile(r"""(?<![.!?…])[.!?…]++["'”’)\]]*+(?=\s+[^\sa-z])|\n+""")
# The model's tokenizer reads a run of more than 100 characters without a space or punctuation
# as one [UNK]: such a run (base64, a line without spaces) is cut into pieces this long, so no
# chunk holds megabytes behind a handful of word pieces.
WORD_CHARS = 100
_LONG_RUN = re.compile(rf"\S{{{WORD_CHARS + 1}}}")
# "U.S. President", "Mr. Smith": a period after these does not end a sentence.
_ABBREV = re.compile(
    r"(?:\b(?:[A-Z]\.)+|\b(?:Mr|Mrs|Ms|Dr|Prof|Sen|Rep|Gov|Gen|Col|Lt|St|Jr|Sr|Inc|Corp|Co|Ltd"
    r"|No|vs|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.)$"
)


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences in text, whitespace trimmed, in order."""
    spans: list[tuple[int, int]] = []
    start = 0
    for m in _SENTENCE_END.finditer(text):
        if m.group() == "." and _ABBREV.search(text, max(0, m.start() - 12), m.end()):
            continue
        end = m.end() if m.group().strip() else m.start()
        _append_trimmed(text, start, end, spans)
        start = m.end()
    _append_trimmed(text, start, len(text), spans)
    return spans


def _append_trimmed(text: str, start: int, end: int, out: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        out.append((start, end))


def _words(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Spans of the whitespace-separated words of text[start:end], runs over WORD_CHARS cut."""
    words: list[tuple[int, int]] = []
    for m in re.finditer(r"\S+", text[start:end]):
        a, b = m.start() + start, m.end() + start
        words.extend((i, min(i + WORD_CHARS, b)) for i in range(a, b, WORD_CHARS))
    return words


def _fit(
    text: str, span: tuple[int, int], n: int, count: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """Cut a span of n word pieces into halves by characters until each has max_tokens."""
    a, b = span
    if n <= max_tokens or b - a <= 1:
        return [span]
    mid = (a + b) // 2
    halves = [(a, mid), (mid, b)]
    counts = count([text[x:y] for x, y in halves])
    return [
        p for h, m in zip(halves, counts, strict=True) for p in _fit(text, h, m, count, max_tokens)
    ]


def _split_long(
    text: str, span: tuple[int, int], count: TokenCounter, max_tokens: int
) -> list[tuple[int, int]]:
    """Cut an over-long sentence into word-aligned pieces of at most max_tokens (a word with
    more is cut by characters)."""
    start, end = span
    words = _words(text, start, end)
    counts = count([text[a:b] for a, b in words])
    pieces: list[tuple[int, int]] = []
    piece_start, used = words[0][0], 0
    prev_end = words[0][0]
    for (a, b), n in zip(words, counts, strict=True):
        if used and used + n > max_tokens:
            pieces.append((piece_start, prev_end))
            piece_start, used = a, 0
        if n > max_tokens:  # a single absurd "word" (a URL, base64): cut by characters
            if used:
                pieces.append((piece_start, prev_end))
            pieces.extend(_fit(text, (a, b), n, count, max_tokens))
            piece_start, used = b, 0
            prev_end = b
            continue
        used += n
        prev_end = b
    if used:
        pieces.append((piece_start, prev_end))
    return [p for p in pieces if p[1] > p[0]]


def chunk(
    article_id: str,
    text: str,
    *,
    count_tokens: TokenCounter,
    max_tokens: int = 200,
    overlap_tokens: int = 40,
) -> list[Chunk]:
    """Pack whole sentences into chunks of at most max_tokens, overlapping by whole sentences.

    Each chunk's text is `text[start:end]` verbatim, so snippets can be located in the article.
    """
    return [
        c
        for c, _ in chunk_tokens(
            article_id,
            text,
            count_tokens=count_tokens,
            max_tokens=max_tokens,
            overlap_tokens=overlap_tokens,
        )
    ]


def chunk_tokens(
    article_id: str,
    text: str,
    *,
    count_tokens: TokenCounter | None = None,
    encode: TokenEncoder | None = None,
    max_tokens: int = 200,
    overlap_tokens: int = 40,
) -> list[tuple[Chunk, list[int] | None]]:
    """`chunk`, measuring with `encode` (word-piece ids) when given, else with `count_tokens`;
    each chunk comes with its word-piece ids (None without `encode`).

    A chunk's ids are its sentences' ids joined: sentences are separated by whitespace, where
    the model's tokenizer always splits, so this is what tokenizing the chunk would give, and
    the model need not tokenize it again (tests/test_chunking.py checks it on real text).
    """
    if encode is None and count_tokens is None:
        raise TypeError("chunk_tokens needs count_tokens or encode")

    def measure(parts: list[str]) -> tuple[list[int], list[list[int]] | None]:
        if encode is None:
            assert count_tokens is not None
            return list(count_tokens(parts)), None
        ids = [list(x) for x in encode(parts)]
        return [len(x) for x in ids], ids

    spans = sentence_spans(text)
    if not spans:
        return []
    counts, ids = measure([text[a:b] for a, b in spans])
    units: list[tuple[int, int, int, list[int] | None]] = []  # (start, end, tokens, ids)

    def count(parts: Sequence[str]) -> list[int]:
        return measure(list(parts))[0]

    for k, (span, n) in enumerate(zip(spans, counts, strict=True)):
        if n <= max_tokens and not _LONG_RUN.search(text, *span):
            units.append((*span, n, ids[k] if ids is not None else None))
        else:
            pieces = _split_long(text, span, count, max_tokens)
            p_counts, p_ids = measure([text[a:b] for a, b in pieces])
            if max(p_counts, default=0) > max_tokens:  # a cut word tokenized differently
                pieces = [
                    p
                    for q, m in zip(pieces, p_counts, strict=True)
                    for p in _fit(text, q, m, count, max_tokens)
                ]
                p_counts, p_ids = measure([text[a:b] for a, b in pieces])
            units.extend(
                (a, b, m, p_ids[q] if p_ids is not None else None)
                for q, ((a, b), m) in enumerate(zip(pieces, p_counts, strict=True))
            )

    chunks: list[tuple[Chunk, list[int] | None]] = []
    i = 0
    while i < len(units):
        used, j = 0, i
        # Units join only across whitespace (where the tokenizer splits anyway): the pieces
        # of a cut word are measured as they are, never as a longer word.
        while j < len(units) and (
            j == i or (used + units[j][2] <= max_tokens and units[j][0] > units[j - 1][1])
        ):
            used += units[j][2]
            j += 1
        start, end = units[i][0], units[j - 1][1]
        joined = None if ids is None else [t for u in units[i:j] for t in (u[3] or [])]
        c = Chunk(
            f"{article_id}:{len(chunks)}", article_id, len(chunks), text[start:end], start, end
        )
        chunks.append((c, joined))
        if j >= len(units):
            break
        # Step back over trailing sentences worth at most overlap_tokens, but always advance.
        back, k = 0, j
        while k - 1 > i and back + units[k - 1][2] <= overlap_tokens:
            back += units[k - 1][2]
            k -= 1
        i = k
    return chunks
