"""Turning generated audio into a take: exact length, Broadcast WAV, provenance, token sidecar."""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
import tempfile

import numpy as np

from maskvat_foley import __version__
from maskvat_foley.core.engine.outdir import SIDECAR_DIR, ensure_dir
from maskvat_foley.core.engine.regular import open_regular
from maskvat_foley.core.jobs import ClipJob, GenerationParams, Take


def safe_name(text: str) -> str:
    """A readable file-name piece: letters, digits, '.', '-' and '_' kept (any script)."""
    text = re.sub(r"[^\w.\-]+", "_", text.strip(), flags=re.UNICODE).strip("._")
    return text or "untitled"


def take_stem(job: ClipJob, seed: int, suffix: str = "") -> str:
    return f"{safe_name(job.timeline_name)}_{safe_name(job.clip_id)}_{seed}{suffix}"


def codes_path(out_dir: str, stem: str) -> str:
    return os.path.join(out_dir, SIDECAR_DIR, stem + ".codes.npy")


def save_codes(out_dir: str, stem: str, codes: np.ndarray, confine: str | None = None) -> str:
    path = codes_path(out_dir, stem)
    folder = ensure_dir(os.path.dirname(path), confine)
    # A fresh name (O_EXCL): nothing planted at a predictable name can redirect the write.
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp.npy", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, codes.astype(np.int16))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_codes(take: Take) -> np.ndarray | None:
    path = take.metadata.get("codes_path")
    if not path:
        return None
    try:
        f = open_regular(path)  # never a pipe planted where a sidecar was
    except FileNotFoundError:
        return None
    with f:
        return np.load(f, allow_pickle=False).astype(np.int64)


def write_take(job: ClipJob, wave: np.ndarray, wave_rate: int, seed: int,
               params: GenerationParams, out_dir: str, provenance: dict,
               codes: np.ndarray | None = None, suffix: str = "", confine: str | None = None) -> Take:
    """Fit ``wave`` to the clip's exact sample span and write it as a Broadcast WAV take.

    confine: a real folder ``out_dir`` must lie in; checked again (no symlinks) right before the
    sidecar and the WAV are written (see outdir.confined)."""
    from maskvat_foley.core.media.bwf import write_bwf
    from maskvat_foley.core.media.resample import fit_to_span

    audio, time_reference = fit_to_span(wave, wave_rate, job.record_start, job.record_end,
                                        job.timeline_rate, params.sample_rate)
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if params.channels == 2:
        audio = np.stack([audio, audio])
    stem = take_stem(job, seed, suffix)
    path = os.path.join(out_dir, stem + ".wav")
    meta = dict(provenance)
    meta.update(seed=seed, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                software=f"maskvat-foley {__version__}", sample_rate=params.sample_rate,
                time_reference=time_reference, num_samples=int(audio.shape[-1]))
    if codes is not None:
        meta["codes_path"] = save_codes(out_dir, stem, codes, confine)
    ensure_dir(out_dir, confine)  # right before the write: no symlink since the check at submit
    write_bwf(path, audio, params.sample_rate, time_reference=time_reference,
              description=describe(meta), comment=full_description(meta),
              timecode_rate=job.timeline_rate)
    return Take(clip_id=job.clip_id, seed=seed, path=path, sample_rate=params.sample_rate,
                num_samples=int(audio.shape[-1]), time_reference=time_reference,
                sync_score=meta.get("sync_score"), metadata=meta)


def describe(meta: dict) -> str:
    """Provenance for the bext Description (256 ASCII bytes): compact JSON of what matters first.
    The full provenance goes to the WAV's iXML/INFO and the timeline's metadata."""
    names = (("model", "model"), ("model_sha256", "sha256"), ("seed", "seed"), ("steps", "steps"),
             ("guidance", "guidance"), ("beam", "beam"), ("sync_score", "sync"),
             ("source_clip", "clip"), ("device", "device"), ("created", "created"))
    short = {}
    for key, label in names:
        value = meta.get(key)
        if value is None:
            continue
        if key == "model_sha256":
            value = value[:12]
        elif isinstance(value, float):
            value = round(value, 4)
        short[label] = value
    return json.dumps(short, separators=(",", ":"), ensure_ascii=True)


def full_description(meta: dict) -> str:
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False, default=str)
