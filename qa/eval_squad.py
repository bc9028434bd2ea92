"""The SQuAD retrieval and answer eval, reusable from the CLI and from benchmarks.

Each paragraph of a SQuAD-format file becomes its own article in a throwaway index (built
through the normal `App.index` path, distractor articles beside it), every question is searched,
and the rank of the first chunk of its gold paragraph gives recall@1, recall@k and MRR@10.
A sample of questions also goes through the configured answer backend, scored with SQuAD's own
answer normalization.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qa.errors import ConfigError
from qa.settings import Settings

if TYPE_CHECKING:
    from ingest.index import Progress as IndexProgress
    from qa.app import App
    from qa.retrieve import Retriever

# (stage, done, total): stages are "index", "distractors", "search", "answer".
EvalProgress = Callable[[str, int, int], None]
MRR_DEPTH = 10
GOLD_SCHEME = "squad:"  # the url of paragraph n is "squad:n": how hits map back to paragraphs


@dataclass(frozen=True)
class Question:
    """One SQuAD question, its gold answers and the paragraph that holds them."""

    id: str
    question: str
    answers: tuple[str, ...]
    paragraph: int


@dataclass(frozen=True)
class Paragraph:
    """One SQuAD paragraph (indexed as its own article)."""

    number: int
    title: str
    context: str


@dataclass
class EvalReport:
    """What one eval run measured; `to_dict` is the `--json` output."""

    file: str
    questions: int
    paragraphs: int
    distractor_articles: int
    chunks: int
    k: int
    recall_at_1: float
    recall_at_k: float
    mrr_at_10: float
    search_p50_ms: float
    search_p95_ms: float
    answers: int = 0
    answer_contains_gold: float | None = None
    answer_token_f1: float | None = None
    citation_hit_rate: float | None = None
    index_seconds: float = 0.0
    embedded_chunks: int = 0
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; recall@k is also given under its literal name (recall@5)."""
        d = asdict(self)
        d[f"recall_at_{self.k}"] = self.recall_at_k
        return d


def load_squad(path: Path) -> tuple[list[Paragraph], list[Question]]:
    """Paragraphs and questions of a SQuAD v1.1-format JSON file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        paragraphs: list[Paragraph] = []
        questions: list[Question] = []
        for article in data["data"]:
            for p in article["paragraphs"]:
                n = len(paragraphs)
                paragraphs.append(Paragraph(n, str(article.get("title", "")), p["context"]))
                for qa in p["qas"]:
                    answers = tuple(dict.fromkeys(a["text"] for a in qa.get("answers", [])))
                    questions.append(Question(str(qa["id"]), qa["question"], answers, n))
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{path}: not a readable SQuAD file ({type(e).__name__}: {e})") from None
    if not questions:
        raise ConfigError(f"{path}: no questions in this SQuAD file")
    return paragraphs, questions


# -- SQuAD answer scoring (the normalization of the official v1.1 script) ----------------------
_ASCII_PUNCT = frozenset(string.punctuation)
_MARKER = re.compile(r"\s*\[\d+\]")  # citation markers: not part of what the answer says


def normalize_answer(text: str) -> str:
    """Lowercase, drop punctuation and the articles a/an/the, squeeze whitespace.

    SQuAD's own normalization drops ASCII punctuation only; Unicode punctuation goes too here,
    since answers quote their evidence in curly quotes (“...1882.”) and golds hold dashes.
    """
    text = text.lower()
    text = "".join(
        ch for ch in text if ch not in _ASCII_PUNCT and not unicodedata.category(ch).startswith("P")
    )
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def token_f1(prediction: str, gold: str) -> float:
    """Token-overlap F1 of normalized prediction and gold (SQuAD's definition)."""
    pred = normalize_answer(prediction).split()
    ref = normalize_answer(gold).split()
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_gold(prediction: str, golds: Sequence[str]) -> bool:
    """True when some normalized gold answer appears in the normalized prediction."""
    pred = f" {normalize_answer(prediction)} "
    return any(f" {normalize_answer(g)} " in pred for g in golds if normalize_answer(g))


def gold_rank(article_ids: Sequence[str], gold: str) -> int | None:
    """1-based rank of the first hit from the gold article, or None."""
    for rank, aid in enumerate(article_ids, 1):
        if aid == gold:
            return rank
    return None


def retrieval_metrics(ranks: Sequence[int | None], k: int) -> dict[str, float]:
    """recall@1, recall@k and MRR@10 from the gold ranks of every question."""
    n = max(1, len(ranks))
    return {
        "recall_at_1": sum(r == 1 for r in ranks) / n,
        "recall_at_k": sum(r is not None and r <= k for r in ranks) / n,
        "mrr_at_10": sum(1.0 / r for r in ranks if r is not None and r <= MRR_DEPTH) / n,
    }


# -- building the throwaway index ---------------------------------------------------------------
def write_paragraphs(paragraphs: Sequence[Paragraph], path: Path, *, titles: bool) -> Path:
    """Write the paragraphs as a JSONL file of articles that `index` reads."""
    with path.open("w", encoding="utf-8") as f:
        for p in paragraphs:
            record = {
                "text": p.context,
                "title": p.title.replace("_", " ") if titles else "",
                "url": f"{GOLD_SCHEME}{p.number}",
                "source": "squad",
            }
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def gold_ids(app: App) -> dict[int, str]:
    """Paragraph number -> stored article id, read back from the index."""
    out: dict[int, str] = {}
    for row in app.store.list_articles():
        url = str(row.get("url", ""))
        if url.startswith(GOLD_SCHEME):
            out[int(url[len(GOLD_SCHEME) :])] = str(row["id"])
    return out


def eval_app(
    settings: Settings, data_dir: Path, *, cache: Path | None = None, embeddings: Any = None
) -> App:
    """An App on a fresh local index in data_dir. Embeddings are cached by content hash: in
    `cache` when given, else in the configured model's own cache."""
    from qa.app import App
    from qa.backends import make_embeddings
    from qa.embed_cache import CachedEmbeddings

    local = settings.model_copy(
        update={"data_dir": data_dir, "chroma_url": "", "collection": "eval"}
    )
    app = App(local)
    inner = embeddings
    if inner is None:
        inner = make_embeddings(local, cache=cache is None)
    if cache is not None and not isinstance(inner, CachedEmbeddings):
        inner = CachedEmbeddings(inner, cache)
    # App builds its parts lazily from settings; the eval supplies its own (cached) model.
    app.__dict__["embeddings"] = inner
    return app


def build_index(
    app: App,
    paragraphs: Sequence[Paragraph],
    distractors: Sequence[str] = (),
    *,
    titles: bool = False,
    progress: EvalProgress | None = None,
) -> tuple[dict[int, str], int, int]:
    """Index paragraphs then distractors; return (gold ids, distractor articles, embedded)."""
    folder = app.settings.data_dir
    folder.mkdir(parents=True, exist_ok=True)
    squad = write_paragraphs(paragraphs, folder / "squad-paragraphs.jsonl", titles=titles)
    total = len(paragraphs)

    def tick(stage: str) -> Callable[[IndexProgress], None]:
        return lambda p: progress(stage, p.articles, p.total or total) if progress else None

    report = app.index([str(squad)], progress=tick("index"))
    embedded = report.embedded_chunks
    n_distractors = 0
    if distractors:
        total = 0  # unknown until loaded
        report = app.index(list(distractors), progress=tick("distractors"))
        embedded += report.embedded_chunks
        n_distractors = report.added + report.updated + report.unchanged
        for f in report.failed[:3]:
            if progress is None:
                continue
            progress(f"failed {f['path']}: {f['error']}", 0, 0)
    return gold_ids(app), n_distractors, embedded


# -- running the questions --------------------------------------------------------------------
def search_ranks(
    retriever: Retriever,
    questions: Sequence[Question],
    golds: dict[int, str],
    *,
    k: int = 5,
    progress: EvalProgress | None = None,
) -> tuple[list[int | None], list[float]]:
    """Gold rank (within max(k, 10)) and search latency in ms of every question."""
    depth = max(k, MRR_DEPTH)
    ranks: list[int | None] = []
    times: list[float] = []
    for i, q in enumerate(questions, 1):
        t0 = time.perf_counter()
        hits = retriever.search(q.question, k=depth)
        times.append((time.perf_counter() - t0) * 1000)
        ranks.append(gold_rank([h.chunk.article_id for h in hits], golds.get(q.paragraph, "")))
        if progress:
            progress("search", i, len(questions))
    return ranks, times


def answer_metrics(
    app: App,
    questions: Sequence[Question],
    golds: dict[int, str],
    *,
    k: int = 5,
    progress: EvalProgress | None = None,
) -> dict[str, float]:
    """Answer-contains-gold, token F1 and first-citation hit rate with the app's backend."""
    from qa.types import final_answer

    contains = f1 = cited = 0.0
    for i, q in enumerate(questions, 1):
        ans = final_answer(app.ask(q.question, k=k))  # the CLI's answer path and settings
        text = _MARKER.sub("", ans.text) if ans.answerable else ""
        contains += contains_gold(text, q.answers)
        f1 += max((token_f1(text, g) for g in q.answers), default=0.0)
        cited += bool(ans.citations) and ans.citations[0].article_id == golds.get(q.paragraph)
        if progress:
            progress("answer", i, len(questions))
    n = max(1, len(questions))
    return {
        "answer_contains_gold": contains / n,
        "answer_token_f1": f1 / n,
        "citation_hit_rate": cited / n,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


@contextmanager
def _workdir(path: Path | None) -> Iterator[Path]:
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="articleqa-eval-") as tmp:
        yield Path(tmp)


def run_squad_eval(
    settings: Settings,
    squad_file: Path,
    *,
    distractors: Sequence[str] = (),
    k: int = 5,
    answers: int = 0,
    seed: int = 0,
    cache: Path | None = None,
    workdir: Path | None = None,
    titles: bool = False,
    embeddings: Any = None,
    max_questions: int | None = None,
    progress: EvalProgress | None = None,
) -> EvalReport:
    """Build the throwaway index, run every question, score; the index is deleted after
    unless `workdir` names a folder to keep it in (benchmarks reuse it)."""
    paragraphs, questions = load_squad(squad_file)
    questions = questions[:max_questions]  # every paragraph is still indexed
    with _workdir(workdir) as folder:
        app = eval_app(settings, folder / "index", cache=cache, embeddings=embeddings)
        t0 = time.perf_counter()
        golds, n_distractors, embedded = build_index(
            app, paragraphs, distractors, titles=titles, progress=progress
        )
        index_seconds = time.perf_counter() - t0
        app.retriever.lexical_index()  # load BM25 before timing the first question
        app.embeddings.embed_query("warm up")
        ranks, times = search_ranks(app.retriever, questions, golds, k=k, progress=progress)
        metrics = retrieval_metrics(ranks, k)
        report = EvalReport(
            file=str(squad_file),
            questions=len(questions),
            paragraphs=len(paragraphs),
            distractor_articles=n_distractors,
            chunks=app.store.count()[1],
            k=k,
            recall_at_1=round(metrics["recall_at_1"], 4),
            recall_at_k=round(metrics["recall_at_k"], 4),
            mrr_at_10=round(metrics["mrr_at_10"], 4),
            search_p50_ms=round(percentile(times, 50), 2),
            search_p95_ms=round(percentile(times, 95), 2),
            index_seconds=round(index_seconds, 1),
            embedded_chunks=embedded,
            config=retrieval_config(app.retriever),
        )
        if answers > 0:
            sample = random.Random(seed).sample(list(questions), min(answers, len(questions)))
            scores = answer_metrics(app, sample, golds, k=k, progress=progress)
            report.answers = len(sample)
            for name, value in scores.items():
                setattr(report, name, round(value, 4))
        close = getattr(app.embeddings, "close", None)
        if callable(close):
            close()
    return report


def retrieval_config(retriever: Retriever) -> dict[str, Any]:
    """The retriever's knobs, recorded with every report so numbers can be traced."""
    cfg = getattr(retriever, "config", None)
    return dict(cfg()) if callable(cfg) else {}
