"""Train the FoleyWorld audio-visual contrastive encoder and synchrony scorer.

Visual tower: the "foleyworld-av" extractor over frames at their own times, ``adapt_length`` to the
codec rate exactly as at inference (one leading context frame so frame differences match), then
the SyncNet visual head. Audio tower: SyncNet over log-mel frames at the codec rate.
InfoNCE on windows of ``window`` codec frames: the positive is the time-aligned visual window;
negatives are the same clip shifted by +/- min_shift..max_shift frames and the other clips of the
batch at the same position; both directions (audio->visual, visual->audio).
Output in ``<out>``: ``features/`` (extractor), ``scorer/`` (SyncNet), state, metrics, summary.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskvat_foley.core.train import dist as D
from maskvat_foley.core.train.common import RunOptions, folder_sha256, stage_summary, write_summary
from maskvat_foley.core.train.loop import LoopConfig, Trainer, from_dict
from maskvat_foley.core.train.sources import SAMPLE_RATE, ClipPool, FoleyWorldSource, make_source
from maskvat_foley.core.train.syncnet import SyncNet, SyncNetConfig, lagged_similarity, save_scorer

log = logging.getLogger(__name__)
HOP = 512  # every codec preset's hop: the codec frame rate is 44100/512
FRAME_RATE = Fraction(SAMPLE_RATE, HOP)


@dataclass
class AVSyncConfig:
    extractor: dict = field(default_factory=lambda: {"dim": 64, "width": 16, "depth": 4, "input_size": [64, 64]})
    syncnet: dict = field(default_factory=dict)
    data: dict = field(default_factory=lambda: {"type": "foleyworld", "n": 2048, "seconds": 3})
    val_data: dict = field(default_factory=lambda: {"type": "foleyworld", "split": "val", "n": 16})
    batch_size: int = 16
    crop_frames: int = 96
    window: int = 24
    min_shift: int = 3
    max_shift: int = 20
    temperature: float = 0.07
    pool_size: int = 64          # clips rendered per block of steps (kept in memory)
    pool_steps: int = 40         # steps that draw from one pool before the next is rendered
    init_extractor: str | None = None  # a features folder whose weights start the visual tower
    fixed_batch: bool = False
    init_seed: int = 0
    seed: int = 0
    # > 0: the visual tower also learns which frames hold a true event (a source that knows them:
    # FoleyWorld), from each frame's features and their change, so that an event changes the
    # features more than a camera's or a silent distractor's motion does; this weight on that loss
    event_weight: float = 0.0
    loop: LoopConfig = field(default_factory=LoopConfig)

    def __post_init__(self) -> None:
        if isinstance(self.loop, dict):
            self.loop = LoopConfig.from_dict(self.loop, "avsync.loop")
        if not 0 < self.min_shift <= self.max_shift or self.crop_frames < self.window + 2 * self.max_shift + 1:
            raise ValueError(f"avsync: need 0 < min_shift <= max_shift and crop_frames >= window + "
                             f"2*max_shift + 1 (got {self.min_shift}, {self.max_shift}, "
                             f"{self.crop_frames}, {self.window})")

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "AVSyncConfig":
        return from_dict(cls, d, "avsync config")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class AVModel(nn.Module):
    """Extractor (visual tower) + SyncNet (audio tower, visual head), trained together."""

    def __init__(self, extractor: nn.Module, net: SyncNet, event_head: bool = False) -> None:
        super().__init__()
        self.extractor, self.net = extractor, net
        # per frame: its features and their change since the frame before -> "an event starts here"
        self.event_head = nn.Linear(2 * extractor.dim, 1) if event_head else None

    def forward(self, frames: Tensor, spans: list[tuple[int, int, list[Fraction]]], wave: Tensor,
                n_frames: int) -> tuple[Tensor, Tensor, Tensor | None]:
        """Audio and visual embeddings, and with the event head its logit for each crop's frames
        (context frames dropped, in span order)."""
        feats = self.extractor(frames[None])[0]  # [sum N, D]
        from maskvat_foley.core.features.length import adapt_length

        cond = torch.stack([adapt_length(feats[a + 1:b], times, n_frames, FRAME_RATE)  # drop context
                            for a, b, times in spans])
        events = None
        if self.event_head is not None:
            own = torch.cat([feats[a + 1:b] for a, b, _ in spans])
            change = torch.cat([feats[a + 1:b] - feats[a:b - 1] for a, b, _ in spans])
            events = self.event_head(torch.cat([own, change], dim=1))[:, 0]
        return self.net.embed_audio(wave, SAMPLE_RATE, n_frames), self.net.embed_visual(cond), events


def event_labels(clip: Any, first: int, count: int) -> np.ndarray:
    """1.0 for each of the clip's frames [first, first+count) nearest to one of its true events
    (``clip.event_times``), else 0.0."""
    out = np.zeros(count, np.float32)
    times = np.array([float(t) for t in clip.frame_times])
    for t in clip.event_times or ():
        k = int(np.argmin(np.abs(times - float(t)))) - first
        if 0 <= k < count:
            out[k] = 1.0
    return out


def crop_item(clip: Any, c0: int, n: int) -> tuple[np.ndarray, np.ndarray, list[Fraction]]:
    """Audio of codec frames [c0, c0+n), the frames that cover them plus one context frame before
    (frame 0 repeated at the clip start: its difference is then zero, as at inference), and the
    covered frames' times relative to the crop start."""
    t0, t1 = Fraction(c0) / FRAME_RATE, Fraction(c0 + n - 1) / FRAME_RATE
    times = clip.frame_times
    k_a = first_frame(clip, c0)
    k_b = next((k for k, t in enumerate(times) if t > t1), len(times) - 1)
    rgb = with_context(clip.frames, k_a, k_b + 1 - k_a)
    audio = clip.audio[c0 * HOP:(c0 + n) * HOP]
    if len(audio) < n * HOP:
        audio = np.pad(audio, (0, n * HOP - len(audio)))
    return audio, rgb, [t - t0 for t in times[k_a:k_b + 1]]


def with_context(frames: np.ndarray, k0: int, n: int) -> np.ndarray:
    """Frames [k0, k0+n) with the frame before as context (frame 0 repeated at the clip start, so
    its difference is zero, as when a whole clip is extracted)."""
    ctx = frames[k0 - 1] if k0 > 0 else frames[0]
    return np.concatenate([ctx[None], frames[k0:k0 + n]])


def first_frame(clip: Any, c0: int) -> int:
    """The index of the first frame crop_item covers from codec frame ``c0`` (after its context frame)."""
    t0 = Fraction(c0) / FRAME_RATE
    return max(0, max((k for k, t in enumerate(clip.frame_times) if t <= t0), default=0))


def window_logits(ea: Tensor, ev: Tensor, anchors: Tensor, cfg: AVSyncConfig) -> Tensor:
    """Logits [N, C] of anchor windows of ``ea`` against candidate windows of ``ev``; column 0 is
    the aligned window, then same-clip shifts, then other clips at the same position."""
    b = ea.shape[0]
    shifts = torch.tensor([s for d in range(cfg.min_shift, cfg.max_shift + 1) for s in (d, -d)])
    idx_b = torch.arange(b)
    w = torch.arange(cfg.window)
    cand_b = torch.cat([idx_b[:, None], idx_b[:, None].expand(b, len(shifts)),
                        torch.stack([torch.cat([idx_b[:i], idx_b[i + 1:]]) for i in range(b)]) if b > 1
                        else torch.empty(b, 0, dtype=torch.long)], dim=1)          # [B, C]
    cand_t = torch.cat([anchors[:, None], anchors[:, None] + shifts[None],
                        anchors[:, None].expand(b, b - 1)], dim=1)                  # [B, C]
    a_win = ea[idx_b[:, None], anchors[:, None] + w]                                # [B, W, E]
    v_win = ev[cand_b[..., None], cand_t[..., None] + w]                            # [B, C, W, E]
    return torch.einsum("bwe,bcwe->bc", a_win, v_win) / cfg.window / cfg.temperature


def contrastive_loss(ea: Tensor, ev: Tensor, anchors: Tensor, cfg: AVSyncConfig) -> tuple[Tensor, dict[str, float]]:
    la, lv = window_logits(ea, ev, anchors, cfg), window_logits(ev, ea, anchors, cfg)
    zero = torch.zeros(ea.shape[0], dtype=torch.long, device=ea.device)
    loss = 0.5 * (F.cross_entropy(la, zero) + F.cross_entropy(lv, zero))
    n_shift = 2 * (cfg.max_shift - cfg.min_shift + 1)
    with torch.no_grad():
        acc = ((la.argmax(1) == 0).float().mean() + (lv.argmax(1) == 0).float().mean()) / 2
        shift_acc = (la[:, 0] > la[:, 1:1 + n_shift].max(1).values).float().mean()
    return loss, {"loss": float(loss.detach()), "acc": float(acc), "shift_acc": float(shift_acc)}


def event_loss(logits: Tensor, labels: Tensor) -> tuple[Tensor, dict[str, float]]:
    """Binary cross-entropy of the event head, its few event frames weighted up to the many others;
    logs the loss and the chance that an event frame outscores a frame without one (AUC; 0.5, chance,
    for a batch without events, so every step logs the same keys)."""
    pos = labels.sum()
    weight = ((labels.numel() - pos) / pos.clamp(min=1.0)).clamp(max=50.0)
    loss = F.binary_cross_entropy_with_logits(logits, labels, pos_weight=weight)
    with torch.no_grad():
        hit, miss = logits[labels > 0.5], logits[labels <= 0.5]
        auc = float((hit[:, None] > miss[None]).float().mean()) if hit.numel() and miss.numel() else 0.5
    return loss, {"event_loss": float(loss.detach()), "event_auc": auc}


def build_models(cfg: AVSyncConfig) -> AVModel:
    from maskvat_foley.core.features.base import create

    spec = dict(cfg.extractor)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.init_seed)
        ext = create(spec.pop("name", "foleyworld-av"), **spec)
        net = SyncNet(SyncNetConfig(**{"cond_dim": ext.dim, **cfg.syncnet}))
        model = AVModel(ext, net, event_head=cfg.event_weight > 0)
    if cfg.init_extractor:
        from maskvat_foley.core.train.warm_start import read_weights, warm_start

        state = read_weights(cfg.init_extractor)
        # an av-flow tower starts its CNN from a foleyworld-av folder (its names go under "cnn.")
        nested = hasattr(ext, "cnn") and not any(k.startswith("cnn.") for k in state)
        warm_start(ext, state, prefix="cnn." if nested else "")
    return model


class _Batches:
    """Step -> batch, a pure function of (seed, rank, step); clips come from a rotating pool."""

    def __init__(self, cfg: AVSyncConfig, source: Any, info: D.DistInfo) -> None:
        self.cfg, self.source, self.info = cfg, source, info
        self.pool = ClipPool(source, video=True, capacity=cfg.pool_size)

    def __call__(self, step: int, ext: nn.Module, device: torch.device):
        cfg = self.cfg
        step = 0 if cfg.fixed_batch else step
        block = D.step_rng(cfg.seed, self.info, step // cfg.pool_steps, stream=2)
        members = block.choice(len(self.source), size=min(cfg.pool_size, len(self.source)), replace=False)
        rng = D.step_rng(cfg.seed, self.info, step)
        waves, rgbs, spans, anchors, labels, at = [], [], [], [], [], 0
        for _ in range(cfg.batch_size):
            clip = self.pool.get(int(members[rng.integers(len(members))]))
            n_clip = len(clip.audio) // HOP
            c0 = int(rng.integers(max(1, n_clip - cfg.crop_frames + 1)))
            audio, rgb, times = crop_item(clip, c0, cfg.crop_frames)
            if cfg.event_weight > 0:
                labels.append(event_labels(clip, first_frame(clip, c0), len(times)))
            # Of 4 random anchors keep the one with the most audio change: silent windows teach nothing.
            cands = rng.integers(cfg.max_shift, cfg.crop_frames - cfg.window - cfg.max_shift + 1, size=4)
            env = np.sqrt(np.mean(audio.reshape(cfg.crop_frames, HOP) ** 2, axis=1) + 1e-12)
            flux = np.abs(np.diff(np.log(env), prepend=np.log(env[0])))
            anchors.append(int(max(cands, key=lambda t: flux[t:t + cfg.window].max())))
            waves.append(audio)
            rgbs.append(rgb)
            spans.append((at, at + len(rgb), times))
            at += len(rgb)
        frames = ext.to_input(np.concatenate(rgbs))
        wave = torch.from_numpy(np.stack(waves))[:, None]
        events = torch.from_numpy(np.concatenate(labels)).to(device) if labels else None
        return frames.to(device), spans, wave.to(device), torch.tensor(anchors), events


@torch.no_grad()
def evaluate_sync(model: AVModel, source: Any, delay_frames: int = 8, max_lag: int = 20) -> dict[str, float]:
    """On whole clips, with the inference path (extract + adapt_length): how often the aligned
    audio scores above the same audio delayed by ``delay_frames``, and the offset error in ms of
    the aligned and delayed versions."""
    from maskvat_foley.core.train.cache import codec_rate_features
    from maskvat_foley.core.train.syncnet import FoleyWorldAVScorer

    scorer = FoleyWorldAVScorer(model.net)
    wins, errs, frame_ms = [], [], 1000.0 * HOP / SAMPLE_RATE
    for i in range(len(source)):
        clip = source.get(i, video=True)
        n = len(clip.audio) // HOP
        cond = codec_rate_features(model.extractor, clip.frames, clip.frame_times, n, FRAME_RATE)[None]
        a = torch.from_numpy(clip.audio[:n * HOP].copy())[None, None]
        late = torch.roll(a, delay_frames * HOP, dims=-1)
        late[..., :delay_frames * HOP] = 0
        s = scorer.score(torch.cat([a, late]), SAMPLE_RATE, cond)
        wins.append(float(s[0] > s[1]))
        off = scorer.offset(torch.cat([a, late]), SAMPLE_RATE, cond, max_lag)
        errs += [abs(float(off[0])), abs(float(off[1]) - delay_frames * frame_ms)]
    model.train()
    return {"sync_win_rate": float(np.mean(wins)), "offset_mae_ms": float(np.mean(errs)), "clips": len(source)}


def train_avsync(cfg: AVSyncConfig, opts: RunOptions) -> dict[str, Any]:
    info = D.setup(opts.device)
    try:
        model = build_models(cfg)
        size = tuple(model.extractor.input_size)
        source = make_source(cfg.data, size, split="train")
        if cfg.event_weight > 0 and not isinstance(source, FoleyWorldSource):  # the one that knows its events
            raise ValueError("avsync: event_weight needs a data source that knows its events (foleyworld), "
                             f"not {cfg.data.get('type', 'foleyworld')!r}")
        val_src = make_source(cfg.val_data, size, split="val")
        batches = _Batches(cfg, source, info)

        def step_fn(step: int, wrapped: nn.Module):
            frames, spans, wave, anchors, events = batches(step, model.extractor, info.device)
            ea, ev, logits = wrapped(frames, spans, wave, cfg.crop_frames)
            loss, logs = contrastive_loss(ea, ev, anchors.to(ea.device), cfg)
            if logits is not None:
                ev_loss, ev_logs = event_loss(logits, events)
                loss = loss + cfg.event_weight * ev_loss
                logs = {**logs, **ev_logs, "loss": float(loss.detach())}
            return loss, logs

        trainer = Trainer(model, cfg.loop, opts.out, info, step_fn,
                          val_fn=lambda m: evaluate_sync(m, val_src), name="avsync", progress=opts.progress)
        result = trainer.run(**opts.loop_stops())
        summary: dict[str, Any] = {}
        if info.is_main:
            f_dir = model.extractor.save(opts.out / "features")
            s_dir = save_scorer(model.net, opts.out / "scorer")
            params = {"extractor": sum(p.numel() for p in model.extractor.parameters()),
                      "scorer": sum(p.numel() for p in model.net.parameters())}
            summary = stage_summary("avsync", opts, cfg, info, result, features_sha256=folder_sha256(f_dir),
                                    scorer_sha256=folder_sha256(s_dir), parameters=params)
            write_summary(opts.out, summary)
        D.barrier(info)
        return summary
    finally:
        D.cleanup(info)


__all__ = ["AVSyncConfig", "AVModel", "train_avsync", "evaluate_sync", "contrastive_loss", "event_loss",
           "window_logits", "crop_item", "with_context", "lagged_similarity"]
