"""Chroma access: one collection of chunks (what is searched) and one of whole articles.

Articles are stored in Chroma too (full text as the document, the mean of their chunk vectors as
the embedding), so that a Chroma server shared by several processes holds the whole index and
citations can always be checked against the stored article text.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.types import Article, Chunk, Hit

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection
    from langchain_chroma import Chroma

PAGE = 2000  # rows per Chroma get/upsert call: bounded memory, well under its batch limit
HNSW: Any = {"space": "cosine", "ef_construction": 200, "ef_search": 200, "max_neighbors": 32}


def published_day(iso: str) -> int:
    """20170301 for "2017-03-01..." (Chroma filters compare numbers only); 0 when unknown."""
    digits = iso[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


def _chroma_ef(embeddings: Embeddings) -> Any:
    """Wrap our LangChain embeddings for Chroma, so it never falls back to its own model."""
    from chromadb.api.types import Documents, EmbeddingFunction

    class _LangChainEF(EmbeddingFunction[Documents]):
        def __init__(self, inner: Embeddings) -> None:
            self.inner = inner

        def __call__(self, input: Documents) -> Any:
            return self.inner.embed_documents(list(input))

        @staticmethod
        def name() -> str:
            return "articleqa"

        def get_config(self) -> dict[str, Any]:
            return {"model_path": str(getattr(self.inner, "model_path", ""))}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> Any:
            from qa.embeddings import SentenceTransformerEmbeddings, packaged_model_path

            path = config.get("model_path") or packaged_model_path()
            return _LangChainEF(SentenceTransformerEmbeddings(path))

    return _LangChainEF(embeddings)


class Store:
    """The index in Chroma: upsert/delete by article, look up, dense search."""

    def __init__(self, client: ClientAPI, embeddings: Embeddings, name: str = "articleqa"):
        self.client = client
        self.embeddings = embeddings
        self.name = name
        ef = _chroma_ef(embeddings)
        self.chunks: Collection = client.get_or_create_collection(
            f"{name}-chunks", embedding_function=ef, configuration={"hnsw": HNSW}
        )
        self.articles: Collection = client.get_or_create_collection(
            f"{name}-articles", embedding_function=ef, configuration={"hnsw": HNSW}
        )

    # -- the LangChain view -------------------------------------------------------------
    def vectorstore(self) -> Chroma:
        """The chunk collection as a LangChain VectorStore (for `as_retriever()` users)."""
        from langchain_chroma import Chroma

        return Chroma(
            client=self.client,
            collection_name=self.chunks.name,
            embedding_function=self.embeddings,
            create_collection_if_not_exists=False,
        )

    # -- writes ---------------------------------------------------------------------------
    def write_article(
        self, article: Article, chunks: Sequence[Chunk], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Replace an article's chunks, then record the article (its hash last, so a crash
        in between leaves a record that the next run sees as changed and redoes)."""
        self.delete_chunks_of(article.id)
        meta = article.metadata()
        day = published_day(article.published)
        for lo in range(0, len(chunks), PAGE):
            part = chunks[lo : lo + PAGE]
            self.chunks.upsert(
                ids=[c.id for c in part],
                documents=[c.text for c in part],
                embeddings=np.asarray(vectors[lo : lo + PAGE], dtype=np.float32),
                metadatas=[
                    {**meta, "day": day, "chunk": c.index, "start": c.start, "end": c.end}
                    for c in part
                ],
            )
        mean = _mean_unit(vectors)
        self.articles.upsert(
            ids=[article.id],
            documents=[article.text],
            embeddings=np.asarray([mean], dtype=np.float32),
            metadatas=[
                {
                    **meta,
                    "day": day,
                    "origin": article.origin,
                    "hash": article.hash,
                    "chunks": len(chunks),
                }
            ],
        )

    def delete_chunks_of(self, article_id: str) -> None:
        """Delete every chunk of one article."""
        self.chunks.delete(where={"article_id": article_id})

    def delete_article(self, article_id: str) -> None:
        """Delete an article: its record first, so a crash leaves orphans the sweep removes."""
        self.articles.delete(ids=[article_id])
        self.delete_chunks_of(article_id)

    def sweep_orphans(self) -> int:
        """Delete chunks whose article has no record (left by a killed run); return how many."""
        known = set(self.article_ids())
        orphans = {str(m["article_id"]) for _, m in self._iter(self.chunks, ["metadatas"])} - known
        for aid in orphans:
            self.delete_chunks_of(aid)
        return len(orphans)

    def bump_generation(self) -> str:
        """Mark the index as changed, so lexical indexes in other processes rebuild."""
        gen = uuid.uuid4().hex
        self.chunks.modify(metadata={**(self.chunks.metadata or {}), "generation": gen})
        return gen

    def generation(self) -> str:
        """Current change marker (re-read from the server, which other processes may bump)."""
        col = self.client.get_collection(self.chunks.name)
        return str((col.metadata or {}).get("generation", ""))

    # -- reads ----------------------------------------------------------------------------
    def article_hashes(self, ids: Sequence[str]) -> dict[str, str]:
        """Stored content hash of each known article id."""
        out: dict[str, str] = {}
        for lo in range(0, len(ids), PAGE):
            got = self.articles.get(ids=list(ids[lo : lo + PAGE]), include=["metadatas"])
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True):
                out[i] = str(m.get("hash", ""))
        return out

    def articles_from(self, origin: str) -> list[str]:
        """Ids of the articles that came from one user-given source."""
        got = self.articles.get(where={"origin": origin}, include=[])
        return list(got["ids"])

    def article_ids(self) -> list[str]:
        """Every stored article id."""
        return [i for i, _ in self._iter(self.articles, [])]

    def get_article(self, article_id: str) -> tuple[Article, dict[str, Any]] | None:
        """The stored article and its record metadata, or None."""
        got = self.articles.get(ids=[article_id], include=["documents", "metadatas"])
        if not got["ids"]:
            return None
        m = dict((got["metadatas"] or [{}])[0])
        doc = (got["documents"] or [""])[0]
        return _article_from(article_id, doc, m), m

    def list_articles(self) -> list[dict[str, Any]]:
        """Metadata of every article, newest first."""
        rows = [{"id": i, **m} for i, m in self._iter(self.articles, ["metadatas"])]
        rows.sort(
            key=lambda r: (str(r.get("published", "")), str(r.get("title", ""))), reverse=True
        )
        return rows

    def count(self) -> tuple[int, int]:
        """(articles, chunks) in the index."""
        return self.articles.count(), self.chunks.count()

    def iter_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every chunk as (id, text, metadata), paged (for the lexical index)."""
        offset = 0
        while True:
            got = self.chunks.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            if not got["ids"]:
                return
            yield from zip(got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True)
            offset += len(got["ids"])

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of the given chunks."""
        if not ids:
            return {}
        got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        return {
            i: (d, dict(m))
            for i, d, m in zip(
                got["ids"], got["documents"] or [], got["metadatas"] or [], strict=True
            )
        }

    def dense_search(
        self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[Hit]:
        """Nearest chunks by cosine similarity (score = 1 - cosine distance)."""
        n = self.chunks.count()
        if n == 0:
            return []
        got = self.chunks.query(
            query_embeddings=np.asarray([vector], dtype=np.float32),
            n_results=min(k, n),
            where=where or None,
            include=["documents", "metadatas", "distances"],
        )
        hits = []
        for i, d, m, dist in zip(
            got["ids"][0],
            (got["documents"] or [[]])[0],
            (got["metadatas"] or [[]])[0],
            (got["distances"] or [[]])[0],
            strict=True,
        ):
            meta = dict(m)
            hits.append(Hit(chunk_from(i, d, meta), 1.0 - float(dist), meta))
        return hits

    def _iter(self, col: Collection, include: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            got = col.get(include=include, limit=PAGE, offset=offset)  # type: ignore[arg-type]
            if not got["ids"]:
                return
            metas = got["metadatas"] or [{}] * len(got["ids"])
            yield from zip(got["ids"], (dict(m) for m in metas), strict=True)
            offset += len(got["ids"])


def chunk_from(chunk_id: str, text: str, meta: dict[str, Any]) -> Chunk:
    """Rebuild a Chunk from what Chroma returns."""
    return Chunk(
        id=chunk_id,
        article_id=str(meta.get("article_id", "")),
        index=int(meta.get("chunk", 0)),
        text=text,
        start=int(meta.get("start", 0)),
        end=int(meta.get("end", len(text))),
    )


def _article_from(article_id: str, text: str, m: dict[str, Any]) -> Article:
    return Article(
        id=article_id,
        text=text,
        **{
            f: str(m.get(f, ""))
            for f in ("title", "url", "path", "source", "published", "author", "origin")
        },
    )


def _mean_unit(vectors: Sequence[Sequence[float]]) -> list[float]:
    """Normalized mean vector (a whole-article embedding); a unit axis when there are none."""
    if not len(vectors):
        v = np.zeros(384, dtype=np.float32)
        v[0] = 1.0
        return v.tolist()
    m = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(m)) or 1.0
    return (m / norm).tolist()
