"""The composition root: builds the parts from Settings once, lazily, and wires them together.

The CLI and the UI both hold one App; nothing else reads settings.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from qa import backends
from qa.errors import EmptyIndexError, NotFoundError
from qa.settings import Settings

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

    from ingest.index import IndexReport, ProgressFn
    from ingest.manifest import Manifest
    from qa.retrieve import Retriever
    from qa.store import Store


class App:
    """Lazily built embeddings, store, retriever and LLM for one process."""

    def __init__(self, settings: Settings):
        self.settings = settings

    @functools.cached_property
    def embeddings(self) -> Embeddings:
        """The embedding model (loaded on first use)."""
        return backends.make_embeddings(self.settings)

    @functools.cached_property
    def store(self) -> Store:
        """The Chroma-backed index."""
        return backends.make_store(self.settings, self.embeddings)

    @functools.cached_property
    def retriever(self) -> Retriever:
        """Hybrid retrieval over the store."""
        from qa.retrieve import Retriever

        return Retriever(
            self.store,
            self.embeddings,
            lexical_dir=self._local_dir / "bm25",
            dense=self.settings.dense,
            lexical=self.settings.lexical,
        )

    @functools.cached_property
    def llm(self) -> BaseChatModel | None:
        """The answering chat model (None for the extractive backend)."""
        return backends.make_llm(self.settings)

    @property
    def _local_dir(self) -> Path:
        """Per-process files (manifest, lexical index, lock) for this store."""
        d = self.settings.data_dir
        if self.settings.chroma_url:  # one folder per server+collection, beside local ones
            name = re.sub(
                r"[^\w.-]+", "_", f"{self.settings.chroma_url}_{self.settings.collection}"
            )
            d = d / "servers" / name
        return d

    def manifest(self) -> Manifest:
        """The remembered sources (read fresh: another process may have indexed)."""
        from ingest.manifest import Manifest

        return Manifest(self._local_dir / "manifest.json")

    def require_articles(self) -> None:
        """Raise the one-line EmptyIndexError when nothing is indexed yet."""
        if self.store.count()[1] == 0:
            raise EmptyIndexError("nothing is indexed yet: run `articleqa index PATH...` first")

    def index(
        self,
        sources: Sequence[str],
        *,
        dry_run: bool = False,
        progress: ProgressFn | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IndexReport:
        """Index (or re-scan) sources under the writer lock, then refresh the lexical index."""
        from ingest.index import index_sources
        from ingest.loaders import load
        from ingest.lock import writer_lock

        s = self.settings
        with writer_lock(self._local_dir, on_wait):
            report = index_sources(
                sources,
                store=self.store,
                embeddings=self.embeddings,
                count_tokens=self.embeddings.count_tokens,  # type: ignore[attr-defined]
                load=functools.partial(load, max_bytes=s.max_file_bytes, timeout=s.url_timeout),
                manifest=self.manifest(),
                chunk_tokens=s.chunk_tokens,
                overlap_tokens=s.chunk_overlap_tokens,
                dry_run=dry_run,
                progress=progress,
                dirty_marker=self._local_dir / "index.dirty",
            )
            if report.changed and not dry_run:
                self._after_write()
        return report

    def reindex(self, **kwargs: object) -> IndexReport:
        """Re-scan every remembered source."""
        return self.index(sorted(self.manifest().sources), **kwargs)  # type: ignore[arg-type]

    def remove(self, target: str) -> int:
        """Remove articles by id, file path, URL or indexed source; return how many."""
        from ingest.index import origin_of
        from ingest.lock import writer_lock

        with writer_lock(self._local_dir):
            manifest = self.manifest()
            origin = origin_of(target)
            ids = set(self.store.articles_from(origin))
            if self.store.get_article(target) is not None:
                ids.add(target)
            for field in ("path", "url"):
                got = self.store.articles.get(where={field: origin}, include=[])
                ids.update(got["ids"])
            if not ids and origin not in manifest.sources:
                raise NotFoundError(f"{target}: not in the index")
            for aid in ids:
                self.store.delete_article(aid)
            manifest.discard(origin)
            manifest.save()
            self._after_write()
        return len(ids)

    def _after_write(self) -> None:
        """Tell other processes the index changed and rebuild the lexical index now."""
        from qa.lexical import LexicalIndex

        gen = self.store.bump_generation()
        LexicalIndex.build(self.store.iter_chunks()).save(self._local_dir / "bm25", gen)


def quiet_environment() -> None:
    """Switch off telemetry and hub lookups before any library reads its settings."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
