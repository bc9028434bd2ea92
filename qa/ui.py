"""The Gradio app: a Chat tab and a Library tab over one App, plus Gradio's API.

Article text is untrusted; `qa.ui_render` turns it into inert text before any component sees
it. Nothing is fetched from the internet by the page: system fonts, no analytics, no share
links, no server-side rendering.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qa.app import App, quiet_environment
from qa.ui_render import example_questions, library_rows, source_choices

if TYPE_CHECKING:
    from qa.login_throttle import LoginThrottle

CSS = """
#aq-sources .aq-card { border: 1px solid var(--border-color-primary); border-radius: 8px;
  padding: 8px 10px; margin: 8px 0; }
#aq-sources .aq-card.aq-active { border-color: var(--color-accent); box-shadow: 0 0 0 2px
  var(--color-accent-soft); }
#aq-sources .aq-title { font-weight: 600; }
#aq-sources .aq-num { color: var(--color-accent); }
#aq-sources .aq-meta { font-size: 0.85em; opacity: 0.8; overflow-wrap: anywhere; }
#aq-sources .aq-context { margin: 6px 0; padding-left: 8px; border-left: 3px solid
  var(--border-color-primary); white-space: pre-wrap; }
#aq-sources mark { background: #ffe58a; color: inherit; padding: 0 1px; }
#aq-sources .aq-article { white-space: pre-wrap; max-height: 360px; overflow-y: auto;
  font-size: 0.92em; padding: 6px; }
#aq-sources .aq-question, #aq-sources .aq-empty { opacity: 0.8; font-size: 0.9em; }
#aq-sources .aq-notfound { padding: 8px; border-radius: 6px; background:
  var(--background-fill-secondary); }
#aq-library .header-table, #aq-library .virtual-row { font-family: var(--font); }
#aq-chat a.aq-cite { text-decoration: none; font-weight: 600; cursor: pointer; }
"""


def refresh_values(app: App) -> list[Any]:
    """New values for the library table, the stats line, the source filter and the examples."""
    import gradio as gr

    from qa.ui_library import HEADERS, stats_text

    rows = app.store.list_articles()
    examples = [{"text": q} for q in example_questions(rows)]
    return [
        {"data": library_rows(rows), "headers": HEADERS},
        stats_text(app),
        gr.update(choices=source_choices(rows)),
        gr.update(examples=examples or None),
    ]


def build(app: App) -> Any:
    """The Gradio Blocks app (not launched)."""
    quiet_environment()
    import gradio as gr

    from qa.ui_api import register_api
    from qa.ui_chat import build_chat
    from qa.ui_library import build_library

    with gr.Blocks(title="articleqa", analytics_enabled=False) as demo:
        gr.Markdown("## articleqa\nAnswers from your news articles, each sentence with its source.")
        with gr.Tabs():
            with gr.Tab("Chat", id="chat", elem_id="aq-tab-chat"):
                chat = build_chat(app, app.settings.k)
            with gr.Tab("Library", id="library", elem_id="aq-tab-library"):
                chat_outputs = [chat["sources"], chat["chatbot"]]
                lib = build_library(app, lambda: refresh_values(app), chat_outputs)
        holders = [lib["table"], lib["stats"], *chat_outputs]
        register_api(app)
        demo.load(lambda: refresh_values(app), None, holders, api_visibility="private")
    return demo


def theme() -> Any:
    """Gradio's default look with system fonts (the stock theme fetches Google Fonts)."""
    import gradio as gr

    return gr.themes.Default(
        font=["system-ui", "Segoe UI", "Roboto", "sans-serif"],
        font_mono=["ui-monospace", "Consolas", "monospace"],
    )


def serve(
    app: App,
    *,
    host: str,
    port: int,
    auth: str = "",
    block: bool = True,
    throttle: LoginThrottle | None = None,
    announce: Callable[[str], None] | None = None,
) -> Any:
    """Build, queue and start the app; returns the Blocks (call `.close()` when not blocking).
    With auth, failed logins are throttled per address (`throttle`, else from the settings).
    Gradio prints nothing (its lines point to share links, which this app never makes);
    `announce` gets the local URL once the server is up."""
    from starlette.middleware import Middleware

    from qa.login_throttle import LoginThrottle, LoginThrottleMiddleware
    from qa.ui_chat import PAGE_JS

    credentials = tuple(auth.split(":", 1)) if auth else None
    if credentials is not None and len(credentials) != 2:
        from qa.errors import ConfigError

        raise ConfigError("auth must look like user:password")
    middleware = []
    if credentials is not None:
        s = app.settings
        throttle = throttle or LoginThrottle(attempts=s.login_attempts, wait=s.login_wait)
        middleware.append(Middleware(LoginThrottleMiddleware, throttle=throttle))
    demo = build(app).queue(default_concurrency_limit=1)
    demo.launch(
        server_name=host,
        server_port=port,
        auth=credentials,
        share=False,
        show_error=True,
        prevent_thread_lock=True,
        quiet=True,
        ssr_mode=False,
        mcp_server=False,
        max_file_size=app.settings.max_file_bytes,
        theme=theme(),
        css=CSS,
        js=PAGE_JS,
        app_kwargs={"middleware": middleware},
    )
    if announce is not None:
        announce(str(demo.local_url))
    if block:
        demo.block_thread()
    return demo


def launch(
    app: App, *, host: str, port: int, auth: str = "", say: Callable[[str], None] | None = None
) -> None:
    """Serve the UI on host:port (blocking), `say`ing its URL as the last line once it is up;
    warm the models in the background first."""
    threading.Thread(target=_warm, args=(app,), daemon=True).start()

    def ready(url: str) -> None:
        line = f"articleqa is running at {url} (Ctrl-C to stop)"
        if say is None:
            print(line, flush=True)  # flushed: a pipe (make, a log) sees it at once
        else:
            say(line)

    serve(app, host=host, port=port, auth=auth, block=True, announce=ready)


def _warm(app: App) -> None:
    """Load the embedding model and the LLM so the first question does not wait for them."""
    app.embeddings.embed_query("warm up")
    warm = getattr(app.llm, "warm", None)
    if callable(warm):
        warm()
