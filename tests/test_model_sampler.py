"""The MaskGIT sampler: step plan, filling, fixed tokens, seeds, classifier-free guidance."""
from __future__ import annotations

import pytest
import torch

from maskvat_foley.core.model.config import preset
from maskvat_foley.core.model.sampler import guided_logits, plan_steps, sample
from maskvat_foley.core.model.transformer import MaskVAT

F_ = 24


@pytest.fixture(scope="module")
def model() -> MaskVAT:
    torch.manual_seed(0)
    m = MaskVAT(preset("tiny", variant="hybrid"))
    with torch.no_grad():  # give AdaLN-Zero weights so conditional and unconditional passes differ
        for name, p in m.named_parameters():
            if "mod" in name:
                p.normal_(0, 0.1)
    return m.eval()


@pytest.fixture(scope="module")
def cond() -> torch.Tensor:
    return torch.randn(1, F_, 16, generator=torch.Generator().manual_seed(5))


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_plan_steps_is_coarse_first_and_sums_to_steps():
    for k in (1, 3, 4, 9):
        for steps in (1, 2, 3, 4, 8, 16, 24):
            plan = plan_steps(k, steps)
            assert sum(s for _, s in plan) == steps
            assert [c for level, _ in plan for c in level] == list(range(k))   # every codebook once, in order
            counts = [s for _, s in plan]
            assert counts == sorted(counts, reverse=True)                      # coarse levels get more
    assert plan_steps(9, 16)[0] == ((0,), 5)
    with pytest.raises(ValueError, match="steps"):
        plan_steps(4, 0)


def test_fills_every_mask_with_valid_tokens_in_one_batch(model, cond):
    steps_seen = []
    out = sample(model, cond, n_takes=3, steps=6, guidance=3.0, generator=gen(0),
                 on_step=lambda d, t: steps_seen.append((d, t)))
    assert out.shape == (3, 4, F_) and out.dtype == torch.long
    assert int(out.min()) >= 0 and int(out.max()) < model.config.codebook_size
    assert steps_seen == [(i, 6) for i in range(1, 7)]
    assert not torch.equal(out[0], out[1])          # takes differ
    assert model.training is False


def test_deterministic_per_seed_and_different_across_seeds(model, cond):
    a = sample(model, cond, n_takes=2, steps=8, generator=gen(123))
    b = sample(model, cond, n_takes=2, steps=8, generator=gen(123))
    c = sample(model, cond, n_takes=2, steps=8, generator=gen(124))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    # One generator per take: a take depends on its own seed only, not on the batch around it.
    pair = sample(model, cond, n_takes=2, steps=8, generator=[gen(7), gen(8)])
    alone = sample(model, cond, n_takes=1, steps=8, generator=[gen(8)])
    assert torch.equal(pair[1], alone[0])
    with pytest.raises(ValueError, match="3 generators for 2 takes"):
        sample(model, cond, n_takes=2, generator=[gen(1), gen(2), gen(3)])


def test_continuation_and_region_tokens_stay_fixed(model, cond):
    mask_id = model.config.mask_id
    ref = sample(model, cond, n_takes=1, steps=4, generator=gen(1))
    # Continuation: the first 10 frames given, the rest generated.
    fixed = ref.clone()
    fixed[:, :, 10:] = mask_id
    out = sample(model, cond, n_takes=3, steps=4, generator=gen(2), fixed=fixed)
    assert torch.equal(out[:, :, :10], ref[:, :, :10].expand(3, -1, -1))
    assert not bool((out == mask_id).any())
    # Region: frames 5..12 regenerated, single scattered cells too (fine codebook only).
    fixed = ref.clone()
    fixed[:, :, 5:12] = mask_id
    fixed[:, 3, 20] = mask_id
    out = sample(model, cond, n_takes=2, steps=4, generator=gen(3), fixed=fixed)
    keep = fixed != mask_id
    assert torch.equal(out[keep.expand_as(out)], ref.expand(2, -1, -1)[keep.expand_as(out)])
    assert not bool((out == mask_id).any())
    assert not torch.equal(out[0, :, 5:12], out[1, :, 5:12])
    # Per-take fixed codes (each take its own history).
    two = torch.cat([ref, sample(model, cond, n_takes=1, steps=4, generator=gen(9))])
    fixed = two.clone()
    fixed[:, :, 18:] = mask_id
    out = sample(model, cond, n_takes=2, steps=4, generator=gen(4), fixed=fixed)
    assert torch.equal(out[:, :, :18], two[:, :, :18])
    # Nothing to generate: returned unchanged.
    assert torch.equal(sample(model, cond, n_takes=1, steps=4, generator=gen(4), fixed=ref), ref)


def test_guidance_one_is_exactly_the_conditional_pass(model, cond):
    mask_id = model.config.mask_id
    codes = torch.full((2, 4, F_), mask_id)
    codes[:, 0, :5] = 3
    c = model(codes, cond, torch.zeros(2, dtype=torch.bool))
    u = model(codes, cond, torch.ones(2, dtype=torch.bool))
    assert torch.equal(guided_logits(model, codes, cond, 1.0), c.float())
    assert torch.equal(guided_logits(model, codes, cond, 0.0), u.float())
    assert not torch.allclose(c, u)
    torch.testing.assert_close(guided_logits(model, codes, cond, 3.0), u + 3.0 * (c - u), rtol=1e-4, atol=1e-4)
    # The batched pass is ONE network pass with both halves (instrumented, not replaced).
    calls = []
    orig = model.decode_tokens
    model.decode_tokens = lambda x, ctx, **kw: calls.append(x.shape[0]) or orig(x, ctx, **kw)
    try:
        guided_logits(model, codes, cond, 3.0)
    finally:
        del model.decode_tokens
    assert calls == [4]
    # And the sampler at guidance 1 differs from guidance 3 (guidance is used).
    a = sample(model, cond, n_takes=2, steps=6, guidance=1.0, generator=gen(0))
    b = sample(model, cond, n_takes=2, steps=6, guidance=3.0, generator=gen(0))
    assert not torch.equal(a, b)


def test_temperature_zero_is_greedy_and_seed_free(model, cond):
    a = sample(model, cond, n_takes=2, steps=4, temperature=0.0, generator=gen(0))
    b = sample(model, cond, n_takes=1, steps=4, temperature=0.0, generator=gen(99))
    assert torch.equal(a[0], a[1]) and torch.equal(a[0], b[0])


def test_cancel_event_stops_between_steps(model, cond):
    import threading

    from maskvat_foley.core.model.sampler import SamplingCancelled

    ev = threading.Event()
    seen = []

    def step(done, total):
        seen.append(done)
        if done == 2:
            ev.set()

    with pytest.raises(SamplingCancelled):
        sample(model, cond, steps=6, generator=gen(0), on_step=step, cancel=ev)
    assert seen == [1, 2]


def test_bad_arguments_are_reported(model, cond):
    with pytest.raises(ValueError, match=r"fixed must be \[1 or 2,4,24\]"):
        sample(model, cond, n_takes=2, fixed=torch.zeros(1, 4, 10, dtype=torch.long))
    with pytest.raises(ValueError, match="fixed tokens must be in 0..64"):
        sample(model, cond, fixed=torch.full((1, 4, F_), 70))
    with pytest.raises(ValueError, match="temperature"):
        sample(model, cond, temperature=-1)


def test_temperature_schedules():
    from maskvat_foley.core.model.sampler import _temperatures

    plan = plan_steps(4, 8)  # levels of 1 + extra steps each, coarse first
    # "level": every level restarts at the full temperature, so a one-step fine level is drawn hot.
    assert _temperatures(1.0, None, "level", plan, 3, 0, plan[3][1]) == (1.0, 1.0)
    # "plan": the temperature falls over the whole plan; the last level is drawn coolest.
    first = _temperatures(1.0, None, "plan", plan, 0, 0, plan[0][1])
    last = _temperatures(1.0, None, "plan", plan, 3, 0, plan[3][1])
    assert first == (1.0, 1.0) and 0 < last[0] < 0.25
    # The choice temperature is its own, annealed the same way.
    assert _temperatures(0.5, 3.0, "level", plan, 0, 0, plan[0][1]) == (0.5, 3.0)


def test_sampler_settings_change_sampling_and_are_restored(model, cond):
    from maskvat_foley.core.model import sampler as sm

    base = sample(model, cond, n_takes=2, steps=8, generator=gen(3))
    with sm.sampler_settings(anneal="plan", choice_temperature=4.0) as s:
        assert s.anneal == "plan" and s.window is None
        planned = sample(model, cond, n_takes=2, steps=8, generator=gen(3))
    assert sm.SETTINGS == sm.SamplerSettings()
    assert not torch.equal(base, planned)
    assert torch.equal(base, sample(model, cond, n_takes=2, steps=8, generator=gen(3)))
    with pytest.raises(ValueError, match="anneal"):
        sample(model, cond, anneal="sideways")
    with pytest.raises(ValueError, match="anneal"):
        sm.SamplerSettings(anneal="sideways")
