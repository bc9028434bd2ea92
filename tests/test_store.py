"""The store's promises: its format is checked on open, vectors of another size are refused,
and a reader sees what another process wrote once the generation tells it to reopen."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from qa.app import App
from qa.backends import make_store
from qa.chroma_local import forget_folder
from qa.errors import IndexFormatError
from qa.store import FORMAT_KEY, INDEX_FORMAT, Store
from qa.types import Article, Chunk
from tests.conftest import ROOT
from tests.store_support import local_store, raw, write_article
from tests.test_end_to_end import articleqa

STORY = "Berlin opened a new airport on Monday after years of delays. It cost six billion euros."
REBUILD = "run `articleqa reindex --rebuild`"


@pytest.mark.timeout(600)
def test_an_index_of_another_format_is_refused_until_rebuilt(
    app: App, tmp_path: Path, embeddings
) -> None:
    src = tmp_path / "a.txt"
    src.write_text(STORY)
    assert app.index([str(src)]).added == 1
    chunks = raw(app.store, "chunks")
    assert chunks.metadata[FORMAT_KEY] == INDEX_FORMAT and chunks.metadata["dim"] == 384
    chunks.modify(metadata={**chunks.metadata, FORMAT_KEY: INDEX_FORMAT + 1})
    with pytest.raises(IndexFormatError) as refused:
        make_store(app.settings, embeddings)
    message = str(refused.value)
    assert f"format {INDEX_FORMAT + 1}" in message and REBUILD in message and "\n" not in message
    # The command line says it in one line and exits 1; the command it names repairs it.
    got = articleqa(app.settings.data_dir, "stats", llm="extractive")
    assert got.returncode == 1 and got.stdout == ""
    assert got.stderr.count("\n") == 1 and REBUILD in got.stderr, got.stderr
    got = articleqa(app.settings.data_dir, "reindex", "--rebuild", llm="extractive")
    assert got.returncode == 0, got.stderr
    forget_folder(str(app.settings.chroma_dir))  # the rebuild made a new store on this path
    rebuilt = make_store(app.settings, embeddings)
    assert rebuilt.count()[0] == 1
    assert raw(rebuilt, "chunks").metadata[FORMAT_KEY] == INDEX_FORMAT


def test_a_collection_without_a_format_is_refused_only_when_it_holds_data(
    tmp_path: Path, embeddings
) -> None:
    store = local_store(tmp_path / "c", embeddings)
    texts = raw(store, "texts")
    texts.modify(metadata={"other": 1})  # as if made before formats were stored
    adopted = raw(local_store(tmp_path / "c", embeddings), "texts").metadata  # empty: ours
    assert adopted == {"other": 1, FORMAT_KEY: INDEX_FORMAT}
    texts.upsert(ids=["x"], embeddings=[[1.0, 0.0]], metadatas=[{"text": "x"}])
    texts.modify(metadata={"other": 1})
    with pytest.raises(IndexFormatError, match=r"format unversioned .*reindex --rebuild"):
        local_store(tmp_path / "c", embeddings)


def test_vectors_of_another_size_are_refused(tmp_path: Path, embeddings) -> None:
    store = local_store(tmp_path / "c", embeddings)
    write_article(store, *_article("a", [1.0] + [0.0] * 383))
    with pytest.raises(IndexFormatError, match=r"holds 384-float vectors .* makes 8-float"):
        write_article(store, *_article("b", [1.0] + [0.0] * 7))
    with pytest.raises(IndexFormatError, match="reindex --rebuild"):
        store.nearest_chunks([1.0] + [0.0] * 7, 3)
    again = local_store(tmp_path / "c", embeddings)  # the size is kept with the index
    with pytest.raises(IndexFormatError):
        again.nearest_chunks([1.0] + [0.0] * 7, 3)
    assert [c for c, _ in again.nearest_chunks([1.0] + [0.0] * 383, 3)] == ["a:0"]


def _article(aid: str, vector: list[float]) -> tuple[Article, list[Chunk], list[list[float]]]:
    text = f"Story {aid}."
    article = Article(id=aid, text=text, title=aid, origin="/o")
    return article, [Chunk(f"{aid}:0", aid, 0, text, 0, len(text))], [vector]


def write_in_another_process(folder: str, aid: str, angle: float) -> None:
    """Run in a child process: store one article with a 2-d vector, and bump the generation."""
    import math

    store = local_store(Path(folder), DeterministicFakeEmbedding(size=2))
    write_article(store, *_article(aid, [math.cos(angle), math.sin(angle)]))
    store.bump_generation()


def _writer(folder: Path, aid: str, angle: float) -> None:
    call = f"w({str(folder)!r}, {aid!r}, {angle})"
    code = f"from tests.test_store import write_in_another_process as w; {call}"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=300)


def test_a_reader_sees_another_processs_writes_after_the_generation_changes(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "c"
    _writer(folder, "a", 0.0)
    reader: Store = local_store(folder, DeterministicFakeEmbedding(size=2))
    reader.generation()
    assert [c for c, _ in reader.nearest_chunks([1.0, 0.0], 5)] == ["a:0"]  # segments loaded
    _writer(folder, "b", 1.5)
    reader.generation()  # changed by the other process: the reader reopens from disk
    assert [c for c, _ in reader.nearest_chunks([0.0, 1.0], 5)] == ["b:0", "a:0"]
    assert reader.count() == (2, 2)
