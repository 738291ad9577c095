"""Benchmark: FoleyWorld clips per second (5 s clips at 96x96 by default). Prints JSON.

    python -m maskvat_foley.core.data.bench_foleyworld [--n 40] [--seconds 5] [--workers 2]
    python -m maskvat_foley.core.data.bench_foleyworld --look footage --size 640x360 --n 8
"""
from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor

from maskvat_foley.core.data.make import make_clips, write_clip
from maskvat_foley.core.data.render import generate_clip
from maskvat_foley.core.data.spec import KINDS, split_seeds


def _one(args) -> int:
    seed, seconds, size, video, look = args
    clip = generate_clip(seed, seconds=seconds, size=size, video=video, look=look)
    return len(clip.audio)


def _rate(n: int, fn) -> float:
    t = time.perf_counter()
    fn()
    return round(n / (time.perf_counter() - t), 2)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--size", default="96x96")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--write", type=int, default=6, help="clips to write as mp4+json")
    ap.add_argument("--look", default="classic", help="FoleyWorld look: classic (default) or footage")
    ap.add_argument("--kinds-n", type=int, default=4, help="clips per kind for ms_per_clip_by_kind")
    a = ap.parse_args(argv)
    size = tuple(int(v) for v in a.size.split("x"))
    seeds = list(split_seeds("train", a.n))
    warm = generate_clip(seeds[0], seconds=a.seconds, size=size, look=a.look)  # warm imports and filter caches
    jobs = [(s, a.seconds, size, True, a.look) for s in seeds]
    res = {"seconds_per_clip": a.seconds, "size": a.size, "n": a.n, "cpu_count": os.cpu_count(),
           "load_avg_1min": round(os.getloadavg()[0], 2), "look": a.look,
           "frames_per_clip": warm.spec.n_frames}
    res["clips_per_s_1proc"] = _rate(a.n, lambda: [_one(j) for j in jobs])
    res["ms_per_frame_1proc"] = round(1000 / (res["clips_per_s_1proc"] * res["frames_per_clip"]), 2)
    res["audio_only_clips_per_s_1proc"] = _rate(a.n, lambda: [_one((s, a.seconds, size, False, a.look)) for s in seeds])
    if a.workers > 1:
        with ProcessPoolExecutor(a.workers) as pool:
            list(pool.map(_one, jobs[:a.workers]))  # start the workers
            res[f"clips_per_s_{a.workers}proc"] = _rate(a.n, lambda: list(pool.map(_one, jobs, chunksize=2)))
    per_kind = {}
    kn = max(1, min(a.kinds_n, len(seeds)))
    for k in KINDS if a.kinds_n else ():
        t = time.perf_counter()
        for s in seeds[:kn]:
            generate_clip(s, seconds=a.seconds, size=size, kinds=[k], look=a.look)
        per_kind[k] = round((time.perf_counter() - t) / kn * 1000, 1)
    res["ms_per_clip_by_kind"] = per_kind
    if a.write:
        with tempfile.TemporaryDirectory() as d:
            if a.look == "classic":
                res["written_mp4_clips_per_s_1proc"] = _rate(
                    a.write, lambda: make_clips(a.write, seeds[0], d, seconds=a.seconds, size=size))
            else:  # make_clips has no look; the same work, clip by clip
                res["written_mp4_clips_per_s_1proc"] = _rate(a.write, lambda: [
                    write_clip(generate_clip(s, seconds=a.seconds, size=size, look=a.look), d)
                    for s in seeds[:a.write]])
    res["clips_per_hour_all_procs"] = int(3600 * res.get(f"clips_per_s_{a.workers}proc", res["clips_per_s_1proc"]))
    print(json.dumps(res, indent=1))
    return res


if __name__ == "__main__":
    main()
