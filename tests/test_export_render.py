"""Exported timelines rendered by the real engines: every take is heard where it belongs.

melt (MLT: Shotcut, Kdenlive's engine) renders the .mlt and ges-launch-1.0 (GStreamer Editing
Services: Pitivi) the .xges to a 48 kHz WAV; cross-correlation finds each active take, and a clip
of production sound read from a timecoded Broadcast WAV, at its record time to within 1 ms. The
timelines start at 01:00:00:00 (01:00:00;00 drop frame), hold a dissolve (so two Foley tracks
overlap) and a clip whose media runs at another rate; video is real (PyAV), the takes are noise
bursts written by core.media.bwf and placed by core.timeline.placement.
"""
from __future__ import annotations

import dataclasses
import os
import subprocess
from fractions import Fraction

import numpy as np
import opentimelineio as otio
import pytest
import soundfile as sf

import timeline_builders as tb
from editors import require
from maskvat_foley.core.jobs import Take
from maskvat_foley.core.media.bwf import write_bwf
from maskvat_foley.core.media.video_writer import write_video
from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import list_clips
from maskvat_foley.core.timeline.editor_xml import gstreamer_cannot_read
from maskvat_foley.core.timeline.export import export_timeline
from maskvat_foley.core.timeline.placement import place_takes, set_active_take

SR = 48000
TOLERANCE = SR // 1000  # 1 ms
# Timeline rate, and the rate of clip B's media (chosen so B covers whole timeline frames).
CASES = {
    "25": (Fraction(25), Fraction(50), 60),
    "23.976": (Fraction(24000, 1001), Fraction(30000, 1001), 30),
    "29.97df": (Fraction(30000, 1001), Fraction(24000, 1001), 24),
}


@dataclasses.dataclass
class Expected:
    name: str
    audio: np.ndarray
    start: int  # first sample in the render, which begins at the timeline's start timecode
    path: str = ""


def _bursts(seed: int, count: int) -> np.ndarray:
    """Noise switched on and off in 10 ms blocks by a seeded pattern: each take is unlike any other."""
    rng = np.random.default_rng(seed)
    gate = np.repeat(rng.random(count // 480 + 1) < 0.6, 480)[:count]
    return (rng.standard_normal(count) * 0.15 * gate).astype(np.float32)


def _video(path, frames: int, rate: Fraction) -> str:
    shade = [np.full((48, 64, 3), (i * 7) % 256, np.uint8) for i in range(frames)]
    return str(write_video(path, shade, rate))


def _take(folder, info, seed: int) -> Take:
    first, count = rates.sample_span(info.visible_start, info.visible_end, info.rate, SR)
    path = folder / f"{info.id}_{seed}.wav"
    clip_number = int(info.id.split(".")[1])
    write_bwf(path, _bursts(seed * 100 + clip_number, count), SR, time_reference=first, timecode_rate=info.rate)
    return Take(clip_id=info.id, seed=seed, path=str(path), sample_rate=SR, num_samples=count, time_reference=first)


def _take_audio(take: Take) -> np.ndarray:
    audio, _ = sf.read(take.path, dtype="float32")
    return audio


def build(folder, rate: Fraction, media_rate: Fraction, b_frames: int) -> tuple[otio.schema.Timeline, list[Expected]]:
    """V1: A, a 6+6 frame dissolve, B (media at ``media_rate``), a gap, C; "Production": a clip of a
    timecoded WAV; Foley with two takes per clip (B plays its second take)."""
    folder.mkdir(parents=True, exist_ok=True)
    start = tb.one_hour(rate)
    origin = rates.from_timecode(start, rate)
    timeline = tb.new_timeline("render", rate, start)
    video = otio.schema.Track(name="V1")
    video.extend([
        tb.clip("A", 4, 30, rate, tb.ext_ref(_video(folder / "a.mp4", 44, rate), rate, 0, 44)),
        otio.schema.Transition(name="dissolve", in_offset=tb.rt(6, rate), out_offset=tb.rt(6, rate)),
        tb.clip("B", 15, b_frames, media_rate,
                tb.ext_ref(_video(folder / "b.mp4", 100, media_rate), media_rate, 0, 100)),
        tb.gap(9, rate),
        tb.clip("C", 0, 20, rate, tb.ext_ref(_video(folder / "c.mp4", 20, rate), rate, 0, 20)),
    ])
    # Production sound: a Broadcast WAV whose timecode starts 50 frames before the timeline; the clip
    # plays it from 20 frames in, at record frame 10.
    file_start, length = origin - 50, 200
    first, count = rates.sample_span(file_start, file_start + length, rate, SR)
    prod = _bursts(7, count)
    write_bwf(folder / "prod.wav", prod, SR, time_reference=first, timecode_rate=rate)
    audio = otio.schema.Track(name="Production", kind=otio.schema.TrackKind.Audio)
    audio.extend([tb.gap(10, rate), tb.clip("prod", file_start + 20, 40, rate, otio.schema.ExternalReference(
        target_url=(folder / "prod.wav").as_uri(), available_range=tb.tr(file_start, length, rate)))])
    timeline.tracks.extend([video, audio])

    infos = list_clips(timeline)
    takes = {i.id: (i, [_take(folder, i, 1), _take(folder, i, 2)], 1) for i in infos}
    placed = set_active_take(place_takes(timeline, takes), "V1.2", 2)
    skip = rates.frame_to_sample(origin, rate, SR)
    expected = [Expected(f"{i.id} take {t.seed}", _take_audio(t), t.time_reference - skip, t.path)
                for i in infos for t in takes[i.id][1] if t.seed == (2 if i.id == "V1.2" else 1)]
    head, tail = rates.frame_to_sample(20, rate, SR), rates.frame_to_sample(60, rate, SR)
    expected.append(Expected("production sound", prod[head:tail], rates.frame_to_sample(10, rate, SR),
                             str(folder / "prod.wav")))
    return placed, expected


def find(render: np.ndarray, expected: Expected) -> tuple[int, float]:
    """(error in samples, normalised correlation peak) of ``expected`` in ``render``."""
    n = 1 << int(np.ceil(np.log2(len(render) + len(expected.audio))))
    corr = np.fft.irfft(np.fft.rfft(render, n) * np.conj(np.fft.rfft(expected.audio, n)), n)[:len(render)]
    lag = int(np.argmax(corr))
    return lag - expected.start, float(corr[lag] / np.dot(expected.audio, expected.audio))


@pytest.fixture(scope="module")
def editor_env(tmp_path_factory) -> dict[str, str]:
    """melt and GStreamer keep caches and registries under HOME and XDG folders: temporary ones."""
    home = tmp_path_factory.mktemp("editor home")
    env = dict(os.environ, HOME=str(home))
    for var, sub in (("XDG_CACHE_HOME", ".cache"), ("XDG_CONFIG_HOME", ".config"), ("XDG_DATA_HOME", ".local/share")):
        (home / sub).mkdir(parents=True)
        env[var] = str(home / sub)
    return env


def _run(cmd: list[str], env: dict[str, str], out, attempts: int = 4) -> np.ndarray:
    """Render with an engine, starting it again if it hangs.

    Debian's melt 7.12 sometimes never returns under CPU load (a few per cent of runs on a busy
    2-core machine): its render thread is gone, an empty file is left and the main loop sleeps on.
    A render takes about a second, so half a minute means hung; the render itself is judged as ever.
    """
    for _ in range(attempts):
        if os.path.exists(out):
            os.remove(out)
        try:  # No stdin: melt reads key presses from it.
            done = subprocess.run(cmd, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=30)
            break
        except subprocess.TimeoutExpired:
            continue
    else:
        raise AssertionError(f"{cmd[0]} hung {attempts} times (30 s each): {' '.join(cmd)}")
    assert done.returncode == 0 and os.path.isfile(out), \
        f"{cmd[0]} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    audio, sr = sf.read(out, dtype="float64", always_2d=True)
    assert sr == SR
    return audio.mean(axis=1)


def render_mlt(path, out, env) -> np.ndarray:
    melt = require("melt")
    return _run([melt, "-quiet", str(path), "-consumer", f"avformat:{out}", f"frequency={SR}", "channels=1",
                 "vn=1", "real_time=0"], env, out)  # real_time=0: frames in order, none dropped


def render_xges(path, out, env) -> np.ndarray:
    ges = require("ges-launch-1.0")
    return _run([ges, "--no-interactive", "-l", str(path), "-o", out.as_uri(),
                 "-f", "audio/x-wav:audio/x-raw,channels=1"], env, out)


RENDERERS = {"mlt": render_mlt, "xges": render_xges}


@pytest.mark.parametrize("fmt", sorted(RENDERERS))
@pytest.mark.parametrize("case", list(CASES))
def test_every_take_is_heard_at_its_record_time(tmp_path, editor_env, case, fmt):
    timeline, expected = build(tmp_path / "media", *CASES[case])
    before = otio.adapters.write_to_string(timeline, "otio_json")
    out = tmp_path / f"foley.{fmt}"
    result = export_timeline(timeline, out)
    assert otio.adapters.write_to_string(timeline, "otio_json") == before  # the user's timeline is untouched
    render = RENDERERS[fmt](out, tmp_path / "render.wav", editor_env)
    # GStreamer 1.22 cannot read a WAV ending in an odd-sized data chunk (at 29.97 a 24-bit mono
    # take of an odd sample count): core.media.bwf never writes one, so every take is heard.
    assert [e.name for e in expected if gstreamer_cannot_read(e.path)] == []
    assert result.warnings == ()
    found = {e.name: find(render, e) for e in expected}
    assert len(found) >= 3
    for name, (error, peak) in found.items():
        assert abs(error) <= TOLERANCE and peak > 0.95, (name, error, peak, found)
    # The takes not chosen are nowhere in the mix (B's first take, the others' second ones).
    for path in (tmp_path / "media").glob("V1.*.wav"):
        if path.stem not in ("V1.1_1", "V1.2_2", "V1.3_1"):
            _, peak = find(render, Expected(path.stem, sf.read(path, dtype="float32")[0], 0))
            assert peak < 0.3, path.stem
