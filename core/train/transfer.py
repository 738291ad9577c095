"""Teach a visual tower to see camera-like pictures as the bundle's tower sees FoleyWorld's.

FoleyWorld renders every clip in two looks from one seed: the classic look (flat shapes, a still
camera), which the bundled MaskVAT hears well, and the footage look (camera sizes, texture, light,
a moving and shaking camera, silent distractors, cuts, noise, compression), which it hardly hears
(docs/footage_experiment.md). Both hold the same events on the same frames. So a student tower can
learn, frame by frame, to give on the footage look what a frozen teacher (the bundle's tower) gives
on the classic look of the same clip: its features and their change from frame to frame. The
features then stay in the space the bundle's MaskVAT and synchrony scorer were trained on, and
neither needs training again (a MaskVAT continued on a CPU drifts off the bundle's sound).
A share of the crops shows the student the classic look itself, so what it does there stays the
teacher's.

Output in ``<out>``: ``features/`` (the student), ``scorer/`` (the teacher's folder's scorer, copied
when it has one: it reads the student's features as it reads the teacher's), state, metrics,
summary. ``train swap-tower`` (core/train/retower.py) puts the student into the teacher's bundle.
"""
from __future__ import annotations

import dataclasses
import functools
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskvat_foley.core.train import dist as D
from maskvat_foley.core.train.avsync import event_labels, with_context
from maskvat_foley.core.train.common import RunOptions, folder_sha256, stage_summary, write_summary
from maskvat_foley.core.train.loop import LoopConfig, Trainer, from_dict
from maskvat_foley.core.train.sources import FoleyWorldSource


@dataclass
class TransferConfig:
    teacher: str = "resources/default_model/features"  # a features folder, frozen
    init: str | None = None      # the student's first weights (None: the teacher's)
    # FoleyWorld clips (split, n, seconds, swish, ...); the looks are this stage's own
    data: dict = field(default_factory=lambda: {"n": 4096, "seconds": 3})
    val_data: dict = field(default_factory=lambda: {"split": "val", "n": 16, "seconds": 3})
    footage_share: float = 0.75  # crops the student sees filmed like footage; the rest classic
    change_weight: float = 1.0   # weight of the frame-to-frame change against the features' own
    # None: the footage look's target is the teacher on the classic look at every frame. A number
    # w: only within w frames of an event; elsewhere the teacher's own reading of the footage frames,
    # so the tower keeps following motion that makes no sound in FoleyWorld but does on real
    # footage (a talking head, a passing cyclist), and learns only to see the events.
    event_window: int | None = None
    batch_size: int = 16
    crop_frames: int = 32        # video frames a crop (plus one context frame)
    pool_size: int = 48          # clips (both looks) a batch draws from
    pool_refresh: int = 1        # clips of the pool replaced each step (rendered ahead by workers)
    seed: int = 0
    loop: LoopConfig = field(default_factory=LoopConfig)

    def __post_init__(self) -> None:
        if isinstance(self.loop, dict):
            self.loop = LoopConfig.from_dict(self.loop, "transfer.loop")
        if self.event_window is not None and (isinstance(self.event_window, bool) or
                                              not isinstance(self.event_window, int) or self.event_window < 0):
            raise ValueError(f"transfer: event_window must be null or a whole number of frames >= 0, "
                             f"got {self.event_window!r}")
        if not 0.0 <= self.footage_share <= 1.0 or self.change_weight < 0:
            raise ValueError(f"transfer: need 0 <= footage_share <= 1 and change_weight >= 0 "
                             f"(got {self.footage_share}, {self.change_weight})")
        if not (self.batch_size >= 1 and self.crop_frames >= 2 and self.pool_size >= self.pool_refresh >= 1):
            raise ValueError("transfer: need batch_size >= 1, crop_frames >= 2 and pool_size >= "
                             f"pool_refresh >= 1 (got {self.batch_size}, {self.crop_frames}, "
                             f"{self.pool_size}, {self.pool_refresh})")
        for name in ("data", "val_data"):
            spec = getattr(self, name)
            if not isinstance(spec, dict) or spec.get("type", "foleyworld") != "foleyworld" or "look" in spec:
                raise ValueError(f"transfer: {name} must be a FoleyWorld source without 'look' (the stage "
                                 f"films each clip both ways), got {spec!r}")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TransferConfig":
        return from_dict(cls, d, "transfer config")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class PairedClip:
    """One FoleyWorld seed in both looks, at the tower's input size, and what the student should
    give on each: the teacher's features of the classic look (``target``), and on the footage look
    those or, with an event window, those only around events (``footage_target``)."""

    footage: np.ndarray   # uint8 [N, H, W, 3]
    classic: np.ndarray   # uint8 [N, H, W, 3]
    target: Tensor        # float [N, D]
    footage_target: Tensor  # float [N, D]


class PairedFoleyWorld:
    """Clip ``i`` of a FoleyWorld source spec, filmed both ways, with its teacher target."""

    def __init__(self, spec: dict[str, Any], size: tuple[int, int], split: str, teacher: nn.Module,
                 event_window: int | None = None) -> None:
        self.spec = {k: v for k, v in spec.items() if k != "type"}
        self.spec.setdefault("split", split)
        self.size, self.teacher, self.event_window = tuple(size), teacher, event_window
        self.n = len(FoleyWorldSource(**{**self.spec, "size": self.size}))

    def __len__(self) -> int:
        return self.n

    def frames(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return render_pair(self.spec, self.size, index)

    def with_target(self, frames: tuple[np.ndarray, np.ndarray, np.ndarray]) -> PairedClip:
        classic, footage, events = frames
        target = self.teacher.extract(classic)
        if self.event_window is None:
            return PairedClip(footage, classic, target, target)
        near = torch.from_numpy(event_mask(len(classic), events, self.event_window))[:, None]
        return PairedClip(footage, classic, target, torch.where(near, target, self.teacher.extract(footage)))

    def get(self, index: int) -> PairedClip:
        return self.with_target(self.frames(index))

    def describe(self) -> dict[str, Any]:
        return FoleyWorldSource(**{**self.spec, "size": self.size, "look": "footage"}).describe()


def render_pair(spec: dict[str, Any], size: tuple[int, int], index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Clip ``index`` of the FoleyWorld source ``spec``: its classic and its footage frames, both at
    ``size``, and the frames its events happen on (module level, so worker processes can make it)."""
    classic, footage = (FoleyWorldSource(**{**spec, "size": size, "look": look}).get(index)
                        for look in ("classic", "footage"))
    if len(classic.frames) != len(footage.frames):  # the looks film one plan; guard the premise
        raise RuntimeError(f"transfer: clip {index} has {len(classic.frames)} classic and "
                           f"{len(footage.frames)} footage frames")
    events = np.flatnonzero(event_labels(classic, 0, len(classic.frames)))  # the avsync event head's frames
    return classic.frames, footage.frames, events


def event_mask(n: int, events: np.ndarray, window: int) -> np.ndarray:
    """bool [n]: frames within ``window`` frames of an event frame."""
    mask = np.zeros(n, dtype=bool)
    for f in np.asarray(events, dtype=np.int64):
        mask[max(0, f - window):f + window + 1] = True  # a slice past n stops at n
    return mask


def transfer_loss(student: Tensor, target: Tensor, change_weight: float) -> tuple[Tensor, dict[str, float]]:
    """Squared error of the features [B, N, D] and, weighted, of their change frame to frame (what
    MaskVAT times its sounds by)."""
    own = F.mse_loss(student, target)
    change = F.mse_loss(student.diff(dim=1), target.diff(dim=1))
    loss = own + change_weight * change
    return loss, {"loss": float(loss.detach()), "feature_mse": float(own.detach()),
                  "change_mse": float(change.detach())}


class _Batches:
    """Step -> (student frames, teacher target, how many crops are footage): a pure function of
    (seed, rank, step). Step ``s`` draws from the clips ``s * pool_refresh`` to that plus
    ``pool_size`` (of this rank's share), so each step brings ``pool_refresh`` new clips, which
    worker processes render ahead (``MASKVAT_FOLEY_DATA_WORKERS``) while the tower trains."""

    def __init__(self, cfg: TransferConfig, pairs: PairedFoleyWorld, info: D.DistInfo) -> None:
        from maskvat_foley.core.train.workers import StepFeed, render_workers

        self.cfg, self.pairs, self.info = cfg, pairs, info
        self._pool: dict[int, PairedClip] = {}
        make = functools.partial(_render_nth, pairs.spec, pairs.size, len(pairs), info.world_size, info.rank)
        self.feed = StepFeed(make, render_workers(info))

    def clip(self, ordinal: int) -> PairedClip:
        if ordinal not in self._pool:
            self._pool[ordinal] = self.pairs.with_target(self.feed(ordinal))
        return self._pool[ordinal]

    def __call__(self, step: int, ext: nn.Module, device: torch.device) -> tuple[Tensor, Tensor, int]:
        cfg = self.cfg
        first = step * cfg.pool_refresh
        members = range(first, first + min(cfg.pool_size, len(self.pairs)))
        for old in [k for k in self._pool if k not in members]:
            del self._pool[old]
        pool = [self.clip(k) for k in members]  # in order: the feed renders ahead in this order
        rng = D.step_rng(cfg.seed, self.info, step)
        rgbs, targets, filmed = [], [], 0
        for _ in range(cfg.batch_size):
            pair = pool[int(rng.integers(len(pool)))]
            n = min(cfg.crop_frames, len(pair.classic))
            k0 = int(rng.integers(len(pair.classic) - n + 1))
            footage = bool(rng.random() < cfg.footage_share)
            filmed += footage
            rgbs.append(ext.to_input(with_context(pair.footage if footage else pair.classic, k0, n)))
            targets.append((pair.footage_target if footage else pair.target)[k0:k0 + n])
        n = min(len(t) for t in targets)  # a clip shorter than the crop shortens the batch's crops
        frames = torch.stack([r[:n + 1] for r in rgbs])  # with each crop's context frame
        target = torch.stack([t[:n] for t in targets])
        return frames.to(device), target.to(device), filmed

    def close(self) -> None:
        self.feed.close()


def _render_nth(spec: dict[str, Any], size: tuple[int, int], n: int, world: int, rank: int,
                ordinal: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The ``ordinal``-th clip of a rank's share of the source, both looks."""
    return render_pair(spec, size, (ordinal * world + rank) % n)


@torch.no_grad()
def evaluate_transfer(student: nn.Module, pairs: PairedFoleyWorld) -> dict[str, float]:
    """On whole validation clips, each look: the student's squared error to its target (the
    teacher's classic features; on the footage look with an event window, those near events and
    the teacher's own reading elsewhere), and the correlation of their frame-to-frame change norms
    (does the student's change rise where the target's does)."""
    out: dict[str, list[float]] = {}
    for i in range(len(pairs)):
        pair = pairs.get(i)
        for look, target in (("footage", pair.footage_target), ("classic", pair.target)):
            f = student.extract(getattr(pair, look))
            t_change = target.diff(dim=0).norm(dim=1)
            out.setdefault(f"{look}_mse", []).append(float(F.mse_loss(f, target)))
            s_change = f.diff(dim=0).norm(dim=1)
            if len(s_change) > 2 and float(s_change.std()) > 0 and float(t_change.std()) > 0:
                r = torch.corrcoef(torch.stack([s_change, t_change]))[0, 1]
                out.setdefault(f"{look}_change_r", []).append(float(r))
    student.train()
    return {**{k: float(np.mean(v)) for k, v in out.items()}, "clips": len(pairs)}


def build_student(cfg: TransferConfig) -> tuple[nn.Module, nn.Module]:
    """(student, frozen teacher): the student starts from ``init`` or the teacher's weights."""
    from maskvat_foley.core.features.base import load_extractor

    teacher = load_extractor(cfg.teacher)
    student = load_extractor(cfg.init or cfg.teacher)
    if (student.name, student.dim, tuple(student.input_size)) != (teacher.name, teacher.dim, tuple(teacher.input_size)):
        raise ValueError(f"transfer: the student ({student.name}, dim {student.dim}, {student.input_size}) "
                         f"must be the teacher's kind of tower ({teacher.name}, dim {teacher.dim}, "
                         f"{teacher.input_size})")
    teacher.eval().requires_grad_(False)
    return student.float(), teacher.float()


def train_transfer(cfg: TransferConfig, opts: RunOptions) -> dict[str, Any]:
    info = D.setup(opts.device)
    try:
        student, teacher = build_student(cfg)
        size = tuple(student.input_size)
        pairs = PairedFoleyWorld(cfg.data, size, "train", teacher, cfg.event_window)
        val_pairs = PairedFoleyWorld(cfg.val_data, size, "val", teacher, cfg.event_window)
        batches = _Batches(cfg, pairs, info)

        def step_fn(step: int, wrapped: nn.Module):
            frames, target, filmed = batches(step, student, info.device)
            loss, logs = transfer_loss(wrapped(frames)[:, 1:], target, cfg.change_weight)
            return loss, {**logs, "footage_share": filmed / cfg.batch_size}

        trainer = Trainer(student, cfg.loop, opts.out, info, step_fn,
                          val_fn=lambda m: evaluate_transfer(m, val_pairs), name="transfer",
                          progress=opts.progress)
        try:
            result = trainer.run(**opts.loop_stops())
        finally:
            batches.close()
        summary: dict[str, Any] = {}
        if info.is_main:
            f_dir = student.save(opts.out / "features")
            scorer = Path(cfg.teacher).parent / "scorer"  # the teacher's features' own scorer reads ours
            if scorer.is_dir():
                shutil.copytree(scorer, opts.out / "scorer", dirs_exist_ok=True)
            summary = stage_summary("transfer", opts, cfg, info, result, features_sha256=folder_sha256(f_dir),
                                    teacher_sha256=folder_sha256(cfg.teacher),
                                    data=pairs.describe())
            write_summary(opts.out, summary)
        D.barrier(info)
        return summary
    finally:
        D.cleanup(info)


__all__ = ["TransferConfig", "PairedClip", "PairedFoleyWorld", "train_transfer", "transfer_loss",
           "evaluate_transfer"]
