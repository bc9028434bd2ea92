"""The kind of answer a question asks for: one fact, a digest across articles, or a comparison.

"What happened with the protests in Romania?", "Summarize the news about X" or "Give me a
timeline of X" ask for what several articles report (a digest); "How do the CNN and DW reports
differ on X?" asks to set sources side by side (a comparison); everything else asks for a fact.
Matched conservatively by phrase: "What happened to the crew during the test?" or "What
happened in 1992?" ask for one event, so "what happened" followed by to/during/after/before/
when or a year is a fact (XQuAD dev has such questions; docs/digests.md has the counts).
"""

from __future__ import annotations

import re

FACTOID = "factoid"
DIGEST = "digest"
COMPARISON = "comparison"

_WHO = (
    r"(?:the\s+)?(?:articles?|reports?|news|press|media|coverage|stories|story|outlets?|sources?"
    r"|papers?|newspapers?|journalists?|reporters?)"
)
_DIGEST = re.compile(
    "|".join(
        [
            # "What happened with/in/at X", "what has happened", "what happened last week";
            # not "what happened to the crew", "... during the test", "... in 1992".
            r"\bwhat\s+(?:has\s+|have\s+)?(?:happened|is\s+happening|has\s+been\s+happening|went\s+on)"
            r"(?!\s+(?:to|during|after|before|when|while|if|between)\b)"
            r"(?!\s+in\s+(?:the\s+)?(?:year\s+)?(?:1[0-9]|20)\d\d\b)"
            # ... nor "what happened on 5 March at the summit": one day's event.
            r"(?!\s+on\s+(?:the\s+)?(?:\d|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\s+\d))",
            # A verb, or "a summary of": "the WG I Summary for Policymakers" is a name.
            r"\bsummar(?:ize|ise)\b|\b(?:a|the|brief|short|quick)\s+summary\s+of\b",
            r"\b(?:sum\s+up|recap|round-?up|rundown|overview|timeline|chronology)\b",
            rf"\b(?:what|how)\s+(?:did|do|does|have|has)\s+{_WHO}\s+(?:say|said|report|reported|tell|write|wrote|cover|covered)\b",
            rf"\bwhat\s+(?:is|are|was|were)\s+{_WHO}\s+(?:saying|reporting|writing)\b",
            # Not "recent updates" ("Did it receive any recent updates?" asks about a product).
            r"\b(?:the\s+)?(?:latest|recent)\s+(?:news|developments?|reports?|coverage)\b",
            r"\blatest\s+updates?\b",
            # "What's the latest?", "... the latest on X"; not "What is the latest iPhone model?"
            r"\bwhat(?:'s|’s|\s+is)\s+the\s+latest(?=\s*[?.!]?\s*$|\s+(?:on|about|with|in)\b)",
            r"\b(?:the\s+)?latest\s+(?:on|about)\b",
            r"\bwhat(?:'s|’s|\s+is)\s+(?:new|going\s+on)\b",
            # Not "tell me about X": in chat that asks to explain a thing (MTRAG dev).
            r"\b(?:catch\s+me\s+up|fill\s+me\s+in|bring\s+me\s+up\s+to\s+speed)\s+(?:about|on)\b",
            r"^\s*(?:any\s+)?news\s+(?:about|on|from)\b",
            r"\bkey\s+(?:events|developments|points)\b",
        ]
    ),
    re.I,
)
_COMPARISON = re.compile(
    "|".join(
        [
            r"\bcompare[sd]?\b|\bcomparing\b",
            # "How do the CNN and DW reports differ on X?", "What is the difference between ..."
            r"\bhow\s+(?:do|does|did)\b.*\b(?:and|vs\.?|versus)\b.*\b(?:differ|diverge|contrast)\b",
            rf"\bdifferen(?:ce|ces|t)\s+between\b.*\b{_WHO}",
            rf"\b{_WHO}\b.*\b(?:differ|disagree)\b",
            r"\bside\s+by\s+side\b",
        ]
    ),
    re.I,
)
# "compare" in a factoid ("How do the fees compare to those at other schools?", "higher
# compared to") is about quantities, not sources: a comparison names reports, coverage or
# outlets, or two sides joined by "and"/"vs".
_SOURCES_WORDS = re.compile(
    rf"\b{_WHO}\b|\b(?:covered|cover|coverage|reported|reporting|framed|portray(?:ed)?)\b", re.I
)


def question_kind(question: str) -> str:
    """'comparison', 'digest' or 'factoid' for a question (by its wording alone)."""
    if _COMPARISON.search(question) and _SOURCES_WORDS.search(question):
        return COMPARISON
    if _DIGEST.search(question):
        return DIGEST
    return FACTOID
