"""Pieces every stage shares: stage options, summaries, content hashes of saved folders."""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

SUMMARY_FILE = "summary.json"


@dataclass
class RunOptions:
    """What the command line adds to a stage's config."""

    out: Path
    resume: bool = False
    stop_at: int | None = None        # --max-steps: stop early without changing the LR schedule
    max_minutes: float | None = None
    until: float | None = None        # --until: a wall-clock time (time.time()) the loop stops at
    device: str = "auto"
    progress: bool = True
    command: str = ""

    def loop_stops(self) -> dict[str, Any]:
        """``Trainer.run``'s keyword arguments: resuming and where the loop stops."""
        return {"resume": self.resume, "stop_at": self.stop_at, "max_minutes": self.max_minutes,
                "until": self.until}


def folder_sha256(directory: str | os.PathLike) -> str:
    """sha256 over a folder's files (names and contents, sorted): changes when any weight changes."""
    h = hashlib.sha256()
    d = Path(directory)
    files = sorted(p for p in d.rglob("*") if p.is_file() and not p.name.startswith("."))
    if not files:
        raise FileNotFoundError(f"{d}: no files to hash")
    for p in files:
        h.update(str(p.relative_to(d)).encode() + b"\0")
        with open(p, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def environment() -> dict[str, Any]:
    return {"python": sys.version.split()[0], "torch": torch.__version__, "platform": platform.platform(),
            "cpu_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def write_summary(out: Path, summary: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / f".{SUMMARY_FILE}.tmp"
    tmp.write_text(json.dumps(summary, indent=2, default=str) + "\n")
    os.replace(tmp, out / SUMMARY_FILE)
    return out / SUMMARY_FILE


def read_summary(run_dir: str | os.PathLike) -> dict[str, Any]:
    p = Path(run_dir) / SUMMARY_FILE
    if not p.is_file():
        raise FileNotFoundError(f"{run_dir}: no {SUMMARY_FILE}; is this a finished training run folder?")
    return json.loads(p.read_text())


def loop_summary(result: Any) -> dict[str, Any]:
    return {"step": result.step, "stopped": result.stopped, "train_seconds": round(result.seconds, 2),
            "run_seconds": round(result.run_seconds, 2), "run_steps": result.run_steps,
            "steps_per_s": round(result.steps_per_s, 4), "last": result.last, "val": result.val}


def stage_summary(stage: str, opts: Any, cfg: Any, info: Any, result: Any, **details: Any) -> dict[str, Any]:
    """What every stage's summary.json holds (stage, command, config, where it ran, the loop's
    numbers) around the stage's own ``details``."""
    return {"stage": stage, "command": opts.command, "config": cfg.to_dict(), **details,
            "world_size": info.world_size, "device": str(info.device), "environment": environment(),
            **loop_summary(result)}
