"""The Gradio chat UI: streaming answers with their cited snippets.

Article text is untrusted. Everything that comes from an article (titles, snippets, the answer
itself, which quotes articles) is HTML-escaped and markdown-escaped before Gradio sees it, so
an article cannot inject markup, script or links.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

from qa.app import App
from qa.types import Answer

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~])")


def md_escape(text: str) -> str:
    """Text that renders literally in Gradio's markdown (no links, images, HTML or emphasis)."""
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=True))


def sources_html(ans: Answer) -> str:
    """The source panel: one card per citation, the cited span highlighted in its chunk."""
    if not ans.citations and not ans.closest:
        return ""
    parts = []
    if not ans.answerable:
        parts.append("<p><b>The indexed articles do not answer this.</b> Closest articles:</p><ul>")
        for h in ans.closest:
            parts.append(f"<li>{html.escape(h.title or 'untitled')}</li>")
        parts.append("</ul>")
    for c in ans.citations:
        link = ""
        if c.url.startswith(("http://", "https://")):
            link = (
                f' · <a href="{html.escape(c.url, quote=True)}" target="_blank" '
                f'rel="noopener noreferrer">link</a>'
            )
        meta = " · ".join(html.escape(x) for x in (c.source, c.published[:10]) if x)
        parts.append(
            f'<div class="aq-citation" id="aq-cite-{c.id}"><b>[{c.id}] '
            f"{html.escape(c.title or 'untitled')}</b><br><small>{meta}{link}</small>"
            f"<blockquote><mark>{html.escape(c.snippet)}</mark></blockquote></div>"
        )
    return "\n".join(parts)


def build(app: App) -> Any:
    """The Gradio Blocks app (not launched)."""
    import gradio as gr

    from qa.answer import stream_answer

    def respond(message: str, history: list[dict[str, Any]]) -> Iterator[tuple[str, str]]:
        turns = [
            {"role": str(t["role"]), "content": str(t["content"])}
            for t in history
            if isinstance(t.get("content"), str)
        ]
        draft = ""
        for item in stream_answer(
            message,
            retriever=app.retriever,
            llm=app.llm,
            history=turns,  # type: ignore[arg-type]
            k=app.settings.k,
            min_relevance=app.settings.min_relevance,
        ):
            if isinstance(item, Answer):
                text = md_escape(item.text)
                if item.notes:
                    text += "\n\n" + " ".join(f"_({md_escape(n)})_" for n in item.notes)
                yield text, sources_html(item)
            else:
                draft += item
                yield md_escape(draft), ""

    with gr.Blocks(title="articleqa") as demo:
        gr.Markdown("## articleqa\nAsk about your indexed news articles.")
        with gr.Row():
            with gr.Column(scale=3):
                sources = gr.HTML(elem_id="aq-sources", render=False)
                gr.ChatInterface(
                    respond,
                    additional_outputs=[sources],
                    chatbot=gr.Chatbot(elem_id="aq-chat", sanitize_html=True, height=480),
                )
            with gr.Column(scale=2):
                gr.Markdown("### Sources")
                sources.render()
    return demo


def launch(app: App, *, host: str, port: int, auth: str = "") -> None:
    """Serve the UI on host:port (blocking); warm the models in the background first."""
    import threading

    threading.Thread(target=_warm, args=(app,), daemon=True).start()
    credentials = tuple(auth.split(":", 1)) if auth else None
    build(app).queue().launch(
        server_name=host, server_port=port, auth=credentials, share=False, show_error=True
    )


def _warm(app: App) -> None:
    """Load the embedding model and the LLM so the first question does not wait for them."""
    app.embeddings.embed_query("warm up")
    warm = getattr(app.llm, "warm", None)
    if callable(warm):
        warm()
