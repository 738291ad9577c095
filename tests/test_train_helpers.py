"""Shared helpers for the training tests: tiny configs written to tmp folders."""
from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any


def tiny_config(tmp: Path, **stage_changes: dict[str, Any]) -> str:
    """resources/train_configs/tiny.json with per-stage changes (nested 'loop' merged), written to tmp."""
    cfg = json.loads((resources.files("maskvat_foley.resources") / "train_configs" / "tiny.json").read_text())
    for stage, changes in stage_changes.items():
        changes = dict(changes)
        loop = changes.pop("loop", None)
        cfg[stage].update(changes)
        if loop:
            cfg[stage]["loop"].update(loop)
    p = tmp / "config.json"
    p.write_text(json.dumps(cfg))
    return str(p)


def metrics(run: Path, split: str = "train") -> list[dict[str, Any]]:
    return [r for r in map(json.loads, (run / "metrics.jsonl").read_text().splitlines()) if r["split"] == split]
