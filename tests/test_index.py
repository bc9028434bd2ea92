"""The write path: incremental, idempotent, repairs after a crash, keeps data on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from ingest.chunking import chunk
from ingest.index import IndexReport, index_sources, remove_articles
from ingest.manifest import Manifest
from qa.errors import LoadError
from qa.store import Store
from qa.types import Article
from tests.store_support import dense_search, local_store, raw, write_article

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


def _texts(store: Store, article_id: str) -> list[str]:
    return [text for _, text, _ in store.chunks_of(article_id)]


@pytest.fixture
def store(tmp_path: Path, embeddings) -> Store:
    return local_store(tmp_path / "chroma", embeddings)


def run(
    store: Store, embeddings, folder: Path, items: Iterable[Article | LoadError], **kw: object
) -> IndexReport:
    items = list(items)
    kw = {"chunk_tokens": 16, "overlap_tokens": 4, **kw}
    return index_sources(
        [str(folder)],
        store=store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=lambda origin: items,
        **kw,  # type: ignore[arg-type]
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
    assert _texts(store, "a") == ["Huawei faces a ban."]
    total = sum(len(store.chunks_of(k)) for k in shorter)
    assert total == report.chunks == store.count()[1]


def test_vanished_article_is_removed(store: Store, embeddings, tmp_path: Path) -> None:
    run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)))
    fewer = {k: v for k, v in TEXTS.items() if k != "b"}
    report = run(store, embeddings, tmp_path, articles(fewer, str(tmp_path)))
    assert report.removed == 1
    assert store.get_article("b") is None
    assert store.chunks_of("b") == []


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
    raw(store, "chunks").upsert(
        ids=["z:0"],
        embeddings=[[1.0] + [0.0] * 383],
        metadatas=[{"article_id": "z", "text": "orphan", "info": "{}"}],
    )
    marker.touch()
    report = run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)), dirty_marker=marker)
    assert not marker.exists()
    assert store.chunks_by_id(["z:0"]) == {}
    assert report.chunks == store.count()[1] == len(store.chunk_ids())


def test_manifest_remembers_sources_after_success(store: Store, embeddings, tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "manifest.json")
    run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)), manifest=manifest)
    assert list(Manifest(tmp_path / "manifest.json").sources) == [str(tmp_path)]


# -- duplicates, partial re-embedding, scoped runs, repair ------------------------------------

STORY = (
    "The city council approved a new budget for the harbour on Monday after a long debate. "
    "Members voted eleven to four to fund the repair of the northern pier and two new cranes. "
    "The mayor said the port had lost cargo to rival towns for a decade and needed the money. "
    "Opponents warned that the plan relied on a loan the city might struggle to repay later. "
    "Work on the pier is due to start in the spring and should take about eighteen months."
)


class CountingEmbeddings(Embeddings):
    """The real model, counting the texts it is asked to embed."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.texts = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return self.inner.count_tokens(texts)


def art(aid: str, text: str, origin: str, url: str = "", path: str = "") -> Article:
    return Article(
        id=aid, text=text, title=f"T {aid}", url=url, path=path or f"/x/{aid}.txt", origin=origin
    )


def records(store: Store) -> dict[str, dict]:
    return dict(store.dedup_rows())


def chunk_ids_by_article(store: Store) -> dict[str, int]:
    out: dict[str, int] = {}
    for _, _, m in store.iter_chunks():
        out[m["article_id"]] = out.get(m["article_id"], 0) + 1
    return out


def test_identical_text_is_stored_once(store: Store, embeddings, tmp_path: Path) -> None:
    o = str(tmp_path)
    report = run(store, embeddings, tmp_path, [art("a", STORY, o), art("b", STORY + "  ", o)])
    assert (report.added, report.duplicates) == (2, 1)
    recs = records(store)
    assert recs["b"]["dup_of"] == "a" and recs["b"]["dup_kind"] == "exact"
    assert chunk_ids_by_article(store) == {"a": recs["a"]["chunks"]}
    assert store.get_article("b")[0].text == STORY + "  "  # still shown, listed, removable
    again = run(store, embeddings, tmp_path, [art("a", STORY, o), art("b", STORY + "  ", o)])
    assert (again.unchanged, again.embedded_chunks) == (2, 0)


def test_writes_that_wait_for_look_ahead_store_everything_once(
    store: Store, embeddings, tmp_path: Path
) -> None:
    # With tiny write batches most flushes write only the oldest part of what is pending;
    # copies must still land after their originals and every chunk exactly once.
    o = str(tmp_path)
    items = []
    for i in range(8):
        text = f"Story {i}: " + STORY
        items.append(art(f"s{i}", text, o))
        if i % 3 == 0:
            items.append(art(f"c{i}", text + "  ", o))  # an exact copy, stored as a record
    report = run(store, embeddings, tmp_path, items, batch_chunks=2)
    assert (report.added, report.duplicates) == (len(items), 3)
    recs = records(store)
    counts = chunk_ids_by_article(store)
    for i in (0, 3, 6):
        assert recs[f"c{i}"]["dup_of"] == f"s{i}" and f"c{i}" not in counts
    assert counts == {f"s{i}": int(recs[f"s{i}"]["chunks"]) for i in range(8)}
    assert report.chunks == store.count()[1] == sum(counts.values())


def test_the_end_of_a_run_is_written_a_step_at_a_time(
    store: Store, embeddings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # What is pending at the end goes out in DRAIN_STEP-sized writes, oldest first, so the
    # model embeds the later steps while the earlier ones are written.
    import ingest.index

    monkeypatch.setattr(ingest.index, "DRAIN_STEP", 6)
    sizes: list[int] = []
    write = store.write_articles

    def spy(items):  # type: ignore[no-untyped-def]
        sizes.append(sum(len(w.chunks) for w in items))
        write(items)

    monkeypatch.setattr(store, "write_articles", spy)
    o = str(tmp_path)
    items = [art(f"s{i}", f"Story {i}: " + STORY, o) for i in range(8)]
    report = run(store, embeddings, tmp_path, items, batch_chunks=1000)  # all pending at the end
    per_article = max(chunk_ids_by_article(store).values())
    assert len(sizes) >= report.chunks // (6 + per_article) > 1
    assert all(n < 6 + per_article for n in sizes)
    assert report.added == 8 and sum(sizes) == report.chunks == store.count()[1]


def test_records_hold_small_markers(store: Store, embeddings, tmp_path: Path) -> None:
    import numpy as np

    o = str(tmp_path)
    items = [*articles(TEXTS, o), art("copy", TEXTS["a"] + " ", o)]  # one exact copy
    report = run(store, embeddings, tmp_path, items)
    assert (report.added, report.duplicates) == (4, 1)
    for which in ("articles", "texts"):  # read by id only: no 384-float vectors held
        got = raw(store, which).get(include=["embeddings"])
        vectors = np.asarray(got["embeddings"])
        assert vectors.shape == (4, 2) and np.allclose(np.linalg.norm(vectors, axis=1), 1)
        assert len({tuple(v) for v in vectors.round(6)}) == 4  # distinct: a well-formed graph
    assert set(store.article_texts(["a", "copy"]).values()) == {TEXTS["a"], TEXTS["a"] + " "}
    assert records(store)["copy"]["dup_of"] == "a" and store.count()[0] == 4


def test_same_canonical_url_is_one_article(store: Store, embeddings, tmp_path: Path) -> None:
    o = str(tmp_path)
    first = art("a", TEXTS["a"], o, url="https://news.example/story")
    second = art("b", TEXTS["b"], o, url="https://NEWS.example/story/?utm_source=feed#top")
    report = run(store, embeddings, tmp_path, [first, second])
    assert report.duplicates == 1
    assert records(store)["b"]["dup_of"] == "a"
    assert set(chunk_ids_by_article(store)) == {"a"}


def test_near_duplicate_is_linked_not_merged(store: Store, embeddings, tmp_path: Path) -> None:
    o = str(tmp_path)
    wire = "(Reuters) - " + STORY.replace("Monday", "Tuesday") + " Reporting by A. Writer."
    report = run(store, embeddings, tmp_path, [art("a", STORY, o), art("w", wire, o)])
    assert (report.added, report.near_duplicates, report.duplicates) == (2, 1, 0)
    assert records(store)["w"]["dup_of"] == "a" and records(store)["w"]["dup_kind"] == "near"
    metas = [m for _, _, m in store.chunks_of("w")]
    assert metas and all(m["dup_of"] == "a" for m in metas)  # retrieval collapses by this
    other = run(store, embeddings, tmp_path, [art("a", STORY, o), art("c", TEXTS["c"], o)])
    assert records(store)["c"]["dup_of"] == "" and other.near_duplicates == 0


def test_removing_the_original_gives_its_copy_chunks(
    store: Store, embeddings, tmp_path: Path
) -> None:
    o = str(tmp_path)
    run(store, embeddings, tmp_path, [art("a", STORY, o), art("b", STORY, o)])
    n = records(store)["a"]["chunks"]
    report = run(store, embeddings, tmp_path, [art("b", STORY, o)])  # a's file is gone
    assert report.removed == 1
    recs = records(store)
    assert set(recs) == {"b"} and recs["b"]["dup_kind"] == "" and recs["b"]["chunks"] == n
    assert chunk_ids_by_article(store) == {"b": n} and report.chunks == n


def test_remove_articles_promotes_copy(store: Store, embeddings, tmp_path: Path) -> None:
    o = str(tmp_path)
    run(store, embeddings, tmp_path, [art("a", STORY, o), art("b", STORY, o), art("c", STORY, o)])
    remove_articles(["a"], store=store, embeddings=embeddings, count_tokens=embeddings.count_tokens)
    recs = records(store)
    # One copy takes over; the other now points at it: still stored once.
    assert sorted(m["dup_kind"] for m in recs.values()) == ["", "exact"]
    keeper = next(i for i, m in recs.items() if m["dup_kind"] == "")
    assert set(chunk_ids_by_article(store)) == {keeper}


def test_editing_the_original_frees_its_copy(store: Store, embeddings, tmp_path: Path) -> None:
    o = str(tmp_path)
    run(store, embeddings, tmp_path, [art("a", STORY, o), art("b", STORY, o)])
    report = run(store, embeddings, tmp_path, [art("a", TEXTS["a"], o), art("b", STORY, o)])
    assert (report.updated, report.unchanged) == (1, 1)
    recs = records(store)
    assert recs["b"]["dup_kind"] == "" and chunk_ids_by_article(store)["b"] == recs["b"]["chunks"]


def test_an_edit_reembeds_only_the_chunks_it_changed(
    store: Store, embeddings, tmp_path: Path
) -> None:
    counting = CountingEmbeddings(embeddings)
    o = str(tmp_path)
    whole_sentences = {"chunk_tokens": 32, "overlap_tokens": 0}
    first = run(store, counting, tmp_path, [art("a", STORY, o)], **whole_sentences)
    assert counting.texts == first.embedded_chunks == first.chunks >= 5
    edited = STORY.replace("eighteen months", "two years, the engineers said")
    counting.texts = 0
    report = run(store, counting, tmp_path, [art("a", edited, o)], **whole_sentences)
    assert report.updated == 1
    assert counting.texts == report.embedded_chunks == 1  # only the last chunk changed
    docs = _texts(store, "a")
    assert any("two years" in d for d in docs) and not any("eighteen" in d for d in docs)
    retitled = Article(**{**art("a", edited, o).__dict__, "title": "New title"})
    counting.texts = 0
    report = run(store, counting, tmp_path, [retitled], **whole_sentences)
    assert (report.updated, report.embedded_chunks, counting.texts) == (1, 0, 0)
    assert {m["title"] for _, _, m in store.chunks_of("a")} == {"New title"}


def test_only_rereads_the_given_paths(store: Store, embeddings, tmp_path: Path) -> None:
    o = str(tmp_path)
    items = [art(k, v, o, path=f"{o}/{k}.txt") for k, v in TEXTS.items()]
    run(store, embeddings, tmp_path, items)
    for k in ("a", "b", "c"):
        (tmp_path / f"{k}.txt").write_text("x")
    (tmp_path / "b.txt").unlink()  # b vanished; a changed; c untouched (not in `only`)
    changed_a = art("a", TEXTS["a"] + " More.", o, path=f"{o}/a.txt")
    loaded: list[str] = []

    def load(target: str) -> list[Article]:
        loaded.append(target)
        return [changed_a] if target.endswith("a.txt") else []

    report = index_sources(
        [o],
        store=store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=load,
        chunk_tokens=16,
        overlap_tokens=4,
        only=[f"{o}/a.txt", f"{o}/b.txt"],
    )
    assert loaded == [f"{o}/a.txt"]
    assert (report.updated, report.removed, report.unchanged) == (1, 1, 0)
    assert set(records(store)) == {"a", "c"}


def test_repair_after_a_kill_mid_update(store: Store, embeddings, tmp_path: Path) -> None:
    o = str(tmp_path)
    marker = tmp_path / "index.dirty"
    run(store, embeddings, tmp_path, articles(TEXTS, o))
    # Killed mid-update of "a": one chunk gone, the record still has the old hash.
    raw(store, "chunks").delete(ids=["a:0"])
    # ...and before it reached another source, which the marker remembers.
    other = tmp_path / "other"
    other.mkdir()
    marker.write_text(json.dumps({"pid": 1, "sources": [o, str(other)]}))
    loaded: list[str] = []
    notes: list[str] = []

    def load(origin: str) -> list[Article]:
        loaded.append(origin)
        if origin == str(other):
            return [art("z", STORY, str(other))]
        return articles(TEXTS, o)

    report = index_sources(
        [o],
        store=store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=load,
        chunk_tokens=16,
        overlap_tokens=4,
        dirty_marker=marker,
        notify=notes.append,
    )
    assert loaded == [o, str(other)] and "interrupted" in notes[0]
    assert (report.updated, report.unchanged, report.added) == (1, 2, 1)
    recs = records(store)
    assert chunk_ids_by_article(store) == {k: m["chunks"] for k, m in recs.items()}
    assert not marker.exists()


def test_a_source_that_failed_whole_is_remembered(store: Store, embeddings, tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "manifest.json")
    report = run(
        store,
        embeddings,
        tmp_path,
        [LoadError(str(tmp_path), "permission denied")],
        manifest=manifest,
    )
    assert report.failed == [{"path": str(tmp_path), "error": "permission denied"}]
    again = Manifest(tmp_path / "manifest.json")
    assert again.failed_sources() == {str(tmp_path): "permission denied"}
    run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)), manifest=again)
    assert Manifest(tmp_path / "manifest.json").failed_sources() == {}


def test_excluded_items_are_skipped(store: Store, embeddings, tmp_path: Path) -> None:
    manifest = Manifest(tmp_path / "manifest.json")
    manifest.exclude("/x/b.txt")
    report = run(store, embeddings, tmp_path, articles(TEXTS, str(tmp_path)), manifest=manifest)
    assert report.added == 2 and store.get_article("b") is None


def test_chunk_text_is_metadata(store: Store, embeddings) -> None:
    # Chunk text lives in a metadata field (Chroma full-text indexes documents, at a third of
    # indexing's CPU outside the model), and every read path gives it back.
    new = "Huawei faces a ban on chips."
    other = "Samsung reports record profits."
    for aid, text in (("a", new), ("b", other)):
        write_article(
            store,
            art(aid, text, "/o"),
            chunk(aid, text, count_tokens=embeddings.count_tokens),
            embeddings.embed_documents([text]),
        )
    stored = raw(store, "chunks").get(ids=["a:0"], include=["documents", "metadatas"])
    assert stored["documents"] == [None] and stored["metadatas"][0]["text"] == new
    # Fields never filtered on are folded into one JSON field (fewer SQLite rows per chunk).
    assert set(stored["metadatas"][0]) == {"article_id", "chunk", "day", "source", "text", "info"}
    by_id = store.chunks_by_id(["a:0", "b:0"])
    assert {cid: text for cid, (text, _) in by_id.items()} == {"a:0": new, "b:0": other}
    assert all("text" not in m and "info" not in m for _, m in by_id.values())
    # Read back unfolded, every field there.
    a_meta, b_meta = by_id["a:0"][1], by_id["b:0"][1]
    assert a_meta["title"] == "T a" and a_meta["end"] == len(new) and a_meta["dup_of"] == ""
    assert set(a_meta) == set(b_meta) and b_meta["title"] == "T b"
    assert sorted(text for _, text, _ in store.iter_chunks()) == sorted([new, other])
    hits = dense_search(store, embeddings.embed_query("Samsung profits"), 2)
    assert [h.chunk.id for h in hits] == ["b:0", "a:0"]
    assert {h.chunk.id: h.chunk.text for h in hits} == {"a:0": new, "b:0": other}
    assert set(store.chunk_vectors({"a": 1, "b": 1})) == {new, other}


def test_article_text_has_its_own_collection_and_orphans_are_swept(
    store: Store, embeddings
) -> None:
    # Listing records (hashes, duplicate keys) must not read whole texts, and Chroma must not
    # full-text index them: the text is a metadata field of a collection of its own.
    from ingest.recovery import sweep

    text = "Huawei faces a ban on chips. Its suppliers are worried."
    write_article(
        store,
        art("a", text, "/o"),
        chunk("a", text, count_tokens=embeddings.count_tokens),
        [[0.1] * 384],
    )
    record = raw(store, "articles").get(ids=["a"], include=["documents", "metadatas"])
    assert record["documents"] == [None] and "text" not in record["metadatas"][0]
    found = store.get_article("a")
    assert found is not None and found[0].text == text
    assert store.article_texts(["a", "b"]) == {"a": text}
    raw(store, "texts").upsert(ids=["gone"], metadatas=[{"text": "x"}], embeddings=[[0.0, 1.0]])
    assert store.orphan_texts() == ["gone"]
    sweep(store)  # what the next run does after a killed one
    assert store.orphan_texts() == [] and store.article_texts(["a"]) == {"a": text}
    store.delete_article("a")
    assert store.article_texts(["a"]) == {} and raw(store, "texts").get(ids=["a"])["ids"] == []


def test_freed_memory_is_handed_back_between_write_batches(
    store: Store, embeddings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # glibc keeps freed memory in per-thread arenas; each write batch ends with malloc_trim
    # (ingest/memory.py), which this machine's libc has.
    import ingest.index
    from ingest.memory import _trim

    assert callable(_trim())
    calls: list[int] = []
    monkeypatch.setattr(ingest.index, "release_free_memory", lambda: calls.append(1))
    o = str(tmp_path)
    items = [art(f"s{i}", f"Story {i}: " + STORY, o) for i in range(3)]
    report = run(store, embeddings, tmp_path, items, batch_chunks=2)
    assert report.added == 3 and len(calls) >= 2  # one per write batch
