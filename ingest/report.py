"""What an index run reports: its summary, and its progress against the articles expected."""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from ingest.normalize import is_url
from qa.errors import LoadError
from qa.types import Article

Loader = Callable[[str], Iterable[Article | LoadError]]
FEED_SUFFIXES = (".xml", ".rss", ".atom")
RECORD_SUFFIXES = (".csv", ".csv.gz", ".jsonl", ".jsonl.gz", ".json", *FEED_SUFFIXES)


@dataclass(frozen=True)
class Progress:
    """How far a run is: articles read, chunks embedded, and the articles expected (if known)."""

    articles: int
    chunks: int
    total: int | None
    failed: int


ProgressFn = Callable[[Progress], None]


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
    duplicates: int = 0  # exact copies stored as a record only
    near_duplicates: int = 0  # articles linked to an earlier telling of the same story
    repaired: int = 0  # articles fixed after a killed run

    @property
    def changed(self) -> bool:
        """True when the store was written to."""
        return bool(self.added or self.updated or self.removed or self.repaired)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary with the keys the CLI documents."""
        d = asdict(self)
        del d["repaired"]
        return d


def estimate_total(
    origins: list[str], prior: dict[str, list[str]], load: Loader, only: Collection[str] | None
) -> int | None:
    """Articles this run will likely see: what each source gave last time, else a count of
    its files (record files are parsed to count their records: cheap next to embedding)."""
    if only is not None:
        return len(only)
    total = 0
    for origin in origins:
        if prior[origin]:
            total += len(prior[origin])
        elif is_url(origin):
            total += 1
        else:
            total += sum(_count(path, load) for path in _files(origin))
    return total or None


def _files(origin: str) -> Iterator[str]:
    if not os.path.isdir(origin):
        yield origin
        return
    for root, dirs, files in os.walk(origin):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (os.path.join(root, f) for f in files if not f.startswith("."))


def _count(path: str, load: Loader) -> int:
    if not path.lower().endswith(RECORD_SUFFIXES):
        return 1
    return sum(1 for item in load(path) if isinstance(item, Article))
