"""Shared fixtures: real embedding model, on-disk Chroma in tmp folders, a real Chroma server."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qa.app import App, quiet_environment
from qa.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SHARED = ROOT.parent / "shared"
SEED = ROOT / "examples" / "articles" / "seed-article.txt"
REQUIRE = os.environ.get("ARTICLEQA_REQUIRE_SERVERS") == "1"

quiet_environment()


def missing(reason: str) -> None:
    """Skip locally; fail in CI, where every server and browser must be there."""
    if REQUIRE:
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def embeddings():
    """The real all-MiniLM-L6-v2, loaded once for the whole session."""
    from qa.embeddings import SentenceTransformerEmbeddings, packaged_model_path

    return SentenceTransformerEmbeddings(packaged_model_path())


@pytest.fixture(scope="session")
def local_llm():
    """The real packaged SmolLM2 via xllamacpp, loaded once."""
    from qa.backends import make_llm

    return make_llm(Settings(llm="local"))


def indexed_retriever(tmp_path: Path, embeddings: Any, items: list[Any], name: str) -> Any:
    """A Retriever over a fresh on-disk Chroma under tmp_path holding `items` (Articles)."""
    from ingest.index import index_sources
    from qa.retrieve import Retriever
    from tests.store_support import local_store

    store = local_store(tmp_path / "c", embeddings, name)
    index_sources(
        [str(tmp_path)],
        store=store,
        embeddings=embeddings,
        count_tokens=embeddings.count_tokens,
        load=lambda o: items,
    )
    store.bump_generation()
    return Retriever(store, embeddings, lexical_dir=tmp_path / "bm25")


def make_settings(tmp_path: Path, **kw: object) -> Settings:
    """Settings for a throwaway index under tmp_path."""
    return Settings(**{"data_dir": tmp_path / "data", "llm": "extractive", **kw})


@pytest.fixture
def app(tmp_path: Path, embeddings) -> App:
    """An App on an empty on-disk index, sharing the session's embedding model."""
    a = App(make_settings(tmp_path))
    a.__dict__["embeddings"] = embeddings  # cached_property: reuse the loaded model
    return a


@pytest.fixture(scope="session")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real `chroma run` server: the one CI started, or one started here."""
    url = os.environ.get("ARTICLEQA_TEST_CHROMA_URL")
    if url:
        yield url
        return
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(exe).exists():
        missing("the chroma CLI is not installed")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = tmp_path_factory.mktemp("chroma-server")
    proc = subprocess.Popen(
        [exe, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(60):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        else:
            missing("chroma run did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One export folder for the session: the fp32 and int8 files are exported once here."""
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="session")
def onnx_int8(onnx_cache: Path) -> Any:
    """The packaged MiniLM exported and quantized to int8 (per-channel)."""
    from qa.embeddings import OnnxEmbeddings, packaged_model_path

    e = OnnxEmbeddings(packaged_model_path(), cache_dir=onnx_cache, quantize=True)
    e.warm()
    return e
