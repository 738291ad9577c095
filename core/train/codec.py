"""Train a DAC-class codec on FoleyWorld (or video folder) audio.

Batches: random crops (``crop_seconds``, whole code frames) of clips rendered audio-only on the fly.
Batches may carry synthetic ringing tones (``tone_prob``, core/train/tones.py).
Losses: multi-scale mel L1 + waveform L1 + multi-scale STFT + DAC's commitment and codebook losses;
optionally adversarial + feature matching with DAC's own ``Discriminator`` (``adversarial``).
Output in ``<out>``: ``codec/`` (Tokenizer.save), ``state/``, ``metrics.jsonl``, ``summary.json``.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from maskvat_foley.core.train import dist as D
from maskvat_foley.core.train.codebooks import CodebookRefresher
from maskvat_foley.core.train.common import RunOptions, folder_sha256, stage_summary, write_summary
from maskvat_foley.core.train.loop import LoopConfig, Trainer, from_dict
from maskvat_foley.core.train.losses import multiscale_mel_l1, multiscale_stft_l1, si_sdr, spectral_convergence
from maskvat_foley.core.train.sources import SAMPLE_RATE, make_source
from maskvat_foley.core.train.tones import add_tones
from maskvat_foley.core.train.workers import StepFeed, render_workers

log = logging.getLogger(__name__)


@dataclass
class CodecTrainConfig:
    codec: Any = "small"                       # a CODEC_PRESETS name or a CodecConfig dict
    init_seed: int = 0
    seed: int = 0
    data: dict = field(default_factory=lambda: {"type": "foleyworld", "n": 4096})
    val_data: dict = field(default_factory=lambda: {"type": "foleyworld", "split": "val", "n": 8})
    crop_seconds: tuple[float, float] = (0.5, 1.0)
    crop_buckets: int = 3                      # distinct crop lengths between the two bounds
    batch_size: int = 8
    val_seconds: float = 2.0
    fixed_batch: bool = False                  # every step the same batch (overfitting checks)
    mel_weight: float = 15.0
    wave_weight: float = 1.0
    stft_weight: float = 1.0
    sc_weight: float = 0.0                     # linear-magnitude spectral convergence (the level)
    tone_prob: float = 0.0                     # share of crops given ringing tones (core/train/tones)
    sc_per_item: bool = False                  # spectral convergence per crop (measured worse: docs/codec.md)
    commitment_weight: float = 0.25
    codebook_weight: float = 1.0
    adversarial: bool = False                  # DAC's discriminator (slow on a CPU)
    adv_weight: float = 1.0
    feature_weight: float = 2.0
    disc_lr: float = 1e-4
    refresh_every: int = 10                    # re-seed unused codes every N steps (0: never)
    loop: LoopConfig = field(default_factory=LoopConfig)

    def __post_init__(self) -> None:
        if isinstance(self.loop, dict):
            self.loop = LoopConfig.from_dict(self.loop, "codec.loop")
        if self.loop.accumulate != 1:  # the code refresh and the discriminator count batches
            raise ValueError("codec.loop: accumulate is for MaskVAT and the synchrony towers; "
                             "raise the codec's batch_size instead")
        lo, hi = (float(v) for v in self.crop_seconds)
        if not 0 <= self.tone_prob <= 1:
            raise ValueError(f"codec: tone_prob {self.tone_prob} must be between 0 and 1")
        if not 0 < lo <= hi or self.batch_size < 1:
            raise ValueError(f"codec: crop_seconds {self.crop_seconds} must be 0 < lo <= hi and "
                             f"batch_size {self.batch_size} >= 1")
        self.crop_seconds = (lo, hi)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CodecTrainConfig":
        return from_dict(cls, d, "codec config")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def new_tokenizer(spec: Any, seed: int):
    from maskvat_foley.core.codec.config import CODEC_PRESETS, CodecConfig
    from maskvat_foley.core.codec.tokenizer import Tokenizer

    if isinstance(spec, dict):
        return Tokenizer(CodecConfig.from_dict(spec, source="codec.codec"), seed=seed)
    if spec not in CODEC_PRESETS:
        raise ValueError(f"codec: unknown codec preset {spec!r}; expected one of {sorted(CODEC_PRESETS)} "
                         "or a CodecConfig object")
    return Tokenizer(CODEC_PRESETS[spec], seed=seed)


def step_batch(source: Any, cfg: CodecTrainConfig, info: D.DistInfo, hop: int, step: int) -> np.ndarray:
    """The crops of one step on one rank: a pure function of the step (fixed_batch: step 0's), so
    worker processes make exactly the batch the training process would."""
    rng = D.step_rng(cfg.seed, info, 0 if cfg.fixed_batch else step)
    return audio_batch(source, cfg, rng, hop)


def audio_batch(source: Any, cfg: CodecTrainConfig, rng: np.random.Generator, hop: int) -> np.ndarray:
    """[B, 1, T] crops, T a whole number of code frames drawn from crop_seconds."""
    lo, hi = (max(1, round(s * SAMPLE_RATE / hop)) for s in cfg.crop_seconds)
    # A few distinct lengths only: DAC's TorchScript Snake re-optimises for every new input shape.
    lengths = sorted({round(lo + (hi - lo) * i / max(1, cfg.crop_buckets - 1)) for i in range(cfg.crop_buckets)})
    t = int(lengths[int(rng.integers(len(lengths)))]) * hop
    out = np.zeros((cfg.batch_size, 1, t), dtype=np.float32)
    for b in range(cfg.batch_size):
        audio = source.get(int(rng.integers(len(source))), video=False).audio
        if len(audio) > t:
            s = int(rng.integers(len(audio) - t + 1))
            out[b, 0] = audio[s:s + t]
        else:
            out[b, 0, :len(audio)] = audio
    return add_tones(out, cfg.tone_prob, rng)


class _Adversary:
    """DAC's discriminator, its optimizer, and the LSGAN + feature-matching losses."""

    def __init__(self, sample_rate: int, lr: float, info: D.DistInfo) -> None:
        from dac.model.discriminator import Discriminator

        self.disc = Discriminator(sample_rate=sample_rate).to(info.device)
        self.wrapped = D.wrap_model(self.disc, info)
        self.opt = torch.optim.AdamW(self.disc.parameters(), lr=lr, betas=(0.8, 0.99))

    def state_dict(self) -> dict[str, Any]:
        return {"disc": self.disc.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, s: dict[str, Any]) -> None:
        self.disc.load_state_dict(s["disc"])
        self.opt.load_state_dict(s["opt"])

    def update(self, fake: torch.Tensor, real: torch.Tensor) -> float:
        loss = 0.0
        for f_, r_ in zip(self.wrapped(fake.detach()), self.wrapped(real)):
            loss = loss + torch.mean(f_[-1] ** 2) + torch.mean((1 - r_[-1]) ** 2)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return float(loss)

    def generator_losses(self, fake: torch.Tensor, real: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        adv, feat = fake.new_zeros(()), fake.new_zeros(())
        with torch.no_grad():
            d_real = self.wrapped(real)
        for f_, r_ in zip(self.wrapped(fake), d_real):
            adv = adv + torch.mean((1 - f_[-1]) ** 2)
            feat = feat + sum(F.l1_loss(a, b) for a, b in zip(f_[:-1], r_[:-1]))
        return adv, feat


@torch.no_grad()
def evaluate_codec(tok: Any, source: Any, seconds: float) -> dict[str, float]:
    """Encode -> decode on the first ``seconds`` of each clip: SI-SDR (dB), log-mel L1 distance,
    the level of the round trip against the truth (median dB of RMS), the round trip's level in the
    truth's silent stretches (a constant band shows there), and the codebooks' perplexity (a
    collapsed codebook, one code for every frame, is 1)."""
    from maskvat_foley.core.train.cache import code_perplexity

    tok.eval()
    sdr, mel, level, floor, codes = [], [], [], [], []
    n = max(tok.hop, round(seconds * SAMPLE_RATE) // tok.hop * tok.hop)
    for i in range(len(source)):
        audio = torch.from_numpy(source.get(i, video=False).audio[:n].copy())[None, None]
        c = tok.encode(audio)
        codes.append(c[0].cpu())
        rec = tok.decode(c)[..., :audio.shape[-1]].float().cpu()
        sdr.append(float(si_sdr(rec, audio)[0]))
        mel.append(float(multiscale_mel_l1(rec, audio, tok.sample_rate)))
        level.append(_db(rec) - _db(audio))
        silent = _block_db(audio) < SILENT_DBFS
        if silent.any():
            floor.append(float(_block_db(rec)[silent].mean()))
    perplexity = code_perplexity(torch.cat(codes, dim=1), tok.codebook_size)
    return {"si_sdr_db": float(np.mean(sdr)), "mel_distance": float(np.mean(mel)),
            "level_db": float(np.median(level)),
            "silence_dbfs": float(np.mean(floor)) if floor else None,
            "code_perplexity_min": float(perplexity.min()),
            "code_perplexity_mean": float(perplexity.mean()), "clips": len(source)}


SILENT_DBFS = -60.0  # a block of the truth quieter than this is silence


def _db(x: torch.Tensor) -> float:
    return float(10 * torch.log10(x.double().square().mean() + 1e-20))


def _block_db(x: torch.Tensor, block: int = 2048) -> np.ndarray:
    """Level (dBFS) of each whole ``block`` of samples."""
    flat = x.reshape(-1)
    flat = flat[:len(flat) // block * block].double().reshape(-1, block)
    return (10 * torch.log10(flat.square().mean(dim=1) + 1e-20)).numpy()


def train_codec(cfg: CodecTrainConfig, opts: RunOptions) -> dict[str, Any]:
    info = D.setup(opts.device)
    try:
        tok = new_tokenizer(cfg.codec, cfg.init_seed)
        sr, hop = tok.sample_rate, tok.hop
        train_src = make_source(cfg.data, split="train")
        val_src = make_source(cfg.val_data, split="val")
        adv = _Adversary(sr, cfg.disc_lr, info) if cfg.adversarial else None
        refresher = CodebookRefresher(tok.model.quantizer) if cfg.refresh_every > 0 else None

        workers = render_workers(info)
        feed = StepFeed(functools.partial(step_batch, train_src, cfg, info, hop), workers)
        if workers:
            log.info("codec: %d processes render the batches", workers)

        def step_fn(step: int, model: nn.Module):
            x = torch.from_numpy(feed(step)).to(info.device)
            refreshed = None
            if refresher is not None and step % cfg.refresh_every == 0:
                with torch.no_grad():
                    z = tok.model.encoder(x)
                refreshed = refresher.refresh(z, D.step_generator(cfg.seed, info, step))
                D.broadcast_from_main([q.codebook.weight for q in tok.model.quantizer.quantizers], info)
            out = model(x, sr)
            if refresher is not None:
                refresher.observe(out["codes"].detach())
            y = out["audio"][..., :x.shape[-1]]
            parts = {"mel": multiscale_mel_l1(y, x, sr), "wave": F.l1_loss(y, x),
                     "stft": multiscale_stft_l1(y, x), "commitment": out["vq/commitment_loss"].mean(),
                     "codebook": out["vq/codebook_loss"].mean()}
            loss = (cfg.mel_weight * parts["mel"] + cfg.wave_weight * parts["wave"]
                    + cfg.stft_weight * parts["stft"] + cfg.commitment_weight * parts["commitment"]
                    + cfg.codebook_weight * parts["codebook"])
            if cfg.sc_weight:
                parts["convergence"] = spectral_convergence(y, x, per_item=cfg.sc_per_item)
                loss = loss + cfg.sc_weight * parts["convergence"]
            metrics = {k: float(v.detach()) for k, v in parts.items()}
            if refreshed is not None:
                metrics["codes_refreshed"] = float(sum(refreshed))
            if adv is not None:
                metrics["disc"] = adv.update(y, x)
                g_adv, g_feat = adv.generator_losses(y, x)
                loss = loss + cfg.adv_weight * g_adv + cfg.feature_weight * g_feat
                metrics.update(adv=float(g_adv), feature=float(g_feat))
            metrics["loss"] = float(loss.detach())
            return loss, metrics

        trainer = Trainer(tok.model, cfg.loop, opts.out, info, step_fn,
                          val_fn=lambda m: evaluate_codec(tok, val_src, cfg.val_seconds),
                          extra={k: v for k, v in (("adversary", adv), ("codebooks", refresher))
                                 if v is not None} or None, name="codec",
                          progress=opts.progress)
        with feed:
            result = trainer.run(**opts.loop_stops())
        summary: dict[str, Any] = {}
        if info.is_main:
            codec_dir = tok.save(opts.out / "codec")
            summary = stage_summary("codec", opts, cfg, info, result, codec=tok.config.to_dict(),
                                    codec_sha256=folder_sha256(codec_dir), data_workers=workers,
                                    parameters=sum(p.numel() for p in tok.model.parameters()))
            write_summary(opts.out, summary)
        D.barrier(info)
        return summary
    finally:
        D.cleanup(info)
