"""Measure the near-duplicate threshold on the news corpus.

Prints, for every pair of articles whose MinHash estimate is at least 0.2, the distribution of
exact 5-word-shingle Jaccard similarity, how well the LSH banding recalls pairs above each level,
and sample pairs around the chosen threshold (to read by eye: same story or not?).

    .venv/bin/python bench/dedup_threshold.py [--samples 6]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "news-articles-2017.csv.gz"


def main() -> None:
    """Print the similarity distribution and samples."""
    from ingest.dedup import NEAR_THRESHOLD, DedupIndex, minhash, shingles, text_key
    from ingest.loaders import load
    from qa.types import Article

    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=6)
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return
    arts = [a for a in load(str(CORPUS)) if isinstance(a, Article)]
    t = time.perf_counter()
    sigs = np.stack([minhash(a.text) for a in arts])
    print(
        f"{len(arts)} articles, minhash {1000 * (time.perf_counter() - t) / len(arts):.2f} ms each"
    )
    exact = len(arts) - len({text_key(a.text) for a in arts})
    print(f"identical normalized text: {exact} extra copies")
    pairs = []
    for i in range(len(arts)):
        est = (sigs[i + 1 :] == sigs[i]).mean(axis=1)
        for j in np.nonzero(est >= 0.2)[0]:
            pairs.append((i, i + 1 + int(j), float(est[j])))
    sh = {}
    rows = []
    for i, j, est in pairs:
        a = sh.setdefault(i, shingles(arts[i].text))
        b = sh.setdefault(j, shingles(arts[j].text))
        rows.append((len(a & b) / len(a | b), est, i, j))
    rows.sort(reverse=True)
    print(f"pairs with MinHash estimate >= 0.2: {len(rows)}")
    print("exact Jaccard    pairs")
    for lo in (0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2):
        n = sum(1 for jac, *_ in rows if jac >= lo)
        print(f"  >= {lo:.1f}        {n}")
    # LSH recall at the chosen threshold: index every article, then query each one.
    index = DedupIndex()
    found = set()
    for k, a in enumerate(arts):
        m = index.match(a.id, text=text_key(a.text), url="", sig=sigs[k])
        if m is not None:
            found.add(k)
        index.add(a.id, text=text_key(a.text), url="", sig=sigs[k])
    truth = {max(i, j) for jac, _, i, j in rows if jac >= NEAR_THRESHOLD}
    print(
        f"threshold {NEAR_THRESHOLD}: {len(truth)} later copies with exact Jaccard >= threshold,"
        f" {len(found & truth)} linked, {len(found - truth)} linked below it"
    )
    # Synthetic wire copies of 300 articles: a small edit must still be linked.
    import random

    rng = random.Random(0)
    sample = rng.sample(range(len(arts)), 300)
    edits = {
        "5% of words replaced": lambda w: [x if rng.random() > 0.05 else "edited" for x in w],
        "last 20% cut": lambda w: w[: int(len(w) * 0.8)],
        "wire byline + tagline added": lambda w: ["(Reuters)", "-", *w, "Reporting", "by", "X."],
        "10% of words replaced": lambda w: [x if rng.random() > 0.1 else "edited" for x in w],
    }
    for name, edit in edits.items():
        hit = 0
        for k in sample:
            copy = " ".join(edit(arts[k].text.split()))
            m = index.match("copy", text=text_key(copy), url="", sig=minhash(copy))
            hit += m is not None and m.of in (arts[k].id, index.group_of(arts[k].id))
        print(f"synthetic copies, {name}: {hit}/{len(sample)} linked to their original")
    for lo, hi in ((0.9, 1.01), (0.6, 0.9), (0.45, 0.6), (0.3, 0.45), (0.2, 0.3)):
        band = [r for r in rows if lo <= r[0] < hi][: args.samples]
        print(f"\n-- sample pairs with Jaccard in [{lo}, {hi}) --")
        for jac, est, i, j in band:
            a, b = arts[i], arts[j]
            print(f"{jac:.2f} (est {est:.2f})  [{a.source}] {a.title[:60]}")
            print(f"                 [{b.source}] {b.title[:60]}")


if __name__ == "__main__":
    main()
