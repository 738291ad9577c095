"""Turning generated audio into a take: exact length, Broadcast WAV, provenance, token sidecar."""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import logging
import math
import os
import re
import tempfile

import numpy as np

from maskvat_foley import __version__
from maskvat_foley.core.engine.outdir import SIDECAR_DIR, ensure_dir
from maskvat_foley.core.engine.regular import open_regular
from maskvat_foley.core.jobs import ClipJob, GenerationParams, Take, seconds_str
from maskvat_foley.core.media.gain import NEAR_SILENT, TRUE_PEAK_CEILING_DBTP, LevelResult, apply_level
from maskvat_foley.core.media.reference import ReferenceAudio

log = logging.getLogger(__name__)


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
               codes: np.ndarray | None = None, suffix: str = "", confine: str | None = None,
               reference: ReferenceAudio | None = None) -> Take:
    """Fit ``wave`` to the clip's exact sample span and write it as a Broadcast WAV take.

    confine: a real folder ``out_dir`` must lie in; checked again (no symlinks) right before the
    sidecar and the WAV are written (see outdir.confined). reference: the reference sound the
    take imitates (as the engine loaded it), recorded under metadata["reference"] (see
    reference_metadata), in the WAV's iXML block and so on the timeline."""
    from maskvat_foley.core.media.bwf import write_bwf
    from maskvat_foley.core.media.resample import fit_to_span

    audio, time_reference = fit_to_span(wave, wave_rate, job.record_start, job.record_end,
                                        job.timeline_rate, params.sample_rate)
    audio = np.asarray(audio, dtype=np.float32).reshape(-1)
    if params.channels == 2:
        audio = np.stack([audio, audio])
    # The level is set on the exact span, as the file holds it: two equal channels measure 3 dB
    # louder than one, and the loudness written to bext must be the file's.
    audio, level = apply_level(audio, params.sample_rate, params.loudness, params.gain_db)
    if reference is not None:  # one seed with two references is two takes: neither overwrites the other
        suffix = f"_ref{reference_tag(reference, params)}{suffix}"
    stem = take_stem(job, seed, suffix)
    path = os.path.join(out_dir, stem + ".wav")
    meta = dict(provenance)
    if reference is not None:
        meta["reference"] = reference_metadata(reference, params.ref_guidance, params.ref_mix, {
            "applied": meta.pop("reference_applied", None), "hits_placed": meta.pop("hits_placed", None),
            "heard": meta.pop("reference_heard", None)})
    meta.update(seed=seed, created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                software=f"maskvat-foley {__version__}", sample_rate=params.sample_rate,
                time_reference=time_reference, num_samples=int(audio.shape[-1]), **level_metadata(level))
    if NEAR_SILENT in level.flags:
        log.warning("take %s of clip %s: %s", seed, job.clip_id, level.note)
    if codes is not None:
        meta["codes_path"] = save_codes(out_dir, stem, codes, confine)
    ensure_dir(out_dir, confine)  # right before the write: no symlink since the check at submit
    write_bwf(path, audio, params.sample_rate, time_reference=time_reference,
              description=describe(meta), comment=full_description(meta),
              timecode_rate=job.timeline_rate, loudness_lufs=level.loudness_lufs,
              true_peak_dbtp=level.true_peak_dbtp,
              ixml_vendor=ixml_level(level) | ixml_model_level(meta) | ixml_reference(meta.get("reference")))
    return Take(clip_id=job.clip_id, seed=seed, path=path, sample_rate=params.sample_rate,
                num_samples=int(audio.shape[-1]), time_reference=time_reference,
                sync_score=meta.get("sync_score"), metadata=meta)


def _finite(x: float, digits: int = 2) -> float | None:
    """A measurement for JSON: rounded, None for -inf (silence), which JSON cannot spell."""
    return round(x, digits) if math.isfinite(x) else None


def level_metadata(level: LevelResult) -> dict:
    """The take's level for its metadata (WAV description, iXML, timeline): loudness and true peak
    after the gain, the gain applied, the target asked for, and why the level is not as asked."""
    meta = {"loudness_lufs": _finite(level.loudness_lufs), "true_peak_dbtp": _finite(level.true_peak_dbtp),
            "gain_db": round(level.gain_db, 2), "loudness_target": level.target_lufs}
    if level.note:
        meta.update(level_note=level.note, level_flags=list(level.flags))
    return meta


def ixml_level(level: LevelResult) -> dict[str, str]:
    """The level as elements of this software's own iXML block (iXML readers skip blocks they do
    not know); -inf (silence) is spelled so, as no number can be."""
    def db(x: float) -> str:
        return f"{x:.2f}" if math.isfinite(x) else "-inf"

    fields = {"LOUDNESS_LUFS": db(level.loudness_lufs), "TRUE_PEAK_DBTP": db(level.true_peak_dbtp),
              "GAIN_DB": db(level.gain_db)}
    if level.target_lufs is not None:
        fields["LOUDNESS_TARGET_LUFS"] = db(level.target_lufs)
    if level.adjusted:  # the ceiling holds only where the level was set
        fields["TRUE_PEAK_CEILING_DBTP"] = db(TRUE_PEAK_CEILING_DBTP)
    if level.note:
        fields["LEVEL_NOTE"] = level.note
    return fields


def ixml_model_level(meta: dict) -> dict[str, str]:
    """The gain that brought the model's output to its level (core.model.level_calibration), before
    any gain the editor asked for; "none" where the take was left as the model made it."""
    if "model_gain_db" not in meta:
        return {}
    gain = meta["model_gain_db"]
    fields = {"MODEL_GAIN_DB": "none" if gain is None else f"{gain:.2f}"}
    if meta.get("model_level_note"):
        fields["MODEL_LEVEL_NOTE"] = meta["model_level_note"]
    return fields


def reference_tag(ref: ReferenceAudio, params: GenerationParams) -> str:
    """Six hex digits naming the sound, its range and how it was used, for a take's file name."""
    key = json.dumps([ref.sha256, seconds_str(ref.start), seconds_str(ref.end), params.ref_mix,
                      params.ref_guidance])
    return hashlib.sha256(key.encode()).hexdigest()[:6]


def reference_metadata(ref: ReferenceAudio, ref_guidance: float, ref_mix: float = 0.0,
                       used: dict | None = None) -> dict:
    """What a take records of its reference sound (metadata["reference"], hence the timeline's
    take metadata): the file's name, path and sha256 of its bytes, the range used in exact seconds
    ('1.5', or '1/3' where no decimal is exact), whether it was trimmed, the guidance toward it,
    how much of its own sound went into the take (ref_mix) and, from ``used``, how: "applied"
    ("hits" or "texture"), "hits_placed", and whether the model "heard" it. Enough to find the
    same sound again and to prove it."""
    out = {"name": ref.name, "path": ref.path, "sha256": ref.sha256, "start": seconds_str(ref.start),
           "end": seconds_str(ref.end), "trimmed": bool(ref.trimmed), "ref_guidance": float(ref_guidance),
           "ref_mix": float(ref_mix)}
    out.update({k: v for k, v in (used or {}).items() if v is not None})
    return out


def ixml_reference(reference: dict | None) -> dict[str, str]:
    """The reference as elements of this software's iXML block (none without a reference)."""
    if not reference:
        return {}
    fields = {"REFERENCE_NAME": reference.get("name"), "REFERENCE_SHA256": reference.get("sha256"),
              "REFERENCE_START": reference.get("start"), "REFERENCE_END": reference.get("end"),
              "REFERENCE_TRIMMED": "true" if reference.get("trimmed") else "false",
              "REFERENCE_GUIDANCE": reference.get("ref_guidance"), "REFERENCE_MIX": reference.get("ref_mix"),
              "REFERENCE_APPLIED": reference.get("applied"), "REFERENCE_HITS_PLACED": reference.get("hits_placed")}
    return {k: str(v) for k, v in fields.items() if v is not None}


BEXT_DESCRIPTION = 256  # bytes of the bext chunk's Description


def describe(meta: dict) -> str:
    """Provenance for the bext Description (256 ASCII bytes): compact JSON of what matters first.
    The full provenance goes to the WAV's iXML/INFO and the timeline's metadata."""
    names = (("model", "model"), ("model_sha256", "sha256"), ("seed", "seed"), ("steps", "steps"),
             ("guidance", "guidance"), ("beam", "beam"), ("sync_score", "sync"), ("loudness_lufs", "lufs"),
             ("gain_db", "gain"), ("reference", "ref"),
             ("source_clip", "clip"), ("device", "device"), ("created", "created"))
    short = {}
    for key, label in names:
        value = meta.get(key)
        if value is None:
            continue
        if key == "model_sha256":
            value = value[:12]
        elif key == "reference":  # its name and hash prefix; the whole record is in iXML/INFO
            value = f"{str(value.get('name', ''))[:40]}@{str(value.get('sha256', ''))[:12]}"
        elif isinstance(value, float):
            value = round(value, 4)
        # What does not fit is left out whole (a cut JSON is unreadable); it is all in iXML/INFO.
        if len(json.dumps({**short, label: value}, separators=(",", ":"), ensure_ascii=True)) <= BEXT_DESCRIPTION:
            short[label] = value
    return json.dumps(short, separators=(",", ":"), ensure_ascii=True)


def full_description(meta: dict) -> str:
    return json.dumps(meta, separators=(",", ":"), ensure_ascii=False, default=str)
