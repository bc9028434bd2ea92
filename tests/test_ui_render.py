"""What the UI shows, before any browser: untrusted text made inert, citations linked,
the cited span marked in its paragraph."""

from __future__ import annotations

import html
import re

import pytest

from qa.types import Answer, Chunk, Citation, Hit
from qa.ui_render import (
    answer_markdown,
    context_html,
    example_questions,
    library_rows,
    md_text,
    source_choices,
    sources_html,
    web_url,
)

EVIL = (
    "<script>alert(1)</script> <img src=x onerror=alert(2)> [x](javascript:alert(3)) "
    "![p](http://evil.invalid/p.png) **b** `c` www.evil.invalid $$x$$"
)
ARTICLE = (
    "Title line\n\nFirst paragraph. The council voted to close the pier on Friday. "
    "Divers found cracks.\n\nSecond paragraph."
)
SNIPPET = "The council voted to close the pier on Friday."


def citation(n: int = 1, **kw: object) -> Citation:
    start = ARTICLE.index(SNIPPET)
    base: dict[str, object] = {
        "id": n,
        "chunk_id": "a:0",
        "article_id": "a",
        "title": "Pier vote",
        "url": "https://example.org/pier",
        "source": "example.org",
        "published": "2024-03-05T10:00:00",
        "snippet": SNIPPET,
        "start": start,
        "end": start + len(SNIPPET),
        "score": 1.0,
    }
    return Citation(**{**base, **kw})  # type: ignore[arg-type]


def test_md_text_leaves_no_markup_or_link_syntax() -> None:
    out = md_text(EVIL)
    for ch in "<>[]()!*`$:":
        assert ch not in out
    assert html.unescape(out) == EVIL  # and nothing is lost


def test_md_text_drops_indentation_and_control_characters() -> None:
    assert md_text("    code\n\x1b[31mred") == "code\n&#91;31mred"


def test_answer_links_only_known_citations() -> None:
    ans = Answer("q?", "It rained [1]. Quoted [7] text [2].", True, (citation(1), citation(2)))
    out = answer_markdown(ans, turn=3)
    assert out.count('href="#aq-cite-3-1"') == 2  # in the text and in the source line
    assert out.count('href="#aq-cite-3-2"') == 2
    assert "aq-cite-3-7" not in out and "&#91;7&#93;" in out


def test_answer_with_hostile_citation_title_stays_text() -> None:
    ans = Answer("q?", "It rained [1].", True, (citation(1, title=EVIL),))
    out = answer_markdown(ans, turn=0)
    assert "<script" not in out and "<img" not in out and "](javascript" not in out


def test_details_sit_behind_a_toggle_and_stay_text() -> None:
    removed = f"removed from the model's answer (no support): “{EVIL}”"
    ans = Answer("q?", "It rained [1].", True, (citation(1),), details=(removed,))
    out = answer_markdown(ans, turn=0)
    answer_part, toggle = out.split('<details class="aq-details">')
    assert "removed" not in answer_part and "<summary>details</summary>" in toggle
    assert "<script" not in toggle and "<img" not in toggle
    assert "aq-details" not in answer_markdown(Answer("q?", "It rained [1].", True), turn=0)


def test_refusal_lists_closest_articles_once() -> None:
    hit = Hit(Chunk("a:0", "a", 0, "text", 0, 4), 0.1, {"title": "Nearby <b>story</b>"})
    ans = Answer("q?", "The indexed articles do not say.", False, closest=(hit, hit))
    out = answer_markdown(ans, turn=0)
    assert out.count("Nearby") == 1 and "<b>" not in out
    panel = sources_html(ans, {})
    assert "do not answer this" in panel and panel.count("aq-closest") == 1
    assert "&lt;b&gt;story&lt;/b&gt;" in panel


def test_context_marks_span_inside_its_paragraph() -> None:
    c = citation()
    out = context_html(ARTICLE, c.start, c.end, c.snippet)
    assert out == f"First paragraph. <mark>{SNIPPET}</mark> Divers found cracks."


def test_context_falls_back_to_snippet_when_offsets_do_not_match() -> None:
    assert context_html("other text", 0, 5, "<b>x</b>") == "<mark>&lt;b&gt;x&lt;/b&gt;</mark>"


def test_context_trims_long_paragraphs() -> None:
    text = "word " * 400 + SNIPPET + " word" * 400
    start = text.index(SNIPPET)
    out = context_html(text, start, start + len(SNIPPET), SNIPPET)
    assert out.startswith("…") and out.endswith("…") and len(out) < 1400


def test_sources_panel_escapes_everything_from_the_article() -> None:
    c = citation(title=EVIL, source=EVIL, url="javascript:alert(1)", snippet=SNIPPET)
    out = sources_html(Answer(EVIL, "x [1].", True, (c,)), {"a": ARTICLE + EVIL}, active=1)
    tags = set(re.findall(r"<([a-z]+)", out))
    assert tags <= {"div", "span", "a", "blockquote", "mark", "details", "summary"}
    assert "javascript:" not in re.sub(r"&[^;]+;|<[^>]+>", "", out).replace("javascript:alert", "")
    assert 'href="javascript' not in out and "aq-active" in out
    assert "<mark>" + SNIPPET + "</mark>" in out  # in the context and in the whole article


def test_web_url_allows_plain_http_only() -> None:
    assert web_url("https://example.org/a?b=1") == "https://example.org/a?b=1"
    for bad in ("javascript:alert(1)", "data:text/html,x", 'https://x" onmouseover="y', ""):
        assert web_url(bad) == ""


def test_library_rows_examples_and_sources() -> None:
    rows = [
        {"id": "1", "title": "Harbor ferry service resumes", "source": "b.org", "chunks": 2},
        {"id": "2", "title": "<img src=x onerror=alert(1)> pwned", "source": "a.org"},
        {"id": "3", "title": "", "source": ""},
    ]
    assert library_rows(rows)[0] == ["Harbor ferry service resumes", "b.org", "", 2, "1"]
    assert library_rows(rows)[2][0] == "untitled"
    assert example_questions(rows) == [
        "What does the article “Harbor ferry service resumes” report?"
    ]
    assert source_choices(rows) == ["a.org", "b.org"]


def test_a_marker_is_followed_by_a_space_before_the_next_quote() -> None:
    text = "“It rained on Friday.” [1] “The pier closed.” [2]\n  Indented [1] text."
    ans = Answer("q?", text, True, (citation(1), citation(2)))
    shown = re.sub(r"<[^>]+>", "", answer_markdown(ans, turn=1).split("\n\n")[0])
    assert (
        html.unescape(shown)
        == "“It rained on Friday.” [1] “The pier closed.” [2]\nIndented [1] text."
    )


@pytest.mark.parametrize(
    ("title", "question"),
    [
        (
            "Will the harbor ferry run again?",
            "What does the article “Will the harbor ferry run again?” report?",
        ),
        (
            "Ferry service resumes at last!",
            "What does the article “Ferry service resumes at last!” report?",
        ),
        (
            "Harbor ferry service resumes.",
            "What does the article “Harbor ferry service resumes” report?",
        ),
        (
            "Harbor ferry service update:",
            "What does the article “Harbor ferry service update” report?",
        ),
        (
            "The ferry, the pier and...",
            "What does the article “The ferry, the pier and...” report?",
        ),
    ],
)
def test_example_questions_keep_the_titles_own_question_mark(title: str, question: str) -> None:
    (got,) = example_questions([{"id": "1", "title": title}])
    assert got == question
    assert got.endswith("report?") and got.count("“") == got.count("”") == 1
