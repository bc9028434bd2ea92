"""The served app's API through gradio_client: real embeddings, real on-disk Chroma, the app
running in this process on a free port. Includes indexing while another client chats."""

from __future__ import annotations

import json
import os
import queue
import random
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.app import App
from tests.conftest import ROOT, make_settings
from tests.ui_support import SEED_QUESTION, free_port, served

gradio_client = pytest.importorskip("gradio_client")
BULK = 120  # articles in the long upload: seconds of embedding, time for several questions


@pytest.fixture(scope="module")
def api_app(tmp_path_factory: pytest.TempPathFactory, embeddings) -> App:
    """The bundled sample articles (seed among them), indexed once for this module."""
    app = App(make_settings(tmp_path_factory.mktemp("ui-api")))
    app.__dict__["embeddings"] = embeddings
    report = app.index([str(ROOT / "examples" / "articles")])
    assert report.added >= 5 and not report.failed
    return app


@pytest.fixture(scope="module")
def url(api_app: App) -> Iterator[str]:
    with served(api_app) as u:
        yield u


@pytest.fixture
def client(url: str):
    return gradio_client.Client(url, verbose=False)


def test_ask_returns_the_answer_json(client) -> None:
    ans = client.predict(SEED_QUESTION, api_name="/ask")
    assert ans["answerable"] is True and "Huawei" in ans["answer"]
    assert ans["kind"] == "factoid"
    first = ans["citations"][0]
    assert first["file_path"].endswith("seed-article.txt")
    assert "South Korea" in first["snippet"] and first["end"] > first["start"]


def test_ask_follow_up_and_filters(client) -> None:
    history = [{"role": "user", "content": SEED_QUESTION}, {"role": "assistant", "content": "x"}]
    ans = client.predict("and what did ARM do?", history, api_name="/ask")
    assert ans["standalone_question"] != "and what did ARM do?"
    # A source filter that matches nothing leaves nothing to answer from.
    none = client.predict(SEED_QUESTION, None, ["no-such-source.org"], api_name="/ask")
    assert none["answerable"] is False and none["citations"] == []


def test_check_against_the_index_and_given_passages(client) -> None:
    claim = "The U.S. wants South Korea to abandon Huawei products."
    got = client.predict(claim, api_name="/check")
    assert got["supported"] is True
    [ev] = got["sentences"][0]["evidence"]
    assert "Huawei" in ev["snippet"] and ev["article_id"] and ev["passage"] is None
    passages = ["Brent crude settled at $54.71 a barrel on Tuesday."]
    wrong = client.predict("Brent settled at $55.50.", "", passages, api_name="/check")
    assert wrong["supported"] is False
    assert wrong["sentences"][0]["reason"] == "number $55.50 not in evidence"


def test_search_and_articles(client) -> None:
    hits = client.predict("Huawei South Korea", 2, api_name="/search")
    assert len(hits) == 2 and hits[0]["title"].endswith("Abandon Huawei Products")
    listed = client.predict(api_name="/articles")
    assert {"id", "title", "source", "published", "chunks", "file_path"} <= listed[0].keys()


def test_upload_answer_and_remove(client, api_app: App, tmp_path: Path) -> None:
    note = tmp_path / "tide-mill.txt"
    note.write_text(
        "Tide mill reopens\n\nThe restored tide mill at Saltmarsh Quay ground its first flour "
        "in ninety years on Saturday, powered only by the falling tide.\n"
    )
    report = client.predict([gradio_client.handle_file(str(note))], api_name="/index_files")
    assert report["added"] == 1 and report["failed"] == []
    ans = client.predict("What did the tide mill at Saltmarsh Quay grind?", api_name="/ask")
    assert ans["answerable"] and ans["citations"][0]["title"] == "Tide mill reopens"
    kept = Path(ans["citations"][0]["file_path"])
    assert kept.parent == api_app.settings.data_dir / "uploads" and kept.exists()
    assert client.predict(ans["citations"][0]["article_id"], api_name="/remove") == {"removed": 1}
    assert not kept.exists()  # the uploaded copy goes with its article
    assert "Tide mill reopens" not in [a["title"] for a in client.predict(api_name="/articles")]


def test_index_urls_takes_urls_only(client) -> None:
    with pytest.raises(Exception, match="not an http"):
        client.predict(["/etc/passwd"], api_name="/index_urls")


def test_a_rejected_upload_is_reported_and_deleted(client, api_app: App, tmp_path: Path) -> None:
    empty = tmp_path / "empty-note.txt"
    empty.write_text("")
    report = client.predict([gradio_client.handle_file(str(empty))], api_name="/index_files")
    assert report["added"] == 0
    [failure] = report["failed"]  # a path key here made gradio_client fail with HTTP 403
    assert failure["file_path"].endswith("empty-note.txt") and failure["error"] == "empty file"
    assert not (api_app.settings.data_dir / "uploads" / "empty-note.txt").exists()
    assert not [s for s in api_app.manifest().failed_sources() if "empty-note" in str(s)]
    again = client.predict(api_name="/reindex")
    assert not [f for f in again["failed"] if "empty-note" in f["file_path"]]


def test_index_urls_reports_a_refused_url(client) -> None:
    url = "http://127.0.0.1:9/feed.xml"
    report = client.predict([url], api_name="/index_urls")
    assert report["added"] == 0
    assert report["failed"] == [
        {
            "file_path": url,
            "error": "127.0.0.1 is a loopback address; "
            "set ARTICLEQA_ALLOW_PRIVATE_URLS=true to allow private addresses",
        }
    ]
    assert client.predict(url, api_name="/remove") == {"removed": 0}


def test_login_is_required_when_auth_is_set(api_app: App) -> None:
    with served(api_app, auth="reader:s3cret") as u:
        with pytest.raises(Exception):  # noqa: B017 - the client raises a plain ValueError
            gradio_client.Client(u, verbose=False)
        ok = gradio_client.Client(u, auth=("reader", "s3cret"), verbose=False)
        assert ok.predict(SEED_QUESTION, api_name="/ask")["answerable"] is True


def _big_feed(path: Path, n: int) -> Path:
    rng = random.Random(5)
    words = ["river", "council", "budget", "harbor", "school", "rail", "energy", "museum"]
    with path.open("w") as f:
        for i in range(n):
            text = " ".join(rng.choice(words) for _ in range(150))
            f.write(json.dumps({"title": f"Bulk story {i}", "text": f"Story {i}. {text}."}) + "\n")
    return path


@pytest.mark.slow  # ~10 s on an idle 2-core machine, much more on a busy one
def test_indexing_while_chatting_keeps_answering(url: str, tmp_path: Path) -> None:
    """A long upload runs in the library queue; questions from another session keep being
    answered (correctly) while it runs, and the upload ends with its full summary."""
    feed = _big_feed(tmp_path / "bulk.jsonl", BULK)
    indexer = gradio_client.Client(url, verbose=False)
    job = indexer.submit([gradio_client.handle_file(str(feed))], api_name="/index_files")
    chatter = gradio_client.Client(url, verbose=False)
    answered_during: list[float] = []
    errors: list[BaseException] = []
    finished = threading.Event()

    def chat() -> None:
        while not finished.is_set():
            try:
                ans = chatter.predict(SEED_QUESTION, api_name="/ask")
                assert ans["answerable"] and "Huawei" in ans["answer"]
                if not job.done():
                    answered_during.append(time.monotonic())
            except BaseException as e:  # surfaced below
                errors.append(e)
                return

    t = threading.Thread(target=chat)
    t.start()
    try:
        report = job.result(timeout=300)
    finally:
        finished.set()
        t.join(timeout=60)
    assert not errors, errors
    assert report["added"] == BULK and report["failed"] == []
    assert len(answered_during) >= 2, "no question was answered while indexing ran"


def test_serve_prints_no_share_hint_and_its_url_last(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "ARTICLEQA_DATA_DIR": str(tmp_path / "data"),
        "ARTICLEQA_LLM": "extractive",
    }
    cmd = [sys.executable, "-m", "qa", "serve", "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout or []], daemon=True).start()
    seen: list[str] = []
    try:
        while not seen or "running at" not in seen[-1]:
            seen.append(lines.get(timeout=120).rstrip("\n"))
        url = f"http://127.0.0.1:{port}/"
        assert url in seen[-1]
        assert urllib.request.urlopen(url, timeout=30).status == 200
        time.sleep(3)  # anything printed after the URL would show now
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    while not lines.empty():
        seen.append(lines.get().rstrip("\n"))
    assert "share" not in "\n".join(seen) + err
    assert [s for s in seen if s.strip()][-1] == f"articleqa is running at {url} (Ctrl-C to stop)"
