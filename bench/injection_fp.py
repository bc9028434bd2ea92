"""False positives of the injection detector on real news: how many sentences does it flag?

Every sentence of the news corpus (ingest.chunking.sentence_spans, as qa.verify.candidates
splits chunks) is checked with qa.injection.flag_instructions, article by article; the flagged
ones are printed with the rule that fired, to read whether they really give an AI orders.

    .venv/bin/python bench/injection_fp.py [--corpus ../shared/corpus/news-articles-2017.csv.gz]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ingest.chunking import sentence_spans  # noqa: E402
from qa.injection import flag_instructions, matched_rule  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus" / "news-articles-2017.csv.gz"


def main() -> None:
    """Print the number of sentences flagged out of all, and each flagged sentence."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", type=Path, default=CORPUS)
    args = ap.parse_args()
    csv.field_size_limit(1 << 30)
    n_articles = n_sentences = 0
    flagged: list[tuple[str, str, str]] = []
    t0 = time.perf_counter()
    with gzip.open(args.corpus, "rt", encoding="utf-8", newline="") as f:
        for row in csv.DictReader(f):
            n_articles += 1
            text = row["text"]
            sentences = [text[a:b] for a, b in sentence_spans(text)]
            n_sentences += len(sentences)
            for sentence, flag in zip(sentences, flag_instructions(sentences), strict=True):
                if flag:
                    rule = matched_rule(sentence) or "after a heading"
                    flagged.append((row["article_id"], rule, sentence))
    secs = time.perf_counter() - t0  # reading and splitting included
    rate = len(flagged) / max(n_sentences, 1)
    print(
        f"{len(flagged)} of {n_sentences} sentences flagged ({rate:.5%}) in {n_articles} "
        f"articles, {secs:.1f} s"
    )
    for article_id, rule, sentence in flagged:
        print(f"- article {article_id} [{rule}]: {' '.join(sentence.split())}")


if __name__ == "__main__":
    main()
