"""Publication time or event time? The classifier of qa/timewords.py on labelled questions.

Each question holds one time phrase; the label says whether it asks for articles published
then ("pub": a search filter) or names when the event asked about happened ("event": the date
stays in the query text). The anchor is the news corpus's newest day.

    .venv/bin/python bench/time_phrases.py
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.timewords import find_publication_range, find_time_range  # noqa: E402

ANCHOR = date(2017, 3, 31)

LABELLED = [
    ("What happened last week?", "pub"),
    ("What did the news say about Brexit this week?", "pub"),
    ("Which articles from March mention Le Pen?", "pub"),
    ("Show me articles published in 2016 about oil prices.", "pub"),
    ("What did the reports say about Syria in March 2017?", "pub"),
    ("What were the headlines yesterday?", "pub"),
    ("What is the latest news on the travel ban?", "pub"),
    ("Who resigned recently?", "pub"),
    ("stories since Feb 10 about Flynn", "pub"),
    ("What did Reuters report on 14 March about the Fed?", "pub"),
    ("news in February 2017 about North Korea", "pub"),
    ("What did the articles say in March 2016?", "pub"),
    ("What was reported today about the Dutch election?", "pub"),
    ("Summarize the past 3 days of coverage on Trump's health bill.", "pub"),
    ("In March 2017, what did the press say about Wilders?", "pub"),
    ("What did the papers write about Uber last month?", "pub"),
    ("Any articles dated 1 March 2017 about SpaceX?", "pub"),
    ("What has the media reported since March 1 about Fillon?", "pub"),
    ("Give me the latest on the Syrian peace talks.", "pub"),
    ("What were this week's headlines about Samsung?", "pub"),
    ("March 2017 news about Snap's IPO", "pub"),
    ("What was in the news two days ago?", "pub"),
    ("How much did Russia's foreign trade fall in 2016?", "event"),
    ("When was Trump inaugurated in January?", "event"),
    ("Who was born in 1950?", "event"),
    ("What happened on 5 March at the summit?", "event"),
    ("How many refugees arrived in Germany in 2015?", "event"),
    ("Which team won the Super Bowl in February?", "event"),
    ("What was the unemployment rate in December?", "event"),
    ("How much did Apple earn in the quarter ending in December 2016?", "event"),
    ("What did Trump say about Mexico on 26 January?", "event"),
    ("Who won the election in November 2016?", "event"),
    ("What happened in 1989 in Berlin?", "event"),
    ("How did oil prices change last year?", "event"),
    ("Which company went public on March 2?", "event"),
    ("What was the budget deficit in 2016?", "event"),
    ("Where did the earthquake strike on 13 November?", "event"),
    ("When did Flynn resign in February?", "event"),
    ("How many jobs were added in February 2017?", "event"),
    ("Why did the Fed raise rates in December?", "event"),
    ("What did Putin announce in his speech on 1 March?", "event"),
    ("How many people died in Syria's war in 2016?", "event"),
    ("What did the articles say about the fall in 2016?", "event"),
    ("Which book was published in 1950?", "event"),
]
# Written after the classifier was tuned on LABELLED, and run once: a check on generalizing.
HELD_OUT = [
    ("Which stories from last Tuesday mention Merkel?", "pub"),
    ("What did newspapers say on 8 March about women's day?", "pub"),
    ("Latest headlines about Tesla", "pub"),
    ("What news was published after March 20, 2017 about Uber?", "pub"),
    ("Anything reported yesterday on the Champions League?", "pub"),
    ("How many tourists visited Spain in 2016?", "event"),
    ("Who did Trump meet on 10 February?", "event"),
    ("What did the court rule in January?", "event"),
    ("What happened to the pound after the vote in June 2016?", "event"),
    ("When did the strike begin in March?", "event"),
]


def main() -> None:
    """Print accuracy, per-label precision/recall and the misses of both sets."""
    report("labelled", LABELLED)
    report("held out", HELD_OUT)


def report(name: str, labelled: list[tuple[str, str]]) -> None:
    """Accuracy, per-label precision/recall and the misses of one set."""
    missing = [q for q, _ in labelled if find_time_range(q, ANCHOR) is None]
    got = [
        ("pub" if find_publication_range(q, ANCHOR) else "event", label) for q, label in labelled
    ]
    right = sum(g == lab for g, lab in got)
    print(f"{name}: {len(labelled)} questions, accuracy {right / len(labelled):.3f} ({right})")
    for label in ("pub", "event"):
        tp = sum(g == lab == label for g, lab in got)
        said = sum(g == label for g, _ in got)
        true = sum(lab == label for _, lab in got)
        print(f"{label}: precision {tp / max(said, 1):.3f}, recall {tp / max(true, 1):.3f}")
    for (q, label), (g, _) in zip(labelled, got, strict=True):
        if g != label:
            print(f"miss: {q!r} labelled {label}, classified {g}")
    for q in missing:
        print(f"no time phrase found: {q!r}")


if __name__ == "__main__":
    main()
