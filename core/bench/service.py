"""`maskvat-foley bench service`: the engine server measured.

1. First take of a 10 s clip vs a regenerate-with-seed of the same clip (target: regenerate at
   least 3x faster, because the feature cache skips video decoding and feature extraction).
2. A load run: 50 jobs from 4 concurrent clients over real HTTP; every result is checked for its
   clip id and seed (zero lost or mixed-up results), and the throughput is reported.
"""
from __future__ import annotations

import secrets
import threading
import time
from fractions import Fraction
from pathlib import Path

RATE = Fraction(24)
# Few steps: what is measured is the service (cache, queue, HTTP), not sampling; one take a job.
STEPS = 8
TAKES = 1


def _video(path: Path, seconds: int, size: tuple[int, int]) -> str:
    """A real video (editor-sized by default) with a moving bright square and some texture."""
    import numpy as np

    from maskvat_foley.core.media.video_writer import write_video

    w, h = size
    rng = np.random.default_rng(0)
    texture = rng.integers(0, 60, (h, w, 3), dtype=np.uint8)

    def frames():
        for i in range(int(seconds * RATE)):
            img = texture.copy()
            x = (i * w // 48) % (w - w // 8)
            img[h // 3:h // 3 + h // 8, x:x + w // 8] = 230
            yield img

    return str(write_video(path, frames(), RATE))


def _job(media: str, clip_id: str, start: int, frames: int):
    from maskvat_foley.core.jobs import ClipJob

    return ClipJob(clip_id, clip_id, media, RATE, start, frames, RATE, 86400 + start, frames,
                   timeline_name="bench")


def run(model: str | None, device: str, work: Path, *, seconds: int = 10, jobs: int = 50,
        clients: int = 4, steps: int = STEPS, load_frames: int = 24,
        size: tuple[int, int] = (1280, 720)) -> dict:
    from maskvat_foley.core.engine.client import EngineClient
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.engine.server import RunningServer, create_app
    from maskvat_foley.core.jobs import GenerationParams

    if model is None:
        from maskvat_foley.core.model.checkpoint import init_random

        model = str(init_random(work / "model", "tiny"))
    media = _video(work / "clip10s.mp4", seconds, size)
    warm = _video(work / "warmup.mp4", 1, (64, 48))
    engine = Engine(model, device=device, cache_dir=str(work / "cache"))
    token = secrets.token_urlsafe(32)
    server = RunningServer(create_app(engine, token=token, output_dir=work / "out", max_queued=jobs + 8))
    report: dict = {"engine": {k: engine.info().get(k) for k in ("model", "sha256", "device", "dtype")}}
    try:
        with EngineClient(server.url, token) as c:
            job = _job(media, "ten-seconds", 0, int(seconds * RATE))
            params = GenerationParams(seed=1, takes=TAKES, steps=steps)
            # Warm the model up on other media, so the first take is cold only in the cache.
            c.wait(c.submit([_job(warm, "warm-up", 0, int(RATE))], params), poll=0.02)
            t = time.perf_counter()
            (first,) = c.wait(c.submit([job], params), poll=0.02)
            t_first = time.perf_counter() - t
            calls = engine.feature_calls
            t = time.perf_counter()
            jid, _ = c.regenerate(job, params, seed=2)
            (again,) = c.wait(jid, poll=0.02)
            t_regen = time.perf_counter() - t
            assert first.ok and again.ok, (first.error, again.error)
        report["regenerate"] = {
            "clip_seconds": seconds, "video_size": f"{size[0]}x{size[1]}", "steps": steps,
            "first_take_s": round(t_first, 3),
            "regenerate_s": round(t_regen, 3), "saved_by_cache_s": round(t_first - t_regen, 3),
            "speedup": round(t_first / t_regen, 2),
            "target_speedup": 3.0, "met": t_first / t_regen >= 3.0,
            "feature_extractions_during_regenerate": engine.feature_calls - calls}
        report["load"] = _load(server.url, token, media, jobs, clients, steps, load_frames, seconds)
    finally:
        server.stop()
    return report


def _load(url: str, token: str, media: str, n_jobs: int, n_clients: int, steps: int,
          frames: int, seconds: int) -> dict:
    from maskvat_foley.core.engine.client import EngineClient
    from maskvat_foley.core.jobs import GenerationParams

    expected: dict[str, int] = {}
    received: dict[str, tuple[str, int]] = {}
    errors: list[str] = []
    lock = threading.Lock()
    starts = max(1, int(seconds * RATE) - frames)

    def client(k: int) -> None:
        mine = range(k, n_jobs, n_clients)
        try:
            with EngineClient(url, token) as c:
                submitted = []
                for i in mine:
                    clip_id, seed = f"load-{k}-{i}", 1000 + i
                    with lock:
                        expected[clip_id] = seed
                    job = _job(media, clip_id, (i * 7) % starts, frames)
                    submitted.append(c.submit([job], GenerationParams(seed=seed, takes=TAKES, steps=steps)))
                for jid in submitted:
                    for r in c.wait(jid, poll=0.05):
                        with lock:
                            if r.error:
                                errors.append(f"{r.clip_id}: {r.error}")
                            for take in r.takes:
                                received[r.clip_id] = (take.clip_id, take.seed)
        except Exception as e:  # noqa: BLE001 - reported, not raised: the numbers still print
            with lock:
                errors.append(f"client {k}: {type(e).__name__}: {e}")

    t = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(n_clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    elapsed = time.perf_counter() - t
    lost = sorted(set(expected) - set(received))
    mixed = sorted(cid for cid, (take_clip, seed) in received.items()
                   if take_clip != cid or seed != expected.get(cid))
    return {"jobs": n_jobs, "clients": n_clients, "clip_frames": frames, "seconds": round(elapsed, 3),
            "jobs_per_s": round(n_jobs / elapsed, 3), "lost": len(lost), "mixed_up": len(mixed),
            "errors": errors[:10], "ok": not lost and not mixed and not errors}
