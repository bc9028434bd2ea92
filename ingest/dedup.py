"""Duplicate detection: exact keys (canonical URL, normalized text) and MinHash near-duplicates.

Exact duplicates are stored once (the later copy keeps only a record pointing at the first).
Near-duplicates (wire copies, small edits) keep their own chunks but share a group id
(`dup_of`), so retrieval can collapse them. The threshold is measured on the news corpus:
see bench/dedup_threshold.py and docs/benchmarks.md.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ingest.normalize import canonical_url
from qa.types import Article, content_hash

NUM_PERM = 128
BANDS = 32  # 32 bands x 4 rows: pairs above ~0.5 Jaccard meet in some band with p > 0.88
SHINGLE_WORDS = 5
# Estimated Jaccard of 5-word shingles at or above which two articles are one story.
NEAR_THRESHOLD = 0.5


def _constants(tag: str) -> np.ndarray:
    # Derived from a hash, not a RNG: signatures are stored, so these must never change.
    return np.array(
        [
            int.from_bytes(hashlib.blake2b(f"{tag}{i}".encode(), digest_size=8).digest(), "little")
            for i in range(NUM_PERM)
        ],
        dtype=np.uint64,
    )


_A = _constants("a") | np.uint64(1)  # odd multipliers
_B = _constants("b")
_WORD = re.compile(r"\w+")


def text_key(text: str) -> str:
    """Key of the text with case and spacing ignored (identical normalized text)."""
    return content_hash(" ".join(text.casefold().split()))


def url_key(url: str) -> str:
    """Key of the canonical URL, or "" when there is none."""
    return content_hash(canonical_url(url)) if url.strip() else ""


def shingles(text: str, k: int = SHINGLE_WORDS) -> set[str]:
    """Lowercased k-word shingles (the whole text as one when it is shorter)."""
    words = _WORD.findall(text.casefold())
    return {" ".join(words[i : i + k]) for i in range(max(1, len(words) - k + 1))}


def minhash(text: str) -> np.ndarray:
    """MinHash signature (NUM_PERM uint32) of the text's word shingles."""
    # A cryptographic base hash: crc32 is linear, and with a linear family it biases the minima.
    raw = b"".join(
        hashlib.blake2b(s.encode("utf-8"), digest_size=8).digest() for s in shingles(text)
    )
    hashes = np.frombuffer(raw, dtype="<u8").reshape(-1, 1)
    # Multiply-add-shift: (a*x + b) mod 2^64, top 32 bits (wrap-around is the point).
    with np.errstate(over="ignore"):
        mixed = (hashes * _A + _B) >> np.uint64(32)
    return mixed.min(axis=0).astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def encode(sig: np.ndarray) -> str:
    """Signature as text for a Chroma metadata field."""
    return base64.b64encode(sig.astype("<u4").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray | None:
    """Signature from `encode`, or None when missing or malformed."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        return None
    if len(raw) != NUM_PERM * 4:
        return None
    return np.frombuffer(raw, dtype="<u4").astype(np.uint32)


@dataclass(frozen=True)
class Match:
    """What an article duplicates: `kind` is "exact" or "near", `of` the group's first article."""

    kind: str
    of: str


class DedupIndex:
    """Exact keys and an LSH table over the stored articles, updated as a run writes."""

    def __init__(self, threshold: float = NEAR_THRESHOLD):
        self.threshold = threshold
        self.exact: dict[str, str] = {}  # "t:"/"u:" key -> id of the copy that has chunks
        self.keys_of: dict[str, set[str]] = {}
        self.present: set[str] = set()  # articles stored with chunks (what a copy can point to)
        self.sigs: dict[str, np.ndarray] = {}
        self.group: dict[str, str] = {}  # id -> id of the first article of its story
        self.buckets: dict[tuple[int, bytes], set[str]] = {}

    def add(
        self,
        aid: str,
        *,
        text: str,
        url: str,
        sig: np.ndarray | None,
        exact_of: str = "",
        group: str = "",
    ) -> None:
        """Register a stored article (or an exact duplicate of `exact_of`)."""
        target = exact_of or aid
        for key in (f"t:{text}", f"u:{url}" if url else ""):
            if key and (key not in self.exact or self.exact[key] not in self.present):
                self.exact[key] = target
                self.keys_of.setdefault(target, set()).add(key)
        if exact_of:
            return
        self.present.add(aid)
        if sig is None:
            return
        self.sigs[aid] = sig
        self.group[aid] = group or aid
        for band in self._bands(sig):
            self.buckets.setdefault(band, set()).add(aid)

    def remove(self, aid: str) -> None:
        """Forget an article (deleted, or about to be re-registered with new content)."""
        self.present.discard(aid)
        for key in self.keys_of.pop(aid, set()):
            if self.exact.get(key) == aid:
                del self.exact[key]
        sig = self.sigs.pop(aid, None)
        self.group.pop(aid, None)
        if sig is not None:
            for band in self._bands(sig):
                self.buckets.get(band, set()).discard(aid)

    def match(self, aid: str, *, text: str, url: str, sig: np.ndarray) -> Match | None:
        """The stored article this one duplicates (exact first, then the nearest), or None."""
        for key in (f"t:{text}", f"u:{url}" if url else ""):
            other = self.exact.get(key) if key else None
            # A copy loaded from the store may point at an original deleted since.
            if other and other != aid and other in self.present:
                return Match("exact", other)
        best, best_sim = "", self.threshold
        candidates: set[str] = set()
        for band in self._bands(sig):
            candidates |= self.buckets.get(band, set())
        for other in sorted(candidates - {aid}):
            sim = similarity(sig, self.sigs[other])
            if sim >= best_sim:
                best, best_sim = other, sim
        return Match("near", self.group.get(best, best)) if best else None

    @staticmethod
    def _bands(sig: np.ndarray) -> Iterable[tuple[int, bytes]]:
        rows = NUM_PERM // BANDS
        for b in range(BANDS):
            yield b, sig[b * rows : (b + 1) * rows].tobytes()


def keys(article: Article) -> tuple[str, str]:
    """(text key, url key) of an article."""
    return text_key(article.text), url_key(article.url)
