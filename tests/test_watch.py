"""`articleqa watch`: files are indexed as they appear, change or vanish."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ingest.watch import relevant, watch_folders
from qa.app import App

SUFFIXES = (".txt", ".html")


def wait_for(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_relevant_paths(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "notes.xyz").write_text("x")
    (tmp_path / ".a.txt.swp").write_text("x")
    data = tmp_path / "data"
    changes = [
        (1, str(tmp_path / "a.txt")),
        (1, str(tmp_path / "notes.xyz")),  # unsupported: not re-read
        (1, str(tmp_path / ".a.txt.swp")),  # an editor's temp file
        (2, str(tmp_path / "gone.txt")),  # vanished: its articles must go
        (1, str(data / "chroma" / "x.bin")),  # our own index inside the watched folder
    ]
    got = relevant(changes, [str(tmp_path)], suffixes=SUFFIXES, ignore=[str(data)])
    assert got == [str(tmp_path / "a.txt"), str(tmp_path / "gone.txt")]


def test_watch_indexes_new_changed_and_deleted_files(app: App, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "first.txt").write_text("Harbour news\n\nThe council approved the pier budget.")
    reports: list[tuple[Any, list[str] | None]] = []
    stop = threading.Event()

    def index(paths: list[str] | None) -> Any:
        return app.index([str(docs)], only=paths, by_name=paths is None)

    thread = threading.Thread(
        target=watch_folders,
        args=([str(docs)],),
        kwargs={
            "index": index,
            "on_report": lambda r, p: reports.append((r, p)),
            "stop": stop,
            "debounce_ms": 300,
        },
        daemon=True,
    )
    thread.start()
    try:
        wait_for(lambda: len(reports) >= 1)  # the initial scan
        assert reports[0][1] is None and reports[0][0].added == 1

        (docs / "second.txt").write_text("Rail strike\n\nTrains stopped across the region today.")
        wait_for(lambda: any(r.added for r, _ in reports[1:]))
        assert reports[-1][1] == [str(docs / "second.txt")] and app.store.count()[0] == 2

        (docs / "second.txt").write_text("Rail strike ends\n\nTrains run again after a deal.")
        wait_for(lambda: any(r.updated for r, _ in reports[2:]))
        texts = {a["title"] for a in app.store.list_articles()}
        assert texts == {"Harbour news", "Rail strike ends"}

        (docs / "first.txt").unlink()
        wait_for(lambda: any(r.removed for r, _ in reports))
        assert app.store.count()[0] == 1
        assert {a["title"] for a in app.store.list_articles()} == {"Rail strike ends"}
        # Searches see the watcher's writes (the lexical index follows the store).
        hits = app.retriever.search("trains deal", k=2)
        assert hits and hits[0].title == "Rail strike ends"
    finally:
        stop.set()
        thread.join(timeout=30)
    assert not thread.is_alive()
