"""Short answers: the span picker by question type, and end to end on the seed article."""

from __future__ import annotations

from pathlib import Path

from qa.answer import answer
from qa.short_answer import DATE, NAME, NONE, NUMBER, question_type, short_answer
from qa.types import Article
from tests.conftest import SEED, indexed_retriever

PANTHERS = [
    "Pro Bowl defensive tackle Kawann Short led the team in sacks with 11, while also forcing "
    "three fumbles and recovering two.",
    "The Panthers defense gave up just 308 points, ranking sixth in the league, while also "
    "leading the NFL in interceptions with 24.",
]


def test_question_types() -> None:
    assert question_type("Who led the Panthers in sacks?") == NAME
    assert question_type("What year did Luther publish it?") == DATE
    assert question_type("When was the treaty signed?") == DATE
    assert question_type("How many points did the defense give up?") == NUMBER
    assert question_type("Why did the protests start?") == NONE
    assert question_type("Summarize the news about the travel ban") == NONE


def test_who_picks_the_name_near_the_question_words() -> None:
    assert short_answer("Who led the team in sacks?", PANTHERS) == "Kawann Short"


def test_how_many_picks_the_number_near_the_question_words() -> None:
    assert short_answer("How many points did the Panthers defense give up?", PANTHERS) == "308"
    assert short_answer("How many sacks did Kawann Short have?", PANTHERS) == "11"
    # "Panthers defense" sits next to 308; the rarer "interceptions" next to 24 decides.
    assert short_answer("How many interceptions did the Panthers defense have?", PANTHERS) == "24"


def test_when_picks_a_date_not_another_number() -> None:
    snippets = ["The 41 delegates signed the treaty on 14 March 2017 in Geneva."]
    assert short_answer("When did the delegates sign the treaty?", snippets) == "14 March 2017"


def test_which_picks_a_name_not_in_the_question() -> None:
    snippets = ["Now the U.S. wants South Korea to abandon Huawei products in a weird fashion."]
    got = short_answer("Which company does the US want South Korea to drop?", snippets)
    assert got == "Huawei"


def test_explanations_and_empty_evidence_get_no_short_answer() -> None:
    assert short_answer("Why did the Panthers defense do well?", PANTHERS) == ""
    assert short_answer("Who led the team in sacks?", []) == ""


def test_end_to_end_short_answer_is_a_verbatim_span_of_a_citation(
    tmp_path: Path, embeddings
) -> None:
    seed = Article(id="seed", text=SEED.read_text(), title="Trade war", origin=str(tmp_path))
    retriever = indexed_retriever(tmp_path, embeddings, [seed], "short")
    question = "Which company does the US want South Korea to drop?"
    ans = answer(question, retriever=retriever, llm=None)
    got = short_answer(question, [c.snippet for c in ans.citations])
    assert got == "Huawei" and any(got in c.snippet for c in ans.citations)
