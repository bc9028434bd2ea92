"""The write path: sources -> articles -> chunks -> vectors -> store, incrementally.

Unchanged articles (same content hash) cost nothing; changed ones are replaced; articles that
vanished from a re-scanned source are removed. A run killed at any point leaves a state the next
run repairs: an article's record (with its hash) is written after its chunks, and a marker file
makes the next run sweep chunks whose article record never got written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ingest.chunking import TokenCounter, chunk
from ingest.manifest import Manifest
from qa.errors import LoadError
from qa.store import Store
from qa.types import Article, Chunk

Loader = Callable[[str], Iterable[Article | LoadError]]
ProgressFn = Callable[[int, int], None]  # (articles seen, chunks embedded) so far

LOOKUP_BATCH = 64  # articles whose stored hashes are fetched in one call


@dataclass
class IndexReport:
    """What one index/reindex run did; the CLI prints it and `--json` dumps it."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    embedded_chunks: int = 0
    chunks: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the store was written to."""
        return bool(self.added or self.updated or self.removed)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the keys the CLI documents."""
        return asdict(self)


def origin_of(source: str) -> str:
    """The canonical name of a user-given source: absolute path, or the URL as given."""
    if re.match(r"^https?://", source, re.I):
        return source
    return os.path.abspath(os.path.expanduser(source))


def _file_of(where: str) -> str:
    """'path/to/file.jsonl:12' -> 'path/to/file.jsonl' (records fail, files stay)."""
    return re.sub(r":\d+$", "", where)


@dataclass
class _Run:
    store: Store
    embeddings: Embeddings
    count_tokens: TokenCounter
    chunk_tokens: int
    overlap_tokens: int
    batch_chunks: int
    dry_run: bool
    progress: ProgressFn | None
    report: IndexReport = field(default_factory=IndexReport)
    seen: set[str] = field(default_factory=set)
    pending: list[tuple[Article, list[Chunk], bool]] = field(default_factory=list)
    pending_chunks: int = 0
    articles_seen: int = 0

    def take(self, articles: Sequence[Article]) -> None:
        """Sort a batch of loaded articles into unchanged / to (re)embed."""
        fresh = [a for a in articles if a.id not in self.seen]
        self.seen.update(a.id for a in fresh)
        stored = self.store.article_hashes([a.id for a in fresh])
        for a in fresh:
            self.articles_seen += 1
            if stored.get(a.id) == a.hash:
                self.report.unchanged += 1
                continue
            chunks = chunk(
                a.id,
                a.text,
                count_tokens=self.count_tokens,
                max_tokens=self.chunk_tokens,
                overlap_tokens=self.overlap_tokens,
            )
            self.pending.append((a, chunks, a.id not in stored))
            self.pending_chunks += len(chunks)
            if self.pending_chunks >= self.batch_chunks:
                self.flush()
        self._tick()

    def flush(self) -> None:
        """Embed the pending chunks in one batch and write their articles."""
        texts = [c.text for _, chunks, _ in self.pending for c in chunks]
        vectors: list[list[float]] = []
        if texts and not self.dry_run:
            vectors = self.embeddings.embed_documents(texts)
        self.report.embedded_chunks += len(texts)
        at = 0
        for article, chunks, is_new in self.pending:
            if not self.dry_run:
                self.store.write_article(article, chunks, vectors[at : at + len(chunks)])
            at += len(chunks)
            if is_new:
                self.report.added += 1
            else:
                self.report.updated += 1
        self.pending.clear()
        self.pending_chunks = 0
        self._tick()

    def _tick(self) -> None:
        if self.progress:
            self.progress(self.articles_seen, self.report.embedded_chunks)


def index_sources(
    sources: Sequence[str],
    *,
    store: Store,
    embeddings: Embeddings,
    count_tokens: TokenCounter,
    load: Loader,
    manifest: Manifest | None = None,
    chunk_tokens: int = 200,
    overlap_tokens: int = 40,
    batch_chunks: int = 256,
    dry_run: bool = False,
    progress: ProgressFn | None = None,
    dirty_marker: Path | None = None,
) -> IndexReport:
    """Index (or re-scan) sources; return what changed. The caller holds the writer lock."""
    run = _Run(
        store,
        embeddings,
        count_tokens,
        chunk_tokens,
        overlap_tokens,
        batch_chunks,
        dry_run,
        progress,
    )
    if dirty_marker is not None and not dry_run:
        if dirty_marker.exists():  # the last run was killed: drop its half-written articles
            store.sweep_orphans()
        dirty_marker.parent.mkdir(parents=True, exist_ok=True)
        dirty_marker.touch()
    for source in sources:
        origin = origin_of(source)
        if not re.match(r"^https?://", origin) and not os.path.exists(origin):
            if manifest is not None and origin in manifest.sources:
                _remove(run, store.articles_from(origin))  # the user deleted the source
                if not dry_run:
                    manifest.discard(origin)
            else:
                run.report.failed.append({"path": source, "error": "no such file or folder"})
            continue
        failed_files = _index_one(run, origin, load)
        run.flush()
        if origin in failed_files:
            continue  # the whole source failed: keep what it gave before
        stale = [
            aid
            for aid, meta in _records(store, store.articles_from(origin))
            if aid not in run.seen and str(meta.get("path", "")) not in failed_files
        ]
        _remove(run, stale)
        if manifest is not None and not dry_run:
            manifest.add(origin)
    run.flush()
    if not dry_run:
        if manifest is not None:
            manifest.save()  # only now: every chunk it vouches for is stored
        if dirty_marker is not None:
            dirty_marker.unlink(missing_ok=True)
    run.report.chunks = store.count()[1]
    return run.report


def _index_one(run: _Run, origin: str, load: Loader) -> set[str]:
    """Feed one source's articles to the run; return the files that failed."""
    failed: set[str] = set()
    batch: list[Article] = []
    for item in load(origin):
        if isinstance(item, LoadError):
            run.report.failed.append({"path": item.where, "error": item.reason})
            failed.add(_file_of(item.where))
            continue
        batch.append(item)
        if len(batch) >= LOOKUP_BATCH:
            run.take(batch)
            batch = []
    if batch:
        run.take(batch)
    return failed


def _records(store: Store, ids: list[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    if not ids:
        return
    got = store.articles.get(ids=ids, include=["metadatas"])
    yield from zip(got["ids"], (dict(m) for m in got["metadatas"] or []), strict=True)


def _remove(run: _Run, ids: Iterable[str]) -> None:
    for aid in ids:
        if not run.dry_run:
            run.store.delete_article(aid)
        run.report.removed += 1
