"""The embedding backends side by side: raw encode speed, distance to torch, XQuAD recall.

    .venv/bin/python bench/embedding_backends.py [--sample 512] [--rounds 3] [--hybrid]

For each of `torch`, `onnx` (fp32) and `onnx-int8` (settings.embedding_backend), in one process:
- encode throughput on real news chunks (~190 word pieces, chunked as `index` does), rounds
  interleaved so machine noise hits every backend alike; wall-clock chunks/s (best round and
  median) and chunks per CPU-second (steadier when other work shares the 2 cores);
- cosine of each chunk's vector to torch's (min, 1st percentile, mean);
- dense-only retrieval on XQuAD dev (612 questions over its 120 paragraphs, chunked):
  recall@1, recall@5, MRR@10 — the most sensitive view of a change in vectors;
- with --hybrid, the whole hybrid retrieval through qa.eval_squad (index, BM25, fusion).

Needs ../shared (news corpus, XQuAD); exits with a note when it is missing.
"""

from __future__ import annotations

import argparse
import statistics
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

from qa.settings import Settings  # noqa: E402

SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus" / "news-articles-2017.csv.gz"
XQUAD = SHARED / "eval" / "xquad" / "xquad-dev.json"
BACKENDS = ("torch", "onnx", "onnx-int8")


def news_chunks(n: int, count_tokens: Any) -> list[str]:
    """n chunk texts spread evenly over the news corpus, chunked as `index` chunks them."""
    from ingest.chunking import chunk
    from ingest.loaders import load
    from qa.types import Article

    texts: list[str] = []
    for item in load(str(CORPUS)):
        if isinstance(item, Article):
            texts.extend(c.text for c in chunk(item.id, item.text, count_tokens=count_tokens))
    step = max(1, len(texts) // n)
    return texts[::step][:n]


def make(backend: str, cache_dir: Path) -> Any:
    """The backend's embeddings, uncached (every text is really encoded)."""
    from qa.backends import make_embeddings

    settings = Settings(embedding_backend=backend, cache_dir=cache_dir)  # type: ignore[arg-type]
    return make_embeddings(settings, cache=False)


def dense_recall(emb: Any, count_tokens: Any) -> dict[str, float]:
    """Dense-only ranks of the gold paragraph for every XQuAD question."""
    from ingest.chunking import chunk
    from qa.eval_squad import load_squad

    paragraphs, questions = load_squad(XQUAD)
    owner: list[int] = []
    texts: list[str] = []
    for p in paragraphs:
        for c in chunk(str(p.number), p.context, count_tokens=count_tokens):
            owner.append(p.number)
            texts.append(c.text)
    docs = np.asarray(emb.embed_documents(texts), dtype=np.float32)
    qs = np.asarray([emb.embed_query(q.question) for q in questions], dtype=np.float32)
    sims = qs @ docs.T
    owners = np.asarray(owner)
    r1 = r5 = mrr = 0.0
    for qi, q in enumerate(questions):
        ranked: list[int] = []
        for d in np.argsort(-sims[qi]):
            o = int(owners[d])
            if o not in ranked:
                ranked.append(o)
            if len(ranked) == 10:
                break
        if q.paragraph in ranked:
            rank = ranked.index(q.paragraph) + 1
            r1 += rank == 1
            r5 += rank <= 5
            mrr += 1.0 / rank
    n = len(questions)
    return {"recall_at_1": r1 / n, "recall_at_5": r5 / n, "mrr_at_10": mrr / n}


def hybrid_recall(emb: Any, backend: str) -> dict[str, float]:
    """The full hybrid retrieval eval (qa.eval_squad) with this backend's vectors."""
    from qa.eval_squad import run_squad_eval

    settings = Settings(embedding_backend=backend, llm="extractive")  # type: ignore[arg-type]
    report = run_squad_eval(settings, XQUAD, k=5, embeddings=emb)
    return {
        "recall_at_1": report.recall_at_1,
        "recall_at_5": report.recall_at_k,
        "mrr_at_10": report.mrr_at_10,
    }


def main() -> None:
    """Run every measurement and print one table per measurement."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sample", type=int, default=512, help="news chunks to encode per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hybrid", action="store_true", help="also the hybrid XQuAD eval")
    ap.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    args = ap.parse_args()
    if not (CORPUS.is_file() and XQUAD.is_file()):
        print(f"skipped: {CORPUS} or {XQUAD} is missing")
        return

    with tempfile.TemporaryDirectory(prefix="aq-bench-") as tmp:
        cache_dir = Path(tmp)
        models = {b: make(b, cache_dir) for b in ["torch", *args.backends] if b}
        t0 = time.perf_counter()
        for b, m in models.items():
            s = time.perf_counter()
            m.warm()  # exports the ONNX files into the temp cache: not part of the timing
            print(f"{b}: load/export {time.perf_counter() - s:.1f}s")
        print(f"models ready in {time.perf_counter() - t0:.1f}s")
        count = models["torch"].count_tokens
        texts = news_chunks(args.sample, count)
        tokens = count(texts)
        print(
            f"sample: {len(texts)} news chunks, {statistics.mean(tokens):.0f} word pieces on "
            f"average (max {max(tokens)})"
        )

        wall: dict[str, list[float]] = {b: [] for b in args.backends}
        cpu: dict[str, list[float]] = {b: [] for b in args.backends}
        vectors: dict[str, np.ndarray] = {}
        for _ in range(args.rounds):
            for b in args.backends:
                w, c = time.perf_counter(), time.process_time()
                v = models[b].embed_documents(texts)
                wall[b].append(len(texts) / (time.perf_counter() - w))
                cpu[b].append(len(texts) / (time.process_time() - c))
                vectors[b] = np.asarray(v, dtype=np.float32)
        ref = vectors.get("torch")
        if ref is None:
            ref = np.asarray(models["torch"].embed_documents(texts), dtype=np.float32)
        base = max(wall["torch"]) if "torch" in wall else None

        print("\n| backend | chunks/s best | chunks/s median | x torch (best) | chunks/CPU-s |")
        print("| --- | ---: | ---: | ---: | ---: |")
        for b in args.backends:
            ratio = f"{max(wall[b]) / base:.2f}" if base else "-"
            print(
                f"| {b} | {max(wall[b]):.1f} | {statistics.median(wall[b]):.1f} | {ratio} "
                f"| {statistics.median(cpu[b]):.1f} |"
            )

        print("\n| backend | cosine to torch: min | p1 | mean |")
        print("| --- | ---: | ---: | ---: |")
        for b in args.backends:
            cos = (vectors[b] * ref).sum(axis=1)
            print(f"| {b} | {cos.min():.4f} | {np.percentile(cos, 1):.4f} | {cos.mean():.4f} |")

        print("\n| backend | XQuAD dense R@1 | R@5 | MRR@10 |")
        print("| --- | ---: | ---: | ---: |")
        for b in args.backends:
            r = dense_recall(models[b], count)
            print(
                f"| {b} | {100 * r['recall_at_1']:.1f} | {100 * r['recall_at_5']:.1f} "
                f"| {r['mrr_at_10']:.3f} |"
            )
        if args.hybrid:
            print("\n| backend | XQuAD hybrid R@1 | R@5 | MRR@10 |")
            print("| --- | ---: | ---: | ---: |")
            for b in args.backends:
                r = hybrid_recall(models[b], b)
                print(
                    f"| {b} | {100 * r['recall_at_1']:.1f} | {100 * r['recall_at_5']:.1f} "
                    f"| {r['mrr_at_10']:.3f} |"
                )


if __name__ == "__main__":
    main()
