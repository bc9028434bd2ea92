"""A content-hash -> vector cache on disk in front of any LangChain `Embeddings`.

Embedding is the slow part of indexing on a CPU (minutes for a few thousand articles), and the
same text comes back often: an eval re-run, a re-index after a settings change, one wire story
syndicated by several outlets. The cache keys each vector by a hash of the model's identity and
the exact text, so a text is embedded once per model, ever.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from qa.embeddings import embed_passages

LOOKUP_BATCH = 500  # keys per SELECT: well under SQLite's bound-parameter limit


def _model_identity(inner: Embeddings) -> str:
    """What distinguishes one model's vectors from another's (its path or class name)."""
    path = getattr(inner, "model_path", "")
    return str(path) if path else type(inner).__name__


class CachedEmbeddings(Embeddings):
    """Embeddings that look each text up in an SQLite file before asking the inner model.

    Thread-safe (one connection behind a lock) and safe across processes (SQLite WAL; a race
    just embeds a text twice and keeps one copy). `count_tokens`, `warm`, `model_path` and any
    other attribute are forwarded to the inner model, so this drops in wherever it is used.
    """

    def __init__(self, inner: Embeddings, path: Path, *, namespace: str = ""):
        self.inner = inner
        self.path = Path(path)
        # The namespace keeps vectors of different models apart in one file.
        self.namespace = namespace or _model_identity(inner)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _conn(self) -> sqlite3.Connection:
        # Opened on first use so that constructing the wrapper touches no file.
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vec BLOB)")
            self._db = db
        return self._db

    def _key(self, kind: str, text: str) -> str:
        h = hashlib.sha256()
        h.update(f"{self.namespace}\x1f{kind}\x1f".encode())
        h.update(text.encode("utf-8", "surrogatepass"))
        return h.hexdigest()

    def _lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            db = self._conn()
            for lo in range(0, len(unique), LOOKUP_BATCH):
                part = unique[lo : lo + LOOKUP_BATCH]
                marks = ",".join("?" * len(part))
                rows = db.execute(f"SELECT key, vec FROM vectors WHERE key IN ({marks})", part)
                for key, blob in rows:
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found

    def _store(self, pairs: Sequence[tuple[str, np.ndarray]]) -> None:
        rows = [(k, v.tobytes()) for k, v in pairs]
        with self._lock:
            db = self._conn()
            with db:  # one transaction per batch: fast, and all-or-nothing
                db.executemany("INSERT OR REPLACE INTO vectors (key, vec) VALUES (?, ?)", rows)

    def _embed(self, kind: str, texts: Sequence[str]) -> np.ndarray:
        keys = [self._key(kind, t) for t in texts]
        found = self._lookup(keys)
        todo: dict[str, str] = {}
        for key, text in zip(keys, texts, strict=True):
            if key not in found:
                todo.setdefault(key, text)
        self.hits += len(texts) - len(todo)  # texts served without asking the model
        if todo:
            if kind == "q":
                fresh = [self.inner.embed_query(t) for t in todo.values()]
            else:
                fresh = embed_passages(self.inner, list(todo.values()))
            self.misses += len(todo)
            # Through float32, so a hit and a miss return exactly the same numbers.
            pairs = [(k, np.asarray(v, dtype=np.float32)) for k, v in zip(todo, fresh, strict=True)]
            self._store(pairs)
            found.update(pairs)
        return np.stack([found[k] for k in keys])

    def embed_array(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors of passages as one float32 array: cached ones read from disk, the rest
        embedded and stored (no list of Python floats per vector: see embed_passages)."""
        return self._embed("d", texts) if texts else np.zeros((0, 0), dtype=np.float32)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Vectors of passages: cached ones read from disk, the rest embedded and stored."""
        if not texts:
            return []
        return self._embed("d", texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """Vector of a question (cached apart from passages: some models embed them apart)."""
        return self._embed("q", [text])[0].tolist()  # type: ignore[no-any-return]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Token counts from the inner model (chunking measures with them)."""
        return self.inner.count_tokens(texts)  # type: ignore[attr-defined, no-any-return]

    def warm(self) -> None:
        """Load the inner model now, if it has a way to."""
        warm = getattr(self.inner, "warm", None)
        if callable(warm):
            warm()

    def size(self) -> int:
        """How many vectors the cache holds (not __len__: an empty cache must stay truthy)."""
        with self._lock:
            return int(self._conn().execute("SELECT COUNT(*) FROM vectors").fetchone()[0])

    def close(self) -> None:
        """Close the database file (reopened on next use)."""
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def __getattr__(self, name: str) -> Any:
        # Only reached for attributes this class lacks (model_path, tokenizer, batch_size...).
        if name.startswith("__") or name == "inner":
            raise AttributeError(name)
        return getattr(self.inner, name)
