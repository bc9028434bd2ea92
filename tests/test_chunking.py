"""Chunk limits measured with the real all-MiniLM-L6-v2 tokenizer."""

from __future__ import annotations

import random

import pytest

from ingest.chunking import chunk, chunk_tokens, sentence_spans
from tests.conftest import SEED


def test_sentences_do_not_split_at_abbreviations() -> None:
    text = "The U.S. wants South Korea to act. Mr. Kim said no. Prices rose 3.5 percent!"
    spans = [text[a:b] for a, b in sentence_spans(text)]
    assert spans == [
        "The U.S. wants South Korea to act.",
        "Mr. Kim said no.",
        "Prices rose 3.5 percent!",
    ]


def test_line_breaks_end_sentences() -> None:
    text = "Headline without stop\n\nBody starts here. Second one."
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Headline without stop",
        "Body starts here.",
        "Second one.",
    ]


@pytest.mark.parametrize("max_tokens,overlap", [(200, 40), (64, 16), (30, 0)])
def test_chunks_fit_model_and_are_verbatim(embeddings, max_tokens: int, overlap: int) -> None:
    text = SEED.read_text()
    chunks = chunk(
        "a",
        text,
        count_tokens=embeddings.count_tokens,
        max_tokens=max_tokens,
        overlap_tokens=overlap,
    )
    assert chunks, "seed article produced no chunks"
    counts = embeddings.count_tokens([c.text for c in chunks])
    assert max(counts) <= max_tokens
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert c.id == f"a:{c.index}"
    # Every sentence of the article is in some chunk: nothing silently dropped.
    covered = set()
    for c in chunks:
        covered.update(range(c.start, c.end))
    for a, b in sentence_spans(text):
        assert a in covered and b - 1 in covered


def test_overlap_repeats_trailing_sentences(embeddings) -> None:
    text = " ".join(f"Sentence number {i} talks about topic {i}." for i in range(60))
    chunks = chunk(
        "a", text, count_tokens=embeddings.count_tokens, max_tokens=60, overlap_tokens=20
    )
    assert len(chunks) > 3
    for prev, nxt in zip(chunks, chunks[1:], strict=False):
        assert nxt.start < prev.end, "consecutive chunks should overlap"
        assert nxt.start > prev.start, "chunking must advance"


def test_overlong_sentence_is_cut_within_limit(embeddings) -> None:
    rng = random.Random(1)
    words = [
        "".join(rng.choice("abcdefghij") for _ in range(rng.randint(3, 12))) for _ in range(900)
    ]
    text = " ".join(words)  # one "sentence" of ~2,000 word pieces, no stops
    chunks = chunk(
        "a", text, count_tokens=embeddings.count_tokens, max_tokens=200, overlap_tokens=40
    )
    counts = embeddings.count_tokens([c.text for c in chunks])
    assert len(chunks) >= 5 and max(counts) <= 200
    assert chunks[0].start == 0 and chunks[-1].end == len(text)


def test_empty_text_gives_no_chunks(embeddings) -> None:
    assert chunk("a", "   \n\n ", count_tokens=embeddings.count_tokens) == []


@pytest.fixture(scope="module")
def onnx(tmp_path_factory: pytest.TempPathFactory):
    """The ONNX embedder (counting and word-piece ids need only its tokenizer)."""
    from qa.embeddings import OnnxEmbeddings, packaged_model_path

    return OnnxEmbeddings(packaged_model_path(), cache_dir=tmp_path_factory.mktemp("onnx"))


TRICKY = (
    "The U.S. Senate met. Mr. Smith\u00a0said: \u201cNo!\u201d Caf\u00e9s closed.\n\n"
    "\u6771\u4eac\u3067\u4f1a\u8b70\u3002 Line\x1cwith a control char. "
    + "https://example.com/"
    + "x" * 900
    + " after the long word. "
    + " ".join(f"Sentence {i} of many, with numbers like 3.5% and O'Neil's." for i in range(60))
)


@pytest.mark.parametrize("max_tokens,overlap", [(200, 40), (30, 0)])
def test_chunk_ids_are_what_the_tokenizer_gives_the_chunk(onnx, max_tokens, overlap) -> None:
    # The model reuses a chunk's ids (its sentences' ids joined) instead of tokenizing it
    # again: that is only right if both give the same pieces, for real and for odd text.
    for text in (SEED.read_text(), TRICKY):
        pairs = chunk_tokens(
            "a", text, encode=onnx.token_ids, max_tokens=max_tokens, overlap_tokens=overlap
        )
        plain = chunk(
            "a", text, count_tokens=onnx.count_tokens, max_tokens=max_tokens, overlap_tokens=overlap
        )
        assert [c for c, _ in pairs] == plain and len(plain) > 2
        for c, ids in pairs:
            assert ids == onnx.token_ids([c.text])[0]
            assert list(onnx._model_ids([c.text], [ids])[0]) == onnx.encoder.encode(c.text).ids
        # Measured with counts only, chunks carry no ids.
        assert all(
            ids is None for _, ids in chunk_tokens("a", text, count_tokens=onnx.count_tokens)
        )
