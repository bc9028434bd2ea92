"""Digests over the 2017 news corpus: ten topics, two comparisons.

Per topic: the distinct articles the digest cites, whether they are in date order, and how
many are on the topic. On the topic = every one of the topic's key patterns (regular
expressions, case-insensitive) occurs in the cited article's title or full text.

`--explore` prints, per topic, every retrieved article's best sentence with its relevance, the
on-topic rule's verdict, and the sentence cosine of each pair of on-topic lines (to choose
MIN_RELEVANCE and SAME_STORY in qa/digest.py).

    cp -r /work/evaldata/news-refusal /tmp/digest-idx   # a copy: never write to the original
    PYTHONPATH=$PWD .venv/bin/python bench/digests.py --data-dir /tmp/digest-idx [--explore]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import App, quiet_environment  # noqa: E402

quiet_environment()

import numpy as np  # noqa: E402

from qa.answer import answer, rank_sentences  # noqa: E402
from qa.digest import DIGEST_K, MIN_RELEVANCE, best_per_article, topic_of  # noqa: E402
from qa.render import answer_text  # noqa: E402
from qa.settings import Settings  # noqa: E402

TOPICS: list[tuple[str, str, list[str]]] = [
    ("Romania protests", "What happened with the protests in Romania?", [r"romania"]),
    ("travel ban", "Summarize the news about Trump's travel ban", [r"travel ban"]),
    ("Brexit", "Give me a timeline of Brexit and Article 50", [r"brexit|article 50"]),
    (
        "North Korea missiles",
        "What happened with North Korea's missile launches?",
        [r"north korea", r"missile"],
    ),
    ("Oroville dam", "What did the articles report about the Oroville dam?", [r"oroville"]),
    ("Kim Jong Nam", "What happened in the Kim Jong Nam killing?", [r"kim jong[- ]nam"]),
    (
        "Dakota Access",
        "Summarize the news on the Dakota Access pipeline",
        [r"dakota access|standing rock"],
    ),
    (
        "Dutch election",
        "What happened in the Dutch election?",
        [r"dutch|netherlands", r"election|vote"],
    ),
    ("Mosul", "What is the latest news about the battle for Mosul?", [r"mosul"]),
    (
        "Westminster attack",
        "What did the reports say about the Westminster attack in London?",
        [r"westminster|london", r"attack"],
    ),
]
COMPARISONS = [
    "How do the CNN and DW reports differ on the Romania protests?",
    "Compare how Al Jazeera and TASS covered the Syria peace talks",
]

# Digests of a publication window (the newest article is from 2017-03-30).
WINDOWS = [
    "What happened last week?",
    "What did the articles report about North Korea last week?",
]


def on_topic(patterns: list[str], title: str, text: str) -> bool:
    """The bench's rule: every key pattern occurs in the title or the article text."""
    return all(re.search(p, f"{title}\n{text}", re.I) for p in patterns)


def main() -> None:
    """Print the per-topic table (or, with --explore, the lines behind it)."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--explore", action="store_true")
    ap.add_argument("--show", type=int, default=0, help="print the first N digests in full")
    args = ap.parse_args()
    app = App(Settings(data_dir=args.data_dir, llm="extractive"))
    r = app.retriever
    if args.explore:
        explore(app)
        return
    print(f"{'topic':22} {'kind':7} {'cited':>5} {'on topic':>8} {'dated':>5} {'in order':>8}")
    passed = 0
    for n, (name, question, patterns) in enumerate(TOPICS):
        ans = answer(question, retriever=r, llm=None, k=app.settings.k)
        ids = list(dict.fromkeys(c.article_id for c in ans.citations))
        texts = r.store.article_texts(ids)
        titles = {c.article_id: c.title for c in ans.citations}
        good = sum(on_topic(patterns, titles[i], texts.get(i, "")) for i in ids)
        days = [c.published[:10] for c in ans.citations if c.published]
        ordered = days == sorted(days)
        passed += len(ids) >= 3 and good == len(ids) and ordered
        print(f"{name:22} {ans.kind:7} {len(ids):5} {good:8} {len(days):5} {str(ordered):>8}")
        if n < args.show:
            print(f"\n$ articleqa ask {question!r}\n{answer_text(ans)}\n")
    print(f"{passed}/{len(TOPICS)} topics: >= 3 distinct articles, all on the topic, date order")
    for question in [*COMPARISONS, *WINDOWS]:
        ans = answer(question, retriever=r, llm=None, k=app.settings.k)
        print(f"\n$ articleqa ask {question!r}  (kind {ans.kind})\n{answer_text(ans)}")


def explore(app: App) -> None:
    """Every retrieved article's best line per topic, its relevance and the rule's verdict."""
    r = app.retriever
    for name, question, patterns in TOPICS:
        hits, window = r.search_in_window(question, k=DIGEST_K)
        topic = topic_of(question, window)
        lines = best_per_article(rank_sentences(topic, hits, r.embeddings))
        texts = r.store.article_texts([x.candidate.hit.chunk.article_id for x in lines])
        print(f"\n## {name}: topic {topic!r}")
        for x in sorted(lines, key=lambda x: -x.relevance):
            aid = x.candidate.hit.chunk.article_id
            ok = on_topic(patterns, x.candidate.hit.title, texts.get(aid, ""))
            print(
                f"{x.relevance:.3f} {'ON ' if ok else 'off'} {x.published[:10]} "
                f"{x.candidate.hit.meta.get('source', '')[:14]:14} "
                f"{x.candidate.hit.title[:50]!r:52} {' '.join(x.candidate.text.split())[:90]}"
            )
        good = [x for x in lines if x.relevance >= MIN_RELEVANCE and x.candidate.hit.title]
        tv = r.embeddings.embed_documents([x.candidate.hit.title for x in good])
        pairs = [
            (float(a.vector @ b.vector), float(np.dot(tv[i], tv[j])), a, b)
            for i, a in enumerate(good)
            for j, b in enumerate(good)
            if j > i
        ]
        for cos, tcos, a, b in sorted(pairs, key=lambda p: -max(p[0], p[1]))[:8]:
            print(
                f"  pair sentence {cos:.3f} title {tcos:.3f}: {a.candidate.hit.title[:60]!r}"
                f" | {b.candidate.hit.title[:60]!r}"
            )


if __name__ == "__main__":
    main()
