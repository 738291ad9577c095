"""The same FoleyWorld clip sounding as another material or walking surface.

Reference-sound training and evaluation need a clip whose picture shows one material while its
sound is another's: every event stays where it is (same frames, strengths and random excitation,
so the timing is the picture's), only the label that decides the timbre changes. The picture is
rendered from the original spec; ``render_audio(rematerial(spec, label))`` gives the other sound.

Kinds with a timbre label: impact and strike (a material of MATERIALS), footstep (a surface of
SURFACES). An object's modal frequencies and decay were drawn inside its material's ranges; they
are carried into the new material's ranges at the same relative place (frequency on a log scale,
so an object's size still sets its pitch).
"""
from __future__ import annotations

import copy
import math
from typing import Iterable

from maskvat_foley.core.data.materials import MATERIAL_TABLE, SURFACE_TABLE
from maskvat_foley.core.data.spec import MATERIALS, SURFACES, ClipSpec

# Kind -> the event/source parameter that names its timbre.
TIMBRE_PARAM: dict[str, str] = {"impact": "material", "strike": "material", "footstep": "surface"}


def labels_for(kind: str) -> tuple[str, ...]:
    """The timbre labels a kind can take (materials or surfaces); () for kinds without one."""
    param = TIMBRE_PARAM.get(kind)
    return () if param is None else (MATERIALS if param == "material" else SURFACES)


def timbre(spec: ClipSpec) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """What a clip sounds like, as labels: ((kind, (labels...)), ...) for each kind that has
    events, sorted; a kind without a timbre label has (). A silent clip gives ()."""
    out: dict[str, set[str]] = {}
    for e in spec.events:
        labels = out.setdefault(e.kind, set())
        param = TIMBRE_PARAM.get(e.kind)
        if param is not None and param in e.params:
            labels.add(str(e.params[param]))
    return tuple((k, tuple(sorted(v))) for k, v in sorted(out.items()))


def swappable_kind(spec: ClipSpec) -> str | None:
    """The kind whose timbre rematerial changes: the clip's only sounding kind, if it has a label."""
    t = timbre(spec)
    return t[0][0] if len(t) == 1 and t[0][0] in TIMBRE_PARAM else None


def other_labels(kind: str, used: Iterable[str]) -> list[str]:
    """Labels of ``kind`` the clip does not use (for a reference that sounds different)."""
    used = set(used)
    return [m for m in labels_for(kind) if m not in used]


def _carry(value: float, lo_a: float, hi_a: float, lo_b: float, hi_b: float, log: bool) -> float:
    if log:
        value, lo_a, hi_a, lo_b, hi_b = (math.log(v) for v in (value, lo_a, hi_a, lo_b, hi_b))
    out = lo_b + (value - lo_a) * (hi_b - lo_b) / (hi_a - lo_a)
    return math.exp(out) if log else out


def _remodal(obj: dict, material: str) -> None:
    """Move an object's f0 and t60 from its material's ranges into ``material``'s, in place."""
    a, b = MATERIAL_TABLE[obj["material"]], MATERIAL_TABLE[material]
    obj["f0"] = round(_carry(obj["f0"], *a.f0, *b.f0, log=True), 2)
    obj["t60"] = round(_carry(obj["t60"], *a.t60, *b.t60, log=False), 4)
    obj["material"] = material


def rematerial(spec: ClipSpec, label: str) -> ClipSpec:
    """A copy of ``spec`` whose impacts, strikes (``label`` a material) or footsteps (a surface)
    sound as ``label``; sources of other kinds, and all timing, unchanged."""
    out = copy.deepcopy(spec)
    touched = False
    for src in out.sources:
        param = TIMBRE_PARAM.get(src.kind)
        if param is None or label not in labels_for(src.kind):
            continue
        touched = True
        if src.kind == "impact":
            for obj in src.params["objects"]:
                _remodal(obj, label)
        elif src.kind == "strike":
            _remodal(src.params, label)
        else:
            if label not in SURFACE_TABLE:
                raise ValueError(f"unknown surface {label!r}")
            src.params["surface"] = label
        for e in src.events:
            e.params[param] = label
    if not touched:
        kinds = sorted({s.kind for s in spec.sources if s.events})
        raise ValueError(f"clip {spec.seed}: no source of kinds {kinds} can sound as {label!r}")
    return out
