"""``maskvat-foley train codec|avsync|maskvat|bundle``: the training command line.

    maskvat-foley train codec   --config default --out runs/codec
    maskvat-foley train avsync  --config default --out runs/avsync
    maskvat-foley train maskvat --config default --out runs/maskvat --codec runs/codec --avsync runs/avsync
    maskvat-foley train bundle  --codec runs/codec --avsync runs/avsync --maskvat runs/maskvat --out DIR

Several GPUs: ``torchrun --nproc_per_node N -m maskvat_foley.core.train.cli maskvat ...``.
``--config`` is a JSON file or the name of one in resources/train_configs (tiny, default, paper).
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
from pathlib import Path
from typing import Any, Sequence

STAGES = ("codec", "avsync", "maskvat")


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


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="maskvat-foley train", description="Train the MaskVAT Foley models.")
    sub = ap.add_subparsers(dest="action", required=True)
    for stage in STAGES:
        p = sub.add_parser(stage, help=f"train the {stage} stage")
        p.add_argument("--config", required=True, help="JSON file, or tiny|default|paper")
        p.add_argument("--out", required=True, help="run folder (state, metrics, outputs)")
        p.add_argument("--resume", action="store_true", help="continue from <out>/state")
        p.add_argument("--max-steps", type=int, default=None, help="stop at this step (LR schedule unchanged)")
        p.add_argument("--max-minutes", type=float, default=None, help="stop cleanly after this many minutes")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda")
        p.add_argument("--no-progress", action="store_true", help="no progress bar")
        if stage == "maskvat":
            p.add_argument("--codec", default=None, help="codec run folder (or a codec folder / preset)")
            p.add_argument("--avsync", default=None, help="avsync run folder (features/ and scorer/)")
    b = sub.add_parser("bundle", help="assemble codec + avsync + maskvat runs into one checkpoint")
    for k in ("codec", "avsync", "maskvat"):
        b.add_argument(f"--{k}", required=True, help=f"{k} run folder")
    b.add_argument("--out", required=True, help="checkpoint folder to write")
    b.add_argument("--name", default=None)
    b.add_argument("--overwrite", action="store_true")
    return ap


def run(argv: Sequence[str]) -> dict[str, Any] | Path:
    from maskvat_foley.core.train.common import RunOptions

    a = _parser().parse_args(list(argv))
    command = "maskvat-foley train " + shlex.join(list(argv))
    if a.action == "bundle":
        from maskvat_foley.core.train.bundle import bundle

        return bundle(a.codec, a.avsync, a.maskvat, a.out, name=a.name, overwrite=a.overwrite, command=command)
    opts = RunOptions(out=Path(a.out), resume=a.resume, stop_at=a.max_steps, max_minutes=a.max_minutes,
                      device=a.device, progress=not a.no_progress, command=command)
    section = load_config(a.config, a.action)
    if a.action == "codec":
        from maskvat_foley.core.train.codec import CodecTrainConfig, train_codec

        return train_codec(CodecTrainConfig.from_dict(section), opts)
    if a.action == "avsync":
        from maskvat_foley.core.train.avsync import AVSyncConfig, train_avsync

        return train_avsync(AVSyncConfig.from_dict(section), opts)
    from maskvat_foley.core.train.maskvat import MaskVATTrainConfig, train_maskvat

    cfg = MaskVATTrainConfig.from_dict(section)
    if a.codec:
        c = Path(a.codec)
        cfg.codec = str(c / "codec") if (c / "codec").is_dir() else a.codec
    if a.avsync:
        r = Path(a.avsync)
        for sub_ in ("features", "scorer"):
            if not (r / sub_).is_dir():
                raise FileNotFoundError(f"--avsync {r}: no {sub_}/ folder (is it a finished avsync run?)")
        cfg.features, cfg.scorer = str(r / "features"), str(r / "scorer")
    return train_maskvat(cfg, opts)


def main(argv: Sequence[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        result = run(sys.argv[1:] if argv is None else argv)
    except (FileNotFoundError, ValueError) as exc:
        print(f"maskvat-foley train: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(result, dict) and result:
        keys = ("stage", "step", "stopped", "train_seconds", "steps_per_s", "val")
        print(json.dumps({k: result.get(k) for k in keys}, default=str))
    elif isinstance(result, Path):
        print(result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
