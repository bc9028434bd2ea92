"""The composition root: builds the parts from Settings once, lazily, and wires them together.

App is the one way to answer, search, index, upload and remove: the CLI, the terminal chat,
the chat tab, the library tab and the API are views over its methods (and the same Answer).
Nothing else reads settings.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import os
import re
import shutil
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingest.normalize import is_url
from ingest.paths import is_clean, within
from qa import backends
from qa.errors import ConfigError, EmptyIndexError, InputError, NotFoundError
from qa.settings import LLM_BACKENDS, Settings

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

    from ingest.index import IndexReport, ProgressFn
    from ingest.manifest import Manifest
    from qa.check import CheckResult
    from qa.retrieve import Filters, Retriever
    from qa.rewrite import Turn
    from qa.store import Store
    from qa.types import Answer, Article, Hit


class App:
    """Lazily built embeddings, store, retriever and LLM for one process."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._other_llms: dict[str, BaseChatModel | None] = {}  # see chat_model
        self._other_llms_lock = threading.Lock()

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

        retriever = Retriever.from_settings(
            self.store, self.embeddings, self.settings, lexical_dir=self._local_dir / "bm25"
        )
        # The writer's BM25 term counts follow the store's chunk changes as they happen.
        self.store.listeners.append(retriever)
        return retriever

    @functools.cached_property
    def llm(self) -> BaseChatModel | None:
        """The answering chat model (None for the extractive backend)."""
        return backends.make_llm(self.settings)

    def chat_model(self, backend: str | None = None) -> BaseChatModel | None:
        """The chat model of an answer backend (None: the configured one), each built once;
        None for the extractive backend."""
        if backend is None or backend == self.settings.llm:
            return self.llm
        if backend not in LLM_BACKENDS:
            raise ConfigError(f"unknown answer backend {backend!r}")
        with self._other_llms_lock:  # the chat tab asks from several threads
            if backend not in self._other_llms:
                other = self.settings.model_copy(update={"llm": backend})
                self._other_llms[backend] = backends.make_llm(other)
            return self._other_llms[backend]

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

    def ask(
        self,
        question: str,
        *,
        history: Sequence[Turn] = (),
        filters: Filters | None = None,
        k: int | None = None,
        backend: str | None = None,
    ) -> Iterator[str | Answer]:
        """Stream an answer with this App's parts and settings: the model's tokens, then the
        Answer (last). `backend`: another answer backend for this question (see chat_model).
        A bad question, an empty index or an unknown backend raise here, before streaming."""
        from qa.answer import stream_answer
        from qa.inputs import check_question

        check_question(question)
        self.require_articles()
        llm = self.chat_model(backend)
        s = self.settings
        return stream_answer(
            question,
            retriever=self.retriever,
            llm=llm,
            history=history,
            k=k or s.k,
            filters=filters,
            min_relevance=s.min_relevance,
            context=s.answer_context,
            quotes=s.answer_quotes,
        )

    def search(
        self, query: str, *, k: int | None = None, filters: Filters | None = None
    ) -> list[Hit]:
        """Retrieval only: the ranked passages for a query."""
        self.require_articles()
        return self.retriever.search(query, k=k or self.settings.k, filters=filters)

    def articles(self) -> list[dict[str, Any]]:
        """The indexed articles, newest first: id, title, url, path, source, published, chunks."""
        keys = ("id", "title", "url", "path", "source", "published", "chunks")
        return [{k: r.get(k, "") for k in keys} for r in self.store.list_articles()]

    def check(
        self,
        text: str,
        *,
        question: str = "",
        passages: Sequence[str] | None = None,
        filters: Filters | None = None,
    ) -> CheckResult:
        """Verify text sentence by sentence: against `passages` when given, else the index
        (the passages retrieved for each sentence, with the question when given)."""
        from qa.check import check_index, check_passages

        if passages is not None:
            return check_passages(text, passages, self.embeddings)
        self.require_articles()
        return check_index(text, self.retriever, question=question, filters=filters)

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
        only: Collection[str] | None = None,
        by_name: bool = True,
    ) -> IndexReport:
        """Index (or re-scan) sources under the writer lock, then refresh the lexical index.

        `by_name`: the user named these sources, so items removed from them earlier come back.
        `only`: re-read just these files under the sources (the watcher's changes).
        """
        from ingest.index import index_sources, origin_of
        from ingest.loaders import load
        from ingest.lock import writer_lock
        from ingest.paths import shown

        s = self.settings
        with writer_lock(self._local_dir, on_wait):
            manifest = self.manifest()
            start = getattr(self.embeddings, "start_worker", None)
            new = any(origin_of(source) not in manifest.sources for source in sources)
            if callable(start) and new and not dry_run:
                start()  # a new source is embedded whole: load the model meanwhile
            # Another process may have written (or died writing): start from what is on disk.
            self.store.refresh()
            _ = self.retriever  # its BM25 term counts listen to the writes that follow
            if by_name:
                for source in sources:
                    manifest.include(origin_of(source), shown(origin_of(source)))
            # With the model in a worker process no model run waits on the GIL that Chroma's
            # upserts hold, so writes can be 3x bigger, at 10% less Chroma CPU per chunk
            # (docs/benchmarks.md); in one process they would stall the model that long.
            in_worker = bool(getattr(self.embeddings, "worker_min", 0))
            report = index_sources(
                sources,
                store=self.store,
                embeddings=self.embeddings,
                batch_chunks=768 if in_worker else 256,
                encode_tokens=getattr(self.embeddings, "token_ids", None),
                count_tokens=self.embeddings.count_tokens,  # type: ignore[attr-defined]
                load=functools.partial(
                    load,
                    max_bytes=s.max_file_bytes,
                    timeout=s.url_timeout,
                    allow_private=s.allow_private_urls,
                    max_chars=s.max_record_chars,
                ),
                manifest=manifest,
                chunk_tokens=s.chunk_tokens,
                overlap_tokens=s.chunk_overlap_tokens,
                dry_run=dry_run,
                progress=progress,
                dirty_marker=self._dirty_marker,
                only=only,
                notify=on_wait,
            )
            if report.changed and not dry_run:
                self._after_write()
        return report

    def reindex(
        self,
        *,
        dry_run: bool = False,
        progress: ProgressFn | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IndexReport:
        """Re-scan every remembered source (failed ones too: they are retried)."""
        return self.index(
            sorted(self.manifest().sources),
            dry_run=dry_run,
            progress=progress,
            on_wait=on_wait,
            by_name=False,
        )

    def rebuild(
        self,
        *,
        progress: ProgressFn | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> IndexReport:
        """Move a (damaged) local store aside, kept as `chroma.damaged-<time>`, and index every
        remembered source again into a new one."""
        import shutil
        import time

        from ingest.lock import writer_lock

        if self.settings.chroma_url:
            raise ConfigError("--rebuild works on a local index, not on a Chroma server")
        with writer_lock(self._local_dir, on_wait):
            stamp = time.strftime("%Y%m%d-%H%M%S")
            for name in ("chroma", "bm25"):
                old = self._local_dir / name
                if old.exists():
                    shutil.move(old, old.with_name(f"{name}.damaged-{stamp}"))
            self._dirty_marker.unlink(missing_ok=True)  # the new store has nothing to sweep
        from qa.chroma_local import forget_folder

        forget_folder(str(self.settings.chroma_dir))
        for part in ("store", "retriever"):
            self.__dict__.pop(part, None)  # opened on the old files: open the new ones
        return self.reindex(progress=progress, on_wait=on_wait)

    @property
    def uploads_dir(self) -> Path:
        """Where uploaded files are kept (absolute, as their articles' origins are stored), so
        that re-index can read them again."""
        return Path(os.path.abspath(self.settings.data_dir / "uploads"))

    def upload(
        self,
        files: Sequence[str],
        *,
        progress: ProgressFn | None = None,
        on_wait: Callable[[str], None] | None = None,
    ) -> tuple[IndexReport, list[str]]:
        """Keep uploaded (temporary) files in uploads_dir under their own names and index
        them: a file uploaded again under the same name replaces the old one, and its articles
        are updated. Uploads that fail whole (an empty or unreadable file) are removed again,
        so re-index does not fail on them. The index summary, and those uploads' names."""
        from ingest.index import origin_of

        folder = self.uploads_dir
        folder.mkdir(parents=True, exist_ok=True)
        kept = []
        for f in files:
            dest = folder / Path(f).name
            shutil.copyfile(f, dest)
            kept.append(str(dest))
        report = self.index(kept, progress=progress, on_wait=on_wait)
        whole = {f["path"] for f in report.failed}
        rejected = [path for path in kept if origin_of(path) in whole]
        for path in rejected:
            with contextlib.suppress(NotFoundError):  # never remembered, or already gone
                self.remove(path, on_wait=on_wait)
            Path(path).unlink(missing_ok=True)
        return report, [Path(path).name for path in rejected]

    def upload_named(self, target: str) -> Path | None:
        """The kept upload that target names (its file name, its path, or an article read
        from it); None when it names none."""
        from ingest.index import origin_of

        target = target.strip()
        # An article id is clean text; a path with undecodable bytes is no id (nor can Chroma
        # take it).
        got = self.store.get_article(target) if target and is_clean(target) else None
        if got is not None:
            origin = str(got[1].get("origin", ""))
        elif Path(target).name == target and (self.uploads_dir / target).is_file():
            origin = str(self.uploads_dir / target)
        else:
            origin = origin_of(target) if target else ""
        return Path(origin) if origin and Path(origin).parent == self.uploads_dir else None

    def remove(self, target: str, on_wait: Callable[[str], None] | None = None) -> int:
        """Remove what `target` names: an indexed source, a file or folder inside one, a URL,
        an article id, or an uploaded file (by its name, its path or one of its articles: it
        goes with all its articles, and its kept copy is deleted). Removed items inside a
        remembered source stay out of later re-scans until indexed again by name (an article
        removed alone: its file or feed indexed by name). Return how many articles were
        removed."""
        target = target.strip()
        if not target:
            raise NotFoundError("nothing to remove: give an article id, a path or a URL")
        upload = self.upload_named(target)
        removed = self._remove(str(upload) if upload else target, on_wait)
        if upload is not None:
            upload.unlink(missing_ok=True)
        return removed

    def _remove(self, target: str, on_wait: Callable[[str], None] | None) -> int:
        """Remove what target names (see remove), under the writer lock."""
        from ingest.dedup import url_key
        from ingest.index import origin_of, remove_articles
        from ingest.lock import writer_lock
        from ingest.paths import shown
        from ingest.recovery import unfinished

        origin = origin_of(target)
        stored = shown(origin)  # how the store writes a path that is not valid UTF-8
        ukey = url_key(target) if is_url(target) else ""
        with writer_lock(self._local_dir, on_wait):
            self.store.refresh()
            _ = self.retriever  # its BM25 term counts listen to the writes that follow
            manifest = self.manifest()
            rows = list(self.store.dedup_rows())
            found = {
                aid: m
                for aid, m in rows
                if aid == target
                or m.get("origin") == stored
                or within(str(m.get("path", "")), stored)
                or (ukey and (m.get("url_key") == ukey or m.get("url") == target))
            }
            ids = list(found)
            is_source = origin in manifest.sources
            inside = [o for o in manifest.sources if o != origin and within(origin, o)]
            pending = [o for o in unfinished(self._dirty_marker) or [] if within(o, origin)]
            # A path inside an indexed folder that holds no article is still worth removing
            # when it exists (a file that fails on every run); a mistyped one is an error.
            named = ids or is_source or pending or (inside and os.path.lexists(origin))
            if not named:
                known = [shown(o) for o in manifest.sources]
                known += [str(m.get(f, "")) for _, m in rows for f in ("path", "url")]
                raise NotFoundError(not_indexed(shown(target), target if ukey else stored, known))
            for o in [o for o in manifest.sources if within(o, origin)]:
                manifest.discard(o)  # the source, and any source inside it
            if inside or not is_source:  # part of a remembered source: keep it out of re-scans
                by_path = not ukey and ids != [target]
                for key in dict.fromkeys([origin, stored] if by_path else ids):
                    manifest.exclude(key, "" if by_path else _holder(found[key]))
            remove_articles(
                ids,
                store=self.store,
                embeddings=self.embeddings,
                count_tokens=self.embeddings.count_tokens,  # type: ignore[attr-defined]
                chunk_tokens=self.settings.chunk_tokens,
                overlap_tokens=self.settings.chunk_overlap_tokens,
                dirty_marker=self._dirty_marker,
                notify=on_wait,
                forget=lambda o: within(o, origin),
            )
            manifest.save()
            self._after_write()
        return len(ids)

    def article(self, id_or_prefix: str) -> tuple[Article, dict[str, Any]]:
        """The stored article with this id, or with the one id this prefix starts."""
        got = self.store.get_article(id_or_prefix)
        if got is None:
            got = self.store.get_article(match_id(id_or_prefix, self.store.article_ids()))
        if got is None:  # removed by another process meanwhile
            raise NotFoundError(f"{id_or_prefix}: no such article (see `articleqa list`)")
        return got

    def stats(self) -> dict[str, Any]:
        """How much is indexed: articles, chunks, sources, duplicates, sources that failed as
        a whole, sources with records that failed, and where the data lives."""
        from ingest.paths import shown

        articles, chunks = self.store.count()
        exact, near = self.store.duplicate_counts()
        manifest = self.manifest()
        return {
            "articles": articles,
            "chunks": chunks,
            "sources": len(manifest.sources),
            "duplicates": exact,
            "near_duplicates": near,
            "failed_sources": {shown(o): e for o, e in manifest.failed_sources().items()},
            "failed_records": {
                shown(o): {"failed": failed, "records": records}
                for o, (failed, records) in manifest.failed_records().items()
            },
            "data_dir": str(self.settings.data_dir),
            "store": self.settings.chroma_url or str(self.settings.chroma_dir),
        }

    @property
    def _dirty_marker(self) -> Path:
        return self._local_dir / "index.dirty"

    def _after_write(self) -> None:
        """Bring the lexical index in step with the store's new generation (the write bumped it)."""
        self.retriever.sync_lexical(self.store.generation())


def not_indexed(target: str, key: str, known: Iterable[str]) -> str:
    """The error for a target (as the user typed it; `key`: its absolute path or its URL) that
    names nothing indexed, with the closest indexed paths and URLs (relative when under the
    current folder)."""
    close = difflib.get_close_matches(key, sorted({k for k in known if k}), n=3)
    here = os.getcwd()
    shown = [os.path.relpath(c, here) if within(c, here) else c for c in close]
    hint = f"; close: {', '.join(shown)}" if shown else ""
    return f"{target}: not in the index{hint} (see `articleqa list`)"


def match_id(prefix: str, ids: Iterable[str]) -> str:
    """The one id that starts with prefix (as git takes a commit); NotFoundError when none does,
    InputError listing the candidates when several do."""
    found = sorted(i for i in ids if i.startswith(prefix)) if prefix else []
    if not found:
        raise NotFoundError(f"{prefix}: no such article (see `articleqa list`)")
    if len(found) > 1:
        more = f" and {len(found) - 10} more" if len(found) > 10 else ""
        raise InputError(f"{prefix}: ambiguous id: {', '.join(found[:10])}{more}")
    return found[0]


def _holder(meta: dict[str, Any]) -> str:
    """The file or feed an article was read from (indexing it again by name brings the
    article back): its file, else the source it came from (a feed or page URL)."""
    return str(meta.get("path") or meta.get("origin") or "")


def quiet_environment() -> None:
    """Switch off telemetry and hub lookups before any library reads its settings."""
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
