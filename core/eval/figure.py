"""The evaluation's spectrogram figure: for a few clips of different kinds, the take's spectrogram
beside the true sound's, with the true event times marked (``maskvat-foley eval --figure PATH``).

Clips are chosen from the run in order (``FigurePicker``): the first clip with a continuous kind
(core.data.spec.CONTINUOUS_KINDS), the first with only impulsive kinds, then the first that adds
a kind the two do not show; fewer when the run has fewer kinds. Only clips that bring a kind no
earlier clip had can be chosen, so at most one clip per kind (8) is held in memory until the end.
Both pictures of a row share one dB reference, so a take quieter than its truth looks darker
(each picture normalised to itself would hide that, and would paint a silent take bright).
Drawn with Pillow (the project's only imaging dependency).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

N_FFT, HOP = 1024, 256
PANEL_W, PANEL_H = 480, 128
LEFT, GAP, RIGHT = 56, 16, 8   # frequency labels left of the take; the truth's panel shares them
TITLE, LABEL, MARK, AXIS, BOTTOM = 18, 16, 7, 14, 4
ROW_H = LABEL + MARK + PANEL_H + AXIS
FREQ_TICKS = ((100, "100 Hz"), (1000, "1 kHz"), (10000, "10 kHz"))
FMIN = 30.0  # core.media.spectrogram's lowest frequency
FLOOR_DB = -80.0
BG, FG, DIM, MARKER = (20, 20, 20), (230, 230, 230), (150, 150, 150), (80, 220, 255)


@dataclass
class FigureClip:
    name: str
    kinds: list[str]
    take: np.ndarray
    truth: np.ndarray
    sample_rate: int
    events: list[Fraction]  # true event times, s


def kind_class(kinds: Sequence[str]) -> str:
    from maskvat_foley.core.data.spec import CONTINUOUS_KINDS

    if not kinds:
        return "silent"
    return "continuous" if any(k in CONTINUOUS_KINDS for k in kinds) else "impulsive"


class FigurePicker:
    """Offered every clip of a run in order; keeps the ones the figure may show."""

    def __init__(self, rows: int = 3) -> None:
        self.rows = rows
        self.seen: set[str] = set()
        self.candidates: list[FigureClip] = []

    def offer(self, clip: FigureClip) -> None:
        new = set(clip.kinds) - self.seen
        # the first clip is kept too, so a run of silent clips still gets a figure
        if new or not self.candidates:
            self.candidates.append(clip)
        self.seen |= set(clip.kinds)

    def pick(self) -> list[FigureClip]:
        chosen: list[FigureClip] = []
        for want in ("continuous", "impulsive"):
            c = next((c for c in self.candidates if kind_class(c.kinds) == want), None)
            if c is not None:
                chosen.append(c)
        for c in self.candidates:  # then clips that show more kinds, then any, in run order
            if len(chosen) < self.rows and c not in chosen and set(c.kinds) - {k for x in chosen for k in x.kinds}:
                chosen.append(c)
        for c in self.candidates:
            if len(chosen) < self.rows and c not in chosen:
                chosen.append(c)
        order = {id(c): i for i, c in enumerate(self.candidates)}
        return sorted(chosen[:self.rows], key=lambda c: order[id(c)])


def figure_size(rows: int) -> tuple[int, int]:
    """(width, height) in pixels of a figure of ``rows`` clips."""
    return LEFT + 2 * PANEL_W + GAP + RIGHT, TITLE + rows * ROW_H + BOTTOM


def write_figure(path: str | os.PathLike, clips: Sequence[FigureClip]) -> Path:
    """Draw ``clips`` (one row each) and save the PNG atomically; returns its path."""
    from PIL import Image, ImageDraw

    if not clips:
        raise ValueError("a spectrogram figure needs at least one clip")
    img = Image.new("RGB", figure_size(len(clips)), BG)
    d = ImageDraw.Draw(img)
    d.text((LEFT, 3), "take (generated)", fill=FG)
    d.text((LEFT + PANEL_W + GAP, 3), "true audio", fill=FG)
    d.text((LEFT + 2 * PANEL_W + GAP - 250, 3), "ticks: true event times", fill=MARKER)
    for r, c in enumerate(clips):
        _row(img, d, c, TITLE + r * ROW_H)
    return save_png(img, path)


def save_png(img, path: str | os.PathLike) -> Path:
    """Save a Pillow image as PNG at ``path`` atomically (its folder made); returns the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial.png")
    try:
        img.save(tmp)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def font(size: int):
    """Pillow's own font at ``size`` pixels (FreeType, Pillow 10.1+), else its fixed bitmap font."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError, ImportError):  # older Pillow, or one built without FreeType
        return ImageFont.load_default()


def freq_rows(sample_rate: int, height: int) -> list[tuple[int, str]]:
    """(row from the top, label) of each FREQ_TICKS frequency below Nyquist in a spectrogram picture
    of ``height`` rows (core.media.spectrogram's log axis from FMIN)."""
    nyquist = sample_rate / 2
    return [(height - 1 - int(round(math.log(f / FMIN) / math.log(nyquist / FMIN) * height)), text)
            for f, text in FREQ_TICKS if f < nyquist]


def _row(img, d, c: FigureClip, y: int) -> None:
    from PIL import Image

    from maskvat_foley.core.media.spectrogram import colourize, spectrogram_db

    seconds = c.truth.size / c.sample_rate
    d.text((4, y + 2), f"{c.name}   {', '.join(c.kinds) or 'no events'} ({kind_class(c.kinds)})   "
                       f"{seconds:.2f} s, {len(c.events)} event{'' if len(c.events) == 1 else 's'}", fill=FG)
    dbs = [spectrogram_db(a, c.sample_rate, n_fft=N_FFT, hop=HOP, bins=PANEL_H, fmin=FMIN, ref_db=0.0)
           for a in (c.take, c.truth)]
    ref = max(float(x.max()) for x in dbs)  # one reference for both: levels compare by eye
    top = y + LABEL + MARK
    for i, db in enumerate(dbs):
        x0 = LEFT + i * (PANEL_W + GAP)
        img.paste(Image.fromarray(colourize(db - ref, PANEL_W, FLOOR_DB)), (x0, top))
        n_frames = db.shape[1]
        for t in c.events:  # a tick above the panel and a dotted line through it
            x = x0 + _column(float(t), c.sample_rate, n_frames)
            d.line([(x, top - MARK), (x, top - 2)], fill=MARKER)
            for yy in range(top, top + PANEL_H, 4):
                d.point((x, yy), fill=MARKER)
        _time_axis(d, x0, top + PANEL_H, seconds, c.sample_rate, n_frames)
        _freq_axis(d, x0, top, c.sample_rate)


def _column(t: float, sample_rate: int, n_frames: int) -> int:
    """The panel column showing time ``t``: frame k covers samples from k * HOP, centred
    N_FFT / 2 later, and the frames are stretched over PANEL_W columns."""
    frame = (t * sample_rate - N_FFT / 2) / HOP
    return int(round(min(max(frame / max(n_frames - 1, 1), 0.0), 1.0) * (PANEL_W - 1)))


def _time_axis(d, x0: int, y: int, seconds: float, sample_rate: int, n_frames: int) -> None:
    step = 0.5 if seconds <= 3 else (1.0 if seconds <= 8 else 2.0)
    for k in range(int(math.floor(seconds / step)) + 1):
        t = k * step
        x = x0 + _column(t, sample_rate, n_frames)
        d.line([(x, y), (x, y + 3)], fill=DIM)
        d.text((min(x + 2, x0 + PANEL_W - 24), y + 2), f"{t:g} s", fill=DIM)


def _freq_axis(d, x0: int, top: int, sample_rate: int) -> None:
    for dy, text in freq_rows(sample_rate, PANEL_H):
        row = top + dy
        d.line([(x0 - 4, row), (x0 - 1, row)], fill=DIM)
        if x0 == LEFT:  # the true audio's panel shares the axis: ticks only
            d.text((4, row - 5), text, fill=DIM)
