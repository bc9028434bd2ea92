"""The list of sources the user indexed, so `reindex` can re-scan them all.

Written atomically (temp file + rename) and only after the chunks of a run are stored.
"""

from __future__ import annotations

import json
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path


class Manifest:
    """Sources (files, folders, feeds, URLs) and when each was last indexed."""

    def __init__(self, path: Path):
        self.path = path
        self.sources: dict[str, dict[str, str]] = {}
        if path.exists():
            try:
                self.sources = json.loads(path.read_text()).get("sources", {})
            except (OSError, ValueError):
                self.sources = {}  # a torn file: the store itself is still intact

    def add(self, origin: str) -> None:
        """Remember a source (or refresh its time)."""
        self.sources[origin] = {"indexed": datetime.now(UTC).isoformat(timespec="seconds")}

    def discard(self, origin: str) -> None:
        """Forget a source."""
        self.sources.pop(origin, None)

    def save(self) -> None:
        """Write atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".manifest-", dir=self.path.parent)
        with os.fdopen(fd, "w") as f:
            json.dump({"sources": self.sources}, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
