"""SIGKILL a real `python -m qa index` mid-run: the next run finishes the work, with exactly the
right chunks, no orphans, no duplicates, and what was indexed before intact."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.chunking import chunk
from ingest.loaders import load
from qa.app import App
from qa.types import Article
from tests.conftest import make_settings

ROOT = Path(__file__).resolve().parent.parent
VOCAB = [f"{a}{b}" for a in ("ba", "de", "fi", "go", "hu", "ja", "ke", "lu") for b in range(80)]
N = 160
# Short chunks: many per article (kills land between batches and mid-batch) at a low embedding
# cost; both runs read these from the environment, like any user setting.
CHUNKING = {"ARTICLEQA_CHUNK_TOKENS": "32", "ARTICLEQA_CHUNK_OVERLAP_TOKENS": "8"}


def write_article(folder: Path, n: int, version: int = 0) -> None:
    rng = random.Random(n * 1000 + version)
    sentences = [
        " ".join(rng.choice(VOCAB) for _ in range(12)).capitalize() + "." for _ in range(10)
    ]
    (folder / f"a{n:03d}.txt").write_text(f"Article {n} v{version}\n\n" + " ".join(sentences))


def expected_chunks(app: App, folder: Path) -> dict[str, int]:
    """Chunks per article id, computed from the files without the store or the model."""
    out = {}
    for a in load(str(folder)):
        assert isinstance(a, Article)
        out[a.id] = len(
            chunk(
                a.id,
                a.text,
                count_tokens=app.embeddings.count_tokens,
                max_tokens=app.settings.chunk_tokens,
                overlap_tokens=app.settings.chunk_overlap_tokens,
            )
        )
    return out


def start_index(app: App, folder: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "ARTICLEQA_DATA_DIR": str(app.settings.data_dir),
        "ARTICLEQA_LLM": "extractive",
        **CHUNKING,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "qa", "index", str(folder), "--json"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], during: Callable[[], None]):
    """SIGKILL the run as soon as `ready()` holds; call `during()` once while it runs."""
    checked = False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the index run finished before it could be killed"
        if ready():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return checked
        if not checked:
            during()
            checked = True
        time.sleep(0.05)
    proc.kill()
    pytest.fail("the index run never got far enough to be killed")


def check_consistent(app: App, expected: dict[str, int]) -> None:
    """Exactly the expected chunks; every chunk vouched for by its article's record."""
    store = app.store
    records = {i: m for i, m in store.dedup_rows()}
    per_article = Counter(m["article_id"] for _, _, m in store.iter_chunks())
    assert set(records) == set(expected)
    assert dict(per_article) == expected
    assert {i: int(m["chunks"]) for i, m in records.items()} == expected
    assert store.count() == (len(expected), sum(expected.values()))
    assert not (app._local_dir / "index.dirty").exists()


def _docs(app: App) -> tuple[list[str], list[str]]:
    rows = list(app.store.iter_chunks())
    return [i for i, _, _ in rows], [text for _, text, _ in rows]


@pytest.fixture
def app(tmp_path: Path, embeddings, monkeypatch: pytest.MonkeyPatch) -> App:
    for k, v in CHUNKING.items():
        monkeypatch.setenv(k, v)
    a = App(make_settings(tmp_path))
    a.__dict__["embeddings"] = embeddings
    return a


@pytest.mark.slow
def test_sigkill_mid_index_then_rerun(app: App, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for n in range(N):
        write_article(docs, n)
    expected = expected_chunks(app, docs)
    assert sum(expected.values()) > 1000  # several write batches of 256 chunks

    # 1. Killed as soon as the first chunks are stored (mid-batch: chunks before records).
    app.embeddings.warm()  # so that the readers below are quick
    proc = start_index(app, docs)

    def readers_work() -> None:  # stats, list and search during an index run
        app.store.count()
        app.store.list_articles()
        app.retriever.search("harbour budget", k=3)

    assert kill_when(proc, lambda: app.store.count()[1] > 0, readers_work)
    assert (app._local_dir / "index.dirty").exists()
    half = app.store.count()
    assert 0 < half[1] < sum(expected.values())

    # 2. The next run (the CLI's code path, in-process) finishes the work exactly.
    said: list[str] = []
    report = app.index([str(docs)], on_wait=said.append)
    assert any("interrupted" in s for s in said)
    assert report.added + report.updated == N - report.unchanged
    check_consistent(app, expected)
    assert app.index([str(docs)]).embedded_chunks == 0

    # 3. Killed in the middle of an update run: what was indexed before stays intact.
    before = {i: m["hash"] for i, m in app.store.dedup_rows()}
    for n in range(0, N, 2):
        write_article(docs, n, version=1)
    for n in range(N, N + 20):
        write_article(docs, n, version=1)
    new_expected = expected_chunks(app, docs)
    old_text = {i: d for i, d in zip(*_docs(app), strict=True)}
    proc = start_index(app, docs)

    def some_rewritten() -> bool:  # chunks overwritten in place; records may still be old
        return any(old_text.get(i) != d for i, d in zip(*_docs(app), strict=True))

    kill_when(proc, some_rewritten, lambda: None)
    stored = {i: m for i, m in app.store.dedup_rows()}
    counts = Counter(m["article_id"] for _, _, m in app.store.iter_chunks())
    for aid in before:  # every earlier article still has its record and chunks
        assert aid in stored and counts[aid] > 0

    # 4. The re-run after that ends exactly right too.
    report = app.index([str(docs)])
    assert report.added == 20 and report.removed == 0
    check_consistent(app, new_expected)
    assert app.retriever.search(" ".join(VOCAB[:3]), k=3)
