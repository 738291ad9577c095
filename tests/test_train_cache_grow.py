"""A token cache grown to more clips of the same source encodes only the new clips, and holds what a
fresh build would."""
from __future__ import annotations

import json

import pytest
import torch

from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer
from maskvat_foley.core.features.base import create
from maskvat_foley.core.train import cache as C
from maskvat_foley.core.train.sources import FoleyWorldSource

ENCODE = C.encode_clip


@pytest.fixture(scope="module")
def parts():
    return Tokenizer(CODEC_PRESETS["tiny"], seed=0).eval(), create("raw", grid=(2, 2), input_size=(8, 8))


def build(d, n, parts, monkeypatch, seconds=1):
    """Build the cache of ``n`` clips in ``d``; returns the keys of the clips it encoded and of
    all its clips."""
    encoded = []

    def counting(clip, *a):
        encoded.append(clip.key)
        return ENCODE(clip, *a)

    monkeypatch.setattr(C, "encode_clip", counting)
    src = FoleyWorldSource(n=n, size=(32, 32), seconds=seconds)
    C.build_cache(d, src, *parts, shard_size=2, workers=0)
    return encoded, [src.get(i, video=False).key for i in range(n)]


def same_clips(a, b):
    assert [c.key for c in a] == [c.key for c in b]
    for x, y in zip(a, b):
        assert torch.equal(x.codes, y.codes) and torch.equal(x.cond, y.cond) and torch.equal(x.teacher, y.teacher)


def test_growing_the_cache_encodes_only_the_new_clips(tmp_path, parts, monkeypatch):
    grown, fresh = tmp_path / "grown", tmp_path / "fresh"
    encoded, keys3 = build(grown, 3, parts, monkeypatch)
    assert encoded == keys3
    # 3 -> 6 clips in shards of 2: the full shard (clips 0, 1) stays, the partial one is redone
    encoded, keys6 = build(grown, 6, parts, monkeypatch)
    assert keys6[:3] == keys3 and encoded == keys6[2:]
    assert json.loads((grown / C.MANIFEST).read_text())["n"] == 6
    build(fresh, 6, parts, monkeypatch)
    same_clips(C.load_cache(grown), C.load_cache(fresh))
    # up to date: nothing encoded; fewer clips on a shard boundary: nothing encoded either
    assert build(grown, 6, parts, monkeypatch)[0] == []
    encoded, keys4 = build(grown, 4, parts, monkeypatch)
    assert encoded == [] and [c.key for c in C.load_cache(grown)] == keys4
    assert not (grown / "shard_00002.safetensors").exists()


def test_an_interrupted_growth_resumes_and_another_source_rebuilds(tmp_path, parts, monkeypatch):
    d = tmp_path / "cache"
    build(d, 4, parts, monkeypatch)
    old = json.loads((d / C.MANIFEST).read_text())

    class Killed(Exception):
        pass

    def dies(clip, *a):
        raise Killed

    monkeypatch.setattr(C, "encode_clip", dies)
    with pytest.raises(Killed):
        C.build_cache(d, FoleyWorldSource(n=8, size=(32, 32), seconds=1), *parts, shard_size=2, workers=0)
    assert json.loads((d / C.MANIFEST).read_text()) == old  # the old manifest until the new shards are in
    encoded, keys8 = build(d, 8, parts, monkeypatch)
    assert encoded == keys8[4:]
    # any other change (here the clips' length) rebuilds every shard
    encoded, keys = build(d, 8, parts, monkeypatch, seconds=2)
    assert encoded == keys
