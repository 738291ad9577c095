"""The model's output level: a take's peak brought to the level of the audio the model learned.

Why: the codec-token sampler keeps the shape of a take (where the hits are, how they decay) but
not its absolute level. On FoleyWorld the takes' peaks drift from -21 to -3 dBFS while every
training clip peaks at -9 to -3 dBFS (each clip is mixed to a peak level), so quiet kinds come out
up to 13 dB under their true sound (ticks) and others over it. The level the training audio sits
at, as the model's codec reproduces it, is measured when the model is bundled and stored in its
config.json (core.train.level); a take is then scaled by one gain so that its sample peak sits
there. What is inside the take (how many hits, how long they ring) still decides its loudness, so
relative levels between kinds stay those of the training audio.

Never noise made loud: a take whose peak is more than ``max_boost_db`` under the level is quiet
on purpose (nothing happens in the picture) or the model's near-silence, and is left exactly as it
is; attenuation is always applied. The gain is recorded in the take's metadata (``model_gain_db``)
so the raw model output can always be recovered, and region regeneration reuses the base take's
gain so the take stays equal outside the region.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from maskvat_foley.core.media.gain import scale_db
from maskvat_foley.core.media.loudness import sample_peak_dbfs

# A take this far under the training level is not level drift: the largest drift measured on
# FoleyWorld is about 15 dB (a take of ticks); 20 dB leaves room for that and no more.
MAX_BOOST_DB = 20.0
QUIET = "quiet_take"
# A take's sample peak is never brought above this by a take correction (the product's true-peak
# ceiling is -1 dBTP).
PEAK_CEILING_DBFS = -1.0


@dataclass(frozen=True)
class LevelCalibration:
    """The training audio's level, as config.json's "level" block stores it."""

    peak_dbfs: float         # where a take's sample peak is brought: codec_peak_dbfs + codec_loss_db
    clips: int               # how many training clips were measured
    source: str = "foleyworld train split"
    max_boost_db: float = MAX_BOOST_DB
    data_peak_dbfs: float | None = None   # median sample peak of the training clips with events
    codec_peak_dbfs: float | None = None  # the same of their round trip through the model's codec
    codec_loss_db: float | None = None    # median loudness the round trip loses (truth minus it)
    # The model's own takes, measured after the codec's correction: the median loudness by which
    # they still fall short of their truth on training-split clips (a sharper model makes peakier
    # takes, so the same peak plays quieter), and on how many clips. Included in peak_dbfs.
    takes_db: float | None = None
    takes_clips: int | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.peak_dbfs) and self.peak_dbfs <= 0):
            raise ValueError(f"level calibration: peak_dbfs must be a finite dBFS value <= 0, got {self.peak_dbfs}")
        if not (math.isfinite(self.max_boost_db) and self.max_boost_db >= 0):
            raise ValueError(f"level calibration: max_boost_db must be >= 0, got {self.max_boost_db}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def with_takes(self, shift_db: float, clips: int) -> "LevelCalibration":
        """Moved by ``shift_db``, the median loudness the model's own takes missed on ``clips``
        training clips (core.train.level.measure_takes); never above PEAK_CEILING_DBFS."""
        return replace(self, peak_dbfs=round(min(self.peak_dbfs + shift_db, PEAK_CEILING_DBFS), 2),
                       takes_db=round((self.takes_db or 0.0) + shift_db, 2), takes_clips=clips)

    def without_takes(self) -> "LevelCalibration":
        """The codec's part alone: what another MaskVAT with the same codec starts from."""
        if not self.takes_db:
            return replace(self, takes_db=None, takes_clips=None)
        if self.codec_peak_dbfs is not None and self.codec_loss_db is not None:
            peak = self.codec_peak_dbfs + self.codec_loss_db
        else:
            peak = self.peak_dbfs - self.takes_db
        return replace(self, peak_dbfs=round(min(peak, 0.0), 2), takes_db=None, takes_clips=None)

    @classmethod
    def from_meta(cls, meta: dict[str, Any] | None) -> "LevelCalibration | None":
        """From config.json's "level" block; None where a bundle has none (older bundles: their
        takes are written as the model made them)."""
        if not meta:
            return None
        try:
            opt: dict[str, Any] = {k: None if meta.get(k) is None else float(meta[k])
                                   for k in ("data_peak_dbfs", "codec_peak_dbfs", "codec_loss_db", "takes_db")}
            opt["takes_clips"] = None if meta.get("takes_clips") is None else int(meta["takes_clips"])
            return cls(peak_dbfs=float(meta["peak_dbfs"]), clips=int(meta.get("clips", 0)),
                       source=str(meta.get("source", "")),
                       max_boost_db=float(meta.get("max_boost_db", MAX_BOOST_DB)), **opt)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"bad \"level\" block in the model's config.json: {exc}") from None


@dataclass(frozen=True)
class Calibrated:
    """What calibration did to one take."""

    gain_db: float | None     # None: left as it was (see note)
    peak_before_dbfs: float   # -inf for digital silence
    note: str | None = None


def calibration_gain(wave: np.ndarray, cal: LevelCalibration) -> Calibrated:
    """The gain that brings ``wave``'s sample peak to the calibration's level, or why none."""
    before = sample_peak_dbfs(wave)
    gain = cal.peak_dbfs - before
    if gain > cal.max_boost_db:  # also inf: silence
        where = "silent" if math.isinf(before) else f"peak {before:.1f} dBFS"
        return Calibrated(None, before, f"{QUIET}: {where}, more than {cal.max_boost_db:g} dB under the "
                                        f"model's level ({cal.peak_dbfs:.1f} dBFS); left as the model made it")
    # To 0.01 dB (inaudible), the value the take's metadata records, so that the gain can be
    # applied again exactly (a region regenerated inside the take).
    return Calibrated(round(gain, 2), before)


def apply_gain(wave: np.ndarray, gain_db: float | None) -> np.ndarray:
    """``wave`` scaled by ``gain_db`` (the input itself for None), in its own dtype."""
    return wave if gain_db is None else scale_db(wave, gain_db)


def calibrate(wave: np.ndarray, cal: LevelCalibration | None) -> tuple[np.ndarray, Calibrated | None]:
    """``wave`` at the model's level, and what was done (None: the model has no calibration)."""
    if cal is None:
        return wave, None
    result = calibration_gain(wave, cal)
    return apply_gain(wave, result.gain_db), result
