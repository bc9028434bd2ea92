"""Overlap the stages of indexing: loading and chunking run while earlier chunks are embedded.

Embedding is most of the cost of `index` on a CPU, and the rest (parsing, cleaning, chunking,
duplicate detection, store writes) is single-threaded Python that leaves a core idle when run in
turn with it. Two bounded stages fix that without changing the write path's logic:

- `prefetch(load)` reads and parses sources in a background thread, a bounded number of
  articles ahead of the consumer;
- `EmbedAhead` embeds the chunk texts it is told about (`hint`) in a background thread, in
  batches cut by token length, so when the write path asks for their vectors they are ready.

Both are bounded (a few hundred articles or chunks), so memory stays flat as a corpus grows.
"""

from __future__ import annotations

import queue
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.embeddings import embed_passages
from qa.types import Chunk

T = TypeVar("T")

_DONE = object()


def prefetch(items: Iterable[T], depth: int = 256) -> Iterator[T]:
    """Iterate `items` in a background thread, at most `depth` items ahead of the consumer.

    Exceptions raised by the producer are re-raised in the consumer. Closing the returned
    generator early stops the producer at its next item.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(_DONE)
        except BaseException as e:  # handed to the consumer, which raises it where it reads
            q.put(_Failure(e))

    worker = threading.Thread(target=produce, name="articleqa-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetching(
    load: Callable[[str], Iterable[T]], depth: int = 256
) -> Callable[[str], Iterator[T]]:
    """Wrap a loader (source -> articles) so each source is read ahead in a background thread."""

    def wrapped(source: str) -> Iterator[T]:
        return prefetch(load(source), depth)

    return wrapped


class EmbedAhead(Embeddings):
    """Embeddings that start on hinted texts in a background thread, before they are asked for.

    `hint(texts)` queues texts (blocking while more than `max_ahead` wait, which bounds memory
    and keeps the producer at most that far ahead); a worker thread embeds them in batches of up
    to `batch` texts (at least `min_batch` when they come within `gather_seconds`), which the
    inner model sorts and pads by token length. `embed_documents`
    returns ready vectors, waits for ones being computed, and embeds any others itself.
    Workers (`workers` threads) exit when idle, so an EmbedAhead needs no closing.
    """

    def __init__(
        self,
        inner: Embeddings,
        *,
        batch: int = 256,
        max_ahead: int = 1024,
        idle_seconds: float = 1.0,
        workers: int = 2,
        min_batch: int = 1,
        gather_seconds: float = 0.1,
    ) -> None:
        self.inner = inner
        self.batch = batch
        self.min_batch = min_batch
        self.gather_seconds = gather_seconds
        self.max_ahead = max_ahead
        self.idle_seconds = idle_seconds
        self._todo: OrderedDict[str, None] = OrderedDict()  # hinted, not started
        self._running: set[str] = set()  # being embedded by the worker now
        # Embedded, not taken: rows of the model's arrays (embed_passages). As lists of Python
        # floats they were ~12 KB each, and when the model (or the cache) runs ahead of the
        # writer a few thousand wait here (28 MB: a step up in a run's memory once its texts
        # hit the cache).
        self._ready: OrderedDict[str, np.ndarray] = OrderedDict()
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self.workers = workers
        self._threads: list[threading.Thread] = []
        self.ahead_hits = 0  # texts served from the worker's results (for tests and benches)

    # -- producer side ------------------------------------------------------------------------
    def hint(self, texts: Sequence[str]) -> None:
        """Queue texts that will be asked for soon (duplicates and known ones are skipped)."""
        with self._cond:
            for text in texts:
                if text in self._todo or text in self._running or text in self._ready:
                    continue
                while len(self._todo) >= self.max_ahead:
                    self._ensure_worker()
                    self._cond.wait(timeout=0.5)
                self._todo[text] = None
            # Results nobody asked for (a run that stopped early) must not pile up.
            while len(self._ready) > 2 * self.max_ahead:
                self._ready.popitem(last=False)
            if self._todo:
                self._ensure_worker()
                self._cond.notify_all()

    def _ensure_worker(self) -> None:
        # Two workers: while one stores its batch's vectors (and the cache writes them) and
        # tokenizes the next, the other's batch keeps the model busy.
        while len(self._threads) < min(self.workers, len(self._todo)):
            worker = threading.Thread(target=self._work, name="articleqa-embed-ahead", daemon=True)
            self._threads.append(worker)
            worker.start()

    def _gathered(self) -> bool:
        return len(self._todo) >= min(self.min_batch, self.batch, self.max_ahead)

    def _work(self) -> None:
        while True:
            with self._cond:
                if not self._todo and not self._cond.wait_for(
                    lambda: bool(self._todo), timeout=self.idle_seconds
                ):
                    # Leave the list while holding the lock: a hint from now on starts another.
                    self._threads.remove(threading.current_thread())
                    return
                # At the start of a run texts trickle in an article at a time: wait a moment
                # for min_batch of them, so a model with a worker process (qa/embed_worker.py,
                # used from its worker_min texts on) gets a batch worth starting it for.
                self._cond.wait_for(self._gathered, timeout=self.gather_seconds)
                texts: list[str] = []
                while self._todo and len(texts) < self.batch:
                    texts.append(self._todo.popitem(last=False)[0])
                if not texts:  # the consumer took them meanwhile
                    continue
                self._running.update(texts)
            try:
                vectors = embed_passages(self.inner, texts)
            except BaseException as e:  # the consumer raises it when it asks for these texts
                with self._cond:
                    self._running.difference_update(texts)
                    self._error = e
                    self._threads.remove(threading.current_thread())
                    self._cond.notify_all()
                return
            with self._cond:
                self._running.difference_update(texts)
                self._ready.update(zip(texts, vectors, strict=True))
                self._cond.notify_all()

    # -- consumer side ------------------------------------------------------------------------
    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors for texts: taken from the worker when hinted, embedded here otherwise."""
        if not texts:
            return []
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """`embed_documents` as one array (see qa.embeddings.embed_passages)."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        found: dict[str, np.ndarray] = {}
        with self._cond:
            # Texts the worker has not started are cheaper to do here than to wait for.
            mine = [t for t in dict.fromkeys(texts) if t in self._todo]
            for t in mine:
                del self._todo[t]
            wanted = list(dict.fromkeys(texts))
            while True:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                for t in wanted:
                    if t in self._ready:
                        found[t] = self._ready.pop(t)
                if not any(t in self._running for t in wanted if t not in found):
                    break
                self._cond.wait(timeout=0.5)
        self.ahead_hits += len(found)
        missing = [t for t in dict.fromkeys(texts) if t not in found]
        if missing:
            found.update(zip(missing, embed_passages(self.inner, missing), strict=True))
        return np.stack([found[t] for t in texts])

    def embed_query(self, text: str) -> list[float]:
        """Questions are never hinted: straight to the inner model."""
        return self.inner.embed_query(text)

    def __getattr__(self, name: str) -> Any:
        # count_tokens, model_path, warm... belong to the inner model.
        if name.startswith("__") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)


def hint(embeddings: Embeddings, texts: Sequence[str]) -> None:
    """Tell embeddings which texts it will be asked for, if it can start early (else nothing)."""
    ahead = getattr(embeddings, "hint", None)
    if callable(ahead) and texts:
        ahead(texts)


def remember_tokens(embeddings: Embeddings, pairs: Sequence[tuple[Chunk, Any]]) -> None:
    """Give the model the word-piece ids of chunks it will embed (`chunk_tokens` pairs; no
    ids when chunking only counted), if it can reuse them."""
    keep = getattr(embeddings, "remember_tokens", None)
    got = [(c.text, ids) for c, ids in pairs if ids is not None]
    if callable(keep) and got:
        keep([t for t, _ in got], [ids for _, ids in got])
