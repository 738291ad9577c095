"""Motion gain (core.features.motion_gain): a moving picture's features are stretched to the level
the model hears, a still one's are left alone, and the engine and the training cache apply the
model's gain alike."""
from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch

from maskvat_foley.core.features.base import create
from maskvat_foley.core.features.motion_gain import GATE, TARGET, picture_motion, rule, stretch
from maskvat_foley.core.features.shots import clip_features, feature_rule
from test_eval_real import CUT, N, RATE, scene

TIMES = [Fraction(i) / RATE for i in range(N)]


def _change(feats: torch.Tensor) -> float:
    return float((feats[1:] - feats[:-1]).norm(dim=1).mean())


def raw():
    return create("raw", grid=(4, 4), input_size=(32, 32))


def still(cut: int | None = None) -> np.ndarray:
    """scene()'s first frame held (light sensor noise), with its room changing colour at ``cut``."""
    rng = np.random.default_rng(1)
    first, after = scene(n=1, cut=None)[0], scene(n=CUT + 1)[CUT]
    frames = np.stack([after if cut is not None and i >= cut else first for i in range(N)]).astype(np.int16)
    return np.clip(frames + rng.integers(-1, 2, frames.shape), 0, 255).astype(np.uint8)


def test_small_changes_of_a_moving_picture_are_stretched_to_the_target_about_their_mean():
    noise = torch.randn(20, 8, generator=torch.Generator().manual_seed(0)) * 0.02
    feats = torch.cumsum(torch.full((20, 8), 0.01), 0) + noise
    out = stretch(feats, motion=GATE, max_gain=16.0)
    assert abs(_change(out) - TARGET) < 1e-4
    assert torch.allclose(out.mean(0), feats.mean(0), atol=1e-5)
    capped = stretch(feats, motion=GATE, max_gain=2.0)
    assert abs(_change(capped) - 2 * _change(feats)) < 1e-4  # never more than the gain


def test_still_pictures_lively_features_and_no_gain_are_left_alone():
    feats = torch.randn(20, 8) * 0.01
    assert stretch(feats, motion=GATE * 0.99, max_gain=4.0) is feats
    assert stretch(feats, motion=GATE, max_gain=1.0) is feats
    lively = torch.randn(20, 8) * 5
    assert stretch(lively, motion=GATE, max_gain=4.0) is lively
    assert rule(1.0) == {} and rule(4.0) == {"motion_gain": [4.0, TARGET, GATE]}


def test_clip_features_stretch_a_moving_clip_but_not_a_still_one_or_its_cut():
    ext = raw()
    moving = scene()
    assert picture_motion(ext, moving) >= GATE
    plain, gained = clip_features(ext, moving, TIMES), clip_features(ext, moving, TIMES, 4.0)
    assert _change(plain) < TARGET  # raw pixels change little a frame: the case the gain is for
    g = _change(gained) / _change(plain)
    assert 1.5 < g <= 4.0 + 1e-5
    assert torch.allclose(gained, plain.mean(0) + g * (plain - plain.mean(0)), atol=1e-4)
    # a held picture, even one whose room changes colour at a cut, is still: nothing is stretched
    for frames in (still(), still(cut=CUT)):
        assert picture_motion(ext, frames, shots=[CUT]) < GATE
        assert torch.equal(clip_features(ext, frames, TIMES, 4.0), clip_features(ext, frames, TIMES))


def test_the_engine_conditions_on_its_models_gain(tmp_path, foley_edit):
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.model.checkpoint import init_random
    from maskvat_foley.core.pipeline import Selection, prepare

    job = prepare(foley_edit["path"], Selection(all=True)).jobs[0]
    feats = {}
    for gain in (1.0, 4.0):
        model = init_random(tmp_path / f"model{gain}", preset="tiny", motion_gain=gain)
        engine = Engine(str(model), device="cpu", cache_dir=str(tmp_path / f"cache{gain}"))
        feats[gain] = engine.features(job)
        assert torch.equal(engine.features(job), feats[gain]) and engine.feature_calls == 1  # cached
    assert _change(feats[4.0]) > 1.5 * _change(feats[1.0])


def test_the_token_cache_holds_the_models_gain_and_rebuilds_when_it_changes(tmp_path):
    from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer
    from maskvat_foley.core.train.cache import MANIFEST, build_cache, load_cache
    from maskvat_foley.core.train.sources import FoleyWorldSource

    source = FoleyWorldSource(n=2, size=(32, 32), seconds=1)
    tok, ext = Tokenizer(CODEC_PRESETS["tiny"], seed=0).eval(), raw()
    d = tmp_path / "cache"
    build_cache(d, source, tok, ext, shard_size=2, workers=0)
    manifest = json.loads((d / MANIFEST).read_text())
    assert "motion_gain" not in manifest and manifest["shots"] == feature_rule()["shots"]
    plain = load_cache(d)
    build_cache(d, source, tok, ext, shard_size=2, workers=0, motion_gain=4.0)
    assert json.loads((d / MANIFEST).read_text())["motion_gain"] == [4.0, TARGET, GATE]
    gained = load_cache(d)
    assert [c.key for c in gained] == [c.key for c in plain]
    assert all(torch.equal(a.codes, b.codes) for a, b in zip(plain, gained))
    assert any(not torch.equal(a.cond, b.cond) for a, b in zip(plain, gained))


def test_a_gain_outside_its_range_is_refused():
    from maskvat_foley.core.model.config import preset

    with pytest.raises(ValueError, match="motion_gain"):
        preset("tiny", motion_gain=0.5)
