"""Do time words help? A small measurement.

Over the news articles of an index, each query is the opening sentence of an article's second
chunk (its first chunk holds the title, which BM25 indexes; sentences with time words of their
own are skipped) plus a phrase naming the article's own month, in two phrasings: as an event
date ("... in March 2017", which the classifier of qa/timewords.py leaves in the query) and as
a publication window ("... in news from March 2017", a filter). Each is searched with time
words off (the phrase stays in the query as plain words) and on. The index is the eval index
bench/retrieval_variants.py builds, or any data dir (`--data-dir`, e.g. a copy of a news index).

    .venv/bin/python bench/time_words.py [--n 300] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import calendar
import random
import re
import sys
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import App, quiet_environment  # noqa: E402

quiet_environment()

from qa.eval_squad import eval_app, gold_rank, retrieval_metrics  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.timewords import find_time_range  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
RECENT = re.compile(r"(?i)\b(?:recent|recently|lately|latest)\b")


def main() -> None:
    """Print recall@1/@5/MRR@10 of each phrasing with time words off and on."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--data-dir", type=Path, help="search this index instead of the eval one")
    args = ap.parse_args()
    if args.data_dir:
        app = App(Settings(data_dir=args.data_dir, llm="extractive"))
    else:
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
        if RECENT.search(first):  # skipped also where qa/timewords.py does not know them
            continue
        month = f"{calendar.month_name[day // 100 % 100]} {day // 10000}"
        cases.append((first, month, str(meta["article_id"])))
    cases = random.Random(0).sample(cases, min(args.n, len(cases)))
    events = event_cases(r, args.n)
    print(f"{len(cases)} queries over {r.store.count()[1]} chunks")
    print("| phrasing | time words | R@1 | R@5 | MRR@10 |")
    print("| --- | --- | --- | --- | --- |")
    for phrasing, form in (
        ("event date: '... in March 2017'", "{first} in {month}"),
        ("publication: '... in news from March 2017'", "{first} in news from {month}"),
    ):
        queries = [(form.format(first=f, month=m), gold) for f, m, gold in cases]
        for on in (False, True):
            r.time_words = on
            ranks = [
                gold_rank([h.chunk.article_id for h in r.search(q, k=10)], gold)
                for q, gold in queries
            ]
            m = retrieval_metrics(ranks, 5)
            print(
                f"| {phrasing} | {'on' if on else 'off'} | {m['recall_at_1']:.3f} "
                f"| {m['recall_at_k']:.3f} | {m['mrr_at_10']:.3f} |"
            )

    print()
    print(f"{len(events)} sentences naming a date in the index's span other than their own")
    print("| time words | R@1 | R@5 | MRR@10 |")
    print("| --- | --- | --- | --- |")
    for on in (False, True):
        r.time_words = on
        ranks = [
            gold_rank([h.chunk.article_id for h in r.search(q, k=10)], gold) for q, gold in events
        ]
        m = retrieval_metrics(ranks, 5)
        print(
            f"| {'on' if on else 'off'} | {m['recall_at_1']:.3f} | {m['recall_at_k']:.3f} "
            f"| {m['mrr_at_10']:.3f} |"
        )


def event_cases(r: Any, n: int) -> list[tuple[str, str]]:
    """Sentences of the articles that name a date (written out) within the index's dates but
    not their article's own publish day: event dates, e.g. "on March 2" in a 9 March story."""
    first, last = r.lexical_index().date_span()
    start, end = (date(d // 10000, d // 100 % 100, d % 100) for d in (first, last))
    found = []
    for _cid, text, meta in r.store.iter_chunks():
        day = int(meta.get("day") or 0)
        if not day:
            continue
        own = date(day // 10000, day // 100 % 100, day % 100)
        for sentence in re.split(r"(?<=[.!?])\s", text):
            if len(sentence.split()) < 8 or RECENT.search(sentence):
                continue
            t = find_time_range(sentence, end)
            if t is None or t.since is None or t.until is None or not re.search(r"\d", t.phrase):
                continue  # relative words ("last week") meant the article's own time
            if t.phrase.lower().startswith("from"):  # read as "since" before this change
                continue
            if t.overlaps(start, end) and not t.since <= own <= t.until:
                found.append((sentence, str(meta["article_id"])))
                break
    return random.Random(0).sample(found, min(n, len(found)))


if __name__ == "__main__":
    main()
