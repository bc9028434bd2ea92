"""Surviving a killed index run: the marker a run leaves while it writes, and the sweep.

A run writes `index.dirty` (its sources) durably before its first store write and removes it
after its last bookkeeping. Finding the marker means the last run was killed: the next run
sweeps what it left half-written and re-scans its sources.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from qa.store import Store


def unfinished(marker: Path) -> list[str] | None:
    """The sources of a killed run (None when the last run finished)."""
    if not marker.exists():
        return None
    try:
        return [str(o) for o in json.loads(marker.read_text(encoding="utf-8")).get("sources", [])]
    except (OSError, ValueError, AttributeError):
        return []  # an empty marker (killed while writing it) still means: sweep


def write_marker(marker: Path, origins: list[str]) -> None:
    """Write the marker durably (before the first store write)."""
    marker.parent.mkdir(parents=True, exist_ok=True)
    tmp = marker.with_name(marker.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"pid": os.getpid(), "sources": origins}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, marker)


def sweep(store: Store) -> tuple[int, int]:
    """Delete chunks no record vouches for (no record, or an exact copy's record) and mark
    records whose chunk count is off as changed, so the next scan redoes them.
    Return (articles whose chunks were swept, records marked)."""
    records = dict(store.dedup_rows())
    counts: dict[str, int] = {}
    for _, _, m in store.iter_chunks():
        aid = str(m.get("article_id", ""))
        counts[aid] = counts.get(aid, 0) + 1
    swept = [a for a in counts if a not in records or records[a].get("dup_kind") == "exact"]
    for aid in swept:
        store.delete_chunks_of(aid)
    # Texts are written before their record and deleted after it: a kill in between leaves one.
    store.delete_texts(store.orphan_texts())
    off = [
        aid
        for aid, m in records.items()
        if m.get("dup_kind") != "exact" and counts.get(aid, 0) != int(m.get("chunks", -1))
    ]
    # Chunk ids run 0..n-1 (a killed rewrite overwrote a prefix), so the true count tells the
    # redo which surplus chunks to drop.
    store.mark_changed({aid: counts.get(aid, 0) for aid in off})
    return len(swept), len(off)
