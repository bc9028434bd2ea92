"""Which retrieved sentence answers the question? Sentence-ranking variants on XQuAD dev.

    .venv/bin/python bench/sentence_ranking.py [--questions 612]

Indexes the 120 XQuAD dev paragraphs, retrieves for every question as `ask` does, and scores
each candidate sentence with the features `qa/answer.py` can use. Then, for each ranking
variant, prints how often the gold answer is in the top-1 sentence, in the top-2, and in the
30-word excerpt the answer's first sentence shows. The questions are split by article into
two halves (A: articles 0, 2, 4...; B: the rest): a change is kept only if it helps on both,
so the choice is not fitted to one half. Features are cached in bench/.cache/.
"""

from __future__ import annotations

import argparse
import pickle
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "bench" / ".cache" / "sentence_ranking.pkl"
MARGINS = (0.0, 0.1, 0.2, 0.3, 9.0)  # 9.0: the runner-up always
DATA = ROOT.parent / "shared" / "eval" / "xquad" / "xquad-dev.json"


def collect(n: int) -> list[dict[str, Any]]:
    """Per question: gold answers, article half, and each candidate's text and features."""
    from answer_quality import xquad_app

    from qa.answer import rank_sentences

    app, qs = xquad_app("extractive", DATA)
    questions = [(q, golds, k % 2) for q, golds, _, k in qs]
    rows = []
    for q, golds, half in questions[:n]:
        hits = app.retriever.search(q, k=app.settings.k)
        r = rank_sentences(q, hits, app.embeddings)
        qv = np.asarray(app.embeddings.embed_query(q), dtype=np.float32)
        rows.append(
            {
                "q": q,
                "golds": golds,
                "half": half,
                "texts": [c.text for c in r.cands],
                "relevance": r.relevance.tolist(),
                "cosine": (r.vectors @ qv).tolist() if len(r.cands) else [],
                "hit_rank": [hits.index(c.hit) for c in r.cands],
                "chunk": [c.hit.chunk.id for c in r.cands],
            }
        )
    return rows


def evaluate(rows: list[dict[str, Any]], score: Callable[[dict[str, Any]], np.ndarray]) -> str:
    """top-1 / top-2 / first-sentence-excerpt contains-gold, for halves A and B."""
    from qa.answer import FIRST_SENTENCE_WORDS, excerpt
    from qa.eval_squad import contains_gold
    from qa.verify import content_terms

    out = []
    for half in (0, 1):
        part = [r for r in rows if r["half"] == half and r["texts"]]
        t1 = t2 = ex = 0
        comp = dict.fromkeys(MARGINS, 0)
        for r in part:
            order = np.argsort(-score(r), kind="stable")
            top = [r["texts"][i] for i in order[:2]]
            t1 += contains_gold(top[0], r["golds"])
            t2 += contains_gold(" ".join(top), r["golds"])
            first = top[0]
            if len(first.split()) > FIRST_SENTENCE_WORDS:
                first = excerpt(first, frozenset(content_terms(r["q"])), FIRST_SENTENCE_WORDS)
            ex += contains_gold(first, r["golds"])
            sc = score(r)
            for m in MARGINS:
                # The answer as composed: the excerpt, the whole best sentence, and the
                # runner-up when it scores within m of the best.
                parts = [first, top[0]]
                if len(order) > 1 and sc[order[0]] - sc[order[1]] <= m:
                    parts.append(top[1])
                comp[m] += contains_gold(" ".join(parts), r["golds"])
        n = len(part)
        composed = " ".join(f"m{m}={comp[m] / n:.3f}" for m in MARGINS)
        out.append(
            f"{'AB'[half]}: top1 {t1 / n:.3f} top2 {t2 / n:.3f} excerpt {ex / n:.3f} "
            f"answer {composed}"
        )
    return " | ".join(out)


def main() -> None:
    """Collect (or load) the features, print every variant's numbers."""
    p = argparse.ArgumentParser()
    p.add_argument("--questions", type=int, default=612)
    p.add_argument("--fresh", action="store_true", help="recompute the cached features")
    args = p.parse_args()
    if not DATA.is_file():
        print(f"skipped: {DATA} is missing")
        return
    if CACHE.is_file() and not args.fresh:
        rows = pickle.loads(CACHE.read_bytes())
    else:
        rows = collect(args.questions)
        CACHE.parent.mkdir(parents=True, exist_ok=True)
        CACHE.write_bytes(pickle.dumps(rows))
    variants: dict[str, Callable[[dict[str, Any]], np.ndarray]] = {
        "current (cosine + 0.3 lexical - headline)": lambda r: np.asarray(r["relevance"]),
        "cosine only": lambda r: np.asarray(r["cosine"]),
    }
    print(f"{len(rows)} questions")
    for name, fn in variants.items():
        print(f"{name:45s} {evaluate(rows, fn)}")


if __name__ == "__main__":
    main()
