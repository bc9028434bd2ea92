"""HTML and markdown for the chat UI, built from Answers and stored articles (no Gradio here).

Article text is untrusted: titles, snippets and whole articles may hold `<script>`, event
handler attributes, `javascript:` links or markdown tricks. Everything that comes from an
article is turned into inert text here, before Gradio sees it: HTML-escaped for the source
panel, and every punctuation character written as a numeric entity for the chat's markdown (an
entity is always literal text to a markdown renderer, so no link, image, emphasis or HTML can
form). The only markup in the output is the markup written in this module.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from qa.render import safe
from qa.types import Answer, Citation, Hit

CONTEXT_CHARS = 600  # at most this much paragraph on each side of a cited span
# Everything markdown, HTML or an autolinker reads as syntax ("?", ",", ";" and "/" are not).
_PUNCT = re.compile(r"[\\`*_{}\[\]()#+\-.!|<>~&\"'$:@=^%]")
_MARKER = re.compile(r"\[(\d+)\]")
_INDENT = re.compile(r"^[ \t]+", re.M)
_PLAIN_TITLE = re.compile(r"[\w ,.'’\-–:;!?&%$€£]+")


def esc(text: object) -> str:
    """Text as inert HTML (control characters dropped, quotes escaped for attributes)."""
    return html.escape(safe(str(text)), quote=True)


def md_text(text: str) -> str:
    """Text that a markdown renderer shows literally: syntax characters become entities."""
    # Leading indentation would make a code block; every other trick needs punctuation.
    text = _INDENT.sub("", safe(text))
    return _PUNCT.sub(lambda m: f"&#{ord(m.group())};", text)


def web_url(url: str) -> str:
    """The URL if it is plain http(s) (safe to link to), else ""."""
    url = url.strip()
    if re.match(r"^https?://[^\s\"'<>`]+$", url, re.I):
        return url
    return ""


def cite_href(turn: int, n: int) -> str:
    """The fragment a citation marker links to; the page script turns a click into a panel."""
    return f"#aq-cite-{turn}-{n}"


def _cite_link(turn: int, n: int, title: str = "") -> str:
    # md_text escapes quotes too, and leaves nothing a markdown renderer could read as syntax.
    tip = f' title="{md_text(title)}"' if title else ""
    return f'<a class="aq-cite" href="{cite_href(turn, n)}"{tip}>[{n}]</a>'


def answer_markdown(ans: Answer, turn: int) -> str:
    """The chat message of a finished answer: text with clickable [n], notes, source titles."""
    if not ans.answerable:
        lines = [f"**{md_text(ans.text)}** The closest articles are listed under Sources:"]
        lines += [f"- {md_text(title)}" for title in _closest_titles(ans.closest)]
        return "\n".join(lines)
    titles = {c.id: c.title for c in ans.citations}
    parts: list[str] = []
    pos = 0
    for m in _MARKER.finditer(ans.text):
        n = int(m.group(1))
        if n not in titles:  # a bracketed number quoted from an article, not our marker
            continue
        parts.append(_text_at(ans.text[pos : m.start()], pos))
        parts.append(_cite_link(turn, n, titles[n]))
        pos = m.end()
    parts.append(_text_at(ans.text[pos:], pos))
    out = ["".join(parts)]
    out += [f"*{md_text(note)}*" for note in ans.notes]
    if ans.details:
        items = "".join(f"<li>{md_text(d)}</li>" for d in ans.details)
        out.append(
            f'<details class="aq-details"><summary>details</summary><ul>{items}</ul></details>'
        )
    if ans.citations:
        refs = " · ".join(
            f"{_cite_link(turn, c.id)} {md_text(c.title or 'untitled')}" for c in ans.citations
        )
        out.append(f"<small>Sources: {refs}</small>")
    return "\n\n".join(out)


def _text_at(text: str, pos: int) -> str:
    """md_text of the answer's text from `pos` on: after a marker (pos > 0) its leading space
    is a word space, not indentation, so it stays ("[1] “The", never "[1]“The")."""
    body = text.lstrip(" \t")
    return (" " if pos and body != text else "") + md_text(body)


def draft_markdown(draft: str) -> str:
    """The chat message while the model is still writing (its words are not verified yet)."""
    if not draft.strip():
        return "*Searching the articles…*"
    return f"*Draft, being checked against the articles:*\n\n{md_text(draft)}"


def _closest_titles(hits: Iterable[Hit]) -> list[str]:
    seen: dict[str, str] = {}
    for h in hits:
        seen.setdefault(h.chunk.article_id, h.title or "untitled")
    return list(seen.values())


def _meta_line(source: str, published: str, url: str) -> str:
    bits = [esc(x) for x in (source, published[:10]) if x]
    link = web_url(url)
    if link:
        bits.append(
            f'<a href="{esc(link)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{esc(link)}</a>"
        )
    return " · ".join(bits)


def context_html(text: str, start: int, end: int, snippet: str) -> str:
    """The paragraph around text[start:end], with that span marked; the snippet alone if the
    stored article no longer holds it at those offsets."""
    if not text or text[start:end] != snippet:
        return f"<mark>{esc(snippet)}</mark>"
    lo = text.rfind("\n", 0, start) + 1
    hi = text.find("\n", end)
    hi = len(text) if hi < 0 else hi
    before, after = (
        text[max(lo, start - CONTEXT_CHARS) : start],
        text[end : min(hi, end + CONTEXT_CHARS)],
    )
    lead = "…" if start - len(before) > lo else ""
    tail = "…" if end + len(after) < hi else ""
    return f"{lead}{esc(before)}<mark>{esc(snippet)}</mark>{esc(after)}{tail}"


def article_html(text: str, start: int = 0, end: int = 0) -> str:
    """A whole article as text (line breaks kept by CSS), the cited span marked if given."""
    if 0 <= start < end <= len(text):
        return f"{esc(text[:start])}<mark>{esc(text[start:end])}</mark>{esc(text[end:])}"
    return esc(text)


def _citation_card(c: Citation, text: str, active: bool) -> str:
    cls = "aq-card aq-active" if active else "aq-card"
    whole = ""
    if text:
        whole = (
            '<details class="aq-whole"><summary>Show whole article</summary>'
            f'<div class="aq-article">{article_html(text, c.start, c.end)}</div>'
            "</details>"
        )
    return (
        f'<div class="{cls}" id="aq-card-{c.id}" data-cite="{c.id}">'
        f'<div class="aq-title"><span class="aq-num">[{c.id}]</span> '
        f"{esc(c.title or 'untitled')}</div>"
        f'<div class="aq-meta">{_meta_line(c.source, c.published, c.url)}</div>'
        f'<blockquote class="aq-context">{context_html(text, c.start, c.end, c.snippet)}'
        f"</blockquote>{whole}</div>"
    )


def _closest_card(h: Hit) -> str:
    m = h.meta
    snippet = h.chunk.text if len(h.chunk.text) <= 300 else h.chunk.text[:300] + "…"
    meta = _meta_line(str(m.get("source", "")), str(m.get("published", "")), str(m.get("url", "")))
    return (
        '<div class="aq-card aq-closest">'
        f'<div class="aq-title">{esc(h.title or "untitled")}</div>'
        f'<div class="aq-meta">{meta}</div>'
        f'<blockquote class="aq-context">{esc(snippet)}</blockquote></div>'
    )


def sources_html(
    ans: Answer | None, articles: Mapping[str, str], *, active: int | None = None
) -> str:
    """The source panel for one answer: a card per citation (paragraph with the cited span
    highlighted, metadata, link, whole article), or the closest articles when unanswerable.

    `articles` maps article id to stored text (missing ids fall back to the snippet alone).
    """
    if ans is None:
        return '<div class="aq-empty">Sources of the answer appear here.</div>'
    head = f'<div class="aq-question">Sources for “{esc(ans.question)}”</div>'
    if not ans.answerable:
        seen: set[str] = set()
        cards = []
        for h in ans.closest:
            if h.chunk.article_id not in seen:
                seen.add(h.chunk.article_id)
                cards.append(_closest_card(h))
        body = (
            '<div class="aq-notfound"><b>The indexed articles do not answer this.</b> '
            + ("Closest articles:" if cards else "Nothing indexed comes close.")
            + "</div>"
        )
        return head + body + "".join(cards)
    cards = [
        _citation_card(c, articles.get(c.article_id, ""), c.id == active) for c in ans.citations
    ]
    return head + "".join(cards)


def library_rows(rows: Sequence[Mapping[str, Any]]) -> list[list[Any]]:
    """Table rows (title, source, date, chunks, id) from `Store.list_articles()` records."""
    return [
        [
            safe(str(r.get("title", ""))) or "untitled",
            safe(str(r.get("source", ""))),
            str(r.get("published", ""))[:10],
            int(r.get("chunks", 0) or 0),
            str(r.get("id", "")),
        ]
        for r in rows
    ]


def source_choices(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The distinct sources of the indexed articles, for the filter."""
    return sorted({str(r.get("source", "")) for r in rows if r.get("source")})


def example_questions(rows: Sequence[Mapping[str, Any]], n: int = 4) -> list[str]:
    """Questions about the newest indexed articles, shown on the empty chat."""
    out: list[str] = []
    for r in rows:
        title = _quotable(" ".join(safe(str(r.get("title", ""))).split()))
        # Only plain titles: an example is shown and sent as typed text, markup has no place.
        if not 12 <= len(title) <= 90 or not _PLAIN_TITLE.fullmatch(title):
            continue
        q = f"What does the article “{title}” report?"
        if q not in out:
            out.append(q)
        if len(out) == n:
            break
    return out


def _quotable(title: str) -> str:
    """A title as quoted inside a question: its own "?" or "!" kept (the title asks or
    exclaims), a closing ".", ":", ";" or "," dropped (the question goes on after it)."""
    if title.endswith("..."):
        return title
    return title.rstrip(".:;, ")
