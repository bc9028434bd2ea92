"""Plain-text rendering of Answers, reports and hits for the terminal.

Article text is untrusted: control characters (terminal escape sequences) are stripped before
anything is printed.
"""

from __future__ import annotations

import re
import textwrap
from typing import TYPE_CHECKING, Any

from qa.types import Answer, Hit

if TYPE_CHECKING:
    from qa.check import CheckResult

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Lone surrogates: a file name that is not valid UTF-8, as Python hands it over; printing one
# raises, so it is shown as U+FFFD.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LINE_BREAKS = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")


def safe(text: str) -> str:
    """Text with terminal control characters removed."""
    return _SURROGATE.sub("\ufffd", _CONTROL.sub("", text))


def safe_line(text: str) -> str:
    """`safe` text on one line: tabs and line breaks (a file name may hold them) become spaces,
    so one row of a listing stays one line."""
    return safe(_LINE_BREAKS.sub(" ", text))


def answer_text(ans: Answer, *, details: bool = False) -> str:
    """The answer, then each citation: title, source, date, link and snippet."""
    lines = [safe(ans.text)]
    for note in ans.notes:
        lines.append(f"({safe(note)})")
    if details:
        lines += [f"  details: {safe(d)}" for d in ans.details]
    if ans.citations:
        lines.append("")
        lines.append("Sources:")
    for c in ans.citations:
        head = " · ".join(x for x in (c.source, c.published[:10]) if x)
        lines.append(
            f"[{c.id}] {safe(c.title) or 'untitled'}" + (f" — {safe(head)}" if head else "")
        )
        if c.url or c.path:
            lines.append(f"    {safe(c.url or c.path)}")
        lines.append(textwrap.indent(textwrap.fill(f"“{safe(c.snippet)}”", 96), "    "))
    if not ans.answerable and ans.closest:
        lines.append("")
        lines.append("Closest articles:")
        seen = set()
        for h in ans.closest:
            if h.chunk.article_id in seen:
                continue
            seen.add(h.chunk.article_id)
            date = safe(str(h.meta.get("published", ""))[:10]) or "undated"
            lines.append(f"  - {safe(h.title) or 'untitled'} ({date})")
    return "\n".join(lines)


def check_text(result: CheckResult) -> str:
    """Each checked sentence with its verdict, the reason when it fails, and its evidence."""
    lines = []
    for s in result.sentences:
        mark = "supported" if s.supported else f"NOT supported: {s.reason}"
        lines.append(f"{safe(s.text)}\n  -> {mark}")
        for e in s.evidence:
            where = (
                safe(e.title or e.article_id or "") if e.passage is None else f"passage {e.passage}"
            )
            label = "evidence" if s.supported else "closest"
            lines.append(
                textwrap.indent(
                    textwrap.fill(f"{label} ({where}): “{safe(e.snippet)}”", 96), "     "
                )
            )
    verdict = (
        "every sentence is supported" if result.supported else "not every sentence is supported"
    )
    return "\n".join([*lines, verdict if result.sentences else "nothing to check"])


def report_text(report: dict[str, Any]) -> str:
    """One-line index summary plus one line per failure."""
    line = (
        f"added {report['added']}, updated {report['updated']}, unchanged {report['unchanged']}, "
        f"removed {report['removed']}, failed {len(report['failed'])} · "
        f"embedded {report['embedded_chunks']} chunks · {report['chunks']} chunks in the index"
    )
    fails = [f"  failed: {safe(f['path'])}: {safe(f['error'])}" for f in report["failed"]]
    return "\n".join([line, *fails])


def hit_dict(hit: Hit) -> dict[str, Any]:
    """The JSON form of one search result."""
    return {
        "chunk_id": hit.chunk.id,
        "article_id": hit.chunk.article_id,
        "title": hit.meta.get("title", ""),
        "url": hit.meta.get("url", ""),
        "source": hit.meta.get("source", ""),
        "published": hit.meta.get("published", ""),
        "score": round(hit.score, 6),
        "cosine": round(float(hit.meta.get("cosine", 0.0)), 4),
        "text": hit.chunk.text,
        "start": hit.chunk.start,
        "end": hit.chunk.end,
    }
