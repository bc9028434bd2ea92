"""Test helpers over a Store: an on-disk store, one article written, the dense side searched
alone, and the raw Chroma collections (to simulate a killed run or an index of another format,
which no Store method may do)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from qa.chroma_local import local_client
from qa.store import ArticleWrite, Store, chunk_from, stored_chunk
from qa.types import Article, Chunk, Hit


def local_store(folder: Path, embeddings: Embeddings, name: str = "test") -> Store:
    """A Store on an embedded Chroma in `folder`."""
    return Store(local_client(folder), embeddings, name)


def raw(store: Store, which: str) -> Any:
    """The store's Chroma collection "chunks", "articles" or "texts", for fault injection."""
    return store._collection(which)


def write_article(
    store: Store,
    article: Article,
    chunks: Sequence[Chunk],
    vectors: Sequence[Sequence[float]],
    extra: dict[str, Any] | None = None,
) -> None:
    """Store one article (what an index run does for each)."""
    store.write_articles([ArticleWrite(article, chunks, vectors, extra or {})])


def dense_search(store: Store, vector: Sequence[float], k: int) -> list[Hit]:
    """The k nearest chunks with their texts (score = cosine similarity), dense side alone."""
    pairs = store.nearest_chunks(vector, k)
    rows = store.chunks_by_id([c for c, _ in pairs])
    return [
        Hit(chunk_from(c, rows[c][0], rows[c][1]), score, rows[c][1])
        for c, score in pairs
        if c in rows
    ]


def put_chunks(
    store: Store,
    ids: Sequence[str],
    texts: Sequence[str],
    metas: Sequence[dict[str, Any]],
    vectors: Any,
) -> None:
    """Store chunk rows as given, without article records (a benchmark's synthetic index)."""
    raw(store, "chunks").upsert(
        ids=list(ids),
        embeddings=vectors,
        metadatas=[stored_chunk(m, t) for m, t in zip(metas, texts, strict=True)],
    )
