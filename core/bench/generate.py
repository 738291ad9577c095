"""`maskvat-foley bench generate`: end-to-end generation speed and memory.

One FoleyWorld clip of ``seconds`` is written as a real video; the engine then runs the whole
path (decode, features, sampling, codec decode, resample, Broadcast WAV) with an empty feature
cache each time. Stage times come from the engine's own progress reports.

Where PyAV is not installed (a lent GPU machine), or with ``frames="memory"``, the clip's pictures
stay in memory and the engine reads them from there (core.engine.clip_media.MemoryFrames): its
"decode" stage then only picks and scales them. The result's "video" says which ran ("pyav" or
"memory").

With ``reference`` (``--reference FILE_OR_SECONDS``) every take is generated with a reference
sound: a file, or a number of seconds of a FoleyWorld strike rendered into the work folder. A
random ``config`` model is then built with reference support long enough for it (ref_frames).
"""
from __future__ import annotations

import logging
import os
import statistics
import tempfile
import time
from fractions import Fraction

from maskvat_foley.core.jobs import GenerationParams

log = logging.getLogger(__name__)

RATE = Fraction(24000, 1001)
TAKES = 1  # one take a run: the real-time factor is per take
# Random-initialised stand-ins for each size (speed does not depend on the weights' values).
CONFIGS = {
    "tiny": dict(preset="tiny", codec="tiny", features="raw"),
    "default": dict(preset="default", codec="small", features="frame-cnn"),
    "paper": dict(preset="paper", codec="official-44khz", features="frame-cnn",
                  features_kw={"dim": 768}),
}


class StageClock:
    """Seconds spent in each engine stage, from the timestamps of its progress reports."""

    def __init__(self):
        self.stages: dict[str, float] = {}
        self._stage, self._t = None, None

    def __call__(self, p) -> None:
        now = time.perf_counter()
        if self._stage is not None:
            self.stages[self._stage] = self.stages.get(self._stage, 0.0) + now - self._t
        self._stage, self._t = (None if p.stage in ("done", "failed") else p.stage), now


def peak_memory_mb(device) -> float:
    import torch

    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    import resource  # Unix only: imported here so the command line builds its parser anywhere

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


FRAMES = ("auto", "pyav", "memory")  # where the engine gets the clip's pictures


def have_pyav() -> bool:
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _clip_job(work: str, seconds: float, size: tuple[int, int], frames: str = "pyav"):
    """One FoleyWorld clip of ``seconds`` and its job: written as a real video (``"pyav"``), or
    kept in memory (``"memory"``); returns the job and the engine's frame source (None: files)."""
    from maskvat_foley.core.data import generate_clip
    from maskvat_foley.core.jobs import ClipJob

    n_frames = round(Fraction(seconds) * RATE)
    clip = generate_clip(7, rate=RATE, seconds=Fraction(n_frames) / RATE, size=size, video=True)
    if frames == "memory":
        from maskvat_foley.core.engine.clip_media import MemoryFrames

        media, source = "memory:bench", MemoryFrames({"memory:bench": (clip.frames, RATE)})
    else:
        from maskvat_foley.core.media.video_writer import write_video

        media, source = str(write_video(os.path.join(work, "bench.mp4"), clip.frames, RATE)), None
    job = ClipJob.whole_media("V1.1", media, RATE, n_frames, "bench", name="bench")
    return job, source


def reference_file(reference: str, work: str) -> tuple[str, float | None]:
    """(the reference's path, its length in seconds when rendered here): ``reference`` is a file,
    or seconds of a FoleyWorld strike clip written to ``work``."""
    try:
        ref_seconds = float(reference)
    except ValueError:
        if not os.path.isfile(reference):
            raise ValueError(f"reference {reference!r} is neither a file nor a number of seconds") from None
        return os.path.abspath(reference), None
    if not 0.25 <= ref_seconds <= 30:
        raise ValueError(f"a rendered reference must be 0.25 to 30 seconds long, got {ref_seconds}")
    import soundfile

    from maskvat_foley.core.data import generate_clip

    # A strike clip a second longer, cut to exactly ``ref_seconds`` from just before its first hit.
    clip = generate_clip(11, seconds=Fraction(ref_seconds + 1).limit_denominator(1000), kinds=["strike"],
                         video=False)
    n = round(ref_seconds * clip.sample_rate)
    first = clip.events[0].sample(clip.rate, clip.sample_rate) if clip.events else 0
    start = max(0, min(first - clip.sample_rate // 20, len(clip.audio) - n))
    path = os.path.join(work, "reference.wav")
    soundfile.write(path, clip.audio[start:start + n], clip.sample_rate, subtype="FLOAT")
    return path, round(n / clip.sample_rate, 3)


def _ref_frames(codec: str, seconds: float) -> int:
    """Reference frames a random model needs to hear ``seconds`` of reference untrimmed."""
    import math

    from maskvat_foley.core.codec.config import CODEC_PRESETS

    cfg = CODEC_PRESETS[codec]
    return math.ceil(Fraction(seconds).limit_denominator(1000) * cfg.sample_rate / cfg.hop)


def run(model: str | None = None, config: str | None = None, *, device: str = "auto",
        seconds: float = 10.0, takes: int = TAKES, steps: int = GenerationParams.steps,
        guidance: float = GenerationParams.guidance, repeat: int = 2, size: tuple[int, int] = (640, 360),
        work: str | None = None, frames: str = "auto", reference: str | None = None,
        ref_guidance: float = GenerationParams.ref_guidance, ref_mix: float = GenerationParams.ref_mix) -> dict:
    """Wall time (median of ``repeat`` runs after a warm-up), real-time factor, peak memory and
    time per stage of one clip of ``seconds``, with ``model`` or a random model of ``config``.
    ``frames``: "pyav" (a video file), "memory" (pictures in memory) or "auto" (PyAV if installed).
    ``reference``: a reference sound's file or seconds (see the module docstring)."""
    import torch

    from maskvat_foley.core.jobs import ReferenceSpec

    from maskvat_foley.core.engine.engine import Engine, default_model_dir
    from maskvat_foley.core.model.checkpoint import init_random

    if frames not in FRAMES:
        raise ValueError(f"frames must be one of {', '.join(FRAMES)}, got {frames!r}")
    if frames == "auto":
        frames = "pyav" if have_pyav() else "memory"
    work = work or tempfile.mkdtemp(prefix="maskvat-bench-")
    ref_path = ref_seconds = None
    if reference is not None:
        ref_path, ref_seconds = reference_file(reference, work)
    if config:
        extra = {}
        if ref_path is not None:  # long enough for the reference (a file: up to 2 s of it)
            extra["ref_frames"] = _ref_frames(CONFIGS[config]["codec"], ref_seconds or 2.0)
        model = init_random(os.path.join(work, f"model-{config}"), overwrite=True, **CONFIGS[config], **extra)
    model = str(model or default_model_dir())
    job, source = _clip_job(work, seconds, size, frames)
    n_frames = job.record_duration
    params = GenerationParams(seed=1, takes=takes, steps=steps, guidance=guidance,
                              reference=None if ref_path is None else ReferenceSpec(ref_path),
                              ref_guidance=ref_guidance, ref_mix=ref_mix)
    engine = Engine(model, device=device, cache_dir=os.path.join(work, "cache"), frames=source)
    walls, clock = [], None
    for i in range(repeat + 1):  # the first run warms up (allocators, kernels); not counted
        engine.cache.clear()
        clock = StageClock()
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        result = engine.generate([job], params, out_dir=os.path.join(work, "out"), progress=clock)
        if engine.device.type == "cuda":
            torch.cuda.synchronize()
        if result[0].error:
            raise RuntimeError(result[0].error)
        if i:
            walls.append(time.perf_counter() - t0)
    wall = statistics.median(walls)
    ref_info = None
    if ref_path is not None:
        meta = (result[0].takes[0].metadata.get("reference") or {})
        ref_info = {"file": ref_path, "seconds_used": float(Fraction(meta["end"]) - Fraction(meta["start"]))
                    if meta.get("end") else None, "trimmed": meta.get("trimmed"), "ref_guidance": ref_guidance,
                    "ref_frames": engine.ckpt.config.ref_frames, "ref_mix": meta.get("ref_mix"),
                    "hits_placed": meta.get("hits_placed")}
    audio_seconds = float(Fraction(n_frames) / RATE)
    info = engine.info()
    return {"model": info["model"], "config": config, "device": info["device"],
            "dtype": info["dtype"], "threads": torch.get_num_threads(),
            "audio_seconds": round(audio_seconds, 3), "takes": takes, "steps": steps,
            "guidance": guidance, "video": frames, "video_size": list(size), "wall_seconds": round(wall, 3),
            "wall_seconds_runs": [round(w, 3) for w in walls],
            "realtime_factor": round(audio_seconds * takes / wall, 2),
            "peak_memory_mb": round(peak_memory_mb(engine.device), 1),
            "parameters": sum(p.numel() for p in engine.ckpt.model.parameters()), "reference": ref_info,
            "stages_seconds": {k: round(v, 3) for k, v in clock.stages.items()}}
