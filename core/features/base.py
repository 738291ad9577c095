"""The visual feature extractor interface and the registry of extractors by name.

An extractor turns each video frame (RGB, resized to ``input_size``) into a ``dim``-vector. Some
look at the previous frame too (motion); ``context_frames`` says how many, so ``extract`` can cut a
long clip into batches without changing any feature at a batch boundary.
"""
from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np
import torch
from torch import nn

from maskvat_foley.core.weights_folder import CONFIG_FILE, WEIGHTS_FILE, read_config, write_folder

log = logging.getLogger(__name__)

FORMAT = "maskvat-foley-features"
FORMAT_VERSION = 1

# Modules whose import registers the built-in extractors (kept lazy: torch models load on demand).
BUILTIN_MODULES: tuple[str, ...] = (
    "maskvat_foley.core.features.raw",
    "maskvat_foley.core.features.frame_cnn",
    "maskvat_foley.core.features.clip",
    "maskvat_foley.core.features.foleyworld_av",
    "maskvat_foley.core.features.av_flow",
)

__all__ = ["FeatureExtractor", "register", "create", "load_extractor", "available", "get_class"]


class FeatureExtractor(nn.Module):
    """Per-frame visual features.

    Subclasses set ``dim`` and ``input_size`` (W, H) in ``__init__``, pass their constructor
    arguments to ``super().__init__(**kwargs)`` (they are the saved config) and implement ``forward``.
    """

    name: str = ""
    context_frames: int = 0  # earlier frames each output depends on (1 for frame differences)

    def __init__(self, **config: Any) -> None:
        super().__init__()
        self._config = dict(config)
        self.dim: int = 0
        self.input_size: tuple[int, int] = (0, 0)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """frames float [B, N, 3, H, W] in 0..1 -> features [B, N, dim]."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """Constructor arguments: ``create(self.name, **self.config())`` rebuilds this extractor."""
        return dict(self._config)

    @property
    def device(self) -> torch.device:
        for t in (*self.parameters(), *self.buffers()):
            return t.device
        return torch.device("cpu")

    def check_frames(self, frames: torch.Tensor) -> None:
        w, h = self.input_size
        if frames.dim() != 5 or tuple(frames.shape[2:]) != (3, h, w):
            raise ValueError(f"extractor {self.name!r} expects frames [B, N, 3, {h}, {w}], "
                             f"got {tuple(frames.shape)}")

    @torch.no_grad()
    def extract(self, rgb: np.ndarray, batch_frames: int = 64, shots: Sequence[int] = ()) -> torch.Tensor:
        """uint8 RGB frames [N, H, W, 3] of one clip -> features [N, dim] on the CPU.

        Frames of another size are resized (bilinear) to ``input_size``. Batches overlap by
        ``context_frames`` so the result equals one pass over the whole clip. ``shots``: indices of
        the frames that start a new shot (core.media.cuts); each shot is seen on its own, its first
        frame as a clip's first, so the change across a cut never reads as motion.
        """
        bounds = sorted({int(i) for i in shots if 0 < int(i) < len(rgb)})
        if bounds:
            edges = [0, *bounds, len(rgb)]
            return torch.cat([self.extract(rgb[a:b], batch_frames) for a, b in zip(edges[:-1], edges[1:])])
        rgb = np.asarray(rgb)
        if rgb.dtype != np.uint8 or rgb.ndim != 4 or rgb.shape[-1] != 3:
            raise ValueError(f"extractor {self.name!r}: frames must be uint8 [N, H, W, 3], got "
                             f"{rgb.dtype} {rgb.shape}")
        n = rgb.shape[0]
        if n == 0:
            raise ValueError(f"extractor {self.name!r}: no frames to extract features from")
        if batch_frames < 1:
            raise ValueError(f"batch_frames must be >= 1, got {batch_frames}")
        was_training = self.training
        self.eval()
        try:
            out = []
            ctx = self.context_frames
            for s in range(0, n, batch_frames):
                e = min(n, s + batch_frames)
                a = max(0, s - ctx)
                x = self.to_input(rgb[a:e])
                out.append(self(x[None])[0, s - a:].float().cpu())
            return torch.cat(out, dim=0)
        finally:
            self.train(was_training)

    def to_input(self, rgb: np.ndarray) -> torch.Tensor:
        """uint8 RGB frames [N, H, W, 3] -> float [N, 3, H, W] in 0..1 at ``input_size``, on its device."""
        x = torch.from_numpy(np.ascontiguousarray(rgb)).to(self.device)
        x = x.permute(0, 3, 1, 2).float().div_(255.0)
        w, h = self.input_size
        if x.shape[-2:] != (h, w):
            x = nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
                                          antialias=True).clamp_(0.0, 1.0)
        return x

    def save(self, directory: str | os.PathLike) -> Path:
        """Write ``config.json`` and ``model.safetensors`` (empty for parameter-free extractors)."""
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "name": self.name, "dim": self.dim,
                "input_size": list(self.input_size), "config": _jsonable(self.config())}
        return write_folder(directory, meta, self.state_dict())

    @classmethod
    def build_for_load(cls, config: dict[str, Any]) -> "FeatureExtractor":
        """An instance to load saved weights into (override when construction needs files)."""
        return cls(**config)


def _jsonable(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for k, v in d.items():
        out[k] = list(v) if isinstance(v, tuple) else (os.fspath(v) if isinstance(v, Path) else v)
    return out


_REGISTRY: dict[str, type[FeatureExtractor]] = {}
_builtins_loaded = False
T = TypeVar("T", bound=type[FeatureExtractor])


def register(name: str) -> Callable[[T], T]:
    """Class decorator: make an extractor available to ``create(name)``."""
    def deco(cls: T) -> T:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"feature extractor name {name!r} is already registered by "
                             f"{_REGISTRY[name].__module__}.{_REGISTRY[name].__qualname__}")
        cls.name = name
        _REGISTRY[name] = cls
        return cls
    return deco


def _load_builtins() -> None:
    global _builtins_loaded
    if not _builtins_loaded:
        _builtins_loaded = True
        for mod in BUILTIN_MODULES:
            importlib.import_module(mod)


def available() -> list[str]:
    """Registered extractor names, sorted."""
    _load_builtins()
    return sorted(_REGISTRY)


def get_class(name: str) -> type[FeatureExtractor]:
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown feature extractor {name!r}; available: {', '.join(available())}") from None


def create(name: str, **kwargs: Any) -> FeatureExtractor:
    """A new extractor of the registered ``name`` built with ``kwargs``."""
    return get_class(name)(**kwargs)


def load_extractor(directory: str | os.PathLike, device: str | torch.device = "cpu") -> FeatureExtractor:
    """Read a folder written by ``FeatureExtractor.save``."""
    from safetensors.torch import load_file

    d = Path(directory)
    cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
    meta = read_config(d, FORMAT, FORMAT_VERSION, "feature extractor")
    cls = get_class(str(meta.get("name")))
    ext = cls.build_for_load(dict(meta.get("config") or {}))
    state = load_file(str(w_path))
    expected = ext.state_dict()
    bad = sorted(set(expected) ^ set(state)) + [
        f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
        if k in state and state[k].shape != v.shape]
    if bad:
        raise ValueError(f"{w_path}: weights do not match extractor {cls.name!r} with config "
                         f"{meta.get('config')}: {len(bad)} differences (e.g. {'; '.join(bad[:3])})")
    ext.load_state_dict(state, strict=True)
    if ext.dim != meta.get("dim", ext.dim):
        raise ValueError(f"{cfg_path}: states dim {meta['dim']} but the extractor gives {ext.dim}")
    return ext.to(device).eval()

