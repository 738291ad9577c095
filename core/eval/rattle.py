"""Click trains: how much of a take rattles.

The onset detector (core.eval.onsets) holds a decaying peak so a rattle inside one sound does not
re-trigger; a take that is a string of broadband clicks through a whole movement (issue #11's
"noise bursts") can therefore count as one or two onsets and look like a calm take in
``onsets_per_second``. This measure hears the clicks themselves.

1. Envelope: the level of the first difference of the audio (a broadband click rises in it, a low
   hum's swell barely does) in frames of ``hop`` samples, smoothed over three frames, in dB.
2. Clicks: envelope peaks at least ``prominence_db`` over their surroundings, at least
   ``min_spacing_s`` apart, in frames louder than ``active_dbfs`` (an inaudible flutter is no click).
3. Trains: runs of at least ``min_clicks`` clicks, each within ``max_gap_s`` of the one before
   (8 a second or faster: no footstep or knock comes that often, a rattle or a codec's burst string
   does). A take's rattle is the time its trains span.

FoleyWorld's true sounds rattle for 1.3 % of their time (rain, 40 test clips); see
docs/footage_experiment.md for the takes it was read against.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskvat_foley.core.eval.onsets import downmix


@dataclass(frozen=True)
class RattleParams:
    hop: int = 128
    prominence_db: float = 4.0
    min_spacing_s: float = 0.015
    max_gap_s: float = 0.125
    min_clicks: int = 5
    active_dbfs: float = -50.0


DEFAULT = RattleParams()
RATTLING_SHARE = 0.25  # a take rattling for a quarter of its time or more counts as a rattling take


def click_times(audio: np.ndarray, sample_rate: int, p: RattleParams = DEFAULT) -> np.ndarray:
    """Times in seconds of the clicks of mono ``audio`` (step 2 above)."""
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import find_peaks

    a = downmix(audio).reshape(-1)
    n = a.size // p.hop
    if n < 3:
        return np.zeros(0)
    a = a[:n * p.hop]
    level = 10 * np.log10((a.reshape(n, p.hop) ** 2).mean(1) + 1e-12)
    slope = np.diff(a, prepend=a[:1]).reshape(n, p.hop)
    env = uniform_filter1d(10 * np.log10((slope ** 2).mean(1) + 1e-12), 3)
    peaks, _ = find_peaks(env, prominence=p.prominence_db,
                          distance=max(1, round(p.min_spacing_s * sample_rate / p.hop)))
    peaks = peaks[level[peaks] > p.active_dbfs]
    return peaks * p.hop / sample_rate


def rattle_seconds(audio: np.ndarray, sample_rate: int, p: RattleParams = DEFAULT) -> float:
    """Seconds of ``audio`` spanned by click trains (step 3 above)."""
    total, run = 0.0, []
    for t in click_times(audio, sample_rate, p):
        if run and t - run[-1] > p.max_gap_s:
            total += run[-1] - run[0] if len(run) >= p.min_clicks else 0.0
            run = []
        run.append(t)
    if len(run) >= p.min_clicks:
        total += run[-1] - run[0]
    return float(total)


def rattle_share(audio: np.ndarray, sample_rate: int, p: RattleParams = DEFAULT) -> float:
    """The share of the take's time that rattles, 0..1."""
    a = downmix(audio).reshape(-1)
    return min(1.0, rattle_seconds(a, sample_rate, p) * sample_rate / a.size) if a.size else 0.0
