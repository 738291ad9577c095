"""A silent take on a moving picture is drawn again from a seed derived from its own, at a stronger
guidance; on a still picture it is kept (core/engine/redraw.py). Real engine, real tiny model, real
videos; the first draw of chosen seeds is made silent, as the model sometimes makes it."""
from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from conftest import RATE, engine_media
from maskvat_foley.core.engine.redraw import REDRAWS, SILENT_PEAK_DBFS, is_silent, redraw_guidance, redraw_seed
from maskvat_foley.core.jobs import MAX_SEED, ClipJob, GenerationParams


@pytest.fixture(scope="module")
def engine(tiny_model, tmp_path_factory):
    from maskvat_foley.core.engine.engine import Engine

    return Engine(tiny_model, device="cpu", cache_dir=str(tmp_path_factory.mktemp("redraw") / "cache"))


@pytest.fixture(scope="module")
def moving(tmp_path_factory) -> str:
    return engine_media(tmp_path_factory.mktemp("media"))["a"]  # the picture brightens 9 grey levels a frame


def job(path, clip_id) -> ClipJob:
    return ClipJob(clip_id=clip_id, name=clip_id, media_path=str(path), media_rate=RATE, source_start=0,
                   source_duration=24, timeline_rate=RATE, record_start=0, record_duration=24,
                   timeline_name="tl")


class Drawn(list):
    guidances: list[float]

    def __init__(self):
        super().__init__()
        self.guidances = []


def silence_first_draws(engine, monkeypatch, silent_seeds):
    """The engine's sampler, with the draws of ``silent_seeds`` made silent; returns the seeds drawn
    and, in ``guidances``, the guidance of each draw."""
    real, drawn = engine._sample, Drawn()

    def sample(cond, seeds, params, cancel, step=None, fixed=None, ref=None):
        drawn.append(list(seeds))
        drawn.guidances.append(params.guidance)
        codes, waves, scores = real(cond, seeds, params, cancel, step, fixed, ref)
        return codes, [w * 0 if s in silent_seeds else w for s, w in zip(seeds, waves)], scores

    monkeypatch.setattr(engine, "_sample", sample)
    return drawn


def audio(take) -> np.ndarray:
    return sf.read(take.path, dtype="float32")[0]


def test_silence_and_derived_seeds():
    floor = np.full(1000, 10 ** ((SILENT_PEAK_DBFS - 1) / 20))
    assert is_silent(np.zeros(1000)) and is_silent(floor) and is_silent(-floor)
    hit = floor.copy()
    hit[500] = -(10 ** ((SILENT_PEAK_DBFS + 1) / 20))  # one quiet hit is a sound
    assert not is_silent(hit)
    seeds = {redraw_seed(s, a) for s in range(50) for a in range(1, REDRAWS + 1)}
    assert len(seeds) == 50 * REDRAWS and all(0 <= s < MAX_SEED for s in seeds)
    assert redraw_seed(7, 1) == redraw_seed(7, 1) and redraw_seed(7, 1) not in range(0, 60)
    assert [redraw_guidance(2.0, a) for a in (0, 1, 2)] == [2.0, 3.0, 4.0]
    assert redraw_guidance(0.5, 2) == 0.5  # a picture not heard is not pushed toward


def test_a_silent_take_on_a_moving_picture_is_drawn_again(engine, moving, tmp_path, monkeypatch):
    assert engine.picture_moves(job(moving, "m"))
    drawn = silence_first_draws(engine, monkeypatch, {5})
    params = GenerationParams(takes=2, seed=5, steps=2)
    takes = {t.seed: t for t in engine.generate([job(moving, "m")], params, out_dir=str(tmp_path / "o"))[0].takes}
    assert drawn == [[5, 6], [redraw_seed(5, 1)]]  # only the silent take is drawn again
    assert drawn.guidances == [2.0, 3.0]  # and it listens to the picture harder
    assert takes[5].metadata["redrawn_seed"] == redraw_seed(5, 1) and "redrawn_seed" not in takes[6].metadata
    assert takes[5].metadata["redrawn_guidance"] == 3.0 and "redrawn_guidance" not in takes[6].metadata
    assert not is_silent(audio(takes[5]))
    # The kept draw is exactly the take its seed gives on its own at the guidance recorded.
    monkeypatch.undo()
    alone = engine.generate([job(moving, "m")],
                            GenerationParams(takes=1, seed=redraw_seed(5, 1), steps=2, guidance=3.0),
                            out_dir=str(tmp_path / "alone"))[0].takes[0]
    assert np.array_equal(audio(alone), audio(takes[5]))


def test_a_take_silent_in_every_draw_keeps_its_first(engine, moving, tmp_path, monkeypatch):
    seeds = {3} | {redraw_seed(3, a) for a in range(1, REDRAWS + 1)}
    drawn = silence_first_draws(engine, monkeypatch, seeds)
    take = engine.generate([job(moving, "m")], GenerationParams(takes=1, seed=3, steps=2),
                           out_dir=str(tmp_path / "o"))[0].takes[0]
    assert drawn == [[3]] + [[redraw_seed(3, a)] for a in range(1, REDRAWS + 1)]
    assert drawn.guidances == [redraw_guidance(2.0, a) for a in range(REDRAWS + 1)]
    assert "redrawn_seed" not in take.metadata and is_silent(audio(take))


def test_a_silent_take_on_a_still_picture_is_kept(engine, tmp_path, monkeypatch):
    from maskvat_foley.core.media.video_writer import write_video

    still = write_video(tmp_path / "still.mp4", [np.full((48, 64, 3), 120, np.uint8)] * 24, RATE)
    drawn = silence_first_draws(engine, monkeypatch, {5})
    take = engine.generate([job(still, "s")], GenerationParams(takes=1, seed=5, steps=2),
                           out_dir=str(tmp_path / "o"))[0].takes[0]
    assert drawn == [[5]] and "redrawn_seed" not in take.metadata and is_silent(audio(take))
    # Once measured, the motion is kept: the picture is not decoded again for it.
    monkeypatch.setattr(engine.frames, "read", lambda *a: pytest.fail("the picture was decoded again"))
    assert not engine.picture_moves(job(still, "s"))


def test_a_model_with_a_motion_gain_keeps_the_motion_it_measured_with_the_features(tiny_model, tmp_path, monkeypatch):
    from maskvat_foley.core.engine.engine import Engine

    engine = Engine(tiny_model, device="cpu", cache_dir=str(tmp_path / "cache"))
    monkeypatch.setattr(engine.ckpt.config, "motion_gain", 2.0)
    moving = engine_media(tmp_path)["a"]
    engine.features(job(moving, "m"))
    monkeypatch.setattr(engine.frames, "read", lambda *a: pytest.fail("the picture was decoded again"))
    assert engine.picture_moves(job(moving, "m"))
