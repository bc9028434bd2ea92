"""The one place that picks implementations: embeddings, Chroma client, chat model.

Imports are lazy so `import qa` stays instant, and a missing optional package turns into a
one-line error that says what to install.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlparse

from qa.errors import ConfigError
from qa.settings import Settings

if TYPE_CHECKING:
    from langchain_core.embeddings import Embeddings
    from langchain_core.language_models import BaseChatModel

    from qa.chroma_local import ClientAPI
    from qa.store import Store

# Embedding calls of at least this many texts go to the worker process (indexing batches are
# up to 512); questions and small writes stay in this process, where a round trip would cost.
WORKER_MIN = 32


def make_embeddings(settings: Settings, *, cache: bool = True) -> Embeddings:
    """The embedding model (all-MiniLM-L6-v2 from its PyPI package unless configured), run by
    the configured backend, behind the content-hash cache so no text is embedded twice."""
    from qa.embeddings import OnnxEmbeddings, SentenceTransformerEmbeddings, packaged_model_path

    path = settings.embedding_model or packaged_model_path()
    inner: Embeddings
    if settings.embedding_backend == "torch":
        inner = SentenceTransformerEmbeddings(path, batch_size=settings.embedding_batch_size)
    else:
        inner = OnnxEmbeddings(
            path,
            cache_dir=settings.cache_dir,
            quantize=settings.embedding_backend == "onnx-int8",
            worker_min=WORKER_MIN if settings.embedding_worker else 0,
        )
    if not cache:
        return inner
    from qa.embed_cache import CachedEmbeddings

    # Keyed by the model file that runs (torch folder or exported ONNX file), so backends
    # never read each other's vectors.
    return CachedEmbeddings(inner, settings.cache_dir / "embeddings.sqlite")


def make_client(settings: Settings) -> ClientAPI:
    """Embedded PersistentClient under data_dir, or HttpClient when chroma_url is set."""
    from qa.chroma_local import server_client

    if not settings.chroma_url:
        return _local_client(settings)
    url = urlparse(settings.chroma_url)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError(
            f"chroma_url must look like http://host:port, got {settings.chroma_url!r}"
        )
    try:
        return server_client(
            url.hostname,
            url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
        )
    except Exception as e:  # chromadb raises plain ValueError/ConnectError here
        raise ConfigError(f"cannot reach Chroma server at {settings.chroma_url}: {e}") from None


def _local_client(settings: Settings) -> ClientAPI:
    """The embedded client on data_dir, or a one-line error for a data dir that is not a folder
    or a store whose files are damaged."""
    from qa.chroma_local import damage_reason, damaged, local_client

    for folder in (settings.data_dir, settings.chroma_dir):
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"the data dir {folder} is not a folder (ARTICLEQA_DATA_DIR)")
    try:
        settings.chroma_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ConfigError(f"cannot create the data dir {settings.data_dir}: {e.strerror}") from None
    try:
        return local_client(settings.chroma_dir)
    except Exception as e:
        reason = damage_reason(e)
        if reason:
            raise damaged(settings.data_dir, reason) from None
        raise


def make_store(settings: Settings, embeddings: Embeddings | None = None) -> Store:
    """The index store on the configured client."""
    from qa.store import Store

    return Store(
        make_client(settings), embeddings or make_embeddings(settings), settings.collection
    )


def make_llm(settings: Settings) -> BaseChatModel | None:
    """The chat model for answers; None means the extractive backend (no LLM)."""
    match settings.llm:
        case "extractive":
            return None
        case "local":
            from qa.llm_local import LocalChatModel, find_gguf

            return LocalChatModel(
                model_path=str(find_gguf(settings.local_model)),
                n_ctx=settings.llm_context,
                n_threads=settings.llm_threads,
                max_tokens=settings.llm_max_tokens,
                temperature=settings.llm_temperature,
            )
        case "openai":
            try:
                from langchain_openai import ChatOpenAI
            except ImportError:
                raise ConfigError(
                    "the openai backend needs langchain-openai: pip install 'articleqa[openai]'"
                ) from None
            return ChatOpenAI(
                model=settings.openai_model,
                base_url=settings.openai_base_url or None,
                api_key=settings.openai_api_key,
                temperature=settings.llm_temperature,
                max_completion_tokens=settings.llm_max_tokens * 4,
                streaming=True,
                timeout=settings.url_timeout * 3,
                max_retries=1,
            )
        case "ollama":
            try:
                from langchain_ollama import ChatOllama
            except ImportError:
                raise ConfigError(
                    "the ollama backend needs langchain-ollama: pip install 'articleqa[ollama]'"
                ) from None
            return ChatOllama(
                model=settings.ollama_model,
                base_url=settings.ollama_base_url,
                temperature=settings.llm_temperature,
                num_predict=settings.llm_max_tokens * 4,
            )
    raise ConfigError(f"unknown llm backend {settings.llm!r}")  # pragma: no cover
