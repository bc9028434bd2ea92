"""Which addresses a URL may be fetched from: every address of the host, checked by rule.

A server that fetches URLs for its users must not become their way into loopback services,
the local network or a cloud metadata endpoint: every address a host resolves to is checked,
and the connection then goes to one of those very addresses (ingest.loaders.pinned), since a
second DNS answer could differ.
"""

from __future__ import annotations

import socket
import typing
from collections.abc import Callable, Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

IPAddress = IPv4Address | IPv6Address
Resolver = Callable[[str, int], Sequence[IPAddress]]

ALLOW_HINT = "set ARTICLEQA_ALLOW_PRIVATE_URLS=true to allow private addresses"
_THIS_NETWORK = IPv4Network("0.0.0.0/8")
_SHARED = IPv4Network("100.64.0.0/10")  # carrier-grade NAT
_UNIQUE_LOCAL = IPv6Network("fc00::/7")
_NAT64 = IPv6Network("64:ff9b::/96")


def _ipv4_part(text: str) -> int | None:
    """One dotted part as inet_aton reads it: 0x.. hex, 0.. octal, else decimal."""
    try:
        if text[:2].lower() == "0x":
            return int(text[2:] or "0", 16)
        if len(text) > 1 and text.startswith("0"):
            return int(text[1:], 8)
        return int(text, 10) if text.isdigit() else None
    except ValueError:
        return None


def literal_address(host: str) -> IPAddress | None:
    """The address a host names literally, in any form resolvers accept (`[::1]`,
    `2130706433`, `127.1`, `0x7f.1`, `0177.0.0.1`), or None for a name to look up."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if ":" in host:
        try:
            return ip_address(host)
        except ValueError:
            return None
    parts = host[:-1].split(".") if host.endswith(".") else host.split(".")
    values = [_ipv4_part(p) for p in parts] if 1 <= len(parts) <= 4 else [None]
    if any(v is None for v in values):
        return None
    *head, last = typing.cast(list[int], values)
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    number = last
    for i, v in enumerate(head):
        number += v << (8 * (3 - i))
    return IPv4Address(number)


def _translated_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address a connection to ip actually reaches (IPv4-mapped, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return IPv4Address(int(ip) & 0xFFFFFFFF) if ip in _NAT64 else None


def address_rule(ip: IPAddress) -> str:
    """Why ip is not a public address ("a loopback address", ...), or "" when it is."""
    if isinstance(ip, IPv6Address):
        inner = _translated_ipv4(ip)
        if inner is not None:
            return address_rule(inner)
        # 6to4 carries an IPv4 address too: a private one there is refused by its rule.
        if ip.sixtofour is not None and address_rule(ip.sixtofour):
            return address_rule(ip.sixtofour)
    if ip.is_unspecified or ip in _THIS_NETWORK:
        return "an unspecified address"
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_multicast:
        return "a multicast address"
    if ip in _UNIQUE_LOCAL:
        return "a unique-local address"
    if ip in _SHARED:
        return "a shared (carrier-grade NAT) address"
    if ip.is_reserved:
        return "a reserved address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global:
        return "not a public address"
    return ""


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address host resolves to (a literal address is its own answer); OSError if none."""
    literal = literal_address(host)
    if literal is not None:
        return [literal]
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for info in infos:
        # A scoped IPv6 answer ("fe80::1%eth0") keeps its scope in the checked address.
        found[ip_address(str(info[4][0]))] = None
    if not found:
        raise OSError(f"no address for {host}")
    return list(found)


def refusal(addresses: Sequence[IPAddress]) -> str:
    """One line naming the first address that is not public and its rule, or ""."""
    for ip in addresses:
        rule = address_rule(ip)
        inner = _translated_ipv4(ip) if isinstance(ip, IPv6Address) else None
        if rule:
            return f"{ip}{f' ({inner})' if inner else ''} is {rule}; {ALLOW_HINT}"
    return ""
