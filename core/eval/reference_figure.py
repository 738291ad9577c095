"""The reference-sound picture: one FoleyWorld clip generated with two different references.

    maskvat-foley eval --reference-pairs --model DIR --figure docs/reference_two_sounds.png

Top to bottom on one time axis: a strip of the clip's frames, the clip's own true sound, the take
without a reference, then one row per reference: the take (left) beside the reference sound it was
given (right, its own time axis). Every take panel carries the clip's true event times as ticks,
so an editor sees at a glance that timing stays the picture's while the spectrum changes with the
reference. All panels share one dB reference (a quieter take looks darker). The clip is the first
evaluation pair of ``kind`` (core.eval.reference.plan_pairs); the references are rendered from
the pair's reference clip as two materials (or surfaces) the clip does not show, and the timbre
embedding's verdict for each take is printed in its row and returned.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval import SEED, DEVICE
from maskvat_foley.core.eval.figure import (BG, DIM, FG, FLOOR_DB, FMIN, HOP, LABEL, LEFT, MARK, MARKER, N_FFT,
                                            PANEL_H, PANEL_W, _column, _freq_axis, _time_axis, save_png)
from maskvat_foley.core.jobs import GenerationParams

REF_W, GAP, RIGHT, TITLE, STRIP_H, AXIS = 200, 16, 8, 20, 48, 14
ROW_H = LABEL + MARK + PANEL_H + AXIS


def pick_labels(kind: str, own: Sequence[str], count: int = 2) -> list[str]:
    """``count`` labels of ``kind`` the clip does not use, spread over the table (first, last, ...),
    so the two references sound as different as the table allows."""
    from maskvat_foley.core.data.rematerial import other_labels

    options = other_labels(kind, own)
    if len(options) < count:
        raise ValueError(f"a {kind} clip using {', '.join(own)} leaves {len(options)} other sounds; need {count}")
    idx = np.linspace(0, len(options) - 1, count).round().astype(int)
    return [options[i] for i in idx]


def reference_figure(model_dir: str | os.PathLike, path: str | os.PathLike, *, kind: str = "impact",
                     labels: Sequence[str] | None = None, device: str = DEVICE, seed: int = SEED,
                     steps: int = GenerationParams.steps, guidance: float = GenerationParams.guidance,
                     ref_guidance: float = GenerationParams.ref_guidance,
                     ref_mix: float = GenerationParams.ref_mix,
                     temperature: float = GenerationParams.temperature, seconds: float | None = 4.0,
                     ref_seconds: float = 2.0, out_dir: str | os.PathLike | None = None) -> dict[str, Any]:
    """Generate the clip without a reference and with each of ``labels`` (default: two picked by
    pick_labels), draw the figure to ``path``; returns what it shows (labels, files, timbre)."""
    from maskvat_foley.core.data import generate_clip, render_audio
    from maskvat_foley.core.data.rematerial import rematerial
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.eval import reference as ev, timbre
    from maskvat_foley.core.jobs import ReferenceSpec

    if kind not in ev.KINDS:
        raise ValueError(f"kind must be one of {', '.join(ev.KINDS)}, got {kind!r}")
    pair = next(p for p in ev.plan_pairs(len(ev.KINDS), seconds) if p.kind == kind)
    labels = list(labels) if labels else pick_labels(kind, pair.own)
    out = Path(out_dir) if out_dir is not None else Path(tempfile.mkdtemp(prefix="maskvat-ref-figure-"))
    (out / "media").mkdir(parents=True, exist_ok=True)
    engine = Engine(str(model_dir), device=device, cache_dir=str(out / "feature_cache"))
    if ref_mix == 0:
        engine.require_reference_support()
    clip = generate_clip(pair.seed, seconds=seconds, kinds=[kind])
    job = ev.clip_job(clip, out / "media", "maskvat_reference_figure")
    name = job.clip_id
    free = GenerationParams(seed=seed, takes=1, steps=steps, guidance=guidance, temperature=temperature,
                            sample_rate=ev.SAMPLE_RATE, channels=1)
    n = len(clip.audio)

    def take(params: GenerationParams, key: str) -> tuple[str, np.ndarray]:
        made, audio = ev.generate_take(engine, job, params, out / "takes" / key, n)
        return made.path, audio

    own_emb = timbre.decay_embedding(clip.audio, ev.SAMPLE_RATE)
    free_file, free_audio = take(free, "none")
    rows: list[dict[str, Any]] = [
        {"title": f"true sound: the picture's {'/'.join(pair.own)}", "audio": clip.audio},
        {"title": "take without a reference", "audio": free_audio, "file": free_file}]
    for label in labels:
        ref_path = out / "media" / f"reference_{label}.wav"
        ref = ev.write_reference(dataclasses.replace(pair, label=label), ref_seconds, ref_path)
        params = dataclasses.replace(free, reference=ReferenceSpec(str(ref_path)), ref_guidance=ref_guidance,
                                     ref_mix=ref_mix)
        file, audio = take(params, label)
        as_label = timbre.decay_embedding(render_audio(rematerial(clip.spec, label), ev.SAMPLE_RATE), ev.SAMPLE_RATE)
        follows, d_ref, d_own = timbre.nearer(timbre.decay_embedding(audio, ev.SAMPLE_RATE), as_label, own_emb)
        verdict = "nearer the reference's" if follows else f"nearer the picture's {'/'.join(pair.own)}"
        rows.append({"title": f"take with a {label} reference: {verdict}", "audio": audio, "file": file,
                     "reference": ref, "reference_file": str(ref_path), "label": label, "follows": follows,
                     "distance_to_reference_material": d_ref, "distance_to_own": d_own})
    events = [float(e.time) for e in clip.events]
    draw(path, clip.frames, rows, events, ev.SAMPLE_RATE,
         f"{name}: {kind}, {len(events)} hits; model {engine.ckpt.name}, seed {seed}, "
         f"ref guidance {ref_guidance:g}, ref mix {ref_mix:g}")
    return {"path": str(path), "clip_id": name, "kind": kind, "own": list(pair.own), "labels": labels,
            "events_s": events, "out_dir": str(out),
            "rows": [{k: v for k, v in r.items() if k not in ("audio", "reference")} for r in rows]}


def figure_size(rows: int) -> tuple[int, int]:
    return LEFT + PANEL_W + GAP + REF_W + RIGHT, TITLE + LABEL + STRIP_H + rows * ROW_H + 4


def draw(path: str | os.PathLike, frames: np.ndarray | None, rows: Sequence[dict[str, Any]],
         events: Sequence[float], sample_rate: int, title: str) -> Path:
    """The figure (see the module docstring) from rows of {"title", "audio"[, "reference"]}."""
    from PIL import Image, ImageDraw

    from maskvat_foley.core.media.spectrogram import spectrogram_db

    img = Image.new("RGB", figure_size(len(rows)), BG)
    d = ImageDraw.Draw(img)
    d.text((4, 3), title, fill=FG)
    d.text((LEFT + PANEL_W + GAP, TITLE + 2), "reference given", fill=FG)
    d.text((LEFT, TITLE + 2), "frames", fill=FG)
    seconds = len(rows[0]["audio"]) / sample_rate
    strip_top = TITLE + LABEL
    if frames is not None and len(frames):
        tiles = PANEL_W // STRIP_H
        for i in range(tiles):  # each tile the frame at its centre time
            f = min(int((i + 0.5) / tiles * len(frames)), len(frames) - 1)
            img.paste(Image.fromarray(frames[f]).resize((STRIP_H, STRIP_H)), (LEFT + i * STRIP_H, strip_top))

    def spec(a: np.ndarray) -> np.ndarray:
        return spectrogram_db(a, sample_rate, n_fft=N_FFT, hop=HOP, bins=PANEL_H, fmin=FMIN, ref_db=0.0)

    dbs = [(spec(r["audio"]), spec(r["reference"]) if r.get("reference") is not None else None) for r in rows]
    ref_db = max(float(x.max()) for pair in dbs for x in pair if x is not None)
    for r, (row, (db, rdb)) in enumerate(zip(rows, dbs)):
        y = strip_top + STRIP_H + r * ROW_H
        top = y + LABEL + MARK
        d.text((LEFT, y + 2), row["title"], fill=FG)
        _panel(img, d, db - ref_db, LEFT, top, PANEL_W, seconds, sample_rate, events)
        if rdb is not None:
            _panel(img, d, rdb - ref_db, LEFT + PANEL_W + GAP, top, REF_W,
                   len(row["reference"]) / sample_rate, sample_rate, ())
    return save_png(img, path)


def _panel(img, d, db: np.ndarray, x0: int, top: int, width: int, seconds: float, sample_rate: int,
           events: Sequence[float]) -> None:
    from PIL import Image

    from maskvat_foley.core.media.spectrogram import colourize

    img.paste(Image.fromarray(colourize(db, width, FLOOR_DB)), (x0, top))
    n_frames = db.shape[1]
    scale = width / PANEL_W  # figure._column maps onto PANEL_W columns
    for t in events:
        x = x0 + int(_column(t, sample_rate, n_frames) * scale)
        d.line([(x, top - MARK), (x, top - 2)], fill=MARKER)
        for yy in range(top, top + PANEL_H, 4):
            d.point((x, yy), fill=MARKER)
    if width == PANEL_W:
        _time_axis(d, x0, top + PANEL_H, seconds, sample_rate, n_frames)
        if x0 == LEFT:
            _freq_axis(d, x0, top, sample_rate)
    else:
        d.text((x0, top + PANEL_H + 2), f"{seconds:.2f} s", fill=DIM)
