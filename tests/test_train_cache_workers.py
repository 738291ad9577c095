"""The token cache's clips rendered by several processes are the clips rendered in one."""
from __future__ import annotations

import functools

import numpy as np
import torch

from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer
from maskvat_foley.core.features.base import create
from maskvat_foley.core.train.cache import _video_clip, build_cache, load_cache
from maskvat_foley.core.train.workers import WORKERS_ENV, in_order, render_workers
from maskvat_foley.core.train.sources import FoleyWorldSource


def test_clips_rendered_by_processes_are_the_same_and_in_order():
    source = FoleyWorldSource(n=3, size=(32, 32), seconds=1)
    serial = [_video_clip(source, j) for j in (2, 0, 1)]
    parallel = list(in_order(functools.partial(_video_clip, source), [2, 0, 1], workers=2))
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


def test_a_step_feed_is_the_steps_made_in_order_and_restarts_where_asked():
    """Batches made ahead by processes are the batches of the steps asked for, whatever the order
    they are asked in (a resumed run starts the queue at its own step). The codec stage trains on
    exactly these (core/train/codec.py: ``feed(step)``)."""
    from maskvat_foley.core.train.codec import CodecTrainConfig, step_batch
    from maskvat_foley.core.train.dist import DistInfo
    from maskvat_foley.core.train.workers import StepFeed

    source = FoleyWorldSource(n=4, size=(32, 32), seconds=1)
    cfg = CodecTrainConfig(batch_size=2, crop_seconds=(0.05, 0.1), tone_prob=0.5)
    make = functools.partial(step_batch, source, cfg, DistInfo(), 512)
    with StepFeed(make, workers=1) as feed:  # one process: its queue still runs two steps ahead
        got = [(s, feed(s)) for s in (5, 6, 7, 2, 3)]
    assert feed._pool is None
    for s, batch in got:
        assert np.array_equal(batch, make(s)), s
    assert not np.array_equal(got[0][1][..., :100], got[1][1][..., :100])  # steps differ
