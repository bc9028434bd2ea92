"""The local model choosing the short answer among the rules' candidate spans (GBNF), on
XQuAD dev, against the rules; and its cost against the free-text draft.

Answers each sampled question with the extractive backend, then on that answer's citations
scores: the rules (always answering, abstaining), the model's choice alone, the rules' best
when the model agrees, and `checked_short_answer`; per half of the articles (the rules were
tuned on the first). With --timing, also the p50 seconds of an answer with the model's
free-text draft, of an extractive answer and of `choose_span`, interleaved per question.

    .venv/bin/python bench/span_choice.py --model smollm2 --n 150 --half first
    .venv/bin/python bench/span_choice.py --model gemma3-270m --n 20 --timing
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    """Answer the sample, score each picker, print one JSON object."""
    from answer_quality import _short_answer_stats, xquad_app

    from qa.answer import answer
    from qa.eval_squad import normalize_answer, token_f1
    from qa.llm_local import LocalChatModel, find_gguf
    from qa.short_answer import short_answer
    from qa.span_choice import checked_short_answer, choose_span

    p = argparse.ArgumentParser()
    p.add_argument("--model", default="smollm2")
    p.add_argument("--n", type=int, default=150)
    p.add_argument("--half", choices=["first", "second", "all"], default="all")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timing", action="store_true")
    p.add_argument("--data", default=str(ROOT.parent / "shared/eval/xquad/xquad-dev.json"))
    args = p.parse_args()
    app, questions = xquad_app("extractive", Path(args.data))
    articles = len({x[3] for x in questions})
    pool = [
        x
        for x in questions
        if args.half == "all" or (2 * x[3] < articles) == (args.half == "first")
    ]
    sample = random.Random(args.seed).sample(pool, min(args.n, len(pool)))
    llm = LocalChatModel(
        model_path=str(find_gguf(args.model)),
        n_threads=app.settings.llm_threads,
        max_tokens=app.settings.llm_max_tokens,
    )
    llm.warm()
    chosen: dict[str, str] = {}

    def model(q: str, s: Sequence[str]) -> str:
        chosen[q] = choose_span(llm, q, s)
        return chosen[q]

    def agrees(q: str, s: Sequence[str]) -> str:
        best = short_answer(q, s, min_margin=0.0)
        return best if best and best == chosen[q] else ""

    pickers: dict[str, Callable[[str, Sequence[str]], str]] = {
        "rules_always": lambda q, s: short_answer(q, s, min_margin=0.0),
        "rules_abstaining": lambda q, s: short_answer(q, s),
        "model": model,
        "rules_when_model_agrees": agrees,
        "model_checked": lambda q, s: checked_short_answer(llm, q, s),
    }
    scored: dict[str, dict[bool, list[tuple[float, bool, bool]]]] = {
        name: {False: [], True: []} for name in pickers
    }
    spent: dict[str, list[float]] = {name: [] for name in pickers}
    timing: dict[str, list[float]] = {"answer_with_draft": [], "extractive_answer": []}
    for q, golds, _aid, article in sample:
        if args.timing:
            t0 = time.perf_counter()
            answer(q, retriever=app.retriever, llm=llm)
            timing["answer_with_draft"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        ans = answer(q, retriever=app.retriever, llm=None)
        timing["extractive_answer"].append(time.perf_counter() - t0)
        snippets = [c.snippet for c in ans.citations]
        for name, pick in pickers.items():
            t0 = time.perf_counter()
            sa = pick(q, snippets)
            spent[name].append(time.perf_counter() - t0)
            f1 = max(token_f1(sa, g) for g in golds) if sa else 0.0
            em = bool(sa) and any(normalize_answer(sa) == normalize_answer(g) for g in golds)
            scored[name][2 * article >= articles].append((f1, em, bool(sa)))
    out: dict[str, Any] = {"model": args.model, "questions": len(sample), "half": args.half}
    out["pickers"] = {name: _short_answer_stats(h, spent[name]) for name, h in scored.items()}
    out["choose_span_p50_s"] = _p50(spent["model"])
    if args.timing:
        out["timing_p50_s"] = {k: _p50(v) for k, v in timing.items()}
    out["load_average"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out))


def _p50(values: list[float]) -> float:
    return round(sorted(values)[len(values) // 2], 3) if values else 0.0


if __name__ == "__main__":
    main()
