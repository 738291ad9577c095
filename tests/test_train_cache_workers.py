"""The token cache's clips rendered by several processes are the clips rendered in one."""
from __future__ import annotations

import numpy as np
import torch

from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer
from maskvat_foley.core.features.base import create
from maskvat_foley.core.train.cache import WORKERS_ENV, _in_order, _video_clip, build_cache, load_cache, render_workers
from maskvat_foley.core.train.sources import FoleyWorldSource


def test_clips_rendered_by_processes_are_the_same_and_in_order():
    source = FoleyWorldSource(n=3, size=(32, 32), seconds=1)
    serial = [_video_clip(source, j) for j in (2, 0, 1)]
    parallel = list(_in_order(_video_clip, source, [2, 0, 1], workers=2))
    assert [c.key for c in parallel] == [c.key for c in serial] == [source.get(i, video=False).key for i in (2, 0, 1)]
    for a, b in zip(serial, parallel):
        assert np.array_equal(a.audio, b.audio) and np.array_equal(a.frames, b.frames)
        assert a.frame_times == b.frame_times


def test_render_workers_follow_the_variable(monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "3")
    assert render_workers() == 3
    monkeypatch.setenv(WORKERS_ENV, "0")
    assert render_workers() == 0
    monkeypatch.delenv(WORKERS_ENV)
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    assert render_workers() == 0  # a small machine renders in the training process, as before
    monkeypatch.setattr("os.cpu_count", lambda: 16)
    assert render_workers() == 14


def test_a_cache_encoded_by_processes_is_the_cache_encoded_in_one(tmp_path):
    """The workers render and encode whole clips (one thread each, the codec and features read from
    a safetensors copy); the shards hold the same codes and, to float rounding of another thread
    count, the same features."""
    source = FoleyWorldSource(n=5, size=(32, 32), seconds=1)
    tok, ext = Tokenizer(CODEC_PRESETS["tiny"], seed=0).eval(), create("raw", grid=(2, 2), input_size=(8, 8))
    build_cache(tmp_path / "one", source, tok, ext, shard_size=2, workers=0)
    build_cache(tmp_path / "two", source, tok, ext, shard_size=2, workers=2)
    one, two = load_cache(tmp_path / "one"), load_cache(tmp_path / "two")
    assert not list((tmp_path / "two").glob(".encoder-*"))  # the workers' copy of the modules is gone
    assert [c.key for c in two] == [c.key for c in one] == [source.get(i, video=False).key for i in range(5)]
    for a, b in zip(one, two):
        assert torch.equal(a.codes, b.codes)
        assert torch.allclose(a.cond, b.cond, atol=1e-5) and torch.allclose(a.teacher, b.teacher, atol=1e-4)
