"""The indexing pipeline: loading runs ahead in a bounded background thread, hinted chunks are
embedded ahead and handed over exactly once, errors reach the caller, and `index` uses both."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from ingest.pipeline import EmbedAhead, hint, prefetch, prefetching
from qa.app import App

from .conftest import make_settings


class Recording(Embeddings):
    """A fake model (this test is about scheduling, not vectors) that records its calls."""

    def __init__(self, delay: float = 0.0, fail_on: str = "") -> None:
        self.fake = DeterministicFakeEmbedding(size=8)
        self.calls: list[tuple[str, list[str]]] = []
        self.delay = delay
        self.fail_on = fail_on

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls.append((threading.current_thread().name, list(texts)))
        if self.fail_on in texts:
            raise RuntimeError("model crashed")
        time.sleep(self.delay)
        return self.fake.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.fake.embed_query(text)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]


def test_prefetch_keeps_order_and_stays_a_bounded_distance_ahead():
    produced: list[int] = []

    def numbers() -> Iterator[int]:
        for i in range(100):
            produced.append(i)
            yield i

    it = prefetch(numbers(), depth=5)
    assert next(it) == 0
    time.sleep(0.3)  # give the producer every chance to run ahead
    assert len(produced) <= 5 + 2  # the queue, the item in hand, the one being put
    assert [0, *it] == list(range(100))


def test_prefetch_raises_the_producers_error_in_the_consumer():
    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("bad record")

    it = prefetching(lambda _src: broken())("x.csv")
    assert next(it) == 1
    with pytest.raises(ValueError, match="bad record"):
        next(it)


def test_prefetch_stops_its_thread_when_the_consumer_stops_early():
    def endless() -> Iterator[int]:
        i = 0
        while True:
            yield i
            i += 1

    before = threading.active_count()
    it = prefetch(endless(), depth=3)
    next(it)
    it.close()
    for _ in range(50):
        if threading.active_count() <= before:
            break
        time.sleep(0.05)
    assert threading.active_count() <= before


def test_hinted_texts_are_embedded_ahead_in_the_background_once():
    inner = Recording()
    ahead = EmbedAhead(inner, batch=4)
    texts = [f"chunk {i}" for i in range(10)]
    ahead.hint(texts)
    ahead.hint(texts[:3])  # hinted twice: embedded once
    for _ in range(100):
        if sum(len(t) for _, t in inner.calls) == 10:
            break
        time.sleep(0.02)
    got = ahead.embed_documents(texts)
    assert got == inner.fake.embed_documents(texts)  # same vectors, in the asked order
    assert ahead.ahead_hits == 10
    assert all(name == "articleqa-embed-ahead" for name, _ in inner.calls)
    assert sorted(t for _, ts in inner.calls for t in ts) == sorted(texts)
    assert all(len(ts) <= 4 for _, ts in inner.calls)
    # Taken means gone: asking again embeds afresh (nothing is kept after hand-over).
    ahead.embed_documents(texts[:1])
    assert inner.calls[-1] == (threading.current_thread().name, texts[:1])


def test_unhinted_texts_and_questions_go_straight_to_the_model():
    inner = Recording()
    ahead = EmbedAhead(inner)
    assert ahead.embed_documents(["never hinted"]) == inner.fake.embed_documents(["never hinted"])
    assert ahead.embed_query("q?") == inner.fake.embed_query("q?")
    assert ahead.count_tokens(["two words"]) == [2]  # the inner model's other methods
    hint(inner, ["no hint method: ignored"])
    assert inner.calls == [(threading.current_thread().name, ["never hinted"])]


def test_a_worker_error_reaches_the_caller():
    ahead = EmbedAhead(Recording(fail_on="poison"), batch=8)
    ahead.hint(["fine", "poison"])
    with pytest.raises(RuntimeError, match="model crashed"):
        for _ in range(100):
            ahead.embed_documents(["fine", "poison"])
            time.sleep(0.02)


def test_hinting_blocks_when_too_far_ahead():
    inner = Recording(delay=0.05)
    ahead = EmbedAhead(inner, batch=2, max_ahead=4)
    t0 = time.perf_counter()
    # 4 queued and 2 x 2 being embedded fit at once; the other 16 must wait for the two
    # workers to drain the queue, 4 texts per 0.05 s round: at least 3 rounds.
    ahead.hint([f"t{i}" for i in range(24)])
    assert time.perf_counter() - t0 >= 0.1
    assert len(ahead._todo) <= 4


def test_index_embeds_ahead_and_stores_the_same_vectors(app, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    # Enough chunks (~70) for the embed-ahead thread's first batch (EmbedAhead.min_batch).
    for i in range(12):
        body = " ".join(f"Sentence {j} of story {i} about the harbour council." for j in range(60))
        (folder / f"story{i}.txt").write_text(f"Story {i}\n\n{body}\n")
    calls: list[str] = []
    real = app.embeddings

    class Spy(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            calls.append(threading.current_thread().name)
            return real.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return real.embed_query(text)

        def count_tokens(self, texts: list[str]) -> list[int]:
            return real.count_tokens(texts)

    app.__dict__["embeddings"] = Spy()
    report = app.index([str(folder)])
    assert report.added == 12 and report.embedded_chunks > 32
    assert "articleqa-embed-ahead" in calls  # embedding ran beside chunking
    got = list(itertools.islice(app.store.iter_chunk_vectors(), 3))
    expected = np.asarray(real.embed_documents([text for _, text, _, _ in got]))
    assert np.allclose(np.asarray([v for _, _, _, v in got]), expected, atol=1e-5)


def test_index_starts_the_model_worker_early_only_for_new_sources(app, tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    (folder / "one.txt").write_text("Story one\n\nThe harbour council met on Monday.\n")
    real = app.embeddings
    started: list[int] = []

    class Spy(Embeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return real.embed_documents(texts)

        def embed_query(self, text: str) -> list[float]:
            return real.embed_query(text)

        def count_tokens(self, texts: list[str]) -> list[int]:
            return real.count_tokens(texts)

        def start_worker(self) -> None:
            started.append(1)

    app.__dict__["embeddings"] = Spy()
    app.index([str(folder)], dry_run=True)  # a dry run embeds nothing
    assert started == []
    app.index([str(folder)])  # new: everything in it will be embedded
    assert started == [1]
    (folder / "two.txt").write_text("Story two\n\nThe ferry sailed late.\n")
    app.index([str(folder)])  # known source: maybe nothing changed, so no early start
    assert started == [1]


@pytest.mark.slow
def test_index_hands_the_chunkers_word_pieces_to_the_model(tmp_path, onnx_int8, monkeypatch):
    # Chunking tokenizes every sentence already; the model reuses those ids rather than
    # tokenizing each chunk again, and must read exactly the pieces it would have anyway.
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(4):
        body = " ".join(
            f"Sentence {j} of story {i} about the harbour's new ferry." for j in range(50)
        )
        (folder / f"story{i}.txt").write_text(f"Story {i}\n\n{body}\n")
    remembered: list[str] = []
    read: dict[str, list[int]] = {}  # text -> the ids the model ran on
    real_remember, real_ids = onnx_int8.remember_tokens, onnx_int8._model_ids

    def remember(texts, ids):
        remembered.extend(texts)
        real_remember(texts, ids)

    def model_ids(texts, known):
        assert known is not None and all(k is not None for k in known)  # none tokenized here
        out = real_ids(texts, known)
        read.update((t, list(x)) for t, x in zip(texts, out, strict=True))
        return out

    monkeypatch.setattr(onnx_int8, "remember_tokens", remember)
    monkeypatch.setattr(onnx_int8, "_model_ids", model_ids)
    onnx_int8._memo.clear()
    app = App(make_settings(tmp_path))
    app.__dict__["embeddings"] = onnx_int8
    report = app.index([str(folder)])
    got = list(app.store.iter_chunk_vectors())
    texts = [text for _, text, _, _ in got]
    assert report.embedded_chunks == len(texts) > 8
    assert sorted(remembered) == sorted(texts) and not onnx_int8._memo  # all handed, all used
    # The model read exactly the pieces tokenizing each chunk gives. (Its vectors then match
    # up to the batch: int8 quantizes each batch's activations with one scale, so a row's
    # vector moves a little with its batch partner; tests/test_embeddings.py compares vectors
    # batch for batch.)
    assert read == {t: onnx_int8.encoder.encode(t).ids for t in texts}
    monkeypatch.setattr(onnx_int8, "_model_ids", real_ids)  # tokenizing again, as a check
    stored = np.asarray([v for _, _, _, v in got], dtype=np.float32)
    assert (stored * onnx_int8.embed_array(texts)).sum(axis=1).min() > 0.99
