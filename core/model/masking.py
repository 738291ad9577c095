"""Training masks over the [K,F] token grid, with the cosine schedule r = cos(pi/2 * u), u ~ U(0,1).

Two mask shapes, both masking round-up(r*K*F) cells so the ratio follows the cosine schedule:
- uniform: random cells of all codebooks (MaskGIT).
- levels:  the states the coarse-first sampler visits (VampNet/SoundStorm style): the finest
           codebooks fully masked, one codebook partially masked, the coarser ones given.
"mixed" picks one of the two per sample (levels with ``levels_prob``), so the model sees both.

With ``context_prob`` a share of the samples also get whole frames given in every codebook (the
states of continuation windows and region regeneration): only a span [a, b) stays maskable, a
suffix (continuation) or an inner span (region).
"""
from __future__ import annotations

import math

import torch
from torch import Tensor


def cosine_schedule(u: Tensor) -> Tensor:
    """Mask ratio for progress u in [0,1]: 1 at u=0, 0 at u=1; mean over U(0,1) is 2/pi."""
    return torch.cos(math.pi / 2 * u)


def sample_ratios(batch: int, *, generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu") -> Tensor:
    u = torch.rand(batch, generator=generator, device=device)
    return cosine_schedule(u)


def _counts(ratio: Tensor, cells: int) -> Tensor:
    """Masked cells per sample: ceil(r*cells), at least one so every sample has a loss term."""
    return (ratio * cells).ceil().long().clamp(1, cells)


def uniform_mask(ratio: Tensor, n_codebooks: int, n_frames: int, *,
                 generator: torch.Generator | None = None) -> Tensor:
    """bool [B,K,F]: ceil(r*K*F) random cells per sample."""
    b, cells = ratio.shape[0], n_codebooks * n_frames
    scores = torch.rand(b, cells, generator=generator, device=ratio.device)
    ranks = scores.argsort(dim=1).argsort(dim=1)
    return (ranks < _counts(ratio, cells)[:, None]).view(b, n_codebooks, n_frames)


def level_mask(ratio: Tensor, n_codebooks: int, n_frames: int, *,
               generator: torch.Generator | None = None) -> Tensor:
    """bool [B,K,F]: the finest codebooks fully masked, then random frames of the next coarser one."""
    b = ratio.shape[0]
    count = _counts(ratio, n_codebooks * n_frames)
    full = count // n_frames                       # fully masked finest codebooks
    partial = count - full * n_frames              # masked frames of codebook K-1-full
    level = torch.arange(n_codebooks, device=ratio.device).view(1, -1, 1)
    mask = level >= (n_codebooks - full).view(b, 1, 1)
    scores = torch.rand(b, n_frames, generator=generator, device=ratio.device)
    frame_pick = scores.argsort(dim=1).argsort(dim=1) < partial[:, None]          # [B,F]
    at_level = level == (n_codebooks - 1 - full).view(b, 1, 1)
    return (mask | (at_level & frame_pick[:, None, :])).expand(b, n_codebooks, n_frames).clone()


def context_spans(batch: int, n_frames: int, prob: float, *,
                  generator: torch.Generator | None = None,
                  device: torch.device | str = "cpu") -> Tensor:
    """bool [B,F]: frames that may be masked. With probability ``prob`` a sample keeps only a
    suffix (half of those) or an inner span maskable; the other frames are given context."""
    u = torch.rand(batch, 4, generator=generator, device=device)
    f = torch.arange(n_frames, device=device).view(1, -1)
    a = (u[:, 1] * n_frames / 2).long().view(-1, 1)                     # context before the span
    length = (1 + u[:, 2] * (n_frames - a.view(-1))).long().clamp(max=n_frames).view(-1, 1)
    suffix = (u[:, 3] < 0.5).view(-1, 1)
    b = torch.where(suffix, torch.full_like(a, n_frames), (a + length).clamp(max=n_frames))
    span = (f >= a) & (f < b)
    return torch.where((u[:, 0] < prob).view(-1, 1), span, torch.ones_like(span))


def random_mask(mode: str, batch: int, n_codebooks: int, n_frames: int, *,
                generator: torch.Generator | None = None, device: torch.device | str = "cpu",
                context_prob: float = 0.0, levels_prob: float = 0.5) -> tuple[Tensor, Tensor]:
    """(mask bool [B,K,F], drawn ratios [B]) for mask mode "uniform" | "levels" | "mixed"."""
    ratio = sample_ratios(batch, generator=generator, device=device)
    if mode == "uniform":
        mask = uniform_mask(ratio, n_codebooks, n_frames, generator=generator)
    elif mode == "levels":
        mask = level_mask(ratio, n_codebooks, n_frames, generator=generator)
    elif mode == "mixed":
        pick = torch.rand(batch, generator=generator, device=device) < 1 - levels_prob
        u = uniform_mask(ratio, n_codebooks, n_frames, generator=generator)
        lv = level_mask(ratio, n_codebooks, n_frames, generator=generator)
        mask = torch.where(pick.view(-1, 1, 1), u, lv)
    else:
        raise ValueError(f"unknown mask mode {mode!r}; expected 'uniform', 'levels' or 'mixed'")
    if context_prob > 0:
        spans = context_spans(batch, n_frames, context_prob, generator=generator, device=device)
        narrowed = mask & spans[:, None, :]
        # A sample whose span holds no masked cell keeps its plain mask (every sample has a loss).
        empty = ~narrowed.flatten(1).any(1)
        mask = torch.where(empty.view(-1, 1, 1), mask, narrowed)
    return mask, ratio
