"""http(s) URLs: a bounded GET, then content-type sniffing to the HTML, feed or text path."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ingest.loaders.articles import article_id, build_article, title_from_text
from ingest.loaders.decode import decode_bytes
from ingest.loaders.feeds import feed_articles, looks_like_feed
from ingest.loaders.files import human_size
from ingest.loaders.html import extract_page
from ingest.loaders.netguard import IPAddress, Resolver, address_rule, refusal, resolve_host
from ingest.normalize import ONLY_HTTP, is_url
from qa.errors import LoadError
from qa.types import Article

if TYPE_CHECKING:
    import httpx

USER_AGENT = "articleqa/0.1"
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
TEXT_TYPES = frozenset({"text/plain", "text/markdown", "text/x-markdown"})
# Feeds are recognized by their root element, whatever the server calls them.
XML_TYPES = frozenset({"application/xml", "text/xml"})
UNLABELLED_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 10
# What a failure at a non-public address says: nothing about what listens there.
COULD_NOT_FETCH = "could not fetch"


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


def checked_addresses(
    url: str, current: str, *, allow_private: bool, resolve: Resolver
) -> list[IPAddress]:
    """The addresses current's host resolves to, each checked (unless allow_private); a
    LoadError about url for another scheme, no host, no address or a non-public address."""
    import httpx

    hop = "" if current == url else f"redirected to {current}: "
    try:
        parts = httpx.URL(current)
    except httpx.InvalidURL as e:
        raise LoadError(url, f"{hop}not a valid URL ({e})") from None
    if parts.scheme not in ("http", "https"):
        raise LoadError(url, f"{hop}{ONLY_HTTP}")
    host = parts.raw_host.decode("ascii")
    if not host:
        raise LoadError(url, f"{hop}no host in the URL")
    try:
        addresses = list(resolve(host, parts.port or (443 if parts.scheme == "https" else 80)))
    except (OSError, UnicodeError):
        raise LoadError(url, f"{hop}cannot resolve {host}") from None
    reason = "" if allow_private else refusal(addresses)
    if reason or not addresses:
        raise LoadError(url, hop + (reason or f"cannot resolve {host}"))
    return addresses


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
    transport: Callable[[list[IPAddress]], httpx.BaseTransport] | None = None,
) -> Fetched:
    """GET url, reading at most max_bytes within timeout, or raise LoadError. Redirects are
    followed here (at most MAX_REDIRECTS): every hop's addresses are checked and the socket goes
    to a checked one (`transport` builds the connection to given addresses: PinnedTransport).
    Failures at non-public addresses say only "could not fetch"."""
    import httpx

    from ingest.loaders.pinned import PinnedTransport

    pinned = transport or PinnedTransport

    deadline = time.monotonic() + timeout
    current = url
    for _ in range(MAX_REDIRECTS + 1):
        addresses = checked_addresses(url, current, allow_private=allow_private, resolve=resolve)
        public = not any(address_rule(a) for a in addresses)
        try:
            with (
                httpx.Client(
                    transport=pinned(addresses),
                    follow_redirects=False,
                    timeout=max(0.1, deadline - time.monotonic()),
                    headers={"User-Agent": USER_AGENT},
                    trust_env=False,
                ) as client,
                client.stream("GET", current) as response,
            ):
                location = response.headers.get("location", "")
                if response.status_code in REDIRECT_CODES and location:
                    current = str(response.url.join(location))
                    continue
                if response.status_code >= 400:
                    status = f"HTTP {response.status_code} {response.reason_phrase}"
                    raise LoadError(url, status if public else COULD_NOT_FETCH)
                return _read(url, response, max_bytes=max_bytes, deadline=deadline)
        except httpx.TimeoutException:
            reason = f"timed out after {timeout:g} s"
            raise LoadError(url, reason if public else COULD_NOT_FETCH) from None
        except httpx.ConnectError as e:
            raise LoadError(url, f"cannot connect: {e}" if public else COULD_NOT_FETCH) from None
        except (httpx.HTTPError, httpx.InvalidURL) as e:
            raise LoadError(url, f"request failed: {e}" if public else COULD_NOT_FETCH) from None
    raise LoadError(url, f"more than {MAX_REDIRECTS} redirects")


def _read(url: str, response: httpx.Response, *, max_bytes: int, deadline: float) -> Fetched:
    """The body of a streamed httpx response, within max_bytes and the deadline."""
    import httpx

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
    return Fetched(str(response.url), media_type, response.charset_encoding or "", b"".join(chunks))


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


def url_articles(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    allow_private: bool = False,
    resolve: Resolver = resolve_host,
) -> Iterator[Article | LoadError]:
    """Yield the article of a web page or text URL, or the entries of a feed URL."""
    fetched = fetch(
        url, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private, resolve=resolve
    )
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
