"""http(s) URLs: a bounded GET, then content-type sniffing to the HTML, feed or text path."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

from ingest.loaders.articles import article_id, build_article, title_from_text
from ingest.loaders.decode import decode_bytes
from ingest.loaders.feeds import feed_articles, looks_like_feed
from ingest.loaders.files import human_size
from ingest.loaders.html import extract_page
from ingest.normalize import is_url
from qa.errors import LoadError
from qa.types import Article

USER_AGENT = "articleqa/0.1"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
# Feeds are recognized by their root element, whatever the server calls them.
XML_TYPES = frozenset({"application/xml", "text/xml"})
UNLABELLED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


@dataclass(frozen=True)
class Fetched:
    """A fetched response body with what is needed to interpret it."""

    url: str  # after redirects
    media_type: str
    charset: str
    body: bytes


def _too_big(url: str, size: int, max_bytes: int) -> LoadError:
    return LoadError(
        url, f"response is over the {human_size(max_bytes)} limit ({human_size(size)}+)"
    )


def fetch(url: str, *, max_bytes: int, timeout: float) -> Fetched:
    """GET url following redirects, reading at most max_bytes within timeout, or raise LoadError."""
    import httpx

    deadline = time.monotonic() + timeout
    try:
        with (
            httpx.Client(
                follow_redirects=True, timeout=timeout, headers={"User-Agent": USER_AGENT}
            ) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code >= 400:
                raise LoadError(url, f"HTTP {response.status_code} {response.reason_phrase}")
            length = response.headers.get("content-length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise _too_big(url, int(length), max_bytes)
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(url, size, max_bytes)
                # httpx's timeout is per read; a server dripping bytes must still stop.
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout("overall deadline passed")
                chunks.append(chunk)
            media_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
            return Fetched(
                str(response.url), media_type, response.charset_encoding or "", b"".join(chunks)
            )
    except httpx.TimeoutException:
        raise LoadError(url, f"timed out after {timeout:g} s") from None
    except httpx.ConnectError as e:
        raise LoadError(url, f"cannot connect: {e}") from None
    except httpx.TooManyRedirects:
        raise LoadError(url, "too many redirects") from None
    except (httpx.HTTPError, httpx.InvalidURL) as e:
        raise LoadError(url, f"request failed: {e}") from None


def _kind(fetched: Fetched, head: str, where: str) -> str:
    media = fetched.media_type
    if looks_like_feed(head):
        return "feed"
    if media in HTML_TYPES:
        return "html"
    if media in XML_TYPES or media.endswith("+xml"):
        raise LoadError(where, f"{media} document is not an RSS or Atom feed")
    if media in TEXT_TYPES:
        return "text"
    if media in UNLABELLED_TYPES:
        start = head.lstrip()[:100].lower()
        return "html" if start.startswith(("<!doctype html", "<html")) else "text"
    raise LoadError(where, f"unsupported content type {media}")


def url_articles(url: str, *, max_bytes: int, timeout: float) -> Iterator[Article | LoadError]:
    """Yield the article of a web page or text URL, or the entries of a feed URL."""
    fetched = fetch(url, max_bytes=max_bytes, timeout=timeout)
    if not fetched.body.strip():
        raise LoadError(url, "empty response")
    # Markup is ASCII in every encoding the sniffing has to handle; Latin-1 never fails.
    head = fetched.body[:4096].decode("latin-1")
    kind = _kind(fetched, head, url)
    if kind == "feed":
        yield from feed_articles(fetched.body, url, url=fetched.url, origin=url)
        return
    text = decode_bytes(fetched.body, url, fetched.charset)
    if kind == "html":
        page = extract_page(text, fetched.url)
        if not page.text:
            raise LoadError(url, "no article text found in the page")
        yield build_article(
            url,
            text=page.text,
            id=article_id(url=url),
            title=page.title,
            url=page.url if is_url(page.url) else fetched.url,
            published=page.published,
            author=page.author,
            origin=url,
        )
        return
    yield build_article(
        url,
        text=text,
        id=article_id(url=url),
        title=title_from_text(text),
        url=fetched.url,
        origin=url,
    )
