"""Give a bundled model the visual tower of a transfer run (core/train/transfer.py).

A transfer run teaches a copy of a bundle's tower to give, on pictures filmed like camera footage,
the features the bundle's own tower gives on FoleyWorld's classic look. MaskVAT, the codec and the
synchrony scorer read those features as they are, so the new model is the old one with its
``features/`` replaced: no MaskVAT training, and the MaskVAT weights (and their sha256) unchanged.
The run must have been taught by this model's own tower (checked by hash): another tower's
features are another language.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import uuid
from pathlib import Path

from maskvat_foley.core.train.common import folder_sha256, read_summary

log = logging.getLogger(__name__)


def swap_tower(model_dir: str | os.PathLike, transfer_run: str | os.PathLike, out: str | os.PathLike, *,
               overwrite: bool = False, command: str = "") -> Path:
    """Write ``out``: the model of ``model_dir`` with the tower of ``transfer_run``; its config
    records the transfer stage, and its card gains the run's section."""
    from maskvat_foley.core.model.checkpoint import CONFIG_FILE, FEATURES_DIR, read_meta
    from maskvat_foley.core.train.maskvat import stage_card, stage_device

    model, run, target = Path(model_dir), Path(transfer_run), Path(out)
    meta = read_meta(model)
    summary = read_summary(run)
    if summary.get("stage") != "transfer":
        raise ValueError(f"{run}: is a {summary.get('stage')!r} run, expected a 'transfer' run")
    if not (run / FEATURES_DIR).is_dir():
        raise FileNotFoundError(f"{run / FEATURES_DIR}: missing (has the transfer run finished?)")
    # the tower MaskVAT was trained on: the model's own, or for a model that had its tower swapped
    # before, the one that taught that tower
    earlier = ((meta.get("info") or {}).get("transfer") or {}).get("teacher_sha256")
    reads = earlier or folder_sha256(model / FEATURES_DIR)
    if summary.get("teacher_sha256") != reads:
        raise ValueError(f"{run}: was taught by another tower than the one {model}'s MaskVAT reads (teacher "
                         f"sha256 {str(summary.get('teacher_sha256'))[:12]}, the model's {reads[:12]}); its "
                         "features would not be the ones this model's MaskVAT was trained on")
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target}: already exists (pass --overwrite to replace it)")
    if target.resolve() == model.resolve():
        raise ValueError(f"{target}: is the model folder itself; write the new model elsewhere")

    tmp = target.parent / f".{target.name}.tmp-{uuid.uuid4().hex[:8]}"
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.copytree(model, tmp, ignore=shutil.ignore_patterns(".*"))
        shutil.rmtree(tmp / FEATURES_DIR)
        shutil.copytree(run / FEATURES_DIR, tmp / FEATURES_DIR)
        info = meta.setdefault("info", {})
        info["transfer"] = {"command": summary.get("command"), "step": summary.get("step"),
                            "train_seconds": summary.get("train_seconds"),
                            "steps_per_s": summary.get("steps_per_s"), "device": stage_device(summary),
                            "val": summary.get("val"), "teacher_sha256": reads}
        info["swap_tower_command"] = command
        (tmp / CONFIG_FILE).write_text(json.dumps(meta, indent=2) + "\n")
        card = tmp / "MODEL_CARD.md"
        if card.is_file():
            card.write_text(with_section(card.read_text(), stage_card(summary)))
        if target.exists():
            shutil.rmtree(target)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    log.info("%s: %s with the tower of %s", target, model, run)
    return target


def with_section(card: str, lines: list[str]) -> str:
    """The card with ``lines`` (a stage's section) placed before its evaluation section, if any."""
    from maskvat_foley.core.eval.card import BEGIN

    text = "\n".join(lines) + "\n"
    at = card.find(BEGIN)
    return card.rstrip("\n") + "\n\n" + text if at < 0 else card[:at] + text + "\n" + card[at:]


__all__ = ["swap_tower", "with_section"]
