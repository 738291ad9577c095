"""Assemble the codec, avsync and maskvat runs into one checkpoint folder (e.g. the bundled model)."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import torch

from maskvat_foley.core.train.common import SUMMARY_FILE, folder_sha256, read_summary

log = logging.getLogger(__name__)

# The runs each part of a bundle may come from: a transfer run (core/train/transfer.py) leaves a
# tower and its teacher's scorer, as an avsync run does.
ACCEPTED = {"codec": ("codec",), "avsync": ("avsync", "transfer"), "maskvat": ("maskvat",)}


def bundle(codec_run: str | os.PathLike, avsync_run: str | os.PathLike, maskvat_run: str | os.PathLike,
           out: str | os.PathLike, *, name: str | None = None, overwrite: bool = False,
           command: str = "", weights_dtype: torch.dtype | None = torch.float16,
           level_clips: int = 200) -> Path:
    """Write a checkpoint with the MaskVAT weights of ``maskvat_run``, the codec of ``codec_run``,
    the extractor and trained scorer of ``avsync_run`` (an avsync or a transfer run), and a model
    card listing all three runs.
    MaskVAT's weights are stored in float16 unless ``weights_dtype`` says otherwise: half the size
    of the bundled model, and sampling from it is unchanged in practice (the evaluation is run on
    the bundle itself, so its numbers are those of the stored weights).
    The MaskVAT run must have been trained with exactly that codec and extractor (checked by hash).
    The training audio's level through the codec is measured on ``level_clips`` FoleyWorld clips
    and stored, so takes are brought to it (core.train.level); with 0, a codec reused from a bundled
    model keeps that bundle's codec level (the same codec), else none is stored."""
    from maskvat_foley.core.model.checkpoint import load_checkpoint, save_checkpoint
    from maskvat_foley.core.train.level import measure
    from maskvat_foley.core.train.maskvat import model_card, stage_device

    runs = {"codec": Path(codec_run), "avsync": Path(avsync_run), "maskvat": Path(maskvat_run)}
    summaries: dict[str, dict[str, Any]] = {"maskvat": read_summary(runs["maskvat"])}
    summaries.update({k: stage_summary(runs[k], k) for k in ("codec", "avsync")})
    for k, s in summaries.items():
        if s.get("stage") not in ACCEPTED[k]:
            raise ValueError(f"{runs[k]}: is a {s.get('stage')!r} run, expected "
                             f"{' or '.join(repr(a) for a in ACCEPTED[k])}")
    model_dir = runs["maskvat"] / "model"
    pairs = [(runs["codec"] / "codec", model_dir / "codec", "codec"),
             (runs["avsync"] / "features", model_dir / "features", "feature extractor")]
    for src, used, what in pairs:
        if not src.is_dir():
            raise FileNotFoundError(f"{src}: missing ({what} of the run)")
        if not used.is_dir() or not _same(src, used, what):
            raise ValueError(f"{runs['maskvat']}: was not trained with the {what} in {src} "
                             f"(its {used} differs); retrain maskvat with --codec/--avsync of these runs")
    scorer_dir = runs["avsync"] / "scorer"
    ckpt = load_checkpoint(model_dir)
    name = name or ckpt.name
    summaries["bundle"] = {"command": command}
    card = model_card(name, summaries["maskvat"], [summaries["codec"], summaries["avsync"]])
    info = {k: {"command": s.get("command"), "step": s.get("step"), "train_seconds": s.get("train_seconds"),
                "steps_per_s": s.get("steps_per_s"), "device": stage_device(s), "val": s.get("val")}
            for k, s in summaries.items() if k != "bundle"}
    info["bundle_command"] = command
    path = save_checkpoint(out, ckpt.model, ckpt.tokenizer, ckpt.extractor, name=name, card=card, info=info,
                           overwrite=overwrite, scorer="foleyworld-av", scorer_dir=scorer_dir,
                           weights_dtype=weights_dtype,
                           level=measure(ckpt.tokenizer, level_clips).to_dict() if level_clips
                           else codec_level(runs["codec"]))
    log.info("bundled %s", path)
    return path


def codec_level(codec_run: Path) -> dict[str, Any] | None:
    """The codec's level of a bundled model folder reused as the codec run, without the correction
    measured on that bundle's own takes (another MaskVAT's: `train level --takes` measures anew);
    None for a codec run or a bundle without a level."""
    from maskvat_foley.core.model.checkpoint import read_meta
    from maskvat_foley.core.model.level_calibration import LevelCalibration

    if (codec_run / SUMMARY_FILE).is_file() or not (codec_run / "config.json").is_file():
        return None
    cal = LevelCalibration.from_meta(read_meta(codec_run).get("level"))
    return None if cal is None else cal.without_takes().to_dict()


def stage_summary(run: Path, stage: str) -> dict[str, Any]:
    """A codec or avsync run's summary, or, for a bundled model folder (its codec/, or features/
    and scorer/, reused, as a run that continues from the bundle does), that stage as recorded in
    the bundle's config."""
    if (run / SUMMARY_FILE).is_file() or not (run / "config.json").is_file():
        return read_summary(run)
    info = (json.loads((run / "config.json").read_text()).get("info") or {}).get(stage)
    if not isinstance(info, dict):
        raise ValueError(f"{run}: neither a {stage} run nor a bundled model that records its {stage} stage")
    return {**info, "stage": stage, "from_bundle": str(run)}


def _same(src: Path, used: Path, what: str) -> bool:
    """The same weights: byte-identical folders, or for the codec the same values once loaded (a
    bundle stores its codec in float16; a run that loads it saves the float32 copy)."""
    if folder_sha256(src) == folder_sha256(used):
        return True
    if what != "codec":
        return False
    from maskvat_foley.core.codec.tokenizer import load_tokenizer
    from maskvat_foley.core.weights_folder import module_sha256

    a, b = load_tokenizer(src), load_tokenizer(used)
    return module_sha256(a.model, a.config.to_dict()) == module_sha256(b.model, b.config.to_dict())
