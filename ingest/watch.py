"""Keep the index in step with folders: files are indexed as they appear, change or vanish.

The watcher (watchfiles, inotify on Linux) is set up before the initial full scan, so nothing
written during the scan is missed; each batch of changes then re-reads just those paths.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from qa.errors import ArticleQAError

IndexFn = Callable[[list[str] | None], Any]  # None: full scan; else only these paths
ReportFn = Callable[[Any, list[str] | None], None]


def _hidden(path: str, roots: Sequence[str]) -> bool:
    """True for dotfiles and anything in a dot folder under the watched roots."""
    for root in roots:
        if path == root or path.startswith(root.rstrip(os.sep) + os.sep):
            rel = os.path.relpath(path, root)
            return any(part.startswith(".") for part in rel.split(os.sep))
    return True  # not under any root: not ours


def relevant(
    changes: Iterable[tuple[Any, str]],
    roots: Sequence[str],
    *,
    suffixes: tuple[str, ...],
    ignore: Sequence[str] = (),
) -> list[str]:
    """The changed paths worth re-reading: supported files that exist now, and anything that
    vanished (a deleted file or folder); editors' temp files and our own index are skipped."""
    out: set[str] = set()
    for _, path in changes:
        if _hidden(path, roots) or any(
            path == d or path.startswith(d.rstrip(os.sep) + os.sep) for d in ignore
        ):
            continue
        if not os.path.exists(path) or os.path.isdir(path) or path.lower().endswith(suffixes):
            out.add(path)
    return sorted(out)


def watch_folders(
    folders: Sequence[str],
    *,
    index: IndexFn,
    on_report: ReportFn,
    on_error: Callable[[str], None] | None = None,
    ignore: Sequence[str | os.PathLike[str]] = (),
    stop: threading.Event | None = None,
    debounce_ms: int = 1000,
) -> None:
    """Scan folders fully, then index each batch of changes until `stop` is set or Ctrl-C."""
    import watchfiles

    from ingest.loaders import SUPPORTED_SUFFIXES

    roots = [os.path.abspath(f) for f in folders]
    skip = [os.path.abspath(d) for d in ignore]
    scanned = False
    for changes in watchfiles.watch(
        *roots,
        stop_event=stop,
        debounce=debounce_ms,
        yield_on_timeout=True,  # the first (empty) batch says the watcher is running
        rust_timeout=500,
        raise_interrupt=False,
    ):
        paths: list[str] | None = relevant(changes, roots, suffixes=SUPPORTED_SUFFIXES, ignore=skip)
        if not scanned:
            scanned, paths = True, None
        elif not paths:
            continue
        try:
            on_report(index(paths), paths)
        except ArticleQAError as e:  # e.g. the Chroma server went away: keep watching
            if on_error:
                on_error(f"indexing failed, will retry on the next change: {e}")
