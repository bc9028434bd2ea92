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
from dataclasses import dataclass

import numpy as np

from ingest.normalize import canonical_url
from qa.types import Article, content_hash

NUM_PERM = 128
BANDS = 32  # 32 bands x 4 rows: pairs above ~0.5 Jaccard meet in some band with p > 0.88
SHINGLE_WORDS = 5
MAX_WORD = 40  # code points of a word that count (a base64 blob is one "word")
# Stored signatures start with this: signatures of the earlier per-shingle hash (blake2b of
# each shingle string) are not comparable and read as missing.
SIG_VERSION = "m2:"
# Estimated Jaccard of 5-word shingles at or above which two articles are one story.
NEAR_THRESHOLD = 0.5
SIG_BLOCK = 1024  # signatures per block (512 KB)
TAIL = 4096  # band keys that may wait unmerged, at least (see DedupIndex.add)


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


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: a bijective, non-linear scramble of uint64s."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def shingle_hashes(text: str, k: int = SHINGLE_WORDS) -> np.ndarray:
    """64-bit hashes of the text's distinct k-word shingles, computed with array operations.

    One hash per shingle of `shingles(text)` (up to negligible collisions), without a Python
    call per shingle: hashing each shingle's string was a tenth of `index`'s CPU outside the
    model. Words are hashed from their code points, then k neighbours combined in order.
    """
    words = _WORD.findall(text.casefold())
    if not words:
        return _mix(np.zeros(1, dtype=np.uint64))
    if max(map(len, words)) > MAX_WORD:  # the array below is as wide as the longest word
        words = [w[:MAX_WORD] for w in words]
    cps = np.array(words).view(np.uint32).reshape(len(words), -1).astype(np.uint64)
    h = np.zeros(len(words), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for col in cps.T:  # columns past a word's end are padding: they leave its hash alone
            h = np.where(col > 0, _mix(h ^ col), h)
        n = max(1, len(words) - k + 1)
        out = h[:n].copy()
        for j in range(1, min(k, len(words))):
            out = _mix(out * np.uint64(0x9E3779B97F4A7C15) ^ h[j : j + n])
    return np.unique(out)


def minhash(text: str) -> np.ndarray:
    """MinHash signature (NUM_PERM uint32) of the text's word shingles."""
    hashes = shingle_hashes(text).reshape(-1, 1)
    # Multiply-add-shift: (a*x + b) mod 2^64, top 32 bits (wrap-around is the point).
    with np.errstate(over="ignore"):
        mixed = (hashes * _A + _B) >> np.uint64(32)
    return mixed.min(axis=0).astype(np.uint32)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.mean(a == b))


def encode(sig: np.ndarray) -> str:
    """Signature as text for a Chroma metadata field."""
    return SIG_VERSION + base64.b64encode(sig.astype("<u4").tobytes()).decode("ascii")


def decode(text: str) -> np.ndarray | None:
    """Signature from `encode`, or None when missing, malformed or of an older version."""
    if not text.startswith(SIG_VERSION):
        return None
    try:
        raw = base64.b64decode(text[len(SIG_VERSION) :].encode("ascii"), validate=True)
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
    """Exact keys and an LSH table over the stored articles, updated as a run writes.

    A run holds it for the whole index, so it is compact: signatures in fixed blocks of rows,
    and each band as a 64-bit key in one sorted array (new keys wait in a small dict until
    merged). About 1.3 KB per article; a dict of sets per band took 12 KB, the biggest share of
    what indexing memory grew by with the corpus.
    """

    def __init__(self, threshold: float = NEAR_THRESHOLD):
        self.threshold = threshold
        self.exact: dict[str, str] = {}  # "t:"/"u:" key -> id of the copy that has chunks
        self.keys_of: dict[str, tuple[str, ...]] = {}
        self.present: set[str] = set()  # articles stored with chunks (what a copy can point to)
        self.group: dict[str, str] = {}  # id -> first article of its story, where not itself
        self._row: dict[str, int] = {}  # article with a signature -> its row (others are dead)
        self._ids: list[str] = []  # row -> article id
        # Signatures in blocks of SIG_BLOCK rows: growing one array by doubling held the old
        # and the new copy at once, a passing peak of 3x the signatures.
        self._sigs: list[np.ndarray] = []
        self._keys = np.empty(0, dtype=np.uint64)  # band keys, sorted
        self._key_rows = np.empty(0, dtype=np.int32)
        self._tail: dict[int, list[int]] = {}  # band key -> rows, not merged yet
        self._tail_size = 0

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
                self.keys_of[target] = (*self.keys_of.get(target, ()), key)
        if exact_of:
            return
        self.present.add(aid)
        if sig is None:
            return
        row = len(self._ids)
        self._put(row, sig)
        self._ids.append(aid)
        self._row[aid] = row
        if group and group != aid:
            self.group[aid] = group
        for key in _band_keys(sig).tolist():
            self._tail.setdefault(key, []).append(row)
        self._tail_size += BANDS
        # Each key waiting in the dict costs ~200 bytes (against 12 merged), so the wait is
        # short: 1/32 of the merged keys. Every merge copies the arrays, so the wait grows with
        # them, and each key is still copied only ~32 times over a run.
        if self._tail_size >= max(TAIL, len(self._keys) // 32):
            self._merge()

    def remove(self, aid: str) -> None:
        """Forget an article (deleted, or about to be re-registered with new content)."""
        self.present.discard(aid)
        for key in self.keys_of.pop(aid, ()):
            if self.exact.get(key) == aid:
                del self.exact[key]
        self._row.pop(aid, None)  # its row stays, dead; rows are reclaimed by _merge
        self.group.pop(aid, None)

    def match(self, aid: str, *, text: str, url: str, sig: np.ndarray) -> Match | None:
        """The stored article this one duplicates (exact first, then the nearest), or None."""
        for key in (f"t:{text}", f"u:{url}" if url else ""):
            other = self.exact.get(key) if key else None
            # A copy loaded from the store may point at an original deleted since.
            if other and other != aid and other in self.present:
                return Match("exact", other)
        keys = _band_keys(sig)
        rows: set[int] = set()
        for lo, hi in zip(
            np.searchsorted(self._keys, keys, "left").tolist(),
            np.searchsorted(self._keys, keys, "right").tolist(),
            strict=True,
        ):
            rows.update(self._key_rows[lo:hi].tolist())
        for key in keys.tolist():
            rows.update(self._tail.get(key, ()))
        live = sorted(
            (self._ids[r], r)
            for r in rows
            if self._row.get(self._ids[r]) == r and self._ids[r] != aid
        )
        if not live:
            return None
        sims = (self._signatures([r for _, r in live]) == sig).mean(axis=1)
        best, best_sim = "", self.threshold
        for (other, _), sim in zip(live, sims.tolist(), strict=True):
            if sim >= best_sim:
                best, best_sim = other, sim
        return Match("near", self.group.get(best, best)) if best else None

    def _put(self, row: int, sig: np.ndarray) -> None:
        """Store a signature at `row` (the next one), opening a new block when needed."""
        if row == len(self._sigs) * SIG_BLOCK:
            self._sigs.append(np.empty((SIG_BLOCK, NUM_PERM), dtype=np.uint32))
        self._sigs[row // SIG_BLOCK][row % SIG_BLOCK] = sig

    def _signatures(self, rows: list[int]) -> np.ndarray:
        """The signatures of these rows, one per line."""
        return np.stack([self._sigs[r // SIG_BLOCK][r % SIG_BLOCK] for r in rows])

    def _merge(self) -> None:
        """Fold the new band keys into the sorted array; renumber rows when half are dead."""
        if 2 * len(self._row) < len(self._ids):
            old, rows = self._sigs, list(self._row.values())
            self._ids = list(self._row)
            self._row = {aid: i for i, aid in enumerate(self._ids)}
            self._sigs, parts = [], []
            for i, r in enumerate(rows):
                sig = old[r // SIG_BLOCK][r % SIG_BLOCK]
                self._put(i, sig)
                parts.append(_band_keys(sig))
            self._keys = np.concatenate(parts) if parts else np.empty(0, dtype=np.uint64)
            self._key_rows = np.repeat(np.arange(len(rows), dtype=np.int32), BANDS)
            order = np.argsort(self._keys, kind="stable")
            self._keys, self._key_rows = self._keys[order], self._key_rows[order]
        elif self._tail:
            # Sorted insertion of the (few) new keys: no argsort of the whole array, and no
            # index array as long as it.
            n = self._tail_size
            new_keys = np.fromiter((k for k, rs in self._tail.items() for _ in rs), np.uint64, n)
            new_rows = np.fromiter((r for rs in self._tail.values() for r in rs), np.int32, n)
            order = np.argsort(new_keys, kind="stable")
            at = np.searchsorted(self._keys, new_keys[order], side="right")
            self._keys = np.insert(self._keys, at, new_keys[order])
            self._key_rows = np.insert(self._key_rows, at, new_rows[order])
        self._tail, self._tail_size = {}, 0


def _band_keys(sig: np.ndarray) -> np.ndarray:
    """One 64-bit key per band of a signature (the band's index mixed in)."""
    rows = NUM_PERM // BANDS
    cols = sig.astype(np.uint64).reshape(BANDS, rows)
    with np.errstate(over="ignore"):
        h = _mix(np.arange(BANDS, dtype=np.uint64) + np.uint64(1))
        for j in range(rows):
            h = _mix(h ^ cols[:, j])
    return h


def keys(article: Article) -> tuple[str, str]:
    """(text key, url key) of an article."""
    return text_key(article.text), url_key(article.url)
