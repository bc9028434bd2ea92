"""Cold command-line latency: `articleqa search` and `articleqa ask` each in a fresh process.

    .venv/bin/python bench/cold_cli.py --data-dir DIR [--rounds 5] [--llm local extractive]

Runs are interleaved (search, ask per backend, search, ...) so that machine load hits every
command alike; prints the wall-time p50 and the range of each, and ask p50 / search p50.
The index in DIR must exist (e.g. the news corpus: `articleqa --data-dir DIR index
../shared/corpus/news-articles-2017.csv.gz`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTIONS = [
    "How many people died when a small plane crashed into homes in California?",
    "Who did Serbia extradite to Russia?",
    "What did Philip Hammond make a U-turn on?",
    "How much did Russia's foreign trade fall in 2016?",
    "What did Rachel Dolezal say about race?",
]


def run(args: list[str]) -> float:
    """Wall seconds of one fresh `articleqa` process."""
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - started


def main() -> None:
    """Interleave the cold runs and print the figures."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--data-dir", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--llm", nargs="+", default=["local", "extractive"])
    a = ap.parse_args()
    exe = str(Path(sys.executable).with_name("articleqa"))
    base = [exe, "--data-dir", a.data_dir]
    times: dict[str, list[float]] = {"search": []} | {f"ask {llm}": [] for llm in a.llm}
    for n in range(a.rounds):
        q = QUESTIONS[n % len(QUESTIONS)]
        times["search"].append(run([*base, "search", q]))
        for llm in a.llm:
            times[f"ask {llm}"].append(run([*base, "--llm", llm, "ask", q]))
    search = statistics.median(times["search"])
    for name, values in times.items():
        p50 = statistics.median(values)
        print(
            f"{name:16} p50 {p50:5.2f} s  range {min(values):.2f}-{max(values):.2f} s"
            f"  ({p50 / search:.2f}x search)"
        )


if __name__ == "__main__":
    main()
