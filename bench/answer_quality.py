"""Answer quality on XQuAD dev (clean paragraphs) for one answer backend.

Prints answer-contains-gold (SQuAD normalization), citation hit rate (first citation from the
gold paragraph), refusals, the share of first sentences of at most 30 words, the share of the
model's drafted sentences that verification kept, and p50 latency per answer.

    .venv/bin/python bench/answer_quality.py --backend local --n 100
    .venv/bin/python bench/answer_quality.py --backend extractive --n 150
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Index the 120 paragraphs, answer n sampled questions, print the numbers."""
    from ingest.index import index_sources
    from qa.app import App, quiet_environment
    from qa.eval_squad import contains_gold
    from qa.settings import Settings
    from qa.types import Answer, Article

    p = argparse.ArgumentParser()
    p.add_argument("--backend", default="local")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data", default=str(ROOT.parent / "shared/eval/xquad/xquad-dev.json"))
    args = p.parse_args()
    quiet_environment()
    tmp = Path(tempfile.mkdtemp(prefix="aq-answers-"))
    app = App(Settings(data_dir=tmp, llm=args.backend))
    data = json.loads(Path(args.data).read_text())
    articles, questions = [], []
    for a in data["data"]:
        for i, para in enumerate(a["paragraphs"]):
            aid = f"{a['title']}-{i}"
            articles.append(
                Article(id=aid, text=para["context"], title=a["title"], origin=str(tmp))
            )
            questions += [
                (q["question"], [x["text"] for x in q["answers"]], aid) for q in para["qas"]
            ]
    index_sources(
        [str(tmp)],
        store=app.store,
        embeddings=app.embeddings,
        count_tokens=app.embeddings.count_tokens,
        load=lambda o: articles,
    )
    app.store.bump_generation()
    sample = random.Random(args.seed).sample(questions, args.n)
    hit = cite = short = refused = drafted = verified = 0
    times = []
    for q, golds, aid in sample:
        t0 = time.perf_counter()
        ans = [x for x in app.ask(q) if isinstance(x, Answer)][-1]
        times.append(time.perf_counter() - t0)
        hit += contains_gold(re.sub(r"\[\d+\]", "", ans.text), golds)
        cite += bool(ans.citations) and ans.citations[0].article_id == aid
        refused += not ans.answerable
        first = re.split(r"(?<=\])[.!?]?\s+", ans.text)[0]
        words = [w for w in first.split() if re.search(r"\w", w) and not re.match(r"\[\d+\]", w)]
        short += len(words) <= 30
        drafted += ans.drafted
        verified += ans.verified
    times.sort()
    n = args.n
    print(
        json.dumps(
            {
                "backend": args.backend,
                "questions": n,
                "contains_gold": round(hit / n, 3),
                "citation_hit": round(cite / n, 3),
                "refused": round(refused / n, 3),
                "first_sentence_max_30_words": round(short / n, 3),
                "draft_sentences_verified": f"{verified}/{drafted}",
                "p50_s": round(times[n // 2], 2),
                "p95_s": round(times[int(n * 0.95) - 1], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
