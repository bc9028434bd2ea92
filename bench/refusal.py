"""Refusals: is a question refused when its article is not indexed, answered when it is?

`ask` answers the XQuAD refusal set (`trust_sets.py refusal-set`) over an index of the news
corpus plus the present articles, writes answers.jsonl (one `ask --json` object per question,
for `trust_sets.py refusal-score`) and signals.jsonl (the answerability signals per question),
and prints the scores per half: "tune" (even pairs of XQuAD articles, where thresholds are
chosen) and "check" (odd pairs). `sweep` re-decides from signals.jsonl for a grid of
thresholds, without asking again. `mtrag` writes the same signals for MTRAG dev's tasks,
`own` for XQuAD dev questions over their own paragraphs (where nothing should be refused).

    .venv/bin/python bench/refusal.py ask --data-dir /tmp/idx --llm extractive --out /tmp/r
    .venv/bin/python bench/refusal.py sweep /tmp/r/signals.jsonl
    .venv/bin/python bench/refusal.py mtrag --out /tmp/r-mtrag
    .venv/bin/python bench/refusal.py own --out /tmp/r-own
    .venv/bin/python bench/refusal.py sweep --grid /tmp/r/signals.jsonl /tmp/r-mtrag/signals.jsonl \
        /tmp/r-own/signals.jsonl
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The refusal set as `trust_sets.py refusal-set xquad-dev.json bench/.cache/refusal` writes it
# (articles.jsonl to index with the news corpus, questions.jsonl to ask).
SETS = ROOT / "bench" / ".cache" / "refusal"
XQUAD = ROOT.parent / "shared/eval/xquad/xquad-dev.json"
MTRAG = ROOT.parent / "shared/eval/mtrag/mtrag-dev.jsonl"


def halves(xquad: Path) -> dict[str, str]:
    """XQuAD question id -> "tune" or "check": articles pair up (even indexed, odd absent),
    and pairs alternate between the halves."""
    data = json.loads(xquad.read_text())["data"]
    return {
        q["id"]: "tune" if i // 2 % 2 == 0 else "check"
        for i, a in enumerate(data)
        for p in a["paragraphs"]
        for q in p["qas"]
    }


def ask(args: argparse.Namespace) -> None:
    """Answer every question of the refusal set; write answers and signals; print scores."""
    from qa.answer import rank_sentences
    from qa.answerability import evidence_signals
    from qa.app import App, quiet_environment
    from qa.settings import load_settings
    from qa.types import Answer
    from qa.verify import content_terms

    quiet_environment()
    app = App(load_settings(data_dir=Path(args.data_dir), llm=args.llm))
    half = halves(Path(args.xquad))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    questions = [json.loads(line) for line in Path(args.questions).read_text().splitlines()]
    rows = []
    # Line-buffered: a run cut short (the local model is slow) still leaves whole lines.
    with (
        open(out / "answers.jsonl", "w", buffering=1) as answers,
        open(out / "signals.jsonl", "w", buffering=1) as sig,
    ):
        for n, q in enumerate(questions, 1):
            kind, qid = q["id"].split("-", 1)
            hits = app.retriever.search(q["question"], k=app.settings.k)
            ranked = rank_sentences(q["question"], hits, app.embeddings)
            weights = app.retriever.lexical_index().idf(sorted(content_terms(q["question"])))
            signals, missing = evidence_signals(weights, hits, ranked, q["question"])
            row: dict[str, Any] = {
                "id": q["id"],
                "half": half[qid],
                "refuse": kind == "absent",
                "signals": signals,
                "missing": missing,
                "weights": weights,
            }
            if not args.no_answers:
                final = [x for x in app.ask(q["question"]) if isinstance(x, Answer)][-1]
                answers.write(json.dumps(final.to_dict(), ensure_ascii=False) + "\n")
                row["answerable"] = final.answerable
                row["notes"] = list(final.notes)
            sig.write(json.dumps(row, ensure_ascii=False) + "\n")
            rows.append(row)
            if n % 50 == 0:
                print(f"{n}/{len(questions)}", file=sys.stderr)
    if not args.no_answers:
        _print_scores(rows, "answered")


def mtrag(args: argparse.Namespace) -> None:
    """The answerability signals of MTRAG dev's tasks (retrieval only, no answers)."""
    from qa.app import quiet_environment
    from qa.eval_mtrag import run_mtrag_eval
    from qa.settings import load_settings

    quiet_environment()
    with tempfile.TemporaryDirectory(prefix="aq-refusal-mtrag-") as tmp:
        settings = load_settings(data_dir=Path(tmp), llm="extractive")
        report = run_mtrag_eval(Path(args.mtrag), settings, answers=False)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "signals.jsonl", "w") as sig:
        for n, (j, unanswerable) in enumerate(report.judgements):
            row = {"id": f"mtrag-{n}", "half": "mtrag", "refuse": unanswerable}
            sig.write(json.dumps(row | {"signals": j.signals, "reason": j.reason}) + "\n")
    print(
        f"mtrag refusal precision {report.refusal_precision:.3f} recall {report.refusal_recall:.3f}"
    )


def own(args: argparse.Namespace) -> None:
    """Signals of XQuAD dev questions over their own paragraphs (bench/answer_quality.py's
    index), with whether the unrefused extractive answer contains the gold: a refusal here
    is a lost answer."""
    import random
    import re

    import qa.answer
    from bench.answer_quality import xquad_app
    from qa.answer import answer, rank_sentences
    from qa.answerability import Judgement, evidence_signals
    from qa.eval_squad import contains_gold
    from qa.verify import content_terms

    app, questions = xquad_app("extractive", Path(args.xquad))
    # Every question answered, so a sweep sees which refusals would lose a right answer.
    qa.answer.judge = lambda *a, **k: Judgement(True, "", {})  # type: ignore[attr-defined]
    sample = random.Random(0).sample(questions, args.n)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "signals.jsonl", "w") as sig:
        for n, (q, golds, _, _) in enumerate(sample):
            hits = app.retriever.search(q, k=app.settings.k)
            ranked = rank_sentences(q, hits, app.embeddings)
            weights = app.retriever.lexical_index().idf(sorted(content_terms(q)))
            signals, _ = evidence_signals(weights, hits, ranked, q)
            ans = answer(q, retriever=app.retriever, llm=None)
            gold = contains_gold(re.sub(r"\[\d+\]", "", ans.text), golds)
            row = {"id": f"own-{n}", "half": "own", "refuse": False, "signals": signals}
            sig.write(json.dumps(row | {"gold": gold}) + "\n")


def sweep(args: argparse.Namespace) -> None:
    """Scores per half for a grid of thresholds, from saved signals."""
    from qa.answerability import MIN_COVERAGE, WEAK_RELEVANCE, decide

    rows = [json.loads(line) for f in args.signals for line in Path(f).read_text().splitlines()]
    grid = itertools.product(
        [x / 100 for x in range(40, 81, 5)] if args.grid else [WEAK_RELEVANCE],
        [x / 100 for x in range(30, 71, 5)] if args.grid else [MIN_COVERAGE],
    )
    for relevance, coverage in grid:
        for row in rows:
            row["answerable"] = decide(
                row["signals"],
                min_cosine=args.min_cosine,
                weak_relevance=relevance,
                min_coverage=coverage,
            ).answerable
        print(f"weak_relevance {relevance:.2f} min_coverage {coverage:.2f}: ", end="")
        _print_scores(rows, "decided", end="")
        print()


def _print_scores(rows: Iterable[dict[str, Any]], what: str, end: str = "\n") -> None:
    """Refused share of the refuse=True rows and answered share of the rest, per half."""
    acc: dict[str, list[int]] = {}
    gold = [0, 0]  # "own" rows: right answers kept, rows
    for row in rows:
        if "gold" in row:
            gold[0] += bool(row["gold"] and row["answerable"])
            gold[1] += 1
        a = acc.setdefault(row["half"], [0, 0, 0, 0])
        if row["refuse"]:
            a[0] += not row["answerable"]
            a[1] += 1
        else:
            a[2] += bool(row["answerable"])
            a[3] += 1
    parts = []
    for half, (r, nr, ok, na) in sorted(acc.items()):
        refused_right = f"{r / nr:.3f}" if nr else "-"
        if half == "mtrag":  # precision/recall of refusals, the MTRAG figures
            wrong = na - ok
            p = r / (r + wrong) if r + wrong else 0.0
            parts.append(f"mtrag P {p:.3f} R {refused_right} (refused {r + wrong})")
        elif half == "own":  # XQuAD over its own paragraphs: nothing should be refused
            parts.append(f"own: answered {ok / na:.3f} contains-gold {gold[0] / gold[1]:.3f}")
        else:
            answered = f"{ok / na:.3f}" if na else "-"
            parts.append(f"{half}: refused {refused_right} answered {answered}")
    print(f"[{what}] " + " | ".join(parts), end=end)


def main() -> None:
    """Parse the subcommand and run it."""
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("ask")
    a.add_argument("--data-dir", required=True)
    a.add_argument("--llm", default="extractive")
    a.add_argument("--out", required=True)
    a.add_argument("--questions", default=str(SETS / "questions.jsonl"))
    a.add_argument("--xquad", default=str(XQUAD))
    a.add_argument("--no-answers", action="store_true")
    m = sub.add_parser("mtrag")
    m.add_argument("--mtrag", default=str(MTRAG))
    m.add_argument("--out", required=True)
    o = sub.add_parser("own")
    o.add_argument("--xquad", default=str(XQUAD))
    o.add_argument("--n", type=int, default=612)
    o.add_argument("--out", required=True)
    s = sub.add_parser("sweep")
    s.add_argument("signals", nargs="+")
    s.add_argument("--grid", action="store_true")
    s.add_argument("--min-cosine", type=float, default=0.30)
    args = p.parse_args()
    {"ask": ask, "mtrag": mtrag, "own": own, "sweep": sweep}[args.cmd](args)


if __name__ == "__main__":
    main()
