"""Hand memory that indexing freed back to the system.

Indexing allocates and frees a lot in many threads (ours, and Chroma's Rust threads); glibc
keeps what was freed in per-thread arenas, so a long run's resident memory grew with the
corpus although little of it was live (`malloc_trim(0)` after a run of the news corpus handed
back 58 MB). Trimming after each write batch keeps that from piling up, as Dask's workers do.
Elsewhere (no glibc) this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from typing import Any


@functools.cache
def _trim() -> Any:
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):  # not glibc: musl, macOS
        return None


def release_free_memory() -> None:
    """Return freed heap memory to the system (glibc's malloc_trim); a no-op elsewhere."""
    trim = _trim()
    if trim is not None:
        trim(0)
