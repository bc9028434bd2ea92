"""Measure HTML main-text extraction against the scrapinghub article-extraction benchmark.

Usage: .venv/bin/python bench/html_extraction.py [DATA_DIR] [--config NAME ...] [--worst N]

DATA_DIR holds html/<id>.html.gz and ground-truth.json {id: {url, articleBody}}; it defaults
to ../shared/eval/article-extraction relative to the repository root. The score is the
bag-of-words token F1 per page (lowercase, split on non-alphanumerics), averaged over pages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

Extractor = Callable[[bytes, str], str]
DEFAULT_DATA = Path(__file__).resolve().parents[1].parent / "shared/eval/article-extraction"
_TOKEN = re.compile(r"[^\W_]+")


def tokens(text: str) -> Counter[str]:
    """Return the multiset of lowercase alphanumeric tokens of text."""
    return Counter(_TOKEN.findall(text.lower()))


def token_f1(predicted: str, expected: str) -> float:
    """Return the F1 of the token multisets of predicted and expected text."""
    pred, gold = tokens(predicted), tokens(expected)
    if not pred and not gold:
        return 1.0
    overlap = sum((pred & gold).values())
    if not overlap:
        return 0.0
    precision, recall = overlap / sum(pred.values()), overlap / sum(gold.values())
    return 2 * precision * recall / (precision + recall)


def load_pages(data_dir: Path) -> list[tuple[str, str, bytes, str]]:
    """Return (id, url, html bytes, expected body) for every page of the benchmark."""
    truth = json.loads((data_dir / "ground-truth.json").read_text(encoding="utf-8"))
    return [
        (
            key,
            item["url"],
            gzip.decompress((data_dir / "html" / f"{key}.html.gz").read_bytes()),
            item["articleBody"],
        )
        for key, item in sorted(truth.items())
    ]


def score(extract: Extractor, pages: list[tuple[str, str, bytes, str]]) -> dict[str, float]:
    """Return the F1 of extract on every page, by page id."""
    return {key: token_f1(extract(html, url), body) for key, url, html, body in pages}


def _trafilatura(with_url: bool = True, **options: Any) -> Extractor:
    def run(html: bytes, url: str) -> str:
        import trafilatura

        return trafilatura.extract(html, url=url if with_url else None, **options) or ""

    return run


def _precision_then_balanced(share: float) -> Extractor:
    def run(html: bytes, url: str) -> str:
        import trafilatura

        precise = (
            trafilatura.extract(html, url=url, include_comments=False, favor_precision=True) or ""
        )
        balanced = trafilatura.extract(html, url=url, include_comments=False) or ""
        return precise if len(precise) >= share * len(balanced) else balanced

    return run


def _baseline(html: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.baseline(html)[1]


def _html2txt(html: bytes, url: str) -> str:
    import trafilatura

    return trafilatura.html2txt(html)


def shipped_extractor(with_url: bool) -> Extractor:
    """Return the extractor the loaders use: decode like a file, then extract_page."""

    def run(html: bytes, url: str) -> str:
        from ingest.loaders.decode import decode_bytes
        from ingest.loaders.html import extract_page

        return extract_page(decode_bytes(html, "page"), url if with_url else "").text

    return run


CONFIGS: dict[str, Extractor] = {
    "defaults": _trafilatura(),
    "defaults, no URL": _trafilatura(with_url=False),
    "include_comments=False": _trafilatura(include_comments=False),
    "include_comments=False, favor_recall": _trafilatura(include_comments=False, favor_recall=True),
    "include_comments=False, favor_precision": _trafilatura(
        include_comments=False, favor_precision=True
    ),
    "include_comments=False, fast (no fallback extractors)": _trafilatura(
        include_comments=False, fast=True
    ),
    "include_comments=False, include_tables=False": _trafilatura(
        include_comments=False, include_tables=False
    ),
    "include_comments=False, favor_precision, include_tables=False": _trafilatura(
        include_comments=False, favor_precision=True, include_tables=False
    ),
    "include_comments=False, favor_precision, fast": _trafilatura(
        include_comments=False, favor_precision=True, fast=True
    ),
    "include_comments=False, favor_precision, deduplicate": _trafilatura(
        include_comments=False, favor_precision=True, deduplicate=True
    ),
    "baseline()": _baseline,
    "html2txt()": _html2txt,
    **{
        f"precision, balanced if precision < {share:.0%} of balanced": _precision_then_balanced(
            share
        )
        for share in (0.1, 0.2, 0.3, 0.5)
    },
    "shipped: ingest.loaders.html.extract_page (with page URL)": shipped_extractor(with_url=True),
    "shipped: ingest.loaders.html.extract_page (no URL, as for local files)": shipped_extractor(
        with_url=False
    ),
}


def main() -> None:
    """Print mean F1 and time per page of every configuration (or the ones named)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data_dir", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--config", action="append", help="substring of config names to run")
    parser.add_argument("--worst", type=int, default=0, help="print the N worst pages per config")
    args = parser.parse_args()
    pages = load_pages(args.data_dir)
    print(f"{len(pages)} pages from {args.data_dir}\n")
    print(f"| {'config':<72} | mean F1 | ms/page |")
    print(f"| {'-' * 72} | ------: | ------: |")
    for name, extract in CONFIGS.items():
        if args.config and not any(part in name for part in args.config):
            continue
        start = time.perf_counter()
        scores = score(extract, pages)
        ms = (time.perf_counter() - start) * 1000 / len(pages)
        print(f"| {name:<72} | {sum(scores.values()) / len(scores):.4f} | {ms:7.1f} |", flush=True)
        for key in sorted(scores, key=scores.__getitem__)[: args.worst]:
            print(f"|   {key[:16]} {scores[key]:.3f}")


if __name__ == "__main__":
    main()
