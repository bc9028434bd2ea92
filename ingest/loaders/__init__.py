"""Load articles from files, folders and URLs: `load(source)` yields Article or LoadError."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from ingest.loaders.articles import article_id
from ingest.loaders.files import SUPPORTED_SUFFIXES, load_file, walk
from ingest.loaders.web import url_articles
from ingest.normalize import ONLY_HTTP, has_scheme, is_url
from ingest.paths import shown
from qa.errors import LoadError
from qa.types import Article

__all__ = ["SUPPORTED_SUFFIXES", "article_id", "load"]


def _guarded(articles: Iterator[Article | LoadError], where: str) -> Iterator[Article | LoadError]:
    # One broken source must not stop a folder load: any failure becomes a LoadError in the stream.
    try:
        yield from articles
    except LoadError as error:
        yield error
    except Exception as error:  # parsers raise anything on hostile input
        yield LoadError(where, f"could not be read ({type(error).__name__}: {error})")


def _files(root: Path, *, max_bytes: int, max_chars: int) -> Iterator[Article | LoadError]:
    origin = str(root)
    if not root.is_dir():
        articles = load_file(root, origin=origin, max_bytes=max_bytes, max_chars=max_chars)
        yield from _guarded(articles, shown(origin))
        return
    errors: list[LoadError] = []
    seen: set[Path] = set()
    for path in walk(root, errors):
        try:
            real = path.resolve()
        except (OSError, RuntimeError):  # a symlink loop: load_file reports it by path
            real = path
        if real in seen:  # the same file reached again through a symlink
            continue
        seen.add(real)
        articles = load_file(path, origin=origin, max_bytes=max_bytes, max_chars=max_chars)
        yield from _guarded(articles, shown(str(path)))
    yield from errors


def load(
    source: str,
    *,
    max_bytes: int = 50 * 1024 * 1024,
    timeout: float = 20.0,
    allow_private: bool = False,
    max_chars: int = 2 * 1024 * 1024,
) -> Iterator[Article | LoadError]:
    """Yield one Article per article in a file, folder or http(s) URL, one LoadError per failure.

    Never raises for bad input. Files read whole (text, HTML, JSON, feeds) and URL responses are
    capped at max_bytes; CSV and JSONL files (also gzipped) are streamed row by row, uncapped,
    but no line or field is read past the record cap: a record whose text is over max_chars
    is one LoadError. Only regular files are opened (a FIFO or device is reported).
    A record that fails inside a good file is reported as "{file}:{n}" (n: line for JSONL/CSV,
    record number for JSON lists and feed entries). URLs at non-public addresses are refused
    unless allow_private (ingest.loaders.netguard).
    """
    source = source.strip()
    if not source:
        yield LoadError(source, "empty source")
        return
    if is_url(source):
        articles = url_articles(
            source, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private
        )
        yield from _guarded(articles, source)
        return
    if has_scheme(source):
        yield LoadError(source, ONLY_HTTP)
        return
    # Absolute, but symlinks kept: paths and ids match the index's origins, so each source
    # owns its articles even when two sources reach the same file.
    root = Path(os.path.abspath(os.path.expanduser(source)))
    if not root.exists():
        yield LoadError(shown(str(root)), "no such file or directory")
        return
    yield from _files(root, max_bytes=max_bytes, max_chars=max_chars)
