"""Article ids and the one place raw fields become a normalized Article."""

from __future__ import annotations

import re

from ingest.normalize import (
    canonical_url,
    is_url,
    normalize_text,
    one_line,
    parse_date,
    source_of,
)
from ingest.paths import identity, shown
from qa.errors import LoadError
from qa.types import Article, content_hash


def article_id(*, path: str = "", url: str = "", record: int | None = None, text: str = "") -> str:
    """Return the id of an article: by file path (+ record number), else canonical URL, else text.

    Ids follow where an article lives, not what it says, so an edited file is an update.
    """
    suffix = "" if record is None else f"#{record}"
    if path:  # a name that is not valid UTF-8 is known by its raw bytes
        return content_hash(f"file:{identity(path)}{suffix}")
    if url:
        return content_hash(f"url:{canonical_url(url)}{suffix}")
    return content_hash(f"text:{normalize_text(text)}")


# Titles, authors and sources are copied onto every chunk of an article: a text file with no
# line break has its whole text as "first line", and a 2 MB title on 2,500 chunks took 13 GB.
MAX_FIELD_CHARS = 300


def _short(text: str) -> str:
    """text cut to MAX_FIELD_CHARS, at a word boundary when there is one, marked with "…"."""
    if len(text) <= MAX_FIELD_CHARS:
        return text
    cut = text[: MAX_FIELD_CHARS - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > MAX_FIELD_CHARS // 2 else cut).rstrip() + "…"


def _scalar(value: object) -> str:
    # Records may hold numbers where text is expected; nested values are not a title or a name.
    if isinstance(value, str):
        return _short(one_line(value[: 4 * MAX_FIELD_CHARS]))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _author(value: object) -> str:
    # JSON exports often give authors as a list of names or of {"name": ...} objects.
    if isinstance(value, list | tuple):
        names = (_author(item) for item in value)
        return _short(", ".join(name for name in names if name))
    if isinstance(value, dict):
        return _author(value.get("name", ""))
    return _scalar(value)


def build_article(
    where: str,
    *,
    text: str,
    id: str = "",
    title: object = "",
    url: str = "",
    path: str = "",
    source: object = "",
    published: object = "",
    author: object = "",
    origin: str = "",
    source_id: object = "",
) -> Article:
    """Return a normalized Article, or raise LoadError(where) when it has no text."""
    text = normalize_text(text)
    if not text:
        raise LoadError(where, "no text")
    url = url.strip()
    return Article(
        id=id or article_id(text=text),
        text=text,
        title=_scalar(title),
        url=url,
        path=shown(path),
        source=_scalar(source) or one_line(source_of(url if is_url(url) else shown(path))),
        published=parse_date(published),
        author=_author(author),
        origin=shown(origin),
        source_id=_scalar(source_id),
    )


_CRUMB = re.compile(r"\s*[»›>|/]\s*")


def title_from_text(text: str) -> str:
    """Return the first non-empty line of text, without leading markdown "#" marks.

    Pages saved as text often start with a breadcrumb ("Home » Technology » Title"): its last
    part is the title.
    """
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if line:
            parts = [p for p in _CRUMB.split(line) if p]
            return parts[-1] if "»" in line or "›" in line else line
    return ""
