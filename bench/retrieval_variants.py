"""Compare retrieval configurations on XQuAD (+ news distractors) with one set of indexes.

Builds (once; embeddings cached by content hash under bench/.cache/) the same throwaway indexes
`articleqa eval squad` builds, then scores every configuration from in-memory copies of the
chunks: exact or HNSW dense search, BM25 variants, RRF or convex fusion, diversity settings.
Fusion and diversity are the product's own functions (qa.fusion.Fusion, diversify).

    .venv/bin/python bench/retrieval_variants.py [--only clean|news] [--quick] [--backend torch]

The sweep recorded in docs/benchmarks.md used --backend torch (the vectors the first indexes
were built with); the eval of the default configuration runs the configured backend.

Prints one row per configuration: recall@1, recall@5, MRR@10. Needs ../shared (skips without).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.app import quiet_environment  # noqa: E402

quiet_environment()

from qa.eval_squad import (  # noqa: E402
    build_index,
    eval_app,
    gold_ids,
    gold_rank,
    load_squad,
    retrieval_metrics,
)
from qa.fusion import Fusion, diversify  # noqa: E402
from qa.lexical import BM25Params, LexicalIndex  # noqa: E402
from qa.settings import Settings  # noqa: E402
from qa.store import chunk_from  # noqa: E402
from qa.types import Hit  # noqa: E402

SHARED = ROOT.parent / "shared"
XQUAD = SHARED / "eval" / "xquad" / "xquad-dev.json"
NEWS = SHARED / "corpus" / "news-articles-2017.csv.gz"
CACHE = ROOT / "bench" / ".cache"


@dataclass
class Corpus:
    """Everything one index holds, in memory, plus the questions' vectors and gold ids."""

    name: str
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    vectors: np.ndarray
    qvecs: np.ndarray
    questions: list[str]
    golds: list[str]
    hnsw: list[list[tuple[str, float]]]  # Chroma's own (approximate) top fetch_k per question


def load_corpus(name: str, distractors: list[str], fetch_k: int, backend: str) -> Corpus:
    """Build or reopen the eval index `name` (one per embedding backend) and read it."""
    paragraphs, questions = load_squad(XQUAD)
    app = eval_app(
        Settings(llm="extractive", embedding_backend=backend),  # type: ignore[arg-type]
        CACHE / f"xquad-{name}-{backend}" / "index",
        cache=CACHE / "embeddings.sqlite",
    )
    if app.store.count()[1] == 0:
        print(f"building the {name} index (embeddings cached)...", file=sys.stderr)
        build_index(app, paragraphs, distractors)
    golds = gold_ids(app)
    rows = list(app.store.iter_chunk_vectors())
    ids = [i for i, _, _, _ in rows]
    texts = [t for _, t, _, _ in rows]
    metas = [m for _, _, m, _ in rows]
    vecs = [np.asarray([v for _, _, _, v in rows], dtype=np.float32)]
    qs = [q.question for q in questions]
    qvecs = np.asarray([app.embeddings.embed_query(q) for q in qs], dtype=np.float32)
    hnsw = [app.store.nearest_chunks(qv.tolist(), fetch_k) for qv in qvecs]
    return Corpus(
        name,
        ids,
        texts,
        metas,
        np.concatenate(vecs),
        qvecs,
        qs,
        [golds[q.paragraph] for q in questions],
        hnsw,
    )


def run(
    c: Corpus,
    bm25_scores: np.ndarray | None,
    fusion: Fusion,
    *,
    dense: str = "exact",
    fetch_k: int = 40,
    per_article: int = 2,
    decay: float = 1.0,
    max_overlap: float = 0.6,
    k: int = 5,
) -> dict[str, float]:
    """Recall@1/@k and MRR@10 of one configuration over every question."""
    ranks = []
    cos_all = c.qvecs @ c.vectors.T if dense == "exact" else None
    pos = {cid: i for i, cid in enumerate(c.ids)}
    for qi in range(len(c.questions)):
        dense_ids: list[str] = []
        if dense == "exact":
            assert cos_all is not None
            top = np.argpartition(-cos_all[qi], fetch_k)[:fetch_k]
            top = top[np.argsort(-cos_all[qi][top])]
            dense_ids = [c.ids[i] for i in top]
        elif dense == "hnsw":
            dense_ids = [i for i, _ in c.hnsw[qi][:fetch_k]]
        lex_ids: list[str] = []
        if bm25_scores is not None:
            s = bm25_scores[qi]
            top = np.argpartition(-s, fetch_k)[:fetch_k]
            top = top[np.argsort(-s[top])]
            lex_ids = [c.ids[i] for i in top if s[i] > 0]
        cand = list(dict.fromkeys(dense_ids + lex_ids))
        cvec = c.vectors[[pos[x] for x in cand]] @ c.qvecs[qi]
        cosine = dict(zip(cand, cvec.tolist(), strict=True))
        bm25 = {}
        if bm25_scores is not None:
            bm25 = {x: float(bm25_scores[qi][pos[x]]) for x in cand}
        fused = fusion.fuse(dense_ids, lex_ids, cosine, bm25)
        ranked = sorted(fused, key=lambda x: -fused[x])
        hits = [
            Hit(chunk_from(x, c.texts[pos[x]], c.metas[pos[x]]), fused[x], c.metas[pos[x]])
            for x in ranked
        ]
        top_hits = diversify(hits, 10, per_article, max_overlap, decay)
        ranks.append(gold_rank([h.chunk.article_id for h in top_hits], c.golds[qi]))
    return retrieval_metrics(ranks, k)


def bm25_matrix(c: Corpus, params: BM25Params) -> np.ndarray:
    """BM25 scores of every chunk for every question under params."""
    index = LexicalIndex.build(zip(c.ids, c.texts, c.metas, strict=True), params)
    return np.stack([index.scores(q) for q in c.questions])


def row(name: str, corpus: str, m: dict[str, float]) -> None:
    print(
        f"| {corpus} | {name} | {m['recall_at_1']:.3f} | {m['recall_at_k']:.3f} "
        f"| {m['mrr_at_10']:.3f} |",
        flush=True,
    )


@dataclass(frozen=True)
class OtherNorm(Fusion):
    """Convex fusion with other score normalizations (tried, not in the product).

    "raw": cosine as is + BM25 / max; "z": both z-scored over the candidates; "minmax2":
    both min-max scaled over the candidates.
    """

    norm: str = "raw"

    def fuse(
        self,
        dense: Sequence[str],
        lexical: Sequence[str],
        cosine: dict[str, float],
        bm25: dict[str, float],
    ) -> dict[str, float]:
        ids = list(dict.fromkeys([*dense, *lexical]))
        if not ids:
            return {}
        cos = np.asarray([cosine.get(x, 0.0) for x in ids])
        lex = np.asarray([bm25.get(x, 0.0) for x in ids])
        if self.norm == "z":
            cn = (cos - cos.mean()) / (cos.std() or 1.0)
            ln = (lex - lex.mean()) / (lex.std() or 1.0)
        elif self.norm == "minmax2":
            cn = (cos - cos.min()) / (np.ptp(cos) or 1.0)
            ln = (lex - lex.min()) / (np.ptp(lex) or 1.0)
        else:
            cn, ln = cos, lex / (lex.max() or 1.0)
        w = self.lexical_weight
        return dict(zip(ids, (w * ln + (1 - w) * cn).tolist(), strict=True))


def bm25_name(p: BM25Params) -> str:
    return f"BM25 {p.method} k1={p.k1} b={p.b} stem={p.stem} title={p.title}"


def sweep(c: Corpus, quick: bool) -> None:
    """Every configuration tried, as markdown table rows."""
    t0 = time.perf_counter()
    base = BM25Params()
    variants = [
        BM25Params(),
        BM25Params(stem=False),
        BM25Params(title=False),
        BM25Params(k1=0.9, b=0.4),
        BM25Params(k1=1.5, b=0.75),
        BM25Params(k1=1.2, b=0.9),
        BM25Params(k1=1.5, b=0.9),
        BM25Params(k1=2.0, b=0.75),
        BM25Params(method="robertson"),
        BM25Params(method="bm25+"),
        BM25Params(method="bm25l"),
    ]
    if quick:
        variants = variants[:1]
    bm = {p: bm25_matrix(c, p) for p in variants}
    best = bm[base]
    row("dense only, HNSW (Chroma, M=32 ef=200)", c.name, run(c, None, Fusion(), dense="hnsw"))
    row("dense only, exact", c.name, run(c, None, Fusion(), dense="exact"))
    for p in variants:
        row(f"{bm25_name(p)} only", c.name, run(c, bm[p], Fusion(lexical_weight=1.0), dense="none"))
    for rrf_k, w in itertools.product((10, 30, 60), (0.5, 0.6, 0.7)):
        row(f"RRF k={rrf_k} lexical weight {w}", c.name, run(c, best, Fusion("rrf", w, rrf_k)))
    for w in (0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7, 0.8):
        row(f"convex {w} (cosine min-max, BM25 / max)", c.name, run(c, best, Fusion("convex", w)))
    for norm, weights in (
        ("raw", (0.5, 0.7, 0.9)),
        ("z", (0.3, 0.5, 0.7)),
        ("minmax2", (0.3, 0.5, 0.7)),
    ):
        for w in weights:
            row(
                f"convex {w}, normalization {norm}",
                c.name,
                run(c, best, OtherNorm("convex", w, norm=norm)),
            )
    row("convex 0.5, dense via HNSW", c.name, run(c, best, Fusion("convex", 0.5), dense="hnsw"))
    for p in variants[1:]:
        for w in (0.5, 0.6):
            row(f"convex {w} + {bm25_name(p)}", c.name, run(c, bm[p], Fusion("convex", w)))
    for fetch_k in (20, 30, 60, 80):
        row(
            f"convex 0.5, fetch_k={fetch_k}",
            c.name,
            run(c, best, Fusion("convex", 0.5), fetch_k=fetch_k),
        )
    for per, decay in ((1, 1.0), (2, 0.9), (2, 0.8), (3, 1.0), (99, 1.0)):
        row(
            f"convex 0.5, per_article={per} decay={decay}",
            c.name,
            run(c, best, Fusion("convex", 0.5), per_article=per, decay=decay),
        )
    print(f"({c.name}: {time.perf_counter() - t0:.0f} s)", file=sys.stderr)


def main() -> None:
    """Run the sweep on the clean and the distractor index."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", choices=["clean", "news"])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--backend", default="torch", choices=["torch", "onnx", "onnx-int8"])
    args = ap.parse_args()
    if not XQUAD.exists():
        print(f"skipped: {XQUAD} not found")
        return
    print("| index | configuration | R@1 | R@5 | MRR@10 |")
    print("| --- | --- | --- | --- | --- |")
    if args.only in (None, "clean"):
        sweep(load_corpus("clean", [], 80, args.backend), args.quick)
    if args.only in (None, "news") and NEWS.exists():
        sweep(load_corpus("news", [str(NEWS)], 80, args.backend), args.quick)


if __name__ == "__main__":
    main()
