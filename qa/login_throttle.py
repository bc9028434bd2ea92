"""Login throttling for the served UI: an address that keeps failing to log in waits (HTTP 429).

Gradio's POST /login checks the password and answers at once; without a limit a password can
be guessed at network speed. Each attempt counts as a failure until it succeeds, so a burst of
parallel guesses is held to the same limit as a sequence.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_ADDRESSES = 10_000  # forget quiet addresses past this many, so memory stays bounded


@dataclass
class _Record:
    failures: list[float] = field(default_factory=list)
    lockouts: int = 0
    until: float = 0.0
    last: float = 0.0


@dataclass
class LoginThrottle:
    """Failed logins per client address: `attempts` failures within `window` seconds lock the
    address for `wait` seconds, doubling with each lockout up to `max_wait`; a success clears it."""

    attempts: int = 5
    window: float = 60.0
    wait: float = 30.0
    max_wait: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict)

    def wait_left(self, address: str) -> float:
        """Seconds this address must still wait before trying again (0 when it may)."""
        record = self._records.get(address)
        return max(0.0, record.until - self.clock()) if record else 0.0

    def failed(self, address: str) -> None:
        """Count a failed (or not yet successful) attempt from address."""
        now = self.clock()
        if len(self._records) >= MAX_ADDRESSES:
            self._forget_quiet(now)
        record = self._records.setdefault(address, _Record())
        if now - record.last > self.window + self.max_wait:
            record.lockouts = 0  # quiet long enough: start again from the first wait
        record.last = now
        record.failures = [t for t in record.failures if now - t < self.window] + [now]
        if len(record.failures) >= self.attempts:
            record.until = now + min(self.max_wait, self.wait * 2**record.lockouts)
            record.lockouts += 1
            record.failures = []

    def succeeded(self, address: str) -> None:
        """A successful login clears the address's record."""
        self._records.pop(address, None)

    def _forget_quiet(self, now: float) -> None:
        records = self._records.items()
        quiet = [a for a, r in records if r.until <= now and now - r.last > self.window]
        for address in quiet:
            del self._records[address]


def _is_login(scope: Scope) -> bool:
    path = str(scope.get("path", "")).rstrip("/")
    return scope["type"] == "http" and scope.get("method") == "POST" and path.endswith("/login")


class LoginThrottleMiddleware:
    """ASGI middleware applying a LoginThrottle to POST /login, by the connection's address
    (X-Forwarded-For is not trusted: any client can write it)."""

    def __init__(self, app: ASGIApp, throttle: LoginThrottle) -> None:
        self.app = app
        self.throttle = throttle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a locked address with 429; otherwise pass the login on and record its outcome."""
        if not _is_login(scope):
            await self.app(scope, receive, send)
            return
        address = str((scope.get("client") or ("",))[0])
        wait = self.throttle.wait_left(address)
        if wait > 0:
            await _too_many(send, wait)
            return
        self.throttle.failed(address)
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watch)
        if 200 <= status < 300:
            self.throttle.succeeded(address)


async def _too_many(send: Send, wait: float) -> None:
    seconds = max(1, round(wait))
    body = json.dumps({"detail": f"too many failed logins; try again in {seconds} s"}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(seconds).encode()),
    ]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
