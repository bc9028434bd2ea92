"""One writer at a time: a file lock next to the index, plus a note of who holds it.

filelock uses flock(2), which the kernel releases when the holder dies, so a lock left by a
killed process never blocks the next run. The note (pid, start time) lets a waiting run say
whom it waits for, and lets the next holder see that the previous one was killed.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

LOCK_NAME = "index.lock"
HOLDER_NAME = "index.lock.json"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def holder(data_dir: Path) -> dict[str, Any]:
    """Who holds (or last held without releasing) the lock: {"pid", "started"} or {}."""
    return _read(data_dir / HOLDER_NAME)


@contextmanager
def writer_lock(data_dir: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index's write lock; tell `on_wait` when waiting and when taking over."""
    say = on_wait or (lambda _msg: None)
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(data_dir / LOCK_NAME))
    note = data_dir / HOLDER_NAME
    try:
        lock.acquire(timeout=0)
    except Timeout:
        who = _read(note)
        by = f" (pid {who['pid']}, started {who.get('started', '?')})" if "pid" in who else ""
        say(f"another index run{by} holds the lock; waiting for it to finish")
        lock.acquire()
    try:
        left = _read(note)
        pid = left.get("pid")
        # The note outlives its holder only when the holder was killed: flock itself is gone.
        if isinstance(pid, int) and pid != os.getpid() and not _alive(pid):
            say(f"took over the lock left by process {pid}, which was killed")
        note.write_text(
            json.dumps(
                {"pid": os.getpid(), "started": datetime.now(UTC).isoformat(timespec="seconds")}
            ),
            encoding="utf-8",
        )
        yield
    finally:
        note.unlink(missing_ok=True)
        lock.release()
