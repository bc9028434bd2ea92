"""Export a local sentence-transformers model to ONNX once (optionally int8), checked and cached.

The ONNX path runs the same network with onnxruntime instead of torch: on a 2-core CPU the fp32
graph encodes about twice as fast as torch and the int8 one about 3.5 times (docs/benchmarks.md).
Nothing is downloaded: the model folder that is already on disk is traced with torch, mean
pooling and L2 normalization are baked into the graph, and the file is kept in a cache folder
keyed by the model's weights, so it is exported once per machine, not once per index.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qa.errors import ConfigError

EXPORT_VERSION = 1  # bump when the exported graph changes, so old cached files are not reused
OPSET = 17
# Vectors of the exported graph must stay this close (cosine) to torch's on the probe texts,
# or the export is refused: fp32 only differs by float rounding, int8 by quantization.
MIN_COSINE = {"fp32": 0.9999, "int8": 0.97}
PROBES = (
    "Betsy DeVos was confirmed as education secretary after Vice President Mike Pence cast a "
    "tie-breaking vote in the Senate on Tuesday.",
    "Who won the Super Bowl?",
    "Shares of the carmaker fell 4% in early trading after the company cut its forecast for the "
    "year, citing weaker demand in China and higher costs for steel and aluminium.",
    "short",
)


def _weights_file(source: Path) -> Path:
    for name in ("model.safetensors", "pytorch_model.bin"):
        if (source / name).is_file():
            return source / name
    raise ConfigError(f"{source}: no model.safetensors or pytorch_model.bin to export")


def check_exportable(source: Path) -> None:
    """Raise ConfigError unless source is a mean-pooled sentence-transformers BERT-like model."""
    pooling = source / "1_Pooling" / "config.json"
    try:
        cfg = json.loads(pooling.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise ConfigError(
            f"{source}: no 1_Pooling/config.json; the onnx backends need a sentence-transformers "
            "model folder (set embedding_backend=torch for others)"
        ) from None
    modes = [k for k, v in cfg.items() if k.startswith("pooling_mode_") and v]
    if modes != ["pooling_mode_mean_tokens"]:
        raise ConfigError(
            f"{source}: pooling {modes} is not supported by the onnx backends "
            "(mean pooling only); set embedding_backend=torch"
        )
    _weights_file(source)


def export_path(source: Path, cache_dir: Path, variant: str) -> Path:
    """Where the exported file for this model folder and variant lives (cheap: stats only)."""
    weights = _weights_file(source)
    st = weights.stat()
    key = f"{source.resolve()}|{st.st_size}|{st.st_mtime_ns}|{EXPORT_VERSION}|{OPSET}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    # Packaged models sit in a folder called "model": name the file after the package then.
    name = source.parent.name if source.name == "model" else source.name
    return cache_dir / "onnx" / f"{name}-{digest}-{variant}.onnx"


def say_on_stderr(message: str) -> None:
    """Tell the user, on stderr, about a step that takes a while."""
    print(f"articleqa: {message}", file=sys.stderr, flush=True)


def ensure_exported(
    source: Path, cache_dir: Path, variant: str, notify: Callable[[str], None] = say_on_stderr
) -> Path:
    """The exported ONNX file, exporting (and checking) it first if it is not cached yet; an
    export is announced through `notify` (it takes ~20 s, once per machine, silent otherwise)."""
    if variant not in MIN_COSINE:
        raise ConfigError(f"unknown onnx variant {variant!r}")
    target = export_path(source, cache_dir, variant)
    if target.is_file():
        return target
    check_exportable(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    from filelock import FileLock

    # Two processes starting on a fresh machine must not both write the same file.
    with FileLock(str(target) + ".lock"):
        if target.is_file():
            return target
        notify("preparing the embedding model once (about 20 s)...")
        fp32 = export_path(source, cache_dir, "fp32")
        if not fp32.is_file():
            _export_fp32(source, fp32)
        if variant == "int8":
            _quantize(fp32, target)
        report = _verify(source, target, MIN_COSINE[variant])
        target.with_suffix(".json").write_text(json.dumps(report, indent=1))
    return target


def _export_fp32(source: Path, target: Path) -> None:
    """Trace the transformer + mean pooling + normalization into one fp32 ONNX graph."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import onnx  # noqa: F401  (torch's exporter needs it to serialize)
        import torch
        from transformers import AutoModel
    except ImportError as e:
        raise ConfigError(f"the onnx backends need {e.name}: pip install onnx") from None

    class Pooled(torch.nn.Module):
        def __init__(self, model: Any) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            hidden = self.model(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2, dim=1)

    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    model = AutoModel.from_pretrained(str(source), local_files_only=True).eval()
    ids = torch.ones(2, 16, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # The TorchScript exporter needs no extra package (the dynamo one needs onnxscript).
        torch.onnx.export(
            Pooled(model),
            (ids, ids, torch.zeros_like(ids)),
            str(tmp),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embedding"],
            dynamic_axes={
                "input_ids": axes,
                "attention_mask": axes,
                "token_type_ids": axes,
                "embedding": {0: "batch"},
            },
            opset_version=OPSET,
            dynamo=False,
        )
    os.replace(tmp, target)


def _quantize(fp32: Path, target: Path) -> None:
    """Dynamic int8 quantization of the weight matrices, one scale per output channel.

    Per-channel scales matter for MiniLM: per-tensor int8 moves vectors to cosine ~0.95 of the
    fp32 ones, per-channel keeps them at ~0.994 (measured on news chunks, docs/benchmarks.md).
    """
    import logging

    from onnxruntime.quantization import QuantType, quantize_dynamic

    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    quiet = logging.getLogger()
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # it logs a "consider pre-processing" warning on every run
    try:
        quantize_dynamic(
            str(fp32),
            str(tmp),
            weight_type=QuantType.QInt8,
            per_channel=True,
            extra_options={"MatMulConstBOnly": True},
        )
    finally:
        quiet.setLevel(level)
    os.replace(tmp, target)


def _verify(source: Path, exported: Path, min_cosine: float) -> dict[str, Any]:
    """Compare the exported graph with torch on the probe texts; refuse a bad export."""
    import numpy as np

    from qa.embeddings import OnnxEmbeddings, SentenceTransformerEmbeddings

    ref = np.asarray(SentenceTransformerEmbeddings(source).embed_documents(list(PROBES)))
    got = np.asarray(OnnxEmbeddings.from_file(source, exported).embed_documents(list(PROBES)))
    cos = (ref * got).sum(axis=1)
    report = {
        "source": str(source),
        "file": exported.name,
        "min_cosine_to_torch": float(cos.min()),
        "mean_cosine_to_torch": float(cos.mean()),
        "required": min_cosine,
    }
    if float(cos.min()) < min_cosine:
        exported.unlink(missing_ok=True)
        raise ConfigError(
            f"exported {exported.name} is too far from the torch model "
            f"(cosine {cos.min():.4f} < {min_cosine}); set embedding_backend=torch"
        )
    return report
