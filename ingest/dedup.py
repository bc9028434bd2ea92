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
import sqlite3
from dataclasses import dataclass

import numpy as np

from ingest.normalize import canonical_url
from qa.types import Article, content_hash

NUM_PERM = 128
_MINHASH_BLOCK = 8192  # shingles hashed at once: 8 MB of uint64 per step
BANDS = 32  # 32 bands x 4 rows: pairs above ~0.5 Jaccard meet in some band with p > 0.88
SHINGLE_WORDS = 5
MAX_WORD = 40  # code points of a word that count (a base64 blob is one "word")
# Estimated Jaccard of 5-word shingles at or above which two articles are one story.
NEAR_THRESHOLD = 0.5
CACHE_KB = 2048  # SQLite page cache of the duplicate index: what it holds in memory


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
    sig = np.full(NUM_PERM, np.iinfo(np.uint64).max, dtype=np.uint64)
    # Multiply-add-shift: (a*x + b) mod 2^64, top 32 bits (wrap-around is the point). In
    # blocks of shingles: at once, a 2 MB text's matrix was 0.8 GB (issue 21).
    with np.errstate(over="ignore"):
        for lo in range(0, len(hashes), _MINHASH_BLOCK):
            mixed = (hashes[lo : lo + _MINHASH_BLOCK] * _A + _B) >> np.uint64(32)
            np.minimum(sig, mixed.min(axis=0), out=sig)
    return sig.astype(np.uint32)


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
    """Exact keys and an LSH table over the stored articles, updated as a run writes.

    A run holds it for the whole index, so it lives in a temporary SQLite file with a small
    page cache, not in the process: held as dicts and arrays it was ~1.4 KB per article, the
    largest share of what an indexing process grew by with the corpus. Every lookup is an
    indexed query (~0.1 ms per article). The store is the truth: a run builds this from the
    articles' records, so the file is scratch and goes with this object (its connection).
    """

    def __init__(self, threshold: float = NEAR_THRESHOLD, *, cache_kb: int = CACHE_KB):
        self.threshold = threshold
        # "" is a private temporary database: a file (SQLite unlinks it as soon as it is
        # opened, so a killed run leaves nothing), cached in memory only up to cache_size.
        self._db = sqlite3.connect("", isolation_level=None, check_same_thread=False)
        self._db.executescript(
            f"""
            PRAGMA cache_size = -{int(cache_kb)};
            PRAGMA journal_mode = OFF;
            PRAGMA synchronous = OFF;
            -- "t:"/"u:" key -> the article that has the chunks (a copy points at it)
            CREATE TABLE exact (key TEXT PRIMARY KEY, target TEXT NOT NULL) WITHOUT ROWID;
            CREATE INDEX exact_target ON exact (target);
            -- articles stored with chunks (what a copy can point to): their signature's row
            -- and the first article of their story, where not themselves
            CREATE TABLE article (id TEXT PRIMARY KEY, row INTEGER, grp TEXT) WITHOUT ROWID;
            CREATE TABLE sig (row INTEGER PRIMARY KEY, id TEXT NOT NULL, sig BLOB NOT NULL);
            CREATE TABLE band (key INTEGER, row INTEGER, PRIMARY KEY (key, row)) WITHOUT ROWID;
            """
        )

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
        db = self._db
        db.execute("BEGIN")  # one transaction per article: ~35 statements, one commit
        if not exact_of:
            self._forget_signature(aid)
            row = None
            if sig is not None:
                blob = np.ascontiguousarray(sig, dtype="<u4").tobytes()
                row = db.execute("INSERT INTO sig (id, sig) VALUES (?, ?)", (aid, blob)).lastrowid
                keys = _band_keys(sig).view(np.int64).tolist()  # SQLite integers are signed
                db.executemany(
                    "INSERT OR IGNORE INTO band (key, row) VALUES (?, ?)", [(k, row) for k in keys]
                )
            grp = group if group and group != aid else ""
            db.execute("INSERT OR REPLACE INTO article VALUES (?, ?, ?)", (aid, row, grp))
        # A key keeps its article unless that one is gone (then the newcomer takes it over).
        db.executemany(
            """INSERT INTO exact (key, target) VALUES (?, ?) ON CONFLICT (key) DO UPDATE
            SET target = excluded.target WHERE target NOT IN (SELECT id FROM article)""",
            [(key, exact_of or aid) for key in _exact_keys(text, url)],
        )
        db.execute("COMMIT")

    def remove(self, aid: str) -> None:
        """Forget an article (deleted, or about to be re-registered with new content)."""
        db = self._db
        db.execute("BEGIN")
        self._forget_signature(aid)
        db.execute("DELETE FROM article WHERE id = ?", (aid,))
        db.execute("DELETE FROM exact WHERE target = ?", (aid,))
        db.execute("COMMIT")

    def _forget_signature(self, aid: str) -> None:
        """Delete the article's signature and band keys (old content must not match)."""
        got = self._db.execute(
            "SELECT s.row, s.sig FROM article a JOIN sig s ON s.row = a.row WHERE a.id = ?", (aid,)
        ).fetchone()
        if got is not None:
            row, blob = got
            keys = _band_keys(np.frombuffer(blob, dtype="<u4")).view(np.int64).tolist()
            self._db.executemany(
                "DELETE FROM band WHERE key = ? AND row = ?", [(k, row) for k in keys]
            )
            self._db.execute("DELETE FROM sig WHERE row = ?", (row,))

    def match(self, aid: str, *, text: str, url: str, sig: np.ndarray) -> Match | None:
        """The stored article this one duplicates (exact first, then the nearest), or None."""
        for key in _exact_keys(text, url):
            # A copy's record may point at an original deleted since: only present ones count.
            got = self._db.execute(
                """SELECT e.target FROM exact e JOIN article a ON a.id = e.target
                WHERE e.key = ? AND e.target != ?""",
                (key, aid),
            ).fetchone()
            if got is not None:
                return Match("exact", got[0])
        keys = _band_keys(sig).view(np.int64).tolist()
        found = self._db.execute(
            f"""SELECT DISTINCT a.id, a.grp, s.sig FROM band b
            JOIN sig s ON s.row = b.row JOIN article a ON a.id = s.id AND a.row = s.row
            WHERE b.key IN ({",".join("?" * len(keys))}) AND a.id != ? ORDER BY a.id""",
            (*keys, aid),
        ).fetchall()
        if not found:
            return None
        sigs = np.frombuffer(b"".join(s for _, _, s in found), dtype="<u4").reshape(-1, NUM_PERM)
        best, best_sim = None, self.threshold
        for (other, grp, _), sim in zip(found, (sigs == sig).mean(axis=1).tolist(), strict=True):
            if sim >= best_sim:
                best, best_sim = grp or other, sim
        return Match("near", best) if best else None

    def group_of(self, aid: str) -> str:
        """The first article of this article's story (itself when it is the first)."""
        got = self._db.execute("SELECT grp FROM article WHERE id = ?", (aid,)).fetchone()
        return str(got[0]) if got is not None and got[0] else aid


def _exact_keys(text: str, url: str) -> list[str]:
    """The exact-duplicate keys of an article's text key and URL key (none for no URL)."""
    return [f"t:{text}", *([f"u:{url}"] if url else [])]


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
