"""One writer at a time: a second run waits and says so; a killed holder's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ingest.lock import holder, writer_lock

ROOT = Path(__file__).resolve().parent.parent
HOLD = """
import sys, time
from pathlib import Path
from ingest.lock import writer_lock
with writer_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold(folder: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_writer_waits_and_says_so(tmp_path: Path) -> None:
    proc = hold(tmp_path, 2.0)
    said: list[str] = []
    start = time.monotonic()
    with writer_lock(tmp_path, said.append):
        waited = time.monotonic() - start
        assert holder(tmp_path)["pid"] == os.getpid()
    proc.wait(timeout=10)
    assert waited > 0.5
    assert len(said) == 1 and "waiting" in said[0] and f"pid {proc.pid}" in said[0]
    assert holder(tmp_path) == {}  # released cleanly: nothing to take over next time


def test_a_killed_holders_lock_is_taken_over(tmp_path: Path) -> None:
    proc = hold(tmp_path, 60.0)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)
    said: list[str] = []
    start = time.monotonic()
    with writer_lock(tmp_path, said.append):
        assert time.monotonic() - start < 2
    assert said == [f"took over the lock left by process {proc.pid}, which was killed"]


def test_the_cli_says_that_it_waits(app, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Harbour news.\n\nThe council approved the pier budget today.")
    proc = hold(app._local_dir, 2.0)
    said: list[str] = []
    report = app.index([str(docs)], on_wait=said.append)
    proc.wait(timeout=10)
    assert report.added == 1 and any("waiting for it to finish" in m for m in said)
