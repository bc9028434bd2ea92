"""MTRAG replay: multi-turn questions over their gold passages, with answerability labels.

Indexes the gold passages (`contexts`) of all tasks together, asks each task's last user turn
with its history, and reports retrieval recall@k with and without rewriting, refusal
precision/recall on the answerability labels, answer token F1 against the reference answers,
and how many drafted sentences verification kept. The answerability judgement of every
question is kept too, so its thresholds can be chosen by measurement (`relevance_sweep`).
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from qa.answerability import Judgement, decide, judge
from qa.errors import ConfigError
from qa.rewrite import Turn, follow_up
from qa.settings import Settings
from qa.types import Article, final_answer

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Task:
    """One MTRAG task: history, last question, gold passage ids, reference, label."""

    id: str
    history: tuple[Turn, ...]
    question: str
    gold: tuple[str, ...]
    reference: str
    answerable: str  # ANSWERABLE, PARTIAL, UNDERSPECIFIED or UNANSWERABLE
    multi_turn: str = ""  # Follow-up, Clarification or N/A (not a follow-up)


@dataclass
class MtragReport:
    """The numbers `articleqa eval mtrag` prints."""

    tasks: int = 0
    passages: int = 0
    k: int = 5
    recall_plain: float = 0.0  # gold passages found in the top k, last question alone
    recall_rewritten: float = 0.0  # same, question rewritten with the conversation
    refusal_precision: float = 0.0  # refused and labelled UNANSWERABLE / refused
    refusal_recall: float = 0.0  # refused / labelled UNANSWERABLE
    answer_f1: float = 0.0  # token F1 against the reference, answerable tasks answered
    drafted_sentences: int = 0
    verified_sentences: int = 0
    answer_p50_s: float = 0.0
    min_relevance: float = 0.0
    # Rewriting by the tasks' "Multi-Turn" label (turns with a conversation before them):
    # N/A turns should be left as asked, follow-ups rewritten.
    na_turns: int = 0
    na_kept: int = 0
    follow_up_turns: int = 0
    follow_up_rewritten: int = 0
    clarification_turns: int = 0
    clarification_rewritten: int = 0
    backend: str = ""
    signals: list[tuple[float, bool]] = field(default_factory=list, repr=False)
    # Per question: the answerability judgement and whether it is labelled UNANSWERABLE.
    judgements: list[tuple[Judgement, bool]] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers (the per-question refusal signals left out)."""
        d = asdict(self)
        d.pop("signals")
        d.pop("judgements")
        d["verified_share"] = (
            self.verified_sentences / self.drafted_sentences if self.drafted_sentences else None
        )
        return d


def load_mtrag(path: Path) -> tuple[list[Task], dict[str, str]]:
    """Tasks and the passages {document_id: text} of an MTRAG jsonl file."""
    tasks: list[Task] = []
    passages: dict[str, str] = {}
    try:
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            turns = row["input"]
            history = tuple(
                Turn(role="user" if t["speaker"] == "user" else "assistant", content=t["text"])
                for t in turns[:-1]
            )
            for c in row.get("contexts") or []:
                passages[str(c["document_id"])] = c["text"]
            targets = row.get("targets") or [{"text": ""}]
            tasks.append(
                Task(
                    id=str(row["task_id"]),
                    history=history,
                    question=turns[-1]["text"],
                    gold=tuple(str(c["document_id"]) for c in row.get("contexts") or []),
                    reference=str(targets[0].get("text", "")),
                    answerable=str((row.get("answerability") or ["ANSWERABLE"])[0]),
                    multi_turn=str((row.get("Multi-Turn") or [""])[0]),
                )
            )
    except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
        raise ConfigError(f"{path}: not a readable MTRAG file ({type(e).__name__}: {e})") from None
    return tasks, passages


def run_mtrag_eval(
    path: Path,
    settings: Settings,
    *,
    limit: int | None = None,
    answers: bool = True,
    cache: Path | None = None,
    embeddings: Any = None,
    progress: Progress | None = None,
) -> MtragReport:
    """Index the passages in a throwaway folder and replay the tasks."""
    from ingest.index import index_sources
    from qa.answer import rank_sentences
    from qa.eval_squad import eval_app, token_f1

    tasks, passages = load_mtrag(path)
    if limit:
        tasks = tasks[:limit]
    report = MtragReport(
        tasks=len(tasks),
        passages=len(passages),
        k=settings.k,
        min_relevance=settings.min_relevance,
        backend=settings.llm,
    )
    with tempfile.TemporaryDirectory(prefix="articleqa-mtrag-") as tmp:
        app = eval_app(settings, Path(tmp), cache=cache, embeddings=embeddings)
        articles = [
            Article(
                id=f"mtrag-{i}", text=" ".join(t.split()), title="", url=f"mtrag:{doc}", origin=tmp
            )
            for i, (doc, t) in enumerate(sorted(passages.items()))
            if t.strip()
        ]
        index_sources(
            [tmp],
            store=app.store,
            embeddings=app.embeddings,
            count_tokens=app.embeddings.count_tokens,  # type: ignore[attr-defined]
            load=lambda origin: articles,
            progress=_index_progress(progress, len(articles)),
        )
        app.store.bump_generation()
        doc_of = {a.id: a.url[len("mtrag:") :] for a in articles}
        plain = rewritten = 0.0
        with_gold = 0
        refused_unans = refused = unanswerable = 0
        f1s: list[float] = []
        times: list[float] = []
        for n, task in enumerate(tasks, 1):
            resolved = follow_up(task.question, task.history)
            if task.history:
                _count_rewrite(report, task.multi_turn, resolved.kind != "standalone")
            if task.gold:
                with_gold += 1
                plain += _recall(app, task.question, task.gold, doc_of, settings.k)
                rewritten += _recall(app, resolved.retrieval, task.gold, doc_of, settings.k)
            hits = app.retriever.search(resolved.retrieval, k=settings.k)
            ranked = rank_sentences(resolved.ranking, hits, app.embeddings)
            idf = app.retriever.lexical_index().idf
            verdict = judge(
                resolved.ranking, hits, ranked, idf=idf, min_cosine=settings.min_relevance
            )
            is_unanswerable = task.answerable == "UNANSWERABLE"
            report.signals.append((ranked.best, is_unanswerable))
            report.judgements.append((verdict, is_unanswerable))
            unanswerable += is_unanswerable
            if answers:
                t0 = time.perf_counter()
                final = final_answer(app.ask(task.question, history=task.history))
                times.append(time.perf_counter() - t0)
                report.drafted_sentences += final.drafted
                report.verified_sentences += final.verified
                if not final.answerable:
                    refused += 1
                    refused_unans += is_unanswerable
                elif task.answerable == "ANSWERABLE":
                    f1s.append(token_f1(final.text, task.reference))
            if progress:
                progress("answer" if answers else "search", n, len(tasks))
        if not answers:  # refusal from the judgement alone
            refused = sum(not j.answerable for j, _ in report.judgements)
            refused_unans = sum(not j.answerable and u for j, u in report.judgements)
    report.recall_plain = plain / with_gold if with_gold else 0.0
    report.recall_rewritten = rewritten / with_gold if with_gold else 0.0
    report.refusal_precision = refused_unans / refused if refused else 0.0
    report.refusal_recall = refused_unans / unanswerable if unanswerable else 0.0
    report.answer_f1 = sum(f1s) / len(f1s) if f1s else 0.0
    times.sort()
    report.answer_p50_s = times[len(times) // 2] if times else 0.0
    return report


def _count_rewrite(report: MtragReport, label: str, rewritten: bool) -> None:
    if label == "N/A":
        report.na_turns += 1
        report.na_kept += not rewritten
    elif label == "Follow-up":
        report.follow_up_turns += 1
        report.follow_up_rewritten += rewritten
    elif label == "Clarification":
        report.clarification_turns += 1
        report.clarification_rewritten += rewritten


def _index_progress(progress: Progress | None, total: int) -> Callable[[Any], None] | None:
    if progress is None:
        return None
    return lambda p: progress("index", p.articles, total)


def _recall(app: Any, query: str, gold: Sequence[str], doc_of: dict[str, str], k: int) -> float:
    found = {doc_of.get(h.chunk.article_id, "") for h in app.retriever.search(query, k=k)}
    return len(found & set(gold)) / len(gold)


def threshold_sweep(
    signals: Sequence[tuple[float, bool]], thresholds: Sequence[float]
) -> list[dict[str, float]]:
    """Refusal precision/recall if the cosine threshold were each of `thresholds`."""
    total = sum(u for _, u in signals)
    return [_counts(t, [u for s, u in signals if s < t], total) for t in thresholds]


def relevance_sweep(
    judgements: Sequence[tuple[Judgement, bool]],
    thresholds: Sequence[float],
    *,
    min_cosine: float = 0.0,
) -> list[dict[str, float]]:
    """Refusal precision/recall if the judgement's weak-relevance threshold were each of
    `thresholds` (the other thresholds as they are)."""
    total = sum(u for _, u in judgements)
    return [
        _counts(
            t,
            [
                u
                for j, u in judgements
                if not decide(j.signals, min_cosine=min_cosine, weak_relevance=t).answerable
            ],
            total,
        )
        for t in thresholds
    ]


def _counts(threshold: float, refused: list[bool], total_unans: int) -> dict[str, float]:
    """One sweep row from the labels (UNANSWERABLE or not) of the refused questions."""
    hit = sum(refused)
    return {
        "threshold": threshold,
        "refused": len(refused),
        "precision": hit / len(refused) if refused else 0.0,
        "recall": hit / total_unans if total_unans else 0.0,
    }
