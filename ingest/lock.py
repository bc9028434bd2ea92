"""One writer at a time: a file lock next to the index.

filelock uses flock(2), which the kernel releases when the holder dies, so a lock left by a
killed process never blocks the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout


@contextmanager
def writer_lock(data_dir: Path, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the index's write lock; tell `on_wait` when another run holds it."""
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(data_dir / "index.lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        if on_wait:
            on_wait("another index run holds the lock; waiting for it to finish")
        lock.acquire()
    try:
        yield
    finally:
        lock.release()
