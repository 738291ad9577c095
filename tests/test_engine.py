"""The in-process engine: takes, seeds, the feature cache, regions, failures, cancel."""
from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile

from maskvat_foley.core.engine.api import Cancelled
from maskvat_foley.core.jobs import GenerationParams
from maskvat_foley.core.pipeline import Selection, prepare
from maskvat_foley.core.timeline.rates import sample_span


@pytest.fixture(scope="module")
def engine(tiny_model, tmp_path_factory):
    from maskvat_foley.core.engine.engine import Engine

    return Engine(tiny_model, device="cpu", cache_dir=str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="module")
def jobs(foley_edit):
    prepared = prepare(foley_edit["path"], Selection(all=True))
    assert [c for c, _ in prepared.skipped] == [foley_edit["missing_id"]]
    return {j.clip_id: j for j in prepared.jobs}


def test_takes_are_exact_best_first_and_reproducible(engine, jobs, tmp_path):
    job = jobs["V1.1"]
    params = GenerationParams(seed=100, takes=3, beam=2)
    [result] = engine.generate([job], params, out_dir=str(tmp_path / "a"))
    assert result.ok and sorted(t.seed for t in result.takes) == [100, 101, 102]
    scores = [t.sync_score for t in result.takes]
    assert scores == sorted(scores, reverse=True)
    time_reference, n = sample_span(job.record_start, job.record_end, job.timeline_rate, 48000)
    for t in result.takes:
        assert (t.time_reference, t.num_samples) == (time_reference, n)
        assert soundfile.info(t.path).frames == n
    # A seed gives its take again, alone or among others.
    [again] = engine.generate([job], GenerationParams(seed=101, takes=1, beam=2),
                              out_dir=str(tmp_path / "b"))
    first = {t.seed: soundfile.read(t.path)[0] for t in result.takes}
    assert np.array_equal(soundfile.read(again.takes[0].path)[0], first[101])
    assert not np.array_equal(first[100], first[101])


def test_regenerate_hits_the_feature_cache(engine, jobs, tmp_path):
    job = jobs["V1.2"]
    engine.generate([job], GenerationParams(seed=1, takes=1), out_dir=str(tmp_path))
    calls, hits = engine.feature_calls, engine.cache.stats.hits
    engine.generate([job], GenerationParams(seed=2, takes=1), out_dir=str(tmp_path))
    assert engine.feature_calls == calls and engine.cache.stats.hits == hits + 1


def test_region_regenerate_changes_only_the_region(engine, jobs, tmp_path):
    from maskvat_foley.core.engine.takes import load_codes

    job = jobs["V1.1"]
    [res] = engine.generate([job], GenerationParams(seed=5, takes=1), out_dir=str(tmp_path))
    base = res.takes[0]
    new = engine.regenerate_region(job, base, 12, 24, GenerationParams(seed=77),
                                   out_dir=str(tmp_path))
    assert new.seed == 77 and new.num_samples == base.num_samples
    assert new.time_reference == base.time_reference
    assert new.metadata["region"] == [12, 24]
    a, b = load_codes(base), load_codes(new)
    rate = engine.ckpt.tokenizer.frame_rate
    lo = int(12 / job.timeline_rate * rate)
    hi = -int(-24 / job.timeline_rate * rate // 1)
    assert np.array_equal(a[:, :lo], b[:, :lo]) and np.array_equal(a[:, hi:], b[:, hi:])
    assert not np.array_equal(a[:, lo:hi], b[:, lo:hi])
    with pytest.raises(ValueError, match="outside clip"):
        engine.regenerate_region(job, base, 30, 99, GenerationParams(), out_dir=str(tmp_path))


def test_a_broken_clip_fails_alone(engine, jobs, tmp_path):
    import dataclasses

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42 not really a video")
    bad = dataclasses.replace(jobs["V1.1"], clip_id="V9.1", media_path=str(broken))
    gone = dataclasses.replace(jobs["V1.1"], clip_id="V9.2", media_path=str(tmp_path / "gone.mp4"))
    seen = []
    results = engine.generate([bad, jobs["V1.2"], gone], GenerationParams(seed=3, takes=1),
                              out_dir=str(tmp_path), progress=seen.append)
    assert [r.ok for r in results] == [False, True, False]
    assert "broken.mp4" in results[0].error and "gone.mp4" in results[2].error
    assert {p.stage for p in seen if p.clip_id == "V9.1"} >= {"failed"}
    assert any(p.stage == "done" and p.clip_id == "V1.2" for p in seen)


def test_cancel_stops_generation(engine, jobs, tmp_path):
    cancel = threading.Event()

    def progress(p):
        if p.stage == "sampling" and p.fraction > 0:
            cancel.set()

    with pytest.raises(Cancelled):
        engine.generate([jobs["V1.1"], jobs["V1.2"]], GenerationParams(seed=1, takes=1, steps=8),
                        out_dir=str(tmp_path), progress=progress, cancel=cancel)
    assert not list(tmp_path.glob("*.wav"))


def test_engine_info_names_model_and_device(engine):
    info = engine.info()
    assert info["device"] == "cpu" and len(info["sha256"]) == 64
    assert info["model"] == "maskvat-tiny-random" and info["sample_rate"] == 44100
