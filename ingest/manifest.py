"""The bookkeeping of what the user indexed, so `reindex` can re-scan it all.

Sources (files, folders, feeds, URLs) with when each was last indexed and, for a source that
failed as a whole, why: it is tried again on every run until it is fixed or removed. Removed
items (a file in a folder, one record of a CSV or entry of a feed) are remembered so re-scans
skip them, until the user indexes that file or feed again by name. Each article's content hash
lives on its record in the store, written after its chunks.

The file is written atomically (temp file + rename) and only after a run's chunks are stored.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Manifest:
    """Sources and exclusions of one index, read fresh from disk."""

    def __init__(self, path: Path):
        self.path = path
        self.sources: dict[str, dict[str, Any]] = {}
        self.excluded: dict[str, str] = {}  # path, URL or article id -> when it was removed
        self.excluded_from: dict[str, str] = {}  # article id -> the file or feed that holds it
        if path.exists():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                self.sources = dict(data.get("sources", {}))
                self.excluded = dict(data.get("excluded", {}))
                self.excluded_from = dict(data.get("excluded_from", {}))
            except (OSError, ValueError, AttributeError):
                pass  # a torn or foreign file: the store itself is still intact

    def add(
        self,
        origin: str,
        *,
        failed: str = "",
        articles: int | None = None,
        records: tuple[int, int] | None = None,
    ) -> None:
        """Remember a source (or refresh it); `failed` says why it could not be read at all,
        `records` how many of its records failed, of how many read (None: as before)."""
        old = self.sources.get(origin, {})
        entry: dict[str, Any] = {"indexed": _now()}
        if failed:
            entry = {**old, "failed": failed, "tried": _now()}
        if articles is not None:
            entry["articles"] = articles
        if records is None and "failed_records" in old:
            entry["failed_records"] = old["failed_records"]
        elif records is not None and records[0]:
            entry["failed_records"] = list(records)
        self.sources[origin] = entry

    def discard(self, origin: str) -> None:
        """Forget a source."""
        self.sources.pop(origin, None)

    def failed_sources(self) -> dict[str, str]:
        """Sources that could not be read on their last run, with the reason."""
        return {o: str(e["failed"]) for o, e in self.sources.items() if e.get("failed")}

    def failed_records(self) -> dict[str, tuple[int, int]]:
        """Sources read with some records failing: (records failed, records read) each."""
        return {
            o: (int(e["failed_records"][0]), int(e["failed_records"][1]))
            for o, e in self.sources.items()
            if e.get("failed_records") and not e.get("failed")
        }

    def exclude(self, key: str, held_by: str = "") -> None:
        """Skip this path, URL or article id in future re-scans (the user removed it);
        `held_by` names the file or feed an article id came from."""
        self.excluded[key] = _now()
        if held_by:
            self.excluded_from[key] = held_by

    def include(self, *keys: str) -> None:
        """Stop skipping a path, URL or id, and the articles removed from that file or feed
        (the user indexed it again by name)."""
        named = {k for k in keys if k}
        back = named | {k for k, held in self.excluded_from.items() if held in named}
        for key in back:
            self.excluded.pop(key, None)
            self.excluded_from.pop(key, None)

    def is_excluded(self, *keys: str) -> bool:
        """True when any of the keys was removed by the user."""
        return any(k and k in self.excluded for k in keys)

    def save(self) -> None:
        """Write atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=self.path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(
                {
                    "sources": self.sources,
                    "excluded": self.excluded,
                    "excluded_from": self.excluded_from,
                },
                f,
                indent=1,
                sort_keys=True,
            )
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
