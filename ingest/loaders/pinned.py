"""An httpx transport that connects only to addresses already checked (ingest.loaders.netguard).

The URL keeps its host name, so the Host header, TLS SNI and certificate check are for the
name, while the socket goes to the checked address: no second DNS lookup to rebind.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence

import httpcore
import httpx

from ingest.loaders.netguard import IPAddress


class PinnedBackend(httpcore.SyncBackend):
    """httpcore's socket backend, dialling only the given addresses whatever host is asked."""

    def __init__(self, addresses: Sequence[IPAddress]) -> None:
        self.addresses = list(addresses)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        """Connect to the first checked address that answers."""
        error: Exception = httpcore.ConnectError(f"no checked address for {host}")
        for ip in self.addresses:
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as e:
                error = e
        raise error


class PinnedTransport(httpx.HTTPTransport):
    """httpx's transport over a PinnedBackend; no proxies from the environment (a proxy would
    resolve the host itself, after the check)."""

    def __init__(self, addresses: Sequence[IPAddress]) -> None:
        super().__init__(trust_env=False)
        # httpx takes no network backend of its own; its pool is where httpcore takes one.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            network_backend=PinnedBackend(addresses),
        )
