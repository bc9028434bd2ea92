"""The data that flows through articleqa: frozen, content-addressed, renderer-agnostic."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qa.timewords import TimeWindow


def content_hash(text: str) -> str:
    """Return a short stable hash of text (sha256, 16 hex chars)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class Article:
    """One article: normalized text plus the metadata kept on every chunk.

    `id` is derived from where the article came from (path + record number, canonical URL,
    or the text hash when there is no source), so an edited file is an update, not a new article.
    """

    id: str
    text: str
    title: str = ""
    url: str = ""
    path: str = ""
    source: str = ""
    published: str = ""  # ISO 8601 date or datetime, "" when unknown
    author: str = ""
    origin: str = ""  # the source the user gave (file, folder, feed, URL) that produced it
    source_id: str = ""  # the record's own id in its file (a CSV's article_id), not ours

    @property
    def hash(self) -> str:
        """Hash of everything that, when changed, requires re-embedding or re-storing."""
        meta = "\x1f".join(
            [self.title, self.url, self.path, self.source, self.published, self.author]
        )
        if self.source_id:  # only then: the hashes of articles without one stay as they were
            meta += "\x1f" + self.source_id
        return content_hash(meta + "\x1e" + self.text)

    def metadata(self) -> dict[str, str]:
        """Metadata stored on every chunk of this article (Chroma wants flat scalars)."""
        return {
            "article_id": self.id,
            "title": self.title,
            "url": self.url,
            "path": self.path,
            "source": self.source,
            "published": self.published,
            "author": self.author,
            "source_id": self.source_id,
        }


@dataclass(frozen=True)
class Chunk:
    """A piece of an article sized for the embedding model, with its character offsets."""

    id: str
    article_id: str
    index: int
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk, its score and the metadata of its article."""

    chunk: Chunk
    score: float
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    @property
    def title(self) -> str:
        """Title of the article the chunk belongs to."""
        return str(self.meta.get("title", ""))


@dataclass(frozen=True)
class Citation:
    """A verbatim span of a stored article that supports (part of) an answer."""

    id: int
    chunk_id: str
    article_id: str
    title: str
    url: str
    source: str
    published: str
    snippet: str
    start: int  # offsets of `snippet` in the stored article text
    end: int
    score: float
    path: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the CLI and the UI."""
        return asdict(self)


@dataclass(frozen=True)
class Answer:
    """What the question path returns; every renderer (CLI, --json, UI) reads only this."""

    question: str
    text: str
    answerable: bool
    citations: tuple[Citation, ...] = ()
    standalone_question: str = ""
    notes: tuple[str, ...] = ()  # for the reader: "the articles give different figures"
    closest: tuple[Hit, ...] = ()  # shown when the articles do not hold the answer
    drafted: int = 0  # sentences the model wrote
    verified: int = 0  # of those, sentences kept because an article span supports them
    removed: tuple[tuple[str, str], ...] = ()  # (drafted sentence, why it was removed)
    time_window: TimeWindow | None = None  # the publication window the question asked for
    # How the answer was made (what verification removed, why the model's words were not
    # used): behind a "details" toggle, since a reader asked a question, not for our internals.
    details: tuple[str, ...] = ()
    kind: str = "factoid"  # what the question asks for: "factoid", "digest" or "comparison"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for `--json` and the API."""
        return {
            "question": self.question,
            "standalone_question": self.standalone_question or self.question,
            "answer": self.text,
            "answerable": self.answerable,
            "kind": self.kind,
            "citations": [c.to_dict() for c in self.citations],
            "notes": [*self.notes, *self.details],
            "details": list(self.details),
            "time_window": self.time_window.to_dict() if self.time_window else None,
            "verification": {
                "drafted": self.drafted,
                "verified": self.verified,
                "removed": [{"text": t, "reason": why} for t, why in self.removed],
            },
            "closest": [
                {
                    "article_id": h.chunk.article_id,
                    "chunk_id": h.chunk.id,
                    "title": h.meta.get("title", ""),
                    "url": h.meta.get("url", ""),
                    "published": h.meta.get("published", ""),
                    "score": h.score,
                }
                for h in self.closest
            ],
        }


def final_answer(stream: Iterable[str | Answer]) -> Answer:
    """The Answer that ends an answer stream (App.ask's), the tokens before it skipped."""
    final = None
    for item in stream:
        if isinstance(item, Answer):
            final = item
    assert final is not None  # an answer stream always ends with its Answer
    return final
