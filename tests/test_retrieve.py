"""Hybrid retrieval on small real indexes: fusion, filters, diversity, BM25 kept in step."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.index import index_sources
from qa.retrieve import Filters, Retriever, diversify
from qa.store import Store
from qa.types import Article, Chunk, Hit

NEWS = [
    (
        "q1",
        "2017-02-10",
        "reuters.com",
        "Quarterly results",
        "Company XR-7731 reported revenue of 4.2 billion dollars for the quarter.",
    ),
    (
        "q2",
        "2017-03-05",
        "bbc.co.uk",
        "Weather report",
        "Heavy snow closed roads across the northern highlands on Sunday.",
    ),
    (
        "q3",
        "2017-03-20",
        "reuters.com",
        "Football",
        "The striker scored twice as the home side won the cup final.",
    ),
    (
        "q4",
        "2017-03-21",
        "apnews.com",
        "Snowstorm",
        "A blizzard brought heavy snow and closed schools in the mountains.",
    ),
]


@pytest.fixture
def retriever(tmp_path: Path, embeddings) -> Retriever:
    import chromadb

    client = chromadb.PersistentClient(
        path=str(tmp_path / "c"), settings=chromadb.config.Settings(anonymized_telemetry=False)
    )
    store = Store(client, embeddings, "rt")
    items = [
        Article(id=i, text=t, title=ti, source=s, published=d, origin=str(tmp_path))
        for i, d, s, ti, t in NEWS
    ]
    index_sources(
        [str(tmp_path)],
        store=store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=lambda o: items,
    )
    store.bump_generation()
    return Retriever(store, embeddings, lexical_dir=tmp_path / "bm25")


def test_dense_finds_paraphrase(retriever: Retriever) -> None:
    hits = retriever.search("winter storm shuts roads", k=2)
    assert {h.chunk.article_id for h in hits} == {"q2", "q4"}


def test_lexical_finds_exact_code_that_dense_misses(retriever: Retriever) -> None:
    retriever.use_dense = False
    assert retriever.search("XR-7731", k=1)[0].chunk.article_id == "q1"
    retriever.use_dense, retriever.use_lexical = True, True
    assert retriever.search("XR-7731 revenue", k=1)[0].chunk.article_id == "q1"


def test_filters_apply_to_both_sides(retriever: Retriever) -> None:
    hits = retriever.search("heavy snow", k=4, filters=Filters(since="2017-03-10"))
    assert [h.chunk.article_id for h in hits if "snow" in h.chunk.text] == ["q4"]
    assert all(h.meta["day"] >= 20170310 for h in hits)
    hits = retriever.search("heavy snow", k=4, filters=Filters(sources=("bbc.co.uk",)))
    assert [h.chunk.article_id for h in hits] == ["q2"]
    assert retriever.search("snow", k=4, filters=Filters(until="2017-01-01")) == []


def test_hits_carry_cosine_for_refusal(retriever: Retriever) -> None:
    good = retriever.search("blizzard closed schools", k=1)[0]
    bad = retriever.search("quantum chromodynamics lattice", k=1)[0]
    assert good.meta["cosine"] > 0.5 > bad.meta["cosine"]


def test_lexical_index_follows_store_changes(
    retriever: Retriever, embeddings, tmp_path: Path
) -> None:
    assert retriever.search("XR-7731", k=1)[0].chunk.article_id == "q1"
    retriever.store.delete_article("q1")
    retriever.store.bump_generation()
    retriever.use_dense = False
    assert all(h.chunk.article_id != "q1" for h in retriever.search("XR-7731", k=3))


def test_diversify_caps_per_article_and_collapses_copies() -> None:
    def hit(cid: str, aid: str, text: str, score: float) -> Hit:
        return Hit(Chunk(cid, aid, 0, text, 0, len(text)), score, {})

    story = "Huawei was banned from using Google services, the company said on Monday."
    hits = [
        hit("a:0", "a", story, 0.9),
        hit("b:0", "b", story + " Reuters", 0.8),
        hit("a:1", "a", "Other words entirely here.", 0.7),
        hit("a:2", "a", "More distinct content again.", 0.6),
        hit("c:0", "c", "Unrelated fresh article text.", 0.5),
    ]
    assert [h.chunk.id for h in diversify(hits, 5, per_article=2)] == ["a:0", "a:1", "c:0"]
