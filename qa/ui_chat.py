"""The Chat tab: streamed answers, clickable citations, the source panel, filters.

The conversation lives in a per-session `gr.State` as a list of turns (question, Answer); the
chat messages and the source panel are rendered from it, so a citation in an old answer still
opens that answer's sources, and follow-ups get the same history the CLI gives them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qa.app import App
from qa.errors import ArticleQAError, EmptyIndexError
from qa.inputs import parse_filters
from qa.render import answer_text
from qa.rewrite import Turn
from qa.settings import LLM_BACKENDS
from qa.types import Answer
from qa.ui_render import answer_markdown, draft_markdown, md_text, sources_html

if TYPE_CHECKING:
    from qa.retrieve import Filters

CHAT_QUEUE = "chat"  # one answer at a time: llama.cpp models are not safe to share


@dataclass
class Exchange:
    """One question and what came back: an Answer, or a one-line error."""

    question: str
    answer: Answer | None = None
    error: str = ""


@dataclass
class Options:
    """What the filter and advanced controls say for one question."""

    filters: Filters | None = None
    backend: str = ""  # "": the configured one
    k: int = 5


def history_of(convo: list[Exchange]) -> list[Turn]:
    """The conversation as role/content turns for follow-up questions."""
    turns: list[Turn] = []
    for ex in convo:
        if ex.answer is not None:
            turns.append(Turn(role="user", content=ex.question))
            turns.append(Turn(role="assistant", content=ex.answer.text))
    return turns


def messages(convo: list[Exchange]) -> list[dict[str, str]]:
    """The Chatbot's messages for the conversation (user text is escaped like article text)."""
    out = []
    for turn, ex in enumerate(convo):
        out.append({"role": "user", "content": md_text(ex.question)})
        if ex.answer is not None:
            out.append({"role": "assistant", "content": answer_markdown(ex.answer, turn)})
        else:
            out.append({"role": "assistant", "content": f"**Error:** {md_text(ex.error)}"})
    return out


def panel(app: App, ex: Exchange | None, active: int | None = None) -> str:
    """The source panel for one exchange, with the cited articles' stored text."""
    ans = ex.answer if ex is not None else None
    texts: dict[str, str] = {}
    if ans is not None:
        for c in ans.citations:
            if c.article_id not in texts:
                got = app.store.get_article(c.article_id)
                texts[c.article_id] = got[0].text if got else ""
    return sources_html(ans, texts, active=active)


def ask(
    app: App, question: str, convo: list[Exchange], opts: Options
) -> Iterator[tuple[list[dict[str, str]], str | None, Exchange | None]]:
    """Answer one question (App.ask, as the CLI does): yield (messages, panel html or None,
    finished exchange or None) as the answer streams; the last item carries the finished
    exchange."""
    base = messages(convo)
    pending = [*base, {"role": "user", "content": md_text(question)}]
    yield [*pending, {"role": "assistant", "content": draft_markdown("")}], None, None
    try:
        draft = ""
        final: Answer | None = None
        for item in app.ask(
            question,
            history=history_of(convo),
            filters=opts.filters,
            k=opts.k,
            backend=opts.backend or None,
        ):
            if isinstance(item, Answer):
                final = item
            else:
                draft += item
                yield (
                    [*pending, {"role": "assistant", "content": draft_markdown(draft)}],
                    None,
                    None,
                )
        assert final is not None
        ex = Exchange(question, final)
    except EmptyIndexError:
        ex = Exchange(question, error="nothing is indexed yet: add articles in the Library tab")
    except ArticleQAError as e:
        ex = Exchange(question, error=str(e))
    except Exception as e:  # a remote backend's own errors (connection refused, bad key...)
        ex = Exchange(question, error=f"the answer backend failed: {type(e).__name__}: {e}")
    done = [*convo, ex]
    yield messages(done), panel(app, ex), ex


def build_chat(app: App, k_default: int) -> dict[str, Any]:
    """The Chat tab's components and events (inside an open Blocks); returns the components
    other tabs refresh (filter choices, examples)."""
    import gradio as gr

    convo = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=420):
            chatbot = gr.Chatbot(
                elem_id="aq-chat",
                height=520,
                sanitize_html=True,
                allow_tags=False,
                latex_delimiters=[],
                feedback_options=None,
                buttons=[],  # no share (it uploads to the Hub) and no raw-markup copy
                placeholder="**Ask about your articles.** Answers quote the articles they come "
                "from; click a [n] to see the passage.",
                show_label=False,
            )
            with gr.Row():
                box = gr.Textbox(
                    placeholder="Ask a question about the indexed articles…",
                    show_label=False,
                    scale=5,
                    elem_id="aq-question",
                    autofocus=True,
                )
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="aq-send")
            with gr.Row():
                regen = gr.Button("Regenerate", size="sm", elem_id="aq-regenerate")
                copy = gr.Button("Copy answer", size="sm", elem_id="aq-copy")
                clear = gr.Button("Clear", size="sm", elem_id="aq-clear")
        with gr.Column(scale=2, min_width=320):
            with gr.Accordion("Filters", open=True):
                sources = gr.Dropdown(
                    [], multiselect=True, label="Sources", elem_id="aq-sources-filter"
                )
                since = gr.DateTime(
                    include_time=False, type="string", label="Since", elem_id="aq-since"
                )
                until = gr.DateTime(
                    include_time=False, type="string", label="Until", elem_id="aq-until"
                )
                with gr.Accordion("Advanced", open=False):
                    backend = gr.Radio(
                        list(LLM_BACKENDS),
                        value=app.settings.llm,
                        label="Answer backend",
                        elem_id="aq-backend",
                    )
                    k = gr.Slider(1, 20, value=k_default, step=1, label="Passages per question")
            gr.Markdown("### Sources")
            panel_html = gr.HTML(
                sources_html(None, {}), elem_id="aq-sources", js_on_load=None, max_height=640
            )
    plain = gr.Textbox(visible="hidden", elem_id="aq-plain")
    cite_target = gr.Textbox(visible="hidden", elem_id="aq-cite-target")
    cite_btn = gr.Button("cite", visible="hidden", elem_id="aq-cite-btn")

    controls = [sources, since, until, backend, k]
    outputs = [chatbot, convo, panel_html, plain, box]

    def run(
        question: str,
        turns: list[Exchange],
        src: list[str] | None,
        lo: object,
        hi: object,
        be: str,
        kk: float,
    ) -> Iterator[tuple[Any, ...]]:
        question = (question or "").strip()
        if not question:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        try:
            opts = Options(parse_filters(src, lo, hi), be, int(kk))
        except ArticleQAError as e:
            raise gr.Error(str(e)) from None
        for msgs, html, ex in ask(app, question, turns, opts):
            if ex is None:
                yield msgs, gr.skip(), gr.skip(), gr.skip(), ""
            else:
                text = answer_text(ex.answer) if ex.answer else ex.error
                yield msgs, [*turns, ex], html, text, ""

    def regenerate(
        turns: list[Exchange], src: list[str] | None, lo: object, hi: object, be: str, kk: float
    ) -> Iterator[tuple[Any, ...]]:
        if not turns:
            yield gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()
            return
        yield from run(turns[-1].question, turns[:-1], src, lo, hi, be, kk)

    def from_example(
        turns: list[Exchange],
        src: list[str] | None,
        lo: object,
        hi: object,
        be: str,
        kk: float,
        evt: gr.SelectData,
    ) -> Iterator[tuple[Any, ...]]:
        value = evt.value if isinstance(evt.value, dict) else {}
        yield from run(str(value.get("text", "")), turns, src, lo, hi, be, kk)

    # Gradio finds the event-data parameter by its evaluated type hint; with postponed
    # annotations "gr.SelectData" cannot be resolved from this module's globals.
    from_example.__annotations__["evt"] = gr.SelectData

    def show_citation(target: str, turns: list[Exchange]) -> Any:
        try:
            turn, n = (int(x) for x in (target or "").split("-", 1))
            ex = turns[turn]
        except (ValueError, IndexError):
            return gr.skip()
        return panel(app, ex, active=n)

    common: dict[str, Any] = {"concurrency_id": CHAT_QUEUE, "api_visibility": "private"}
    gr.on([box.submit, send.click], run, [box, convo, *controls], outputs, **common)
    regen.click(regenerate, [convo, *controls], outputs, **common)
    chatbot.example_select(from_example, [convo, *controls], outputs, **common)

    def reset() -> tuple[Any, ...]:
        return [], [], sources_html(None, {}), "", ""

    clear.click(reset, None, outputs, api_visibility="private", queue=False)
    # The chatbot's own trash icon clears the messages; the conversation must go with them.
    chatbot.clear(reset, None, outputs, api_visibility="private", queue=False)
    copy.click(None, [plain], None, js=COPY_JS)
    cite_btn.click(
        show_citation,
        [cite_target, convo],
        [panel_html],
        js="(t, c) => [window.aqCiteTarget || '', c]",
        api_visibility="private",
        queue=False,
    ).then(None, None, None, js=SCROLL_JS)
    return {"chatbot": chatbot, "sources": sources}


COPY_JS = """(text) => {
  text = text || '';
  const done = () => {
    const b = document.querySelector('#aq-copy');
    if (!b) return;
    const label = b.textContent;
    b.textContent = 'Copied';
    setTimeout(() => { b.textContent = label; }, 1200);
  };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    const area = document.createElement('textarea');
    area.value = text; document.body.appendChild(area); area.select();
    document.execCommand('copy'); area.remove(); done();
  }
  return [];
}"""

SCROLL_JS = """() => {
  const card = document.querySelector('#aq-sources .aq-active');
  if (card) { card.scrollIntoView({block: 'nearest', behavior: 'smooth'}); }
  return [];
}"""

# Loaded with the page: a click on a citation marker [n] in the chat opens that answer's
# sources at card n (through the hidden button), instead of following the fragment link.
PAGE_JS = """() => {
  document.addEventListener('click', (ev) => {
    const a = ev.target.closest && ev.target.closest('a.aq-cite, a[href^="#aq-cite-"]');
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    const m = (a.getAttribute('href') || '').match(/^#aq-cite-(\\d+)-(\\d+)$/);
    if (!m) return;
    window.aqCiteTarget = m[1] + '-' + m[2];
    const b = document.querySelector('#aq-cite-btn');
    if (b) b.click();
  }, true);
}"""
