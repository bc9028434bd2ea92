"""The `articleqa` command line: index, ask, chat, search, serve and friends.

Settings are built once here and passed down; errors from the hierarchy become one line on
stderr and exit code 1.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import click

from qa.app import App, quiet_environment
from qa.errors import ArticleQAError, ConfigError, InputError
from qa.eval_cli import eval_group
from qa.inputs import MAX_K, check_question, parse_filters, parse_history
from qa.launch import Launch, llm_option, pass_app
from qa.render import answer_text, check_text, hit_dict, report_text, safe, safe_line
from qa.rewrite import Turn
from qa.settings import LLM_BACKENDS, setting_sources
from qa.types import final_answer

PROGRESS_EVERY = 5.0  # seconds between progress lines when stderr is not a terminal


def _emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


@click.group()
@click.option(
    "--data-dir", type=click.Path(path_type=Path), help="Index folder (ARTICLEQA_DATA_DIR)."
)
@click.option("--chroma-url", help="Use a Chroma server (ARTICLEQA_CHROMA_URL).")
@click.option(
    "--llm",
    type=click.Choice(LLM_BACKENDS),
    help="Answer backend (ARTICLEQA_LLM); also accepted after ask, chat, serve, eval.",
)
@click.version_option(package_name="articleqa", prog_name="articleqa")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, chroma_url: str | None, llm: str | None) -> None:
    """Answer questions over your news articles, with cited snippets."""
    quiet_environment()
    # Settings are built when the command runs (qa/launch.py): it may name its own --llm.
    ctx.obj = Launch(data_dir=data_dir, chroma_url=chroma_url, llm=llm)


def plain_progress(
    label: str,
    write: Callable[[str], None],
    every: float = PROGRESS_EVERY,
    clock: Callable[[], float] = time.monotonic,
) -> Callable[[Any], None]:
    """A progress callback that writes one short line at most every `every` seconds (for a
    stderr that is not a terminal: a log file, CI, a pipe)."""
    last = clock()

    def update(p: Any) -> None:  # ingest.index.Progress
        nonlocal last
        now = clock()
        if now - last < every:
            return
        last = now
        of = f"/{p.total}" if p.total else ""
        failed = f", {p.failed} failed" if p.failed else ""
        write(f"{label}: {p.articles}{of} articles, {p.chunks} chunks embedded{failed}")

    return update


@contextmanager
def _progress(as_json: bool, label: str) -> Iterator[Callable[[Any], None] | None]:
    """Progress on stderr: on a terminal a rich bar (articles of the expected total, chunks
    embedded, rates, elapsed time and ETA), else a line every few seconds; nothing with --json."""
    if as_json:
        yield None
        return
    if not sys.stderr.isatty():
        yield plain_progress(label, _waiting, every=PROGRESS_EVERY)
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("articles · {task.fields[chunks]} chunks embedded"),
        TextColumn("· {task.fields[rate]:.1f} chunks/s{task.fields[failed]}"),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None, chunks=0, rate=0.0, failed="")

        def update(p: Any) -> None:  # ingest.index.Progress
            elapsed = bar.tasks[0].elapsed or 1e-9
            failed = f" · {p.failed} failed" if p.failed else ""
            bar.update(
                task,
                completed=p.articles,
                total=p.total,
                chunks=p.chunks,
                rate=p.chunks / elapsed,
                failed=failed,
            )

        yield update


def _finish_index(report: Any, as_json: bool) -> None:
    data = report.to_dict()
    if as_json:
        _emit(data)
    else:
        # The summary is the result (stdout); the failures are diagnostics (stderr).
        summary, *failures = report_text(data).split("\n")
        for line in failures:
            click.echo(line, err=True)
        click.echo(summary)
    loaded = data["added"] + data["updated"] + data["unchanged"] + data["removed"]
    if data["failed"] and not loaded:
        sys.exit(1)


def _waiting(message: str) -> None:
    click.echo(f"articleqa: {message}", err=True)


@cli.command()
@click.argument("sources", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@pass_app
def index(app: App, sources: tuple[str, ...], as_json: bool, dry_run: bool) -> None:
    """Index files, folders (recursive), feeds and http(s) URLs."""
    with _progress(as_json, "indexing") as progress:
        report = app.index(sources, dry_run=dry_run, progress=progress, on_wait=_waiting)
    _finish_index(report, as_json)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@click.option(
    "--rebuild",
    is_flag=True,
    help="Move the store aside (chroma.damaged-TIME) and index every source into a new one.",
)
@pass_app
def reindex(app: App, as_json: bool, dry_run: bool, rebuild: bool) -> None:
    """Re-scan every source indexed before: add new, replace changed, drop removed articles."""
    if rebuild and dry_run:
        raise ConfigError("--rebuild and --dry-run cannot be used together")
    with _progress(as_json, "re-indexing") as progress:
        if rebuild:
            report = app.rebuild(progress=progress, on_wait=_waiting)
        else:
            report = app.reindex(dry_run=dry_run, progress=progress, on_wait=_waiting)
    _finish_index(report, as_json)


@cli.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def remove(app: App, target: str, as_json: bool) -> None:
    """Remove an article (by id), a file, a folder, a feed or a URL from the index."""
    n = app.remove(target, on_wait=_waiting)
    _emit({"removed": n}) if as_json else click.echo(f"removed {n} article(s)")


@cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def list_(app: App, as_json: bool) -> None:
    """List the indexed articles, newest first."""
    rows = app.articles()
    if as_json:
        _emit({"articles": rows})
        return
    for r in rows:
        date = str(r["published"])[:10] or "undated"
        title, source = safe_line(str(r["title"]))[:70], safe_line(str(r["source"]))
        click.echo(f"{r['id']}  {safe_line(date)}  {title}  ({source})")


@cli.command()
@click.argument("article_id")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def show(app: App, article_id: str, as_json: bool) -> None:
    """Show one stored article (ARTICLE_ID, or a unique start of it): metadata and full text."""
    article, meta = app.article(article_id)
    data = {
        "id": article.id,
        "title": article.title,
        "url": article.url,
        "path": article.path,
        "source": article.source,
        "published": article.published,
        "author": article.author,
        "source_id": article.source_id,
        "chunks": meta.get("chunks", 0),
        "text": article.text,
    }
    if as_json:
        _emit(data)
        return
    for k in ("title", "url", "path", "source", "published", "author", "source_id"):
        if data[k]:
            click.echo(f"{k}: {safe(str(data[k]))}")
    click.echo("")
    click.echo(safe(article.text))


@cli.command()
@click.option("--json", "as_json", is_flag=True)
@pass_app
def stats(app: App, as_json: bool) -> None:
    """How much is indexed, where, and what failed on the last run (whole sources, records)."""
    data = app.stats()
    if as_json:
        _emit(data)
        return
    for k, v in data.items():
        if k not in ("failed_sources", "failed_records"):
            click.echo(f"{k}: {safe(str(v))}")
    if data["failed_records"]:
        click.echo("failed records (see `articleqa reindex` for which):")
    for origin, n in data["failed_records"].items():
        click.echo(f"  {safe(origin)}: {n['failed']} of {n['records']} records failed")
    if data["failed_sources"]:
        click.echo("failed sources (retried on every re-index):")
    for origin, reason in data["failed_sources"].items():
        click.echo(f"  {safe(origin)}: {safe(reason)}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print the settings as JSON.")
@click.pass_obj
def config(launch: Launch, as_json: bool) -> None:
    """Every effective setting, its value and where it came from (flag, env, file, default)."""
    rows = setting_sources(launch.app().settings, launch.flags, os.environ)
    if as_json:
        _emit({k: {"value": v, "source": src} for k, (v, src) in rows.items()})
        return
    width = max(len(k) for k in rows)
    for k, (v, src) in rows.items():
        shown = v if isinstance(v, str) and v else json.dumps(v, ensure_ascii=False)
        click.echo(f"{k:<{width}}  {safe_line(shown)}  ({safe_line(src)})")


_filter_options = [
    click.option("--source", multiple=True, help="Only articles from this source (repeatable)."),
    click.option("--since", help="Only articles published on or after this date."),
    click.option("--until", help="Only articles published on or before this date."),
]


def _with_filters(f: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(_filter_options):
        f = option(f)
    return f


@cli.command()
@click.argument("query")
@click.option("--k", type=click.IntRange(1, MAX_K), help="How many results.")
@click.option("--json", "as_json", is_flag=True)
@_with_filters
@pass_app
def search(
    app: App,
    query: str,
    k: int | None,
    as_json: bool,
    source: tuple[str, ...],
    since: str | None,
    until: str | None,
) -> None:
    """Retrieval only: the ranked chunks for QUERY."""
    hits = app.search(query, k=k, filters=parse_filters(source, since, until))
    if as_json:
        _emit({"results": [hit_dict(h) for h in hits]})
        return
    for n, h in enumerate(hits, 1):
        date = str(h.meta.get("published", ""))[:10] or "undated"
        click.echo(
            f"{n}. {safe_line(h.title) or 'untitled'} ({safe_line(date)}) score {h.score:.4f}"
        )
        # Where it came from, and the id `articleqa show` takes.
        parts = (h.chunk.article_id, h.meta.get("source"), h.meta.get("url") or h.meta.get("path"))
        click.echo("   id " + " · ".join(safe_line(str(x)) for x in parts if x))
        click.echo(f"   {safe(h.chunk.text[:300])}")


def _load_history(path: Path | None) -> list[Turn]:
    if path is None:
        return []
    try:
        turns = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ConfigError(f"{path}: cannot read history: {e}") from None
    try:
        return parse_history(turns)
    except InputError as e:
        raise InputError(f"{path}: {e}") from None


def _batch_lines(file: IO[str]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, object) per non-blank JSONL line; a line that is not a JSON object
    gives its error text instead, so one bad line does not stop the batch."""
    for n, line in enumerate(file, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError as e:
            yield n, f"line {n}: not JSON ({e})"
            continue
        yield n, obj if isinstance(obj, dict) else f"line {n}: not a JSON object"


def _batch_out(data: dict[str, Any]) -> None:
    """One JSON line, flushed: batch results stream out as they are ready."""
    click.echo(json.dumps(data, ensure_ascii=False))
    sys.stdout.flush()


@cli.command()
@click.argument("question", required=False)
@click.option("--k", type=click.IntRange(1, MAX_K), help="How many passages to retrieve.")
@click.option("--json", "as_json", is_flag=True, help="Print the Answer as JSON.")
@click.option(
    "--history",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON list of previous {role, content} turns.",
)
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    help='JSONL file of {"id", "question", "history"?}: one answer per line, in order.',
)
@click.option(
    "--details", is_flag=True, help="Also say what verification removed from the model's answer."
)
@_with_filters
@llm_option
@pass_app
def ask(
    app: App,
    question: str | None,
    k: int | None,
    as_json: bool,
    history: Path | None,
    batch: IO[str] | None,
    details: bool,
    source: tuple[str, ...],
    since: str | None,
    until: str | None,
) -> None:
    """Answer QUESTION from the indexed articles, with cited snippets."""
    from qa.types import Answer

    filters = parse_filters(source, since, until)
    if batch is not None:
        if question:
            raise ConfigError("give a QUESTION or --batch FILE, not both")
        _ask_batch(app, batch, filters, k, as_json, details)
        return
    if not question:
        raise ConfigError("give a QUESTION (or --batch FILE)")
    check_question(question)
    turns = _load_history(history)
    final: Answer | None = None
    streamed = False
    for item in app.ask(question, history=turns, filters=filters, k=k):
        if isinstance(item, Answer):
            final = item
        elif not as_json:
            if not streamed:
                click.echo("draft: ", nl=False, err=True)
            streamed = True
            click.echo(safe(item), nl=False, err=True)
    if streamed:
        click.echo("", err=True)
    assert final is not None
    _emit(final.to_dict()) if as_json else click.echo(answer_text(final, details=details))


def _ask_batch(
    app: App, batch: IO[str], filters: Any, k: int | None, as_json: bool, details: bool
) -> None:
    """Answer every line of a JSONL file, one process, results in input order."""
    app.require_articles()
    for n, obj in _batch_lines(batch):
        if isinstance(obj, str):
            _batch_out({"id": None, "error": obj})
            continue
        qid = obj.get("id")
        try:
            question = check_question(obj.get("question"))
            turns = parse_history(obj.get("history"))
        except InputError as e:
            _batch_out({"id": qid, "error": f"line {n}: {e}"})
            continue
        ans = final_answer(app.ask(question, history=turns, filters=filters, k=k))
        if as_json:
            _batch_out({"id": qid, **ans.to_dict()})
        else:
            click.echo(f"[{qid}] {safe(question)}\n{answer_text(ans, details=details)}\n")


@cli.command()
@click.argument("text", required=False)
@click.option("--question", default="", help="The question the text answers (helps retrieval).")
@click.option(
    "--batch",
    type=click.File("r", encoding="utf-8"),
    help='JSONL file of {"id", "text", "question"?, "passages"?}: one result line each.',
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_with_filters
@pass_app
def check(
    app: App,
    text: str | None,
    question: str,
    batch: IO[str] | None,
    as_json: bool,
    source: tuple[str, ...],
    since: str | None,
    until: str | None,
) -> None:
    """Check TEXT (a draft, a claim, another model's answer) sentence by sentence against the
    articles: numbers, names and negations must match a span of at most three sentences."""
    filters = parse_filters(source, since, until)
    if batch is not None:
        if text:
            raise ConfigError("give a TEXT or --batch FILE, not both")
        _check_batch(app, batch, filters)
        return
    if not text or not text.strip():
        raise ConfigError("give a TEXT to check (or --batch FILE)")
    result = app.check(text, question=question, filters=filters)
    if as_json:
        _emit(result.to_dict())
        return
    click.echo(check_text(result))
    if not result.supported:
        sys.exit(1)


def _check_batch(app: App, batch: IO[str], filters: Any) -> None:
    """Check every line of a JSONL file: with "passages", against those texts only."""
    for n, obj in _batch_lines(batch):
        if isinstance(obj, str):
            _batch_out({"id": None, "supported": False, "sentences": [], "error": obj})
            continue
        text, passages = obj.get("text"), obj.get("passages")
        question = obj.get("question") or ""
        if not isinstance(text, str) or (
            passages is not None
            and not (isinstance(passages, list) and all(isinstance(p, str) for p in passages))
        ):
            error = f'line {n}: needs a string "text" and "passages" as a list of strings'
            _batch_out({"id": obj.get("id"), "supported": False, "sentences": [], "error": error})
            continue
        result = app.check(text, question=str(question), passages=passages, filters=filters)
        _batch_out({"id": obj.get("id"), **result.to_dict()})


@cli.command()
@click.option("--k", type=click.IntRange(1, MAX_K), help="How many passages to retrieve.")
@llm_option
@pass_app
def chat(app: App, k: int | None) -> None:
    """Interactive chat with history: /sources, /reset, /quit."""
    import threading

    from qa.chat import run_chat

    app.require_articles()
    # Load the models and BM25 while the user types, so the first answer does not wait.
    threading.Thread(target=_warm, args=(app,), daemon=True).start()
    run_chat(app, k=k or app.settings.k)


def _warm(app: App) -> None:
    """Load the embedding model, the lexical index and the LLM (background, at chat start)."""
    app.embeddings.embed_query("warm up")
    app.retriever.lexical_index()
    warm = getattr(app.llm, "warm", None)
    if callable(warm):
        warm()


@cli.command()
@click.option("--host", help="Interface to listen on (default 127.0.0.1).")
@click.option("--port", type=int, help="Port (default 7860).")
@click.option("--auth", help="user:password to require a login.")
@llm_option
@pass_app
def serve(app: App, host: str | None, port: int | None, auth: str | None) -> None:
    """Start the chat UI (Gradio) in the browser."""
    from qa.ui import launch

    launch(
        app,
        host=host or app.settings.host,
        port=port or app.settings.port,
        auth=auth or app.settings.auth,
    )


@cli.command()
@click.argument("folders", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON summary per change.")
@pass_app
def watch(app: App, folders: tuple[str, ...], as_json: bool) -> None:
    """Index FOLDERS now, then keep indexing files as they appear, change or vanish (Ctrl-C)."""
    from ingest.watch import watch_folders

    def index(paths: list[str] | None) -> Any:
        return app.index(folders, only=paths, on_wait=_waiting, by_name=paths is None)

    def show(report: Any, paths: list[str] | None) -> None:
        data = report.to_dict()
        if as_json:
            click.echo(json.dumps({"paths": paths, **data}, ensure_ascii=False))
            return
        what = f"{len(paths)} changed path(s)" if paths is not None else "initial scan"
        click.echo(f"{what}: {report_text(data)}")

    click.echo(f"watching {', '.join(folders)} (Ctrl-C to stop)", err=True)
    watch_folders(
        folders, index=index, on_report=show, on_error=_waiting, ignore=[app.settings.data_dir]
    )


cli.add_command(eval_group)


def main() -> None:
    """Console entry point: run the CLI, turning our errors into one line and exit code 1."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except ArticleQAError as e:
        click.echo(f"articleqa: error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
