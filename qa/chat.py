"""`articleqa chat`: a terminal chat that keeps the conversation for follow-up questions."""

from __future__ import annotations

import click

from qa.app import App
from qa.render import answer_text, safe
from qa.rewrite import Turn
from qa.types import Answer

HELP = (
    "Ask about your articles. Commands: /sources (last answer's sources), /details (how it"
    " was checked), /reset, /quit."
)


def run_chat(app: App, *, k: int) -> None:
    """Read questions until /quit or end of input; stream each answer, then its sources."""
    history: list[Turn] = []
    last: Answer | None = None
    click.echo(HELP)
    while True:
        try:
            question = click.prompt("you", prompt_suffix="> ").strip()
        except (EOFError, click.exceptions.Abort):
            click.echo("")
            return
        if not question:
            continue
        if question in ("/quit", "/exit"):
            return
        if question == "/reset":
            history, last = [], None
            click.echo("(conversation cleared)")
            continue
        if question == "/details":
            lines = [f"- {safe(d)}" for d in last.details] if last else []
            click.echo("\n".join(lines) if lines else "(nothing to show)")
            continue
        if question == "/sources":
            click.echo(answer_text(last) if last else "(no answer yet)")
            continue
        click.echo("articleqa> ", nl=False)
        streamed = False
        for item in app.ask(question, history=history, k=k):
            if isinstance(item, Answer):
                last = item
            else:
                streamed = True
                click.echo(safe(item), nl=False)
        assert last is not None
        if streamed:
            click.echo("\n(verified)")
        click.echo(answer_text(last).split("\n\nSources:")[0])
        if last.citations:
            more = ", /details for how it was checked" if last.details else ""
            click.echo(f"({len(last.citations)} source(s): /sources to show them{more})")
        history += [Turn(role="user", content=question), Turn(role="assistant", content=last.text)]
