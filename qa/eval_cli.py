"""`articleqa eval ...`: measure retrieval and answers on data with known answers.

Imports nothing heavy at module level: qa/cli.py registers this group at import time.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from qa.launch import llm_option, pass_app

if TYPE_CHECKING:
    from qa.app import App
    from qa.eval_squad import EvalReport

STAGES = {
    "index": "indexing paragraphs",
    "distractors": "indexing distractors",
    "search": "searching",
    "answer": "answering",
}


@click.group("eval")
def eval_group() -> None:
    """Measure retrieval and answers on data with known answers."""


@contextmanager
def _progress(enabled: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """One rich progress bar per stage on stderr, or nothing."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in STAGES:  # a message (a distractor file that failed)
                bar.console.print(f"articleqa: {stage}")
                return
            if stage not in tasks:
                tasks[stage] = bar.add_task(STAGES[stage], total=total or None)
            bar.update(tasks[stage], completed=done, total=total or None)

        yield update


def _table(report: EvalReport, backend: str) -> str:
    """The report as aligned lines for the terminal."""
    r = report
    rows = [
        ("questions", f"{r.questions}"),
        ("paragraphs (articles)", f"{r.paragraphs}"),
        ("distractor articles", f"{r.distractor_articles}"),
        ("chunks in the index", f"{r.chunks}"),
        ("recall@1", f"{r.recall_at_1:.3f}"),
        (f"recall@{r.k}", f"{r.recall_at_k:.3f}"),
        ("MRR@10", f"{r.mrr_at_10:.3f}"),
        ("search p50 / p95", f"{r.search_p50_ms:.1f} / {r.search_p95_ms:.1f} ms"),
        ("index time", f"{r.index_seconds:.1f} s ({r.embedded_chunks} chunks embedded)"),
    ]
    if r.answers:
        rows += [
            (f"answers ({backend})", f"{r.answers} sampled questions"),
            ("answer contains gold", f"{r.answer_contains_gold:.3f}"),
            ("answer token F1", f"{r.answer_token_f1:.3f}"),
            ("citation hit rate", f"{r.citation_hit_rate:.3f}"),
        ]
    width = max(len(name) for name, _ in rows)
    lines = [f"SQuAD eval of {r.file}", ""]
    lines += [f"  {name.ljust(width)}  {value}" for name, value in rows]
    return "\n".join(lines)


@eval_group.command("squad")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--distractors",
    multiple=True,
    help="Articles indexed beside the paragraphs, in any format `index` takes (repeatable).",
)
@click.option("--k", type=click.IntRange(1, 50), default=5, show_default=True)
@click.option(
    "--answers",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="Also answer N sampled questions with the configured backend.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the sample.")
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Embedding cache file (default: the configured model's own cache).",
)
@click.option(
    "--keep",
    type=click.Path(file_okay=False, path_type=Path),
    help="Keep the eval index in this folder instead of a temporary one.",
)
@click.option("--titles", is_flag=True, help="Index each paragraph with its article's title.")
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as one JSON object.")
@llm_option
@pass_app
def squad(
    app: App,
    file: Path,
    distractors: tuple[str, ...],
    k: int,
    answers: int,
    seed: int,
    cache: Path | None,
    keep: Path | None,
    titles: bool,
    as_json: bool,
) -> None:
    """Index FILE's paragraphs (one article each) in a throwaway index and report recall@1,
    recall@k and MRR@10, and with --answers N the answer metrics of N sampled questions."""
    from qa.eval_squad import run_squad_eval

    settings = app.settings
    with _progress(not as_json and sys.stderr.isatty()) as progress:
        report = run_squad_eval(
            settings,
            file,
            distractors=distractors,
            k=k,
            answers=answers,
            seed=seed,
            cache=cache,
            workdir=keep,
            titles=titles,
            progress=progress,
        )
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        click.echo(_table(report, settings.llm))


@eval_group.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--limit", type=click.IntRange(1), help="Only the first N tasks.")
@click.option("--no-answers", is_flag=True, help="Retrieval and the refusal signal only.")
@click.option(
    "--cache",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Embedding cache file (default: the configured model's own cache).",
)
@click.option(
    "--sweep",
    is_flag=True,
    help="Also print refusal precision/recall per weak-relevance threshold of the judgement.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as one JSON object.")
@llm_option
@pass_app
def mtrag(
    app: App,
    file: Path,
    limit: int | None,
    no_answers: bool,
    cache: Path | None,
    sweep: bool,
    as_json: bool,
) -> None:
    """Replay MTRAG conversations: retrieval recall@k with and without rewriting, refusal
    precision/recall on the answerability labels, answer token F1 against the references."""
    from qa.eval_mtrag import relevance_sweep, run_mtrag_eval

    settings = app.settings
    with _progress(not as_json and sys.stderr.isatty()) as progress:
        report = run_mtrag_eval(
            file,
            settings,
            limit=limit,
            answers=not no_answers,
            cache=cache,
            progress=progress,
        )
    data = report.to_dict()
    if sweep:
        data["sweep"] = relevance_sweep(
            report.judgements,
            [x / 100 for x in range(40, 81, 5)],
            min_cosine=settings.min_relevance,
        )
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=1))
        return
    for key, value in data.items():
        if key == "sweep":
            click.echo("threshold  refused  precision  recall")
            for row in value:
                click.echo(
                    f"{row['threshold']:9.2f}  {row['refused']:7d}  "
                    f"{row['precision']:9.3f}  {row['recall']:6.3f}"
                )
        else:
            click.echo(
                f"{key:20s} {value:.3f}" if isinstance(value, float) else f"{key:20s} {value}"
            )
