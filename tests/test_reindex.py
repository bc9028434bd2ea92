"""`articleqa index/reindex/remove/stats` as a user runs them: incremental, bad input, feeds."""

from __future__ import annotations

import http.server
import json
import os
import random
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from qa import backends
from qa.cli import cli
from qa.errors import NotFoundError

KEYS = {"added", "updated", "unchanged", "removed", "failed", "embedded_chunks", "chunks"}
VOCAB = [f"{a}{b}" for a in ("ka", "lo", "mi", "ne", "su", "ta", "vo", "ri") for b in range(60)]


def story(seed: int, sentences: int = 6) -> str:
    """Distinct, unrelated text per seed (no accidental near-duplicates)."""
    rng = random.Random(seed)
    return " ".join(
        " ".join(rng.choice(VOCAB) for _ in range(12)).capitalize() + "." for _ in range(sentences)
    )


@pytest.fixture
def aq(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, embeddings) -> Any:
    """Run the CLI against a throwaway index, reusing the session's embedding model."""
    monkeypatch.setenv("ARTICLEQA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ARTICLEQA_LLM", "extractive")
    monkeypatch.setattr(backends, "make_embeddings", lambda settings: embeddings)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Any:
        result = runner.invoke(cli, list(args), catch_exceptions=code != 0)
        assert result.exit_code == code, result.output + result.stderr
        if "--json" in args:
            return json.loads(result.stdout)
        return result

    return invoke


def write(folder: Path, name: str, seed: int) -> Path:
    path = folder / name
    path.write_text(f"Title {seed}\n\n{story(seed)}\n", encoding="utf-8")
    return path


def test_index_then_reindex_adds_updates_removes(aq, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        write(docs, f"a{i}.txt", i)
    first = aq("index", str(docs), "--json")
    assert set(first) >= KEYS and first["added"] == 3 and first["failed"] == []
    assert first["embedded_chunks"] == first["chunks"] > 0
    same = aq("reindex", "--json")
    assert (same["unchanged"], same["embedded_chunks"], same["chunks"]) == (3, 0, first["chunks"])

    write(docs, "a0.txt", 100)  # changed
    (docs / "a1.txt").unlink()  # gone
    write(docs, "new.txt", 200)  # new
    plan = aq("reindex", "--dry-run", "--json")
    assert (plan["added"], plan["updated"], plan["removed"], plan["unchanged"]) == (1, 1, 1, 1)
    assert plan["embedded_chunks"] > 0 and plan["chunks"] == first["chunks"]  # nothing written
    assert aq("stats", "--json")["articles"] == 3
    done = aq("reindex", "--json")
    assert {k: done[k] for k in ("added", "updated", "removed", "unchanged")} == {
        "added": 1,
        "updated": 1,
        "removed": 1,
        "unchanged": 1,
    }
    listed = aq("list", "--json")["articles"]
    assert sorted(Path(a["path"]).name for a in listed) == ["a0.txt", "a2.txt", "new.txt"]
    assert sum(a["chunks"] for a in listed) == done["chunks"]
    text = aq("reindex").output
    assert "added 0, updated 0, unchanged 3, removed 0, failed 0" in text


def test_remove_by_path_url_and_id_and_stats(aq, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    keep, gone = write(docs, "keep.txt", 1), write(docs, "gone.txt", 2)
    records = [
        {"title": "Web one", "url": "https://news.example/one", "text": story(3)},
        {"title": "Web two", "url": "https://news.example/two", "text": story(4)},
        {"title": "Web three", "url": "https://news.example/three", "text": story(5)},
    ]
    (docs / "feed.json").write_text(json.dumps(records), encoding="utf-8")
    aq("index", str(docs), "--json")
    stats = aq("stats", "--json")
    assert (stats["articles"], stats["sources"]) == (5, 1) and stats["chunks"] > 0

    by_id = next(a["id"] for a in aq("list", "--json")["articles"] if a["title"] == "Web two")
    assert aq("remove", str(gone), "--json") == {"removed": 1}
    assert aq("remove", "https://news.example/one?utm_source=x", "--json") == {"removed": 1}
    assert aq("remove", by_id, "--json") == {"removed": 1}
    titles = {a["title"] for a in aq("list", "--json")["articles"]}
    assert titles == {"Title 1", "Web three"}
    # A re-scan of the folder does not bring removed items back...
    again = aq("reindex", "--json")
    assert (again["added"], again["unchanged"]) == (0, 2)
    # ...indexing one by name does.
    assert aq("index", str(gone), "--json")["added"] == 1
    chunks = sum(a["chunks"] for a in aq("list", "--json")["articles"])
    assert aq("stats", "--json")["chunks"] == chunks
    # Removing the folder forgets it, and the file inside it that was indexed on its own.
    assert aq("remove", str(docs), "--json")["removed"] == 3
    assert aq("stats", "--json")["sources"] == 0
    assert aq("reindex", "--json")["chunks"] == 0
    assert keep.exists()  # remove never touches the user's files
    result = aq("remove", "no-such-thing", code=1)
    assert isinstance(result.exception, NotFoundError)  # main() prints it as one line


def test_bad_input_is_reported_and_never_loses_data(aq, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(2):
        write(docs, f"good{i}.txt", i)
    turns_bad = write(docs, "turns-bad.txt", 7)
    before = aq("index", str(docs), "--json")
    assert before["added"] == 3

    turns_bad.write_bytes(b"\x00\x01\x02\xff" * 500)  # was indexed, now binary
    (docs / "empty.txt").write_bytes(b"")
    (docs / "latin1.txt").write_bytes(("Caf\xe9 " + story(8)).encode("latin-1"))
    with open(docs / "huge.txt", "wb") as f:  # 100 MB, sparse: no disk, no time
        f.truncate(100 * 1024 * 1024)
    (docs / "page.html").write_text("<html><body><div></div></body></html>")
    (docs / "broken.json").write_text('{"title": "x", "text": ')
    (docs / "broken.csv").write_text("title,headline\nno,text column\n")
    (docs / "broken.rss").write_text("<rss><channel><title>Broken\n<item><title>x")
    (docs / "entry.rss").write_text("<rss><channel><item><title>x</title></item></channel>")
    (docs / "loop-a.txt").symlink_to(docs / "loop-b.txt")
    (docs / "loop-b.txt").symlink_to(docs / "loop-a.txt")
    (docs / "sub").mkdir()
    (docs / "sub" / "back").symlink_to(docs)  # a folder loop
    write(docs / "sub", "deep.txt", 9)

    report = aq("reindex", "--json")
    failed = {Path(f["path"]).name: f["error"] for f in report["failed"]}
    assert failed["turns-bad.txt"] == "binary file"
    assert failed["empty.txt"] == "empty file"
    assert "over the 50 MB limit" in failed["huge.txt"]
    assert "no article text" in failed["page.html"]
    assert "invalid JSON" in failed["broken.json"]
    assert "no text column" in failed["broken.csv"]
    assert "not a valid feed" in failed["broken.rss"]
    assert failed["entry.rss:1"] == "no text"  # a bad record is reported as file:number
    assert {"loop-a.txt", "loop-b.txt"} <= set(failed)
    assert all(failed.values())
    # Good and decodable files are in; the one that went bad keeps its last good version.
    assert (report["added"], report["removed"]) == (2, 0)  # latin1.txt, sub/deep.txt
    titles = {a["title"] for a in aq("list", "--json")["articles"]}
    assert {"Title 0", "Title 1", "Title 7", "Title 9"} <= titles
    text = aq("reindex").output
    assert f"failed {len(report['failed'])}" in text and "turns-bad.txt: binary file" in text

    # Reported again on every run, until fixed or removed.
    assert len(aq("reindex", "--json")["failed"]) == len(report["failed"])
    write(docs, "turns-bad.txt", 70)
    (docs / "empty.txt").unlink()
    fixed = aq("reindex", "--json")
    names = {Path(f["path"]).name for f in fixed["failed"]}
    assert "turns-bad.txt" not in names and "empty.txt" not in names
    assert fixed["updated"] == 1 and len(fixed["failed"]) == len(report["failed"]) - 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_unreadable_file_is_reported(aq, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    secret = write(docs, "secret.txt", 1)
    secret.chmod(0)
    try:
        report = aq("index", str(docs), "--json", code=1)
        assert report["failed"] == [{"path": str(secret), "error": "permission denied"}]
    finally:
        secret.chmod(0o644)


def test_a_source_that_fails_is_retried_on_every_run(aq, tmp_path: Path) -> None:
    bad = tmp_path / "one.txt"
    bad.write_bytes(b"\x00\xff" * 100)
    first = aq("index", str(bad), "--json", code=1)  # nothing could be read: exit 1
    assert first["failed"] == [{"path": str(bad), "error": "binary file"}]
    assert aq("stats", "--json")["failed_sources"] == {str(bad): "binary file"}
    assert aq("reindex", "--json", code=1)["failed"] == first["failed"]
    write(tmp_path, "one.txt", 5)
    fixed = aq("reindex", "--json")
    assert (fixed["added"], fixed["failed"]) == (1, [])
    assert aq("stats", "--json")["failed_sources"] == {}


RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>
<link>https://wire.example/</link>{items}</channel></rss>"""
ITEM = """<item><title>Story {n}</title><link>https://wire.example/{n}</link>
<description>{text}</description></item>"""


def feed(numbers: list[int]) -> str:
    return RSS.format(items="".join(ITEM.format(n=n, text=story(n)) for n in numbers))


def test_feed_file_reindex_adds_only_new_entries(aq, tmp_path: Path) -> None:
    path = tmp_path / "wire.rss"
    path.write_text(feed([2, 1]), encoding="utf-8")
    assert aq("index", str(path), "--json")["added"] == 2
    path.write_text(feed([3, 2, 1]), encoding="utf-8")  # newest first, as feeds do
    report = aq("reindex", "--json")
    assert (report["added"], report["updated"], report["unchanged"]) == (1, 0, 2)
    new_chunks = next(a for a in aq("list", "--json")["articles"] if a["title"] == "Story 3")
    assert report["embedded_chunks"] == new_chunks["chunks"]
    path.write_text(feed([4, 3]), encoding="utf-8")  # 1 and 2 scrolled off: still kept
    report = aq("reindex", "--json")
    assert (report["added"], report["removed"], report["unchanged"]) == (1, 0, 1)
    path.unlink()  # the feed file itself is gone: so are its entries
    assert aq("reindex", "--json")["removed"] == 4


@pytest.fixture
def feed_server() -> Iterator[tuple[str, dict[str, str]]]:
    """A local HTTP server whose /feed.xml body the test can change."""
    state = {"body": ""}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            body = state["body"].encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/feed.xml", state
    finally:
        server.shutdown()
        server.server_close()


def test_feed_url_reindex_adds_only_new_entries(aq, feed_server, monkeypatch) -> None:
    monkeypatch.setenv("ARTICLEQA_ALLOW_PRIVATE_URLS", "true")  # the server is on loopback
    url, state = feed_server
    state["body"] = feed([2, 1])
    assert aq("index", url, "--json")["added"] == 2
    state["body"] = feed([3, 2, 1])
    report = aq("reindex", "--json")
    assert (report["added"], report["updated"], report["unchanged"]) == (1, 0, 2)
    state["body"] = feed([4, 3])  # older entries scroll off the feed: the index keeps them
    report = aq("reindex", "--json")
    assert (report["added"], report["removed"], report["unchanged"]) == (1, 0, 1)
    titles = {a["title"] for a in aq("list", "--json")["articles"]}
    assert titles == {"Story 1", "Story 2", "Story 3", "Story 4"}
    assert aq("remove", url, "--json") == {"removed": 4}


def test_progress_counts_articles_against_a_total(app, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(4):
        write(docs, f"p{i}.txt", i)
    (docs / "more.jsonl").write_text(
        "\n".join(json.dumps({"title": f"J{i}", "text": story(50 + i)}) for i in range(3))
    )
    seen: list[Any] = []
    report = app.index([str(docs)], progress=seen.append)
    last = seen[-1]
    assert (last.articles, last.total, last.failed) == (7, 7, 0)
    assert last.chunks == report.embedded_chunks
    assert [p.articles for p in seen] == sorted(p.articles for p in seen)
    seen.clear()
    app.reindex(progress=seen.append)
    assert (seen[-1].articles, seen[-1].total, seen[-1].chunks) == (7, 7, 0)


def test_wire_copies_are_one_story_in_search(app, tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    base = (
        "The harbour council approved the pier budget on Monday after a long debate. "
        "Members voted eleven to four to fund two new cranes and the repair of the pier. "
        "The mayor said the port had lost cargo to rival towns for a decade. "
        "Opponents warned that the plan relied on a loan the city might struggle to repay."
    )
    for i, (pre, post) in enumerate(
        [
            ("", ""),
            ("(Reuters) - ", " Reporting by A."),
            ("HARBOUR (AP) - ", " Edited by B."),
            ("", " This story was updated."),
            ("Update: ", ""),
        ]
    ):
        (docs / f"copy{i}.txt").write_text(f"Pier budget {i}\n\n{pre}{base}{post}")
    for i in range(3):
        write(docs, f"other{i}.txt", 300 + i)
    report = app.index([str(docs)])
    assert report.near_duplicates == 4
    hits = app.retriever.search("pier budget cranes loan", k=5)
    story = [h for h in hits if h.meta.get("title", "").startswith("Pier budget")]
    assert 1 <= len(story) <= 2  # one story (at most two passages), not five copies


EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "articles"
DATA = Path(__file__).resolve().parent / "data"


def test_an_article_removed_alone_stays_out_until_its_file_is_indexed_again(
    aq, tmp_path: Path
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    names = ("science-feed.xml", "harbor-news.json", "news.csv")
    for src in (EXAMPLES / names[0], EXAMPLES / names[1], DATA / names[2]):
        shutil.copy(src, docs)
    aq("index", str(docs), "--json")

    def ids() -> set[str]:
        return {a["id"] for a in aq("list", "--json")["articles"]}

    listed = aq("list", "--json")["articles"]
    gone = {n: next(a["id"] for a in listed if a["path"].endswith(n)) for n in names}
    for aid in gone.values():  # one entry of a feed, of a JSON list, one CSV row
        assert aq("remove", aid, "--json") == {"removed": 1}
    # Re-scans (and the folder indexed again) leave them out: the user removed them...
    assert aq("reindex", "--json")["added"] == 0
    assert aq("index", str(docs), "--json")["added"] == 0
    assert not ids() & set(gone.values())
    # ...until the file that holds one is indexed again by name: that one comes back, to stay.
    for n, aid in gone.items():
        assert aq("index", str(docs / n), "--json")["added"] == 1
        assert aq("reindex", "--json")["added"] == 0
        assert aid in ids()
    assert ids() >= set(gone.values())


def test_a_feed_url_entry_removed_alone_comes_back_with_the_feed(
    aq, feed_server, monkeypatch
) -> None:
    monkeypatch.setenv("ARTICLEQA_ALLOW_PRIVATE_URLS", "true")  # the server is on loopback
    url, state = feed_server
    state["body"] = feed([3, 2, 1])
    assert aq("index", url, "--json")["added"] == 3
    story2 = next(a["id"] for a in aq("list", "--json")["articles"] if a["title"] == "Story 2")
    assert aq("remove", story2, "--json") == {"removed": 1}
    assert aq("reindex", "--json")["added"] == 0
    assert aq("index", url, "--json")["added"] == 1
    titles = {a["title"] for a in aq("list", "--json")["articles"]}
    assert titles == {"Story 1", "Story 2", "Story 3"}


def test_show_gives_the_records_own_id(aq) -> None:
    aq("index", str(DATA / "news.csv"), "--json")
    listed = aq("list", "--json")["articles"]
    farmers = next(a["id"] for a in listed if a["title"] == "Farmers Protest Fuel Tax")
    shown = aq("show", farmers, "--json")
    assert (shown["id"], shown["source_id"]) == (farmers, "2")  # ours, and the CSV's article_id
    assert "source_id: 2\n" in aq("show", farmers).output
