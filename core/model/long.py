"""Clips longer than one model window, and regeneration of a time span of an existing take.

Windows overlap; each window after the first starts ``overlap`` frames before the first frame
still to generate, and those overlap tokens (already generated) are kept fixed, so the new window
continues the old one with no crossfade seam and the result has exactly the requested length.
The last window is aligned to the clip's end (its overlap may be longer). Regions reuse the same
machinery: re-mask frames [start, end) and fill the masks window by window. A reference sound is
given to every window whole (the same memory each time), so its sound holds over the whole clip.
"""
from __future__ import annotations

import threading
from typing import Any

import torch
from torch import Tensor

from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.core.model.sampler import (REF_GUIDANCE, Generators, StepCallback, plan_steps,
                                              reference_codes, sample)


def plan_windows(masked_frames: Tensor, window: int, overlap: int) -> list[tuple[int, int]]:
    """Windows [(s, e), ...] covering every masked frame; masked_frames bool [F]."""
    if not 0 <= overlap < window:
        raise ValueError(f"overlap must be in [0, window={window}), got {overlap}")
    n = masked_frames.shape[0]
    todo = masked_frames.nonzero().flatten().tolist()
    if n <= window:
        return [(0, n)] if todo else []
    out: list[tuple[int, int]] = []
    covered = 0
    for f in todo:
        if f < covered:
            continue
        s = max(0, min(f - overlap, n - window))
        out.append((s, s + window))
        covered = s + window
    return out


def fill(model: torch.nn.Module, cond: Tensor, fixed: Tensor, *, n_takes: int = 1,
         window: int | None = None, overlap: int | None = None, steps: int = GenerationParams.steps,
         guidance: float = GenerationParams.guidance, temperature: float = 1.0, generator: Generators = None,
         on_step: StepCallback | None = None, cancel: threading.Event | None = None,
         reference: Tensor | None = None, ref_guidance: float = REF_GUIDANCE) -> Tensor:
    """Fill every MASK of fixed [1 or n,K,F] (any F), window by window; cond [1 or n,F,Dc];
    ``reference`` codes [K,R] given to every window (see sampler.sample)."""
    from maskvat_foley.core.model import sampler

    window = window or sampler.SETTINGS.window or model.config.window
    if window > model.config.max_frames:
        raise ValueError(f"window {window} exceeds the model's max_frames {model.config.max_frames}")
    overlap = window // 4 if overlap is None else overlap
    n = fixed.shape[-1]
    if cond.shape[1] != n:
        raise ValueError(f"cond has {cond.shape[1]} frames but the codes have {n}")
    device = next(model.parameters()).device
    reference = reference_codes(model, reference)  # checked before any window is sampled
    codes = fixed.to(device=device, dtype=torch.long).expand(n_takes, -1, -1).clone()
    mask_id = model.config.mask_id
    plan = plan_windows((codes == mask_id).any(dim=1).any(dim=0), window, overlap)
    per_window = sum(s for _, s in plan_steps(model.config.n_codebooks, steps))
    total = per_window * len(plan)
    for w, (s, e) in enumerate(plan):
        progress = None if on_step is None else (
            lambda d, _t, base=w * per_window: on_step(base + d, total))
        out = sample(model, cond[:, s:e], n_takes=n_takes, steps=steps, guidance=guidance,
                     temperature=temperature, generator=generator, fixed=codes[:, :, s:e],
                     on_step=progress, cancel=cancel, reference=reference, ref_guidance=ref_guidance)
        codes[:, :, s:e] = out
    return codes


def generate_long(model: torch.nn.Module, cond: Tensor, *, window: int | None = None,
                  overlap: int | None = None, n_takes: int = 1, fixed: Tensor | None = None,
                  **kw: Any) -> Tensor:
    """Codes [n_takes,K,F_total] for cond [1,F_total,Dc] of any length (windows of ``window``).

    ``fixed`` [1 or n,K,F_total] optionally gives tokens to keep (MASK elsewhere), as in sample().
    Other keywords (steps, guidance, temperature, generator, on_step, cancel, reference,
    ref_guidance) go to fill().
    """
    if cond.dim() != 3:
        raise ValueError(f"cond must be [1,F,Dc], got {tuple(cond.shape)}")
    k = model.config.n_codebooks
    if fixed is None:
        fixed = torch.full((1, k, cond.shape[1]), model.config.mask_id, dtype=torch.long)
    elif fixed.dim() != 3 or fixed.shape[1:] != (k, cond.shape[1]):
        raise ValueError(f"fixed must be [1 or n,{k},{cond.shape[1]}], got {tuple(fixed.shape)}")
    return fill(model, cond, fixed, n_takes=n_takes, window=window, overlap=overlap, **kw)


def regenerate_region(model: torch.nn.Module, codes: Tensor, cond: Tensor, start: int, end: int, *,
                      window: int | None = None, overlap: int | None = None, **kw: Any) -> Tensor:
    """Resample frames [start, end) of codes [n,K,F] (all codebooks); every other frame bit-identical."""
    n, _, f = codes.shape
    if not 0 <= start < end <= f:
        raise ValueError(f"region [{start}, {end}) is not inside the take's {f} frames")
    if bool((codes >= model.config.mask_id).any()) or bool((codes < 0).any()):
        raise ValueError("regenerate_region needs a complete take (no MASK or out-of-range tokens)")
    fixed = codes.clone()
    fixed[:, :, start:end] = model.config.mask_id
    out = fill(model, cond, fixed, n_takes=n, window=window, overlap=overlap, **kw)
    return out.to(codes.device)
