"""Masking schedule, masked cross-entropy, condition dropout, auxiliary teacher losses, overfitting."""
from __future__ import annotations

import math

import pytest
import torch

from maskvat_foley.core.features.audio import create_audio
from maskvat_foley.core.model.config import preset
from maskvat_foley.core.model.masking import cosine_schedule, level_mask, random_mask, uniform_mask
from maskvat_foley.core.model.objective import (aux_losses, info_nce_frames, masked_cross_entropy,
                                                teacher_frames, training_loss)
from maskvat_foley.core.model.transformer import MaskVAT

SR, HOP = 44100, 512


def foley_clip(n: int = 48, seed: int = 0, k: int = 4, v: int = 64, dc: int = 16):
    """A FoleyWorld-like clip: visual motion spikes at events (material in two channels) and codes
    that switch from "silence" tokens to a material-specific decaying pattern after each event."""
    g = torch.Generator().manual_seed(seed)
    cond = torch.randn(n, dc, generator=g) * 0.1
    codes = torch.arange(k).view(k, 1).repeat(1, n)
    events = []
    for t in range(2, n - 4, 9):
        m = int(torch.randint(0, 2, (1,), generator=g))
        events.append(t)
        cond[t, 0] += 3.0
        cond[t:t + 4, 1 + m] += 1.0
        for j in range(4):
            codes[:, t + j] = (10 + 8 * m + 2 * j + 7 * torch.arange(k)) % v
    return codes[None], cond[None], events


@pytest.mark.parametrize("mode", ["uniform", "levels", "mixed"])
def test_mask_ratio_follows_the_cosine_schedule(mode):
    g = torch.Generator().manual_seed(0)
    k, f = 4, 50
    mask, ratio = random_mask(mode, 4000, k, f, generator=g)
    frac = mask.float().mean(dim=(1, 2))
    # Each sample masks ceil(r*K*F) cells, at least one, never more than all.
    assert torch.equal(mask.flatten(1).sum(1), (ratio * k * f).ceil().long().clamp(1, k * f))
    assert frac.min() > 0 and frac.max() <= 1
    assert abs(float(frac.mean()) - 2 / math.pi) < 0.02          # E[cos(pi/2 u)] = 2/pi
    assert abs(float(ratio.mean()) - 2 / math.pi) < 0.02
    assert float((ratio > 0.9).float().mean()) > float((ratio < 0.1).float().mean())  # cosine shape
    assert float(cosine_schedule(torch.tensor(0.0))) == 1.0
    assert abs(float(cosine_schedule(torch.tensor(1.0)))) < 1e-6


def test_level_masks_are_coarse_to_fine_states():
    g = torch.Generator().manual_seed(1)
    ratio = torch.rand(500, generator=g)
    mask = level_mask(ratio, 4, 30, generator=g)
    per_level = mask.float().mean(dim=2)                                # [B,K]
    # Masked fractions never decrease toward finer codebooks; at most one level is partial.
    assert bool((per_level[:, 1:] >= per_level[:, :-1]).all())
    partial = ((per_level > 0) & (per_level < 1)).sum(1)
    assert int(partial.max()) <= 1
    um = uniform_mask(ratio, 4, 30, generator=g)
    assert torch.equal(um.flatten(1).sum(1), mask.flatten(1).sum(1))
    assert not bool((um.float().mean(2)[:, 1:] >= um.float().mean(2)[:, :-1]).all())


def test_context_spans_give_whole_frames_of_context():
    g = torch.Generator().manual_seed(2)
    k, f = 4, 40
    mask, _ = random_mask("levels", 400, k, f, generator=g, context_prob=1.0)
    assert bool(mask.flatten(1).any(1).all())                         # every sample keeps a loss term
    frames = mask.any(1)                                               # [B,F] frames with a masked cell
    first = frames.float().argmax(1)
    last = f - 1 - frames.flip(1).float().argmax(1)
    # Masked cells lie in one span per sample (no masked frame before a or after b).
    for i in range(400):
        assert not bool(frames[i, :first[i]].any()) and not bool(frames[i, last[i] + 1:].any())
    assert float((first > 0).float().mean()) > 0.5                     # a prefix is often given
    assert float((last < f - 1).float().mean()) > 0.2                  # regions leave a suffix too
    plain, _ = random_mask("levels", 400, k, f, generator=torch.Generator().manual_seed(2))
    assert float(plain.any(1)[:, 0].float().mean()) > float(frames[:, 0].float().mean()) + 0.3


def test_loss_is_only_on_masked_cells():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 10, 16, generator=g)
    targets = torch.randint(0, 16, (2, 3, 10), generator=g)
    mask = torch.rand(2, 3, 10, generator=g) < 0.4
    base = masked_cross_entropy(logits, targets, mask, 0.1)
    logits2, targets2 = logits.clone(), targets.clone()
    logits2[~mask] = torch.randn_like(logits2[~mask]) * 10
    targets2[~mask] = (targets2[~mask] + 5) % 16
    assert torch.equal(masked_cross_entropy(logits2, targets2, mask, 0.1), base)
    # ...and changing a masked cell does change it.
    logits2[mask.nonzero()[0].tolist()] += torch.randn(16) * 10
    assert not torch.equal(masked_cross_entropy(logits2, targets2, mask, 0.1), base)
    # Label smoothing is applied: a perfect prediction still costs something with it.
    perfect = torch.nn.functional.one_hot(targets, 16).float() * 50
    assert float(masked_cross_entropy(perfect, targets, mask, 0.0)) < 1e-6
    assert float(masked_cross_entropy(perfect, targets, mask, 0.1)) > 0.5
    with pytest.raises(ValueError, match="no cells"):
        masked_cross_entropy(logits, targets, torch.zeros_like(mask))


def test_training_loss_matches_a_manual_masked_pass_and_drops_conditions():
    torch.manual_seed(0)
    m = MaskVAT(preset("tiny", cond_drop_prob=0.5, label_smoothing=0.1))
    codes, cond, _ = foley_clip()
    codes, cond = codes.expand(6, -1, -1), cond.expand(6, -1, -1)
    loss, met = training_loss(m, codes, cond, generator=torch.Generator().manual_seed(3))
    # Re-draw the same mask and dropout from the same seed and compute the loss by hand.
    g = torch.Generator().manual_seed(3)
    mask, _ = random_mask("mixed", 6, 4, 48, generator=g, context_prob=m.config.context_prob)
    drop = torch.rand(6, generator=g) < 0.5
    manual = masked_cross_entropy(m(codes.masked_fill(mask, 64), cond, drop), codes, mask, 0.1)
    torch.testing.assert_close(loss, manual)
    assert met["cond_dropped"] == float(drop.float().mean())
    assert 0 < met["mask_ratio"] <= 1 and 0 <= met["acc"] <= 1
    with pytest.raises(ValueError, match="training codes"):
        training_loss(m, codes.masked_fill(mask, 64), cond)


@pytest.fixture
def one_thread():
    """Tiny models are overhead-bound: one intra-op thread is faster and steadier on a busy CPU."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def test_tiny_model_overfits_one_foley_clip(one_thread):
    torch.manual_seed(0)
    m = MaskVAT(preset("tiny"))
    codes, cond, _ = foley_clip()
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(80):
        loss, _ = training_loss(m, codes.expand(8, -1, -1), cond.expand(8, -1, -1), generator=g)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    start, end = losses[0], sum(losses[-10:]) / 10
    assert start > 3.5                      # ~ln(64) at initialisation
    assert end < 0.25 * start, (start, end)


def test_info_nce_picks_the_matching_frame():
    t = torch.randn(2, 10, 8, generator=torch.Generator().manual_seed(0))
    good = info_nce_frames(t, t, 0.1)
    shuffled = info_nce_frames(t[:, torch.randperm(10, generator=torch.Generator().manual_seed(1))], t, 0.1)
    assert float(good) < 0.05 and float(shuffled) > 2.0
    parts = aux_losses(t, t, 0.1)
    assert float(parts["aux_reg"]) < 1e-6


def test_auxiliary_teacher_losses_train_the_aux_head(one_thread):
    codes, cond, events = foley_clip()
    n = codes.shape[-1]
    wave = torch.zeros(1, 1, n * HOP)
    for t in events:  # clicks at the events: the teacher (log-mel) sees them
        wave[0, 0, t * HOP:t * HOP + 400] = torch.randn(400, generator=torch.Generator().manual_seed(t)) * 0.5
    teacher = teacher_frames(create_audio("logmel", dim=24), wave, SR, n)
    assert teacher.shape == (1, n, 24)
    torch.manual_seed(0)
    m = MaskVAT(preset("tiny", aux_weight=1.0, aux_dim=24))
    with pytest.raises(ValueError, match="teacher_frames"):
        training_loss(m, codes, cond)
    with pytest.raises(ValueError, match=r"teacher_frames must be \[1,48,24\]"):
        training_loss(m, codes, cond, teacher_frames=teacher[:, :10])
    def evaluate():  # the same mask and dropout every time
        return training_loss(m, codes, cond, generator=torch.Generator().manual_seed(123),
                             teacher_frames=teacher)[1]

    first = evaluate()
    assert first["loss"] > first["ce"]      # aux terms are part of the loss
    opt = torch.optim.AdamW(m.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(0)
    for _ in range(40):
        loss, _ = training_loss(m, codes, cond, generator=g, teacher_frames=teacher)
        opt.zero_grad()
        loss.backward()
        assert m.aux_head.weight.grad.abs().sum() > 0
        opt.step()
    last = evaluate()
    assert last["aux_reg"] < 0.5 * first["aux_reg"]
    assert last["aux_reg"] + last["aux_nce"] < first["aux_reg"] + first["aux_nce"] - 1.0
    # Off when the weight is 0: the same call gives the plain cross-entropy.
    plain = MaskVAT(preset("tiny", aux_weight=0.0, aux_dim=24))
    loss, met = training_loss(plain, codes, cond, teacher_frames=teacher)
    assert "aux_reg" not in met and met["loss"] == met["ce"]
