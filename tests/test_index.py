"""The write path: incremental, idempotent, repairs after a crash, keeps data on bad input."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest

from ingest.index import IndexReport, index_sources
from ingest.manifest import Manifest
from qa.errors import LoadError
from qa.store import Store
from qa.types import Article

TEXTS = {
    "a": "Huawei faces a ban. Google stopped supplying Android updates to the company.",
    "b": "Apple sold more phones. The iPhone outsold rivals in March 2017 by a wide margin.",
    "c": "ARM cut ties with Huawei. The chip designer told staff to halt all work.",
}


def articles(texts: dict[str, str], origin: str) -> list[Article]:
    return [
        Article(
            id=k,
            text=v,
            title=f"Title {k}",
            path=f"/x/{k}.txt",
            source=f"{k}.txt",
            published="2017-03-0" + str(i + 1),
            origin=origin,
        )
        for i, (k, v) in enumerate(sorted(texts.items()))
    ]


@pytest.fixture
def store(tmp_path: Path, embeddings) -> Store:
    import chromadb

    client = chromadb.PersistentClient(
        path=str(tmp_path / "chroma"), settings=chromadb.config.Settings(anonymized_telemetry=False)
    )
    return Store(client, embeddings, "test")


def run(
    store: Store, embeddings, folder: Path, items: Iterable[Article | LoadError], **kw: object
) -> IndexReport:
    items = list(items)
    return index_sources(
        [str(folder)],
        store=store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=lambda origin: items,
        chunk_tokens=16,
        overlap_tokens=4,
        **kw,
    )


def test_second_run_embeds_nothing(store: Store, embeddings, tmp_path: Path) -> None:
    first = run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)))
    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    assert first.embedded_chunks == first.chunks > 3
    second = run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)))
    assert (second.added, second.updated, second.unchanged, second.removed) == (0, 0, 3, 0)
    assert second.embedded_chunks == 0 and second.chunks == first.chunks


def test_changed_article_replaces_its_chunks(store: Store, embeddings, tmp_path: Path) -> None:
    run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)))
    shorter = {**TEXTS, "a": "Huawei faces a ban."}
    report = run(store, embeddings, tmp_path, articles(shorter, str(tmp_path)))
    assert (report.updated, report.unchanged) == (1, 2)
    got = store.chunks.get(where={"article_id": "a"}, include=["documents"])
    assert got["documents"] == ["Huawei faces a ban."]
    total = sum(len(store.chunks.get(where={"article_id": k})["ids"]) for k in shorter)
    assert total == report.chunks == store.count()[1]


def test_vanished_article_is_removed(store: Store, embeddings, tmp_path: Path) -> None:
    run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)))
    fewer = {k: v for k, v in TEXTS.items() if k != "b"}
    report = run(store, embeddings, tmp_path, articles(fewer, str(tmp_path)))
    assert report.removed == 1
    assert store.get_article("b") is None
    assert store.chunks.get(where={"article_id": "b"})["ids"] == []


def test_failed_file_keeps_what_it_indexed_before(store: Store, embeddings, tmp_path: Path) -> None:
    run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)))
    broken = [a for a in articles(TEXTS, str(tmp_path)) if a.id != "b"]
    report = run(store, embeddings, tmp_path, [*broken, LoadError("/x/b.txt", "binary file")])
    assert report.removed == 0
    assert report.failed == [{"path": "/x/b.txt", "error": "binary file"}]
    assert store.get_article("b") is not None


def test_dry_run_writes_nothing(store: Store, embeddings, tmp_path: Path) -> None:
    report = run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)), dry_run=True)
    assert report.added == 3 and report.embedded_chunks > 0
    assert store.count() == (0, 0)


def test_killed_run_is_repaired_without_duplicates(
    store: Store, embeddings, tmp_path: Path
) -> None:
    marker = tmp_path / "index.dirty"
    # A run that died after storing chunks of "z" but before its article record.
    store.chunks.upsert(
        ids=["z:0"],
        documents=["orphan"],
        embeddings=[[1.0] + [0.0] * 383],
        metadatas=[{"article_id": "z"}],
    )
    marker.touch()
    report = run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)), dirty_marker=marker)
    assert not marker.exists()
    assert store.chunks.get(ids=["z:0"])["ids"] == []
    assert report.chunks == store.count()[1] == len(store.chunks.get()["ids"])


def test_manifest_remembers_sources_after_success(store: Store, embeddings, tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "manifest.json")
    run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)), manifest=manifest)
    assert list(Manifest(tmp_path / "manifest.json").sources) == [str(tmp_path)]
