"""The served app's API (Gradio's, for `gradio_client` and plain HTTP): ask, search, list,
index and remove, with JSON results shaped like the CLI's `--json` output.

The UI's own events are private; these endpoints are the documented surface. Indexing over
the API takes uploaded files and http(s) URLs only, never paths on the server.
"""

from __future__ import annotations

from typing import Any

from qa.app import App
from qa.errors import ArticleQAError
from qa.inputs import check_k, parse_filters, parse_history, parse_urls
from qa.render import hit_dict
from qa.types import final_answer
from qa.ui_chat import CHAT_QUEUE
from qa.ui_library import LIBRARY_QUEUE


def api_json(data: Any) -> Any:
    """JSON for API clients: `path` keys renamed `file_path`, because gradio_client takes any
    object with a `path` key for a file to download (and the server rightly refuses)."""
    if isinstance(data, dict):
        return {("file_path" if k == "path" else k): api_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [api_json(v) for v in data]
    return data


def register_api(app: App) -> None:
    """Add the API endpoints to the Blocks being built."""
    import gradio as gr

    def ask(
        question: str,
        history: list[dict[str, str]] | None = None,
        sources: list[str] | None = None,
        since: str = "",
        until: str = "",
        k: int = 0,
    ) -> dict[str, Any]:
        """Answer a question from the indexed articles: the Answer as JSON (answer,
        answerable, citations with snippet and offsets, notes, closest)."""
        try:
            stream = app.ask(
                question,
                history=parse_history(history),
                filters=parse_filters(sources, since, until),
                k=check_k(k, default=app.settings.k),
            )
            result = final_answer(stream)  # the same path as the CLI and the chat
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        return api_json(result.to_dict())

    def check(text: str, question: str = "", passages: list[str] | None = None) -> dict[str, Any]:
        """Check text sentence by sentence against the indexed articles (or only against
        `passages`): numbers, names and negation must match; each sentence gets its reason
        and evidence span (the CLI's `check --json`)."""
        try:
            result = app.check(text, question=question, passages=passages or None)
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        return api_json(result.to_dict())

    def search(
        query: str,
        k: int = 0,
        sources: list[str] | None = None,
        since: str = "",
        until: str = "",
    ) -> list[dict[str, Any]]:
        """Retrieval only: the ranked passages for a query."""
        try:
            k = check_k(k, default=app.settings.k)
            hits = app.search(query, k=k, filters=parse_filters(sources, since, until))
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        return api_json([hit_dict(h) for h in hits])

    def articles() -> list[dict[str, Any]]:
        """The indexed articles (id, title, url, file_path, source, published, chunks)."""
        return api_json(app.articles())

    def index_urls(urls: list[str]) -> dict[str, Any]:
        """Fetch and index web pages or feeds; the same summary as `articleqa index --json`."""
        try:
            return api_json(app.index(parse_urls(" ".join(urls))).to_dict())
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None

    def reindex() -> dict[str, Any]:
        """Re-scan every indexed source; the same summary as `articleqa reindex --json`."""
        try:
            return api_json(app.reindex().to_dict())
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None

    def remove(target: str) -> dict[str, Any]:
        """Remove an article (id), a source (path or URL) or an uploaded file."""
        try:
            n = app.remove(target)
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        return {"removed": n}

    def index_files(paths: list[str] | None) -> dict[str, Any]:
        try:
            report, _ = app.upload(paths or [])
            return api_json(report.to_dict())
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None

    gr.api(ask, api_name="ask", concurrency_id=CHAT_QUEUE)
    gr.api(search, api_name="search", concurrency_id=CHAT_QUEUE)
    gr.api(check, api_name="check", concurrency_id=CHAT_QUEUE)
    gr.api(articles, api_name="articles")
    gr.api(index_urls, api_name="index_urls", concurrency_id=LIBRARY_QUEUE)
    gr.api(reindex, api_name="reindex", concurrency_id=LIBRARY_QUEUE)
    gr.api(remove, api_name="remove", concurrency_id=LIBRARY_QUEUE)
    # Files need a File component: it checks that the paths are uploads, not server files.
    files = gr.File(file_count="multiple", visible=False)
    report = gr.JSON(visible=False)
    files.upload(
        index_files,
        [files],
        [report],
        api_name="index_files",
        api_description="Index uploaded files (gradio_client.handle_file); the index summary.",
        concurrency_id=LIBRARY_QUEUE,
    )
