"""Failed logins are throttled per address: the policy with a stepped clock, then through real
HTTP against `serve --auth` (the connection's own source address, 127.0.0.1 vs 127.0.0.2)."""

from __future__ import annotations

import time

import httpx
import pytest

from qa.app import App
from qa.login_throttle import LoginThrottle
from tests.conftest import make_settings
from tests.ui_support import served


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_the_address_with_doubling_waits() -> None:
    clock = _Clock()
    t = LoginThrottle(attempts=5, window=60, wait=30, max_wait=100, clock=clock)
    for _ in range(4):
        t.failed("a")
    assert t.wait_left("a") == 0
    t.failed("a")
    assert t.wait_left("a") == 30 and t.wait_left("b") == 0  # other addresses unaffected
    clock.now += 30
    assert t.wait_left("a") == 0
    for _ in range(5):
        t.failed("a")
    assert t.wait_left("a") == 60
    clock.now += 60
    for _ in range(5):
        t.failed("a")
    assert t.wait_left("a") == 100  # capped
    t.succeeded("a")
    assert t.wait_left("a") == 0


def test_failures_spread_beyond_the_window_do_not_lock() -> None:
    clock = _Clock()
    t = LoginThrottle(attempts=3, window=10, wait=5, clock=clock)
    for _ in range(6):
        t.failed("a")
        clock.now += 6  # at most two failures inside any 10 s
    assert t.wait_left("a") == 0


def _login(client: httpx.Client, base: str, password: str) -> httpx.Response:
    return client.post(f"{base}login", data={"username": "reader", "password": password})


@pytest.fixture
def auth_app(tmp_path, embeddings) -> App:
    app = App(make_settings(tmp_path))
    app.__dict__["embeddings"] = embeddings
    return app


def test_repeated_wrong_passwords_get_429_then_recover(auth_app: App) -> None:
    throttle = LoginThrottle(attempts=5, window=60, wait=2.0, max_wait=4.0)
    with (
        served(auth_app, auth="reader:s3cret", throttle=throttle) as base,
        httpx.Client(timeout=10) as attacker,
        httpx.Client(timeout=10, transport=httpx.HTTPTransport(local_address="127.0.0.2")) as other,
    ):
        assert [_login(attacker, base, f"guess{i}").status_code for i in range(5)] == [400] * 5
        locked = _login(attacker, base, "s3cret")  # even the right password waits
        assert locked.status_code == 429 and int(locked.headers["retry-after"]) >= 1
        assert "too many failed logins" in locked.json()["detail"]
        # Another address logs in at once; the rest of the app still answers the locked one.
        assert _login(other, base, "s3cret").status_code == 200
        assert attacker.get(f"{base}config").status_code in (200, 401)
        time.sleep(2.2)
        ok = _login(attacker, base, "s3cret")
        assert ok.status_code == 200 and ok.json() == {"success": True}
        # The success cleared the record: four more failures do not lock.
        assert [_login(attacker, base, "x").status_code for _ in range(4)] == [400] * 4
        assert _login(attacker, base, "s3cret").status_code == 200


def test_serve_builds_the_throttle_from_the_settings(tmp_path, embeddings) -> None:
    app = App(make_settings(tmp_path, login_attempts=2, login_wait=60.0))
    app.__dict__["embeddings"] = embeddings
    with served(app, auth="reader:s3cret") as base, httpx.Client(timeout=10) as client:
        assert [_login(client, base, "x").status_code for _ in range(3)] == [400, 400, 429]
        assert int(_login(client, base, "s3cret").headers["retry-after"]) > 50
