"""Search latency of the full hybrid Retriever.search at 10k and 100k chunks.

The chunks are the real ones of the XQuAD + news eval index (bench/retrieval_variants.py builds
it: ~18k chunks with their MiniLM vectors); 100k is reached by adding copies whose vectors get
small Gaussian noise (then renormalized) and whose texts drop one word, so HNSW and BM25 see
100k distinct entries with a realistic vocabulary. The queries are the 612 XQuAD questions,
embedded for real on every call (the query embedding is part of the measured time).

    .venv/bin/python bench/search_latency.py [--sizes 10000 100000] [--queries 300]
        [--threads 1] [--backends onnx-int8 torch]

Prints wall-clock and CPU-time p50/p95 in ms of: query embedding alone, the Chroma dense query
alone, BM25 alone, and the whole search (embedding, dense, BM25, fusion, filters, diversity),
without and with a source + date filter. The built indexes are kept under bench/.cache/ for re-runs.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import quiet_environment  # noqa: E402

quiet_environment()

from qa.eval_squad import load_squad  # noqa: E402
from qa.retrieve import Filters, Retriever  # noqa: E402
from qa.settings import Settings  # noqa: E402

CACHE = ROOT / "bench" / ".cache"
SOURCE_INDEX = CACHE / "xquad-news-torch" / "index"
XQUAD = ROOT.parent / "shared" / "eval" / "xquad" / "xquad-dev.json"


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(np.ceil(q / 100 * len(ordered))) - 1))]


def read_source(embeddings: Any) -> tuple[list[str], list[str], list[dict[str, Any]], np.ndarray]:
    """Every chunk of the eval index: ids, texts, metadata, vectors."""
    from qa.backends import make_client
    from qa.store import Store

    store = Store(make_client(Settings(data_dir=SOURCE_INDEX)), embeddings, "eval")
    rows = list(store.iter_chunk_vectors())
    ids = [i for i, _, _, _ in rows]
    texts = [t for _, t, _, _ in rows]
    metas = [m for _, _, m, _ in rows]
    return ids, texts, metas, np.asarray([v for _, _, _, v in rows], dtype=np.float32)


def build(size: int, embeddings: Any) -> Retriever:
    """A Store of `size` chunks (kept on disk under bench/.cache/latency-N) and its Retriever."""
    from qa.backends import make_client
    from qa.store import Store
    from tests.store_support import put_chunks

    folder = CACHE / f"latency-{size}"
    store = Store(make_client(Settings(data_dir=folder)), embeddings, "bench")
    have = store.count()[1]
    if have != size:
        if have:
            store.client.delete_collection(f"{store.name}-chunks")
            store = Store(make_client(Settings(data_dir=folder)), embeddings, "bench")
        ids, texts, metas, vecs = read_source(embeddings)
        rng = np.random.default_rng(0)
        t0 = time.perf_counter()
        batch_ids: list[str] = []
        batch_meta: list[dict[str, Any]] = []
        batch_texts: list[str] = []
        batch_vecs: list[np.ndarray] = []
        for n in range(size):
            i, copy = n % len(ids), n // len(ids)
            text, meta, vec = texts[i], dict(metas[i]), vecs[i]
            if copy:
                words = text.split()
                drop = int(rng.integers(len(words))) if words else 0
                text = " ".join(words[:drop] + words[drop + 1 :]) or text
                vec = vec + rng.normal(0, 0.02, vec.shape).astype(np.float32)
                vec /= np.linalg.norm(vec)
                meta["article_id"] = f"{meta.get('article_id', '')}~{copy}"
            batch_ids.append(f"{ids[i]}~{copy}")
            batch_meta.append(meta)
            batch_texts.append(text)
            batch_vecs.append(vec)
            if len(batch_ids) == 2000 or n == size - 1:
                put_chunks(store, batch_ids, batch_texts, batch_meta, np.asarray(batch_vecs))
                batch_ids, batch_meta, batch_texts, batch_vecs = [], [], [], []
                print(f"  {n + 1}/{size} chunks stored", file=sys.stderr, flush=True)
        store.bump_generation()
        print(f"  built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    retriever = Retriever.from_settings(store, embeddings, Settings(), lexical_dir=folder / "bm25")
    t0 = time.perf_counter()
    retriever.lexical_index()
    print(f"  BM25 index ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return retriever


def timed(fn: Callable[[str], Any], queries: list[str]) -> tuple[list[float], list[float]]:
    """Wall-clock and CPU milliseconds of fn on each query.

    On a shared, oversubscribed machine the wall clock mostly measures waiting for a core;
    the process CPU time (all threads) is what the search costs, i.e. its latency on an idle
    core when the work is single-threaded (torch is set to one thread here).
    """
    wall, cpu = [], []
    for q in queries:
        t0, c0 = time.perf_counter(), time.process_time()
        fn(q)
        cpu.append((time.process_time() - c0) * 1000)
        wall.append((time.perf_counter() - t0) * 1000)
    return wall, cpu


def measure(r: Retriever, embeddings: Any, queries: list[str], backend: str) -> None:
    """Print p50/p95/mean of every stage on one index."""
    from tests.store_support import dense_search

    vectors = {q: embeddings.embed_query(q) for q in queries[:20]}
    index = r.lexical_index()
    day = index.date_span()[1]
    since = f"{day // 10000}-{day // 100 % 100:02d}-01"
    filters = Filters(sources=("abcnews.go.com", "cnn.com", "squad"), since=since)
    for q in queries[:20]:  # warm every path once
        r.search(q, k=5)
    stages: list[tuple[str, Callable[[str], Any]]] = [
        ("query embedding", embeddings.embed_query),
        ("dense (Chroma HNSW, k=40)", lambda q: dense_search(r.store, vectors[q], 40)),
        ("BM25 (k=40)", lambda q: index.search(q, 40)),
        ("full search, k=5", lambda q: r.search(q, k=5)),
        ("full search, k=5, source+date filter", lambda q: r.search(q, k=5, filters=filters)),
        ("full search + time words ('last month')", lambda q: r.search(q + " last month")),
    ]
    for name, fn in stages:
        # Dense alone reuses 20 precomputed vectors: it must not include the embedding.
        qs = queries[:20] * (len(queries) // 20) if name.startswith("dense") else queries
        wall, cpu = timed(fn, qs)
        print(
            f"| {r.store.count()[1]} | {backend} | {name} | {pct(wall, 50):.1f} "
            f"| {pct(wall, 95):.1f} "
            f"| {pct(cpu, 50):.1f} | {pct(cpu, 95):.1f} |",
            flush=True,
        )


def main() -> None:
    """Build (or reuse) each size, then time every stage on the same queries."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1, help="torch threads for the embedding")
    ap.add_argument("--backends", nargs="+", default=["onnx-int8", "torch"])
    args = ap.parse_args()
    if not XQUAD.exists() or not SOURCE_INDEX.exists():
        print(
            "skipped: needs ../shared and bench/.cache/xquad-news-torch (run retrieval_variants.py)"
        )
        return
    import torch

    from qa.backends import make_embeddings
    from qa.embeddings import SentenceTransformerEmbeddings, packaged_model_path

    torch.set_num_threads(args.threads)
    models = {
        b: make_embeddings(Settings(embedding_backend=b), cache=False)  # type: ignore[arg-type]
        for b in args.backends
    }
    for m in models.values():
        m.warm()  # type: ignore[attr-defined]
    _, questions = load_squad(XQUAD)
    queries = [q.question for q in random.Random(0).sample(questions, args.queries)]
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print("| chunks | embeddings | stage | wall p50 ms | wall p95 ms | CPU p50 ms | CPU p95 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for size in args.sizes:
        print(f"size {size}:", file=sys.stderr)
        # The collections were created with the torch model's embedding-function config;
        # queries bring their own vectors, so this only keeps Chroma's config check happy.
        r = build(size, SentenceTransformerEmbeddings(packaged_model_path()))
        for backend, model in models.items():
            r.embeddings = model
            measure(r, model, queries, backend)


if __name__ == "__main__":
    main()
