"""MaskVAT checkpoints: one folder holding everything needed to generate.

    config.json              format, name, model config, codec and feature names, sha256, info
    model.safetensors        MaskVAT weights (no pickle)
    model.safetensors.sha256 "<hex>  model.safetensors" (sha256sum format)
    MODEL_CARD.md            short description; training fills in commands and metrics
    codec/                   Tokenizer.save
    features/                FeatureExtractor.save

Folders are written to a temporary sibling and renamed into place, so a reader never sees half
a checkpoint.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from maskvat_foley.core.jobs import fraction_str
from maskvat_foley.core.model.config import MaskVATConfig, preset as model_preset
from maskvat_foley.core.model.transformer import MaskVAT, count_parameters
from maskvat_foley.core.weights_folder import CONFIG_FILE, WEIGHTS_FILE, read_config

if TYPE_CHECKING:
    from maskvat_foley.core.model.level_calibration import LevelCalibration

log = logging.getLogger(__name__)

FORMAT = "maskvat-foley-model"
FORMAT_VERSION = 1
SHA_FILE = "model.safetensors.sha256"
CARD_FILE = "MODEL_CARD.md"
CODEC_DIR = "codec"
FEATURES_DIR = "features"
SCORER_DIR = "scorer"


@dataclass
class Checkpoint:
    model: MaskVAT
    config: MaskVATConfig
    tokenizer: Any | None      # maskvat_foley.core.codec.tokenizer.Tokenizer
    extractor: Any | None      # maskvat_foley.core.features.base.FeatureExtractor
    name: str
    sha256: str
    path: Path
    info: dict[str, Any] = field(default_factory=dict)
    scorer: Any | None = None  # a beam.SyncScorer named in config.json (default "onset-motion")
    level: "LevelCalibration | None" = None  # config.json's "level": takes are brought to it; None: none


def file_sha256(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_compatible(config: MaskVATConfig, tokenizer: Any | None, extractor: Any | None,
                     source: str = "checkpoint") -> None:
    """The model's token grid must match the codec and its cond_dim the extractor's features."""
    if tokenizer is not None:
        if config.codebook_size != tokenizer.codebook_size or config.n_codebooks > tokenizer.n_codebooks:
            raise ValueError(f"{source}: model expects {config.n_codebooks} codebooks of "
                             f"{config.codebook_size} but codec {tokenizer.name!r} has "
                             f"{tokenizer.n_codebooks} of {tokenizer.codebook_size}")
    if extractor is not None and extractor.dim != config.cond_dim:
        raise ValueError(f"{source}: model cond_dim {config.cond_dim} != feature extractor "
                         f"{extractor.name!r} dim {extractor.dim}")


def _default_card(name: str, model: MaskVAT, meta: dict[str, Any]) -> str:
    cfg = model.config
    return (f"# {name}\n\nMaskVAT ({cfg.variant} variant), {count_parameters(model):,} parameters, "
            f"d_model {cfg.d_model}, {cfg.n_layers} layers, {cfg.n_heads} heads.\n\n"
            f"- codec: {meta.get('codec', {}).get('name')}\n"
            f"- visual features: {meta.get('features', {}).get('name')}\n"
            f"- weights sha256: {meta['sha256']}\n\n"
            "## Training\n\nNot trained yet (random initialisation).\n")


def save_checkpoint(directory: str | os.PathLike, model: MaskVAT, tokenizer: Any | None,
                    extractor: Any | None, *, name: str, card: str | None = None,
                    info: dict[str, Any] | None = None, overwrite: bool = False,
                    scorer: str = "onset-motion", scorer_dir: str | os.PathLike | None = None,
                    weights_dtype: torch.dtype | None = None, level: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint folder atomically; returns its path. ``info``: free JSON (metrics...);
    ``scorer``: the synchrony scorer beam selection uses with this model (by registered name);
    ``scorer_dir``: the folder of a trained scorer, copied to ``scorer/`` and loaded from there;
    ``weights_dtype``: store MaskVAT's and the codec's floating-point weights in this dtype (float16
    halves a bundled model; loading casts back to float32); ``level``: the training audio's level
    (level_calibration.LevelCalibration.to_dict()) that takes are brought to."""
    from safetensors.torch import save_file

    target = Path(directory)
    if target.exists() and not overwrite:
        raise FileExistsError(f"checkpoint folder {target} exists (pass overwrite=True to replace it)")
    check_compatible(model.config, tokenizer, extractor, source=f"checkpoint {name!r}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp-{uuid.uuid4().hex[:8]}")
    tmp.mkdir()
    try:
        state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
        if weights_dtype is not None:
            state = {k: v.to(weights_dtype) if v.is_floating_point() else v for k, v in state.items()}
        # One metadata key only: safetensors writes a metadata map in hash order, so several keys
        # would make the bytes (and the sha256) of identical weights differ from run to run.
        save_file(state, str(tmp / WEIGHTS_FILE), metadata={"format": FORMAT})
        sha = file_sha256(tmp / WEIGHTS_FILE)
        (tmp / SHA_FILE).write_text(f"{sha}  {WEIGHTS_FILE}\n")
        meta: dict[str, Any] = {
            "format": FORMAT, "version": FORMAT_VERSION, "name": name, "sha256": sha,
            "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
            "parameters": count_parameters(model), "model": model.config.to_dict(),
            "info": dict(info or {}), "scorer": {"name": scorer},
            "weights_dtype": str(weights_dtype or torch.float32).removeprefix("torch.")}
        if level is not None:
            meta["level"] = dict(level)
        if scorer_dir is not None:
            if not Path(scorer_dir).is_dir():
                raise FileNotFoundError(f"scorer folder {scorer_dir} does not exist")
            shutil.copytree(scorer_dir, tmp / SCORER_DIR)
            meta["scorer"]["path"] = SCORER_DIR
        if tokenizer is not None:
            tokenizer.save(tmp / CODEC_DIR, weights_dtype=weights_dtype)  # the codec is most of a bundle
            meta["codec"] = {"name": tokenizer.name, "n_codebooks": tokenizer.n_codebooks,
                             "codebook_size": tokenizer.codebook_size,
                             "sample_rate": tokenizer.sample_rate,
                             "frame_rate": fraction_str(tokenizer.frame_rate)}
        if extractor is not None:
            extractor.save(tmp / FEATURES_DIR)
            meta["features"] = {"name": extractor.name, "dim": extractor.dim}
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        (tmp / CARD_FILE).write_text(card if card is not None else _default_card(name, model, meta))
        old = None
        if target.exists():
            old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
            os.replace(target, old)
        os.replace(tmp, target)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    log.info("saved MaskVAT checkpoint %r to %s (sha256 %s)", name, target, sha[:12])
    return target


def read_meta(directory: str | os.PathLike) -> dict[str, Any]:
    """The checkpoint's config.json, checked (cheap: no weights are read)."""
    return read_config(directory, FORMAT, FORMAT_VERSION, "checkpoint", weights=False,
                       required=("model",))


def set_level(directory: str | os.PathLike, level: dict[str, Any]) -> Path:
    """Write the "level" block of an existing checkpoint's config.json (the weights, and so the
    sha256, are unchanged): a bundled model gains level calibration without being retrained. The
    file is replaced atomically."""
    d = Path(directory)
    meta = read_meta(d)
    meta["level"] = dict(level)
    tmp = d / f".{CONFIG_FILE}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, d / CONFIG_FILE)
    return d / CONFIG_FILE


def load_checkpoint(directory: str | os.PathLike, device: str | torch.device = "cpu", *,
                    verify: bool = True) -> Checkpoint:
    """Read a checkpoint folder; with ``verify`` the weights' sha256 must match config.json."""
    from safetensors.torch import load_file

    d = Path(directory)
    meta = read_meta(d)
    cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
    try:
        config = MaskVATConfig.from_dict(meta["model"])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{cfg_path}: bad model config: {exc}") from None
    if not w_path.is_file():
        raise FileNotFoundError(f"checkpoint folder {d} has no {WEIGHTS_FILE}")
    sha = file_sha256(w_path)
    if verify and meta.get("sha256") and sha != meta["sha256"]:
        raise ValueError(f"{w_path}: sha256 {sha} does not match {meta['sha256']} in {CONFIG_FILE} "
                         "(the weights are corrupt or were replaced)")
    state = load_file(str(w_path))
    model = MaskVAT(config)
    expected = model.state_dict()
    for key, t in expected.items():
        if key not in state:
            raise ValueError(f"{w_path}: tensor {key!r} is missing (model config {config.variant}, "
                             f"d_model {config.d_model})")
        if tuple(state[key].shape) != tuple(t.shape):
            raise ValueError(f"{w_path}: tensor {key!r} has shape {tuple(state[key].shape)} but the "
                             f"config in {CONFIG_FILE} needs {tuple(t.shape)}")
    extra = sorted(set(state) - set(expected))
    if extra:
        raise ValueError(f"{w_path}: unexpected tensors for this config: {', '.join(extra[:5])}")
    model.load_state_dict(state, strict=True)
    model.to(device).eval()
    tokenizer = extractor = None
    if (d / CODEC_DIR).is_dir():
        from maskvat_foley.core.codec.tokenizer import Tokenizer

        tokenizer = Tokenizer.load(d / CODEC_DIR, device=device)
    if (d / FEATURES_DIR).is_dir():
        from maskvat_foley.core.features.base import load_extractor

        extractor = load_extractor(d / FEATURES_DIR, device=device)
    check_compatible(config, tokenizer, extractor, source=str(d))
    from maskvat_foley.core.model.beam import create_scorer

    scorer_meta = meta.get("scorer") or {}
    scorer_kw: dict[str, Any] = {}
    if scorer_meta.get("path"):  # a trained scorer stored in the checkpoint folder
        scorer_path = d / str(scorer_meta["path"])
        if not scorer_path.is_dir():
            raise FileNotFoundError(f"{cfg_path}: names scorer folder {scorer_meta['path']!r}, "
                                    f"which is missing from {d}")
        scorer_kw = {"path": str(scorer_path), "device": device}
    scorer = create_scorer(str(scorer_meta.get("name", "onset-motion")), **scorer_kw)
    from maskvat_foley.core.model.level_calibration import LevelCalibration

    try:
        level = LevelCalibration.from_meta(meta.get("level"))
    except ValueError as exc:
        raise ValueError(f"{cfg_path}: {exc}") from None
    return Checkpoint(model, config, tokenizer, extractor, str(meta.get("name", d.name)), sha, d,
                      dict(meta.get("info") or {}), scorer, level)


def init_random(directory: str | os.PathLike, preset: str = "tiny", *, codec: str = "tiny",
                features: str = "raw", features_kw: dict[str, Any] | None = None,
                name: str | None = None, seed: int = 0, overwrite: bool = False,
                **overrides: Any) -> Path:
    """A randomly initialised checkpoint (for tests and benchmarks): model preset sized to match
    the codec preset ``codec`` and the extractor ``features`` (built with ``features_kw``)."""
    from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer
    from maskvat_foley.core.features.base import create

    if codec not in CODEC_PRESETS:
        raise ValueError(f"unknown codec preset {codec!r}; expected one of {sorted(CODEC_PRESETS)}")
    tokenizer = Tokenizer(CODEC_PRESETS[codec], seed=seed)
    extractor = create(features, **(features_kw or {}))
    config = model_preset(preset, **{"n_codebooks": tokenizer.n_codebooks,
                                     "codebook_size": tokenizer.codebook_size,
                                     "cond_dim": extractor.dim, **overrides})
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = MaskVAT(config)
    return save_checkpoint(directory, model, tokenizer, extractor,
                           name=name or f"maskvat-{preset}-random", overwrite=overwrite,
                           info={"init": "random", "seed": seed, "preset": preset})
