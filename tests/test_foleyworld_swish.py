"""FoleyWorld's swish: an arm that swings, its sound following the hand's speed, made only on request."""
from __future__ import annotations

import json

import numpy as np
import pytest

from maskvat_foley.core.data import generate_clip, plan_clip
from maskvat_foley.core.eval.metrics import motion_signal
from maskvat_foley.core.train.sources import FoleyWorldSource


def _per_frame(clip) -> tuple[np.ndarray, np.ndarray]:
    """(audio RMS, picture change around the arm) for every video frame of ``clip``, from the
    clip's own arrays. The change is the evaluation's motion signal (4x4 block means, which damp
    the look's sensor noise) over the square the arm sweeps."""
    n, sr = clip.spec.n_frames, clip.sample_rate
    edges = [round(f * sr / clip.rate) for f in range(n + 1)]
    rms = np.array([np.sqrt(np.mean(np.square(clip.audio[a:b], dtype=np.float64))) for a, b in zip(edges, edges[1:])])
    p = clip.spec.sources[0].params
    (sx, sy), reach = p["shoulder"], 1.2 * p["length"]
    H, W = clip.frames.shape[1:3]
    y0, y1, x0, x1 = (int(max(0, sy - reach)), int(min(H, sy + reach)), int(max(0, sx - reach)),
                      int(min(W, sx + reach)))
    return rms, motion_signal(clip.frames[:, y0:y1, x0:x1])


@pytest.mark.parametrize("seed", [3, 7, 21])
def test_the_sound_follows_the_arm_and_stops_when_it_rests(seed):
    clip = generate_clip(seed, kinds=["swish"], seconds=5, rate=25)
    assert clip.events and {e.kind for e in clip.events} == {"swish"}
    rms, change = _per_frame(clip)
    still = np.median(change)  # the arm rests most of the time: this is the noise's change
    moving = change > 3 * still
    # loud while the arm moves, room noise while it rests
    assert np.median(rms[moving]) > 20 * np.median(rms[~moving])
    assert np.corrcoef(rms[1:], change[1:])[0, 1] > 0.6
    # each gesture is seen and heard from its event's frame, and the arm was at rest before it
    gestures = {f: dur for f, dur, _ in clip.spec.sources[0].params["gestures"]}
    for e in clip.events:
        seen = change[e.frame:e.frame + gestures[e.frame] + 1].max()
        assert seen > 6 * still and change[e.frame - 3:e.frame].mean() < 0.2 * seen
        assert rms[e.frame:e.frame + gestures[e.frame]].max() > 20 * np.median(rms[~moving])
    assert float(np.abs(clip.audio).max()) < 1.0


def test_a_faster_swing_is_louder():
    clip = generate_clip(7, kinds=["swish"], seconds=5, rate=25, video=False)
    gestures = clip.spec.sources[0].params["gestures"]
    sr = clip.sample_rate
    peaks = []
    for f, dur, _ in gestures:
        a, b = round(f * sr / clip.rate), round((f + dur) * sr / clip.rate)
        peaks.append(float(np.abs(clip.audio[a:b]).max()))
    strengths = [e.params["strength"] for e in clip.events]
    assert len(set(strengths)) > 1, "the test needs gestures of different speeds"
    assert np.argmax(peaks) == np.argmax(strengths) and np.argmin(peaks) == np.argmin(strengths)


def test_swish_is_made_only_when_asked():
    seeds = range(60)
    plain = [plan_clip(s, seconds=3) for s in seeds]
    assert not any(src.kind == "swish" for c in plain for src in c.sources)
    # a chance of 0 leaves every clip as it was
    assert all(json.dumps(plan_clip(s, seconds=3, swish=0.0).to_dict()) == json.dumps(c.to_dict())
               for s, c in zip(seeds, plain))
    every = [plan_clip(s, seconds=3, swish=1.0) for s in seeds]
    for before, after in zip(plain, every):
        if before.events:  # beside its one source or in place of its second
            assert [x.kind for x in after.sources] == [before.sources[0].kind, "swish"]
        else:  # a silent scene stays silent, with no arm
            assert not after.events and "swish" not in [x.kind for x in after.sources]
    share = np.mean([any(x.kind == "swish" for x in plan_clip(s, seconds=3, swish=0.35).sources) for s in seeds])
    assert 0.2 < share < 0.5
    assert {e.kind for e in plan_clip(5, seconds=3, kinds=["impact", "swish"]).events} <= {"impact", "swish"}
    with pytest.raises(ValueError, match="swish chance"):
        plan_clip(1, swish=1.5)


def test_the_training_source_passes_the_chance_and_keeps_old_manifests():
    src = FoleyWorldSource(n=4, swish=1.0)
    assert any(x.kind == "swish" for i in range(4) for x in src.spec(i).sources)
    assert src.describe()["swish"] == 1.0
    assert "swish" not in FoleyWorldSource(n=4).describe()  # earlier configs' caches stay current
