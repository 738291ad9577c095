"""Train MaskVAT on the token cache and write a complete checkpoint folder.

Inputs: a codec (a trained ``codec/`` folder or a preset), a feature extractor (a trained
``features/`` folder or a registered name with settings) and optionally a trained ``scorer/``.
Steps: build/reuse the cache (cache.py), then ``training_loss`` on random windows of ``window``
code frames; the checkpoint (``<out>/model``) holds codec/, features/, scorer/ and a model card.

Reference sounds (``"overrides": {"ref_frames": 172}``, MaskVATConfig): a reference cache of every
clip's labels and alternate sound is built beside the token cache (``cache_ref/``) and each row
gets a reference as core.train.references pairs them, its length drawn per step from 0.25 s to
ref_frames; validation reports ``ce_ref`` (with references) beside ``ce`` (without).
"""
from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from maskvat_foley.core.train import dist as D
from maskvat_foley.core.train.cache import (build_cache, build_ref_cache, check_codes_alive, load_cache,
                                            load_ref_cache)
from maskvat_foley.core.train.common import RunOptions, stage_summary, write_summary
from maskvat_foley.core.train.loop import LoopConfig, Trainer, from_dict
from maskvat_foley.core.train.sources import make_source

log = logging.getLogger(__name__)


@dataclass
class MaskVATTrainConfig:
    name: str = "maskvat-foleyworld"
    preset: str = "default"
    overrides: dict = field(default_factory=dict)       # MaskVATConfig fields
    codec: str = "small"                                # folder or preset (CLI --codec wins)
    features: Any = field(default_factory=lambda: {"name": "foleyworld-av"})  # folder or {name, ...}
    scorer: str | None = None                           # trained scorer folder (CLI --avsync wins)
    data: dict = field(default_factory=lambda: {"type": "foleyworld", "n": 384})
    val_data: dict = field(default_factory=lambda: {"type": "foleyworld", "split": "val", "n": 16})
    shard_size: int = 32
    # Code frames per training window: one length, or [shortest, longest] drawn per step so the
    # model trains on the lengths it samples (the sampler's default window is the longest).
    window: int | list[int] = 160
    batch_frames: int = 0   # with a window range: batch size = max(2, batch_frames // length); 0: batch_size
    min_code_perplexity: float = 2.0  # refuse a collapsed codec's tokens (0: tests of the mechanics)
    batch_size: int = 8
    fixed_batch: bool = False
    init_seed: int = 0
    init_from: str | None = None  # a model folder whose MaskVAT weights start this run (warm_start.py)
    # Names (prefixes) of weights the warm start leaves at their fresh values: with another codec
    # the token embeddings and output heads ("tok.", "head_") mean other sounds, while the blocks
    # that read the picture still know when things happen.
    init_fresh: list[str] = field(default_factory=list)
    # Names (prefixes) of the only weights that train after a warm start; the rest stay frozen at
    # the start's values (empty: all train). ["cond_", "null_cond"] adapts the way in for a new
    # visual tower and keeps the blocks that make the sound (docs/footage_experiment.md).
    train_only: list[str] = field(default_factory=list)
    # Reference training (overrides.ref_frames > 0): the share of rows of a clip with a material or
    # surface whose reference (and target) is another material (core.train.references).
    ref_swap_prob: float = 0.5
    # The share of rows drawn from clips with an alternate sound, always with a reference: only
    # those rows can teach the timbre (elsewhere the picture gives it), and they are a quarter of
    # FoleyWorld's clips. 0 draws every row uniformly.
    ref_focus: float = 0.0
    # Learning-rate multiplier of the reference sub-layers (names with "ref_"), which start at zero
    # gates beside warm-started weights. Measured: 10 did not make takes follow the reference
    # (docs/reference.md), so the recipe keeps 1.
    ref_lr_scale: float = 1.0
    # The share of rows with a reference trained fully masked (objective.training_loss).
    ref_full_mask: float = 0.0
    seed: int = 0
    loop: LoopConfig = field(default_factory=LoopConfig)

    def __post_init__(self) -> None:
        if isinstance(self.loop, dict):
            self.loop = LoopConfig.from_dict(self.loop, "maskvat.loop")
        for key in ("ref_swap_prob", "ref_focus", "ref_full_mask"):
            if not 0 <= getattr(self, key) <= 1:
                raise ValueError(f"maskvat: {key} must be in [0, 1], got {getattr(self, key)}")
        if self.init_fresh and not self.init_from:
            raise ValueError("maskvat: init_fresh names weights of a warm start; set init_from too")
        if self.train_only and not self.init_from:
            raise ValueError("maskvat: train_only freezes the weights of a warm start; set init_from too")
        if not self.ref_lr_scale > 0:
            raise ValueError(f"maskvat: ref_lr_scale must be positive, got {self.ref_lr_scale}")
        lo, hi = self.window_range
        if lo < 2 or hi < lo or self.batch_size < 1 or self.shard_size < 1:
            raise ValueError(f"maskvat: window {self.window} must be >= 2 (or [lo, hi] with 2 <= lo <= hi), "
                             "batch_size and shard_size >= 1")

    @property
    def window_range(self) -> tuple[int, int]:
        w = self.window
        if isinstance(w, (list, tuple)):
            if len(w) != 2:
                raise ValueError(f"maskvat: window must be a length or [shortest, longest], got {w}")
            return int(w[0]), int(w[1])
        return int(w), int(w)

    def batch_for(self, length: int) -> int:
        return max(2, self.batch_frames // length) if self.batch_frames else self.batch_size

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MaskVATTrainConfig":
        return from_dict(cls, d, "maskvat config")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def load_inputs(cfg: MaskVATTrainConfig, device: torch.device):
    from maskvat_foley.core.codec.tokenizer import load_tokenizer
    from maskvat_foley.core.features.base import create, load_extractor

    tok = load_tokenizer(cfg.codec, device="cpu", seed=cfg.init_seed)
    if isinstance(cfg.features, (str, os.PathLike)):
        ext = load_extractor(cfg.features)
    else:
        spec = dict(cfg.features)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.init_seed)
            ext = create(spec.pop("name"), **spec)
    return tok.eval(), ext.eval()


def ref_scale(name: str, scale: float) -> float:
    """The learning-rate multiplier of parameter ``name``: ``scale`` for the reference sub-layers."""
    return scale if any(part.startswith("ref_") for part in name.split(".")) else 1.0


def draw_window(rng, lo: int, hi: int, longest_clip: int) -> int:
    """A window length in [lo, hi] (capped by the longest clip), uniform: one per step."""
    hi = min(hi, longest_clip)
    return int(rng.integers(min(lo, hi), hi + 1))


def make_batch(clips: list, cfg: MaskVATTrainConfig, rng, window: int, device: torch.device,
               batch: int | None = None, refs: Any = None, ref_len: int = 0, ref_rng=None,
               ref_drop: float = 0.0, ref_focus: float = 0.0):
    """codes [B,K,W], cond [B,W,D], teacher [B,W,T] from random windows of long-enough clips.

    With ``refs`` (a references.RefPool) also reference [B,K,ref_len] and ref_mask [B,ref_len]:
    each row paired (and its target chosen) by the pool with ``ref_rng``, dropped with
    ``ref_drop``; a share ``ref_focus`` of rows is redrawn (with ``ref_rng``) from clips with an
    alternate sound and keeps its reference. The windows drawn from ``rng`` are the same with and
    without references."""
    clips = [c for c in clips if c.codes.shape[-1] >= window]
    focus = [c for c in clips if refs is not None and refs.has_alternate(c.key)] if ref_focus > 0 else []
    codes, cond, teacher, ref_codes = [], [], [], []
    for _ in range(batch or cfg.batch_size):
        c = clips[int(rng.integers(len(clips)))]
        s = int(rng.integers(c.codes.shape[-1] - window + 1))
        focused = bool(focus) and ref_rng.random() < ref_focus
        if focused:
            c = focus[int(ref_rng.integers(len(focus)))]
            s = int(ref_rng.integers(c.codes.shape[-1] - window + 1))
        cond.append(c.cond[s:s + window])
        if refs is None:
            codes.append(c.codes[:, s:s + window])
            teacher.append(c.teacher[s:s + window])
            continue
        drop = not focused and bool(ref_rng.random() < ref_drop)
        pair = refs.pair(c, s, window, ref_len, ref_rng, drop=drop)
        codes.append(pair.target)
        teacher.append(pair.teacher)
        ref_codes.append(pair.reference)
    out = (torch.stack(codes).to(device), torch.stack(cond).to(device), torch.stack(teacher).to(device))
    if refs is None:
        return out
    from maskvat_foley.core.train.references import collate

    reference, mask = collate(ref_codes, out[0].shape[1], ref_len)
    return (*out, reference.to(device), mask.to(device))


def train_maskvat(cfg: MaskVATTrainConfig, opts: RunOptions) -> dict[str, Any]:
    from maskvat_foley.core.model.checkpoint import save_checkpoint
    from maskvat_foley.core.model.config import preset
    from maskvat_foley.core.model.objective import training_loss
    from maskvat_foley.core.model.transformer import MaskVAT, count_parameters

    info = D.setup(opts.device)
    try:
        tok, ext = load_inputs(cfg, info.device)
        mcfg = preset(cfg.preset, **{"n_codebooks": tok.n_codebooks, "codebook_size": tok.codebook_size,
                                     "cond_dim": ext.dim, **cfg.overrides})
        if mcfg.aux_weight > 0 and mcfg.aux_dim != 64:
            raise ValueError(f"maskvat: the cache's teacher frames are logmel with 64 bins; set aux_dim 64 "
                             f"(got {mcfg.aux_dim})")
        size = tuple(ext.input_size)
        cache_dir = opts.out / "cache"
        build_cache(cache_dir, make_source(cfg.data, size, split="train"), tok, ext,
                    shard_size=cfg.shard_size, info=info, progress=opts.progress, motion_gain=mcfg.motion_gain)
        val_dir = opts.out / "cache_val"
        build_cache(val_dir, make_source(cfg.val_data, size, split="val"), tok, ext,
                    shard_size=cfg.shard_size, info=info, progress=opts.progress, motion_gain=mcfg.motion_gain)
        clips_all, val_clips = load_cache(cache_dir), load_cache(val_dir)
        refs = val_refs = None
        if mcfg.ref_frames > 0:
            refs, val_refs = _ref_pools(cfg, mcfg, opts, tok, info, size, clips_all, val_clips)
        check_codes_alive(clips_all, tok.codebook_size, minimum=cfg.min_code_perplexity,
                          where=str(cache_dir))
        lo, hi = (min(w, mcfg.max_frames) for w in cfg.window_range)
        window = lo
        clips = [c for c in clips_all if c.codes.shape[-1] >= window]
        if not clips:
            raise ValueError(f"maskvat: no cached clip has {window} code frames; lower 'window'")
        if len(clips) < len(clips_all):
            log.warning("maskvat: %d of %d clips are shorter than the window (%d frames) and are skipped",
                        len(clips_all) - len(clips), len(clips_all), window)
        longest = max(c.codes.shape[-1] for c in clips)
        hi = min(hi, longest)
        if hi > lo:  # the sampler's default window: the longest trained on
            mcfg = mcfg.replace(sample_window=hi)
        # Validation on the longest trained window where the val clips allow it (fixed windows).
        val_window = hi if any(c.codes.shape[-1] >= hi for c in val_clips) else lo
        val_clips = [c for c in val_clips if c.codes.shape[-1] >= val_window]
        if not val_clips:
            val_clips, val_window = clips[:1], lo
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(cfg.init_seed)
            model = MaskVAT(mcfg)
        if cfg.init_from:
            from maskvat_foley.core.train.warm_start import read_weights, train_only, warm_start

            warm_start(model, read_weights(cfg.init_from), keep_fresh=tuple(cfg.init_fresh))
            if cfg.train_only:
                train_only(model, tuple(cfg.train_only))

        def step_fn(step: int, wrapped: nn.Module):
            s = 0 if cfg.fixed_batch else step
            rng = D.step_rng(cfg.seed, info, s)
            length = draw_window(rng, lo, hi, longest) if hi > lo else lo
            ref: dict[str, Any] = {}
            if refs is not None:  # its own stream: the same windows as without references
                ref_rng = D.step_rng(cfg.seed, info, s, stream=2)
                ref = dict(refs=refs, ref_rng=ref_rng, ref_drop=mcfg.ref_drop_prob, ref_focus=cfg.ref_focus,
                           ref_len=int(ref_rng.integers(refs.min_frames, mcfg.ref_frames + 1)))
            codes, cond, teacher, *given = make_batch(clips, cfg, rng, length, info.device,
                                                      cfg.batch_for(length), **ref)
            gen = D.step_generator(cfg.seed, info, s, info.device)
            loss, metrics = training_loss(wrapped, codes, cond, generator=gen,
                                          teacher_frames=teacher if mcfg.aux_weight > 0 else None,
                                          ref_full_mask=cfg.ref_full_mask, **_ref_kw(given))
            return loss, {k: v for k, v in metrics.items() if not k.startswith("acc_cb")}

        def val_fn(m: nn.Module) -> dict[str, float]:
            from maskvat_foley.core.train.dist import DistInfo, step_rng, step_generator

            vi, cpu = DistInfo(), torch.device("cpu")  # CPU masks: the same numbers on any device
            tot: dict[str, float] = {}
            for i in range(4):  # fixed masks and windows: comparable across evaluations
                codes, cond, teacher = make_batch(val_clips, cfg, step_rng(cfg.seed + 7, vi, i), val_window,
                                                  info.device)
                _, met = training_loss(m, codes, cond, generator=step_generator(cfg.seed + 7, vi, i, cpu),
                                       teacher_frames=teacher if mcfg.aux_weight > 0 else None)
                for k in ("ce", "acc"):
                    tot[k] = tot.get(k, 0.0) + met[k] / 4
                if val_refs is not None:  # the same windows, every row with a reference (half swapped)
                    codes, cond, teacher, *given = make_batch(
                        val_clips, cfg, step_rng(cfg.seed + 7, vi, i), val_window, info.device,
                        refs=val_refs, ref_len=mcfg.ref_frames, ref_rng=step_rng(cfg.seed + 7, vi, i, stream=2))
                    _, met = training_loss(m, codes, cond, generator=step_generator(cfg.seed + 7, vi, i, cpu),
                                           teacher_frames=teacher if mcfg.aux_weight > 0 else None,
                                           **_ref_kw(given))
                    for k in ("ce", "acc"):
                        tot[f"{k}_ref"] = tot.get(f"{k}_ref", 0.0) + met[k] / 4
            return tot

        trainer = Trainer(model, cfg.loop, opts.out, info, step_fn, val_fn=val_fn, name="maskvat",
                          progress=opts.progress, lr_scale=lambda n: ref_scale(n, cfg.ref_lr_scale))
        result = trainer.run(**opts.loop_stops())
        summary: dict[str, Any] = {}
        if info.is_main:
            summary = stage_summary("maskvat", opts, cfg, info, result, model=mcfg.to_dict(),
                                    parameters=count_parameters(model), cache_clips=len(clips_all),
                                    window=[lo, hi])
            scorer_dir = Path(cfg.scorer) if cfg.scorer else None
            ckpt = save_checkpoint(opts.out / "model", model.cpu().eval(), tok, ext, name=cfg.name,
                                   card=model_card(cfg.name, summary, []), info=_card_info(summary),
                                   overwrite=True, scorer="foleyworld-av" if scorer_dir else "onset-motion",
                                   scorer_dir=scorer_dir)
            summary["checkpoint"] = str(ckpt)
            write_summary(opts.out, summary)
        D.barrier(info)
        return summary
    finally:
        D.cleanup(info)


def _ref_pools(cfg: MaskVATTrainConfig, mcfg: Any, opts: RunOptions, tok: Any, info: Any,
               size: tuple[int, int], clips: list, val_clips: list):
    """The training and validation RefPools (building their reference caches from the token
    caches' sources: the frame size changes FoleyWorld's layouts, hence its events)."""
    from maskvat_foley.core.train.references import RefPool, min_ref_frames

    pools = []
    for name, spec, split, cached in (("cache_ref", cfg.data, "train", clips),
                                      ("cache_val_ref", cfg.val_data, "val", val_clips)):
        source = make_source(spec, size, split=split)
        d = build_ref_cache(opts.out / name, source, tok, shard_size=cfg.shard_size, info=info,
                            progress=opts.progress)
        labels = load_ref_cache(d) if d is not None else None
        pools.append(RefPool(cached, labels, min_ref_frames(tok.frame_rate, mcfg.ref_frames),
                             swap_prob=cfg.ref_swap_prob))
    swaps = sum(r.alt_label is not None for r in pools[0].labels.values())
    log.info("maskvat: reference training, up to %d frames; %d of %d clips have an alternate material",
             mcfg.ref_frames, swaps, len(clips))
    return pools[0], pools[1]


def _ref_kw(given: list) -> dict[str, Any]:
    return {"reference": given[0], "ref_mask": given[1]} if given else {}


def _card_info(summary: dict[str, Any]) -> dict[str, Any]:
    return {k: summary.get(k) for k in ("command", "step", "train_seconds", "steps_per_s", "val", "last")}


def stage_device(summary: dict[str, Any]) -> str:
    """Where a stage trained, from its summary: 'cpu', or 'cuda:0 (NVIDIA H100 80GB HBM3)'."""
    device = str(summary.get("device"))
    gpu = (summary.get("environment") or {}).get("cuda")
    return f"{device} ({gpu})" if gpu and device.startswith("cuda") else device


def model_card(name: str, maskvat: dict[str, Any], stages: list[dict[str, Any]]) -> str:
    """A model card: what the model is, the exact commands and configs, and measured metrics."""
    lines = [f"# {name}", "",
             f"MaskVAT ({maskvat['model']['variant']}), {maskvat['parameters']:,} parameters, "
             f"d_model {maskvat['model']['d_model']}, {maskvat['model']['n_layers']} layers; trained on "
             f"{maskvat['cache_clips']} cached clips, windows of {maskvat['window']} code frames.", "",
             "## Training runs", ""]
    for s in [*stages, maskvat]:
        lines += stage_card(s)
    return "\n".join(lines)


def stage_card(s: dict[str, Any]) -> list[str]:
    """A model card's lines for one training run (its summary)."""
    import json

    if s.get("from_bundle"):  # reused: the bundle's config records the stage, not its config
        return [f"### {s['stage']}", "", f"- reused from the bundled model `{s['from_bundle']}`",
                f"- command there: `{s.get('command') or '(in-process)'}`",
                f"- steps: {s.get('step')}, {s.get('train_seconds')} s, {s.get('steps_per_s')} steps/s "
                f"on {stage_device(s)}", f"- validation: {json.dumps(s.get('val'))}", ""]
    return [f"### {s['stage']}", "", f"- command: `{s.get('command') or '(in-process)'}`",
            f"- steps: {s.get('step')} ({s.get('stopped')}), {s.get('train_seconds')} s, "
            f"{s.get('steps_per_s')} steps/s on {stage_device(s)} x{s.get('world_size')}",
            f"- final train metrics: {json.dumps(s.get('last'))}",
            f"- validation: {json.dumps(s.get('val'))}", "", "```json",
            json.dumps(s.get("config"), indent=1), "```", ""]
