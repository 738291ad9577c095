"""A cut is a new picture, not motion and not an event: the features see each shot on its own and
cross over between the shots around the cut (the engine and the training cache alike), and the
real-footage evaluation's motion curve has no peak at a cut."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import torch

from maskvat_foley.core.eval.metrics import motion_signal, video_peaks
from maskvat_foley.core.features.base import create
from maskvat_foley.core.features.shots import CROSSFADE, clip_features, crossfade_cuts
from maskvat_foley.core.jobs import ClipJob
from test_eval_real import CUT, N, RATE, scene, write


def raw():
    return create("raw", grid=(4, 4), input_size=(32, 32))  # [grey grid | |difference| grid]


def diff_energy(feats: torch.Tensor) -> np.ndarray:
    return feats[:, 16:].abs().sum(dim=1).numpy()


def test_each_shot_is_extracted_on_its_own():
    ext, rgb = raw(), scene()
    whole = ext.extract(rgb)
    split = ext.extract(rgb, shots=[CUT])
    assert torch.equal(split, torch.cat([ext.extract(rgb[:CUT]), ext.extract(rgb[CUT:])]))
    assert torch.equal(split[:CUT], whole[:CUT]) and torch.equal(split[CUT + 1:], whole[CUT + 1:])
    # across the cut the whole room changes colour: the largest "motion" of the clip, unless split
    assert int(np.argmax(diff_energy(whole))) == CUT
    assert diff_energy(split)[CUT] == 0.0
    # shots at the clip's edges or repeated change nothing
    assert torch.equal(ext.extract(rgb, shots=[0, N, CUT, CUT]), split)
    times = [Fraction(i) / RATE for i in range(N)]
    assert torch.equal(clip_features(ext, rgb, times), crossfade_cuts(split, [CUT], times))  # the detector finds it
    assert torch.equal(clip_features(ext, scene(cut=None), times), ext.extract(scene(cut=None)))


def test_features_cross_over_between_the_shots_in_a_straight_line():
    times = [Fraction(i) / RATE for i in range(N)]
    f = torch.randn(N, 5, generator=torch.Generator().manual_seed(0))
    out = crossfade_cuts(f, [CUT], times)
    # 0.1 s either side of the cut at 1.25 s: the anchors are frame 27 (1.125 s) and frame 33 (1.375 s)
    assert CROSSFADE == Fraction(1, 10)
    a, b = 27, 33
    assert torch.equal(out[:a + 1], f[:a + 1]) and torch.equal(out[b:], f[b:])
    for i in range(a + 1, b):
        w = (i - a) / (b - a)
        assert torch.allclose(out[i], (1 - w) * f[a] + w * f[b])
    assert not torch.allclose(out[a + 1:b], f[a + 1:b])
    # anchors stay inside their shots: a cut 2 frames after another, and cuts at the clip's edges
    near = crossfade_cuts(f, [CUT, CUT + 2], times)
    assert torch.equal(near[:a + 1], f[:a + 1])  # the 2-frame shot is both ramps' anchor, never crossed
    assert torch.allclose(near[CUT], f[a] + (f[CUT + 1] - f[a]) * 3 / 4)
    assert torch.allclose(near[CUT + 1], f[CUT] + (f[CUT + 5] - f[CUT]) / 5)
    assert torch.equal(crossfade_cuts(f, [0, N], times), f)
    early = crossfade_cuts(f, [1], times)  # no frame 0.1 s before it: the anchor is the first frame
    assert torch.allclose(early[1], f[0] + (f[4] - f[0]) / 4)
    with pytest.raises(ValueError, match="frame times"):
        crossfade_cuts(f, [CUT], times[:-1])


def test_the_motion_curve_has_no_peak_at_a_cut():
    rgb = scene()
    plain, split = motion_signal(rgb), motion_signal(rgb, shots=[CUT])
    assert int(np.argmax(plain)) == CUT and split[CUT] == split[CUT + 1]
    assert np.array_equal(np.delete(plain, CUT), np.delete(split, CUT))
    at_cut = Fraction(CUT) / RATE
    assert at_cut in video_peaks(plain, RATE) and at_cut not in video_peaks(split, RATE)
    assert motion_signal(rgb, shots=[N - 1])[N - 1] == 0.0  # a cut on the last frame: no change known


def test_the_engine_conditions_on_shots(tmp_path, tiny_model):
    """Through a real PyAV video and the real Engine: the conditioning at the cut carries no more
    change than the square's ordinary drops, which it would outweigh many times over unsplit."""
    from maskvat_foley.core.engine.engine import Engine

    path = write(tmp_path / "cut.mp4", scene())
    engine = Engine(tiny_model, device="cpu", cache_dir=str(tmp_path / "cache"))
    grid = engine.ckpt.extractor.grid
    job = ClipJob(clip_id="V1.1", name="cut", media_path=path, media_rate=RATE, source_start=0,
                  source_duration=N, timeline_rate=RATE, record_start=0, record_duration=N)
    cond = engine.features(job).cpu()
    energy = cond[:, grid[0] * grid[1]:].abs().sum(dim=1).numpy()
    rate = Fraction(engine.ckpt.tokenizer.frame_rate)
    t = np.arange(len(energy)) / float(rate)
    near = np.abs(t - float(Fraction(CUT) / RATE)) < 1.5 / float(RATE)
    assert near.any() and energy[near].max() <= energy[~near].max()
    # and it crosses from one shot's look to the next in a straight line (anchors 27/24 s and 33/24 s):
    # no step at the cut for the model to hear as an event
    ramp = (t > 27 / 24) & (t < 33 / 24)
    step = cond[1:] - cond[:-1]
    assert ramp.sum() >= 15 and torch.allclose(step[ramp[1:] & ramp[:-1]], step[np.argmax(ramp)], atol=1e-4)
    assert step[np.argmax(ramp)].abs().max() > 1e-3  # the two shots do differ
    # unsplit, the same picture frames put the cut far above every drop: the check above can fail
    frames = engine.frames.read(job, engine.frames.locate(job), engine.ckpt.extractor.input_size).rgb
    per_frame = engine.ckpt.extractor.extract(frames)[:, grid[0] * grid[1]:].abs().sum(dim=1).numpy()
    assert per_frame[CUT] > 3 * np.delete(per_frame, CUT).max()
