"""Peak memory and time of indexing one huge record: a CSV whose one text field is 10 MB, and a
2 MB .txt file (issue 21: 3.17 GB and 5 min 21 s for the CSV before records were capped).

Each case runs `articleqa index` in a fresh process on a fresh data dir and reads the child's
peak RSS (ru_maxrss). Run: PYTHONPATH=. .venv/bin/python bench/big_record.py [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PHRASE = (
    "the council said on monday that its budget for roads and schools would rise next year "
    "after a vote in which critics argued the plan ignored rural towns and their hospitals"
)


def prose(chars: int, seed: int) -> str:
    """Sentence-like text of about `chars` characters (words of a news sentence, shuffled)."""
    rng = random.Random(seed)
    words = PHRASE.split()
    out: list[str] = []
    size = 0
    while size < chars:
        sentence = " ".join(rng.choice(words) for _ in range(rng.randint(8, 24)))
        sentence = sentence.capitalize() + ". "
        out.append(sentence)
        size += len(sentence)
    return "".join(out)[:chars]


def run_case(name: str, source: Path, data: Path) -> None:
    """Index source in a child process; print wall time, peak RSS and the summary line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "qa", "--data-dir", str(data), "index", str(source)],
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB, max over children
    note = "" if peak > before else " (peak not above an earlier case's)"
    print(f"{name}: {wall:.1f} s, peak RSS {peak / 1024:.0f} MB{note}, exit {proc.returncode}")
    print("   " + " | ".join((proc.stdout + proc.stderr).strip().splitlines()[:3]))


def main() -> None:
    """Write the inputs, then index each in its own process (smallest peak first)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="work folder (default: a temp one)")
    args = parser.parse_args()
    work = args.out or Path(tempfile.mkdtemp(prefix="big-record-"))
    work.mkdir(parents=True, exist_ok=True)
    csv_file = work / "one-big-field.csv"
    csv_file.write_text(f'title,text\nBig,"{prose(10 * 1024 * 1024, 1)}"\nSmall,"A small row."\n')
    txt = work / "two-mb.txt"
    txt.write_text(prose(2 * 1024 * 1024 - 4096, 2))
    run_case("10 MB CSV field", csv_file, work / "data-csv")
    run_case("2 MB .txt", txt, work / "data-txt")


if __name__ == "__main__":
    main()
