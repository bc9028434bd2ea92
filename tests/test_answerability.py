"""Answerability: refuse when the evidence lacks what the question is about, answer otherwise.

`judge` is tested on hand-built hits and rankings (its inputs are plain data); the end-to-end
tests use the real embedding model, Chroma and BM25 index over a few articles.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qa.answer import NOT_FOUND, Ranked, answer
from qa.answerability import MIN_COVERAGE, WEAK_RELEVANCE, Idf, decide, judge
from qa.lexical import LexicalIndex, scaled_idf
from qa.retrieve import Retriever
from qa.types import Article, Chunk, Hit
from qa.verify import Candidate, content_terms
from tests.conftest import indexed_retriever

PASSAGES = {
    "prince": ("Prince dies at 57", "Prince died in April last year at his home in Minnesota."),
    "council": (
        "Council budget",
        "The city council approved a budget of 4 million dollars for the harbour. "
        "The vote was close.",
    ),
}


def hits_and_ranking(order: list[int], relevance: list[float], best: float = 0.6) -> Ranked:
    """A Ranked over the sentences of PASSAGES (one hit each), in the given order."""
    cands = []
    for n, (aid, (title, text)) in enumerate(PASSAGES.items()):
        hit = Hit(Chunk(f"{aid}:0", aid, 0, text, 0, len(text)), 1.0 - n / 10, {"title": title})
        start = 0
        for sentence in text.split(". "):
            s = sentence if sentence.endswith(".") else sentence + "."
            cands.append(Candidate(hit, s, start, start + len(s)))
            start += len(s) + 1
    vectors = np.zeros((len(cands), 2), dtype=np.float32)
    return Ranked(cands, vectors, np.asarray(relevance, dtype=np.float32), order, best)


def hits_of(ranked: Ranked) -> list[Hit]:
    return list({id(c.hit): c.hit for c in ranked.cands}.values())


def idf_of(rare: set[str]) -> Idf:
    """Rare terms weigh 0.9, the rest 0.3."""
    return lambda terms: {t: 0.9 if t in rare else 0.3 for t in terms}


def test_a_rare_term_in_no_passage_is_refused_and_named() -> None:
    ranked = hits_and_ranking([0, 1, 2], [0.5, 0.4, 0.3])
    q = "What year did Tesla die?"
    got = judge(q, hits_of(ranked), ranked, idf=idf_of(content_terms("Tesla")))
    assert not got.answerable and "'tesla'" in got.reason
    assert got.signals["missing"] == 0.9


def test_the_best_sentence_holding_the_question_terms_is_answerable() -> None:
    ranked = hits_and_ranking([0, 1, 2], [0.5, 0.4, 0.3])
    q = "When did Prince die?"
    got = judge(q, hits_of(ranked), ranked, idf=idf_of(content_terms("Prince")))
    assert got.answerable and got.signals["coverage"] == 1.0


def test_terms_found_only_away_from_the_best_sentence_do_not_count() -> None:
    # The council's budget is retrieved, but the best-ranked sentence is about Prince.
    ranked = hits_and_ranking([0, 1, 2], [0.5, 0.4, 0.3])
    q = "What budget did the council approve for the harbour?"
    rare = content_terms("harbour budget council")
    got = judge(q, hits_of(ranked), ranked, idf=idf_of(rare))
    assert got.signals["missing"] == 0.0  # every term is in some passage...
    assert got.signals["coverage"] < MIN_COVERAGE and not got.answerable  # ...not the best
    # Ranked the other way round, the same evidence answers it.
    ranked = hits_and_ranking([1, 2, 0], [0.4, 0.5, 0.3])
    assert judge(q, hits_of(ranked), ranked, idf=idf_of(rare)).answerable
    # A best sentence relevant enough answers whatever its words.
    strong = hits_and_ranking([0, 1, 2], [WEAK_RELEVANCE + 0.05, 0.4, 0.3])
    assert judge(q, hits_of(strong), strong, idf=idf_of(rare)).answerable


def test_nothing_close_is_refused_whatever_the_terms() -> None:
    ranked = hits_and_ranking([0, 1, 2], [0.5, 0.4, 0.3], best=0.1)
    got = judge("When did Prince die?", hits_of(ranked), ranked, idf=idf_of(set()), min_cosine=0.3)
    assert not got.answerable and "cosine" in got.reason
    assert not decide({"cosine": 0.9}).answerable  # no evidence at all


def test_idf_scales_from_every_chunk_to_none() -> None:
    rows: list[tuple[str, str, dict[str, str]]] = [
        (f"c{i}", f"the harbour report number {i}" + (" Tesla" if i == 0 else ""), {})
        for i in range(20)
    ]
    index = LexicalIndex.build(rows)
    got = index.idf(["harbour", "tesla", "zanzibar"])
    assert got["harbour"] == pytest.approx(scaled_idf(20, 20)) and got["harbour"] < 0.05
    assert got["tesla"] == pytest.approx(scaled_idf(1, 20))
    assert got["zanzibar"] == 1.0 and got["harbour"] < got["tesla"] < got["zanzibar"]


ARTICLES = [
    (
        "Prince dies at 57",
        "The singer Prince died in April 2016 at his Paisley Park home in Minnesota. "
        "He was 57. Fans gathered outside the studio for days.",
    ),
    (
        "Harbour ferry returns",
        "The harbour ferry service resumes on Monday after six weeks of pier repairs. "
        "The council paid 2 million dollars for the new pier.",
    ),
    (
        "Bike lanes approved",
        "Riverton approved protected bike lanes on Main Street. Construction starts in May "
        "and the lanes should open in the autumn.",
    ),
]


@pytest.fixture
def retriever(tmp_path: Path, embeddings) -> Retriever:
    items = [
        Article(id=f"a{n}", text=text, title=title, origin=str(tmp_path))
        for n, (title, text) in enumerate(ARTICLES)
    ]
    return indexed_retriever(tmp_path, embeddings, items, "answerability")


def test_question_about_an_absent_article_is_refused_with_closest(retriever: Retriever) -> None:
    ans = answer("What year did Nikola Tesla die?", retriever=retriever, llm=None)
    assert not ans.answerable and ans.text == NOT_FOUND and not ans.citations
    assert ans.closest and any("tesla" in n for n in ans.notes)


def test_question_answered_by_an_article_is_answered(retriever: Retriever) -> None:
    ans = answer("When does the harbour ferry service resume?", retriever=retriever, llm=None)
    assert ans.answerable and "Monday" in ans.text
    assert ans.citations[0].article_id == "a1"


def test_what_a_question_asks_for() -> None:
    from qa.answerability import expected_type, has_type

    assert expected_type("How many moons does Jupiter have?") == "number"
    assert expected_type("What year did Nikola Tesla die?") == "time"
    assert expected_type("Who won the 2018 World Cup?") == "name"
    assert expected_type("Why did Iran's leader mock Trump?") == ""
    assert has_type("number", "Jupiter has 79 known moons.")
    assert not has_type("number", "Jupiter's moons Europa, Callisto and Ganymede.")
    assert has_type("time", "He died in January 1943.")
    assert has_type("name", "The cup went to France.")
    assert not has_type("name", "The cup went to the home side.")
