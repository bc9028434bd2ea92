"""Hybrid retrieval on small real indexes: fusion, filters, diversity, BM25 kept in step."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ingest.index import index_sources
from qa.fusion import Fusion, diversify
from qa.lexical import (
    BM25Params,
    LexicalIndex,
    load_postings,
    save_postings,
    sync_postings,
)
from qa.postings import Postings
from qa.retrieve import Filters, Retriever
from qa.types import Article, Chunk, Hit
from tests.conftest import indexed_retriever

NEWS = [
    (
        "q1",
        "2017-02-10",
        "reuters.com",
        "Quarterly results",
        "Company XR-7731 reported revenue of 4.2 billion dollars for the quarter.",
    ),
    (
        "q2",
        "2017-03-05",
        "bbc.co.uk",
        "Weather report",
        "Heavy snow closed roads across the northern highlands on Sunday.",
    ),
    (
        "q3",
        "2017-03-20",
        "reuters.com",
        "Football",
        "The striker scored twice as the home side won the cup final.",
    ),
    (
        "q4",
        "2017-03-21",
        "apnews.com",
        "Snowstorm",
        "A blizzard brought heavy snow and closed schools in the mountains.",
    ),
]


@pytest.fixture
def retriever(tmp_path: Path, embeddings) -> Retriever:
    items = [
        Article(id=i, text=t, title=ti, source=s, published=d, origin=str(tmp_path))
        for i, d, s, ti, t in NEWS
    ]
    return indexed_retriever(tmp_path, embeddings, items, "rt")


def test_dense_finds_paraphrase(retriever: Retriever) -> None:
    hits = retriever.search("winter storm shuts roads", k=2)
    assert {h.chunk.article_id for h in hits} == {"q2", "q4"}


def test_lexical_finds_exact_code_that_dense_misses(retriever: Retriever) -> None:
    retriever.use_dense = False
    assert retriever.search("XR-7731", k=1)[0].chunk.article_id == "q1"
    retriever.use_dense, retriever.use_lexical = True, True
    assert retriever.search("XR-7731 revenue", k=1)[0].chunk.article_id == "q1"


def test_filters_apply_to_both_sides(retriever: Retriever) -> None:
    hits = retriever.search("heavy snow", k=4, filters=Filters(since="2017-03-10"))
    assert [h.chunk.article_id for h in hits if "snow" in h.chunk.text] == ["q4"]
    assert all(h.meta["day"] >= 20170310 for h in hits)
    hits = retriever.search("heavy snow", k=4, filters=Filters(sources=("bbc.co.uk",)))
    assert [h.chunk.article_id for h in hits] == ["q2"]
    assert retriever.search("snow", k=4, filters=Filters(until="2017-01-01")) == []


def test_hits_carry_cosine_for_refusal(retriever: Retriever) -> None:
    good = retriever.search("blizzard closed schools", k=1)[0]
    bad = retriever.search("quantum chromodynamics lattice", k=1)[0]
    assert good.meta["cosine"] > 0.5 > bad.meta["cosine"]


def test_lexical_index_follows_store_changes(
    retriever: Retriever, embeddings, tmp_path: Path
) -> None:
    assert retriever.search("XR-7731", k=1)[0].chunk.article_id == "q1"
    retriever.store.delete_article("q1")
    retriever.store.bump_generation()
    retriever.use_dense = False
    assert all(h.chunk.article_id != "q1" for h in retriever.search("XR-7731", k=3))


def test_diversify_caps_per_article_and_collapses_copies() -> None:
    def hit(cid: str, aid: str, text: str, score: float) -> Hit:
        return Hit(Chunk(cid, aid, 0, text, 0, len(text)), score, {})

    story = "Huawei was banned from using Google services, the company said on Monday."
    hits = [
        hit("a:0", "a", story, 0.9),
        hit("b:0", "b", story + " Reuters", 0.8),
        hit("a:1", "a", "Other words entirely here.", 0.7),
        hit("a:2", "a", "More distinct content again.", 0.6),
        hit("c:0", "c", "Unrelated fresh article text.", 0.5),
    ]
    assert [h.chunk.id for h in diversify(hits, 5, per_article=2)] == ["a:0", "a:1", "c:0"]


def test_time_words_in_the_question_filter_by_date(retriever: Retriever) -> None:
    # The newest article is 2017-03-21 (a Tuesday): "this week" is 03-20..03-21.
    hits = retriever.search("heavy snow this week", k=4)
    assert {h.chunk.article_id for h in hits} <= {"q3", "q4"}
    assert hits[0].chunk.article_id == "q4"
    hits = retriever.search("snow in articles from February 2017", k=4)
    assert [h.chunk.article_id for h in hits] == ["q1"]
    # A date of the event asked about is not a publication window: no filter.
    hits = retriever.search("heavy snow in February 2017", k=2)
    assert {h.chunk.article_id for h in hits} == {"q2", "q4"}
    hits = retriever.search("heavy snow in 1995", k=2)
    assert {h.chunk.article_id for h in hits} == {"q2", "q4"}
    retriever.time_words = False
    hits = retriever.search("heavy snow this week", k=2)
    assert {h.chunk.article_id for h in hits} == {"q2", "q4"}


def test_time_words_narrow_but_never_widen_explicit_filters(retriever: Retriever) -> None:
    strict = Filters(since="2017-03-06")
    hits = retriever.search("snow news in March 2017", k=4, filters=strict)
    assert {h.chunk.article_id for h in hits} <= {"q3", "q4"}
    query, narrowed = retriever.resolve_time_words("snow news in March 2017", strict)
    assert query == "snow news"
    assert (narrowed.since, narrowed.until) == ("2017-03-06", "2017-03-31")
    assert not narrowed.keep_undated  # the user's own dates stay strict


def test_undated_articles_pass_guessed_dates_but_not_typed_ones(
    retriever: Retriever, embeddings, tmp_path: Path
) -> None:
    (tmp_path / "u").mkdir()
    undated = Article(
        id="u1", text="Heavy snow buried the valley villages.", origin=str(tmp_path / "u")
    )
    index_sources(
        [str(tmp_path / "u")],
        store=retriever.store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=lambda o: [undated],
    )
    retriever.store.bump_generation()
    guessed = {h.chunk.article_id for h in retriever.search("heavy snow this week", k=4)}
    assert "u1" in guessed and "q2" not in guessed
    typed = retriever.search("heavy snow", k=4, filters=Filters(since="2017-03-20"))
    assert {h.chunk.article_id for h in typed} == {"q3", "q4"}  # u1 and q2 are out


def test_convex_and_rrf_fusion_both_rank_the_exact_match_first(retriever: Retriever) -> None:
    for fusion in (Fusion("convex", 0.5), Fusion("rrf", 0.5, 60), Fusion("convex", 0.9)):
        retriever.fusion = fusion
        hits = retriever.search("XR-7731 revenue quarter", k=2)
        assert hits[0].chunk.article_id == "q1", fusion
        assert hits[0].score >= hits[-1].score


def test_lexical_weight_moves_the_ranking(retriever: Retriever) -> None:
    # "closed" is in both snow stories; "blizzard mountains schools" only in q4's words, while
    # the dense side reads q2 and q4 as the same weather story.
    q = "roads closed"
    retriever.fusion = Fusion("convex", 1.0)
    lexical_only = [h.chunk.article_id for h in retriever.search(q, k=2)]
    retriever.fusion = Fusion("convex", 0.0)
    dense_only = [h.chunk.article_id for h in retriever.search(q, k=2)]
    assert lexical_only[0] == "q2"  # "closed roads": both words in q2 only
    assert set(dense_only) == {"q2", "q4"}


def test_fusion_math_by_hand() -> None:
    cos = {"a": 0.9, "b": 0.5, "c": 0.1}
    bm = {"a": 0.0, "b": 10.0, "c": 5.0}
    convex = Fusion("convex", 0.5).fuse(["a", "b"], ["b", "c"], cos, bm)
    # cosine min-max: a=1, b=0.5, c=0; bm25 / max: a=0, b=1, c=0.5
    assert convex == pytest.approx({"a": 0.5, "b": 0.75, "c": 0.25})
    rrf = Fusion("rrf", 0.5, 60).fuse(["a", "b"], ["b", "c"], cos, bm)
    assert rrf == pytest.approx({"a": 1 / 61, "b": 1 / 62 + 1 / 61, "c": 1 / 62})
    assert Fusion("convex", 0.5).fuse(["a"], [], cos, bm) == {"a": 1.0}
    assert Fusion("convex").fuse([], [], cos, bm) == {}


def test_hits_carry_cosine_also_when_only_lexical_found_them(retriever: Retriever) -> None:
    retriever.use_dense = False
    hit = retriever.search("blizzard schools", k=1)[0]
    assert hit.chunk.article_id == "q4"
    assert hit.meta["cosine"] > 0.3


def test_bm25_kept_in_step_through_reindex_and_remove(app, tmp_path: Path) -> None:
    folder = _two_articles(app, tmp_path)
    r = app.retriever
    r.use_dense = False
    assert r.search("Zorblax merger", k=1)[0].meta["title"]
    (folder / "a.txt").write_text("Glimmerdyne industries announced a merger with Quintech.\n")
    app.reindex()
    assert r.search("Zorblax", k=3) == []
    assert r.search("Glimmerdyne", k=1)[0].chunk.text.startswith("Glimmerdyne")
    # A second process (a fresh Retriever on the saved BM25 files) sees the same state.
    from qa.retrieve import Retriever as R

    other = R(app.store, app.embeddings, lexical_dir=r.lexical_dir, dense=False)
    assert other.search("Glimmerdyne", k=1)[0].chunk.text.startswith("Glimmerdyne")
    app.remove(str(folder / "a.txt"))
    assert r.search("Glimmerdyne", k=3) == []
    assert other.search("Glimmerdyne", k=3) == []
    assert r.search("bicycle lanes", k=1)[0].chunk.text.startswith("The city council")


def _two_articles(app, tmp_path: Path) -> Path:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "a.txt").write_text("Zorblax industries announced a merger with Quintech.\n")
    (folder / "b.txt").write_text("The city council approved the new bicycle lanes.\n")
    app.index([str(folder)])
    return folder


def test_writer_keeps_bm25_in_step_without_reading_the_store_back(app, tmp_path: Path) -> None:
    folder = _two_articles(app, tmp_path)
    read: list[str] = []
    for name in ("chunks_by_id", "chunk_ids", "article_hashes"):
        real = getattr(app.store, name)
        setattr(app.store, name, lambda *a, _r=real, _n=name: read.append(_n) or _r(*a))
    (folder / "a.txt").write_text("Glimmerdyne industries announced a merger with Quintech.\n")
    app.reindex()
    assert read == []  # the term counts followed the writes; nothing was listed or re-read
    app.retriever.use_dense = False
    assert app.retriever.search("Zorblax", k=3) == []
    assert app.retriever.search("Glimmerdyne", k=1)[0].chunk.text.startswith("Glimmerdyne")


def test_writer_killed_before_saving_bm25_is_repaired_by_the_next_process(
    app, tmp_path: Path
) -> None:
    folder = _two_articles(app, tmp_path)

    def die() -> str:  # the run dies after its writes, before it bumps the generation
        raise KeyboardInterrupt

    app.store.bump_generation = die
    (folder / "a.txt").write_text("Glimmerdyne industries announced a merger with Quintech.\n")
    with pytest.raises(KeyboardInterrupt):
        app.reindex()
    # The next process: same store and BM25 folder; the saved counts still carry the store's
    # generation, but they are marked as behind it, so it lists the store and catches up.
    other = Retriever(app.store, app.embeddings, lexical_dir=app.retriever.lexical_dir, dense=False)
    assert other.search("Zorblax", k=3) == []
    assert other.search("Glimmerdyne", k=1)[0].chunk.text.startswith("Glimmerdyne")


def test_lexical_index_with_other_params_is_rebuilt(tmp_path: Path) -> None:
    rows = [("a:0", "alpha beta", {"day": 20170301, "source": "x", "title": "T"})]
    postings = Postings.empty()
    postings.add(rows)
    save_postings(tmp_path / "bm25", "g1", postings)
    assert LexicalIndex.load(tmp_path / "bm25") is not None
    assert LexicalIndex.load(tmp_path / "bm25", BM25Params(k1=2.0)) is None
    (tmp_path / "bm25" / "terms.npy").write_bytes(b"not numpy")
    assert LexicalIndex.load(tmp_path / "bm25") is None  # broken files: rebuilt, not trusted


TEXTS = [
    "The cat sat on the mat in Paris.",
    "Dogs bark loudly at night in London, and the cat hides.",
    "ARM cut ties with Huawei after Google's ban.",
    "",
    "cat cat dog mat mat mat",
    "Huawei said the ban would hurt American chip designers.",
]


def _rows(texts: list[str]) -> list[tuple[str, str, dict]]:
    meta = {"day": 0, "source": "", "version": "v1"}
    return [(f"c{i}", t, {**meta, "article_id": f"a{i}"}) for i, t in enumerate(texts)]


def test_bm25_scores_match_bm25s_own_index() -> None:
    import bm25s

    from qa.bm25_adapter import tokenizer

    params = BM25Params(title=False)
    ix = LexicalIndex.build(_rows(TEXTS), params)
    tok = tokenizer(True)
    ref = bm25s.BM25(k1=params.k1, b=params.b, method=params.method)
    ref.index(tok.tokenize(TEXTS, show_progress=False, return_as="tuple"), show_progress=False)
    for q in ["cat mat", "huawei ban", "dog barking night", "chip designers"]:
        ids = tok.tokenize([q], update_vocab=False, show_progress=False, return_as="ids")[0]
        assert np.allclose(ix.scores(q), ref.get_scores(ids), atol=1e-5), q
    assert ix.search("zebra", 3) == []  # unknown words match nothing (not the empty chunk)


def test_synced_postings_equal_a_fresh_build_and_tokenize_only_new_chunks() -> None:
    rows = _rows(TEXTS)
    fetched: list[str] = []

    def fetch(ids: list[str]) -> list[tuple[str, str, dict]]:
        fetched.extend(ids)
        return [r for r in rows if r[0] in ids]

    def keys(*ids: str) -> list[tuple[str, str]]:
        return [(i, "v1") for i in ids]

    postings, added, dropped = sync_postings(None, keys("c0", "c1", "c2"), fetch)
    assert (added, dropped, fetched) == (3, 0, ["c0", "c1", "c2"])
    fetched.clear()
    # c1 removed, c3..c5 new: only the new chunks are read and tokenized.
    postings, added, dropped = sync_postings(postings, keys("c0", "c2", "c3", "c4", "c5"), fetch)
    ix = LexicalIndex.from_postings(postings)
    assert (added, dropped, sorted(fetched)) == (3, 1, ["c3", "c4", "c5"])
    fresh = LexicalIndex.build([r for r in rows if r[0] != "c1"])
    for q in ["cat mat", "huawei ban", "dog night", "chip"]:
        got = dict(ix.search(q, 6))
        want = dict(fresh.search(q, 6))
        assert got.keys() == want.keys(), q
        assert all(abs(got[k] - want[k]) < 1e-5 for k in got), q
    assert ix.search("London", 3) == []  # the dropped chunk is gone
    # An edited article keeps its chunk ids; a new version re-reads the chunk.
    rows[0] = ("c0", "Zebras crossed the road in Paris.", {**rows[0][2], "version": "v2"})
    fetched.clear()
    postings, added, dropped = sync_postings(
        postings, [("c0", "v2"), *keys("c2", "c3", "c4", "c5")], fetch
    )
    ix = LexicalIndex.from_postings(postings)
    assert (added, dropped, fetched) == (1, 1, ["c0"])
    assert [c for c, _ in ix.search("zebra", 3)] == ["c0"]
    assert ix.search("sat", 3) == []


def test_a_writers_spilled_term_counts_save_and_search_as_held_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A write run keeps its new counts in a file until the save, which streams them into the
    # saved arrays: the files and the scores must be exactly those of counts held in memory.
    import qa.postings

    monkeypatch.setattr(qa.postings, "BATCH", 2)  # several parts, each spilled on its own
    rows = _rows(TEXTS)
    held, spilled = Postings.empty(), Postings.empty()
    spilled.spill_to(tmp_path / "spill")
    for p in (held, spilled):
        p.add(rows[:3])
        p.keep({("c0", "v1"), ("c2", "v1")})  # drops c1, a merge: arrays, then more parts
        p.add(rows[3:])
    assert all(isinstance(part[0], int) for part in spilled._pending)  # offsets, not arrays
    # The new rows' ids and metadata wait on disk too; the save streams them in order.
    assert (spilled.ids, len(spilled)) == (["c0", "c2"], 5)
    for name, p in (("held", held), ("spilled", spilled)):
        save_postings(tmp_path / name, "g1", p)
    for k in ("lengths", "indptr", "terms", "tfs"):
        a, b = np.load(tmp_path / "held" / f"{k}.npy"), np.load(tmp_path / "spilled" / f"{k}.npy")
        assert a.dtype == b.dtype and np.array_equal(a, b), k
    info = json.loads((tmp_path / "spilled" / "chunks.json").read_text())
    assert info == {"generation": "g1", "params": BM25Params().to_dict(), "rows": 5}
    lines = (tmp_path / "spilled" / "rows.jsonl").read_text().splitlines()
    rows_saved = [json.loads(line) for line in lines]
    assert [i for r in rows_saved for i in r["ids"]] == ["c0", "c2", "c3", "c4", "c5"]
    assert [a for r in rows_saved for a in r["article_id"]] == ["a0", "a2", "a3", "a4", "a5"]
    assert [v for r in rows_saved for v in r["version"]] == ["v1"] * 5
    loaded = LexicalIndex.load(tmp_path / "spilled")
    assert loaded is not None
    for q in ["cat mat", "huawei ban", "dog night"]:
        want = LexicalIndex.from_postings(held).search(q, 6)
        assert LexicalIndex.from_postings(spilled).search(q, 6) == want, q
        assert loaded[0].search(q, 6) == want, q
    assert spilled._spill is not None and spilled._spill.seek(0, 2) == 0  # merged: emptied
    assert list((tmp_path / "spill").iterdir()) == []  # the spill file has no name to leave


def test_saved_counts_are_mapped_not_read(tmp_path: Path) -> None:
    # A writer that adds to a big index maps the saved arrays instead of reading them into
    # its memory.
    postings = Postings.empty()
    postings.add(_rows(TEXTS))
    folder = tmp_path / "bm25"
    save_postings(folder, "g1", postings)
    got = load_postings(folder)
    assert got is not None and isinstance(got[0].terms, np.memmap)
    live = got[0]
    assert (len(live), live.ids, live._articles()) == (6, [], {f"a{i}" for i in range(6)})
    # A run adds a row: still nothing of the saved rows is read into lists.
    live.add([("c9", "zebra crossing", {"article_id": "a9", "version": "v1", "day": 0})])
    save_postings(tmp_path / "next", "g2", live)
    assert live.ids == []  # saved by streaming the saved rows, not by reading them in
    # Another process replaces the folder meanwhile: the loaded rows stay those of the load.
    save_postings(folder, "g3", Postings.empty())
    want = LexicalIndex.from_postings(live).search("cat mat", 6)
    assert [c for c, _ in want] == ["c4", "c0", "c1"] and len(live.ids) == 7
    reloaded = LexicalIndex.load(tmp_path / "next")
    assert reloaded is not None and reloaded[0].search("cat mat", 6) == want
    assert reloaded[0].ids == live.ids and reloaded[0].search("zebra", 1)[0][0] == "c9"


def test_rewritten_and_dropped_chunks_leave_pending_and_merged_rows() -> None:
    meta = {"day": 0, "source": "", "version": "v1"}
    rows = [(f"a{i}:0", t, {**meta, "article_id": f"a{i}"}) for i, t in enumerate(TEXTS)]
    p = Postings.empty()
    p.add(rows[:2])
    p.merge()
    p.add(rows[2:4])  # a0, a1 merged; a2, a3 pending
    edit = {**rows[1][2], "version": "v2"}
    p.replace([("a1:0", "Zebras crossed the road.", edit), ("a2:0", "Zebras again.", rows[2][2])])
    p.drop_article("a3")
    p.drop_article("nobody")
    assert len(p) == 3
    ix = LexicalIndex.from_postings(p)
    assert sorted(c for c, _ in ix.search("zebra", 5)) == ["a1:0", "a2:0"]
    assert ix.search("London", 3) == [] and ix.search("Huawei", 3) == []  # old a1, old a2
    assert sorted(ix.ids) == ["a0:0", "a1:0", "a2:0"]


def test_an_edit_run_drops_saved_rows_without_reading_them_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run that rewrites or shortens stored articles must not read the saved rows of a big
    # index in to drop theirs: the drops wait and are applied as the save streams the rows.
    # Random edits, done lazily on a loaded (mapped) index and eagerly (merged after each
    # step), must save the same files, and hold exactly the rows a plain list says.
    import random

    import qa.postings

    monkeypatch.setattr(qa.postings, "BATCH", 3)  # many pending parts
    monkeypatch.setattr(qa.postings, "BLOCK", 4)  # saved rows streamed in several blocks
    words = [
        "cat",
        "dog",
        "mat",
        "Paris",
        "London",
        "Huawei",
        "ban",
        "chip",
        "zebra",
        "road",
        "night",
        "bark",
    ]
    rng = random.Random(7)
    version = 0

    def article(aid: str, n: int) -> list[tuple[str, str, dict]]:
        nonlocal version
        version += 1
        meta = {"day": 0, "source": "", "version": f"v{version}", "article_id": aid}
        return [(f"{aid}:{k}", " ".join(rng.choices(words, k=5)), meta) for k in range(n)]

    first = [row for i in range(6) for row in article(f"a{i}", rng.randint(1, 4))]
    held = Postings.empty()
    held.add(first)
    save_postings(tmp_path / "bm25", "g1", held)
    got = load_postings(tmp_path / "bm25")
    assert got is not None
    lazy, eager = got[0], Postings.empty()
    eager.add(first)
    want = [(cid, text) for cid, text, _ in first]  # the rows that must be left, in order
    for step in range(40):
        aid = f"a{rng.randint(0, 8)}"  # a7, a8 are new articles
        if step % 3 == 2:
            cut = rng.randint(0, 3)
            for p in (lazy, eager):
                p.drop_article(aid, cut)
            want = [r for r in want if not (r[0].startswith(aid + ":") and int(r[0][3:]) >= cut)]
        else:  # written again, maybe longer or shorter (the shorter rest is dropped after)
            rows = article(aid, rng.randint(1, 4))
            for p in (lazy, eager):
                p.replace(rows)
            new = {cid for cid, _, _ in rows}
            want = [r for r in want if r[0] not in new] + [(cid, t) for cid, t, _ in rows]
        eager.merge()
    assert lazy.ids == [] and lazy._rows is not None  # nothing of the saved rows read in
    assert len(lazy) == len(eager) == len(want)
    save_postings(tmp_path / "lazy", "g2", lazy)
    save_postings(tmp_path / "eager", "g2", eager)
    assert lazy.ids == []  # the save streamed them
    for name in ("lengths.npy", "indptr.npy", "terms.npy", "tfs.npy"):
        a, b = (tmp_path / "lazy" / name).read_bytes(), (tmp_path / "eager" / name).read_bytes()
        assert a == b, name

    def saved_rows(folder: Path) -> dict[str, list]:  # lines may cut the rows differently
        pieces = [json.loads(line) for line in (folder / "rows.jsonl").read_text().splitlines()]
        return {k: [v for piece in pieces for v in piece[k]] for k in pieces[0]}

    assert saved_rows(tmp_path / "lazy") == saved_rows(tmp_path / "eager")
    loaded = LexicalIndex.load(tmp_path / "lazy")
    assert loaded is not None and loaded[0].ids == [cid for cid, _ in want]
    fresh = LexicalIndex.build([(cid, t, {}) for cid, t in want])
    for q in ["cat mat", "Huawei ban", "zebra road night", "London"]:
        got_scores = dict(loaded[0].search(q, 50))
        want_scores = dict(fresh.search(q, 50))
        assert got_scores.keys() == want_scores.keys(), q
        assert all(abs(got_scores[k] - want_scores[k]) < 1e-4 for k in got_scores), q
    # Merging the lazy copy (as its first search does) applies the same drops.
    assert LexicalIndex.from_postings(lazy).ids == loaded[0].ids


def test_lexical_mask_is_vectorized_metadata_filter() -> None:
    rows = [
        ("a:0", "snow", {"day": 20170301, "source": "x"}),
        ("b:0", "snow", {"day": 0, "source": "y"}),
        ("c:0", "snow", {"day": 20170310, "source": "y"}),
    ]
    ix = LexicalIndex.build(rows)
    assert ix.mask() is None
    assert ix.mask(sources=["y"]).tolist() == [0, 1, 1]
    assert ix.mask(since_day=20170305).tolist() == [0, 0, 1]
    assert ix.mask(since_day=20170305, keep_undated=True).tolist() == [0, 1, 1]
    assert ix.mask(sources=["x"], until_day=20170305).tolist() == [1, 0, 0]
    assert [c for c, _ in ix.search("snow", 3, ix.mask(sources=["y"]))] in (
        ["b:0", "c:0"],
        ["c:0", "b:0"],
    )
    assert ix.date_span() == (20170301, 20170310)


def test_diversify_prefers_new_articles_when_decay_applies() -> None:
    def hit(cid: str, aid: str, text: str, score: float) -> Hit:
        return Hit(Chunk(cid, aid, 0, text, 0, len(text)), score, {})

    hits = [
        hit("a:0", "a", "first distinct text about one thing", 1.0),
        hit("a:1", "a", "second distinct text about other matters", 0.95),
        hit("b:0", "b", "third distinct text from another outlet", 0.9),
    ]
    assert [h.chunk.id for h in diversify(hits, 2)] == ["a:0", "a:1"]
    assert [h.chunk.id for h in diversify(hits, 2, article_decay=0.8)] == ["a:0", "b:0"]
    assert [h.chunk.id for h in diversify(hits, 3, per_article=1)] == ["a:0", "b:0"]


def test_diversify_collapses_near_duplicate_stories() -> None:
    def hit(cid: str, aid: str, text: str, score: float, group: str = "") -> Hit:
        return Hit(Chunk(cid, aid, 0, text, 0, len(text)), score, {"dup_of": group})

    hits = [
        hit("a:0", "a", "wire story about the vote, as first told", 1.0),
        hit("b:0", "b", "a rewritten telling of the same wire story", 0.9, group="a"),
        hit("b:1", "b", "another rewritten part of that telling", 0.85, group="a"),
        hit("c:0", "c", "an unrelated story on the weather", 0.5),
    ]
    # One story (a and its near-copy b) gets at most per_article chunks.
    assert [h.chunk.id for h in diversify(hits, 3, per_article=2)] == ["a:0", "b:0", "c:0"]


def test_narrow_filters_fall_back_to_chromas_own_filter(
    retriever: Retriever, monkeypatch: pytest.MonkeyPatch
) -> None:
    import qa.retrieve

    expected = [h.chunk.article_id for h in retriever.search("snow", k=4, filters=NARROW)]
    monkeypatch.setattr(qa.retrieve, "POST_FILTER_MAX", 1)  # every filter is "narrow" now
    retriever.use_lexical = False  # the dense side alone must still honour the filter
    got = retriever.search("snow", k=4, filters=NARROW)
    assert [h.chunk.article_id for h in got] == expected == ["q2"]


NARROW = Filters(sources=("bbc.co.uk",))
