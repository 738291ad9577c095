"""MaskGIT-style iterative parallel decoding for MaskVAT, coarse codebooks first.

Schedule (see ``plan_steps``): codebooks are completed one level at a time, coarsest first,
as in VampNet/SoundStorm. The steps are split over levels, the extra steps going mostly to the
coarse levels (they carry the structure; fine levels follow from them). Within a level with n
steps, after step i a fraction cos(pi/2 * (i+1)/n) of that level's initially masked cells stays
masked: all its masked cells are sampled, the most confident are kept, the rest re-masked.
Two temperatures: the sampling temperature (how tokens are drawn) and the choice temperature (the
Gumbel noise on the confidences that decides which cells stay masked, as in MaskGIT). ``anneal``
says over what they fall toward 0: "level" anneals within each level (every fine codebook, having
one step, is then drawn at the full temperature), "plan" over the whole coarse-to-fine plan (fine
codebooks are drawn cooler). Training's "levels" masks are exactly these states.

Randomness comes only from the passed generator(s): one torch.Generator for the batch, or one
per take, so a take is reproducible from its own seed (same device and dtype).
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import torch
from torch import Tensor

from maskvat_foley.core.jobs import GenerationParams

StepCallback = Callable[[int, int], None]


class SamplingCancelled(Exception):
    """The caller's cancel event was set; raised between decoding steps."""

Generators = torch.Generator | Sequence[torch.Generator] | None


def plan_steps(n_codebooks: int, steps: int) -> list[tuple[tuple[int, ...], int]]:
    """[(codebooks of one level, steps for it), ...], coarse first; the step counts sum to ``steps``.

    With steps >= K each codebook is its own level with one step, and the extra steps go to the
    levels in proportion 1/2, 1/4, 1/8... (largest remainder). With steps < K the first steps-1
    codebooks get one step each and the remaining fine codebooks share the last step.
    """
    if steps < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if steps < n_codebooks:
        plan = [((i,), 1) for i in range(steps - 1)]
        return plan + [(tuple(range(steps - 1, n_codebooks)), 1)]
    extra = steps - n_codebooks
    w = [2.0 ** -(i + 1) for i in range(n_codebooks)]
    share = [extra * x / sum(w) for x in w]
    base = [int(s) for s in share]
    order = sorted(range(n_codebooks), key=lambda i: (-(share[i] - base[i]), i))
    for i in order[:extra - sum(base)]:
        base[i] += 1
    return [((i,), 1 + base[i]) for i in range(n_codebooks)]


ANNEALS = ("level", "plan")


@dataclass(frozen=True)
class SamplerSettings:
    """Sampler choices below the user's GenerationParams, chosen by measurement on FoleyWorld
    (`maskvat-foley eval --sampler KEY=VALUE`; numbers in the model card)."""

    choice_temperature: float | None = None  # None: the sampling temperature (MaskGIT's coupling)
    anneal: str = "level"
    window: int | None = None                # frames per window; None: the model's trained window

    def __post_init__(self) -> None:
        if self.anneal not in ANNEALS:
            raise ValueError(f"anneal must be one of {ANNEALS}, got {self.anneal!r}")
        if self.choice_temperature is not None and self.choice_temperature < 0:
            raise ValueError(f"choice_temperature must be >= 0, got {self.choice_temperature}")
        if self.window is not None and self.window < 2:
            raise ValueError(f"window must be >= 2 frames, got {self.window}")


SETTINGS = SamplerSettings()


@contextlib.contextmanager
def sampler_settings(**changes: Any) -> Iterator[SamplerSettings]:
    """Use other SamplerSettings inside the block (measurements; not thread-safe)."""
    global SETTINGS
    old = SETTINGS
    SETTINGS = dataclasses.replace(old, **changes)
    try:
        yield SETTINGS
    finally:
        SETTINGS = old


def _temperatures(temperature: float, choice: float | None, anneal: str, plan, level: int, i: int,
                  n_steps: int) -> tuple[float, float]:
    """(sampling, choice) temperatures for step i of level ``level`` in ``plan``."""
    if anneal == "plan":
        done = sum(s for _, s in plan[:level]) + i
        fall = 1 - done / sum(s for _, s in plan)
    else:
        fall = 1 - i / n_steps
    return temperature * fall, (temperature if choice is None else choice) * fall


# GenerationParams.ref_guidance's default: reference guidance on top of the picture's.
REF_GUIDANCE = 2.0

# Cache every block's AdaLN modulation for the whole sampling run below this many elements
# (4 bytes each in float32); above it they are recomputed each step to bound memory.
MOD_CACHE_ELEMENTS = 1 << 28


def guidance_context(model: torch.nn.Module, cond: Tensor, guidance: float, batch: int,
                     reference: Tensor | None = None, ref_guidance: float = REF_GUIDANCE) -> Any:
    """The condition's part of the forward for guidance: conditional rows, then (for guidance
    other than 0 and 1) unconditional rows, in one batch. With a ``reference`` (and ref_guidance
    other than 0) a RefGuide instead (see guided_logits)."""
    cfg = model.config
    dev = cond.device
    if reference is not None and ref_guidance != 0:
        return _ref_guide(model, cond, guidance, batch, reference, ref_guidance)
    rows = batch if guidance in (0, 1) else 2 * batch
    cache = _cache_mods(cfg, rows, cond.shape[1])
    if guidance in (0, 1):
        drop = torch.full((batch,), guidance == 0, dtype=torch.bool, device=dev)
        return model.encode_condition(cond, drop, batch, cache_mods=cache)
    cond = cond.expand(batch, -1, -1)
    drop = torch.cat([torch.zeros(batch, dtype=torch.bool), torch.ones(batch, dtype=torch.bool)]).to(dev)
    return model.encode_condition(torch.cat([cond, cond]), drop, rows, cache_mods=cache)


def _cache_mods(cfg: Any, rows: int, n_frames: int) -> bool:
    n_mods = 3 * (3 if cfg.variant == "hybrid" else 2) * cfg.n_layers
    return rows * n_frames * cfg.d_model * n_mods <= MOD_CACHE_ELEMENTS


@dataclass
class RefGuide:
    """Guidance with a reference sound, three kinds of rows: u (no picture, no reference), c (the
    picture) and cr (the picture and the reference), combined as

        logits = u + g*(c - u) + gr*(cr - c) = (1-g)*u + (g-gr)*c + gr*cr

    so ``guidance`` g pushes toward the picture as without a reference and ``ref_guidance`` gr, its
    own scale, toward the reference on top of it (gr 1 with g 1 is the plain conditional pass with
    the reference). A row kind whose weight is 0 is not computed: g == gr needs no c rows, g == 1
    no u rows. ``plain`` stacks the rows without the reference (one batch), ``with_ref`` is the
    picture's context for the cr rows and ``ref`` the reference's memory (computed once a run)."""

    plain: Any | None
    plain_weights: tuple[float, ...]
    with_ref: Any
    ref: list[Any]
    ref_weight: float


def _ref_guide(model: torch.nn.Module, cond: Tensor, guidance: float, batch: int, reference: Tensor,
               ref_guidance: float) -> RefGuide:
    cfg, dev = model.config, cond.device
    groups = [(False, guidance - ref_guidance)] if guidance != ref_guidance else []
    if guidance != 1:
        groups.append((True, 1.0 - guidance))
    cache = _cache_mods(cfg, batch * (1 + len(groups)), cond.shape[1])
    plain = None
    if groups:
        drop = torch.tensor([d for d, _ in groups for _ in range(batch)], dtype=torch.bool, device=dev)
        stacked = torch.cat([cond.expand(batch, -1, -1)] * len(groups))
        plain = model.encode_condition(stacked, drop, batch * len(groups), cache_mods=cache)
    with_ref = model.encode_condition(cond, torch.zeros(batch, dtype=torch.bool, device=dev), batch,
                                      cache_mods=cache)
    return RefGuide(plain, tuple(w for _, w in groups), with_ref,
                    model.encode_reference(reference_codes(model, reference)), float(ref_guidance))


def guided_logits(model: torch.nn.Module, codes: Tensor, cond: Tensor, guidance: float,
                  heads: Sequence[int] | None = None, context: Any = None,
                  reference: Tensor | None = None, ref_guidance: float = REF_GUIDANCE) -> Tensor:
    """Classifier-free guided logits u + g*(c - u), both passes in ONE batched forward.

    guidance == 1 runs only the conditional pass (bit-identical to it); guidance == 0 only the
    unconditional one. ``context`` (from guidance_context) skips recomputing the condition.
    With a ``reference`` [1,K,R] (or a RefGuide context) see RefGuide.
    """
    b = codes.shape[0]
    if context is None:
        context = guidance_context(model, cond, guidance, b, reference, ref_guidance)
    if isinstance(context, RefGuide):
        return _ref_guided(model, codes, context, heads)
    if guidance in (0, 1):
        return model.decode_tokens(codes, context, heads=heads).float()
    both = model.decode_tokens(torch.cat([codes, codes]), context, heads=heads).float()
    c, u = both[:b], both[b:]
    return u + guidance * (c - u)


def _ref_guided(model: torch.nn.Module, codes: Tensor, guide: RefGuide,
                heads: Sequence[int] | None) -> Tensor:
    b = codes.shape[0]
    out = model.decode_tokens(codes, guide.with_ref, heads=heads, ref=guide.ref).float()
    if guide.ref_weight != 1:
        out = guide.ref_weight * out
    if guide.plain is not None:
        rows = model.decode_tokens(torch.cat([codes] * len(guide.plain_weights)), guide.plain,
                                   heads=heads).float()
        for i, w in enumerate(guide.plain_weights):
            out = out + w * rows[i * b:(i + 1) * b]
    return out


def reference_codes(model: torch.nn.Module, reference: Tensor | None) -> Tensor | None:
    """A reference's codes [K,R] or [1,K,R] as [1,K,R] long on the model's device, checked
    (ValueError for a model without reference support or a reference longer than it takes)."""
    if reference is None:
        return None
    ref = torch.as_tensor(reference)
    if ref.dim() == 2:
        ref = ref[None]
    if ref.dim() != 3 or ref.shape[0] != 1:
        raise ValueError(f"reference must be codes [K,R] (one sound for every take), got {tuple(ref.shape)}")
    ref = ref.to(device=next(model.parameters()).device, dtype=torch.long)
    model.check_reference(ref)
    return ref


def _rand(shape: tuple[int, ...], gens: Generators, device: torch.device) -> Tensor:
    """Uniform noise in (0,1); with one generator per take each row comes from its own."""
    if gens is None or isinstance(gens, torch.Generator):
        u = torch.rand(shape, generator=gens, device=device)
    else:
        u = torch.stack([torch.rand(shape[1:], generator=g, device=device) for g in gens])
    return u.clamp_(1e-10, 1 - 1e-7)


def _gumbel(shape: tuple[int, ...], gens: Generators, device: torch.device) -> Tensor:
    return -torch.log(-torch.log(_rand(shape, gens, device)))


def _check_generators(gens: Generators, n_takes: int, device: torch.device) -> None:
    if gens is None or isinstance(gens, torch.Generator):
        seq = [] if gens is None else [gens]
    else:
        seq = list(gens)
        if len(seq) != n_takes:
            raise ValueError(f"got {len(seq)} generators for {n_takes} takes; pass one, or one per take")
    for g in seq:
        if torch.device(g.device).type != device.type:
            raise ValueError(f"generator on {g.device} but the model is on {device}: "
                             "create it with torch.Generator(device=...) on the model's device")


def sample(model: torch.nn.Module, cond: Tensor, *, n_takes: int = 1, steps: int = GenerationParams.steps,
           guidance: float = GenerationParams.guidance, temperature: float = 1.0, generator: Generators = None,
           fixed: Tensor | None = None, on_step: StepCallback | None = None,
           cancel: threading.Event | None = None, choice_temperature: float | None = None,
           anneal: str | None = None, reference: Tensor | None = None,
           ref_guidance: float = REF_GUIDANCE) -> Tensor:
    """Codes [n_takes,K,F] for visual features cond [1 or n_takes,F,Dc].

    ``reference`` int codes [K,R] (or [1,K,R]) of a reference sound, the same for every take,
    for a model with ref_frames >= R; ``ref_guidance`` its guidance scale (RefGuide). None (or
    ref_guidance 0) samples exactly as a model without reference support.

    ``choice_temperature`` and ``anneal`` ("level" | "plan") are described above; None takes
    SETTINGS'.

    ``fixed`` [1 or n_takes,K,F] gives known tokens with MASK (= codebook_size) where to generate
    (continuation and region modes); given tokens never change and every MASK is filled.
    ``on_step(done, total)`` is called after each step; a set ``cancel`` event raises
    SamplingCancelled before the next step.
    """
    cfg = model.config
    device = next(model.parameters()).device
    k, mask_id = cfg.n_codebooks, cfg.mask_id
    if cond.dim() != 3 or cond.shape[0] not in (1, n_takes):
        raise ValueError(f"cond must be [1 or {n_takes},F,Dc], got {tuple(cond.shape)}")
    if n_takes < 1:
        raise ValueError(f"n_takes must be >= 1, got {n_takes}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    choice = SETTINGS.choice_temperature if choice_temperature is None else choice_temperature
    anneal = SETTINGS.anneal if anneal is None else anneal
    if anneal not in ANNEALS:
        raise ValueError(f"anneal must be one of {ANNEALS}, got {anneal!r}")
    n = cond.shape[1]
    cond = cond.to(device)
    _check_generators(generator, n_takes, device)
    reference = reference_codes(model, reference)
    if fixed is None:
        codes = torch.full((n_takes, k, n), mask_id, dtype=torch.long, device=device)
    else:
        if fixed.dim() != 3 or fixed.shape[1:] != (k, n) or fixed.shape[0] not in (1, n_takes):
            raise ValueError(f"fixed must be [1 or {n_takes},{k},{n}], got {tuple(fixed.shape)}")
        if int(fixed.min()) < 0 or int(fixed.max()) > mask_id:
            raise ValueError(f"fixed tokens must be in 0..{mask_id} (MASK={mask_id})")
        codes = fixed.to(device=device, dtype=torch.long).expand(n_takes, k, n).clone()
    model.check_inputs(codes, cond)
    plan = plan_steps(k, steps)
    total, done = sum(s for _, s in plan), 0
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            ctx = guidance_context(model, cond, guidance, n_takes, reference, ref_guidance)
            for li, (level, n_steps) in enumerate(plan):
                idx = torch.tensor(level, device=device)
                start_masked = (codes[:, idx] == mask_id).flatten(1).sum(1)        # [B]
                for i in range(n_steps):
                    if cancel is not None and cancel.is_set():
                        raise SamplingCancelled("sampling cancelled")
                    cur = codes[:, idx]                                            # [B,Kl,F]
                    masked = cur == mask_id
                    if bool(masked.any()):
                        temps = _temperatures(temperature, choice, anneal, plan, li, i, n_steps)
                        codes[:, idx] = _step(model, codes, cur, masked, cond, ctx, level, guidance,
                                              temps, start_masked, (i + 1) / n_steps, generator, mask_id)
                    done += 1
                    if on_step is not None:
                        on_step(done, total)
    finally:
        model.train(was_training)
    if bool((codes == mask_id).any()):  # cannot happen: the last step of each level keeps none
        raise RuntimeError("sampler left MASK tokens")
    return codes


def _step(model: torch.nn.Module, codes: Tensor, cur: Tensor, masked: Tensor, cond: Tensor,
          ctx: Any, level: tuple[int, ...], guidance: float, temps: tuple[float, float], start_masked: Tensor,
          progress: float, gens: Generators, mask_id: int) -> Tensor:
    """One decoding step on one level: sample every masked cell, re-mask the least confident."""
    temp, choice = temps
    logits = guided_logits(model, codes, cond, guidance, heads=level, context=ctx)    # [B,Kl,F,V]
    if temp > 0:
        sampled = (logits / temp + _gumbel(tuple(logits.shape), gens, logits.device)).argmax(-1)
    else:
        sampled = logits.argmax(-1)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, sampled.unsqueeze(-1)).squeeze(-1)
    conf = logp + choice * _gumbel(tuple(sampled.shape), gens, logits.device)
    conf = conf.masked_fill(~masked, math.inf).flatten(1)                          # given: never re-masked
    n_masked = masked.flatten(1).sum(1)
    keep_masked = (start_masked.float() * math.cos(math.pi / 2 * progress)).floor().long()
    if progress >= 1:
        keep_masked = torch.zeros_like(keep_masked)
    keep_masked = torch.minimum(keep_masked, (n_masked - 1).clamp(min=0))
    ranks = conf.argsort(dim=1, stable=True).argsort(dim=1)
    remask = (ranks < keep_masked[:, None]).view_as(masked)
    return torch.where(masked & ~remask, sampled, cur)
