"""The real-footage figure (``maskvat-foley eval --set real --media PATH --figure PATH``): one video and its
take, read at a glance. Top to bottom, on one time axis (seconds from the video's first frame):

- a strip of the video's frames fitted to the width: each tile shows the picture at the time under its
  centre (the white tick);
- the picture's motion curve as the eval measures it (core.eval.metrics.motion_signal on the analysis
  frames, segment by segment), drawn as the RMS grey-level change from the frame before, with each
  segment's peak threshold (dashed; metrics.peak_threshold), its motion peaks (green) and its cuts (red,
  drawn through every row);
- a lane pairing motion peaks with the take's onsets: an onset within one frame of a peak (a hit of
  AV-Align) is joined to it, so what the score counts is seen;
- the spectrogram of the first seed's take, segments in time order so the whole video is covered, with the
  take's onsets (cyan). Its dB are relative to a full-scale sine (``FULL_SCALE_DB``), one scale for every
  video: a quiet take looks dark, as it sounds.

The header names the video and the model and gives the video's numbers from eval.json (both seeds).
``FigureTrack`` gathers what a video's figure needs segment by segment as the run goes: the motion curve,
one thumbnail per tile and the spectrogram already pooled to the picture's columns (the loudest frame of
each column, so short onsets stay visible), so a long video costs no more memory than a short one.
Drawn with Pillow; colours, fonts, frequency ticks and saving are core.eval.figure's.
"""
from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from maskvat_foley.core.eval.figure import BG, DIM, FG, FLOOR_DB, FMIN, HOP, MARKER, N_FFT, font, freq_rows, save_png

WIDTH = 1200
LEFT, RIGHT = 76, 20
PANEL_W = WIDTH - LEFT - RIGHT
HEADER, LABEL, GAP, MARK = 50, 18, 8, 7
STRIP_H, MOTION_H, LANE_H, SPEC_H, AXIS = 72, 120, 36, 180, 34
STRIP_Y = HEADER + LABEL
MOTION_Y = STRIP_Y + STRIP_H + GAP + LABEL
LANE_Y = MOTION_Y + MOTION_H + 4
SPEC_Y = LANE_Y + LANE_H + GAP + LABEL + MARK
HEIGHT = SPEC_Y + SPEC_H + AXIS
# a full-scale sine's magnitude in its STFT bin (Hann window): 0 dB on the spectrogram's scale
FULL_SCALE_DB = 20 * math.log10(float(np.hanning(N_FFT).sum()) / 2)
TIME_STEPS = (0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600)
MIN_TICK_PX = 60
MEASURES = {"lufs": "LUFS", "rms_dbfs": "dBFS RMS"}  # real.loudness's measures as written

PANEL_BG, GRID, NO_DATA = (34, 34, 34), (52, 52, 52), (60, 60, 60)
CURVE, PEAK, CUT, HIT, THRESHOLD = (235, 235, 235), (110, 230, 110), (255, 85, 75), (255, 255, 255), (125, 125, 125)


def figure_size() -> tuple[int, int]:
    """(width, height) in pixels of a real-footage figure (the same for every video)."""
    return WIDTH, HEIGHT


def figure_paths(path: str | os.PathLike, stems: Sequence[str]) -> list[Path]:
    """Where each video's figure goes: ``path`` itself for one video; for several, ``path`` with the video's
    file stem appended (``fig.png`` -> ``fig_carphone.png``), and its place in the run too where two videos
    share a stem."""
    p = Path(path)
    if len(stems) == 1:
        return [p]
    dup = {s for s in stems if stems.count(s) > 1}
    suffix = p.suffix or ".png"
    return [p.with_name(f"{p.stem}_{s}_{i:02d}{suffix}" if s in dup else f"{p.stem}_{s}{suffix}")
            for i, s in enumerate(stems)]


class FigureTrack:
    """One video's figure data, filled segment by segment (``add_picture``, ``add_take``); a segment that
    failed leaves its span empty (drawn as 'no take' / no curve)."""

    def __init__(self, n_frames: int, rate: Fraction) -> None:
        self.n_frames, self.rate = n_frames, Fraction(rate)
        self.seconds = float(Fraction(n_frames) / self.rate)
        self.motion = np.full(n_frames, np.nan)
        self.threshold = np.full(n_frames, np.nan)
        self.segment_starts: list[int] = []  # frames
        self.peaks: list[float] = []  # s, video time
        self.cuts: list[float] = []
        self.cut_frames: list[int] = []
        self.onsets: list[float] = []
        self.seed: int | None = None
        self.sample_rate: int | None = None
        self.spec = np.full((SPEC_H, PANEL_W), np.nan)  # dB re FULL_SCALE_DB, low frequencies first
        self.tiles: list[tuple[int, int, int]] | None = None  # (x0, x1) in the panel, frame shown
        self.thumbs: dict[int, Any] = {}  # tile index -> PIL image
        self.levels: list[tuple[float, float | None, str]] = []  # (segment start s, level, measure) of the take

    def column_of(self, t: float) -> int:
        """The panel column (0 .. PANEL_W - 1) showing time ``t`` s."""
        return min(max(int(t / self.seconds * PANEL_W), 0), PANEL_W - 1)

    def add_picture(self, start: int, rgb: np.ndarray, motion: np.ndarray, peaks: Sequence[Fraction],
                    cuts: Sequence[int]) -> None:
        """A segment from frame ``start``: its analysis frames, motion curve, peaks (s from the segment's
        start) and cuts (frames from its start)."""
        from PIL import Image

        from maskvat_foley.core.eval.metrics import peak_threshold

        n = len(motion)
        self.motion[start:start + n] = motion
        self.threshold[start:start + n] = peak_threshold(motion)
        self.segment_starts.append(start)
        s0 = Fraction(start) / self.rate
        self.peaks += [float(s0 + p) for p in peaks]
        self.cut_frames += [start + c for c in cuts]
        self.cuts += [float(Fraction(start + c) / self.rate) for c in cuts]
        if self.tiles is None:  # tiles as wide as the picture's shape at the strip's height
            h, w = rgb.shape[1:3]
            tw = max(16, round(STRIP_H * w / h))
            self.tiles = []
            for x0 in range(0, PANEL_W, tw):
                x1 = min(x0 + tw, PANEL_W)
                centre = (x0 + x1) / 2 / PANEL_W * self.seconds
                self.tiles.append((x0, x1, min(int(centre * self.rate), self.n_frames - 1)))
        for i, (x0, x1, f) in enumerate(self.tiles):
            if start <= f < start + len(rgb):
                tw = round(STRIP_H * rgb.shape[2] / rgb.shape[1])
                self.thumbs[i] = Image.fromarray(np.ascontiguousarray(rgb[f - start])).resize(
                    (max(tw, x1 - x0), STRIP_H), Image.BILINEAR)

    def add_take(self, start: int, n: int, audio: np.ndarray, sample_rate: int, onsets: Sequence[float],
                 seed: int, loudness: tuple[float | None, str] | None = None) -> None:
        """The shown take of the segment of ``n`` frames from ``start``: its audio, onsets (s from the
        segment's start) and (level, measure) as eval.json has them (real.loudness; level None: silence)."""
        from maskvat_foley.core.media.spectrogram import spectrogram_db

        self.seed, self.sample_rate = seed, sample_rate
        s0, s1 = float(Fraction(start) / self.rate), float(Fraction(start + n) / self.rate)
        if loudness is not None:
            self.levels.append((s0, *loudness))
        self.onsets += [s0 + float(o) for o in onsets]
        db = spectrogram_db(audio, sample_rate, n_fft=N_FFT, hop=HOP, bins=SPEC_H, fmin=FMIN, ref_db=FULL_SCALE_DB)
        k = db.shape[1]

        def frame(t: float) -> float:  # STFT frame j is centred at s0 + (j * HOP + N_FFT / 2) / sample_rate
            return ((t - s0) * sample_rate - N_FFT / 2) / HOP

        per_col = self.seconds / PANEL_W
        for c in range(PANEL_W):
            centre = (c + 0.5) * per_col
            if not s0 <= centre < s1:
                continue
            a, b = max(0, math.ceil(frame(c * per_col))), min(k, math.ceil(frame((c + 1) * per_col)))
            # the loudest frame centred in the column, or the nearest when columns outnumber frames
            self.spec[:, c] = db[:, a:b].max(axis=1) if b > a else db[:, min(max(round(frame(centre)), 0), k - 1)]

    def hits(self) -> list[tuple[float, float]]:
        """(peak, onset) pairs within one frame (strictly, as AV-Align counts)."""
        win = 1 / float(self.rate)
        peaks = np.array(sorted(self.peaks))
        out = []
        for o in self.onsets:
            if peaks.size:
                p = peaks[np.argmin(np.abs(peaks - o))]
                if abs(p - o) < win:
                    out.append((float(p), o))
        return out


# -- drawing ------------------------------------------------------------------------------------------
def write_real_figure(path: str | os.PathLike, track: FigureTrack, *, model: str,
                      summary: dict[str, Any]) -> Path:
    """Draw ``track`` with the video's ``summary`` (its record in eval.json) and save the PNG atomically."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", figure_size(), BG)
    d = ImageDraw.Draw(img)
    step = _time_step(track.seconds)
    _header(d, track, model, summary)
    _strip(img, d, track)
    _motion(d, track, step)
    _lane(d, track, step)
    _spectrogram(img, d, track)
    for t in track.cuts:  # through every row: a shot change concerns picture and sound alike
        x = LEFT + track.column_of(t)
        for y in range(STRIP_Y, SPEC_Y + SPEC_H, 6):
            d.line([(x, y), (x, min(y + 3, SPEC_Y + SPEC_H - 1))], fill=CUT, width=2)
    _time_axis(d, track, step)
    return save_png(img, path)


def _fmt(x: float | None, spec: str = ".3f") -> str:
    return "n/a" if x is None else format(x, spec)


def _header(d, track: FigureTrack, model: str, s: dict[str, Any]) -> None:
    big, normal = font(17), font(13)
    rate = float(track.rate)
    d.text((LEFT, 6), s["video"], fill=FG, font=big)
    x = LEFT + d.textlength(s["video"], font=big) + 16
    d.text((x, 9), f"{track.seconds:.2f} s   {s['width']}x{s['height']}   {rate:.4g} fps   "
                   f"{s['segments']} segment{'' if s['segments'] == 1 else 's'}"
                   + (f" ({s['failed_segments']} failed)" if s["failed_segments"] else ""), fill=DIM, font=normal)
    m = f"model: {model}"
    d.text((WIDTH - RIGHT - d.textlength(m, font=normal), 9), m, fill=FG, font=normal)
    levels = ("silent" if s["loudness_mean"] is None else
              f"{s['loudness_mean']:.1f} {'/'.join(MEASURES.get(x, x) for x in s['loudness_measures'])}")
    cuts = f"{s['cuts']} cut{'' if s['cuts'] == 1 else 's'}" + (
        f", {100 * s['cut_onset_share']:.0f}% with an onset" if s["cut_onset_share"] is not None else "")
    ratio = f" (x{s['av_align_ratio']:.2f})" if s["av_align_ratio"] is not None else ""
    se = f" ±{_fmt(s['av_align_seed_se'])}" if s["av_align_seed_se"] is not None else ""
    parts = [(f"AV-Align {_fmt(s['av_align'])}{se}", PEAK),
             (f" vs {_fmt(s['av_align_reversed'])} reversed{ratio}", FG),
             (f"    level follows motion {_fmt(s['envelope_motion'])}", FG),
             (f" vs {_fmt(s['envelope_motion_reversed'])}", FG),
             (f"    {levels}", FG), (f"    {cuts}", FG),
             (f"    {_fmt(s['onsets_per_second'], '.1f')} onsets/s", FG),
             (f", {100 * (s['rattle_share'] or 0.0):.0f}% rattling", FG),
             (f", {100 * (s['broadband_share'] or 0.0):.0f}% broadband noise", FG),
             (f"    means of {s['takes']} takes", DIM)]
    x = LEFT
    for text, colour in parts:
        d.text((x, 30), text, fill=colour, font=normal)
        x += d.textlength(text, font=normal)


def _legend(d, x: float, y: int, items: Sequence[tuple[str, tuple, str]], f) -> None:
    """Sample marks and their meaning, left to right from ``x`` on the label line ``y``."""
    for kind, colour, text in items:
        cy = y + 8
        if kind == "tri":
            d.polygon([(x, cy - 4), (x + 8, cy - 4), (x + 4, cy + 3)], fill=colour)
        elif kind == "cut":
            d.line([(x + 4, cy - 6), (x + 4, cy - 2)], fill=colour, width=2)
            d.line([(x + 4, cy + 1), (x + 4, cy + 5)], fill=colour, width=2)
        elif kind == "dash":
            for xx in range(int(x), int(x) + 10, 4):
                d.line([(xx, cy), (xx + 1, cy)], fill=colour)
        elif kind == "tick":
            d.line([(x + 4, cy - 6), (x + 4, cy + 5)], fill=colour, width=2)
        elif kind == "join":
            d.line([(x, cy + 5), (x + 8, cy - 5)], fill=colour, width=2)
        d.text((x + 13, y + 1), text, fill=DIM, font=f)
        x += 13 + d.textlength(text, font=f) + 18


def _strip(img, d, track: FigureTrack) -> None:
    small, normal = font(11), font(13)
    d.text((LEFT, STRIP_Y - LABEL + 1), "frames", fill=FG, font=normal)
    _legend(d, LEFT + 60, STRIP_Y - LABEL, [("tick", HIT, "each tile shows the picture at the time under its tick")],
            small)
    for i, (x0, x1, _) in enumerate(track.tiles or []):
        thumb = track.thumbs.get(i)
        if thumb is None:
            d.rectangle([LEFT + x0, STRIP_Y, LEFT + x1 - 1, STRIP_Y + STRIP_H - 1], fill=NO_DATA)
            continue
        img.paste(thumb.crop((0, 0, x1 - x0, STRIP_H)), (LEFT + x0, STRIP_Y))
        xc = LEFT + (x0 + x1) // 2
        d.line([(xc, STRIP_Y + STRIP_H - 6), (xc, STRIP_Y + STRIP_H - 1)], fill=HIT, width=2)
        d.line([(LEFT + x1 - 1, STRIP_Y), (LEFT + x1 - 1, STRIP_Y + STRIP_H - 1)], fill=BG)  # tile edges
    if not track.tiles:
        d.rectangle([LEFT, STRIP_Y, LEFT + PANEL_W - 1, STRIP_Y + STRIP_H - 1], fill=NO_DATA)


def _motion(d, track: FigureTrack, step: float) -> None:
    small, normal = font(11), font(13)
    top, bottom = MOTION_Y, MOTION_Y + MOTION_H - 1
    title = "motion (RMS grey-level change per frame, as the eval measures it)"
    d.text((LEFT, top - LABEL + 1), title, fill=FG, font=normal)
    _legend(d, LEFT + d.textlength(title, font=normal) + 20, top - LABEL,
            [("tri", PEAK, "motion peaks"), ("dash", THRESHOLD, "peak threshold"), ("cut", CUT, "cuts"),
             ("dash", DIM, "segment starts")], small)
    d.rectangle([LEFT, top, LEFT + PANEL_W - 1, bottom], fill=PANEL_BG)
    _grid(d, track, step, top, bottom)
    v = np.sqrt(track.motion)  # RMS grey-level change: the unit an eye reads
    calm = np.delete(v, [f for f in track.cut_frames if f < v.size])  # a cut's jump would flatten the rest
    finite = calm[np.isfinite(calm)] if np.isfinite(calm).any() else v[np.isfinite(v)]
    ymax = float(finite.max()) * 1.15 if finite.size and finite.max() > 0 else 1.0

    def y(val: float) -> float:
        return bottom - min(val / ymax, 1.0) * (MOTION_H - 14)  # room above the top for peak marks

    d.text((LEFT - 8 - d.textlength("0", font=small), bottom - 7), "0", fill=DIM, font=small)
    label = f"{ymax / 1.15:.3g}"
    d.line([(LEFT - 4, y(ymax / 1.15)), (LEFT - 1, y(ymax / 1.15))], fill=DIM)
    d.text((LEFT - 8 - d.textlength(label, font=small), y(ymax / 1.15) - 7), label, fill=DIM, font=small)
    starts = sorted(track.segment_starts) + [track.n_frames]
    for i, (a, b) in enumerate(zip(starts, starts[1:])):
        x0 = LEFT + track.column_of(a / float(track.rate))
        if i:
            for yy in range(top, bottom, 6):
                d.line([(x0, yy), (x0, yy + 2)], fill=DIM)
            d.text((x0 + 3, top + 1), f"segment {i + 1}", fill=DIM, font=small)
        thr = math.sqrt(track.threshold[a]) if np.isfinite(track.threshold[a]) else None
        x1 = LEFT + track.column_of(b / float(track.rate))
        if thr is not None:
            for xx in range(x0, x1, 8):
                d.line([(xx, y(thr)), (min(xx + 3, x1), y(thr))], fill=THRESHOLD)
        pts = [(LEFT + track.column_of(f / float(track.rate)), y(v[f])) for f in range(a, b) if np.isfinite(v[f])]
        if len(pts) > 1:
            d.line(pts, fill=CURVE, width=2)
    for t in track.peaks:
        x = LEFT + track.column_of(t)
        f = min(round(t * float(track.rate)), track.n_frames - 1)
        yy = y(v[f]) if np.isfinite(v[f]) else top + 12
        d.polygon([(x - 5, yy - 12), (x + 5, yy - 12), (x, yy - 4)], fill=PEAK)


def _lane(d, track: FigureTrack, step: float) -> None:
    small = font(11)
    top, mid, bottom = LANE_Y, LANE_Y + LANE_H // 2, LANE_Y + LANE_H - 1
    _grid(d, track, step, top, bottom)
    d.text((LEFT - 8 - d.textlength("peaks", font=small), top + 2), "peaks", fill=PEAK, font=small)
    d.text((LEFT - 8 - d.textlength("onsets", font=small), mid + 3), "onsets", fill=MARKER, font=small)
    for p, o in track.hits():  # joined: what AV-Align counts as a hit
        d.line([(LEFT + track.column_of(p), top + 11), (LEFT + track.column_of(o), bottom - 11)], fill=HIT, width=2)
    for t in track.peaks:
        x = LEFT + track.column_of(t)
        d.line([(x, top + 1), (x, top + 11)], fill=PEAK, width=2)
    for t in track.onsets:
        x = LEFT + track.column_of(t)
        d.line([(x, bottom - 11), (x, bottom - 1)], fill=MARKER, width=2)


def _spectrogram(img, d, track: FigureTrack) -> None:
    from PIL import Image

    from maskvat_foley.core.eval.real import SILENT_DB
    from maskvat_foley.core.media.spectrogram import colourize

    small, normal = font(11), font(13)
    label_y = SPEC_Y - MARK - LABEL
    title = "take" + (f", seed {track.seed}" if track.seed is not None else "") + " (spectrogram)"
    d.text((LEFT, label_y + 1), title, fill=FG, font=normal)
    _legend(d, LEFT + d.textlength(title, font=normal) + 20, label_y,
            [("tick", MARKER, f"onsets ({len(track.onsets)})"),
             ("join", HIT, f"onset within one frame of a motion peak ({len(track.hits())})")], small)
    _colour_bar(img, d, label_y, small)
    missing = ~np.isfinite(track.spec).all(axis=0)
    picture = colourize(np.where(np.isfinite(track.spec), track.spec, FLOOR_DB), PANEL_W, FLOOR_DB)
    img.paste(Image.fromarray(picture), (LEFT, SPEC_Y))
    for c in np.flatnonzero(missing):  # a segment without a take: hatched
        x = LEFT + int(c)
        d.line([(x, SPEC_Y), (x, SPEC_Y + SPEC_H - 1)], fill=NO_DATA if (c // 6) % 2 else PANEL_BG)
    if missing.any():
        c = int(np.flatnonzero(missing)[0])
        d.text((LEFT + c + 6, SPEC_Y + SPEC_H // 2 - 6), "no take", fill=FG, font=normal)
    for s0, level, measure in track.levels:  # each segment's level, where it starts
        text = "silent" if level is None else f"{level:.1f} {MEASURES.get(measure, measure)}"
        text += " (silent)" if level is not None and level <= SILENT_DB else ""
        x = LEFT + track.column_of(s0) + (4 if s0 > 0 else 2)
        d.rectangle([x - 2, SPEC_Y + 2, x + d.textlength(text, font=small) + 2, SPEC_Y + 16], fill=BG)
        d.text((x, SPEC_Y + 3), text, fill=FG, font=small)
        if s0 > 0:  # and where the next segment's take begins
            d.line([(x - 4, SPEC_Y), (x - 4, SPEC_Y + SPEC_H - 1)], fill=DIM)
    for t in track.onsets:  # a tick above the panel and a dotted line through it
        x = LEFT + track.column_of(t)
        d.line([(x, SPEC_Y - MARK), (x, SPEC_Y - 2)], fill=MARKER, width=2)
        for yy in range(SPEC_Y, SPEC_Y + SPEC_H, 5):
            d.point((x, yy), fill=MARKER)
    for dy, text in freq_rows(track.sample_rate or 44100, SPEC_H):
        d.line([(LEFT - 4, SPEC_Y + dy), (LEFT - 1, SPEC_Y + dy)], fill=DIM)
        d.text((LEFT - 8 - d.textlength(text, font=small), SPEC_Y + dy - 7), text, fill=DIM, font=small)


def _colour_bar(img, d, y: int, f) -> None:
    """The dB scale, right-aligned on the spectrogram's label line."""
    from PIL import Image

    from maskvat_foley.core.media.spectrogram import colourize

    w = 120
    bar = colourize(np.linspace(FLOOR_DB, 0, w)[None, :].repeat(8, axis=0), w, FLOOR_DB)
    right = "0 dB (full-scale sine)"
    x_right = WIDTH - RIGHT - d.textlength(right, font=f)
    x_bar = int(x_right - 6 - w)
    left = f"{FLOOR_DB:g} dB"
    d.text((x_bar - 6 - d.textlength(left, font=f), y + 2), left, fill=DIM, font=f)
    img.paste(Image.fromarray(bar), (x_bar, y + 5))
    d.text((x_right, y + 2), right, fill=DIM, font=f)


def _time_step(seconds: float) -> float:
    return next((s for s in TIME_STEPS if s * PANEL_W / seconds >= MIN_TICK_PX), TIME_STEPS[-1])


def _grid(d, track: FigureTrack, step: float, top: int, bottom: int) -> None:
    for k in range(int(track.seconds / step) + 1):
        x = LEFT + track.column_of(k * step)
        d.line([(x, top), (x, bottom)], fill=GRID)


def _time_axis(d, track: FigureTrack, step: float) -> None:
    small = font(12)
    y = SPEC_Y + SPEC_H
    for k in range(int(track.seconds / step + 1e-9) + 1):
        t = k * step
        x = LEFT + track.column_of(t)
        d.line([(x, y), (x, y + 4)], fill=DIM)
        text = f"{t:g}"
        d.text((min(max(x - d.textlength(text, font=small) / 2, LEFT - 4), WIDTH - RIGHT - 20), y + 6), text,
               fill=DIM, font=small)
    title = "time (s)"
    d.text((WIDTH - RIGHT - d.textlength(title, font=small), y + 20), title, fill=FG, font=small)
