"""The small error hierarchy; the CLI turns any of these into one line and exit code 1."""

from __future__ import annotations


class ArticleQAError(Exception):
    """Base of every error the user should see as one line, not a traceback."""


class ConfigError(ArticleQAError):
    """Settings are invalid or a backend cannot be built (includes install hints)."""


class InputError(ArticleQAError):
    """A question, option or request cannot be used as given (blank question, k out of range,
    a history of the wrong shape)."""


class LoadError(ArticleQAError):
    """One source (file, record or URL) could not be read; `where` names it."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason


class EmptyIndexError(ArticleQAError):
    """A question was asked before anything was indexed."""


class NotFoundError(ArticleQAError):
    """An article id, path or URL is not in the index."""


class BackendError(ArticleQAError):
    """The LLM or store backend failed at run time (server down, bad model file...)."""


class IndexFormatError(ArticleQAError):
    """The index was written in another layout, or with another embedding size, than this
    version reads; the message says to rebuild it."""
