"""FeatureCache: keys, hits, atomic puts, LRU eviction, corruption tolerance, threads."""
from __future__ import annotations

import json
import os
import shutil
import threading
from fractions import Fraction

import pytest
import torch

from maskvat_foley.core.engine.feature_cache import (FeatureCache, FeatureKey, config_hash,
                                                     content_hash)
from maskvat_foley.core.jobs import ClipJob


def key(i: int = 0, **kw) -> FeatureKey:
    base = dict(media_hash=f"m{i}", frames="src=0+24@24;x1;rec=24@24", extractor="raw",
                config_hash="c", model_sha256="s")
    base.update(kw)
    return FeatureKey(**base)


def test_content_hash_is_stable_path_and_mtime_free_and_sees_content(tmp_path):
    a = tmp_path / "a.bin"
    data = os.urandom(3 << 20)
    a.write_bytes(data)
    b = tmp_path / "sub" / "b.bin"
    b.parent.mkdir()
    shutil.copyfile(a, b)
    os.utime(b, (1, 1))
    assert content_hash(a) == content_hash(b) == content_hash(str(a))
    # A changed tail byte (in the hashed last MiB) and a changed size are both seen.
    b.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    assert content_hash(a) != content_hash(b)
    b.write_bytes(data + b"x")
    assert content_hash(a) != content_hash(b)
    # A small file (< 1 MiB) works too.
    (tmp_path / "s").write_bytes(b"abc")
    assert len(content_hash(tmp_path / "s")) == 40
    with pytest.raises(FileNotFoundError, match="nope.mov"):
        content_hash(tmp_path / "nope.mov")


def test_key_for_job_depends_on_range_extractor_config_and_model(tmp_path):
    media = tmp_path / "clip.mov"
    media.write_bytes(b"video" * 100)
    job = ClipJob("c1", "Clip", str(media), Fraction(24000, 1001), 10, 48, Fraction(24000, 1001),
                  86400, 48)
    k = FeatureKey.for_job(job, "raw", {"size": 32}, "sha")
    assert k == FeatureKey.for_job(job, "raw", {"size": 32}, "sha")
    assert k.media_hash == content_hash(media)
    assert "24000/1001" in k.frames
    others = [
        FeatureKey.for_job(ClipJob(**{**job.__dict__, "source_start": 11}), "raw", {"size": 32}, "sha"),
        FeatureKey.for_job(job, "clip", {"size": 32}, "sha"),
        FeatureKey.for_job(job, "raw", {"size": 64}, "sha"),
        FeatureKey.for_job(job, "raw", {"size": 32}, "other"),
    ]
    assert len({k.digest(), *(o.digest() for o in others)}) == 5
    assert config_hash({"a": 1, "b": 2}) == config_hash({"b": 2, "a": 1})
    with pytest.raises(ValueError, match="c2"):
        FeatureKey.for_job(ClipJob(**{**job.__dict__, "clip_id": "c2", "media_path": None}), "raw", {})


def test_put_get_roundtrip_and_persistence(tmp_path):
    cache = FeatureCache(tmp_path / "fc", 1 << 20)
    assert cache.get(key()) is None and cache.stats.misses == 1
    t = torch.randn(7, 5)
    cache.put(key(), t)
    got = cache.get(key())
    assert torch.equal(got, t) and cache.stats.hits == 1
    assert key() in cache and key(1) not in cache
    # A fresh instance (a new process) finds it through the index.
    again = FeatureCache(tmp_path / "fc", 1 << 20)
    assert len(again) == 1 and torch.equal(again.get(key()), t)
    assert not list((tmp_path / "fc").glob(".*.tmp"))


def test_lru_eviction_past_max_bytes(tmp_path):
    t = torch.zeros(1000)  # ~4 KB per entry
    cache = FeatureCache(tmp_path, max_bytes=10_000)
    cache.put(key(0), t)
    cache.put(key(1), t)
    assert cache.get(key(0)) is not None  # 0 is now more recent than 1
    cache.put(key(2), t)
    assert cache.stats.evictions == 1
    assert key(1) not in cache and key(0) in cache and key(2) in cache
    assert cache.total_bytes <= 10_000
    # An entry bigger than the whole budget is still kept (the newest), the rest goes.
    cache.put(key(3), torch.zeros(5000))
    assert key(3) in cache and len(cache) == 1


def test_corrupt_entry_is_dropped_and_recomputed(tmp_path, caplog):
    cache = FeatureCache(tmp_path, 1 << 20)
    cache.put(key(), torch.ones(3))
    (path,) = tmp_path.glob("*.safetensors")
    path.write_bytes(b"\x00garbage")
    assert cache.get(key()) is None
    assert cache.stats.corrupt == 1 and not path.exists()
    assert "corrupt" in caplog.text
    cache.put(key(), torch.ones(3))
    assert torch.equal(cache.get(key()), torch.ones(3))


def test_corrupt_index_is_rebuilt_from_files(tmp_path):
    cache = FeatureCache(tmp_path, 1 << 20)
    cache.put(key(0), torch.ones(3))
    cache.put(key(1), torch.ones(3))
    (tmp_path / "index.json").write_text("{not json")
    again = FeatureCache(tmp_path, 1 << 20)
    assert len(again) == 2 and torch.equal(again.get(key(1)), torch.ones(3))
    assert isinstance(json.loads((tmp_path / "index.json").read_text()), dict)


def test_threads_share_one_cache(tmp_path):
    cache = FeatureCache(tmp_path, 1 << 22)
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(10):
                k = key(i * 100 + j % 3)
                got = cache.get(k)
                want = torch.full((64,), float(i * 100 + j % 3))
                if got is None:
                    cache.put(k, want)
                else:
                    assert torch.equal(got, want)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert len(cache) == 12 and cache.stats.hits == 40 - 12


def test_bad_max_bytes(tmp_path):
    with pytest.raises(ValueError, match="max_bytes"):
        FeatureCache(tmp_path, 0)
