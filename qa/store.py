"""Chroma access: a collection of chunks (what is searched), one of article records, one of texts.

`Store` is the only code that touches Chroma: every read goes through its stale-read retry.
Articles are stored in Chroma too (a record with the metadata and content hash; the full text
in a third collection), so that a Chroma server shared by several processes holds the whole
index and citations can always be checked against the stored article text. Texts are metadata
fields, never Chroma documents (see TEXT), so chunks are searched through `Store` and the
retriever, not through langchain-chroma's VectorStore view, which reads documents.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.errors import IndexFormatError
from qa.types import Article, Chunk

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
# spends outside the model, all of it with the GIL held (docs/benchmarks.md). An article's text
# is in a collection of its own, so that listing article records (hashes, duplicate keys) never
# reads whole texts.
TEXT = "text"
# A chunk's other fields that are only read back, never filtered on (title, url, offsets...),
# are stored as one JSON field: each metadata key is a row and an index entry in Chroma's
# SQLite, and folding 14 keys into 6 made chunk upserts 10% cheaper (docs/benchmarks.md).
INFO = "info"
FILTERED = ("article_id", "chunk", "day", "source")  # Chroma `where` clauses use these
# Article records and texts are read by id, never searched: Chroma's defaults (M=16, ef 100)
# build their graphs at half the cost of the chunks' (HNSW above). Set when a collection is
# created; an existing one keeps its own.
UNSEARCHED_HNSW: Any = {"space": "cosine"}
# The layout above (texts as metadata, folded INFO, marker vectors for records and texts, the
# MinHash encoding in ingest/dedup.py), stored in every collection's metadata when it is
# created. Raise it when that layout changes: an index of another format is refused with a
# one-line error that says to rebuild it, so no code has to read two layouts.
INDEX_FORMAT = 1
FORMAT_KEY = "format"
DIM_KEY = "dim"  # the chunk vectors' size, set by the first write: another model is refused
REBUILD = "run `articleqa reindex --rebuild`"


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
    """The index in Chroma: upsert/delete by article, look up, nearest chunks."""

    def __init__(self, client: ClientAPI, embeddings: Embeddings, name: str = "articleqa"):
        self.client = client
        self.embeddings = embeddings
        self.name = name
        self._dim: int | None = None  # the chunk vectors' size, once known
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

    def _where(self) -> str:
        """The folder of an embedded store, else the collections' name (for messages)."""
        return self.client.get_settings().persist_directory or self.name

    def _raise_if_damaged(self, error: Exception) -> None:
        """Raise the one-line "index is damaged" error when error says so."""
        from qa.chroma_local import damage_reason, damaged

        reason = damage_reason(error)
        if reason:
            raise damaged(self._where(), reason) from None

    def _open_collections(self, client: ClientAPI) -> None:
        from qa.chroma_local import chroma_embedding_function

        ef = chroma_embedding_function(self.embeddings)
        self.client = client
        made = {FORMAT_KEY: INDEX_FORMAT}
        self._chunks: Collection = client.get_or_create_collection(
            f"{self.name}-chunks",
            embedding_function=ef,
            configuration={"hnsw": HNSW},
            metadata=made,
        )
        self._articles: Collection = client.get_or_create_collection(
            f"{self.name}-articles",
            embedding_function=ef,
            configuration={"hnsw": UNSEARCHED_HNSW},
            metadata=made,
        )
        self._texts: Collection = client.get_or_create_collection(
            f"{self.name}-texts",
            embedding_function=ef,
            configuration={"hnsw": UNSEARCHED_HNSW},
            metadata=made,
        )
        for col in (self._chunks, self._articles, self._texts):
            self._check_format(col)
        dim = (self._chunks.metadata or {}).get(DIM_KEY)
        self._dim = int(dim) if isinstance(dim, int) else None

    def _check_format(self, col: Collection) -> None:
        """Refuse a collection written in another format (or before formats were stored)."""
        found = (col.metadata or {}).get(FORMAT_KEY)
        if found == INDEX_FORMAT:
            return
        if found is None and col.count() == 0:  # created empty without one: ours from now on
            col.modify(metadata={**(col.metadata or {}), FORMAT_KEY: INDEX_FORMAT})
            return
        raise IndexFormatError(
            f"the index at {self._where()} is in format {found or 'unversioned'} and this "
            f"version reads format {INDEX_FORMAT}: {REBUILD}"
        )

    def _check_width(self, width: int) -> None:
        """Refuse vectors of another size than the stored chunks' (another embedding model);
        the first write records the size."""
        if self._dim is None:
            meta = self._chunk_metadata()
            dim = meta.get(DIM_KEY)
            if not isinstance(dim, int):
                self._chunks.modify(metadata={**meta, DIM_KEY: width})
                dim = width
            self._dim = dim
        if width != self._dim:
            raise IndexFormatError(
                f"the index at {self._where()} holds {self._dim}-float vectors and the "
                f"embedding model makes {width}-float ones: {REBUILD}, or use the model it "
                "was built with"
            )

    def _chunk_metadata(self) -> dict[str, Any]:
        """The chunk collection's metadata as stored now (other processes may change it)."""
        col = self._read(lambda: self.client.get_collection(self._chunks.name))
        return dict(col.metadata or {})

    def refresh(self) -> bool:
        """Reopen an embedded store from disk (another process wrote); False for a server."""
        from qa.chroma_local import fresh_client

        client = fresh_client(self.client)
        if client is not None:
            self._open(client)
        return client is not None

    def _collection(self, which: str) -> Collection:
        """The chunks, articles or texts collection (looked up again after a reopen)."""
        cols = {"chunks": self._chunks, "articles": self._articles, "texts": self._texts}
        return cols[which]

    def _get(self, which: str, **kw: Any) -> Any:
        """`get` on one collection ("chunks", "articles", "texts"), retried if stale."""
        return self._read(lambda: self._collection(which).get(**kw))

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
        if rows:
            self._check_width(len(rows[0][1]))
        for lo in range(0, len(rows), WRITE):
            part = rows[lo : lo + WRITE]
            self._chunks.upsert(
                ids=[c.id for c, _, _, _ in part],
                embeddings=np.asarray([v for _, v, _, _ in part], dtype=np.float32),
                metadatas=[stored_chunk(m, c.text) for c, _, m, _ in part],
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
            self._chunks.delete(ids=surplus)
        for w in items:
            if w.old_chunks is None:
                n = len(w.chunks)
                where: Any = {"$and": [{"article_id": w.article.id}, {"chunk": {"$gte": n}}]}
                self._chunks.delete(where=where)
            if w.old_chunks is None or w.old_chunks > len(w.chunks):
                for listener in self.listeners:
                    listener.chunks_dropped(w.article.id, len(w.chunks))
        for lo in range(0, len(items), PAGE):
            self._write_records(
                [(w.article, len(w.chunks), w.extra) for w in items[lo : lo + PAGE]]
            )

    def write_duplicate(self, article: Article, of: str, extra: dict[str, Any]) -> None:
        """Record an exact copy of article `of`: its text and metadata, but no chunks."""
        self.delete_chunks_of(article.id)
        self._write_records([(article, 0, {**extra, "dup_of": of, "dup_kind": "exact"})])

    def _write_records(self, records: Sequence[tuple[Article, int, dict[str, Any]]]) -> None:
        """Upsert article texts, then records (metadata with hash and chunk count)."""
        if not records:
            return
        ids = [a.id for a, _, _ in records]
        self._texts.upsert(
            ids=ids, embeddings=_markers(ids), metadatas=[{TEXT: a.text} for a, _, _ in records]
        )
        self._articles.upsert(
            ids=ids,
            embeddings=_markers(ids),
            metadatas=[
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
                for a, n, extra in records
            ],
        )

    def delete_chunks_of(self, article_id: str) -> None:
        """Delete every chunk of one article."""
        self._chunks.delete(where={"article_id": article_id})
        for listener in self.listeners:
            listener.chunks_dropped(article_id, 0)

    def delete_article(self, article_id: str) -> None:
        """Delete an article: its record first, so a crash leaves orphans the sweep removes."""
        self._articles.delete(ids=[article_id])
        self.delete_chunks_of(article_id)
        self._texts.delete(ids=[article_id])

    def delete_texts(self, ids: Sequence[str]) -> None:
        """Delete stored texts by article id (orphans a killed write or delete left)."""
        for lo in range(0, len(ids), PAGE):
            self._texts.delete(ids=list(ids[lo : lo + PAGE]))

    def mark_changed(self, chunk_counts: dict[str, int]) -> None:
        """Clear these records' hashes (the next scan redoes them) and set their true chunk
        counts (which tell the redo the surplus chunks to drop)."""
        ids = list(chunk_counts)
        for lo in range(0, len(ids), PAGE):
            part = ids[lo : lo + PAGE]
            fix: list[Any] = [{"hash": "", "chunks": chunk_counts[aid]} for aid in part]
            self._articles.update(ids=part, metadatas=fix)

    def article_texts(self, ids: Sequence[str]) -> dict[str, str]:
        """Full text of these articles."""
        out: dict[str, str] = {}
        for lo in range(0, len(ids), PAGE):
            got = self._get("texts", ids=list(ids[lo : lo + PAGE]), include=["metadatas"])
            out.update(
                (i, str((m or {}).get(TEXT, "")))
                for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            )
        return out

    def orphan_texts(self) -> list[str]:
        """Ids of stored texts with no article record (left by a killed write or delete)."""
        records = set(self.article_ids())
        return [i for i, _ in self._iter("texts", []) if i not in records]

    def bump_generation(self) -> str:
        """Mark the index as changed, so lexical indexes in other processes sync."""
        gen = uuid.uuid4().hex
        self._chunks.modify(metadata={**self._chunk_metadata(), "generation": gen})
        self._generation_seen = gen
        return gen

    def generation(self) -> str:
        """Current change marker (re-read from the server, which other processes may bump).
        When another process changed the index, an embedded store is reopened from disk so
        that searches see the new vectors."""
        gen = str(self._chunk_metadata().get("generation", ""))
        if self._generation_seen is not None and gen != self._generation_seen:
            self.refresh()
        self._generation_seen = gen
        return gen

    # -- reads ----------------------------------------------------------------------------
    def article_states(self, ids: Sequence[str]) -> dict[str, tuple[str, int]]:
        """(content hash, chunk count) stored for each known article id."""
        return {
            i: (str(m.get("hash", "")), int(m.get("chunks", 0) or 0))
            for i, m in self.records(ids).items()
        }

    def records(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Record metadata of each of these article ids that is stored."""
        out: dict[str, dict[str, Any]] = {}
        for lo in range(0, len(ids), PAGE):
            got = self._get("articles", ids=list(ids[lo : lo + PAGE]), include=["metadatas"])
            out.update(
                (i, dict(m)) for i, m in zip(got["ids"], got["metadatas"] or [], strict=True)
            )
        return out

    def chunk_vectors(self, chunk_counts: dict[str, int]) -> dict[str, list[float]]:
        """Stored vector of each chunk text of these articles (id -> its chunk count), to
        reuse when an edit keeps a chunk's text. Looked up by chunk id: no metadata scan."""
        ids = [f"{aid}:{i}" for aid, n in chunk_counts.items() for i in range(n)]
        out: dict[str, list[float]] = {}
        for lo in range(0, len(ids), PAGE):
            got = self._get(
                "chunks", ids=ids[lo : lo + PAGE], include=[*CHUNK_FIELDS, "embeddings"]
            )
            embs = got["embeddings"] if got["embeddings"] is not None else []
            for (_, text, _), emb in zip(chunk_rows(got), embs, strict=True):
                out[text] = [float(x) for x in emb]
        return out

    def vectors_of(self, ids: Sequence[str]) -> tuple[list[str], np.ndarray]:
        """The stored vectors of these chunks: the ids found, and their vectors as rows."""
        if not ids:
            return [], np.zeros((0, self._dim or 0), dtype=np.float32)
        got = self._get("chunks", ids=list(ids), include=["embeddings"])
        vectors = got["embeddings"]
        if vectors is None or not len(got["ids"]):
            return [], np.zeros((0, self._dim or 0), dtype=np.float32)
        return list(got["ids"]), np.asarray(vectors, dtype=np.float32)

    def nearest_chunks(
        self, vector: Sequence[float], n: int, where: dict[str, Any] | None = None
    ) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) of the n nearest chunks (that match `where`), best
        first: ids and distances only (texts are read for the hits kept, see chunks_by_id)."""
        if self._dim is not None and len(vector) != self._dim:
            self._check_width(len(vector))
        got = self._read(
            lambda: self._chunks.query(
                query_embeddings=np.asarray([vector], dtype=np.float32),
                n_results=n,
                where=where or None,
                include=["distances"],
            )
        )
        ids = got["ids"][0] if got["ids"] else []
        dists = (got["distances"] or [[]])[0]
        return [(c, 1.0 - float(x)) for c, x in zip(ids, dists, strict=True)]

    def dedup_rows(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, record metadata) of every article: what the duplicate index is built from."""
        yield from self._iter("articles", ["metadatas"])

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
        by_id = self.records(sorted(targets))
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
                broken.append(article_from(aid, doc, dict(m)))
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
        return [i for i, _ in self._iter("articles", [])]

    def get_article(self, article_id: str) -> tuple[Article, dict[str, Any]] | None:
        """The stored article and its record metadata, or None."""
        m = self.records([article_id]).get(article_id)
        if m is None:
            return None
        text = self.article_texts([article_id]).get(article_id, "")
        return article_from(article_id, text, m), m

    def list_articles(self) -> list[dict[str, Any]]:
        """Metadata of every article, newest first."""
        rows = [{"id": i, **m} for i, m in self._iter("articles", ["metadatas"])]
        rows.sort(
            key=lambda r: (str(r.get("published", "")), str(r.get("title", ""))), reverse=True
        )
        return rows

    def count(self) -> tuple[int, int]:
        """(articles, chunks) in the index."""
        return self._read(lambda: (self._articles.count(), self._chunks.count()))

    def article_hashes(self) -> dict[str, str]:
        """Content hash of every article record (tells which chunks changed in place)."""
        return {aid: str(m.get("hash", "")) for aid, m in self._iter("articles", ["metadatas"])}

    def chunk_ids(self) -> list[str]:
        """Every chunk id in the index (ids only: cheap, for syncing the lexical index)."""
        return [cid for cid, _ in self._iter("chunks", [])]

    def iter_chunks(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every chunk as (id, text, metadata), paged."""
        for got in self._pages("chunks", CHUNK_FIELDS):
            yield from chunk_rows(got)

    def iter_chunk_vectors(self) -> Iterator[tuple[str, str, dict[str, Any], np.ndarray]]:
        """Every chunk as (id, text, metadata, stored vector), paged: an index's export."""
        for got in self._pages("chunks", [*CHUNK_FIELDS, "embeddings"]):
            vectors = np.asarray(got["embeddings"], dtype=np.float32)
            for (i, text, meta), v in zip(chunk_rows(got), vectors, strict=True):
                yield i, text, meta, v

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """Text and metadata of the given chunks."""
        if not ids:
            return {}
        got = self._get("chunks", ids=list(ids), include=CHUNK_FIELDS)
        return {i: (text, m) for i, text, m in chunk_rows(got)}

    def chunks_of(self, article_id: str) -> list[tuple[str, str, dict[str, Any]]]:
        """(id, text, metadata) of one article's stored chunks, by metadata (not by id)."""
        got = self._get("chunks", where={"article_id": article_id}, include=CHUNK_FIELDS)
        return chunk_rows(got)

    def _pages(self, which: str, include: list[Any]) -> Iterator[Any]:
        """Chroma `get` results of every row of one collection, PAGE rows at a time."""
        offset = 0
        while True:
            got = self._get(which, include=include, limit=PAGE, offset=offset)
            if not got["ids"]:
                return
            yield got
            offset += len(got["ids"])

    def _iter(self, which: str, include: list[Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(id, metadata) of every row of one collection."""
        for got in self._pages(which, include):
            metas = got["metadatas"] or [{}] * len(got["ids"])
            yield from zip(got["ids"], (dict(m) for m in metas), strict=True)


CHUNK_FIELDS: list[Any] = ["metadatas"]  # a chunk's text is a metadata field (TEXT)


def stored_chunk(meta: dict[str, Any], text: str) -> dict[str, Any]:
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
    metas = got.get("metadatas") or [None] * len(ids)
    rows = []
    for i, m in zip(ids, metas, strict=True):
        meta = dict(m or {})
        text = str(meta.pop(TEXT, ""))
        meta.update(json.loads(meta.pop(INFO, "{}")))
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


def article_from(article_id: str, text: str, m: dict[str, Any]) -> Article:
    """Rebuild an Article from its stored text and record metadata."""
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
# every collection's vectors and graph in the writer's memory. A whole-article vector there
# would cost ~1.7 KB per article per collection, for nothing; a 2-float marker, distinct per
# article so the graph stays well-formed, is all Chroma needs.
def _markers(ids: Sequence[str]) -> Any:
    """A 2-d unit vector per id, at an angle taken from its hash (distinct, and stable)."""
    turns = [
        int.from_bytes(hashlib.blake2b(i.encode(), digest_size=8).digest(), "little") / 2**64
        for i in ids
    ]
    angles = 2 * np.pi * np.asarray(turns, dtype=np.float64)
    return np.stack([np.cos(angles), np.sin(angles)], axis=1).astype(np.float32)
