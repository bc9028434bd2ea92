"""Do time words help, and should they be stripped from the query? A small measurement.

Over the news articles of the eval index (bench/retrieval_variants.py builds it), each query is
the opening sentence of an article's second chunk (its first chunk holds the title, which BM25
indexes; sentences with time words of their own are skipped) plus a time phrase naming the
article's own month ("in March 2017"). Compared: time
words off (the phrase stays in the query as plain words), on with the phrase stripped from the
query text, and on with the phrase kept in the query text.

    .venv/bin/python bench/time_words.py [--n 300]
"""

from __future__ import annotations

import argparse
import calendar
import random
import re
import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import quiet_environment  # noqa: E402

quiet_environment()

from qa.eval_squad import eval_app, gold_rank, retrieval_metrics  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.timewords import find_time_range  # noqa: E402

CACHE = ROOT / "bench" / ".cache"


def main() -> None:
    """Print recall@1/@5/MRR@10 of the three variants."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    args = ap.parse_args()
    folder = CACHE / "xquad-news-torch" / "index"
    if not folder.exists():
        print("skipped: run bench/retrieval_variants.py first (it builds the index)")
        return
    app = eval_app(
        Settings(llm="extractive", embedding_backend="torch"),
        folder,
        cache=CACHE / "embeddings.sqlite",
    )
    r = app.retriever
    cases = []
    for _cid, text, meta in r.store.iter_chunks():
        day = int(meta.get("day") or 0)
        if meta.get("chunk") != 1 or not day:
            continue
        first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
        # A sentence with time words of its own ("last week" as its article meant it) would
        # measure those words, not the phrase added here.
        if len(first.split()) < 8 or find_time_range(first, date.today()) is not None:
            continue
        month = f"{calendar.month_name[day // 100 % 100]} {day // 10000}"
        cases.append((f"{first} in {month}", str(meta["article_id"])))
    cases = random.Random(0).sample(cases, min(args.n, len(cases)))
    print(f"{len(cases)} queries over {r.store.count()[1]} chunks")
    print("| variant | R@1 | R@5 | MRR@10 |")
    print("| --- | --- | --- | --- |")
    strip_words = r.resolve_time_words

    def keep_words(query, filters, index=None):  # type: ignore[no-untyped-def]
        _, narrowed = strip_words(query, filters, index)
        return query, narrowed

    for name, on, resolver in (
        ("time words off (phrase searched as words)", False, strip_words),
        ("time words on, phrase stripped from the query", True, strip_words),
        ("time words on, phrase kept in the query", True, keep_words),
    ):
        r.time_words = on
        r.resolve_time_words = resolver  # type: ignore[method-assign]
        ranks = [
            gold_rank([h.chunk.article_id for h in r.search(q, k=10)], gold) for q, gold in cases
        ]
        m = retrieval_metrics(ranks, 5)
        print(
            f"| {name} | {m['recall_at_1']:.3f} | {m['recall_at_k']:.3f} | {m['mrr_at_10']:.3f} |"
        )


if __name__ == "__main__":
    main()
