"""Follow-up questions become standalone questions before retrieval.

Small local models rewrite unreliably, so the rewriting is lexical and deterministic: a
question is rewritten only when it depends on the conversation (a pronoun or an ellipsis the
question itself does not resolve), and then only the names and key words of the previous
turns are appended to the question as asked. The question's own words keep driving the
ranking of the answer's sentences; the carried words steer retrieval to the right article.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from qa.verify import STOPWORDS


class Turn(TypedDict):
    """One chat turn, as in OpenAI-style histories."""

    role: str
    content: str


Kind = Literal["standalone", "pronoun", "ellipsis"]


@dataclass(frozen=True)
class FollowUp:
    """A question resolved against the conversation, as two queries."""

    question: str  # as asked
    retrieval: str  # the question plus what it refers to: what to search with
    ranking: str  # what to rank the found sentences by (see `follow_up`)
    kind: Kind  # why it was rewritten ("standalone": it was not)
    carried: tuple[str, ...] = ()  # the phrases appended from the conversation


def _set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TOKEN = re.compile(r"[\w'’-]+|[?!.,;:]")
_WH = _set("what which who whom whose when where why how")
_AUX = _set("""do does did is are was were am be been has have had can could will would shall should
    may might must""")
# Third-person pronouns that need an antecedent (I/you/we are the speakers themselves).
_PERSONAL = _set("he she him her his hers himself herself")
_PRONOUNS = _PERSONAL | _set("it its itself they them their theirs themselves")
_SUBJECTS = _set("i we you they he she it")
_ONE_BEFORE = _set("which this that the other same")
_DEMONSTRATIVES = _set("this that these those")
# Words after a demonstrative that do not make it a determiner ("is that true?").
# Generic nouns keep it pointing back ("these types of accounts", "which one").
_NOT_NOUNS = _set(
    "true right correct so possible ok okay mean means type types kind kinds sort sorts one ones"
)
# Verbs of asking and other words that never name what a pronoun refers to.
_LIGHT = _set("""tell explain describe give show list summarize summarise know want need like help
    understand please learn find get make put let thanks thank hi hello given more information
    details detail else any some many much other lot bit really ask asking asked meant""")
# Additive particles presuppose something said before ("which chip designer also cut ties?");
# "too" and "either" only at the end ("ARM too?"), elsewhere they mean "overly".
_ADDITIVE = _set("also another")
_ADDITIVE_LAST = _set("too either")
# Object pronouns closing the question ("how does CIS do it?", "can I download them?") refer
# back: the clause's own subject cannot be what they stand for.
_OBJECTS_LAST = _set("it them him her")
# Openings of an elliptical question: "and in Germany?", "what about ARM?".
_ELLIPSIS_START = re.compile(
    r"^\W*(?:(?:but|so|ok|okay|well)\W+)?(?:and|or|also|plus|what about|how about|what of|"
    r"what else|same for|as for)\b",
    re.I,
)
# "Is it true that...", "is it possible to...": an "it" that stands for what follows.
# Case-sensitive: "is it Speech to Text?" names a thing.
_EXPLETIVE_IT = re.compile(r"\bit\s+(?:[a-z]+\s+){0,2}(?:to|that|if|whether)\b")
# The carried phrases are capped: more of the previous topic drowns the question asked.
MAX_CARRIED = 6


def follow_up(question: str, history: Sequence[Turn]) -> FollowUp:
    """The question resolved against the chat: unchanged unless it depends on it.

    `retrieval` is the question as asked plus the carried phrases. `ranking` is the question
    plus only what its pronoun stands for when it has its own predicate ("Where did she work
    before?": the whole previous topic would rank the sentence that introduced her first); an
    ellipsis ("And in Germany?", "why?") takes its predicate from the previous question, so it
    ranks with all the carried words.
    """
    kind = dependence(question)
    topic, answer = _context(history)
    if kind == "standalone" or not topic:
        return FollowUp(question, question, question, "standalone")
    carried = list(topic)
    if answer and _points_into_answer(question, history):
        # The referent was introduced by the answer ("Who is the new CEO?" -> "Where did she
        # work before?"): its names come first.
        topic_words = {w.lower() for p in carried for w in p.split()}
        names = [n for n in _names(answer) if not {w.lower() for w in n.split()} <= topic_words]
        carried = names[:3] + carried
    own = {p.lower() for p in _phrases(question)} | {w.lower() for w in _words(question)}
    kept: list[str] = []
    for p in carried:
        if p.lower() not in own and p.lower() not in {k.lower() for k in kept}:
            kept.append(p)
    kept = kept[:MAX_CARRIED]
    if not kept:
        return FollowUp(question, question, question, "standalone")
    retrieval = f"{question.rstrip()} ({', '.join(kept)})"
    ranking = retrieval
    if kind == "pronoun":
        ranking = f"{question.rstrip()} ({_referent(question, kept)})"
    return FollowUp(question, retrieval, ranking, kind, tuple(kept))


def _referent(question: str, carried: list[str]) -> str:
    """The short name a pronoun stands for, as an article repeats it after introducing it.

    News text names a person in full once ("named Dana Whitfield as...") and by surname after
    ("Before joining Norvale, Whitfield spent..."): ranking with the full name, or with the
    whole previous topic, favours the introducing sentence over the one that answers.
    """
    if {w.lower() for w in _words(question)} & _PERSONAL:
        for p in carried:
            words = p.split()
            if len(words) > 1 and all(w[:1].isupper() for w in words):
                return words[-1]
    return carried[0]


def standalone_question(question: str, history: Sequence[Turn]) -> str:
    """The question made understandable without the chat (unchanged when it needs none)."""
    return follow_up(question, history).retrieval


def dependence(question: str) -> Kind:
    """Whether the question needs the conversation: for a pronoun, an ellipsis, or not."""
    tokens = _words(question)
    low = [t.lower() for t in tokens]
    if not low:
        return "standalone"
    # "why?", "how so?", "which one?": nothing asked about but the previous question.
    if not [w for w in low if w not in STOPWORDS and w not in _WH and w not in _LIGHT]:
        return "ellipsis"
    if _ELLIPSIS_START.search(question) or _ADDITIVE & set(low) or low[-1] in _ADDITIVE_LAST:
        return "ellipsis"
    if " ".join(low).endswith("as well") or (low[0] == "which" and len(low) > 1 and low[1] in _AUX):
        return "ellipsis"  # "which is more important?": one of the things just discussed
    if low[-1] in _OBJECTS_LAST and len(_sentences(question)) == 1:
        return "pronoun"
    first_aux = next((i for i, w in enumerate(low) if w in _AUX), -1)
    for i, w in enumerate(low):
        if w in _PRONOUNS:
            if w == "it" and _EXPLETIVE_IT.match(" ".join(tokens[i:])):
                continue
            # "what does it cost?", "where did she work?": the subject of the question.
            if i == first_aux + 1 and first_aux >= 0 and w in _SUBJECTS:
                return "pronoun"
            if not _antecedent_before(tokens, i):
                return "pronoun"
        elif w in _DEMONSTRATIVES and _bare_demonstrative(low, i, first_aux):
            if not _antecedent_before(tokens, i):
                return "pronoun"
        elif w in ("one", "ones") and (i == len(low) - 1 or low[i - 1] in _ONE_BEFORE):
            return "pronoun"  # "how can I create one?", "which one ..."
        elif w in ("there", "then") and i == len(low) - 1 and not _antecedent_before(tokens, i):
            return "pronoun"  # "what is the weather there?"
    return "standalone"


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"[.?!]+\s+", text.strip()) if s.strip()]


def _antecedent_before(tokens: list[str], i: int) -> bool:
    """True if a word before position i can be what the pronoun at i refers to.

    A verb right after a subject pronoun or "to" ("how can we enhance its...") and the verbs
    of asking ("tell me about its...") are not; a name or a noun phrase is ("when does the
    harbor ferry service resume after its pier repairs?").
    """
    low = [t.lower() for t in tokens]
    for j in range(i):
        w = low[j]
        if w in STOPWORDS or w in _WH or w in _LIGHT or w in _AUX:
            continue
        if j > 0 and low[j - 1] in (_SUBJECTS | {"to", "not", "don't", "doesn't", "didn't"}):
            continue
        return True
    return False


def _bare_demonstrative(low: list[str], i: int, first_aux: int) -> bool:
    """'this'/'that' standing alone (a pronoun), not 'this library' or 'the law that...'."""
    nxt = low[i + 1] if i + 1 < len(low) else ""
    if nxt and nxt not in STOPWORDS and nxt not in _NOT_NOUNS and nxt not in _AUX:
        return False  # a determiner: the question names its thing ("this tricolor flag")
    # Else "that" after a content word is a relative or a clause ("the law that banned...").
    return low[i] != "that" or i == 0 or low[i - 1] in STOPWORDS | _AUX


def _context(history: Sequence[Turn]) -> tuple[list[str], str]:
    """The previous user question's key phrases (with what it carried) and the last answer."""
    topic: list[str] = []
    answer = ""
    for turn in history:
        text = turn.get("content") or ""
        if turn.get("role") == "user" and text.strip():
            own = _phrases(text)
            # A follow-up's topic is its own words plus the topic it continued.
            topic = own + (topic if dependence(text) != "standalone" else [])
            topic = list(dict.fromkeys(topic))[:MAX_CARRIED]
            answer = ""
        elif turn.get("role") == "assistant":
            answer = text
    return topic, answer


def _points_into_answer(question: str, history: Sequence[Turn]) -> bool:
    """True when the question's pronoun likely refers to someone the last answer introduced:
    a he/she pronoun, or a previous question that asked for an entity (who/which ...)."""
    low = {w.lower() for w in _words(question)}
    if low & _PERSONAL:
        return True
    users = [t.get("content") or "" for t in history if t.get("role") == "user"]
    first = _words(users[-1])[:1] if users else []
    return bool(first) and first[0].lower() in ("who", "whom", "whose", "which")


def _is_content(w: str) -> bool:
    return w not in STOPWORDS and w not in _WH and w not in _LIGHT and w not in _AUX


def _words(text: str) -> list[str]:
    """The words of a text, with "what's"/"it's" read as "what"/"it"."""
    return [re.sub(r"['’]s$", "", t) for t in _TOKEN.findall(text) if t not in "?!.,;:"]


def _phrases(text: str) -> list[str]:
    """Key phrases of a question: runs of content words (names keep their capitals)."""
    out: list[str] = []
    run: list[str] = []
    for t in _TOKEN.findall(re.sub(r"\[\d+\]", " ", text)):
        t = re.sub(r"['’]s$", "", t)
        w = t.lower().strip("'’-")
        if w and w[0].isalnum() and _is_content(w) and w not in _PRONOUNS | _DEMONSTRATIVES:
            run.append(t)
            continue
        if run:
            out.append(" ".join(run))
            run = []
    if run:
        out.append(" ".join(run))
    return out


_CALENDAR = _set(
    """Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May
    June July August September October November December"""
)
_NAME = re.compile(r"\b(?:[A-Z][\w'’&.-]*|\d[\d,.]*)(?:\s+(?:of\s+|de\s+)?[A-Z][\w'’&.-]*)*")


def _names(text: str) -> list[str]:
    """Capitalized names and numbers of an answer, in order (sentence-initial words only
    when they are part of a longer name, since any sentence starts with a capital)."""
    text = re.sub(r"\[\d+\]", " ", text)
    out: list[str] = []
    for m in _NAME.finditer(text):
        name = m.group(0).strip(" .,")
        before = text[: m.start()].rstrip()
        starts_sentence = not before or before[-1] in ".!?:\"“”'‘’…"
        if name.lower() in STOPWORDS or name.lower() in _WH:
            continue
        if (starts_sentence and " " not in name) or name in _CALENDAR or re.search(r"-[a-z]", name):
            continue  # a sentence's first word, a date word, an adjective ("Ohio-based")
        if starts_sentence and name.split()[0].lower() in STOPWORDS:
            name = name.split(" ", 1)[1]
        out.append(name)
    return list(dict.fromkeys(out))
