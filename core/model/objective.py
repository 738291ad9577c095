"""The MaskVAT training objective.

Cross-entropy only on masked cells (label smoothing), condition dropout for classifier-free
guidance, and optional auxiliary losses that pull the transformer's hidden states (through a
small head) toward an audio embedding teacher's frames: L1 + cosine regression and InfoNCE over
the frames of each clip (the paper uses BEATs; any core.features.audio embedder works here).
"""
from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor

from maskvat_foley.core.model.masking import random_mask


def masked_cross_entropy(logits: Tensor, targets: Tensor, mask: Tensor,
                         label_smoothing: float = 0.0) -> Tensor:
    """Mean cross-entropy over the cells where ``mask`` is True; logits [B,K,F,V], targets/mask [B,K,F]."""
    if not bool(mask.any()):
        raise ValueError("masked_cross_entropy: the mask selects no cells")
    return F.cross_entropy(logits[mask].float(), targets[mask].long(), label_smoothing=label_smoothing)


def info_nce_frames(pred: Tensor, target: Tensor, temperature: float) -> Tensor:
    """InfoNCE over frames: each predicted frame must pick its own teacher frame among the clip's."""
    p = F.normalize(pred.float(), dim=-1)
    t = F.normalize(target.float(), dim=-1)
    sim = torch.einsum("bfd,bgd->bfg", p, t) / temperature
    labels = torch.arange(sim.shape[1], device=sim.device).expand(sim.shape[0], -1)
    return F.cross_entropy(sim.flatten(0, 1), labels.flatten())


def aux_losses(pred: Tensor, target: Tensor, temperature: float) -> dict[str, Tensor]:
    """Regression (L1 + 1-cosine) and contrastive terms; pred/target [B,F,D]."""
    pred, target = pred.float(), target.float()
    reg = F.l1_loss(pred, target) + (1 - F.cosine_similarity(pred, target, dim=-1)).mean()
    return {"aux_reg": reg, "aux_nce": info_nce_frames(pred, target, temperature)}


def teacher_frames(embedder: Any, wave: Tensor, sample_rate: int, n_frames: int) -> Tensor:
    """Teacher targets [B,F,D] from a core.features.audio embedder on the ground-truth audio."""
    with torch.no_grad():
        return embedder.embed(wave, sample_rate, n_frames)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The MaskVAT inside a DistributedDataParallel / compiled wrapper."""
    while not hasattr(model, "config") and hasattr(model, "module"):
        model = model.module
    return model


def training_loss(model: torch.nn.Module, codes: Tensor, cond: Tensor, *,
                  generator: torch.Generator | None = None,
                  teacher_frames: Tensor | None = None, reference: Tensor | None = None,
                  ref_mask: Tensor | None = None, ref_full_mask: float = 0.0) -> tuple[Tensor, dict[str, float]]:
    """(loss, metrics) for a batch: codes [B,K,F] (no MASK), cond [B,F,Dc], teacher [B,F,aux_dim].

    ``reference`` [B,K,R] and ``ref_mask`` [B,R] (models with ref_frames > 0): each row's reference
    sound and its real frames, all False for a row whose reference is dropped (the caller pairs
    and drops them: a dropped reference also changes which target a row has, see
    core.train.references). The loss is on the picture's frames only. ``ref_full_mask``: the share of
    rows with a reference whose every cell is masked (where sampling starts): under partial masks
    the visible tokens of the target already tell its timbre, so the reference is redundant there."""
    cfg = unwrap(model).config
    b, k, n = codes.shape
    if bool((codes >= cfg.mask_id).any()) or bool((codes < 0).any()):
        raise ValueError(f"training codes must be in 0..{cfg.codebook_size - 1}")
    dev = codes.device
    # Masks are drawn where the generator lives: a CPU generator gives the same masks on any
    # device, so validation numbers compare between a GPU run and a CPU one.
    rdev = generator.device if generator is not None else dev
    mask, ratio = random_mask(cfg.mask_mode, b, k, n, generator=generator, device=rdev,
                              context_prob=cfg.context_prob, levels_prob=cfg.levels_prob)
    mask, ratio = mask.to(dev), ratio.to(dev)
    drop = (torch.rand(b, generator=generator, device=rdev) < cfg.cond_drop_prob).to(dev)
    if ref_full_mask > 0 and reference is not None:
        has = torch.ones(b, dtype=torch.bool, device=dev) if ref_mask is None else ref_mask.to(dev).any(dim=1)
        full = has & (torch.rand(b, generator=generator, device=rdev) < ref_full_mask).to(dev)
        mask = mask | full.view(b, 1, 1)
        ratio = torch.where(full, torch.ones_like(ratio), ratio)
    inputs = codes.masked_fill(mask, cfg.mask_id)
    use_aux = cfg.aux_weight > 0
    if use_aux:
        if teacher_frames is None:
            raise ValueError("config.aux_weight > 0 but no teacher_frames were given")
        if teacher_frames.dim() != 3 or teacher_frames.shape != (b, n, cfg.aux_dim):
            raise ValueError(f"teacher_frames must be [{b},{n},{cfg.aux_dim}], got "
                             f"{tuple(teacher_frames.shape)}")
        logits, aux_pred = model(inputs, cond, drop, return_aux=True, reference=reference, ref_mask=ref_mask)
    else:
        logits = model(inputs, cond, drop, reference=reference, ref_mask=ref_mask)
    ce = masked_cross_entropy(logits, codes, mask, cfg.label_smoothing)
    loss, parts = ce, {"ce": ce}
    if use_aux:
        aux = aux_losses(aux_pred, teacher_frames.to(dev), cfg.aux_temperature)
        loss = loss + cfg.aux_weight * (aux["aux_reg"] + cfg.aux_contrastive * aux["aux_nce"])
        parts.update(aux)
    with torch.no_grad():
        # Gathered on the device and read back once (one sync per step on a GPU).
        hit = (logits.argmax(-1) == codes) & mask
        count = mask.sum((0, 2))
        per_cb = torch.where(count > 0, hit.sum((0, 2)).float() / count.clamp(min=1),
                             torch.full_like(count, float("nan"), dtype=torch.float))  # nan: none masked
        values = {**parts, "loss": loss, "acc": hit.sum() / mask.sum(), "mask_ratio": ratio.mean(),
                  "cond_dropped": drop.float().mean()}
        if reference is not None:
            given = torch.ones(b, device=dev) if ref_mask is None else ref_mask.to(dev).any(dim=1).float()
            values["ref_given"] = given.mean()
        names = list(values)
        flat = torch.cat([torch.stack([values[n_].detach().float() for n_ in names]), per_cb]).tolist()
    metrics = dict(zip(names, flat[:len(names)]))
    metrics.update({f"acc_cb{i}": v for i, v in enumerate(flat[len(names):])})
    return loss, metrics
