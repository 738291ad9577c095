"""On-disk cache of visual features, so that regenerate-with-seed skips decoding and extraction.

An entry is keyed by what determines the features: the media's content (not its path or mtime, so a
copied or touched file still hits), the source range read, the extractor and its configuration,
and the checkpoint that holds the extractor's weights. Entries are safetensors files written
atomically; a small JSON index keeps sizes and last use for LRU eviction past ``max_bytes``.
The index is advisory: on open it is reconciled with the files present, so a lost or stale index
(another process sharing the folder, a crash) costs nothing but LRU precision.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from maskvat_foley.core.engine.regular import open_regular
from maskvat_foley.core.jobs import ClipJob, fraction_str

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

_CHUNK = 1 << 20  # bytes hashed at each end of a media file
_SUFFIX = ".safetensors"
_INDEX = "index.json"
_TENSOR = "features"


def content_hash(path: str | os.PathLike) -> str:
    """A stable hash of a media file's content: BLAKE2b of its size and first and last MiB.

    Fast on multi-GB media; independent of path and mtime so copies and relinked media share
    entries. Raises FileNotFoundError naming the file, and ValueError for anything but a regular
    file: it is opened without blocking and checked before a byte is read, so a named pipe or a
    device can neither block the caller nor feed it forever.
    """
    p = Path(path)
    try:
        f = open_regular(p)
    except FileNotFoundError:
        raise FileNotFoundError(f"media file not found: {p}") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        h = hashlib.blake2b(digest_size=20)
        h.update(str(size).encode())
        h.update(f.read(_CHUNK))
        if size > _CHUNK:
            f.seek(max(_CHUNK, size - _CHUNK))
            h.update(f.read(_CHUNK))
    return h.hexdigest()


def config_hash(config: Mapping[str, Any]) -> str:
    """SHA-256 (16 hex chars) of a configuration, canonical JSON (sorted keys)."""
    text = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class FeatureKey:
    """What visual features depend on. ``frames`` spells the exact span read (and any length
    adaptation target), e.g. 'src=100+48@24000/1001;x1;rec=48@24'."""

    media_hash: str
    frames: str
    extractor: str
    config_hash: str
    model_sha256: str = ""

    def digest(self) -> str:
        text = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()

    @classmethod
    def for_job(cls, job: ClipJob, extractor: str, config: Mapping[str, Any] | str,
                model_sha256: str = "", media_hash: str | None = None) -> "FeatureKey":
        """The key of a clip job's features. Hashes the media unless ``media_hash`` is given."""
        if job.media_path is None and media_hash is None:
            raise ValueError(f"clip {job.clip_id!r} has no media file to key features by")
        frames = (f"src={job.source_start}+{job.source_duration}@{fraction_str(job.media_rate)};"
                  f"x{fraction_str(job.time_scalar)};"
                  f"rec={job.record_duration}@{fraction_str(job.timeline_rate)}")
        return cls(media_hash or content_hash(job.media_path), frames, extractor,
                   config if isinstance(config, str) else config_hash(config), model_sha256)


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    puts: int = 0
    evictions: int = 0
    corrupt: int = 0


class FeatureCache:
    """Thread-safe LRU cache of feature tensors under ``root``, bounded by ``max_bytes``."""

    def __init__(self, root: str | os.PathLike, max_bytes: int = 2 << 30):
        if max_bytes <= 0:
            raise ValueError(f"feature cache max_bytes must be positive, got {max_bytes}")
        self.root = Path(root)
        self.max_bytes = int(max_bytes)
        self.stats = CacheStats()
        self._lock = threading.RLock()
        self.root.mkdir(parents=True, exist_ok=True)
        # digest -> {"size": int, "used": float, "key": dict}
        self._index: dict[str, dict[str, Any]] = self._load_index()

    # -- public API ---------------------------------------------------------------------------
    def get(self, key: FeatureKey) -> "torch.Tensor | None":
        """The cached tensor for ``key``, or None (a corrupt or mismatched entry is dropped)."""
        from safetensors import safe_open

        d = key.digest()
        path = self._path(d)
        with self._lock:
            if not path.exists():
                self._index.pop(d, None)
                self.stats.misses += 1
                return None
            try:
                with safe_open(str(path), framework="pt") as f:
                    meta = f.metadata() or {}
                    if json.loads(meta.get("key", "null")) != dataclasses.asdict(key):
                        raise ValueError("stored key does not match")
                    tensor = f.get_tensor(_TENSOR)
            except Exception as e:  # noqa: BLE001 - any unreadable entry is recomputed
                log.warning("dropping corrupt feature cache entry %s: %s", path, e)
                self.stats.corrupt += 1
                self.stats.misses += 1
                self._remove(d)
                self._save_index()
                return None
            entry = self._index.setdefault(d, {"size": path.stat().st_size,
                                               "key": dataclasses.asdict(key)})
            entry["used"] = time.time()
            self.stats.hits += 1
            self._save_index()
            return tensor

    def put(self, key: FeatureKey, tensor: "torch.Tensor") -> None:
        """Store ``tensor`` (written to a temporary file, then renamed), then evict LRU entries."""
        from safetensors.torch import save_file

        d = key.digest()
        path = self._path(d)
        meta = {"key": json.dumps(dataclasses.asdict(key), sort_keys=True)}
        fd, tmp = tempfile.mkstemp(prefix=f".{d}.", suffix=".tmp", dir=self.root)
        os.close(fd)
        try:
            # The write happens outside the lock: it is the slow part and touches only tmp.
            save_file({_TENSOR: tensor.detach().cpu().contiguous()}, tmp, metadata=meta)
            with self._lock:
                os.replace(tmp, path)
                self._index[d] = {"size": path.stat().st_size, "used": time.time(),
                                  "key": dataclasses.asdict(key)}
                self.stats.puts += 1
                self._evict(keep=d)
                self._save_index()
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def __contains__(self, key: FeatureKey) -> bool:
        return self._path(key.digest()).exists()

    def __len__(self) -> int:
        with self._lock:
            return len(self._index)

    @property
    def total_bytes(self) -> int:
        with self._lock:
            return sum(e["size"] for e in self._index.values())

    def clear(self) -> None:
        with self._lock:
            for d in list(self._index):
                self._remove(d)
            self._save_index()

    # -- internals ----------------------------------------------------------------------------
    def _path(self, digest: str) -> Path:
        return self.root / f"{digest}{_SUFFIX}"

    def _remove(self, digest: str) -> None:
        self._index.pop(digest, None)
        try:
            self._path(digest).unlink()
        except FileNotFoundError:
            pass

    def _evict(self, keep: str) -> None:
        total = sum(e["size"] for e in self._index.values())
        for d in sorted(self._index, key=lambda k: self._index[k]["used"]):
            if total <= self.max_bytes:
                break
            if d == keep:  # never evict what was just stored, even when it alone is too big
                continue
            total -= self._index[d]["size"]
            self._remove(d)
            self.stats.evictions += 1

    def _load_index(self) -> dict[str, dict[str, Any]]:
        index: dict[str, dict[str, Any]] = {}
        try:
            raw = json.loads((self.root / _INDEX).read_text())
            if isinstance(raw, dict):
                index = {k: v for k, v in raw.items()
                         if isinstance(v, dict) and isinstance(v.get("size"), int)
                         and isinstance(v.get("used"), (int, float))}
        except FileNotFoundError:
            pass
        except (OSError, ValueError) as e:
            log.warning("feature cache index %s unreadable (%s); rebuilding it", self.root / _INDEX, e)
        on_disk = {p.name[:-len(_SUFFIX)]: p for p in self.root.glob(f"*{_SUFFIX}")}
        for d in list(index):
            if d not in on_disk:
                del index[d]
        for d, p in on_disk.items():
            if d not in index:
                st = p.stat()
                index[d] = {"size": st.st_size, "used": st.st_mtime}
        stale = time.time() - 3600  # leftovers of an interrupted put; recent ones may be live
        for p in self.root.glob(".*.tmp"):
            try:
                if p.stat().st_mtime < stale:
                    p.unlink()
            except FileNotFoundError:
                pass
        return index

    def _save_index(self) -> None:
        fd, tmp = tempfile.mkstemp(prefix=".index.", suffix=".tmp", dir=self.root)
        with os.fdopen(fd, "w") as f:
            json.dump(self._index, f)
        os.replace(tmp, self.root / _INDEX)
