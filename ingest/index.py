"""The write path: sources -> articles -> chunks -> vectors -> store, incrementally.

Unchanged articles (same content hash) cost nothing; changed ones are replaced, re-embedding only
the chunks whose text changed; articles that vanished from a re-scanned source are removed.
Exact duplicates are stored once and near-duplicates linked (ingest/dedup.py).

A run killed at any point leaves a state the next run repairs: an article's record (with its
hash) is written after its chunks, and a marker file (listing the run's sources) makes the next
run sweep chunks no record vouches for and finish the interrupted sources.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from ingest.chunking import TokenCounter, TokenEncoder, chunk_tokens
from ingest.dedup import DedupIndex, Match, decode, encode, keys, minhash
from ingest.manifest import Manifest
from ingest.memory import release_free_memory
from ingest.normalize import ONLY_HTTP, has_scheme, is_url
from ingest.paths import shown, within
from ingest.pipeline import EmbedAhead, hint, prefetching, remember_tokens
from ingest.recovery import sweep, unfinished, write_marker
from ingest.report import (
    FEED_SUFFIXES,
    IndexReport,
    Loader,
    Progress,
    ProgressFn,
    estimate_total,
)
from qa.embeddings import embed_passages
from qa.errors import LoadError
from qa.store import ArticleWrite, Store
from qa.types import Article, Chunk

Notify = Callable[[str], None]

LOOKUP_BATCH = 256  # articles whose stored hashes are fetched in one call
LOOK_AHEAD = 2  # write batches chunked (and handed to the model) ahead of the one written
DRAIN_STEP = 256  # chunks per write when the pending ones are drained at the end


def origin_of(source: str) -> str:
    """The canonical name of a user-given source: absolute path, or the URL as given."""
    if has_scheme(source):
        return source.strip()
    return os.path.abspath(os.path.expanduser(source.strip()))


def _file_of(where: str) -> str:
    """'path/to/file.jsonl:12' -> 'path/to/file.jsonl' (records fail, files stay)."""
    return where if is_url(where) else re.sub(r":\d+$", "", where)


@dataclass
class _Write:
    article: Article
    chunks: list[Chunk]
    is_new: bool
    dup: Match | None
    extra: dict[str, Any]
    old_chunks: int | None  # chunks of the stored version (None: unknown)
    counted: bool = True

    @property
    def is_copy(self) -> bool:
        """An exact duplicate: stored as a record only."""
        return self.dup is not None and self.dup.kind == "exact"


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
    encode: TokenEncoder | None = None  # the model's word pieces, to chunk with and reuse
    total: int | None = None
    report: IndexReport = field(default_factory=IndexReport)
    seen: set[str] = field(default_factory=set)
    pending: list[_Write] = field(default_factory=list)
    pending_chunks: int = 0
    articles_seen: int = 0
    _dedup: DedupIndex | None = None

    def dedup(self) -> DedupIndex:
        """The duplicate index over the stored articles, built on first need."""
        if self._dedup is None:
            self._dedup = DedupIndex()
            for aid, m in self.store.dedup_rows():
                kind = str(m.get("dup_kind", ""))
                self._dedup.add(
                    aid,
                    text=str(m.get("text_key", "")),
                    url=str(m.get("url_key", "")),
                    sig=decode(str(m.get("minhash", ""))),
                    exact_of=str(m.get("dup_of", "")) if kind == "exact" else "",
                    group=str(m.get("dup_of", "")) if kind == "near" else "",
                )
        return self._dedup

    def take(self, articles: Sequence[Article]) -> None:
        """Sort a batch of loaded articles into unchanged / to (re)write."""
        fresh = [a for a in articles if a.id not in self.seen]
        self.seen.update(a.id for a in fresh)
        stored = self.store.article_states([a.id for a in fresh])
        for a in fresh:
            self.articles_seen += 1
            old_hash, old_chunks = stored.get(a.id, ("", 0))
            if old_hash == a.hash:
                self.report.unchanged += 1
                continue
            self.prepare(a, is_new=a.id not in stored, old_chunks=old_chunks)
        self.tick()

    def prepare(
        self, a: Article, *, is_new: bool, old_chunks: int | None = None, counted: bool = True
    ) -> None:
        """Chunk an article (or note it as a copy) and queue it for the next flush."""
        dedup = self.dedup()
        dedup.remove(a.id)  # its old content must not match itself
        tkey, ukey = keys(a)
        sig = minhash(a.text)
        dup = dedup.match(a.id, text=tkey, url=ukey, sig=sig)
        extra: dict[str, Any] = {"text_key": tkey, "url_key": ukey, "minhash": encode(sig)}
        chunks: list[Chunk] = []
        if dup is not None and dup.kind == "exact":
            dedup.add(a.id, text=tkey, url=ukey, sig=None, exact_of=dup.of)
        else:
            pairs = chunk_tokens(
                a.id,
                a.text,
                count_tokens=self.count_tokens,
                encode=self.encode,
                max_tokens=self.chunk_tokens,
                overlap_tokens=self.overlap_tokens,
            )
            chunks = [c for c, _ in pairs]
            if is_new and not self.dry_run:  # start embedding now, while the next is chunked
                remember_tokens(self.embeddings, pairs)  # the model need not tokenize again
                hint(self.embeddings, [c.text for c in chunks])
            group = dup.of if dup is not None else ""
            dedup.add(a.id, text=tkey, url=ukey, sig=sig, group=group)
            extra.update(dup_of=group, dup_kind="near" if group else "")
        self.pending.append(_Write(a, chunks, is_new, dup, extra, old_chunks, counted))
        self.pending_chunks += len(chunks)
        # Write a batch only once the next LOOK_AHEAD batches are chunked and hinted: the model
        # then has work queued while this thread waits for the batch's vectors and writes them
        # (without the look-ahead the model idled through every write, a quarter of its time
        # on 2 cores).
        if self.pending_chunks >= (1 + LOOK_AHEAD) * self.batch_chunks:
            self.flush(keep=LOOK_AHEAD * self.batch_chunks)

    def flush(self, keep: int = 0) -> None:
        """Embed and write the pending articles, oldest first, leaving about `keep` chunks'
        worth pending (0: all)."""
        if keep <= 0:
            # Drained a step at a time: each step's write then runs while the model embeds
            # the steps after it, and only the last, small one waits alone (written all at
            # once, the last ~2,000 chunks kept the model idle for 1.5 s).
            while self.pending_chunks > DRAIN_STEP:
                before = len(self.pending)
                self._flush(self.pending_chunks - DRAIN_STEP)
                if len(self.pending) == before:  # nothing could be split off
                    break
        self._flush(keep)

    def _flush(self, keep: int) -> None:
        if not self.pending:
            return
        batch, rest = self._split(keep)
        # An edit usually keeps most chunks' text: reuse their stored vectors.
        known = self.store.chunk_vectors(
            {w.article.id: w.old_chunks for w in batch if w.chunks and w.old_chunks}
        )
        todo = list(dict.fromkeys(c.text for w in batch for c in w.chunks if c.text not in known))
        self.report.embedded_chunks += len(todo)
        if todo and not self.dry_run:
            known.update(zip(todo, embed_passages(self.embeddings, todo), strict=True))
        if not self.dry_run:
            copies = [w for w in batch if w.is_copy]
            self.store.write_articles(
                [
                    ArticleWrite(
                        w.article,
                        w.chunks,
                        [known[c.text] for c in w.chunks],
                        w.extra,
                        0 if w.is_new else w.old_chunks,
                    )
                    for w in batch
                    if not w.is_copy
                ]
            )
            for w in copies:  # after the batch: their originals may be in it
                assert w.dup is not None
                self.store.write_duplicate(w.article, w.dup.of, w.extra)
        for w in batch:
            if not w.counted:
                continue
            if w.is_new:
                self.report.added += 1
            else:
                self.report.updated += 1
            if w.dup is not None:
                if w.dup.kind == "exact":
                    self.report.duplicates += 1
                else:
                    self.report.near_duplicates += 1
        self.pending = rest
        self.pending_chunks = sum(len(w.chunks) for w in rest)
        release_free_memory()
        self.tick()

    def _split(self, keep: int) -> tuple[list[_Write], list[_Write]]:
        """The oldest pending writes holding all but about `keep` chunks, and the others.
        An exact copy waits with the others when its original does (it copies its record)."""
        if keep <= 0:
            return self.pending, []
        cut, held = 0, self.pending_chunks
        while cut < len(self.pending) and held > keep:
            held -= len(self.pending[cut].chunks)
            cut += 1
        batch, rest = self.pending[:cut], self.pending[cut:]
        later = {w.article.id for w in rest}
        waiting = [w for w in batch if w.is_copy and w.dup is not None and w.dup.of in later]
        if waiting:
            held_back = {id(w) for w in waiting}
            batch = [w for w in batch if id(w) not in held_back]
            rest = waiting + rest
        return batch, rest

    def remove(self, ids: Iterable[str]) -> None:
        """Delete articles (record first, then chunks)."""
        for aid in ids:
            if not self.dry_run:
                self.store.delete_article(aid)
            if self._dedup is not None:
                self._dedup.remove(aid)
            self.report.removed += 1

    def promote_orphaned_copies(self) -> None:
        """Give chunks to exact copies whose original was removed or changed."""
        for a in self.store.broken_duplicates():
            self.prepare(a, is_new=False, counted=False)
        self.flush()

    def tick(self) -> None:
        """Report progress."""
        if self.progress:
            r = self.report
            # Done means stored (or found unchanged), so the bar and its ETA follow the writes.
            done = r.unchanged + r.added + r.updated
            total = self.total if self.total and self.total >= self.articles_seen else None
            self.progress(Progress(done, r.embedded_chunks, total, len(r.failed)))


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
    only: Collection[str] | None = None,
    notify: Notify | None = None,
    encode_tokens: TokenEncoder | None = None,
) -> IndexReport:
    """Index (or re-scan) sources; return what changed. The caller holds the writer lock.

    `encode_tokens` (the model's `token_ids`, if it has one) measures chunks in word-piece ids
    instead of `count_tokens`, and hands them to the model, which then skips tokenizing.

    `only` limits the run to these files under the sources (the watcher's changed paths):
    they are (re)loaded, or removed when gone, and nothing else is touched.
    """
    say = notify or (lambda _msg: None)
    run = _Run(
        store,
        # ingest/pipeline.py: embedding overlaps loading and chunking; its first batch is big
        # enough for the model's worker process, if it has one.
        EmbedAhead(embeddings, min_batch=max(1, getattr(embeddings, "worker_min", 0))),
        count_tokens,
        chunk_tokens,
        overlap_tokens,
        batch_chunks,
        dry_run,
        progress,
        encode_tokens,
    )
    asked = list(dict.fromkeys(origin_of(s) for s in sources))
    origins = list(asked)
    if dirty_marker is not None and not dry_run:
        origins += _recover(store, dirty_marker, origins, run.report, say)
        write_marker(dirty_marker, origins)
    prior = {o: store.articles_from(shown(o)) for o in origins}
    if progress is not None:
        run.total = estimate_total(origins, prior, load, only)
    broken = False
    for origin in origins:
        if origin in asked:
            _index_origin(run, origin, prior[origin], prefetching(load), manifest, only)
            continue
        # An interrupted source is redone whole; one that fails again is reported and left
        # out of the marker, so it cannot stop every later run.
        try:
            _index_origin(run, origin, prior[origin], prefetching(load), manifest, None)
        except Exception as e:
            run.pending = [w for w in run.pending if w.article.origin != shown(origin)]
            run.pending_chunks = sum(len(w.chunks) for w in run.pending)
            run.report.failed.append(
                {"path": shown(origin), "error": f"dropped from the interrupted run: {e}"}
            )
            say(f"could not finish {shown(origin)} from the interrupted run ({e}): dropped it")
            broken = True
            if dirty_marker is not None and not dry_run:
                write_marker(
                    dirty_marker, [o for o in unfinished(dirty_marker) or [] if o != origin]
                )
    run.flush()
    if broken and not dry_run:  # what the failed source half wrote has no record to vouch
        sweep(store)
    if not dry_run:
        run.promote_orphaned_copies()
        if run.report.changed:
            store.bump_generation()
        if manifest is not None:
            manifest.save()  # only now: every chunk it vouches for is stored
        if dirty_marker is not None:
            dirty_marker.unlink(missing_ok=True)
    run.report.chunks = store.count()[1]
    run.tick()
    return run.report


def remove_articles(
    ids: Iterable[str],
    *,
    store: Store,
    embeddings: Embeddings,
    count_tokens: TokenCounter,
    chunk_tokens: int = 200,
    overlap_tokens: int = 40,
    dirty_marker: Path | None = None,
    notify: Notify | None = None,
    forget: Callable[[str], bool] | None = None,
) -> IndexReport:
    """Delete articles, give their exact copies (if any) chunks of their own, mark the change.
    `forget` picks the sources of an interrupted run that are no longer owed (the user removed
    them). The caller holds the writer lock."""
    run = _Run(store, embeddings, count_tokens, chunk_tokens, overlap_tokens, 256, False, None)
    if dirty_marker is not None:
        left = _recover(store, dirty_marker, [], run.report, notify or (lambda _msg: None))
        left = [o for o in left if forget is None or not forget(o)]
        write_marker(dirty_marker, left)  # still owed to the next index run
    run.remove(ids)
    run.promote_orphaned_copies()
    if run.report.changed:
        store.bump_generation()
    if dirty_marker is not None and not unfinished(dirty_marker):
        dirty_marker.unlink(missing_ok=True)
    run.report.chunks = store.count()[1]
    return run.report


def _index_origin(
    run: _Run,
    origin: str,
    before: list[str],
    load: Loader,
    manifest: Manifest | None,
    only: Collection[str] | None,
) -> None:
    """Load one source and reconcile the store with what it holds now."""
    store, dry_run = run.store, run.dry_run
    if has_scheme(origin) and not is_url(origin):
        run.report.failed.append({"path": origin, "error": ONLY_HTTP})
        return
    if not is_url(origin) and not os.path.exists(origin):
        if manifest is not None and origin in manifest.sources:
            run.remove(before)  # the user deleted the source
            if not dry_run:
                manifest.discard(origin)
        else:
            run.report.failed.append({"path": shown(origin), "error": "no such file or folder"})
        return
    targets = sorted(p for p in only if within(p, origin)) if only is not None else [origin]
    failed: dict[str, str] = {}  # a file, URL or record ("file:line") -> why it failed
    read = 0
    for target in targets:
        read += _feed(run, origin, target, load, manifest, failed)
    run.flush()
    if shown(origin) in failed:  # the whole source failed: keep what it gave before, retry
        if manifest is not None and not dry_run:
            manifest.add(origin, failed=failed[shown(origin)])
        return
    bad_files = {_file_of(where) for where in failed}
    stale = [
        aid
        for aid, meta in store.records(before).items()
        if aid not in run.seen
        and str(meta.get("path", "")) not in bad_files
        and not _archived(origin, str(meta.get("path", "")))
        and (only is None or any(within(str(meta.get("path", "")), shown(t)) for t in targets))
    ]
    run.remove(stale)
    if manifest is not None and not dry_run and (only is None or origin in manifest.sources):
        # Some records (or files of a folder) failing is not the source failing: it is
        # remembered as a count; a partial (watcher) run keeps the count it had.
        records = (len(failed), read + len(failed)) if only is None else None
        manifest.add(origin, records=records)


def _feed(
    run: _Run,
    origin: str,
    target: str,
    load: Loader,
    manifest: Manifest | None,
    failed: dict[str, str],
) -> int:
    """Feed one loaded target's articles to the run, adding what failed to `failed`; return
    how many articles it read."""
    batch: list[Article] = []
    read = 0
    if target != origin and not os.path.exists(target):
        return read  # a watched file that vanished: the stale pass removes its articles
    for item in load(target):
        if isinstance(item, LoadError):
            where = shown(item.where)
            if manifest is not None and manifest.is_excluded(_file_of(where), where):
                continue
            run.report.failed.append({"path": where, "error": item.reason})
            failed.setdefault(where, item.reason)
            run.tick()
            continue
        if target != origin:
            item = dataclasses.replace(item, origin=shown(origin))
        if manifest is not None and manifest.is_excluded(item.id, item.path, item.url):
            continue
        read += 1
        batch.append(item)
        if len(batch) >= LOOKUP_BATCH:
            run.take(batch)
            batch = []
    if batch:
        run.take(batch)
    return read


def _archived(origin: str, path: str) -> bool:
    """Feed entries stay after they scroll off their feed (the index is the archive); they go
    with the feed file or when the user removes the feed."""
    if is_url(origin):
        return True
    return path.lower().endswith(FEED_SUFFIXES) and os.path.exists(path)


def _recover(
    store: Store, marker: Path, origins: list[str], report: IndexReport, say: Notify
) -> list[str]:
    """If the last run was killed: sweep what it left half-written; return its other sources."""
    left = unfinished(marker)
    if left is None:
        return []
    swept, marked = sweep(store)
    report.repaired = swept + marked
    extra = [o for o in left if o not in origins]
    say(
        "the last index run was interrupted: "
        + f"swept {swept} half-written article(s), {marked} to redo"
        + (f"; finishing {', '.join(shown(o) for o in extra)}" if extra else "")
    )
    return extra
