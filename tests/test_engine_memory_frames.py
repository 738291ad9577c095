"""The engine's frame sources: pictures in memory (MemoryFrames, no PyAV) read as a file would be."""
from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from maskvat_foley.core.engine.clip_media import ClipFailed, MediaFiles, MemoryFrames
from maskvat_foley.core.jobs import ClipJob, GenerationParams

RATE = Fraction(24000, 1001)


def numbered(n: int, size=(48, 32)) -> np.ndarray:
    """Frames [n, H, W, 3] whose flat colour says their index (k * 5 in every channel)."""
    w, h = size
    return np.repeat((np.arange(n, dtype=np.uint8) * 5)[:, None, None, None], h * w * 3).reshape(n, h, w, 3)


def job(media="clip", *, start=0, duration=12, rate=RATE, scalar=1, origin=0) -> ClipJob:
    return ClipJob(clip_id="V1.1", name="c", media_path=media, media_rate=Fraction(rate), source_start=start,
                   source_duration=duration, timeline_rate=RATE, record_start=0, record_duration=duration,
                   time_scalar=Fraction(scalar), media_origin=origin)


def test_memory_frames_pick_source_frames_as_a_file_would():
    src = MemoryFrames({"clip": (numbered(40), RATE)})
    j = job(start=5, duration=4, scalar=2, origin=3)  # file frames 2, 4, 6, 8
    frames = src.read(j, src.locate(j), (16, 8))
    assert frames.rgb.shape == (4, 8, 16, 3) and frames.pts == [2, 4, 6, 8]
    assert list(frames.rgb[:, 0, 0, 0]) == [10, 20, 30, 40]
    assert frames.times == [Fraction(i) / RATE for i in range(4)]
    # A 48 fps picture sequence counted in 24 fps source frames: every other picture.
    src.add("fast", numbered(40), 48)
    j = job("fast", start=3, duration=3, rate=24)
    assert src.read(j, src.locate(j), (48, 32)).pts == [6, 8, 10]


def test_memory_frames_refuse_what_a_file_would():
    src = MemoryFrames({"clip": (numbered(10), RATE)})
    with pytest.raises(ClipFailed, match="no frames in memory"):
        src.media_hash(job("other"))
    with pytest.raises(ClipFailed, match="holds 10 frames"):
        src.locate(job(duration=11))
    with pytest.raises(ClipFailed, match="must be positive"):
        src.media_hash(job(duration=0))
    with pytest.raises(ValueError, match="uint8"):
        src.add("bad", numbered(3).astype(np.float32), RATE)
    # The hash follows the pictures, not the name.
    src.add("same", numbered(10), RATE)
    assert src.media_hash(job("same")) == src.media_hash(job("clip"))
    src.add("other", numbered(10)[::-1].copy(), RATE)
    assert src.media_hash(job("other")) != src.media_hash(job("clip"))


def test_memory_frames_match_the_decoded_video(tmp_path):
    pytest.importorskip("av")
    from maskvat_foley.core.media.video_writer import write_video

    rgb = numbered(30, (64, 48))
    path = write_video(tmp_path / "n.mp4", rgb, RATE)
    j = job(str(path), start=4, duration=10, scalar=Fraction(3, 2))
    mem = MemoryFrames({str(path): (rgb, RATE)})
    files = MediaFiles()
    a = files.read(j, files.locate(j), (32, 24))
    b = mem.read(j, mem.locate(j), (32, 24))
    assert a.times == b.times and a.media_times == b.media_times
    assert list(np.rint(a.rgb[:, 12, 16, 0] / 5).astype(int)) == b.pts == [4, 5, 7, 8, 10, 11, 13, 14, 16, 17]
    assert np.abs(a.rgb.astype(int) - b.rgb.astype(int)).max() <= 3  # the encoder's rounding


def test_engine_generates_from_frames_in_memory(tiny_model, tmp_path, one_torch_thread):
    import soundfile

    from maskvat_foley.core.engine.engine import Engine

    src = MemoryFrames({"memory:clip": (numbered(24, (64, 36)), RATE)})
    engine = Engine(tiny_model, device="cpu", cache_dir=str(tmp_path / "cache"), frames=src)
    j = job("memory:clip", duration=20)
    [r] = engine.generate([j], GenerationParams(seed=3, takes=1, steps=2), out_dir=str(tmp_path / "out"))
    assert r.ok and soundfile.info(r.takes[0].path).frames == r.takes[0].num_samples
    calls = engine.feature_calls
    [again] = engine.generate([j], GenerationParams(seed=4, takes=1, steps=2), out_dir=str(tmp_path / "out"))
    assert again.ok and engine.feature_calls == calls  # the feature cache keys on the pictures
    [missing] = engine.generate([job("memory:none")], GenerationParams(seed=1, takes=1, steps=2),
                                out_dir=str(tmp_path / "out"))
    assert not missing.ok and "no frames in memory" in missing.error
