"""URL fetching refuses addresses that are not public: the address rules over many literal
forms, and fetches against a real HTTP server on loopback (refusals, redirects, the setting
that allows private addresses, the connection going to the checked address)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import IPv4Address, ip_address
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from httpcore import SyncBackend

from ingest.loaders import load
from ingest.loaders.netguard import IPAddress, Resolver, address_rule, literal_address, refusal
from ingest.loaders.pinned import PinnedBackend, PinnedTransport
from ingest.loaders.web import fetch
from qa.app import App
from qa.errors import LoadError
from qa.types import Article

ARTICLE = "Harbour bridge reopens\n\nThe harbour bridge reopened on Monday after repairs.\n"
PUBLIC = IPv4Address("1.1.1.1")  # a global address, stood in for by loopback below


@pytest.mark.parametrize(
    ("host", "address", "rule"),
    [
        ("127.0.0.1", "127.0.0.1", "a loopback address"),
        ("2130706433", "127.0.0.1", "a loopback address"),
        ("127.1", "127.0.0.1", "a loopback address"),
        ("0x7f.1", "127.0.0.1", "a loopback address"),
        ("0x7f000001", "127.0.0.1", "a loopback address"),
        ("0177.0.0.1", "127.0.0.1", "a loopback address"),
        ("127.0.0.1.", "127.0.0.1", "a loopback address"),
        ("[::1]", "::1", "a loopback address"),
        ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "a loopback address"),
        ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254", "a link-local address"),
        ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1", "a loopback address"),  # NAT64
        ("[2002:a00:1::]", "2002:a00:1::", "a private address"),  # 6to4 of 10.0.0.1
        ("0.0.0.0", "0.0.0.0", "an unspecified address"),
        ("0", "0.0.0.0", "an unspecified address"),
        ("[::]", "::", "an unspecified address"),
        ("169.254.169.254", "169.254.169.254", "a link-local address"),
        ("[fe80::1]", "fe80::1", "a link-local address"),
        ("10.0.0.1", "10.0.0.1", "a private address"),
        ("172.16.5.4", "172.16.5.4", "a private address"),
        ("192.168.1.1", "192.168.1.1", "a private address"),
        ("3232235777", "192.168.1.1", "a private address"),
        ("100.64.0.1", "100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("[fd12:3456::1]", "fd12:3456::1", "a unique-local address"),
        ("224.0.0.251", "224.0.0.251", "a multicast address"),
        ("[ff02::1]", "ff02::1", "a multicast address"),
        ("240.0.0.1", "240.0.0.1", "a reserved address"),
        ("192.0.2.10", "192.0.2.10", "a private address"),  # documentation range
        ("8.8.8.8", "8.8.8.8", ""),
        ("0x8.0x8.0x8.0x8", "8.8.8.8", ""),
        ("[2606:4700:4700::1111]", "2606:4700:4700::1111", ""),
        ("[::ffff:8.8.8.8]", "::ffff:8.8.8.8", ""),
    ],
)
def test_literal_forms_are_read_and_classified(host: str, address: str, rule: str) -> None:
    ip = literal_address(host)
    assert ip == ip_address(address)
    assert address_rule(ip) == rule


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "256.1.1.1", "1.16777216", "0x1g"])
def test_names_and_impossible_numbers_are_not_literals(host: str) -> None:
    assert literal_address(host) is None


def test_one_private_address_among_public_ones_refuses() -> None:
    mixed = [PUBLIC, ip_address("10.1.2.3")]
    assert refusal(mixed).startswith("10.1.2.3 is a private address; set ARTICLEQA_ALLOW")
    assert refusal([PUBLIC]) == ""


class _Site:
    """A real HTTP server on loopback that records what it was asked."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []  # (path, Host header)
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                site.requests.append((self.path, self.headers.get("Host", "")))
                parts = urlsplit(self.path)
                if parts.path in ("/redirect", "/loop"):
                    self.send_response(302)
                    self.send_header("Location", parse_qs(parts.query).get("to", ["/loop"])[0])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                if parts.path == "/missing":
                    self.send_error(404)
                    return
                body = ARTICLE.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
def site() -> Iterator[_Site]:
    s = _Site()
    yield s
    s.server.shutdown()
    s.server.server_close()


def _refusal(source: str, **kw: object) -> str:
    items = list(load(source, **kw))
    assert len(items) == 1 and isinstance(items[0], LoadError), items
    return items[0].reason


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", ""),
        ("2130706433", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1 (127.0.0.1) is"),
    ],
)
def test_loopback_urls_are_refused_without_a_connection(site: _Site, host: str, shown: str) -> None:
    reason = _refusal(site.url("/story", host))
    assert "is a loopback address; set ARTICLEQA_ALLOW_PRIVATE_URLS=true" in reason
    assert reason.startswith(shown) and "\n" not in reason
    assert site.requests == []  # refused before connecting: nothing about the port leaks


def test_allow_private_fetches_loopback(site: _Site) -> None:
    items = list(load(site.url("/story"), allow_private=True))
    assert len(items) == 1 and isinstance(items[0], Article)
    assert items[0].title == "Harbour bridge reopens"
    assert site.requests == [("/story", f"127.0.0.1:{site.port}")]


def test_failures_at_private_addresses_say_only_could_not_fetch(site: _Site) -> None:
    # A 404 and a closed port read the same: the error does not tell what listens where.
    assert _refusal(site.url("/missing"), allow_private=True) == "could not fetch"
    site.server.shutdown()
    site.server.server_close()
    assert _refusal(site.url("/story"), allow_private=True) == "could not fetch"


def test_the_connection_goes_to_the_checked_address(site: _Site) -> None:
    # A name no DNS knows: only the injected resolver's (checked) answer can be dialled, and
    # the request still names the host.
    asked: list[str] = []

    def resolve(host: str, port: int) -> Sequence[IPAddress]:
        asked.append(host)
        return [IPv4Address("127.0.0.1")]

    url = site.url("/story", "news.articleqa-test.invalid")
    fetched = fetch(url, max_bytes=10_000, timeout=5, allow_private=True, resolve=resolve)
    assert fetched.body.decode() == ARTICLE
    assert asked == ["news.articleqa-test.invalid"]
    assert site.requests == [("/story", f"news.articleqa-test.invalid:{site.port}")]
    with pytest.raises(LoadError, match="127.0.0.1 is a loopback address"):
        fetch(url, max_bytes=10_000, timeout=5, resolve=resolve)


def test_pinned_backend_dials_only_its_addresses(site: _Site) -> None:
    # Whatever host the connection asks for, the socket goes to the checked address.
    with httpx.Client(transport=PinnedTransport([IPv4Address("127.0.0.1")])) as client:
        assert client.get(f"http://example.com:{site.port}/story").text == ARTICLE
    assert site.requests == [("/story", f"example.com:{site.port}")]
    # The server listens on 127.0.0.1 only: pinned elsewhere, the URL's own address is unused.
    with (
        httpx.Client(transport=PinnedTransport([IPv4Address("127.0.0.2")])) as client,
        pytest.raises(httpx.ConnectError),
    ):
        client.get(site.url("/story"))
    assert len(site.requests) == 1


Pin = Callable[[list[IPAddress]], httpx.BaseTransport]


def _via_public(site: _Site) -> tuple[Resolver, Pin]:
    """A resolver giving a public address for `public.example`, and a transport that reaches
    that address at the loopback server (standing in for a public web server offline)."""

    def resolve(host: str, port: int) -> Sequence[IPAddress]:
        return [PUBLIC] if host == "public.example" else [literal_address(host) or PUBLIC]

    class Translated(PinnedBackend):
        def connect_tcp(self, host: str, port: int, *args: Any, **kw: Any) -> Any:
            assert self.addresses == [PUBLIC]  # only ever asked to dial the checked address
            return SyncBackend.connect_tcp(self, "127.0.0.1", port, *args, **kw)

    def transport(addresses: list[IPAddress]) -> httpx.BaseTransport:
        t = PinnedTransport(addresses)
        t._pool._network_backend = Translated(addresses)  # type: ignore[attr-defined]
        return t

    return resolve, transport


@pytest.mark.parametrize(
    "target",
    ["http://127.0.0.1:{port}/secret", "http://2130706433:{port}/secret", "http://[::1]:1/"],
)
def test_a_redirect_to_a_private_address_is_refused(site: _Site, target: str) -> None:
    resolve, transport = _via_public(site)
    to = target.format(port=site.port)
    url = f"http://public.example:{site.port}/redirect?to={to}"
    with pytest.raises(LoadError) as error:
        fetch(url, max_bytes=10_000, timeout=5, resolve=resolve, transport=transport)
    assert error.value.reason.startswith(f"redirected to {to}: ")
    assert "loopback address" in error.value.reason
    assert [p for p, _ in site.requests] == [f"/redirect?to={to}"]  # /secret never asked


def test_a_redirect_between_public_pages_is_followed(site: _Site) -> None:
    resolve, transport = _via_public(site)
    to = f"http://public.example:{site.port}/story"
    url = f"http://public.example:{site.port}/redirect?to={to}"
    fetched = fetch(url, max_bytes=10_000, timeout=5, resolve=resolve, transport=transport)
    assert fetched.url == to and fetched.body.decode() == ARTICLE


def test_redirect_loops_and_other_schemes_stop(site: _Site) -> None:
    resolve, transport = _via_public(site)
    to_file = f"http://public.example:{site.port}/redirect?to=file:///etc/passwd"
    with pytest.raises(LoadError, match="redirected to file:/+etc/passwd: only http"):
        fetch(to_file, max_bytes=10_000, timeout=5, resolve=resolve, transport=transport)
    loop = f"http://public.example:{site.port}/loop"
    with pytest.raises(LoadError, match="more than 10 redirects"):
        fetch(loop, max_bytes=10_000, timeout=5, resolve=resolve, transport=transport)


def test_other_schemes_get_one_clear_line() -> None:
    assert _refusal("file:///etc/passwd") == "only http(s) URLs are fetched"
    assert _refusal("ftp://example.com/feed.xml") == "only http(s) URLs are fetched"


def test_index_refuses_loopback_and_file_urls(app: App, site: _Site) -> None:
    report = app.index([site.url("/story"), "file:///etc/passwd"]).to_dict()
    reasons = {f["path"]: f["error"] for f in report["failed"]}
    assert reasons["file:///etc/passwd"] == "only http(s) URLs are fetched"
    assert "127.0.0.1 is a loopback address" in reasons[site.url("/story")]
    assert report["added"] == 0 and site.requests == []


def test_index_allows_loopback_with_the_setting(tmp_path: Path, embeddings, site: _Site) -> None:
    from tests.conftest import make_settings

    private = App(make_settings(tmp_path, allow_private_urls=True))
    private.__dict__["embeddings"] = embeddings
    report = private.index([site.url("/story")]).to_dict()
    assert report["added"] == 1 and report["failed"] == []


def test_failures_at_public_addresses_keep_their_detail(site: _Site) -> None:
    resolve, transport = _via_public(site)
    url = f"http://public.example:{site.port}/missing"
    with pytest.raises(LoadError, match="HTTP 404 Not Found"):
        fetch(url, max_bytes=10_000, timeout=5, resolve=resolve, transport=transport)
