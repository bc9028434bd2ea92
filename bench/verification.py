"""Claim-level verification on MTRAG dev: the trust_sets.py check plus harder alterations.

    .venv/bin/python bench/verification.py [--mtrag ../shared/eval/mtrag/mtrag-dev.jsonl]

Builds the items of `../shared/eval/trust_sets.py check-items` (reference sentences as
written, with one fact changed, and another task's sentence) and adds alterations of its
own to the same faithful sentences: a scale word changed (million -> billion), a number word
changed, two names of the sentence swapped (who did what), a negation removed, a month
changed, a direction word flipped (rose -> fell). Every item is checked against its task's
gold passages with the same verifier as `articleqa check` and the answer path, and the share
judged supported is printed per kind (faithful should be high, every other kind low).
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import App, quiet_environment  # noqa: E402
from qa.settings import load_settings  # noqa: E402

SHARED = ROOT.parent / "shared"
MONTHS = "January February March April May June July August September October November December"
FLIPS = {
    "increased": "decreased",
    "decreased": "increased",
    "rose": "fell",
    "fell": "rose",
    "higher": "lower",
    "lower": "higher",
    "more": "less",
    "less": "more",
    "before": "after",
    "after": "before",
    "won": "lost",
    "lost": "won",
    "allowed": "prohibited",
    "prohibited": "allowed",
    "larger": "smaller",
    "smaller": "larger",
}
NUMBER_WORDS = ["two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def trust_sets():
    """The shared trust_sets module (statements, altered), loaded by path."""
    spec = importlib.util.spec_from_file_location("trust_sets", SHARED / "eval" / "trust_sets.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def harder(sentence: str, rng: random.Random) -> list[tuple[str, str]]:
    """Our own alterations of one sentence: (kind, altered text) for each that applies."""
    out = []
    m = re.search(r"\b(million|billion|thousand)\b", sentence)
    if m:
        new = {"million": "billion", "billion": "million", "thousand": "million"}[m.group()]
        out.append(("scale", sentence[: m.start()] + new + sentence[m.end() :]))
    m = re.search(r"\b(" + "|".join(NUMBER_WORDS) + r")\b", sentence)
    if m:
        new = rng.choice([w for w in NUMBER_WORDS if w != m.group()])
        out.append(("number-word", sentence[: m.start()] + new + sentence[m.end() :]))
    names = list(dict.fromkeys(re.findall(r"(?<=[a-z,;:] )[A-Z][a-z]{2,}\b", sentence)))
    if len(names) >= 2:
        a, b = names[0], names[1]
        swapped = re.sub(rf"\b({a}|{b})\b", lambda x: b if x.group() == a else a, sentence)
        out.append(("role-swap", swapped))
    m = re.search(r"\s(not|never)\b|n't\b", sentence)
    if m:
        out.append(("negation-removed", sentence[: m.start()] + sentence[m.end() :]))
    m = re.search(r"\b(" + MONTHS.replace(" ", "|") + r")\b", sentence)
    if m:
        new = rng.choice([x for x in MONTHS.split() if x != m.group()])
        out.append(("month", sentence[: m.start()] + new + sentence[m.end() :]))
    m = re.search(r"\b(" + "|".join(FLIPS) + r")\b", sentence)
    if m:
        out.append(("direction", sentence[: m.start()] + FLIPS[m.group()] + sentence[m.end() :]))
    return out


def items(mtrag: Path) -> list[dict]:
    """trust_sets' items, then ours for the same faithful sentences."""
    ts = trust_sets()
    rows = [json.loads(line) for line in mtrag.read_text().splitlines() if line.strip()]
    rows = [
        r for r in rows if r["answerability"] == ["ANSWERABLE"] and r["contexts"] and r["targets"]
    ]
    rng, ours = random.Random(7), random.Random(11)
    out: list[dict] = []
    for i, r in enumerate(rows):
        passages = [c["text"].strip() for c in r["contexts"]]
        other = ts.statements(rows[(i + 41) % len(rows)]["targets"][0]["text"])
        for j, s in enumerate(ts.statements(r["targets"][0]["text"])):
            out.append({"kind": "faithful", "text": s, "passages": passages})
            if j < len(other):
                out.append({"kind": "mismatched", "text": other[j], "passages": passages})
            change = ts.altered(s, " ".join(passages), rng)
            if change:
                out.append(
                    {"kind": f"perturbed-{change[0]}", "text": change[1], "passages": passages}
                )
            for kind, text in harder(s, ours):
                out.append({"kind": f"ours-{kind}", "text": text, "passages": passages})
    return out


def main() -> None:
    """Check every item and print the supported share per kind."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--mtrag", type=Path, default=SHARED / "eval" / "mtrag" / "mtrag-dev.jsonl")
    args = ap.parse_args()
    quiet_environment()
    app = App(load_settings())
    acc: dict[str, list[int]] = collections.defaultdict(lambda: [0, 0])
    reasons: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    started = time.perf_counter()
    all_items = items(args.mtrag)
    for item in all_items:
        result = app.check(item["text"], passages=item["passages"])
        group = item["kind"]
        acc[group][0] += result.supported
        acc[group][1] += 1
        for s in result.sentences:
            if not s.supported:
                reasons[group][s.reason.split(" ")[0]] += 1
    print(f"{len(all_items)} items in {time.perf_counter() - started:.0f} s")
    print(f"{'kind':24} {'supported':>9} {'n':>5}  reasons for rejected sentences")
    for kind, (yes, n) in sorted(acc.items()):
        why = ", ".join(f"{k} {v}" for k, v in reasons[kind].most_common())
        print(f"{kind:24} {yes / n:9.3f} {n:5d}  {why}")


if __name__ == "__main__":
    main()
