"""Chroma access: a collection of chunks (what is searched), one of article records, one of texts.

Articles are stored in Chroma too (a record with the metadata and content hash, the mean of
their chunk vectors as the embedding; the full text in a third collection), so that a Chroma
server shared by several processes holds the whole index and citations can always be checked
against the stored article text. Texts are metadata fields, never Chroma documents (see TEXT),
so chunks are searched through `Store` and the retriever, not through langchain-chroma's
VectorStore view, which reads documents.
"""

from __future__ import annotations

import functools
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.types import Article, Chunk, Hit

if TYPE_CHECKING:
    from chromadb.api import ClientAPI
    from chromadb.api.models.Collection import Collection

R = TypeVar("R")
READ_TRIES = 4
PAGE = 2000  # rows per Chroma get/upsert call: bounded memory, well under its batch limit
# Chunk rows per upsert call: at most one write batch of `index` (qa/app.py). Each call has a
# fixed cost (32 rows: +50% Chroma CPU; 768 rather than 256: -10%), and Chroma's local
# bindings hold the GIL for a whole call, which a model run in this process needs to start and
# return: so batches are 256 when the model runs here, 768 with a worker. 1536 saved no CPU in
# a whole run and took 40 MB more at its peak (docs/benchmarks.md).
WRITE = 1024
# The chunks' graph: M=32 keeps dense search as good as exact (docs/benchmarks.md). Building
# is the graph's cost, searching is cheap: at 100k chunks, ef_construction 64 with ef_search 800
# built it with half the CPU of 128 with 200, and recalled the exact top 10 / top 40 as well
# (0.996 / 0.994 vs 0.996 / 0.988) at 0.8 ms a query (0.5): bench/hnsw_settings.py.
HNSW: Any = {"space": "cosine", "ef_construction": 64, "ef_search": 800, "max_neighbors": 32}
# Texts are metadata fields, not Chroma documents: Chroma indexes every document for full-text
# search (trigrams), which we never use (BM25 is ours). That index was a third of the CPU `index`
# spends outside the model, all of it with the GIL held (docs/benchmarks.md). Older indexes keep
# texts in documents; both are read. An article's text is in a collection of its own, so that
# listing article records (hashes, duplicate keys) never reads whole texts.
TEXT = "text"
# A chunk's other fields that are only read back, never filtered on (title, url, offsets...),
# are stored as one JSON field: each metadata key is a row and an index entry in Chroma's
# SQLite, and folding 14 keys into 6 made chunk upserts 10% cheaper (docs/benchmarks.md).
# Chunks written before keep their keys unfolded; chunk_rows reads both.
INFO = "info"
FILTERED = ("article_id", "chunk", "day", "source")  # Chroma `where` clauses use these
# Article records and texts are read by id, never searched: Chroma's defaults (M=16, ef 100)
# build their graphs at half the cost of the chunks' (HNSW above). Set when a collection is
# created; an existing one keeps its own.
UNSEARCHED_HNSW: Any = {"space": "cosine"}


@dataclass(frozen=True)
class ArticleWrite:
    """One article to store: its chunks, their vectors, extra record fields (duplicate keys)."""

    article: Article
    chunks: Sequence[Chunk]
    vectors: Sequence[Sequence[float]]
    extra: dict[str, Any] = field(default_factory=dict)
    # Chunks of the stored older version (its surplus is dropped); None: unknown, look them up.
    old_chunks: int | None = None


def published_day(iso: str) -> int:
    """20170301 for "2017-03-01..." (Chroma filters compare numbers only); 0 when unknown."""
    digits = iso[:10].replace("-", "")
    return int(digits) if len(digits) == 8 and digits.isdigit() else 0


class ChunkListener(Protocol):
    """Told of every chunk change, right after it is made (the BM25 term counts follow)."""

    def chunks_written(self, rows: Sequence[tuple[str, str, dict[str, Any]]]) -> None:
        """(chunk id, text, metadata with "version" = the article's content hash) stored."""

    def chunks_dropped(self, article_id: str, first: int) -> None:
        """The article's chunks from index `first` on were deleted (0: all of them)."""


class Store:
    """The index in Chroma: upsert/delete by article, look up, dense search."""

    def __init__(self, client: ClientAPI, embeddings: Embeddings, name: str = "articleqa"):
        self.client = client
        self.embeddings = embeddings
        self.name = name
        self._wide: set[str] = set()  # record collections that take 384-float vectors
        self._open(client)
        self._generation_seen: str | None = None
        # Told of chunk changes as they happen, so a writer never reads the store back for them.
        self.listeners: list[ChunkListener] = []

    def _open(self, client: ClientAPI) -> None:
        try:
            self._open_collections(client)
        except Exception as e:
            self._raise_if_damaged(e)
            raise

    def _raise_if_damaged(self, error: Exception) -> None:
        """Raise the one-line "index is damaged" error when error says so."""
        from qa.chroma_local import damage_reason, damaged

        reason = damage_reason(error)
        if reason:
            where = self.client.get_settings().persist_directory or self.name
            raise damaged(where, reason) from None

    def _open_collections(self, client: ClientAPI) -> None:
        from qa.chroma_local import chroma_embedding_function

        ef = chroma_embedding_function(self.embeddings)
        self.client = client
        self.chunks: Collection = client.get_or_create_collection(
            f"{self.name}-chunks", embedding_function=ef, configuration={"hnsw": HNSW}
        )
        self.articles: Collection = client.get_or_create_collection(
            f"{self.name}-articles", embedding_function=ef, configuration={"hnsw": UNSEARCHED_HNSW}
        )
        self.texts: Collection = client.get_or_create_collection(
            f"{self.name}-texts", embedding_function=ef, configuration={"hnsw": UNSEARCHED_HNSW}
        )

    def refresh(self) -> bool:
        """Reopen an embedded store from disk (another process wrote); False for a server."""
        from qa.chroma_local import fresh_client

        client = fresh_client(self.client)
        if client is not None:
            self._open(client)
        return client is not None

    def _get(self, which: str, **kw: Any) -> Any:
        """`get` on the chunks or articles collection, retried after a reopen if stale."""
        return self._read(lambda: getattr(self, which).get(**kw))

    def _read(self, fn: Callable[[], R]) -> R:
        """Run a read; if cached segments went stale under another process's writes, reopen
        the store from disk and try again."""
        from qa.chroma_local import is_stale_read

        for attempt in range(READ_TRIES):
            try:
                return fn()
            except Exception as e:
                self._raise_if_damaged(e)
                if attempt == READ_TRIES - 1 or not is_stale_read(e) or not self.refresh():
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    # -- writes ---------------------------------------------------------------------------
    def write_article(
        self,
        article: Article,
        chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]],
        extra: dict[str, Any] | None = None,
    ) -> None:
        """Store one article (see write_articles)."""
        self.write_articles([ArticleWrite(article, chunks, vectors, extra or {})])

    def write_articles(self, items: Sequence[ArticleWrite]) -> None:
        """Store articles: all their chunks (overwriting older versions in place), then the
        surplus chunks of older versions dropped, then all their records. The hash is on the
        record, written last, so a crash in between leaves chunks without a record (swept) or
        a record with the old hash (redone next run). Batched: a few calls per batch, not per
        article (each Chroma write is a transaction)."""
        rows: list[tuple[Chunk, Sequence[float], dict[str, Any], str]] = []
        for w in items:
            meta = {**w.article.metadata(), "day": published_day(w.article.published)}
            meta["dup_of"] = str(w.extra.get("dup_of", ""))
            for c, v in zip(w.chunks, w.vectors, strict=True):
                m = {**meta, "chunk": c.index, "start": c.start, "end": c.end}
                rows.append((c, v, m, w.article.hash))
        for lo in range(0, len(rows), WRITE):
            part = rows[lo : lo + WRITE]
            self.chunks.upsert(
                ids=[c.id for c, _, _, _ in part],
                embeddings=np.asarray([v for _, v, _, _ in part], dtype=np.float32),
                metadatas=[_stored(m, c.text) for c, _, m, _ in part],
            )
        for listener in self.listeners:
            listener.chunks_written([(c.id, c.text, {**m, "version": h}) for c, _, m, h in rows])
        surplus = [
            f"{w.article.id}:{i}"
            for w in items
            if w.old_chunks
            for i in range(len(w.chunks), w.old_chunks)
        ]
        if surplus:
            self.chunks.delete(ids=surplus)
        for w in items:
            if w.old_chunks is None:
                n = len(w.chunks)
                where: Any = {"$and": [{"article_id": w.article.id}, {"chunk": {"$gte": n}}]}
                self.chunks.delete(where=where)
            if w.old_chunks is None or w.old_chunks > len(w.chunks):
                for listener in self.listeners:
                    listener.chunks_dropped(w.article.id, len(w.chunks))
        for lo in range(0, len(items), PAGE):
            self._write_records(
                [(w.article, w.vectors, len(w.chunks), w.extra) for w in items[lo : lo + PAGE]]
            )

    def write_duplicate(self, article: Article, of: str, extra: dict[str, Any]) -> None:
        """Record an exact copy of article `of`: its text and metadata, but no chunks."""
        self.delete_chunks_of(article.id)
        self._write_records([(article, [], 0, {**extra, "dup_of": of, "dup_kind": "exact"})])

    def _write_records(
        self, records: Sequence[tuple[Article, Sequence[Sequence[float]], int, dict[str, Any]]]
    ) -> None:
        """Upsert article texts, then records (metadata with hash and chunk count); each
        record comes with its chunks' vectors, for collections that store their mean."""
        if not records:
            return
        ids = [a.id for a, _, _, _ in records]

        def means() -> Any:
            return np.asarray([_mean_unit(v) for _, v, _, _ in records], dtype=np.float32)

        self._upsert_unsearched(self.texts, ids, means, [{TEXT: a.text} for a, _, _, _ in records])
        self._upsert_unsearched(
            self.articles,
            ids,
            means,
            [
                {
                    **a.metadata(),
                    "day": published_day(a.published),
                    "origin": a.origin,
                    "hash": a.hash,
                    "chunks": n,
                    "dup_of": "",
                    "dup_kind": "",
                    **extra,
                }
                for a, _, n, extra in records
            ],
        )

    def _upsert_unsearched(
        self,
        col: Collection,
        ids: list[str],
        means: Callable[[], Any],
        metadatas: list[Any],
    ) -> None:
        """Upsert rows into a collection never searched: marker vectors, or the articles'
        mean vectors where the collection was first written with those (see _markers)."""
        from chromadb.errors import InvalidArgumentError

        wide = col.name in self._wide
        try:
            col.upsert(ids=ids, embeddings=means() if wide else _markers(ids), metadatas=metadatas)
        except InvalidArgumentError as e:
            if wide or "dimension" not in str(e):
                raise
            self._wide.add(col.name)
            col.upsert(ids=ids, embeddings=means(), metadatas=metadatas)

    def delete_chunks_of(self, article_id: str) -> None:
        """Delete every chunk of one article."""
        self.chunks.delete(where={"article_id": article_id})
        for listener in self.listeners:
            listener.chunks_dropped(article_id, 0)

    def delete_article(self, article_id: str) -> None:
        """Delete an article: its record first, so a crash leaves orphans the sweep removes."""
        self.articles.delete(ids=[article_id])
        self.delete_chunks_of(article_id)
        self.texts.delete(ids=[article_id])

    def article_texts(self, ids: Sequence[str]) -> dict[str, str]:
        """Full text of these articles (from the texts collection, or an older index's records)."""
        out: dict[str, str] = {}
        for lo in range(0, len(ids), PAGE):
            part = list(ids[lo : lo + PAGE])
            got = self._get("texts", ids=part, include=["metadatas"])
            out.update(
                (i, str((m or {}).get(TEXT, "")))
                for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            )
            older = [i for i in part if i not in out]
            if older:
                got = self._get("articles", ids=older, include=["documents"])
                out.update(
                    (i, d or "") for i, d in zip(got["ids"], got["documents"] or [], strict=True)
                )
        return out

    def orphan_texts(self) -> list[str]:
        """Ids of stored texts with no article record (left by a killed write or delete)."""
        records = set(self.article_ids())
        return [i for i, _ in self._iter(self.texts, []) if i not in records]

    def bump_generation(self) -> str:
        """Mark the index as changed, so lexical indexes in other processes sync."""
        gen = uuid.uuid4().hex
        self.chunks.modify(metadata={**(self.chunks.metadata or {}), "generation": gen})
        self._generation_seen = gen
        return gen

    def generation(self) -> str:
        """Current change marker (re-read from the server, which other processes may bump).
        When another process changed the index, an embedded store is reopened from disk so
        that searches see the new vectors."""
        col = self._read(lambda: self.client.get_collection(self.chunks.name))
        gen = str((col.metadata or {}).get("generation", ""))
        if self._generation_seen is not None and gen != self._generation_seen:
            self.refresh()
        self._generation_seen = gen
        return gen

    # -- reads ----------------------------------------------------------------------------
    def article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """(content hash, chunk count) stored for each known article id."""
        out: dict[str, tuple[str, int]] = {}
        for lo in range(0, len(ids), PAGE):
            got = self._get("articles", ids=list(ids[lo : lo + PAGE]), include=["metadatas"])
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True):
                out[i] = (str(m.get("hash", "")), int(m.get("chunks", 0) or 0))
        return out

    def chunk_vectors(self, chunk_counts: dict[str, int]) -> dict[str, list[float]]:
        """Stored vector of each chunk text of these articles (id -> its chunk count), to
        reuse when an edit keeps a chunk's text. Looked up by chunk id: no metadata scan."""
        ids = [f"{aid}:{i}" for aid, n in chunk_counts.items() for i in range(n)]
        out: dict[str, list[float]] = {}
        for lo in range(0, len(ids), PAGE):
            got = self._get(
                "chunks", ids=ids[lo : lo + PAGE], include=CHUNK_FIELDS + ["embeddings"]
            )
            embs = got["embeddings"] if got["embeddings"] is not None else []
            for (_, text, _), emb in zip(chunk_rows(got), embs, strict=True):
                out[text] = [float(x) for x in emb]
        return out

    def dedup_rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, record metadata) of every article: what the duplicate index is built from."""
        yield from self._iter(self.articles, ["metadatas"])

    def broken_duplicates(self) -> list[Article]:
        """Exact-duplicate records whose original is gone or no longer the same article."""
        got = self._get("articles", where={"dup_kind": "exact"}, include=["metadatas"])
        if not got["ids"]:
            return []
        texts = self.article_texts(got["ids"])
        dups = [
            (i, texts.get(i, ""), m)
            for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
        ]
        targets = {str(m.get("dup_of", "")) for _, _, m in dups}
        tg = self._get("articles", ids=sorted(targets), include=["metadatas"])
        by_id = {i: dict(m) for i, m in zip(tg["ids"], tg["metadatas"] or [], strict=True)}
        broken = []
        for aid, doc, m in dups:
            t = by_id.get(str(m.get("dup_of", "")))
            same = (
                t is not None
                and t.get("dup_kind") != "exact"
                and (
                    t.get("text_key") == m.get("text_key")
                    or (bool(m.get("url_key")) and t.get("url_key") == m.get("url_key"))
                )
            )
            if not same:
                broken.append(_article_from(aid, doc, dict(m)))
        return broken

    def duplicate_counts(self) -> tuple[int, int]:
        """(exact copies stored as records only, near-duplicates linked to a story)."""
        exact = self._get("articles", where={"dup_kind": "exact"}, include=[])
        near = self._get("articles", where={"dup_kind": "near"}, include=[])
        return len(exact["ids"]), len(near["ids"])

    def articles_from(self, origin: str) -> list[str]:
        """Ids of the articles that came from one user-given source."""
        got = self._get("articles", where={"origin": origin}, include=[])
        return list(got["ids"])

    def article_ids(self) -> list[str]:
        """Every stored article id."""
        return [i for i, _ in self._iter(self.articles, [])]

    def get_article(self, article_id: str) -> tuple[Article, dict[str, Any]] | None:
        """The stored article and its record metadata, or None."""
        got = self._get("articles", ids=[article_id], include=["metadatas"])
        if not got["ids"]:
            return None
        m = dict((got["metadatas"] or [{}])[0])
        text = self.article_texts([article_id]).get(article_id, "")
        return _article_from(article_id, text, m), m

    def list_articles(self) -> list[dict[str, Any]]:
        """Metadata of every article, newest first."""
        rows = [{"id": i, **m} for i, m in self._iter(self.articles, ["metadatas"])]
        rows.sort(
            key=lambda r: (str(r.get("published", "")), str(r.get("title", ""))), reverse=True
        )
        return rows

    def count(self) -> tuple[int, int]:
        """(articles, chunks) in the index."""
        return self._read(lambda: (self.articles.count(), self.chunks.count()))

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every article record (tells which chunks changed in place)."""
        return {aid: str(m.get("hash", "")) for aid, m in self._iter(self.articles, ["metadatas"])}

    def chunk_ids(self) -> list[str]:
        """Every chunk id in the index (ids only: cheap, for syncing the lexical index)."""
        return [cid for cid, _ in self._iter(self.chunks, [])]

    def iter_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every chunk as (id, text, metadata), paged."""
        offset = 0
        while True:
            got = self._read(
                functools.partial(self._chunk_page, include=CHUNK_FIELDS, offset=offset)
            )
            if not got["ids"]:
                return
            yield from chunk_rows(got)
            offset += len(got["ids"])

    def _chunk_page(self, *, include: list[str], offset: int) -> Any:
        return self.chunks.get(include=include, limit=PAGE, offset=offset)  # type: ignore[arg-type]

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of the given chunks."""
        if not ids:
            return {}
        got = self._get("chunks", ids=list(ids), include=CHUNK_FIELDS)
        return {i: (text, m) for i, text, m in chunk_rows(got)}

    def dense_search(
        self, vector: Sequence[float], k: int, where: dict[str, Any] | None = None
    ) -> list[Hit]:
        """Nearest chunks by cosine similarity (score = 1 - cosine distance)."""
        n = self._read(self.chunks.count)
        if n == 0:
            return []
        got = self._read(
            lambda: self.chunks.query(
                query_embeddings=np.asarray([vector], dtype=np.float32),
                n_results=min(k, n),
                where=where or None,
                include=CHUNK_FIELDS + ["distances"],
            )
        )
        rows = chunk_rows(
            {"ids": got["ids"][0], **{f: (got[f] or [None])[0] for f in CHUNK_FIELDS}}  # type: ignore[literal-required]
        )
        dists = (got["distances"] or [[]])[0]
        return [
            Hit(chunk_from(i, text, meta), 1.0 - float(d), meta)
            for (i, text, meta), d in zip(rows, dists, strict=True)
        ]

    def _iter(self, col: Collection, include: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
        which = {id(self.chunks): "chunks", id(self.texts): "texts"}.get(id(col), "articles")
        offset = 0

        def page(o: int) -> Any:  # the collection is looked up again after a reopen
            return getattr(self, which).get(include=include, limit=PAGE, offset=o)

        while True:
            got = self._read(functools.partial(page, offset))
            if not got["ids"]:
                return
            metas = got["metadatas"] or [{}] * len(got["ids"])
            yield from zip(got["ids"], (dict(m) for m in metas), strict=True)
            offset += len(got["ids"])


CHUNK_FIELDS: list[Any] = ["documents", "metadatas"]  # a chunk's text is in one or the other


def _stored(meta: dict[str, Any], text: str) -> dict[str, Any]:
    """A chunk's metadata as written to Chroma: filter fields, its text, the rest as JSON."""
    info = {k: v for k, v in meta.items() if k not in FILTERED}
    return {
        **{k: meta[k] for k in FILTERED if k in meta},
        TEXT: text,
        INFO: json.dumps(info, ensure_ascii=False),
    }


def chunk_rows(got: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """(id, text, metadata without the text) of each chunk in a Chroma `get` result."""
    ids = got["ids"]
    docs = got.get("documents") or [None] * len(ids)
    metas = got.get("metadatas") or [None] * len(ids)
    rows = []
    for i, doc, m in zip(ids, docs, metas, strict=True):
        meta = dict(m or {})
        text = str(meta.pop(TEXT, None) or doc or "")
        if INFO in meta:
            meta.update(json.loads(meta.pop(INFO)))
        rows.append((i, text, meta))
    return rows


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
            for f in (
                "title",
                "url",
                "path",
                "source",
                "published",
                "author",
                "origin",
                "source_id",
            )
        },
    )


# Records and texts are never searched, but Chroma still wants a vector per row, and holds
# every collection's vectors and graph in the writer's memory. A whole-article mean vector (384
# floats) there cost ~1.7 KB per article per collection, for nothing; a 2-float marker,
# distinct per article so the graph stays well-formed, does. Collections first written with
# 384-float vectors (before) keep taking them: Chroma fixes a collection's dimension at its
# first write.
def _markers(ids: Sequence[str]) -> Any:
    """A 2-d unit vector per id, at an angle taken from its hash (distinct, and stable)."""
    turns = [
        int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") / 2**64
        for i in ids
    ]
    angles = 2 * np.pi * np.asarray(turns, dtype=np.float64)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)


def _mean_unit(vectors: Sequence[Sequence[float]]) -> list[float]:
    """Normalized mean vector (a whole-article embedding); a unit axis when there are none."""
    if not len(vectors):
        v = np.zeros(384, dtype=np.float32)
        v[0] = 1.0
        return v.tolist()
    m = np.asarray(vectors, dtype=np.float32).mean(axis=0)
    norm = float(np.linalg.norm(m)) or 1.0
    return (m / norm).tolist()
