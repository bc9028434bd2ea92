"""How the ONNX embedder should use the cores: batch size, and split runs vs parallel runs.

    .venv/bin/python bench/onnx_batching.py [--chunks 1200] [--rounds 2]

Each layout encodes the same news chunks (chunked as `index` chunks them) in a child process
of its own, so its peak RSS is its own: best-of-rounds chunks/s (wall), and the peak memory the
encoding added over the loaded model. Every layout is measured twice: on an idle machine, and
beside a thread that keeps one core busy with Python work, as `index` does with loading,
chunking and store writes while the model runs. Layouts:
- split: one run at a time over all cores (onnxruntime's intra-op threads);
- parallel: one single-threaded run per core at once (what OnnxEmbeddings does).
Needs ../shared/corpus; exits with a note when it is missing.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import quiet_environment  # noqa: E402

quiet_environment()

CORPUS = ROOT.parent / "shared" / "corpus" / "news-articles-2017.csv.gz"
MODELS = ROOT / "bench" / ".cache" / "models"
# (name, threads per run, rows per batch, padded pieces per batch)
LAYOUTS = [
    ("split, 32 rows (before)", 0, 32, 8192),
    ("parallel, 32 rows", 1, 32, 8192),
    ("parallel, 8 rows", 1, 8, 2048),
    ("parallel, 2 rows (default)", 1, 2, 512),
    ("parallel, 1 row", 1, 1, 256),
]


def peak_mb() -> int:
    """This process's peak resident memory so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return 0


def chunk_texts(n: int, count_tokens: object) -> list[str]:
    """The first n chunks of the news corpus."""
    from ingest.chunking import chunk

    csv.field_size_limit(1 << 30)
    texts: list[str] = []
    with gzip.open(CORPUS, "rt", encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f)):
            texts += [c.text for c in chunk(str(i), row["text"], count_tokens=count_tokens)]  # type: ignore[arg-type]
            if len(texts) >= n:
                return texts[:n]
    return texts


def child(run_threads: int, rows: int, pieces: int, busy: bool, n: int, rounds: int) -> None:
    """Encode n chunks with one layout; print a JSON line (chunks/s, added peak MB)."""
    from qa.embeddings import OnnxEmbeddings, packaged_model_path

    cores = os.cpu_count() or 1
    emb = OnnxEmbeddings(
        packaged_model_path(),
        cache_dir=MODELS,
        batch_size=rows,
        max_batch_tokens=pieces,
        run_threads=run_threads or cores,
    )
    texts = chunk_texts(n, emb.count_tokens)
    emb.warm()
    base = peak_mb()
    stop = threading.Event()

    def spin() -> None:  # one core of Python work, as indexing has beside the model
        x = 0
        while not stop.is_set():
            x = (x * 31 + 7) % 1_000_003

    if busy:
        threading.Thread(target=spin, daemon=True).start()
    best = 0.0
    for _ in range(rounds):
        t = time.perf_counter()
        emb.embed_array(texts)
        best = max(best, len(texts) / (time.perf_counter() - t))
    stop.set()
    print(json.dumps({"rate": best, "added_mb": peak_mb() - base}))


def main() -> None:
    """Run every layout in a child process, idle and busy; print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=1200)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--child", nargs=4, type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child[:3], bool(args.child[3]), args.chunks, args.rounds)
        return
    if not CORPUS.is_file():
        print(f"skipped: {CORPUS} is missing")
        return
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(f"{args.chunks} news chunks, best of {args.rounds} rounds\n")
    print("| layout | chunks/s idle | chunks/s, one core busy | peak RSS added, MB |")
    print("| --- | ---: | ---: | ---: |")
    for name, run_threads, rows, pieces in LAYOUTS:
        got = []
        for busy in (0, 1):
            cmd = [sys.executable, __file__, "--chunks", str(args.chunks)]
            cmd += ["--rounds", str(args.rounds), "--child"]
            cmd += [str(run_threads), str(rows), str(pieces), str(busy)]
            done = subprocess.run(cmd, capture_output=True, text=True)
            if done.returncode:
                sys.exit(f"{name} failed:\n{done.stderr[-2000:]}")
            got.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(
            f"| {name} | {got[0]['rate']:.1f} | {got[1]['rate']:.1f} | {got[0]['added_mb']} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
