"""The training stages by name, each run from a section of a training config:

    run_stage("codec", "default", opts)
    run_stage("maskvat", "default", opts, codec="runs/codec", avsync="runs/avsync")

``maskvat-foley train`` (plugin/cli_train.py) is the command line over these. A config is a JSON
file, or the name of one in resources/train_configs (tiny, default, paper), with one section per
stage.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

STAGES = ("codec", "avsync", "transfer", "maskvat")


def config_path(spec: str) -> Path:
    p = Path(spec)
    if p.is_file():
        return p
    if "/" not in spec and "\\" not in spec and not spec.endswith(".json"):
        from importlib import resources

        q = Path(str(resources.files("maskvat_foley.resources") / "train_configs" / f"{spec}.json"))
        if q.is_file():
            return q
    raise FileNotFoundError(f"training config {spec!r}: no such file, and not a name in resources/train_configs")


def load_config(spec: str, stage: str) -> dict[str, Any]:
    p = config_path(spec)
    try:
        d = json.loads(p.read_text())
    except ValueError as exc:
        raise ValueError(f"{p}: not valid JSON ({exc})") from None
    if not isinstance(d, dict) or stage not in d:
        raise ValueError(f"{p}: has no {stage!r} section (sections: {', '.join(d) if isinstance(d, dict) else '-'})")
    return d[stage]


def run_stage(stage: str, config: str, opts, *, codec: str | None = None,
              avsync: str | None = None) -> dict[str, Any]:
    """Train ``stage`` with the ``stage`` section of ``config`` (core.train.common.RunOptions in
    ``opts``). MaskVAT takes its codec and its features and scorer from earlier runs' folders
    (``codec``, ``avsync``) when given; returns the run's summary."""
    if stage not in STAGES:
        raise ValueError(f"unknown training stage {stage!r} (one of {', '.join(STAGES)})")
    section = load_config(config, stage)
    if stage == "codec":
        from maskvat_foley.core.train.codec import CodecTrainConfig, train_codec

        return train_codec(CodecTrainConfig.from_dict(section), opts)
    if stage == "avsync":
        from maskvat_foley.core.train.avsync import AVSyncConfig, train_avsync

        return train_avsync(AVSyncConfig.from_dict(section), opts)
    if stage == "transfer":
        from maskvat_foley.core.train.transfer import TransferConfig, train_transfer

        return train_transfer(TransferConfig.from_dict(section), opts)
    from maskvat_foley.core.train.maskvat import MaskVATTrainConfig, train_maskvat

    cfg = MaskVATTrainConfig.from_dict(section)
    if codec:
        c = Path(codec)
        cfg.codec = str(c / "codec") if (c / "codec").is_dir() else codec
    if avsync:
        r = Path(avsync)
        for sub in ("features", "scorer"):
            if not (r / sub).is_dir():
                raise FileNotFoundError(f"--avsync {r}: no {sub}/ folder (is it a finished avsync run?)")
        cfg.features, cfg.scorer = str(r / "features"), str(r / "scorer")
    return train_maskvat(cfg, opts)
