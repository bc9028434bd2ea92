"""Chroma plumbing for the store: clients, our embedding function, fresh embedded clients.

With qa/store.py, the only module that imports chromadb.

Keeping an embedded Chroma (PersistentClient) fresh when other processes write to it:

Chroma's embedded mode caches vector segments per process: a long-lived reader (the UI, a
chat, a watcher) does not see another process's new vectors, and a reader that opened them
while a writer was mid-run can fail with "Error finding id" until it restarts
(chroma-core/chroma#3792). The cure is a fresh client on the same folder with nothing cached
(see _drop_cached_system). A Chroma server (`chroma_url`) has no such problem: this is a no-op
there.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from qa.errors import BackendError

if TYPE_CHECKING:
    from chromadb.api import ClientAPI


# What SQLite says of a file that is truncated, overwritten or not a database at all (codes
# 11 SQLITE_CORRUPT, 26 SQLITE_NOTADB), as Chroma passes it on.
_DAMAGE = re.compile(
    r"malformed|not a database|code: (?:11|26)\)|file is encrypted|disk I/O error", re.I
)


def damage_reason(error: BaseException) -> str:
    """The short reason when error says the store's files are damaged, else ""."""
    text = str(error)
    if not _DAMAGE.search(text):
        return ""
    text = re.sub(r"^.*?error returned from database:\s*", "", text)
    return re.sub(r"\(code: \d+\)\s*", "", text).strip()[:120]


def damaged(where: object, reason: str) -> BackendError:
    """The one-line error for a damaged local index, with what to do about it."""
    return BackendError(
        f"the index at {where} is damaged ({reason}): run `articleqa reindex --rebuild` "
        "or restore it from a backup"
    )


def local_client(path: Path) -> ClientAPI:
    """The embedded client on a folder (Chroma shares one per folder within a process)."""
    import chromadb

    return chromadb.PersistentClient(path=str(path), settings=_settings())


def server_client(host: str, port: int, *, ssl: bool) -> ClientAPI:
    """A client of a Chroma server (`chroma run`)."""
    import chromadb

    return chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=_settings())


def _settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False)


def is_stale_read(error: Exception) -> bool:
    """True for the errors a reader with out-of-date cached segments gets."""
    from chromadb.errors import InternalError

    return isinstance(error, InternalError) and not damage_reason(error)


def fresh_client(client: ClientAPI) -> ClientAPI | None:
    """A new client on the same folder with nothing cached; None for server clients."""
    import chromadb

    settings = client.get_settings()
    if not settings.is_persistent or not settings.persist_directory:
        return None
    _drop_cached_system(settings.persist_directory)
    return chromadb.PersistentClient(path=settings.persist_directory, settings=settings)


def forget_folder(path: str) -> None:
    """Forget this process's cached Chroma state for a folder (moved aside or damaged), so
    the next client on that path opens what is on disk now."""
    _drop_cached_system(path)


def _drop_cached_system(path: str) -> None:
    """Drop the System Chroma caches for one folder in this process, so that the next
    PersistentClient on it loads everything from disk.

    Chroma keeps one System (with its vector segments) per folder per process, and a new
    PersistentClient on the folder reuses it: it does not see vectors another process wrote
    since (chroma-core/chroma#3792, open). Measured with Chroma 1.5.9 (two processes, 300 new
    vectors each time): a new client found 0 of them; so did get_collection again. The public
    ways out do not fit a process that searches from several threads: `client.close()` works
    only when no other client in the process holds the folder, and it stops the System under
    reads in flight (the old collection then fails with AttributeError); the static
    `clear_system_cache()` forgets every folder's System and reference counts, documented
    "for testing" (chroma-core/chroma#2536). Popping this one folder's entry found all 300,
    and the old System stays alive for whoever still holds it. This reads Chroma's private
    cache: here and nowhere else.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(path, None)


def chroma_embedding_function(embeddings: Embeddings) -> Any:
    """Wrap our LangChain embeddings for Chroma, so it never falls back to its own model."""
    from chromadb.api.types import Documents, EmbeddingFunction

    class _LangChainEF(EmbeddingFunction[Documents]):
        def __init__(self, inner: Embeddings) -> None:
            self.inner = inner

        def __call__(self, input: Documents) -> Any:
            return self.inner.embed_documents(list(input))

        @staticmethod
        def name() -> str:
            return "articleqa"

        def get_config(self) -> dict[str, Any]:
            return {"model_path": str(getattr(self.inner, "model_path", ""))}

        @staticmethod
        def build_from_config(config: dict[str, Any]) -> Any:
            from qa.embeddings import SentenceTransformerEmbeddings, packaged_model_path

            path = config.get("model_path") or packaged_model_path()
            return _LangChainEF(SentenceTransformerEmbeddings(path))

    return _LangChainEF(embeddings)
