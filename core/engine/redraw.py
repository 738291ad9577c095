"""A silent draw on a moving picture is drawn again.

MaskVAT sometimes commits a take to silence in its first sampling steps. On people walking seen
from high up (OpenCV's vtest, 2026-11-28), about one seed in five gave a take of nothing at all
(-66 LUFS; its loudest sample under -46 dBFS) where the other seeds of the same segment gave -20 to
-35 LUFS (loudest samples -10 dBFS and up). An editor has no use for such a take. So a take that
comes out silent (its loudest sample under ``SILENT_PEAK_DBFS`` as it will be written, after the
model's level calibration) on a picture that moves (its ``picture_motion`` at least the motion gain's
still line, ``motion_gain.GATE``) is drawn again from seeds derived from its own, up to ``REDRAWS``
times, and the first audible draw is kept; when every draw is silent the first is kept, since the
model hears nothing there. A quiet take with real hits is not silent: a FoleyWorld impact take at
-59 LUFS (RMS -60 dBFS, hits peaking at -29 dBFS) is kept as it is.

Each redraw also listens to the picture harder: its classifier-free guidance is the take's plus
``GUIDANCE_STEP`` per attempt (2 -> 3 -> 4 at the defaults). The silence is the model's conditional
prediction leaning to its unconditional one, which is near silence: on five vtest segments and three
of carphone and bikes (2026-11-29, 16 single draws each, no redraw), guidance 1 gave 90 silent draws
of 128, 2 gave 52, 2.5 gave 27, 3 gave 9 and 4 gave 3; a new seed at the same guidance is silent
again as often (vtest's second segment: 15 of 16 at 2). Only silent takes are drawn again, so the
takes the model gives at the user's guidance are untouched; guidance under 1 (the picture not
heard) is kept as it is.

Nothing is raised to a level: a redraw is another take of the same model on the same picture, with
the picture weighed more. A still picture's silent take is kept (quiet pictures may give quiet
takes). A seed still gives its take, since the seeds drawn again are a function of it; the take's
metadata records the one used (``redrawn_seed``) and the guidance it was drawn at
(``redrawn_guidance``).
"""
from __future__ import annotations

import hashlib
import logging
from typing import Any, Callable

import numpy as np

from maskvat_foley.core.jobs import MAX_SEED

log = logging.getLogger(__name__)

SILENT_PEAK_DBFS = -40.0
REDRAWS = 2
GUIDANCE_STEP = 1.0


def is_silent(wave: np.ndarray) -> bool:
    """Whether a take holds no sound: its loudest sample under ``SILENT_PEAK_DBFS`` (full scale 1.0)."""
    x = np.asarray(wave, dtype=np.float64)
    return x.size == 0 or 20.0 * np.log10(float(np.max(np.abs(x))) + 1e-20) < SILENT_PEAK_DBFS


def redraw_seed(seed: int, attempt: int) -> int:
    """The seed of a take's ``attempt``-th redraw (1, 2, ...): a hash of the two, so it is not the
    next take's seed (a run's takes use consecutive seeds)."""
    digest = hashlib.sha256(f"maskvat-foley redraw {int(seed)} {int(attempt)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % MAX_SEED


def redraw_guidance(guidance: float, attempt: int) -> float:
    """The guidance of a take's ``attempt``-th redraw (0: the take's own)."""
    return float(guidance) if guidance < 1 else float(guidance) + GUIDANCE_STEP * attempt


def redraw_silent(sample: Callable[[list[int], int], tuple[Any, list, Any]], seeds: list[int], codes: list,
                  waves: list, scores: list | None, moves: Callable[[], bool],
                  silent_take: Callable[[np.ndarray], bool] = is_silent) -> list[tuple[int, int] | None]:
    """Silent takes drawn again when ``moves()`` (asked only when a take is silent) says the picture
    moves. ``sample(seeds, attempt)`` gives (codes, waves, scores) per seed, as the engine's sampler
    at ``redraw_guidance(.., attempt)``; the kept draws replace their takes' entries in ``codes``,
    ``waves`` and ``scores``. ``silent_take``: whether a sampler's wave is silent as the take will be
    written (the engine's: after the model's level, which lifts a quiet but real take by up to 20 dB
    and leaves an empty one alone). Returns per take the (seed, attempt) its kept draw came from,
    None for its own."""
    drawn: list[tuple[int, int] | None] = [None] * len(seeds)
    silent = [i for i, w in enumerate(waves) if silent_take(w)]
    if not silent or not moves():
        return drawn
    for attempt in range(1, REDRAWS + 1):
        tried = [redraw_seed(seeds[i], attempt) for i in silent]
        log.info("takes of seeds %s silent on a moving picture; drawing them again", [seeds[i] for i in silent])
        new_codes, new_waves, new_scores = sample(tried, attempt)
        still_silent = []
        for j, i in enumerate(silent):
            if silent_take(new_waves[j]):
                still_silent.append(i)
                continue
            codes[i], waves[i], drawn[i] = new_codes[j], new_waves[j], (tried[j], attempt)
            if scores is not None:
                scores[i] = new_scores[j]
        silent = still_silent
        if not silent:
            break
    return drawn
