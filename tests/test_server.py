"""Client/server: the same index, re-index, search and ask against a real `chroma run` server,
and several app processes sharing it with their lexical (BM25) indexes kept in step."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from qa.answer import Answer
from qa.app import App

from .conftest import ROOT, make_settings

pytestmark = pytest.mark.server

HARBOUR = (
    "Harbour council approves Zorvexa ferry\n\n"
    "The Riverton harbour council voted 7 to 2 on Monday to fund the Zorvexa electric ferry. "
    "The ferry will carry 300 passengers between the old pier and the island from next spring. "
    "Councillor Mara Lind said the vote ended a debate that had lasted four years.\n"
)
BRIDGE = (
    "Quillmarsh bridge closes for repairs\n\n"
    "The Quillmarsh bridge will close for six weeks from March 3 while engineers replace its "
    "steel cables. Drivers are asked to use the ring road, the transport office said.\n"
)


def server_app(tmp_path: Path, url: str, collection: str, embeddings, name: str = "a") -> App:
    """An App (own local folder: manifest, BM25 copy, lock) on the shared server collection."""
    app = App(make_settings(tmp_path / name, chroma_url=url, collection=collection))
    app.__dict__["embeddings"] = embeddings  # the session's loaded model
    return app


def cli(data_dir: Path, url: str, collection: str, *args: str) -> dict:
    """`articleqa ... --json` in its own process, as a second user of the server would run it."""
    env = {
        **os.environ,
        "ARTICLEQA_DATA_DIR": str(data_dir),
        "ARTICLEQA_CHROMA_URL": url,
        "ARTICLEQA_COLLECTION": collection,
        "ARTICLEQA_LLM": "extractive",
    }
    got = subprocess.run(
        [sys.executable, "-m", "qa", *args, "--json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert got.returncode == 0, got.stderr
    return json.loads(got.stdout)


def final(stream) -> Answer:
    """The Answer at the end of an ask stream."""
    items = list(stream)
    assert isinstance(items[-1], Answer)
    return items[-1]


def test_index_search_ask_reindex_remove_against_the_server(tmp_path, chroma_url, embeddings):
    collection = f"t{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "harbour.txt").write_text(HARBOUR)
    app = server_app(tmp_path, chroma_url, collection, embeddings)

    report = app.index([str(folder)])
    assert report.added == 1 and report.failed == []
    assert app.store.count() == (1, report.chunks)
    assert app.settings.chroma_url and not app.settings.chroma_dir.exists()  # nothing local

    hits = app.retriever.search("Zorvexa ferry vote", k=3)
    assert hits and "Zorvexa" in hits[0].chunk.text
    answer = final(app.ask("How many passengers will the ferry carry?"))
    assert answer.answerable and any("300" in c.snippet for c in answer.citations)

    # Re-index: a new file is added, an edited one replaced, nothing else re-embedded.
    (folder / "bridge.txt").write_text(BRIDGE)
    (folder / "harbour.txt").write_text(HARBOUR.replace("7 to 2", "8 to 1"))
    again = app.reindex()
    assert (again.added, again.updated, again.unchanged) == (1, 1, 0)
    assert "8 to 1" in app.retriever.search("harbour council vote", k=1)[0].chunk.text
    assert app.retriever.search("Quillmarsh", k=1)[0].title.startswith("Quillmarsh")

    assert app.remove(str(folder / "bridge.txt")) == 1
    assert app.store.count()[0] == 1
    assert all("Quillmarsh" not in h.chunk.text for h in app.retriever.search("Quillmarsh"))


def test_two_processes_share_one_server_and_keep_bm25_in_step(tmp_path, chroma_url, embeddings):
    collection = f"t{uuid.uuid4().hex[:8]}"
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "harbour.txt").write_text(HARBOUR)
    writer = server_app(tmp_path, chroma_url, collection, embeddings, "writer")
    reader = server_app(tmp_path, chroma_url, collection, embeddings, "reader")
    writer.index([str(folder)])

    # A second process (own data dir, so its own BM25 copy) sees what the first indexed...
    other = tmp_path / "other-process"
    got = cli(other, chroma_url, collection, "search", "Zorvexa")
    assert got["results"] and "Zorvexa" in got["results"][0]["text"]
    assert cli(other, chroma_url, collection, "stats")["articles"] == 1

    # ...and a long-lived reader notices a later write: its BM25 copy catches up with the server's
    # new generation, so a rare name only the new article holds is found by the lexical side.
    assert reader.retriever.lexical_index().search("Quillmarsh", 3) == []
    (folder / "bridge.txt").write_text(BRIDGE)
    writer.index([str(folder)])
    found = reader.retriever.lexical_index().search("Quillmarsh", 3)
    bridge = writer.store.articles_from(str(folder))
    assert found and any(cid.rsplit(":", 1)[0] in bridge for cid, _ in found)
    hits = reader.retriever.search("Quillmarsh", k=3)
    assert hits and "Quillmarsh" in hits[0].chunk.text

    # The other process indexes too (into the same collection), and the writer sees it.
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "fair.txt").write_text(
        "Vintrelle fair returns\n\nThe Vintrelle harvest fair returns to the square on Saturday."
    )
    assert cli(other, chroma_url, collection, "index", str(extra))["added"] == 1
    assert writer.store.count()[0] == 3
    hits = writer.retriever.search("Vintrelle harvest fair", k=3)
    assert hits and "Vintrelle" in hits[0].chunk.text


def test_a_bad_server_url_is_a_one_line_config_error(tmp_path):
    got = subprocess.run(
        [sys.executable, "-m", "qa", "--chroma-url", "not-a-url", "stats"],
        capture_output=True,
        text=True,
        env={**os.environ, "ARTICLEQA_DATA_DIR": str(tmp_path)},
        cwd=ROOT,
        timeout=120,
    )
    assert got.returncode == 1
    assert got.stderr.strip().startswith("articleqa: error: chroma_url must look like")
    assert len(got.stderr.strip().splitlines()) == 1
