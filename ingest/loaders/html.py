"""HTML to article text: trafilatura for whole pages, a plain lxml walk for feed fragments."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ingest.normalize import normalize_text

# Precision mode gives the cleanest text on the benchmark (docs/html_extraction.md), but on
# some layouts it keeps only a stray paragraph. When it keeps under this share of what the
# balanced mode finds, the balanced text is the better bet.
MIN_PRECISION_SHARE = 0.2
# Options shared by every trafilatura call: reader comments are not the article.
TRAFILATURA_OPTIONS: dict[str, Any] = {"include_comments": False, "include_tables": True}


@dataclass(frozen=True)
class HtmlPage:
    """Main text and metadata found in one HTML page (all "" when not found)."""

    text: str
    title: str = ""
    author: str = ""
    published: str = ""
    url: str = ""


def _paragraphs(text: str | None) -> str:
    # trafilatura writes one block element per line; chunking splits paragraphs on blank lines.
    lines = (line.strip() for line in (text or "").splitlines())
    return normalize_text("\n\n".join(line for line in lines if line))


def extract_page(html: str | bytes, url: str = "") -> HtmlPage:
    """Return the main text and metadata of an HTML page ("" text when nothing was found)."""
    import trafilatura

    tree = trafilatura.load_html(html)
    if tree is None:
        return HtmlPage(text="")
    doc = trafilatura.bare_extraction(
        tree, url=url or None, with_metadata=True, favor_precision=True, **TRAFILATURA_OPTIONS
    )
    precise = _paragraphs(getattr(doc, "text", None))
    balanced = _paragraphs(trafilatura.extract(tree, url=url or None, **TRAFILATURA_OPTIONS))
    # No further fallback: balanced mode already runs trafilatura's own fallback extractors,
    # and baseline()/html2txt() never found text where it found none (docs/html_extraction.md).
    text = precise if len(precise) >= MIN_PRECISION_SHARE * len(balanced) else balanced
    return HtmlPage(
        text=text,
        title=getattr(doc, "title", None) or "",
        author=getattr(doc, "author", None) or "",
        published=getattr(doc, "date", None) or "",
        url=getattr(doc, "url", None) or "",
    )


_BLOCK_TAGS = (
    *("address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption"),
    *("figure", "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main"),
    *("nav", "ol", "p", "pre", "section", "table", "tr", "ul"),
)


def fragment_to_text(fragment: str) -> str:
    """Return the text of an HTML fragment (feed content) with block elements as paragraphs."""
    import lxml.html
    from lxml import etree

    if not fragment.strip():
        return ""
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (etree.ParserError, ValueError):
        return normalize_text(fragment)
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for br in root.iter("br"):
        br.tail = "\n" + (br.tail or "")
    for el in root.iter(*_BLOCK_TAGS):
        el.tail = "\n\n" + (el.tail or "")
        if el.text is not None or len(el):
            el.text = "\n\n" + (el.text or "")
    return normalize_text(root.text_content())
