"""Checking the engine server's JSON requests: every field typed, every value bounded, and every
path kept inside the output folder. Errors are ApiError(status, message) naming the field."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

from maskvat_foley.core.engine.limits import ClipOutOfBounds, check_clip
from maskvat_foley.core.jobs import MAX_SEED, ClipJob, GenerationParams, ReferenceSpec, without_retired

MAX_BODY = 1 << 20  # 1 MiB of JSON is thousands of clip jobs
MAX_DEPTH = 32  # the API's documents nest 6 levels; a take's metadata gets the rest
MAX_CLIPS = 256
PARAM_LIMITS = {"takes": (1, 16), "steps": (1, 256), "beam": (1, 16), "channels": (1, 2),
                "sample_rate": (8000, 192000), "seed": (0, MAX_SEED - 1)}


# An exact number as JSON may spell it: 24, "24000/1001", "23.976", "2.4e1". Digits are capped
# because Fraction("1e999999999") computes 10**999999999 before any range check could run.
_FRACTION = re.compile(r"\d{1,12}(/\d{1,12}|(\.\d{1,12})?([eE][+-]?\d{1,3})?)", re.ASCII)
_MAX_INT_FRACTION = 10**12


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
        if isinstance(v, bool) or not isinstance(v, (str, int)):
            raise bad
        if isinstance(v, int) and abs(v) > _MAX_INT_FRACTION:
            raise bad
        if isinstance(v, str) and not _FRACTION.fullmatch(v.strip()):
            raise bad
        try:
            v = Fraction(str(v).strip())
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
    elif base == "ReferenceSpec":
        v = parse_reference(v, f"{where}.{name}")
    return v


def parse_reference(d: Any, where: str) -> ReferenceSpec:
    """A reference sound of a request: typed, its range exact, its file an absolute path to a
    regular file. Only read later, by the engine; never written to, copied or served back."""
    try:
        ref = ReferenceSpec.from_dict(d)
    except ValueError as e:
        raise ApiError(422, f"{where}: {e}"[:300]) from None
    if not os.path.isabs(ref.path):  # relative to what? The server's folder is not the client's
        raise ApiError(422, f"{where}.path must be an absolute path, got {ref.path!r}"[:300])
    if not os.path.isfile(ref.path):
        raise ApiError(422, f"{where}: reference file not found: {ref.path}"[:300])
    return ref


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
    checked = {k: value(where, k, str(fields[k].type), v) for k, v in d.items()}
    try:
        return cls(**checked)
    except ValueError as e:  # the dataclass's own checks (GenerationParams' level ranges)
        raise ApiError(422, f"{where}.{e}"[:300]) from None


def parse_clip_job(d: Any, where: str = "job") -> ClipJob:
    job = parse_dataclass(ClipJob, d, where)
    if job.source_duration <= 0 or job.record_duration <= 0:
        raise ApiError(422, f"{where} (clip {job.clip_id!r}): durations must be positive")
    try:
        check_clip(job)  # before anything is sized from the job's numbers
    except ClipOutOfBounds as e:
        raise ApiError(422, f"{where} (clip {job.clip_id!r}): {e}") from None
    return job


def parse_params(d: Any) -> GenerationParams:
    d = without_retired(d) if isinstance(d, dict) else ({} if d is None else d)
    p = parse_dataclass(GenerationParams, d, "params")
    for name, (lo, hi) in PARAM_LIMITS.items():
        v = getattr(p, name)
        if v is not None and not lo <= v <= hi:
            raise ApiError(422, f"params.{name} must be between {lo} and {hi}, got {v}")
    if p.temperature <= 0:
        raise ApiError(422, f"params.temperature must be positive, got {p.temperature}")
    return p


def parse_body(raw: bytes) -> dict:
    """A request body as a JSON object, nested at most MAX_DEPTH levels (else 400)."""
    too_deep = ApiError(400, f"malformed JSON body: nested deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(raw)
    except RecursionError:  # the parser recurses once per level; a deep body must not be a 500
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ApiError(400, f"malformed JSON body: {e}") from None
    if too_deep_doc(body, MAX_DEPTH):  # under the parser's limit, still too deep to store
        raise too_deep
    if not isinstance(body, dict):
        raise ApiError(422, "the body must be a JSON object")
    return body


def too_deep_doc(doc: Any, limit: int) -> bool:
    """Whether JSON containers in ``doc`` nest deeper than ``limit`` (walked without recursion)."""
    stack = [(doc, 1)]
    while stack:
        node, level = stack.pop()
        if isinstance(node, (dict, list)):
            if level > limit:
                return True
            stack.extend((child, level + 1) for child in
                         (node.values() if isinstance(node, dict) else node))
    return False


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
