"""The local model choosing the short answer among the rules' candidate spans.

A GBNF grammar allows only the candidates' literal text, so the model can only copy one of
them: what it says is a verbatim span of a citation. Measured on XQuAD dev and the news
corpus (docs/short_answer.md): alone it is worse than the rules, and as a second opinion it
adds answers at lower precision, so the product should use the rules' abstaining
`short_answer`; this module stays for measuring models. The model is a parameter (a
`LocalChatModel`: other backends do not take a grammar); nothing is loaded here.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage, SystemMessage

from qa.short_answer import MIN_MARGIN, SURE_KINDS, question_type, ranked_spans, short_answer

SYSTEM = "Answer the question with the exact words from the text that answer it."
# Candidates offered to the model, best first by the rules.
TOP = 5


def literal_grammar(options: Sequence[str]) -> str:
    """A GBNF grammar whose only sentences are the given strings."""
    return "root ::= " + " | ".join(json.dumps(o, ensure_ascii=False) for o in options)


def choose_span(
    llm: BaseChatModel, question: str, snippets: Sequence[str], *, top: int = TOP
) -> str:
    """The candidate span (of the rules' `top` best) the model picks, verbatim; "" when the
    rules have none."""
    options = [t for _, t in ranked_spans(question, snippets)[:top]]
    if len(options) <= 1:
        return options[0] if options else ""
    text = " ".join(snippets)
    user = f"Text: {text}\n\nQuestion: {question}\n\nAnswer:"
    messages = [SystemMessage(SYSTEM), HumanMessage(user)]
    # A few tokens: the grammar ends the answer when a candidate is complete.
    reply = llm.invoke(messages, grammar=literal_grammar(options), max_tokens=32)
    got = str(reply.content).strip()
    return got if got in options else ""


def checked_short_answer(
    llm: BaseChatModel | None,
    question: str,
    snippets: Sequence[str],
    *,
    min_margin: float = MIN_MARGIN,
) -> str:
    """The rules' short answer when it leads its runner-up by `min_margin`; else, for a
    name/date/number/place question, the rules' best span if the model picks it too; else ""."""
    sure = short_answer(question, snippets, min_margin=min_margin)
    if sure or llm is None or question_type(question) not in SURE_KINDS:
        return sure
    best = short_answer(question, snippets, min_margin=0.0)
    if best and choose_span(llm, question, snippets) == best:
        return best
    return ""
