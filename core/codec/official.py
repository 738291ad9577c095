"""Reading the official DAC weights files without unpickling code and without downloading.

An official ``weights.pth`` (written by audiotools' ``BaseModel.save(package=False)``) holds
``{"state_dict": {...}, "metadata": {"kwargs": {...DAC arguments...}}}``: only tensors, dicts,
lists, numbers and strings, which ``torch.load(weights_only=True)`` reads. A torch.package file
would hold pickled code and is refused.
"""
from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import torch

from maskvat_foley.core.codec.config import CODEC_PRESETS, CodecConfig

log = logging.getLogger(__name__)

# Where ``dac.utils.download("44khz", "8kbps")`` keeps its file (tag 0.0.1 is "latest" for that pair
# in descript-audio-codec 1.0.0). We only look there; we never fetch.
OFFICIAL_TAG = "0.0.1"
OFFICIAL_URL = "https://github.com/descriptinc/descript-audio-codec/releases/download/0.0.1/weights.pth"


def official_cache_path() -> Path:
    return Path.home() / ".cache" / "descript" / "dac" / f"weights_44khz_8kbps_{OFFICIAL_TAG}.pth"


def read_official(path: str | os.PathLike | None) -> tuple[CodecConfig, dict[str, torch.Tensor], str]:
    """(config, state dict, source description) of an official DAC weights file."""
    p = Path(path) if path is not None else official_cache_path()
    if not p.is_file():
        where = f"at {p}" if path is not None else f"in DAC's cache ({p})"
        raise FileNotFoundError(
            f"official DAC 44.1 kHz weights not found {where}. This software never downloads; fetch "
            f"{OFFICIAL_URL} yourself (or run `python -m dac download`), then pass the file's path or "
            f"place it at {official_cache_path()}")
    try:
        blob = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError, zip errors, ...: all mean "not a plain weights file"
        raise ValueError(f"{p}: cannot be read as plain DAC weights with weights_only=True "
                         f"(a torch.package or a file holding code is refused): {exc}") from None
    if isinstance(blob, dict) and isinstance(blob.get("state_dict"), dict):
        state, kwargs = blob["state_dict"], (blob.get("metadata") or {}).get("kwargs") or {}
    elif isinstance(blob, dict) and blob and all(isinstance(v, torch.Tensor) for v in blob.values()):
        state, kwargs = blob, {}  # a bare state dict: assume the official 44.1 kHz layout
    else:
        raise ValueError(f"{p}: not a DAC weights file (expected a dict with 'state_dict' and "
                         f"'metadata', got {type(blob).__name__} with keys {list(blob)[:5] if isinstance(blob, dict) else ''})")
    return config_from_kwargs(kwargs, source=str(p)), state, str(p)


def config_from_kwargs(kwargs: dict, source: str) -> CodecConfig:
    """The codec config stated by a DAC file's metadata (official preset for what it omits)."""
    base = CODEC_PRESETS["official-44khz"]
    fields = {f.name for f in dataclasses.fields(CodecConfig)} - {"name"}
    known = {k: v for k, v in kwargs.items() if k in fields}
    ignored = sorted(set(kwargs) - fields)
    if ignored:
        log.debug("%s: ignoring DAC metadata keys %s", source, ignored)
    if isinstance(known.get("codebook_dim"), (list, tuple)):
        dims = set(known["codebook_dim"])
        if len(dims) != 1:
            raise ValueError(f"{source}: per-codebook dimensions {known['codebook_dim']} are not supported")
        known["codebook_dim"] = dims.pop()
    if "quantizer_dropout" in known:
        known["quantizer_dropout"] = float(known["quantizer_dropout"])
    try:
        return dataclasses.replace(base, **known)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{source}: DAC metadata kwargs are not a valid codec config: {exc}") from None


_WN_OLD = ("weight_g", "weight_v")
_WN_NEW = ("parametrizations.weight.original0", "parametrizations.weight.original1")


def adapt_weight_norm_keys(state: dict[str, torch.Tensor], expected: Iterable[str]) -> dict[str, torch.Tensor]:
    """Rename weight-norm tensors to the spelling the model uses.

    ``torch.nn.utils.weight_norm`` stores ``weight_g``/``weight_v``; the parametrization API stores
    ``parametrizations.weight.original0``/``original1`` (same tensors). Files and models may differ.
    """
    expected = set(expected)
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if key not in expected:
            for src, dst in (*zip(_WN_OLD, _WN_NEW), *zip(_WN_NEW, _WN_OLD)):
                if key.endswith(src) and key[: -len(src)] + dst in expected:
                    key = key[: -len(src)] + dst
                    break
        out[key] = value
    return out
