"""The Library tab: the indexed articles as a searchable table; add files and URLs, re-index,
remove. Every write goes through `App.upload`/`index`/`reindex`/`remove` (which take the index's
writer lock) in one Gradio queue of its own, so library work runs one job at a time and never
waits for, or holds up, the chat.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from qa.app import App
from qa.errors import ArticleQAError, NotFoundError
from qa.inputs import parse_urls
from qa.render import report_text

if TYPE_CHECKING:
    from ingest.index import Progress as IndexProgress

LIBRARY_QUEUE = "library"
HEADERS = ["Title", "Source", "Date", "Chunks", "ID"]


def stats_text(app: App) -> str:
    """One line: how much is indexed and where."""
    articles, chunks = app.store.count()
    return f"{articles} articles · {chunks} chunks"


def remove_target(app: App, target: str) -> str:
    """Remove what `target` names (App.remove); the line that says what went."""
    if not target.strip():
        raise NotFoundError("select an article in the table, or type a path, URL or id")
    upload = app.upload_named(target)
    n = app.remove(target)
    if upload is not None:
        return f"removed {n} article(s) and the uploaded file {upload.name}"
    return f"removed {n} article(s)"


def build_library(
    app: App, refresh: Callable[[], list[Any]], chat_outputs: Sequence[Any]
) -> dict[str, Any]:
    """The Library tab's components and events (inside an open Blocks). After a change,
    `refresh` gives new values for this tab's table and stats, then for `chat_outputs` (the
    chat's source filter and examples)."""
    import gradio as gr

    from ingest.loaders import SUPPORTED_SUFFIXES

    stats = gr.Markdown(elem_id="aq-stats")
    table = gr.Dataframe(
        headers=HEADERS,
        datatype=["str", "str", "str", "number", "str"],
        interactive=False,
        show_search="search",
        wrap=True,
        max_height=420,
        elem_id="aq-library",
        column_widths=["44%", "16%", "12%", "8%", "20%"],
    )
    with gr.Row():
        target = gr.Textbox(
            label="Remove",
            placeholder="click a row, or type a file path, URL or article id",
            info="An article removed alone stays out on re-index, until its file or feed is "
            "indexed again by name (its URL added here, or `articleqa index PATH`). Remove a "
            "file path or URL to drop a whole source. Uploaded files are removed with all "
            "their articles.",
            scale=4,
            elem_id="aq-remove-target",
        )
        remove = gr.Button("Remove", variant="stop", scale=1, elem_id="aq-remove")
    with gr.Row(equal_height=True):
        files = gr.File(
            file_count="multiple",
            # Browsers match on the last suffix only: ".gz" stands for .jsonl.gz and .csv.gz.
            file_types=sorted({"." + s.rsplit(".", 1)[-1] for s in SUPPORTED_SUFFIXES}),
            label="Add files (" + ", ".join(sorted(SUPPORTED_SUFFIXES)) + ")",
            elem_id="aq-upload",
            scale=2,
        )
        with gr.Column(scale=2):
            urls = gr.Textbox(
                lines=3,
                label="Add web pages or feeds",
                placeholder="https://… (one per line)",
                elem_id="aq-urls",
            )
            add_urls = gr.Button("Add URLs", elem_id="aq-add-urls")
    reindex = gr.Button("Re-index everything", elem_id="aq-reindex")
    summary = gr.Textbox(
        label="Last run", lines=3, max_lines=12, interactive=False, elem_id="aq-summary"
    )

    def indexing(sources: list[str], progress: Any, uploads: bool = False) -> str:
        def tick(p: IndexProgress) -> None:
            # Known total (files, feeds): a bar of articles read; otherwise a counter. Chunks
            # are embedded in batches, so the last batch is still embedding at 100% read.
            done = (p.articles, p.total) if p.total else (p.articles, None)
            desc = f"{p.chunks} chunks embedded" + (f" · {p.failed} failed" if p.failed else "")
            if p.total and p.articles >= p.total:
                desc += " · embedding the last batch"
            progress(done, desc=desc, unit="articles read")

        def waiting(message: str) -> None:
            progress(None, desc=message)

        progress(0, desc="reading")
        dropped: list[str] = []
        try:
            if uploads:
                uploaded, dropped = app.upload(sources, progress=tick, on_wait=waiting)
                report = uploaded.to_dict()
            elif sources:
                report = app.index(sources, progress=tick, on_wait=waiting).to_dict()
            else:
                report = app.reindex(progress=tick, on_wait=waiting).to_dict()
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        text = report_text(report)
        if dropped:
            text += "\nnot kept (nothing could be indexed from them): " + ", ".join(dropped)
        return text

    def add_files(paths: list[str] | None, progress: Any = gr.Progress()) -> list[Any]:  # noqa: B008
        if not paths:
            return [gr.skip(), None, *refresh()]
        text = indexing(paths, progress, uploads=True)
        return [text, None, *refresh()]

    def add_web(text: str, progress: Any = gr.Progress()) -> list[Any]:  # noqa: B008
        try:
            found = parse_urls(text)
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        if not found:
            raise gr.Error("paste at least one http(s) URL")
        return [indexing(found, progress), "", *refresh()]

    def reindex_all(progress: Any = gr.Progress()) -> list[Any]:  # noqa: B008
        return [indexing([], progress), *refresh()]

    def remove_it(what: str) -> list[Any]:
        try:
            text = remove_target(app, what)
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        return [text, "", *refresh()]

    def select(evt: gr.SelectData) -> str:
        row = evt.row_value or []
        return str(row[4]) if len(row) > 4 else ""

    select.__annotations__["evt"] = gr.SelectData  # see the same line in qa.ui_chat

    refresh_outputs = [table, stats, *chat_outputs]
    lib: dict[str, Any] = {
        "concurrency_id": LIBRARY_QUEUE,
        "concurrency_limit": 1,
        "api_visibility": "private",
        "show_progress_on": [summary],  # one bar, where the summary will appear
    }
    files.upload(add_files, [files], [summary, files, *refresh_outputs], **lib)
    add_urls.click(add_web, [urls], [summary, urls, *refresh_outputs], **lib)
    reindex.click(reindex_all, None, [summary, *refresh_outputs], **lib)
    remove.click(remove_it, [target], [summary, target, *refresh_outputs], **lib)
    table.select(select, None, [target], api_visibility="private", queue=False)
    return {"table": table, "stats": stats, "summary": summary}
