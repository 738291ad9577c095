"""Writing FoleyWorld clips to disk: one .mp4 (picture + true audio) and one .json per clip.

    make_clips(100, 0, "out/")   -> out/foleyworld_0000000.mp4, out/foleyworld_0000000.json, ...

(`maskvat-foley foleyworld make`, plugin/cli_foleyworld.py, is the command line over make_clips.)

The JSON holds the exact frame rate ("24000/1001"), the frame count, every event with its
exact time (a Fraction string) and seconds, the kinds and materials, and the seed, so that any
clip can be regenerated bit-identically with generate_clip(seed, ...).
"""
from __future__ import annotations

import json
import logging
import os
import wave
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Sequence

import numpy as np

from maskvat_foley.core.data.render import generate_clip
from maskvat_foley.core.data.spec import SAMPLE_RATE, FoleyClip

log = logging.getLogger(__name__)


def clip_name(seed: int) -> str:
    return f"foleyworld_{seed:07d}"


def clip_record(clip: FoleyClip, video_name: str | None) -> dict:
    """The JSON description of a rendered clip."""
    d = clip.spec.to_dict()
    d.update(sample_rate=clip.sample_rate, num_samples=int(len(clip.audio)), video=video_name,
             generator="maskvat_foley.core.data.generate_clip")
    return d


def write_clip(clip: FoleyClip, out_dir: str | os.PathLike, *, wav: bool = False) -> Path:
    """Write ``clip`` as <name>.mp4 (+ <name>.wav when asked) and <name>.json; returns the mp4."""
    from maskvat_foley.core.media.video_writer import write_video

    if clip.frames is None:
        raise ValueError(f"FoleyWorld clip of seed {clip.spec.seed} was rendered without frames")
    out = Path(out_dir)
    name = clip_name(clip.spec.seed)
    # Deterministic: an evaluation sees the same pictures for the same seed in every run.
    video = write_video(out / f"{name}.mp4", clip.frames, clip.spec.rate, audio=clip.audio,
                        sample_rate=clip.sample_rate, deterministic=True)
    if wav:  # AAC in the mp4 is lossy and not sample-exact; the WAV is the exact audio
        _write_wav(out / f"{name}.wav", clip.audio, clip.sample_rate)
    tmp = out / f".{name}.json.partial"
    tmp.write_text(json.dumps(clip_record(clip, video.name), indent=1))
    os.replace(tmp, out / f"{name}.json")
    return video


def _write_wav(path: Path, audio: np.ndarray, sample_rate: int) -> None:
    pcm = (np.clip(audio, -1, 1) * 32767).round().astype("<i2")
    tmp = path.with_name(f".{path.name}.partial")
    with wave.open(str(tmp), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    os.replace(tmp, path)


def _make_one(args: tuple) -> str:
    seed, out_dir, kw, wav = args
    return str(write_clip(generate_clip(seed, **kw), out_dir, wav=wav))


def make_clips(n: int, seed: int, out_dir: str | os.PathLike, *, size: tuple[int, int] | None = (96, 96),
               rate=None, seconds=None, kinds: Sequence[str] | None = None,
               sample_rate: int = SAMPLE_RATE, workers: int = 1, wav: bool = False,
               progress: bool = False, look="classic") -> list[Path]:
    """Write ``n`` clips of seeds seed .. seed+n-1 into ``out_dir``; returns the mp4 paths in
    seed order. ``workers`` > 1 renders and encodes in that many processes. ``look`` is
    generate_clip's; with the footage look ``size`` None films each clip at a random camera size."""
    from maskvat_foley.core.data.footage import parse_look

    if n < 0:
        raise ValueError(f"number of clips must not be negative, got {n}")
    parse_look(look)  # a bad look fails here, not in a worker
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kw = dict(size=None if size is None else tuple(size), rate=rate, seconds=seconds, kinds=kinds,
              sample_rate=sample_rate, look=look)
    jobs = [(s, str(out), kw, wav) for s in range(seed, seed + n)]
    from tqdm import tqdm

    bar = tqdm(total=n, unit="clip", disable=not progress, desc="FoleyWorld")
    paths = []
    try:
        if workers <= 1:
            for job in jobs:
                paths.append(Path(_make_one(job)))
                bar.update()
        else:
            with ProcessPoolExecutor(max_workers=workers) as pool:
                for p in pool.map(_make_one, jobs, chunksize=4):
                    paths.append(Path(p))
                    bar.update()
    finally:
        bar.close()
    log.info("wrote %d FoleyWorld clips to %s", len(paths), out)
    return paths
