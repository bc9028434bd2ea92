"""Query speed: retrieval and full local answers, p50/p95, at 10k and 100k chunks, cold and warm.

    .venv/bin/python bench/answer_latency.py [--sizes 10000 100000] [--questions 200]
                                             [--answers 200] [--llm local]

The source index is the real thing, built once with `App.index` (default settings, so the
default embedding backend) and kept under bench/.cache/answer-latency/: the news corpus plus
the 120 XQuAD paragraphs, so the 612 XQuAD questions have answers in it (~18k chunks). An index
of N chunks is then made from it without embedding again: the first N real chunks, and past the
real ones, copies of real articles under new ids whose chunk vectors get Gaussian noise
(sigma 0.015 per dimension, then renormalized: cosine ~0.96 to the original) and whose chunk
texts are kept (so BM25 sees the same vocabulary). Embedding 100k chunks is too slow here.

For each size:
- cold: a fresh process builds the App and times its first search and its first answer
  (model loads, BM25 load, LLM load all included), then stops;
- warm: after `warm_app` (what the UI and `chat` do in the background at start), p50/p95 of
  `Retriever.search` over --questions questions, and of the whole answer (retrieval, local LLM
  draft, verification) over --answers questions.
Needs ../shared (corpus, XQuAD); exits with a note when it is missing.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
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
CACHE = ROOT / "bench" / ".cache" / "answer-latency"
SOURCE = CACHE / "source"
SIGMA = 0.015


def settings_for(data_dir: Path, llm: str) -> Settings:
    """Default settings on data_dir, with the exported models cached beside the bench."""
    models = ROOT / "bench" / ".cache" / "models"
    return Settings(data_dir=data_dir, llm=llm, cache_dir=models)  # type: ignore[arg-type]


def build_source() -> None:
    """Index the corpus and the XQuAD paragraphs for real, once."""
    from qa.app import App
    from qa.eval_squad import load_squad, write_paragraphs

    if (SOURCE / "done").is_file():
        return
    SOURCE.mkdir(parents=True, exist_ok=True)
    paragraphs, _ = load_squad(XQUAD)
    squad = write_paragraphs(paragraphs, SOURCE / "xquad.jsonl", titles=False)
    app = App(settings_for(SOURCE, "extractive"))
    t0 = time.perf_counter()
    report = app.index([str(squad), str(CORPUS)])
    print(f"source index: {report.chunks} chunks in {time.perf_counter() - t0:.0f}s", flush=True)
    (SOURCE / "done").write_text(json.dumps(report.to_dict()))


def read_source(src: Any) -> tuple[list[Any], dict[str, list[Any]], dict[str, np.ndarray]]:
    """Every article of the source index, its chunks (in order) and their vectors."""
    from qa.store import article_from, chunk_from

    chunks: dict[str, list[Any]] = {}
    vecs: dict[str, list[Any]] = {}
    for i, d, m, v in src.store.iter_chunk_vectors():
        c = chunk_from(i, d, m)
        chunks.setdefault(c.article_id, []).append(c)
        vecs.setdefault(c.article_id, []).append(v)
    ids = [i for i in src.store.article_ids() if i in chunks]
    records, texts = src.store.records(ids), src.store.article_texts(ids)
    articles = [article_from(i, texts.get(i, ""), records[i]) for i in ids if i in records]
    vectors = {}
    for aid, cs in chunks.items():
        order = sorted(range(len(cs)), key=lambda k: cs[k].index)
        chunks[aid] = [cs[k] for k in order]
        vectors[aid] = np.asarray(vecs[aid], dtype=np.float32)[order]
    return articles, chunks, vectors


def build_size(n: int) -> Path:
    """An index of n chunks made from the source index's articles, chunks and vectors."""
    from dataclasses import replace

    from qa.app import App
    from qa.store import ArticleWrite

    folder = CACHE / f"n{n}"
    if (folder / "done").is_file():
        return folder
    articles, chunks, vectors = read_source(App(settings_for(SOURCE, "extractive")))
    dst = App(settings_for(folder, "extractive"))
    rng = np.random.default_rng(0)
    stored = copy = 0
    while stored < n:
        batch: list[ArticleWrite] = []
        for article in articles:
            if stored >= n:
                break
            cs, vs = chunks[article.id], vectors[article.id]
            if copy:
                new_id = f"{article.id}~{copy}"
                article = replace(article, id=new_id, url=f"{article.url}#copy{copy}")
                cs = [replace(c, id=f"{new_id}:{c.index}", article_id=new_id) for c in cs]
                vs = vs + rng.normal(0, SIGMA, vs.shape).astype(np.float32)
                vs /= np.linalg.norm(vs, axis=1, keepdims=True)
            cs = cs[: n - stored]
            batch.append(ArticleWrite(article, cs, vs[: len(cs)].tolist()))
            stored += len(cs)
            if len(batch) >= 64:
                dst.store.write_articles(batch)
                batch = []
        if batch:
            dst.store.write_articles(batch)
        copy += 1
        print(f"  n{n}: {stored} chunks written", flush=True)
    dst._after_write()  # the BM25 index, as `index` builds it
    (folder / "done").write_text(str(stored))
    return folder


def questions(count: int, seed: int = 0) -> list[str]:
    """XQuAD questions (their paragraphs are in every index size), a seeded sample."""
    from qa.eval_squad import load_squad

    _, qs = load_squad(XQUAD)
    return [q.question for q in random.Random(seed).sample(qs, min(count, len(qs)))]


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(np.ceil(q / 100 * len(ordered))) - 1))]


def answer_once(app: Any, question: str) -> Any:
    """The final Answer of one ask (the stream drained, as the CLI drains it)."""
    final = None
    for item in app.ask(question):
        final = item
    return final


def cold(folder: Path, llm: str) -> dict[str, float]:
    """In this (fresh) process: App build -> first search -> first answer, timed."""
    from qa.app import App

    t0 = time.perf_counter()
    app = App(settings_for(folder, llm))
    q = questions(1, seed=1)[0]
    app.retriever.search(q, k=app.settings.k)
    t_search = time.perf_counter() - t0
    t1 = time.perf_counter()
    answer_once(app, q)
    return {"first_search_s": t_search, "first_answer_s": time.perf_counter() - t1}


def warm(folder: Path, llm: str, n_search: int, n_answer: int) -> dict[str, Any]:
    """Warm the App as the UI does, then time searches and whole answers."""
    from qa.app import App

    app = App(settings_for(folder, llm))
    warm_app(app)
    search_ms = []
    for q in questions(n_search):
        t = time.perf_counter()
        app.retriever.search(q, k=app.settings.k)
        search_ms.append(1000 * (time.perf_counter() - t))
    answer_s = []
    for q in questions(n_answer, seed=2):
        t = time.perf_counter()
        answer_once(app, q)
        answer_s.append(time.perf_counter() - t)
    return {
        "chunks": app.store.count()[1],
        "search_p50_ms": pct(search_ms, 50),
        "search_p95_ms": pct(search_ms, 95),
        "answer_p50_s": pct(answer_s, 50) if answer_s else None,
        "answer_p95_s": pct(answer_s, 95) if answer_s else None,
        "answers": len(answer_s),
        "searches": len(search_ms),
    }


def warm_app(app: Any) -> None:
    """Load what the first question would otherwise wait for: embedding model, BM25, LLM."""
    app.embeddings.embed_query("warm up")
    app.retriever.lexical_index()
    w = getattr(app.llm, "warm", None)
    if callable(w):
        w()


def main() -> None:
    """Build the indexes (cached), then measure each size cold (child process) and warm."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 100000])
    ap.add_argument("--questions", type=int, default=200)
    ap.add_argument("--answers", type=int, default=200)
    ap.add_argument("--llm", default="local")
    ap.add_argument("--cold", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.cold:
        print(json.dumps(cold(Path(args.cold), args.llm)))
        return
    if not (CORPUS.is_file() and XQUAD.is_file()):
        print(f"skipped: {CORPUS} or {XQUAD} is missing")
        return
    build_source()
    rows = []
    for n in args.sizes:
        folder = build_size(n)
        cmd = [sys.executable, __file__, "--cold", str(folder), "--llm", args.llm]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        c = json.loads(out.strip().splitlines()[-1])
        w = warm(folder, args.llm, args.questions, args.answers)
        rows.append((n, c, w))
        print(f"n{n}: cold {c}, warm {w}", flush=True)
    print(f"\nllm backend: {args.llm}; embedding backend: {Settings().embedding_backend}")
    print(
        "\n| chunks | cold first search s | cold first answer s | search p50 ms | p95 ms "
        "| answer p50 s | p95 s | questions / answers |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for _n, c, w in rows:
        ap50 = f"{w['answer_p50_s']:.2f}" if w["answer_p50_s"] is not None else "-"
        ap95 = f"{w['answer_p95_s']:.2f}" if w["answer_p95_s"] is not None else "-"
        print(
            f"| {w['chunks']} | {c['first_search_s']:.1f} | {c['first_answer_s']:.1f} "
            f"| {w['search_p50_ms']:.1f} | {w['search_p95_ms']:.1f} | {ap50} | {ap95} "
            f"| {w['searches']} / {w['answers']} |"
        )


if __name__ == "__main__":
    main()
