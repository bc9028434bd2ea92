"""Digests and comparisons: the question's kind, one verbatim sentence per article and story,
date order, named sources side by side, and "kind" in every JSON form of an Answer.

Retrieval, embeddings and Chroma are real; no chat model (digests use none).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from qa.answer import answer
from qa.digest import Line, distinct_stories, named_sources, topic_of
from qa.kinds import question_kind
from qa.retrieve import Retriever
from qa.types import Answer, Article, Chunk, Hit
from qa.verify import Candidate
from tests.conftest import ROOT, indexed_retriever

SAMPLES = str(ROOT / "examples" / "articles")


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("What happened with the protests in Romania?", "digest"),
        ("Summarize the news about Trump's travel ban", "digest"),
        ("What did the articles report about the dam last week?", "digest"),
        ("What happened last week?", "digest"),
        ("Give me a timeline of the Brexit talks", "digest"),
        ("What's the latest on the North Korea missile tests?", "digest"),
        ("How do the CNN and DW reports differ on the protests?", "comparison"),
        ("Compare how Al Jazeera and TASS covered the Syria talks", "comparison"),
        ("What happened to the crew onboard during the plugs-out test?", "factoid"),
        ("What happened in 1992 in a UK-wide process?", "factoid"),
        ("How do the fees at former Model C schools compare to those at other schools?", "factoid"),
        (
            "What does the WG I Summary for Policymakers report say about greenhouse gases?",
            "factoid",
        ),
        ("Can you tell me about Bank of America?", "factoid"),
        ("Which company does the US want South Korea to drop?", "factoid"),
    ],
)
def test_question_kind(question: str, kind: str) -> None:
    assert question_kind(question) == kind


def test_topic_is_the_question_without_its_digest_words() -> None:
    assert topic_of("What happened with the protests in Romania?") == "protests in Romania"
    assert topic_of("Summarize the news about Trump's travel ban") == "Trump's travel ban"
    assert topic_of("Give me a timeline of Brexit and Article 50") == "Brexit and Article 50"
    assert topic_of("What did the articles report?") == ""


def test_named_sources_match_outlets_by_name_or_domain() -> None:
    sources = ["aljazeera.com", "cnn.com", "dw.com", "abcnews.go.com", "tass.com"]
    q = "How do the DW and CNN reports differ on X?"
    assert named_sources(q, sources) == [("DW", "dw.com"), ("CNN", "cnn.com")]
    q = "Compare how Al Jazeera and ABC covered it"
    assert named_sources(q, sources) == [("Al Jazeera", "aljazeera.com"), ("ABC", "abcnews.go.com")]
    assert named_sources("compare how the reports covered it", sources) == []


def _line(text: str, title: str, published: str, vector: list[float], relevance: float) -> Line:
    chunk = Chunk(f"{title}:0", title, 0, text, 0, len(text))
    hit = Hit(chunk, 1.0, {"title": title, "published": published})
    v = np.asarray(vector, dtype=np.float32)
    return Line(Candidate(hit, text, 0, len(text)), relevance, v / np.linalg.norm(v), v)


def test_near_duplicate_stories_are_collapsed_to_the_most_relevant() -> None:
    a = _line("Dam spillway fails.", "a", "2017-02-13", [1, 0, 0], 0.9)
    b = _line("The dam's spillway failed.", "b", "2017-02-13", [0.99, 0.1, 0], 0.8)
    # Different sentences, titles alike, two days apart: the same story from two outlets.
    c = _line("Thousands evacuated.", "c", "2017-02-14", [0, 1, 0], 0.7)
    c = Line(c.candidate, c.relevance, c.vector, np.asarray([1, 0, 0], dtype=np.float32))
    a = Line(a.candidate, a.relevance, a.vector, np.asarray([1, 0, 0], dtype=np.float32))
    # Same title words a month later: a new development, kept.
    d = _line("Repairs begin.", "d", "2017-03-20", [0, 0, 1], 0.6)
    d = Line(d.candidate, d.relevance, d.vector, np.asarray([1, 0, 0], dtype=np.float32))
    kept = distinct_stories([d, c, b, a])
    assert [x.candidate.hit.title for x in kept] == ["a", "d"]


def check_digest(ans: Answer, retriever: Retriever) -> list[str]:
    """Every citation is verbatim text of its article at its offsets, one per article, in date
    order, each marked in the text once; returns the cited article ids."""
    assert ans.answerable and ans.citations
    ids = [c.article_id for c in ans.citations]
    assert len(set(ids)) == len(ids)
    days = [c.published[:10] for c in ans.citations]
    assert days == sorted(days), days
    assert [int(n) for n in re.findall(r"\[(\d+)\]", ans.text)] == [c.id for c in ans.citations]
    for c in ans.citations:
        got = retriever.store.get_article(c.article_id)
        assert got is not None and got[0].text[c.start : c.end] == c.snippet
        assert c.published[:10] in ans.text
    return ids


def test_a_digest_over_the_samples_cites_several_articles_in_date_order(app) -> None:
    app.index([SAMPLES])
    titles = {r["id"]: r["title"] for r in app.store.list_articles()}
    ans = answer("Summarize the news since February 2024", retriever=app.retriever, llm=None)
    assert ans.kind == "digest"
    ids = check_digest(ans, app.retriever)
    # Four sample articles were published since then; the undated ones are not listed.
    assert len(ids) == 4 and all(c.published >= "2024-02" for c in ans.citations)
    assert "Harbor ferry service resumes after storm repairs" in [titles[i] for i in ids]
    # A topic: only the articles about it, not the rest of the samples.
    ans = answer("What happened in Northpoint?", retriever=app.retriever, llm=None)
    assert ans.kind == "digest"
    ids = check_digest(ans, app.retriever)
    assert sorted(titles[i] for i in ids) == [
        "Harbor ferry service resumes after storm repairs",
        "Northpoint library extends opening hours",
    ]


def test_a_digest_with_one_article_on_the_topic_answers_as_for_a_fact(app) -> None:
    app.index([SAMPLES])
    ans = answer(
        "What happened with the cranes at Lake Hornborga?", retriever=app.retriever, llm=None
    )
    assert ans.kind == "digest" and ans.answerable
    assert {c.title for c in ans.citations} == {
        "Volunteers count record number of migrating cranes"
    }


def test_a_comparison_sets_named_sources_side_by_side(tmp_path: Path, embeddings) -> None:
    def art(i: str, source: str, day: str, title: str, text: str) -> Article:
        return Article(
            id=i, text=text, title=title, source=source, published=day, origin=str(tmp_path)
        )

    items = [
        art(
            "a",
            "cnn.com",
            "2017-02-07",
            "Bridge closed",
            "The river bridge in Ardmore was "
            "closed on Monday after engineers found cracks in two of its pillars.",
        ),
        art(
            "b",
            "dw.com",
            "2017-02-08",
            "Ardmore bridge",
            "Engineers said the Ardmore river "
            "bridge could reopen within a month once the cracked pillars are braced.",
        ),
        art(
            "c",
            "dw.com",
            "2017-02-08",
            "Football",
            "The home team won the cup final 2-1 on Saturday in front of a record crowd of fans.",
        ),
    ]
    retriever = indexed_retriever(tmp_path, embeddings, items, "cmp")
    q = "How do the CNN and DW reports differ on the Ardmore bridge?"
    ans = answer(q, retriever=retriever, llm=None)
    assert ans.kind == "comparison"
    lines = ans.text.splitlines()
    assert lines[0].startswith("CNN (2017-02-07): “The river bridge") and lines[0].endswith("[1]")
    assert lines[1].startswith("DW (2017-02-08): “Engineers said") and lines[1].endswith("[2]")
    assert [c.source for c in ans.citations] == ["cnn.com", "dw.com"]
    # A named source with nothing on the topic is said so, plainly.
    ans = answer("Compare how CNN and DW reported the cup final", retriever=retriever, llm=None)
    assert "CNN: no article from cnn.com on this topic" in ans.text
    assert [c.article_id for c in ans.citations] == ["c"]


def test_kind_is_in_every_json_answer(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from qa.cli import cli

    base = ["--data-dir", str(tmp_path / "d"), "--llm", "extractive"]
    runner = CliRunner()
    assert runner.invoke(cli, [*base, "index", SAMPLES]).exit_code == 0
    result = runner.invoke(cli, [*base, "ask", "What happened in Northpoint?", "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert out["kind"] == "digest" and len(out["citations"]) == 2
    questions = tmp_path / "q.jsonl"
    rows = [
        {"id": "f", "question": "How many people use the harbor ferry on a weekday?"},
        {"id": "d", "question": "Summarize the news since February 2024"},
    ]
    questions.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    result = runner.invoke(cli, [*base, "ask", "--batch", str(questions), "--json"])
    assert result.exit_code == 0, result.output
    got = {o["id"]: o["kind"] for o in map(json.loads, result.stdout.splitlines())}
    assert got == {"f": "factoid", "d": "digest"}


def test_a_digest_of_an_empty_window_says_so(app) -> None:
    # Over the news corpus "What did the articles say in March 2016?" (nothing from then)
    # listed other months' sentences that mention March.
    app.index([SAMPLES])
    ans = answer("What did the articles say in March 2023?", retriever=app.retriever, llm=None)
    assert ans.kind == "digest" and not ans.answerable and not ans.citations
    assert any(n.startswith("no article was published in March 2023") for n in ans.notes)
    # With a topic, the window's note comes with an answer from the other articles.
    ans = answer(
        "What did the articles report about the harbor ferry in March 2023?",
        retriever=app.retriever,
        llm=None,
    )
    assert ans.answerable and "harbor ferry" in ans.text
