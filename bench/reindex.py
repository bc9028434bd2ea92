"""Full index of the news corpus, then re-indexes: unchanged, 1% of articles edited, 1% rewritten.

The issue's bar: a re-index with 1% of the articles changed takes under 5% of the full index
time. Every phase runs in this one process on the same machine, so the ratios are side by side.

    .venv/bin/python bench/reindex.py [--limit N] [--data-dir DIR]

`--limit` indexes the first N rows only (a quick check); the numbers in docs/benchmarks.md
are from the whole corpus (3,824 rows, 3,788 articles with text).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus" / "news-articles-2017.csv.gz"


def read_rows(limit: int | None) -> tuple[list[str], list[dict[str, str]]]:
    """The corpus rows (header, rows), the first `limit` of them when given."""
    csv.field_size_limit(2**31 - 1)
    with gzip.open(CORPUS, "rt", encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    return header, rows[:limit] if limit else rows


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    """Write rows as a gzipped CSV like the corpus."""
    with gzip.open(path, "wt", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)


def edit(rows: list[dict[str, str]], share: float, how: str, seed: int) -> int:
    """Change `share` of the rows with text: a one-word correction, or a new text; return n."""
    rng = random.Random(seed)
    with_text = [r for r in rows if r["text"].strip()]
    picked = rng.sample(with_text, max(1, round(len(with_text) * share)))
    donors = rng.sample(with_text, len(picked))
    for row, donor in zip(picked, donors, strict=True):
        if how == "correction":  # one word fixed in the middle of the article
            words = row["text"].split(" ")
            i = len(words) // 2
            words[i] = words[i] + "s"
            row["text"] = " ".join(words)
        else:  # the whole article rewritten (worst case: every chunk is new)
            row["text"] = "Updated. " + " ".join(reversed(donor["text"].split(". ")))
    return len(picked)


def main() -> None:
    """Run the phases and print one line each, then the ratios."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--data-dir", type=Path, default=None)
    args = ap.parse_args()
    if not CORPUS.exists():
        print(f"skipped: {CORPUS} not found")
        return
    from qa.app import App, quiet_environment
    from qa.settings import Settings

    quiet_environment()
    work = Path(tempfile.mkdtemp(prefix="bench-reindex-"))
    data = args.data_dir or work / "data"
    # A fresh embedding cache: the full index must really embed (a warm content-hash cache from
    # an earlier run would make it look cheap), and the re-indexes only reuse this run's work.
    app = App(Settings(data_dir=data, cache_dir=work / "cache", llm="extractive"))
    app.embeddings.warm()  # type: ignore[attr-defined]  # model load is not index time
    print(f"embedding backend {app.settings.embedding_backend}", flush=True)
    header, rows = read_rows(args.limit)
    source = work / "news.csv.gz"
    write_rows(source, header, rows)

    def phase(name: str) -> float:
        t = time.perf_counter()
        report = app.index([str(source)])
        took = time.perf_counter() - t
        print(
            f"{name:<28} {took:8.1f} s  added {report.added:5d}  updated {report.updated:4d}  "
            f"unchanged {report.unchanged:5d}  embedded {report.embedded_chunks:6d}  "
            f"chunks {report.chunks:6d}  failed {len(report.failed)}",
            flush=True,
        )
        return took

    print(f"corpus rows {len(rows)} · data {data}", flush=True)
    full = phase("full index")
    same = phase("re-index, unchanged")
    n = edit(rows, 0.01, "correction", 1)
    write_rows(source, header, rows)
    fix = phase(f"re-index, {n} corrected (1%)")
    n = edit(rows, 0.01, "rewrite", 2)
    write_rows(source, header, rows)
    new = phase(f"re-index, {n} rewritten (1%)")
    print(f"unchanged / full:  {100 * same / full:.2f}%")
    print(f"1% corrected / full: {100 * fix / full:.2f}%")
    print(f"1% rewritten / full: {100 * new / full:.2f}%  (bar: < 5%)")


if __name__ == "__main__":
    main()
