"""Beam selection: several candidates per take, ranked by an audio-visual synchrony scorer.

``OnsetMotionScorer`` ("onset-motion") needs no parameters: it correlates the audio's onset
envelope (spectral flux) with the visual motion energy (frame-to-frame change of the visual
features), both at the codec frame rate, so beam selection works before a trained scorer exists.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import Tensor

from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.core.model.long import fill
from maskvat_foley.core.model.sampler import Generators


@runtime_checkable
class SyncScorer(Protocol):
    name: str

    def score(self, wave: Tensor, sample_rate: int, visual: Tensor) -> Tensor:
        """Synchrony of wave [B,1,T] with visual features [B or 1,F,D] over the same span: [B]."""
        ...


def _smooth(x: Tensor, width: int) -> Tensor:
    if width <= 1:
        return x
    return F.avg_pool1d(x.unsqueeze(1), width, 1, width // 2, count_include_pad=False).squeeze(1)[..., :x.shape[-1]]


def _pearson(a: Tensor, b: Tensor, eps: float = 1e-8) -> Tensor:
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    return (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1) + eps)


def onset_envelope(wave: Tensor, sample_rate: int, n_frames: int) -> Tensor:
    """Spectral flux of wave [B,1,T] pooled into n_frames equal spans: [B,F]."""
    x = wave.float().reshape(wave.shape[0], -1)
    t = x.shape[-1]
    if t < n_frames:
        raise ValueError(f"{t} samples are too few for {n_frames} frames")
    span = t / n_frames
    n_fft = int(min(4096, max(64, 2 ** math.ceil(math.log2(max(2.0, 2 * span))))))
    hop = max(1, n_fft // 4)
    spec = torch.stft(x, n_fft, hop, window=torch.hann_window(n_fft, device=x.device),
                      return_complex=True, center=True).abs()
    spec = torch.log1p(spec * 100.0)
    flux = F.relu(spec[..., 1:] - spec[..., :-1]).sum(1)
    flux = torch.cat([torch.zeros_like(flux[:, :1]), flux], dim=1)                # [B,columns]
    col = (torch.arange(flux.shape[1], device=x.device) * hop * n_frames // t).clamp(max=n_frames - 1)
    out = torch.zeros(x.shape[0], n_frames, device=x.device).index_add_(1, col, flux)
    count = torch.zeros(n_frames, device=x.device).index_add_(0, col, torch.ones_like(col, dtype=torch.float))
    return out / count.clamp(min=1)


def motion_energy(visual: Tensor) -> Tensor:
    """Frame-to-frame change of visual features [B,F,D]: [B,F] (frame 0 repeats frame 1's)."""
    v = visual.float()
    d = (v[:, 1:] - v[:, :-1]).norm(dim=-1)
    return torch.cat([d[:, :1], d], dim=1) if d.shape[1] else torch.zeros(v.shape[:2], device=v.device)


@dataclass
class OnsetMotionScorer:
    """Pearson correlation in [-1, 1] between onset envelope and motion energy (smoothed)."""

    smooth: int = 3
    name: str = "onset-motion"

    def score(self, wave: Tensor, sample_rate: int, visual: Tensor) -> Tensor:
        if wave.dim() != 3 or visual.dim() != 3 or visual.shape[0] not in (1, wave.shape[0]):
            raise ValueError(f"scorer needs wave [B,1,T] and visual [B or 1,F,D], got "
                             f"{tuple(wave.shape)} and {tuple(visual.shape)}")
        n = visual.shape[1]
        onset = _smooth(onset_envelope(wave, sample_rate, n), self.smooth)
        motion = _smooth(motion_energy(visual.to(wave.device)), self.smooth).expand_as(onset)
        return _pearson(onset, motion)


SCORERS: dict[str, Callable[..., SyncScorer]] = {"onset-motion": OnsetMotionScorer}


def _foleyworld_av(path: str | None = None, device: Any = "cpu") -> SyncScorer:
    """The trained FoleyWorld audio-visual scorer, read from its folder (a checkpoint's scorer/)."""
    if path is None:
        raise ValueError("synchrony scorer 'foleyworld-av' is trained: it needs the path of its folder")
    from maskvat_foley.core.train.syncnet import load_scorer

    return load_scorer(path, device=device)


SCORERS["foleyworld-av"] = _foleyworld_av


def create_scorer(name: str, **kw: Any) -> SyncScorer:
    if name not in SCORERS:
        raise ValueError(f"unknown synchrony scorer {name!r}; known: {sorted(SCORERS)}")
    return SCORERS[name](**kw)


def beam_select(candidates: Tensor, scores: Tensor) -> Tensor:
    """Index of the best candidate per take: candidates [n,beam,...], scores [n,beam] -> [n]."""
    if scores.dim() != 2 or candidates.shape[:2] != scores.shape:
        raise ValueError(f"scores {tuple(scores.shape)} must be [n,beam] matching candidates "
                         f"{tuple(candidates.shape)}")
    if bool(torch.isnan(scores).any()):
        raise ValueError("synchrony scores contain NaN")
    return scores.argmax(dim=1)


def split_generators(gens: Generators, n_takes: int, beam: int,
                     device: torch.device) -> list[torch.Generator] | torch.Generator | None:
    """One generator per candidate, derived from each take's generator (beam 1: the take's own)."""
    if beam == 1 or gens is None:
        return gens
    takes = [gens] * n_takes if isinstance(gens, torch.Generator) else list(gens)
    if len(takes) != n_takes:
        raise ValueError(f"got {len(takes)} generators for {n_takes} takes")
    out = []
    for g in takes:
        seeds = torch.randint(0, 2 ** 62, (beam,), generator=g, device=g.device).tolist()
        out += [torch.Generator(device=device).manual_seed(s) for s in seeds]
    return out


@dataclass
class BeamResult:
    codes: Tensor            # [n,K,F] the chosen candidate of each take
    scores: Tensor | None    # [n] its synchrony score (None without a scorer)
    all_scores: Tensor | None  # [n,beam]
    chosen: Tensor           # [n] index of the chosen candidate


def sample_with_beam(model: torch.nn.Module, cond: Tensor, *, n_takes: int = 1, beam: int = GenerationParams.beam,
                     scorer: SyncScorer | None = None, decode: Callable[[Tensor], Tensor] | None = None,
                     sample_rate: int | None = None, visual: Tensor | None = None,
                     generator: Generators = None, fixed: Tensor | None = None,
                     **kw: Any) -> BeamResult:
    """``beam`` candidates per take (one batch), decoded with ``decode`` (codes -> wave [N,1,T] at
    ``sample_rate``), scored against ``visual`` (default: cond), best kept per take.

    Extra keyword arguments go to long.fill (steps, guidance, temperature, window, overlap, on_step,
    cancel, reference, ref_guidance: one reference for every take and candidate).
    """
    if beam < 1:
        raise ValueError(f"beam must be >= 1, got {beam}")
    if (beam > 1 or scorer is not None) and (scorer is None or decode is None or sample_rate is None):
        raise ValueError("beam selection needs a scorer, a decode function and the sample rate")
    device = next(model.parameters()).device
    gens = split_generators(generator, n_takes, beam, device)
    k, n = model.config.n_codebooks, cond.shape[1]
    if fixed is None:
        fixed = torch.full((1, k, n), model.config.mask_id, dtype=torch.long)
    elif fixed.shape[0] == n_takes and beam > 1:
        fixed = fixed.repeat_interleave(beam, dim=0)
    cond_all = cond.repeat_interleave(beam, dim=0) if cond.shape[0] == n_takes > 1 else cond
    codes = fill(model, cond_all, fixed, n_takes=n_takes * beam, generator=gens, **kw)
    codes = codes.view(n_takes, beam, k, n)
    if scorer is None:
        return BeamResult(codes[:, 0], None, None, torch.zeros(n_takes, dtype=torch.long))
    with torch.no_grad():
        wave = decode(codes.flatten(0, 1))
        vis = cond if visual is None else visual
        vis = vis.repeat_interleave(beam, dim=0) if vis.shape[0] == n_takes > 1 else vis
        scores = scorer.score(wave, sample_rate, vis).view(n_takes, beam).float().cpu()
    best = beam_select(codes, scores)
    pick = torch.arange(n_takes)
    return BeamResult(codes[pick, best], scores[pick, best], scores, best)
