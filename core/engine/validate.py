"""Checking the engine server's JSON requests: every field typed, every value bounded, and every
path kept inside the output folder. Errors are ApiError(status, message) naming the field."""
from __future__ import annotations

import dataclasses
import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

from maskvat_foley.core.jobs import ClipJob, GenerationParams

MAX_BODY = 1 << 20  # 1 MiB of JSON is thousands of clip jobs
MAX_CLIPS = 256
PARAM_LIMITS = {"takes": (1, 16), "steps": (1, 256), "beam": (1, 16), "channels": (1, 2),
                "sample_rate": (8000, 192000), "seed": (0, 2**31 - 2)}  # the engine's seed range


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def value(where: str, name: str, kind: str, v: Any) -> Any:
    """Check one dataclass field against its annotation (a string: annotations are postponed)."""
    optional = kind.endswith("| None")
    if v is None and optional:
        return None
    base = kind.removesuffix("| None").strip()
    bad = ApiError(422, f"{where}.{name}: expected {kind}, got {v!r}"[:300])
    if base == "str":
        if not isinstance(v, str) or len(v) > 4096:
            raise bad
    elif base == "int":
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad
    elif base == "float":
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise bad
        v = float(v)
    elif base == "Fraction":
        try:
            if isinstance(v, bool) or not isinstance(v, (str, int)):
                raise ValueError
            v = Fraction(str(v))
        except (ValueError, ZeroDivisionError):
            raise bad from None
        if v <= 0:
            raise ApiError(422, f"{where}.{name} must be positive, got {v}")
    elif base.startswith("tuple[str"):
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            raise bad
        v = tuple(v)
    elif base.startswith("dict"):
        if not isinstance(v, dict):
            raise bad
    return v


def parse_dataclass(cls, d: Any, where: str):
    """Build ``cls`` from a JSON object, every field type-checked; unknown or missing -> 422."""
    if not isinstance(d, dict):
        raise ApiError(422, f"{where}: expected a JSON object, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ApiError(422, f"{where}: unknown field(s) {', '.join(unknown)}")
    missing = [n for n, f in fields.items() if n not in d and f.default is dataclasses.MISSING
               and f.default_factory is dataclasses.MISSING]
    if missing:
        raise ApiError(422, f"{where}: missing field(s) {', '.join(missing)}")
    return cls(**{k: value(where, k, str(fields[k].type), v) for k, v in d.items()})


def parse_clip_job(d: Any, where: str = "job") -> ClipJob:
    job = parse_dataclass(ClipJob, d, where)
    if job.source_duration <= 0 or job.record_duration <= 0:
        raise ApiError(422, f"{where} (clip {job.clip_id!r}): durations must be positive")
    return job


def parse_params(d: Any) -> GenerationParams:
    p = parse_dataclass(GenerationParams, {} if d is None else d, "params")
    for name, (lo, hi) in PARAM_LIMITS.items():
        v = getattr(p, name)
        if v is not None and not lo <= v <= hi:
            raise ApiError(422, f"params.{name} must be between {lo} and {hi}, got {v}")
    if p.temperature <= 0:
        raise ApiError(422, f"params.temperature must be positive, got {p.temperature}")
    return p


def check_keys(body: dict, allowed: set[str], required: set[str]) -> None:
    unknown, missing = sorted(set(body) - allowed), sorted(required - set(body))
    if unknown:
        raise ApiError(422, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    if missing:
        raise ApiError(422, f"missing field(s) {', '.join(missing)}")


def inside(root: Path, path: str, what: str, relative_only: bool = False) -> Path:
    """``path`` resolved (symlinks too) under ``root``, else 400: outputs never escape it."""
    if not isinstance(path, str) or not path or "\x00" in path:
        raise ApiError(400, f"{what}: expected a non-empty path string")
    p = Path(path)
    if relative_only and (p.is_absolute() or p.drive or path.startswith(("/", "\\"))):
        raise ApiError(400, f"{what} {path!r} must be relative to the engine's output folder")
    if ".." in p.parts or ".." in path.replace("\\", "/").split("/"):
        raise ApiError(400, f"{what} {path!r} must not contain '..'")
    full = Path(os.path.realpath(root / p))
    if full != root and root not in full.parents:
        raise ApiError(400, f"{what} {path!r} is outside the engine's output folder {root}")
    return full
