"""RSS and Atom feeds: sniffing, and one Article per entry via feedparser."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from typing import Any

from ingest.loaders.articles import article_id, build_article
from ingest.loaders.html import fragment_to_text
from ingest.normalize import parse_date, source_of
from qa.errors import LoadError
from qa.types import Article

# Declarations, comments and doctypes come before the root element of an XML document.
_PROLOG = re.compile(r"<\?.*?\?>|<!--.*?-->|<![^>]*>", re.S)
_FIRST_TAG = re.compile(r"<([A-Za-z][\w:.-]*)")
_FEED_ROOTS = frozenset({"rss", "feed", "rdf"})


def looks_like_feed(head: str) -> bool:
    """Return True when the first element of an XML text is an RSS, Atom or RDF feed root."""
    match = _FIRST_TAG.search(_PROLOG.sub("", head[:4096]))
    return match is not None and match.group(1).split(":")[-1].lower() in _FEED_ROOTS


def _text(detail: Mapping[str, Any] | None) -> str:
    if not detail:
        return ""
    value = str(detail.get("value") or "")
    return fragment_to_text(value) if "html" in str(detail.get("type") or "html") else value


def _entry_text(entry: Mapping[str, Any]) -> str:
    contents = [c for c in entry.get("content") or [] if c.get("value")]
    if contents:
        return _text(max(contents, key=lambda c: len(c["value"])))
    return _text(entry.get("summary_detail")) or fragment_to_text(entry.get("summary") or "")


def _published(entry: Mapping[str, Any]) -> str:
    # The raw string keeps whether a time was given; feedparser's parsed struct always has one
    # but reads more exotic formats, so it is the fallback.
    for key in ("published", "updated", "created", "published_parsed", "updated_parsed"):
        iso = parse_date(entry.get(key))
        if iso:
            return iso
    return ""


def feed_articles(
    data: bytes, where: str, *, path: str = "", url: str = "", origin: str = ""
) -> Iterator[Article | LoadError]:
    """Yield one Article per feed entry (from a file at path, or fetched as where from url)."""
    import feedparser

    # A stream, never a str: feedparser fetches any str that looks like a URL.
    parsed = feedparser.parse(io.BytesIO(data))
    if not parsed.entries:
        if parsed.bozo:
            raise LoadError(where, f"not a valid feed: {parsed.get('bozo_exception')}")
        raise LoadError(where, "feed has no entries")
    site = parsed.feed.get("link") or url or path
    for number, entry in enumerate(parsed.entries, 1):
        link = str(entry.get("link") or "")
        guid = str(entry.get("id") or link)
        if path:
            # Keyed by guid/link, not position: a feed grows at the top, and re-indexing it
            # must add only the new entries.
            key = article_id(path=f"{path}#{guid}" if guid else f"{path}#{number}")
        else:
            key = article_id(url=link) if link else article_id(url=where, record=number)
        try:
            yield build_article(
                f"{where}:{number}",
                text=_entry_text(entry),
                id=key,
                title=_text(entry.get("title_detail")) or entry.get("title", ""),
                url=link,
                path=path,
                source="" if link else source_of(site),
                published=_published(entry),
                author=entry.get("author", ""),
                origin=origin,
            )
        except LoadError as error:
            yield error
