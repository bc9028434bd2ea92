"""Re-indexing the unchanged 3,824-row news corpus embeds nothing.

Embedding quality is not the point here, so vectors come from a fake model (counting what it is
asked to embed); chunking uses the real tokenizer, so the chunks are the product's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from qa.app import App
from tests.conftest import SHARED, make_settings

CORPUS = SHARED / "corpus" / "news-articles-2017.csv.gz"


class CountingFake(DeterministicFakeEmbedding):
    """Fake vectors, the real model's token counts, and a count of embedded texts."""

    texts: int = 0
    counter: object = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return super().embed_documents(texts)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.counter.count_tokens(texts)  # type: ignore[attr-defined]


@pytest.mark.slow
def test_unchanged_corpus_reindex_embeds_nothing(tmp_path: Path, embeddings) -> None:
    if not CORPUS.exists():
        pytest.skip(f"{CORPUS} not found")
    app = App(make_settings(tmp_path))
    fake = CountingFake(size=384, counter=embeddings)
    app.__dict__["embeddings"] = fake
    first = app.index([str(CORPUS)])
    assert first.added == len(app.store.article_ids()) > 3700
    # A chunk text that occurs twice (copies, boilerplate) is embedded once.
    assert fake.texts == first.embedded_chunks <= first.chunks
    assert first.chunks > 15000 and first.duplicates > 0
    fake.texts = 0
    again = app.reindex()
    assert (again.added, again.updated, again.removed) == (0, 0, 0)
    assert again.unchanged == first.added and again.failed == first.failed
    assert again.embedded_chunks == fake.texts == 0
    assert again.chunks == first.chunks
