"""Chroma plumbing for the store: our embedding function, and fresh embedded clients.

Keeping an embedded Chroma (PersistentClient) fresh when other processes write to it:

Chroma's embedded mode caches vector segments per process: a long-lived reader (the UI, a
chat, a watcher) does not see another process's new vectors, and a reader that opened them
while a writer was mid-run can fail with "Error finding id" until it restarts
(chroma-core/chroma#3792). The cure is a fresh client on the same folder. A Chroma server
(`chroma_url`) has no such problem: this is a no-op there.
"""

from __future__ import annotations

import re
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


def is_stale_read(error: Exception) -> bool:
    """True for the errors a reader with out-of-date cached segments gets."""
    from chromadb.errors import InternalError

    return isinstance(error, InternalError) and not damage_reason(error)


def fresh_client(client: ClientAPI) -> ClientAPI | None:
    """A new client on the same folder with nothing cached; None for server clients."""
    import chromadb
    from chromadb.api.shared_system_client import SharedSystemClient

    settings = client.get_settings()
    if not settings.is_persistent or not settings.persist_directory:
        return None
    # Chroma shares one System per folder per process; dropping it from that cache (there is
    # no public way to drop one folder's) makes the next client load everything from disk.
    # The old System stays alive for whoever still holds it and is collected afterwards.
    SharedSystemClient._identifier_to_system.pop(settings.persist_directory, None)
    return chromadb.PersistentClient(path=settings.persist_directory, settings=settings)


def forget_folder(path: str) -> None:
    """Drop this process's cached Chroma System for a folder (moved aside or damaged), so the
    next client on that path opens what is on disk now."""
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
