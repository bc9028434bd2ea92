"""The content-hash embedding cache in front of the real MiniLM model."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from langchain_core.embeddings import Embeddings

from qa.embed_cache import CachedEmbeddings


class Counting(Embeddings):
    """The real model, recording every text it is asked to embed."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.seen: list[str] = []
        self.model_path = getattr(inner, "model_path", "")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        self.seen.append(text)
        return self.inner.embed_query(text)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens(texts)  # type: ignore[attr-defined]


@pytest.fixture
def counting(embeddings) -> Counting:
    return Counting(embeddings)


def test_same_text_is_embedded_once_and_vectors_match(counting, tmp_path: Path) -> None:
    cache = CachedEmbeddings(counting, tmp_path / "c.sqlite")
    texts = ["Snow closed the roads.", "The striker scored twice.", "Snow closed the roads."]
    first = cache.embed_documents(texts)
    assert counting.seen == texts[:2]  # the repeat inside one call is embedded once too
    again = cache.embed_documents(list(reversed(texts)))
    assert counting.seen == texts[:2]
    assert again == list(reversed(first))
    direct = np.asarray(counting.inner.embed_documents(texts[:1])[0], dtype=np.float32)
    # Alone or in a padded batch the model differs in the last bits only.
    assert np.allclose(np.asarray(first[0], dtype=np.float32), direct, atol=1e-5)
    assert (cache.hits, cache.misses) == (4, 2)


def test_cache_persists_and_is_keyed_by_model(counting, tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    CachedEmbeddings(counting, path).embed_documents(["one text"])
    reopened = CachedEmbeddings(counting, path)
    reopened.embed_documents(["one text"])
    assert counting.seen == ["one text"]
    assert reopened.size() == 1
    other_model = CachedEmbeddings(counting, path, namespace="another-model")
    other_model.embed_documents(["one text"])
    assert counting.seen == ["one text", "one text"]


def test_queries_are_cached_apart_from_documents(counting, tmp_path: Path) -> None:
    cache = CachedEmbeddings(counting, tmp_path / "c.sqlite")
    cache.embed_documents(["who won the cup"])
    q = cache.embed_query("who won the cup")
    cache.embed_query("who won the cup")
    assert counting.seen == ["who won the cup", "who won the cup"]
    assert len(q) == 384


def test_threads_share_one_cache(counting, tmp_path: Path) -> None:
    cache = CachedEmbeddings(counting, tmp_path / "c.sqlite")
    texts = [f"article number {i} about the weather" for i in range(12)]
    results: list[list[list[float]]] = []

    def work() -> None:
        results.append(cache.embed_documents(texts))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(r == results[0] for r in results)
    assert cache.size() == 12


def test_forwards_the_model_extras(counting, tmp_path: Path) -> None:
    cache = CachedEmbeddings(counting, tmp_path / "c.sqlite")
    assert bool(cache)  # an empty cache must not read as "no embeddings" (`x or default`)
    assert cache.count_tokens(["a few words here"]) == counting.count_tokens(["a few words here"])
    assert cache.model_path == counting.model_path
    cache.warm()  # the inner model has no warm(): nothing to do, no error
    assert not (tmp_path / "c.sqlite").exists() or cache.size() == 0
    assert cache.embed_documents([]) == []


def test_indexing_through_the_cache_embeds_nothing_twice(app, counting, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text("Heavy snow closed the northern roads on Sunday.\n")
    cache = CachedEmbeddings(counting, tmp_path / "c.sqlite")
    app.__dict__["embeddings"] = cache
    app.index([str(folder)])
    embedded = len(counting.seen)
    assert embedded >= 1
    app.remove(str(folder))
    app.index([str(folder)])  # a fresh index of the same text: all from the cache
    assert len(counting.seen) == embedded
    assert app.retriever.search("snow roads", k=1)[0].chunk.text.startswith("Heavy snow")


def test_passages_come_as_one_array_and_never_around_the_cache(onnx_int8, tmp_path: Path) -> None:
    # An index run asks for arrays (no list of Python floats per vector). Through the cache
    # and the embed-ahead stage, the model's own embed_array must serve only the misses: a
    # wrapper forwards unknown attributes to its inner model, and that must not bypass it.
    from ingest.pipeline import EmbedAhead
    from qa.embeddings import embed_passages

    class Spy(Embeddings):
        def __init__(self) -> None:
            self.asked: list[str] = []

        def embed_array(self, texts: list[str]) -> np.ndarray:
            self.asked += texts
            return np.asarray(onnx_int8.embed_array(texts))

        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            raise AssertionError("an index run asks for arrays")

        def embed_query(self, text: str) -> list[float]:
            raise AssertionError("no questions here")

    spy = Spy()
    cached = CachedEmbeddings(spy, tmp_path / "cache.sqlite", namespace="spy")
    texts = ["Rain fell on Spain.", "Snow fell on Oslo.", "Rain fell on Spain."]
    first = embed_passages(EmbedAhead(cached), texts)
    assert first.dtype == np.float32 and first.shape == (3, 384)
    assert np.array_equal(first, onnx_int8.embed_array(texts[:2])[[0, 1, 0]])  # one batch
    again = embed_passages(EmbedAhead(cached), [*texts, "Sun in Rome."])
    assert np.array_equal(again[:3], first)
    assert spy.asked == texts[:2] + ["Sun in Rome."]  # each text once, then from the cache
    assert cached.embed_documents(texts[:1]) == first[:1].tolist()  # the same numbers as lists
