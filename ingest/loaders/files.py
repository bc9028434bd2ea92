"""Local files and folders: walking, size limits, decoding, and dispatch by file type."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from ingest.loaders.articles import article_id, build_article, title_from_text
from ingest.loaders.decode import SAMPLE_BYTES, decode_bytes, detect_encoding
from ingest.loaders.feeds import feed_articles, looks_like_feed
from ingest.loaders.html import extract_page
from ingest.loaders.records import csv_articles, json_articles, jsonl_articles, over_limit
from ingest.normalize import is_url
from ingest.paths import not_regular, shown
from qa.errors import LoadError
from qa.types import Article

TEXT_SUFFIXES = (".txt", ".md")
HTML_SUFFIXES = (".html", ".htm")
FEED_SUFFIXES = (".xml", ".rss", ".atom")
# Record files are streamed row by row, so they may be larger than max_bytes.
STREAM_SUFFIXES = (".jsonl", ".csv", ".jsonl.gz", ".csv.gz")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, *HTML_SUFFIXES, ".json", *STREAM_SUFFIXES, *FEED_SUFFIXES)
_SINGLE = (*TEXT_SUFFIXES, *HTML_SUFFIXES)  # one article per file


def suffix_of(path: Path) -> str:
    """Return the lowercase file type of path, with ".gz" kept together with the inner suffix."""
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def human_size(size: int) -> str:
    """Return a byte count for messages: "120 MB", "1.5 KB", "300 bytes"."""
    for unit, scale in (("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{size} bytes"


def walk(folder: Path, errors: list[LoadError]) -> Iterator[Path]:
    """Yield the files under folder, sorted, skipping hidden entries and symlink loops."""
    seen: set[tuple[int, int]] = set()

    def report(error: OSError) -> None:
        errors.append(LoadError(str(error.filename or folder), error.strerror or str(error)))

    for root, dirs, files in os.walk(folder, onerror=report, followlinks=True):
        stat = os.stat(root)
        if (stat.st_dev, stat.st_ino) in seen:
            dirs[:] = []
            continue
        seen.add((stat.st_dev, stat.st_ino))
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                yield Path(root, name)


@contextmanager
def _open_text(path: Path, where: str) -> Iterator[TextIO]:
    opener = gzip.open if path.suffix.lower() == ".gz" else open
    with opener(path, "rb") as raw:
        sample = raw.read(SAMPLE_BYTES)
        if not sample.strip():
            raise LoadError(where, "empty file")
        encoding = detect_encoding(sample, where, complete=len(sample) < SAMPLE_BYTES)
        raw.seek(0)
        # A stray bad byte deep in a big corpus should cost one character, not the file.
        yield io.TextIOWrapper(raw, encoding=encoding, errors="replace", newline="")


def _stream_articles(
    path: Path, suffix: str, origin: str, max_chars: int
) -> Iterator[Article | LoadError]:
    where = shown(str(path))
    read = csv_articles if suffix.startswith(".csv") else jsonl_articles
    try:
        with _open_text(path, where) as stream:
            yield from read(stream, str(path), origin=origin, max_chars=max_chars)
    except (gzip.BadGzipFile, EOFError, zlib.error) as e:
        raise LoadError(where, f"not a valid gzip file: {e}") from None


def _capped(
    items: Iterator[Article | LoadError], where: str, max_chars: int, numbered: bool
) -> Iterator[Article | LoadError]:
    """Articles over max_chars become errors (numbered: "path:n" for the n-th record)."""
    for n, item in enumerate(items, 1):
        if isinstance(item, Article) and len(item.text) > max_chars:
            yield over_limit(f"{where}:{n}" if numbered else where, len(item.text), max_chars)
        else:
            yield item


def _whole_file_articles(
    path: Path, suffix: str, data: bytes, origin: str
) -> Iterator[Article | LoadError]:
    where = str(path)
    text = decode_bytes(data, where)
    if not text.strip():
        raise LoadError(where, "empty file")
    if suffix in TEXT_SUFFIXES:
        yield build_article(
            where,
            text=text,
            id=article_id(path=where),
            title=title_from_text(text),
            path=where,
            origin=origin,
        )
    elif suffix in HTML_SUFFIXES:
        page = extract_page(text)
        if not page.text:
            raise LoadError(where, "no article text found in the HTML")
        yield build_article(
            where,
            text=page.text,
            id=article_id(path=where),
            title=page.title,
            url=page.url if is_url(page.url) else "",
            path=where,
            published=page.published,
            author=page.author,
            origin=origin,
        )
    elif suffix == ".json":
        yield from json_articles(text, where, origin=origin)
    elif suffix == ".xml" and not looks_like_feed(text):
        raise LoadError(where, "XML file is not an RSS or Atom feed")
    else:
        # feedparser reads the bytes itself so that the XML encoding declaration is honoured.
        yield from feed_articles(data, where, path=where, origin=origin)


def load_file(
    path: Path, *, origin: str, max_bytes: int, max_chars: int = 2 * 1024 * 1024
) -> Iterator[Article | LoadError]:
    """Yield the articles of one file; file-level problems raise LoadError(path).
    A record whose text is over max_chars is yielded as a LoadError, not read whole."""
    where = shown(str(path))
    suffix = suffix_of(path)
    if suffix not in SUPPORTED_SUFFIXES:
        raise LoadError(where, f"unsupported file type {suffix or '(no suffix)'}")
    kind = not_regular(str(path))
    if kind:
        raise LoadError(where, kind)
    try:
        if suffix in STREAM_SUFFIXES:
            yield from _stream_articles(path, suffix, origin, max_chars)
            return
        size = path.stat().st_size
        if size > max_bytes:
            limit = human_size(max_bytes)
            raise LoadError(where, f"file is {human_size(size)}, over the {limit} limit")
        if size == 0:
            raise LoadError(where, "empty file")
        articles = _whole_file_articles(path, suffix, path.read_bytes(), origin)
        yield from _capped(articles, where, max_chars, numbered=suffix not in _SINGLE)
    except FileNotFoundError:
        raise LoadError(where, "no such file") from None
    except PermissionError:
        raise LoadError(where, "permission denied") from None
    except IsADirectoryError:
        raise LoadError(where, "is a directory") from None
