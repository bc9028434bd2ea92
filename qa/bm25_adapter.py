"""The one module that knows bm25s beyond its public API: its tokenizer, its scoring formulas,
and a scorer built from our own term counts.

bm25s builds its score matrix from a tokenized corpus (`BM25.index`); we keep term counts on
disk and update them per chunk (qa/postings.py), so the matrix is computed here with bm25s's
own idf and tf formulas (private functions of `bm25s.scoring`) and handed to a `BM25` object
by setting the attributes `index` would set. A bm25s upgrade that renames them breaks here,
and tests/test_retrieve.py compares the scores with bm25s's own index.
"""

from __future__ import annotations

from typing import Any

import numpy as np

METHODS = ("robertson", "lucene", "atire")  # bm25l and bm25+ score absent terms: not sparse


def tokenizer(stem: bool) -> Any:
    """bm25s's tokenizer (English stop words, optional Snowball stemming), with an empty vocab."""
    import bm25s.tokenization

    stemmer = None
    if stem:
        import Stemmer

        stemmer = Stemmer.Stemmer("english").stemWord
    return bm25s.tokenization.Tokenizer(stopwords="english", stemmer=stemmer)


def term_scores(
    df: np.ndarray,
    n: int,
    tfs: np.ndarray,
    row_lengths: np.ndarray,
    avg_length: float,
    *,
    k1: float,
    b: float,
    method: str,
) -> tuple[np.ndarray, np.ndarray]:
    """bm25s's (idf per term, tf component per entry) for a corpus of n chunks: `df` chunks
    per term, `tfs` the entries' term counts, `row_lengths` their chunks' lengths."""
    from bm25s.scoring import _select_idf_scorer, _select_tfc_scorer

    if method not in METHODS:
        raise ValueError(f"BM25 method {method!r} is not supported ({', '.join(METHODS)})")
    idf_of = _select_idf_scorer(method)
    idf = np.fromiter((idf_of(int(d), n) for d in df), np.float32, len(df))
    tfc = _select_tfc_scorer(method)(tfs, row_lengths, avg_length, k1, b)
    return idf, tfc


class Scorer:
    """BM25 scores of every chunk for a query's term ids, from a CSC score matrix (column =
    term, row = chunk) in bm25s's layout."""

    def __init__(
        self, matrix: dict[str, Any], vocab: dict[str, int], *, k1: float, b: float, method: str
    ):
        import bm25s

        self.matrix = matrix
        self._bm25 = bm25s.BM25(k1=k1, b=b, method=method)
        self._bm25.scores = matrix
        self._bm25.vocab_dict = dict(vocab)
        self._bm25.unique_token_ids_set = set(vocab.values())
        self._bm25.nonoccurrence_array = None

    @property
    def width(self) -> int:
        """Terms (columns) in the matrix."""
        return len(self.matrix["indptr"]) - 1

    def chunks_per_term(self) -> np.ndarray:
        """How many chunks hold each term (a column holds one entry per chunk)."""
        return np.diff(self.matrix["indptr"])

    def scores(self, term_ids: list[int]) -> np.ndarray:
        """The score of every chunk for these term ids (each below `width`)."""
        return np.asarray(self._bm25.get_scores(term_ids), dtype=np.float32)
