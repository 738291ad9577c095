"""FoleyWorld's footage look: the classic look unchanged, determinism, camera sizes, picture
statistics, camera motion, silent cuts and distractors, exposure, event scales, writing."""
from __future__ import annotations

import hashlib
import json
from fractions import Fraction

import numpy as np
import pytest

from maskvat_foley.core.data import camera, footage
from maskvat_foley.core.data import generate_clip, plan_clip, render_audio

SMALL = (160, 90)
FOOTAGE = "footage"


def _h(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


# sha256[:16] of (spec JSON, every 7th frame, audio), computed with the code before the footage
# look existed: the classic look (the bundled model's training and evaluation data) must stay
# bit-identical for the same seed and arguments.
CLASSIC = [
    (dict(seed=1234, seconds=2), "00e71398e3894ac3", "c0c13ac9db8a3150", "85c57dfcfff7a735"),
    (dict(seed=21, kinds=["impact", "rain"], seconds=2, size=(128, 96)),
     "571a029dd30d95dd", "fdb17f92bcc43ff2", "31f8a57559e4fe7a"),
    (dict(seed=77, seconds=1, kinds=["engine"], size=(64, 48)), "d1544116af20ba14", "1d6222a0f0c4b2ea", "571cfc28f7566962"),
]


@pytest.mark.parametrize("case,spec_h,frames_h,audio_h", CLASSIC)
def test_classic_look_is_bit_identical_to_before(case, spec_h, frames_h, audio_h):
    kw = dict(case)
    seed = kw.pop("seed")
    for look in ({}, {"look": "classic"}):
        clip = generate_clip(seed, **kw, **look)
        assert _h(json.dumps(clip.spec.to_dict(), sort_keys=True).encode()) == spec_h
        assert _h(clip.frames[::7].tobytes()) == frames_h
        assert _h(clip.audio.tobytes()) == audio_h
        assert "look" not in clip.spec.to_dict()


def test_same_seed_same_footage_clip():
    a = generate_clip(31, seconds=1, size=SMALL, look=FOOTAGE)
    b = generate_clip(31, seconds=1, size=SMALL, look=FOOTAGE)
    c = generate_clip(32, seconds=1, size=SMALL, look=FOOTAGE)
    assert np.array_equal(a.frames, b.frames) and np.array_equal(a.audio, b.audio)
    assert a.spec.to_dict() == b.spec.to_dict()
    assert a.spec.to_dict()["look"] == "footage"
    json.dumps(a.spec.to_dict())  # the record is plain JSON
    assert a.frames.shape != c.frames.shape or not np.array_equal(a.frames, c.frames)
    assert np.array_equal(generate_clip(31, seconds=1, size=SMALL, look=FOOTAGE, video=False).audio, a.audio)


def test_camera_sizes():
    sizes = {(p.width, p.height) for p in (plan_clip(s, seconds=1, look=FOOTAGE) for s in range(60))}
    assert sizes <= set(footage.CAMERA_SIZES) and len(sizes) >= 8
    assert min(min(s) for s in sizes) >= 144 and any(w < h for w, h in sizes) and any(w * 3 == h * 4 for w, h in sizes)
    for size in ((256, 144), (96, 128), (128, 96)):
        clip = generate_clip(5, seconds=Fraction(1, 2), size=size, look=FOOTAGE)
        assert clip.frames.shape[1:] == (size[1], size[0], 3) and clip.frames.dtype == np.uint8


def _lum(frame: np.ndarray) -> np.ndarray:
    return frame.astype(np.float64) @ [0.299, 0.587, 0.114]


def _spectral_slope(g: np.ndarray, lo: float = 1 / 64, hi: float = 1 / 8) -> float:
    """Slope of the radially averaged power spectrum (log-log) between lo and hi cycles/px;
    photographs give about -2 (amplitude about -1)."""
    g = g - g.mean()
    H, W = g.shape
    p = np.abs(np.fft.fft2(g * np.hanning(H)[:, None] * np.hanning(W)[None, :])) ** 2
    f = np.sqrt(np.fft.fftfreq(H)[:, None] ** 2 + np.fft.fftfreq(W)[None, :] ** 2)
    edges = np.geomspace(lo, hi, 8)
    idx = np.digitize(f, edges)
    power = [p[idx == i].mean() for i in range(1, len(edges))]
    return float(np.polyfit(np.log(np.sqrt(edges[1:] * edges[:-1])), np.log(power), 1)[0])


def _texture_coverage(g: np.ndarray, thr: float = 2.5) -> float:
    """Share of 8x8 blocks (of the 2x2-averaged picture, so sensor noise counts little) with
    detail: flat shapes have it only along their edges."""
    d = (g[0::2, 0::2] + g[1::2, 0::2] + g[0::2, 1::2] + g[1::2, 1::2]) / 4
    H, W = d.shape[0] // 8 * 8, d.shape[1] // 8 * 8
    return float((d[:H, :W].reshape(H // 8, 8, W // 8, 8).std(axis=(1, 3)) > thr).mean())


def test_footage_frames_have_natural_image_statistics():
    stats = {}
    for look in ("classic", FOOTAGE):
        frames = [generate_clip(s, seconds=Fraction(1, 4), size=(256, 144), look=look).frames[3] for s in range(8)]
        stats[look] = ([_spectral_slope(_lum(f)) for f in frames], [_texture_coverage(_lum(f)) for f in frames])
    slopes, cover = stats[FOOTAGE]
    assert -3.0 <= float(np.median(slopes)) <= -1.5, slopes
    assert float(np.median(cover)) >= 0.6 and float(np.median(cover)) > float(np.median(stats["classic"][1])) + 0.2


def test_camera_motion_moves_the_picture_without_events():
    base = {"name": FOOTAGE, "distractors": False, "cuts": False}
    shaky = next(s for s in range(50) if plan_clip(s, seconds=1, size=SMALL, kinds=[], look=base).camera["shake"]["amp"] > 1.5)
    moving = generate_clip(shaky, seconds=1, size=SMALL, kinds=[], look=base)
    assert moving.events == []
    still = generate_clip(shaky, seconds=1, size=SMALL, kinds=[], look={**base, "motion": False})
    e_move = float(np.abs(np.diff(moving.frames.astype(np.int16), axis=0)).mean())
    e_still = float(np.abs(np.diff(still.frames.astype(np.int16), axis=0)).mean())  # sensor noise only
    assert e_move > 1.3 * e_still + 0.5, (e_move, e_still)
    assert still.spec.camera["shake"]["amp"] == 0 and {s["motion"] for s in still.spec.camera["shots"]} == {"still"}
    assert np.array_equal(moving.audio, still.audio)


def _event_keys(spec):
    return [(e.kind, e.frame, e.time, e.params["world_x"], e.params["world_y"], e.params.get("strength"))
            for e in spec.events]


def test_cuts_and_distractors_make_no_events_and_no_sound():
    seed = next(s for s in range(100, 200) if len(plan_clip(s, seconds=3, size=SMALL, kinds=["tick"], look=FOOTAGE).events) >= 3)
    kw = dict(seconds=3, size=SMALL, kinds=["tick"])
    variants = [{"name": FOOTAGE, "cuts": c, "distractors": d} for c in (2, False) for d in (True, False)]
    specs = [plan_clip(seed, look=v, **kw) for v in variants]
    cut_spec = specs[0]
    cuts = camera.cut_frames(cut_spec.camera)
    assert len(cuts) >= 1 and camera.cut_frames(specs[2].camera) == []
    for c in cuts:  # no event anywhere near a cut
        assert all(abs(e.frame - c) > camera.CUT_CLEARANCE for e in cut_spec.events)
    assert all(_event_keys(s) == _event_keys(cut_spec) for s in specs)
    audio = [render_audio(s) for s in specs]
    assert all(np.array_equal(a, audio[0]) for a in audio)
    # the audio around the cut is the audio of the same clip without the cut
    n = cut_spec.num_samples()
    for c in cuts:
        s0 = c * 44100 * cut_spec.rate.denominator // cut_spec.rate.numerator
        lo, hi = max(s0 - 2205, 0), min(s0 + 2205, n)
        assert np.array_equal(audio[0][lo:hi], audio[2][lo:hi])
    assert specs[1].footage["distractors"] == [] and cut_spec.footage["distractors"] == specs[2].footage["distractors"]
    # and the cut is a real change of picture
    clip = generate_clip(seed, look=variants[0], **kw)
    diff = np.abs(np.diff(clip.frames.astype(np.int16), axis=0)).mean(axis=(1, 2, 3))
    assert diff[cuts[0] - 1] > 3 * float(np.median(diff))


def test_dark_and_bright_exposures():
    mean = {}
    for exp in ("dark", "normal", "bright"):
        clip = generate_clip(11, seconds=Fraction(1, 3), size=SMALL, look={"name": FOOTAGE, "exposure": exp})
        assert clip.spec.footage["optics"]["exposure"] == exp
        mean[exp] = float(_lum(clip.frames).mean())
    assert mean["dark"] < 0.6 * mean["normal"] and mean["dark"] < 70
    assert mean["bright"] > mean["normal"] + 25 and mean["bright"] > 150
    modes = {plan_clip(s, seconds=1, size=SMALL, look=FOOTAGE).footage["optics"]["exposure"] for s in range(40)}
    assert modes == {"dark", "normal", "bright"}


def test_events_at_every_scale():
    scales = [e.params["scale"] for s in range(40)
              for e in plan_clip(s, seconds=2, size=(256, 144), kinds=["impact"], look=FOOTAGE).events]
    assert min(scales) < 0.35 and max(scales) > 0.75
    for u in (0.3, 0.9):
        spec = plan_clip(7, seconds=2, size=(320, 180), kinds=["strike"], look={"name": FOOTAGE, "scale": u, "cuts": False, "motion": False})
        assert all(abs(e.params["scale"] - u) < 0.12 for e in spec.events)
        assert all(e.params["in_view"] for e in spec.events)


def test_footage_events_keep_their_meaning():
    for seed in (4, 9):
        classic = plan_clip(seed, seconds=3)
        spec = plan_clip(seed, seconds=3, size=SMALL, look=FOOTAGE)
        assert (spec.rate, spec.n_frames) == (classic.rate, classic.n_frames)
        assert [s.kind for s in spec.sources] == [s.kind for s in classic.sources]
        for e in spec.events:
            assert e.time == Fraction(e.frame) / spec.rate and isinstance(e.time, Fraction)
            assert {"world_x", "world_y", "in_view", "scale"} <= set(e.params)


def test_bad_looks_are_refused():
    with pytest.raises(ValueError, match="unknown FoleyWorld look 'film'"):
        plan_clip(1, look="film")
    with pytest.raises(ValueError, match="blur"):
        plan_clip(1, look={"name": FOOTAGE, "blur": 2})
    with pytest.raises(ValueError, match="classic"):
        plan_clip(1, look={"name": "classic", "cuts": False})
    with pytest.raises(ValueError, match="exposure"):
        plan_clip(1, look={"name": FOOTAGE, "exposure": "night"})


def test_write_footage_clip_through_pyav(tmp_path):
    import av

    from maskvat_foley.core.data import write_clip

    clip = generate_clip(40, seconds=1, rate=25, size=SMALL, kinds=["impact"], look=FOOTAGE)
    path = write_clip(clip, tmp_path)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["look"] == "footage" and meta["width"] == SMALL[0] and meta["n_frames"] == 25
    assert [Fraction(e["time"]) for e in meta["events"]] == [e.time for e in clip.events]
    with av.open(str(path)) as c:
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    assert len(frames) == 25 and frames[0].shape == (SMALL[1], SMALL[0], 3)
    assert np.abs(np.stack(frames).astype(int) - clip.frames.astype(int)).mean() < 8  # same picture


def test_training_source_films_footage_at_camera_size_and_scales_it_down():
    """The training source's footage clips: filmed at a camera size, area-scaled to the size the
    visual tower reads, with the same sound and events as when rendered on their own."""
    import numpy as np

    from maskvat_foley.core.data import generate_clip
    from maskvat_foley.core.train.sources import make_source

    src = make_source({"type": "foleyworld", "n": 2, "seconds": 1.0, "look": "footage"}, size=(64, 48),
                      split="train")
    clip = src.get(0)
    alone = generate_clip(src.seeds[0], seconds=1.0, look="footage")
    assert clip.frames.shape == (alone.frames.shape[0], 48, 64, 3) and clip.frames.dtype == np.uint8
    assert alone.frames.shape[1] >= 144  # filmed at a camera size, not at 64x48
    assert np.array_equal(clip.audio, alone.audio.astype(np.float32))
    mean_big, mean_small = alone.frames.mean(), clip.frames.mean()
    assert abs(mean_big - mean_small) < 2.0  # area averaging keeps the exposure
    assert src.describe()["look"] == "footage"


def test_foleyworld_make_writes_the_footage_look(tmp_path):
    import av

    from maskvat_foley.plugin.cli import main

    assert main(["foleyworld", "make", "--n", "1", "--seed", "5", "--seconds", "1", "--look", "footage",
                 "--size", "128x72", "-o", str(tmp_path / "a")]) == 0
    rec = json.loads((tmp_path / "a" / "foleyworld_0000005.json").read_text())
    assert rec["look"] == FOOTAGE
    with av.open(str(tmp_path / "a" / rec["video"])) as f:
        s = f.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == (128, 72)
    # no --size: the clip keeps its own camera size, the one generate_clip picks for the seed
    assert main(["foleyworld", "make", "--n", "1", "--seed", "5", "--seconds", "1", "--look", "footage",
                 "-o", str(tmp_path / "b")]) == 0
    want = generate_clip(5, seconds=1, look=FOOTAGE).frames.shape[1:3]
    with av.open(str(tmp_path / "b" / "foleyworld_0000005.mp4")) as f:
        s = f.streams.video[0]
        assert (s.codec_context.height, s.codec_context.width) == want
