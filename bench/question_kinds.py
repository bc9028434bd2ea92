"""How often question_kind routes a question to a digest or a comparison.

XQuAD and MTRAG dev questions are (nearly) all factoid: every one routed elsewhere is counted
and printed. The labelled list below is news questions written for this check.

    PYTHONPATH=$PWD .venv/bin/python bench/question_kinds.py
"""

from __future__ import annotations

import ast
import json
from collections import Counter
from pathlib import Path

from qa.kinds import question_kind

SHARED = Path(__file__).resolve().parent.parent.parent / "shared"

LABELLED = [
    ("What happened with the protests in Romania?", "digest"),
    ("Summarize the news about Trump's travel ban", "digest"),
    ("What did the articles report about the Oroville dam last week?", "digest"),
    ("What happened last week?", "digest"),
    ("Give me a timeline of the Brexit negotiations", "digest"),
    ("What's the latest on the North Korea missile tests?", "digest"),
    ("What are the reports saying about the French election?", "digest"),
    ("Summarise the coverage of the Dakota Access pipeline", "digest"),
    ("What has happened in Syria this month?", "digest"),
    ("Any news about Kim Jong Nam's death?", "digest"),
    ("Catch me up on the health care bill", "digest"),
    ("What did the press say about Betsy DeVos?", "digest"),
    ("Give me an overview of the Wikileaks CIA leak", "digest"),
    ("What is the recent news on Uber?", "digest"),
    ("What happened at the Oscars?", "digest"),
    ("How do the CNN and DW reports differ on the Romanian protests?", "comparison"),
    ("Compare how Al Jazeera and CNN covered the travel ban", "comparison"),
    (
        "How did Reuters and TASS report the Syrian ceasefire differently? Compare them",
        "comparison",
    ),
    ("What is the difference between the DW and CNN articles about Brexit?", "comparison"),
    ("Compare the coverage of the Dutch election by DW and Al Jazeera", "comparison"),
    ("Who was confirmed as education secretary?", "factoid"),
    ("How many people protested in Bucharest on Sunday?", "factoid"),
    ("When did the UK trigger Article 50?", "factoid"),
    ("What happened to Kim Jong Nam?", "factoid"),
    ("Which judge blocked the travel ban?", "factoid"),
    ("What did Theresa May sign on 28 March?", "factoid"),
    ("Where did the North Korean missiles land?", "factoid"),
    ("How much did the Oroville dam repairs cost?", "factoid"),
    ("Why did the Romanian justice minister resign?", "factoid"),
    ("What is the name of the new French president's party?", "factoid"),
    ("How does the new travel ban compare to the first one?", "factoid"),
    ("Who won the best picture award?", "factoid"),
    ("What happened during the Oscars best picture announcement?", "factoid"),
    ("What did the Kremlin say about the Navalny protests?", "factoid"),
    ("How many passengers does the harbor ferry carry each weekday?", "factoid"),
]


def main() -> None:
    """Print the routed counts for XQuAD dev, MTRAG dev and the labelled list."""
    squad = json.loads((SHARED / "eval/xquad/xquad-dev.json").read_text())["data"]
    xquad = [q["question"] for a in squad for p in a["paragraphs"] for q in p["qas"]]
    mtrag = []
    for line in (SHARED / "eval/mtrag/mtrag-dev.jsonl").read_text().splitlines():
        turns = json.loads(line)["input"]
        turns = ast.literal_eval(turns) if isinstance(turns, str) else turns
        mtrag.append(next(t["text"] for t in reversed(turns) if t["speaker"] == "user"))
    for name, qs in (("xquad-dev", xquad), ("mtrag-dev", mtrag)):
        kinds = Counter(question_kind(q) for q in qs)
        print(f"{name}: {len(qs)} questions, {dict(kinds)}")
        for q in qs:
            if question_kind(q) != "factoid":
                print(f"  {question_kind(q)}: {q.strip()}")
    wrong = [(q, want, question_kind(q)) for q, want in LABELLED if question_kind(q) != want]
    counts = Counter(want for _, want in LABELLED)
    print(f"labelled: {len(LABELLED)} questions {dict(counts)}, {len(wrong)} wrong")
    for q, want, got in wrong:
        print(f"  want {want}, got {got}: {q}")


if __name__ == "__main__":
    main()
