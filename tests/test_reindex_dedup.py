"""Duplicate detection: keys, MinHash estimates and the LSH index (no store, no model)."""

from __future__ import annotations

import random
import tracemalloc

import numpy as np

from ingest.dedup import (
    NEAR_THRESHOLD,
    DedupIndex,
    Match,
    _band_keys,
    decode,
    encode,
    minhash,
    shingle_hashes,
    shingles,
    similarity,
    text_key,
    url_key,
)

WORDS = [f"w{i}" for i in range(4000)]


def text(rng: random.Random, n: int = 600) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def jaccard(a: str, b: str) -> float:
    sa, sb = shingles(a), shingles(b)
    return len(sa & sb) / len(sa | sb)


def test_keys_ignore_case_spacing_and_tracking() -> None:
    assert text_key("Rain  in\nSpain.") == text_key("rain in spain.")
    assert text_key("Rain in Spain.") != text_key("Rain in Spain!")
    assert url_key("https://www.x.org/a/?utm_source=rss#c") == url_key("https://WWW.x.org/a")
    assert url_key("") == "" and url_key("https://x.org/a") != url_key("https://x.org/b")


def test_minhash_estimates_jaccard() -> None:
    rng = random.Random(3)
    for replaced in (0, 20, 60, 150):
        a = text(rng)
        words = a.split()
        for i in rng.sample(range(len(words)), replaced):
            words[i] = "edited"
        b = " ".join(words)
        assert abs(similarity(minhash(a), minhash(b)) - jaccard(a, b)) < 0.12


def test_signature_survives_storage() -> None:
    sig = minhash("one two three four five six")
    assert np.array_equal(decode(encode(sig)), sig)
    assert decode("") is None and decode("not base64!") is None
    assert decode(encode(sig)[:-8]) is None  # a signature of the wrong length


def test_shingle_hashes_do_not_depend_on_the_rest_of_the_text() -> None:
    # Words are hashed from a padded array as wide as the text's longest word: the padding
    # must not leak into the hash, or one story would hash apart in two articles.
    short = shingle_hashes("alpha beta gamma delta epsilon")
    longer = shingle_hashes("alpha beta gamma delta epsilon " + "x" * 30)
    assert set(short.tolist()) < set(longer.tolist())
    assert len(shingle_hashes("one two three four five six seven")) == len(
        shingles("one two three four five six seven")
    )
    blob = shingle_hashes("a " + "Q" * 200_000 + " b c d")  # bounded width, no huge array
    assert len(blob) == 1


def test_index_finds_exact_then_near_copies() -> None:
    rng = random.Random(5)
    original, unrelated = text(rng), text(rng)
    index = DedupIndex()
    for aid, t in (("orig", original), ("other", unrelated)):
        index.add(aid, text=text_key(t), url="", sig=minhash(t))
    exact = index.match("copy", text=text_key(original.upper()), url="", sig=minhash(original))
    assert exact is not None and (exact.kind, exact.of) == ("exact", "orig")
    wire = "(Reuters) - " + original + " Reporting by A. Writer."
    near = index.match("wire", text=text_key(wire), url="", sig=minhash(wire))
    assert near is not None and (near.kind, near.of) == ("near", "orig")
    assert index.match("new", text=text_key(text(rng)), url="", sig=minhash(text(rng))) is None


def test_index_keeps_matching_through_removals_and_edits() -> None:
    # Most articles removed, the rest re-registered with their content: matches must be the
    # same as with a fresh index, and nothing of removed content may be left to match.
    rng = random.Random(11)
    texts = {f"a{i:04d}": text(rng, 120) for i in range(600)}
    index = DedupIndex()
    for aid, t in texts.items():
        index.add(aid, text=text_key(t), url="", sig=minhash(t))
    probe = "Breaking: " + texts["a0500"] + " More soon."
    near = index.match("p", text=text_key(probe), url="", sig=minhash(probe))
    assert near is not None and near.of == "a0500"
    for aid in list(texts)[:450]:
        index.remove(aid)
    gone = "Breaking: " + texts["a0100"] + " More soon."
    assert index.match("g", text=text_key(gone), url="", sig=minhash(gone)) is None
    late = "x " + texts["a0599"]
    index.add("late", text=text_key(late), url="", sig=minhash(late), group="a0599")
    for aid, t in list(texts.items())[450:]:  # re-registered after an edit
        index.remove(aid)
        index.add(aid, text=text_key(t), url="", sig=minhash(t))
    near = index.match("p", text=text_key(probe), url="", sig=minhash(probe))
    assert near is not None and near.of == "a0500"
    again = index.match("q", text=text_key(late + " y"), url="", sig=minhash(late + " y"))
    assert again is not None and again.of == "a0599"  # the group of the best match
    assert index.group_of("late") == "a0599" and index.group_of("a0599") == "a0599"
    # Exactly the live articles' signatures and band keys are left.
    live = {"late": late, **dict(list(texts.items())[450:])}
    db = index._db
    assert db.execute("SELECT COUNT(*) FROM sig").fetchone()[0] == len(live)
    bands = {(k, aid) for aid, t in live.items() for k in _band_keys(minhash(t)).tolist()}
    stored = db.execute("SELECT b.key, s.id FROM band b JOIN sig s ON s.row = b.row").fetchall()
    assert {(k & (2**64 - 1), aid) for k, aid in stored} == bands
    assert len(stored) == len(bands)


def test_index_holds_its_tables_on_disk_not_in_the_process() -> None:
    # In memory it was ~1.3 KB per article (the main share of what indexing grew by with the
    # corpus); on disk, Python holds nothing per article and SQLite at most its page cache.
    rng = random.Random(12)
    sigs = [minhash(text(rng, 60)) for _ in range(1500)]
    index = DedupIndex(cache_kb=256)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i, sig in enumerate(sigs):
            index.add(f"id{i:05d}", text=f"t{i}", url=f"u{i}", sig=sig)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 100_000, grown  # was ~2 MB for 1,500 articles
    assert index._db.execute("PRAGMA cache_size").fetchone()[0] == -256
    assert index.match("x", text="t7", url="", sig=sigs[7]) == Match("exact", "id00007")
    assert index.match("y", text="new", url="", sig=sigs[9]) == Match("near", "id00009")


def test_near_copies_join_the_first_articles_group() -> None:
    rng = random.Random(9)
    base = text(rng)
    index = DedupIndex()
    index.add("first", text=text_key(base), url="", sig=minhash(base))
    second = base + " An update paragraph."
    index.add("second", text=text_key(second), url="", sig=minhash(second), group="first")
    third = second + " Another line."
    m = index.match("third", text=text_key(third), url="", sig=minhash(third))
    assert m is not None and m.of == "first"


def test_removed_articles_no_longer_match() -> None:
    rng = random.Random(11)
    t = text(rng)
    index = DedupIndex()
    index.add("a", text=text_key(t), url=url_key("https://x.org/a"), sig=minhash(t))
    index.add("b", text=text_key(t), url="", sig=None, exact_of="a")
    index.remove("a")
    assert (
        index.match("c", text=text_key(t), url=url_key("https://x.org/a"), sig=minhash(t)) is None
    )


def test_threshold_separates_edits_from_rewrites() -> None:
    # The measured threshold (docs/benchmarks.md): 5% of words changed is one story,
    # 25% changed is another text.
    rng = random.Random(13)
    a = text(rng, 800)
    words = a.split()
    light, heavy = list(words), list(words)
    for i in rng.sample(range(len(words)), len(words) // 20):
        light[i] = "x"
    for i in rng.sample(range(len(words)), len(words) // 4):
        heavy[i] = "x"
    assert jaccard(a, " ".join(light)) >= NEAR_THRESHOLD > jaccard(a, " ".join(heavy))
