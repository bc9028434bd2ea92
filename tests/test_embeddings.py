"""The embedding backends: torch and the ONNX export (fp32, int8) give the same vectors within a
measured tolerance, count tokens alike, batch by token length, and are picked by settings."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from qa.backends import make_embeddings
from qa.embed_cache import CachedEmbeddings
from qa.embeddings import (
    OnnxEmbeddings,
    SentenceTransformerEmbeddings,
    packaged_model_path,
    token_batches,
)
from qa.errors import ConfigError
from qa.settings import Settings

from .conftest import SEED

TEXTS = [
    "The Senate confirmed Betsy DeVos as education secretary after Mike Pence broke the tie.",
    "Who broke the tie in the Senate vote?",
    "Shares of the carmaker fell 4% after it cut its forecast, citing weak demand in China.",
    "Rain is expected across the region on Sunday, with temperatures near 12 degrees.",
    "a",
]


@pytest.fixture(scope="session")
def onnx_fp32(onnx_cache: Path) -> OnnxEmbeddings:
    """The packaged MiniLM exported to fp32 ONNX (real export, real onnxruntime)."""
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, quantize=False)
    e.warm()
    return e


def _texts() -> list[str]:
    seed = SEED.read_text(encoding="utf-8") if SEED.is_file() else ""
    long = " ".join(["The committee met again on Tuesday to discuss the budget."] * 60)
    return [*TEXTS, seed[:1500], long]


def _cosines(a: list[list[float]], b: list[list[float]]) -> np.ndarray:
    return (np.asarray(a) * np.asarray(b)).sum(axis=1)


@pytest.mark.slow
def test_onnx_fp32_gives_the_torch_vectors(embeddings, onnx_fp32):
    texts = _texts()
    cos = _cosines(embeddings.embed_documents(texts), onnx_fp32.embed_documents(texts))
    assert cos.min() > 0.9999
    v = np.asarray(onnx_fp32.embed_documents(texts))
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_int8_stays_close_and_keeps_the_ranking(embeddings, onnx_int8):
    texts = _texts()
    cos = _cosines(embeddings.embed_documents(texts), onnx_int8.embed_documents(texts))
    assert cos.min() > 0.97 and cos.mean() > 0.985
    # The question's nearest passage is the same under both backends.
    passages = [TEXTS[0], TEXTS[2], TEXTS[3]]
    for model in (embeddings, onnx_int8):
        q = np.asarray(model.embed_query(TEXTS[1]))
        sims = np.asarray(model.embed_documents(passages)) @ q
        assert int(np.argmax(sims)) == 0


@pytest.mark.slow
def test_long_texts_are_truncated_where_torch_truncates(embeddings, onnx_fp32):
    long = " ".join(f"word{i} and more" for i in range(400))  # far over 256 word pieces
    assert onnx_fp32.count_tokens([long])[0] > 256
    cos = _cosines(embeddings.embed_documents([long]), onnx_fp32.embed_documents([long]))
    assert cos[0] > 0.9999


def test_token_counts_match_the_torch_backend(embeddings, onnx_cache):
    onnx = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache)
    texts = _texts()
    assert onnx.count_tokens(texts) == embeddings.count_tokens(texts)
    assert onnx._session is None  # counting never loads (or exports) the model


@pytest.mark.slow
def test_export_is_cached_checked_and_named_per_variant(onnx_fp32, onnx_int8, onnx_cache):
    fp32, int8 = Path(onnx_fp32.model_path), Path(onnx_int8.model_path)
    assert fp32.is_file() and int8.is_file() and fp32 != int8
    assert int8.stat().st_size < fp32.stat().st_size / 3  # int8 weights: a quarter the bytes
    report = json.loads(int8.with_suffix(".json").read_text())
    assert report["min_cosine_to_torch"] >= report["required"]
    mtime = int8.stat().st_mtime_ns
    again = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache)
    again.embed_query("reused, not exported again")
    assert again.model_path == str(int8) and int8.stat().st_mtime_ns == mtime


def test_a_model_the_export_cannot_handle_is_refused(tmp_path):
    model = tmp_path / "cls-model"
    shutil.copytree(packaged_model_path(), model)
    pooling = model / "1_Pooling" / "config.json"
    cfg = json.loads(pooling.read_text())
    cfg.update(pooling_mode_mean_tokens=False, pooling_mode_cls_token=True)
    pooling.write_text(json.dumps(cfg))
    e = OnnxEmbeddings(model, cache_dir=tmp_path / "cache")
    with pytest.raises(ConfigError, match="embedding_backend=torch"):
        e.embed_query("x")
    assert not list((tmp_path / "cache").rglob("*.onnx"))


def test_token_batches_bound_rows_and_padded_tokens():
    lengths = np.array([5, 200, 7, 180, 3, 256, 90, 12, 250, 8])
    batches = token_batches(lengths, batch_size=4, max_batch_tokens=512)
    rows = np.concatenate(batches)
    assert sorted(rows.tolist()) == list(range(len(lengths)))
    flat = [int(lengths[i]) for b in batches for i in b]
    assert flat == sorted(flat)  # shortest first, so each batch pads to a similar length
    for b in batches:
        assert len(b) <= 4
        assert len(b) == 1 or len(b) * int(lengths[b].max()) <= 512
    assert len(batches[0]) == 4  # short texts fill a batch, long ones go in small ones
    assert len(batches[-1]) <= 2


def test_settings_pick_the_backend_and_the_cache_keeps_them_apart(tmp_path):
    torch_e = make_embeddings(Settings(embedding_backend="torch", cache_dir=tmp_path))
    int8_e = make_embeddings(Settings(embedding_backend="onnx-int8", cache_dir=tmp_path))
    fp32_e = make_embeddings(Settings(embedding_backend="onnx", cache_dir=tmp_path), cache=False)
    assert isinstance(torch_e, CachedEmbeddings) and isinstance(int8_e, CachedEmbeddings)
    assert isinstance(torch_e.inner, SentenceTransformerEmbeddings)
    assert isinstance(int8_e.inner, OnnxEmbeddings) and int8_e.inner.variant == "int8"
    assert isinstance(fp32_e, OnnxEmbeddings) and fp32_e.variant == "fp32"
    # Vectors of one backend are never served for another from the shared cache file.
    assert len({torch_e.namespace, int8_e.namespace, fp32_e.model_path}) == 3
    assert Settings().embedding_backend == "onnx-int8"
    with pytest.raises(ValueError):
        Settings(embedding_backend="tensorflow")  # type: ignore[arg-type]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child that exited but was not reaped yet is a zombie: gone for our purposes.
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.slow
def test_big_batches_run_in_a_worker_process_with_the_same_vectors(onnx_int8, onnx_cache):
    texts = _texts()
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=len(texts))
    got = e.embed_array(texts)
    pid = e.worker_pid()
    assert pid is not None and pid != os.getpid() and _alive(pid)
    assert np.array_equal(got, onnx_int8.embed_array(texts))  # same model, same batches
    # Below worker_min (a question) stays here and never starts a worker.
    small = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=len(texts))
    assert np.array_equal(small.embed_array(texts[:2]), onnx_int8.embed_array(texts[:2]))
    assert small.worker_pid() is None
    e._worker.close()
    assert not _alive(pid)


@pytest.mark.slow
def test_once_a_worker_runs_single_passages_go_there_and_questions_stay_here(onnx_int8, onnx_cache):
    # A re-index whose texts are mostly cached asks for one passage at a time: loading the
    # model here for it doubled the model's memory (a jump of ~85 MB seen at x4 the corpus).
    texts = _texts()
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=len(texts))
    e.embed_array(texts)
    one = e.embed_documents([texts[0]])
    assert e._session is None  # served by the worker: no model loaded in this process
    assert np.array_equal(np.asarray(one, dtype=np.float32), onnx_int8.embed_array(texts[:1]))
    q = e.embed_query(texts[1])
    assert e._session is not None  # a question does not queue behind an index run's batches
    assert np.array_equal(np.asarray(q, dtype=np.float32), onnx_int8.embed_array(texts[1:2])[0])
    e._worker.close()


@pytest.mark.slow
def test_a_killed_worker_falls_back_to_this_process(onnx_int8, onnx_cache, caplog):
    texts = _texts()
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=2)
    e.embed_array(texts)
    pid = e.worker_pid()
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    assert np.array_equal(e.embed_array(texts), onnx_int8.embed_array(texts))
    assert "embedding worker" in caplog.text and e.worker_min == 0


@pytest.mark.slow
def test_an_idle_worker_stops_and_a_new_one_starts_on_demand(onnx_cache):
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=2)
    e.embed_array(TEXTS)
    e._worker.idle_seconds = 0.3
    first = e._worker.pid()
    deadline = time.monotonic() + 20
    while _alive(first) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(first)
    assert e.embed_array(TEXTS).shape == (len(TEXTS), 384)
    assert e.worker_pid() not in (None, first)
    e._worker.close()


@pytest.mark.slow
def test_a_worker_started_ahead_serves_the_first_batch(onnx_int8, onnx_cache):
    # `index` of a new source starts the worker before any batch exists, so the model is
    # loaded by the time the first chunks are; the batch then goes to that same process.
    texts = _texts()
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=2)
    e.start_worker()
    deadline = time.monotonic() + 60
    while not (e._worker is not None and e._worker.running()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert e._worker is not None and e._worker.running()  # started with no batch asked
    pid = e.worker_pid()
    assert np.array_equal(e.embed_array(texts), onnx_int8.embed_array(texts))
    assert e.worker_pid() == pid
    e.start_worker()  # running already: nothing new
    assert e.worker_pid() == pid
    e._worker.close()
    here = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=0)
    here.start_worker()  # no worker wanted: none started
    assert here._worker is None


@pytest.mark.slow
def test_worker_errors_on_bad_input_reach_the_caller(onnx_cache):
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=1)
    with pytest.raises(TypeError):
        e.embed_array([None, 3])  # type: ignore[list-item]
    assert e.worker_min == 1  # the worker is fine: a bad input is not a broken worker
    e._worker.close()


class _CountingTokenizer:
    """A tokenizer that records how many texts it was asked to encode in batches."""

    def __init__(self, real) -> None:
        self.real = real
        self.batched: list[int] = []

    def encode_batch_fast(self, texts):
        self.batched.append(len(texts))
        return self.real.encode_batch_fast(texts)

    def encode(self, *a, **kw):
        return self.real.encode(*a, **kw)


@pytest.mark.slow
def test_remembered_word_pieces_give_the_same_vectors_here_and_in_the_worker(onnx_int8, onnx_cache):
    from ingest.chunking import chunk_tokens

    pairs = chunk_tokens("a", SEED.read_text(encoding="utf-8"), encode=onnx_int8.token_ids)
    texts = [c.text for c, _ in pairs]
    want = onnx_int8.embed_array(texts)
    for worker_min in (0, 2):
        e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, worker_min=worker_min)
        e.remember_tokens(texts, [ids for _, ids in pairs])
        spy = _CountingTokenizer(onnx_int8.encoder)
        e._encoder = spy
        assert np.array_equal(e.embed_array(texts), want)
        assert not e._memo  # each remembered text is used once
        if worker_min:
            assert e.worker_pid() is not None
            e._worker.close()
        else:
            assert spy.batched == []  # nothing was tokenized again
    # Without remembered ids the same embedder tokenizes (the spy can tell).
    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache)
    e._encoder = spy = _CountingTokenizer(onnx_int8.encoder)
    assert np.array_equal(e.embed_array(texts), want) and spy.batched == [len(texts)]
