"""BM25 over the chunk texts (bm25s), persisted next to the Chroma data.

Vector search misses exact names and numbers; BM25 catches them. The index is rebuilt from the
store after every write run and tagged with the store's generation, so a process that finds a
stale copy (another process re-indexed) rebuilds it instead of answering from old data.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

META_KEYS = ("article_id", "day", "source")


def _tokenizer() -> Any:
    import bm25s.tokenization
    import Stemmer

    return bm25s.tokenization.Tokenizer(
        stopwords="english", stemmer=Stemmer.Stemmer("english").stemWord
    )


class LexicalIndex:
    """A BM25 index of chunks with the few metadata fields filters need."""

    def __init__(self, retriever: Any, tokenizer: Any, ids: list[str], meta: dict[str, list[Any]]):
        self.retriever = retriever
        self.tokenizer = tokenizer
        self.ids = ids
        self.meta = meta

    @classmethod
    def build(cls, rows: Iterable[tuple[str, str, dict[str, Any]]]) -> LexicalIndex:
        """Index (chunk_id, text, metadata) rows."""
        import bm25s

        ids: list[str] = []
        texts: list[str] = []
        meta: dict[str, list[Any]] = {k: [] for k in META_KEYS}
        for cid, text, m in rows:
            ids.append(cid)
            # Titles carry names the body may only abbreviate; index them with the chunk.
            texts.append(f"{m.get('title', '')}\n{text}")
            for k in META_KEYS:
                meta[k].append(m.get(k, 0 if k == "day" else ""))
        tok = _tokenizer()
        retriever = bm25s.BM25()
        if texts:
            retriever.index(
                tok.tokenize(texts, show_progress=False, return_as="tuple"), show_progress=False
            )
        return cls(retriever, tok, ids, meta)

    def search(
        self, query: str, k: int, allow: Callable[[dict[str, Any]], bool] | None = None
    ) -> list[tuple[str, float]]:
        """Top-k chunk ids with BM25 scores; `allow` filters on chunk metadata."""
        if not self.ids:
            return []
        q = self.tokenizer.tokenize(
            [query], update_vocab=False, show_progress=False, return_as="tuple"
        )
        if not q.ids or not q.ids[0]:
            return []
        mask = None
        if allow is not None:
            mask = np.fromiter(
                (
                    allow({key: self.meta[key][i] for key in META_KEYS})
                    for i in range(len(self.ids))
                ),
                dtype=np.float32,
                count=len(self.ids),
            )
            if not mask.any():
                return []
        docs, scores = self.retriever.retrieve(
            q, k=min(k, len(self.ids)), show_progress=False, weight_mask=mask, n_threads=1
        )
        return [
            (self.ids[int(d)], float(s))
            for d, s in zip(docs[0], scores[0], strict=True)
            if float(s) > 0
        ]

    def save(self, folder: Path, generation: str) -> None:
        """Write atomically (temp folder + rename), so readers never see half an index."""
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bm25-", dir=folder.parent))
        self.retriever.save(str(tmp), show_progress=False)
        self.tokenizer.save_vocab(str(tmp))
        (tmp / "chunks.json").write_text(
            json.dumps({"generation": generation, "ids": self.ids, "meta": self.meta})
        )
        old = folder.with_name(folder.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if folder.exists():
            os.replace(folder, old)
        os.replace(tmp, folder)
        shutil.rmtree(old, ignore_errors=True)

    @classmethod
    def load(cls, folder: Path) -> tuple[LexicalIndex, str] | None:
        """The saved index and its generation, or None if there is none (or it is broken)."""
        import bm25s

        try:
            info = json.loads((folder / "chunks.json").read_text())
            tok = _tokenizer()
            tok.load_vocab(str(folder))
            retriever = bm25s.BM25.load(str(folder), show_progress=False)
        except (OSError, ValueError, KeyError):
            return None
        return cls(retriever, tok, info["ids"], info["meta"]), str(info["generation"])
