"""Chroma HNSW settings for the chunks: CPU to build the graph against recall of exact search.

Building the graph is most of what Chroma's chunk upserts cost an `index` run, and searching
it is cheap, so settings trade one against the other. For each setting this builds a fresh
collection from the same vectors and prints the insert CPU, the recall of the exact top 10 and
top 40 for real questions, and the time per query.

The vectors are those of the 100k-chunk index that bench/search_latency.py builds (real chunk
vectors, and copies with small noise); run that first. The questions are XQuAD's first 300,
embedded with the default backend.

    .venv/bin/python bench/hnsw_settings.py [--size 100000] [--questions 300]
        [--settings '{"ef_construction": 64, "ef_search": 800}' ...]

With no --settings it compares qa/store.py's HNSW with the one it replaced.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import quiet_environment  # noqa: E402

quiet_environment()

CACHE = ROOT / "bench" / ".cache"
XQUAD = ROOT.parent / "shared" / "eval" / "xquad" / "xquad-dev.json"
BEFORE = {"ef_construction": 128, "ef_search": 200}  # qa/store.py's HNSW until session 7


def vectors(size: int) -> np.ndarray:
    """The chunk vectors of bench/search_latency.py's index of `size` chunks."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    folder = CACHE / f"latency-{size}" / "chroma"
    if not folder.exists():
        sys.exit(f"{folder}: missing; run bench/search_latency.py --sizes {size} first")
    client = chromadb.PersistentClient(str(folder), ChromaSettings(anonymized_telemetry=False))
    col = client.get_collection("bench-chunks")
    parts, offset = [], 0
    while (got := col.get(include=["embeddings"], limit=5000, offset=offset))["ids"]:
        parts.append(np.asarray(got["embeddings"], dtype=np.float32))
        offset += len(got["ids"])
    return np.concatenate(parts)


def questions(n: int) -> np.ndarray:
    """The first n XQuAD questions, embedded as `ask` embeds them."""
    from qa.backends import make_embeddings
    from qa.eval_squad import load_squad
    from qa.settings import Settings

    _, qs = load_squad(XQUAD)
    emb = make_embeddings(Settings(cache_dir=CACHE / "models"), cache=False)
    return np.asarray([emb.embed_query(q.question) for q in qs[:n]], dtype=np.float32)


def measure(hnsw: dict[str, Any], vecs: np.ndarray, qs: np.ndarray, exact: np.ndarray) -> str:
    """Build a collection with these settings; a table row of its cost and recall."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    folder = tempfile.mkdtemp(prefix="hnsw-")
    try:
        client = chromadb.PersistentClient(folder, ChromaSettings(anonymized_telemetry=False))
        config: Any = {"hnsw": hnsw}
        col = client.create_collection("hnsw-bench", embedding_function=None, configuration=config)
        ids = [str(i) for i in range(len(vecs))]
        cpu = time.process_time()
        for lo in range(0, len(vecs), 1024):  # Chroma's threads count: process CPU time
            col.upsert(ids=ids[lo : lo + 1024], embeddings=vecs[lo : lo + 1024])
        cpu = time.process_time() - cpu
        wall = time.perf_counter()
        got = col.query(query_embeddings=qs, n_results=40, include=[])["ids"]
        ms = (time.perf_counter() - wall) / len(qs) * 1000
        found = [[int(i) for i in row] for row in got]
        r10 = np.mean(
            [len(set(g[:10]) & set(e[:10])) / 10 for g, e in zip(found, exact, strict=True)]
        )
        r40 = np.mean([len(set(g) & set(e)) / 40 for g, e in zip(found, exact, strict=True)])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    name = " / ".join(
        str(hnsw.get(k, "")) for k in ("max_neighbors", "ef_construction", "ef_search")
    )
    return f"| {name} | {cpu:.1f} | {r10:.4f} | {r40:.4f} | {ms:.2f} |"


def main() -> None:
    """Print one table row per setting."""
    from qa.store import HNSW

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=100_000)
    ap.add_argument("--questions", type=int, default=300)
    ap.add_argument("--settings", nargs="*", default=None, help="JSON objects over qa/store.py's")
    args = ap.parse_args()
    extras = [json.loads(s) for s in args.settings] if args.settings else [BEFORE, {}]
    vecs, qs = vectors(args.size), questions(args.questions)
    exact = np.argsort(-(qs @ vecs.T), axis=1)[:, :40]
    print(f"{len(vecs)} vectors, {len(qs)} questions")
    print("| M / ef_construction / ef_search | insert CPU-s | exact top 10 | top 40 | query ms |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for extra in extras:
        print(measure({**HNSW, **extra}, vecs, qs, exact), flush=True)


if __name__ == "__main__":
    main()
