"""Long clips by overlapping windows, region regeneration, and beam selection with the real DAC."""
from __future__ import annotations

import pytest
import torch

from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer
from maskvat_foley.core.model.beam import (OnsetMotionScorer, SyncScorer, beam_select, create_scorer,
                                           sample_with_beam)
from maskvat_foley.core.model.config import preset
from maskvat_foley.core.model.long import generate_long, plan_windows, regenerate_region
from maskvat_foley.core.model.sampler import sample
from maskvat_foley.core.model.transformer import MaskVAT


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def model() -> MaskVAT:
    torch.manual_seed(0)
    m = MaskVAT(preset("tiny", n_codebooks=3, codebook_size=128, max_frames=32))
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "mod" in name:
                p.normal_(0, 0.1)
    return m.eval()


def test_plan_windows_covers_with_overlap_and_ends_at_the_clip_end():
    assert plan_windows(torch.ones(50, dtype=torch.bool), 16, 4) == [(0, 16), (12, 28), (24, 40), (34, 50)]
    assert plan_windows(torch.ones(10, dtype=torch.bool), 16, 4) == [(0, 10)]
    assert plan_windows(torch.zeros(50, dtype=torch.bool), 16, 4) == []
    region = torch.zeros(50, dtype=torch.bool)
    region[30:35] = True
    assert plan_windows(region, 16, 4) == [(26, 42)]
    with pytest.raises(ValueError, match="overlap"):
        plan_windows(region, 16, 16)


def test_generate_long_has_the_exact_length_and_continues_each_window(model):
    n = 50
    cond = torch.randn(1, n, 16, generator=gen(1))
    steps = []
    out = generate_long(model, cond, window=16, overlap=4, n_takes=2, steps=3, generator=gen(7),
                        on_step=lambda d, t: steps.append((d, t)))
    assert out.shape == (2, 3, n)
    assert not bool((out == model.config.mask_id).any())
    assert steps[-1] == (12, 12) and len(steps) == 12          # 4 windows x 3 steps
    # Redo the first two windows by hand: window 2 keeps window 1's last 4 frames (the overlap)
    # as fixed tokens and generates the rest; the long generator gives the same codes.
    g = gen(7)
    w1 = sample(model, cond[:, 0:16], n_takes=2, steps=3, generator=g)
    fixed = torch.full((2, 3, 16), model.config.mask_id)
    fixed[:, :, :4] = w1[:, :, 12:16]
    w2 = sample(model, cond[:, 12:28], n_takes=2, steps=3, generator=g, fixed=fixed)
    assert torch.equal(out[:, :, :16], w1)
    assert torch.equal(out[:, :, 12:28], w2)
    assert torch.equal(w2[:, :, :4], w1[:, :, 12:16])
    # Same seed, same long take; a window larger than max_frames is refused.
    assert torch.equal(out, generate_long(model, cond, window=16, overlap=4, n_takes=2, steps=3,
                                          generator=gen(7)))
    with pytest.raises(ValueError, match="max_frames"):
        generate_long(model, cond, window=64, steps=2)


def test_regenerate_region_changes_only_the_region(model):
    n = 60
    cond = torch.randn(1, n, 16, generator=gen(2))
    take = generate_long(model, cond, window=32, overlap=8, n_takes=2, steps=3, generator=gen(3))
    new = regenerate_region(model, take, cond, 40, 47, window=16, overlap=4, steps=3, generator=gen(4))
    assert new.shape == take.shape
    assert torch.equal(new[:, :, :40], take[:, :, :40])
    assert torch.equal(new[:, :, 47:], take[:, :, 47:])
    assert not torch.equal(new[:, :, 40:47], take[:, :, 40:47])
    # A region longer than a window is filled window by window.
    new = regenerate_region(model, take, cond, 5, 45, window=16, overlap=4, steps=2, generator=gen(5))
    assert torch.equal(new[:, :, :5], take[:, :, :5]) and torch.equal(new[:, :, 45:], take[:, :, 45:])
    assert not bool((new == model.config.mask_id).any())
    # generate_long with given tokens: the same as a region when the rest is fixed.
    fixed = take.clone()
    fixed[:, :, 40:47] = model.config.mask_id
    again = generate_long(model, cond, window=16, overlap=4, n_takes=2, steps=3, generator=gen(4),
                          fixed=fixed)
    assert torch.equal(again, regenerate_region(model, take, cond, 40, 47, window=16, overlap=4,
                                                steps=3, generator=gen(4)))
    with pytest.raises(ValueError, match=r"region \[50, 70\) is not inside the take's 60 frames"):
        regenerate_region(model, take, cond, 50, 70)


def test_onset_motion_scorer_prefers_synchronous_audio():
    scorer = create_scorer("onset-motion")
    assert isinstance(scorer, SyncScorer) and scorer.name == "onset-motion"
    n, hop = 40, 512
    visual = torch.zeros(1, n, 8)
    events = [5, 17, 30]
    for t in events:                       # a visual change at each event frame
        visual[0, t:, :] += 1.0

    def clicks(frames):
        w = torch.zeros(1, 1, n * hop)
        for t in frames:
            w[0, 0, t * hop:t * hop + 300] = torch.randn(300, generator=gen(t))
        return w

    wave = torch.cat([clicks(events), clicks([t + 6 for t in events]), torch.zeros(1, 1, n * hop)])
    s = scorer.score(wave, 44100, visual)
    assert s.shape == (3,)
    assert s[0] > 0.5 and s[0] > s[1] + 0.3 and abs(float(s[2])) < 1e-3


def test_beam_select_returns_the_best_candidate():
    scores = torch.tensor([[0.1, 0.7, -0.2], [0.9, 0.3, 0.95]])
    cands = torch.arange(6).view(2, 3, 1)
    assert beam_select(cands, scores).tolist() == [1, 2]
    with pytest.raises(ValueError, match="NaN"):
        beam_select(cands, torch.tensor([[0.1, float("nan"), 0.0], [0, 0, 0]]))
    with pytest.raises(ValueError, match="must be"):
        beam_select(cands, scores[:, :2])


def test_sample_with_beam_keeps_the_best_scored_candidate(model):
    tok = Tokenizer(CODEC_PRESETS["tiny"], seed=0).eval()
    assert (tok.n_codebooks, tok.codebook_size) == (3, 128)
    n = 20
    cond = torch.randn(1, n, 16, generator=gen(4))
    scorer = OnsetMotionScorer()
    res = sample_with_beam(model, cond, n_takes=2, beam=3, scorer=scorer, decode=tok.decode,
                           sample_rate=tok.sample_rate, generator=[gen(10), gen(11)], steps=3)
    assert res.codes.shape == (2, 3, n) and res.all_scores.shape == (2, 3)
    assert torch.equal(res.scores, res.all_scores.max(dim=1).values)
    assert torch.equal(res.chosen, res.all_scores.argmax(dim=1))
    # The returned codes are the candidates that scored best: re-scoring them gives that score.
    with torch.no_grad():
        again = scorer.score(tok.decode(res.codes), tok.sample_rate, cond)
    torch.testing.assert_close(again, res.scores, rtol=1e-4, atol=1e-4)
    # Reproducible per take seed; beam 1 equals the plain sampler with the same generator.
    res2 = sample_with_beam(model, cond, n_takes=1, beam=3, scorer=scorer, decode=tok.decode,
                            sample_rate=tok.sample_rate, generator=[gen(11)], steps=3)
    assert torch.equal(res2.codes[0], res.codes[1])
    one = sample_with_beam(model, cond, n_takes=2, beam=1, generator=gen(5), steps=3)
    assert torch.equal(one.codes, sample(model, cond, n_takes=2, steps=3, generator=gen(5)))
    assert one.scores is None
    with pytest.raises(ValueError, match="scorer"):
        sample_with_beam(model, cond, n_takes=1, beam=2, steps=2)
