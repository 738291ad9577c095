"""Issue #11, bad input: footage that is hard to read gives sound or one clear line, never a traceback.

Real files written with PyAV in temporary folders: a still picture, black and clipped-white
pictures, interlaced H.264 and MPEG-2, MPEG transport and program streams, a phone video with a
display rotation, variable frame rate, an empty file, audio-only files and a file damaged in the
middle. They go through the path a user takes (``maskvat-foley generate`` on a timeline, the tiny
model), and through the decoder and the engine's features where the picture itself is checked.
"""
from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import opentimelineio as otio
import pytest
import soundfile

from maskvat_foley.core.jobs import ClipJob
from maskvat_foley.core.media.video import MediaError, decode_rule, probe, read_frames
from maskvat_foley.core.media.video_writer import write_video
from maskvat_foley.core.timeline.io import write_timeline
from maskvat_foley.plugin.cli import main
from test_media_video import frame_index, index_frame

RATE = Fraction(25)
W, H = 64, 48
INTERLACED_X264 = {"flags": "+ilme+ildct", "x264-params": "tff=1"}
INTERLACED_MPEG2 = {"flags": "+ilme+ildct", "top": "1"}


def moving(i: int) -> np.ndarray:
    img = np.full((H, W, 3), 60, np.uint8)
    x = (3 * i) % (W - 8)
    img[10:30, x:x + 8] = 230
    return img


def noisy_index(i: int, w: int, h: int, rng: np.random.Generator) -> np.ndarray:
    """An index frame with noise: MPEG program streams need frames bigger than their 2 KiB packs
    (as real footage is) for every frame to carry its own timestamp."""
    img = index_frame(i, w, h).astype(np.int16) + rng.integers(-40, 40, (h, w, 3))
    return np.clip(img, 0, 255).astype(np.uint8)


def damaged(good: Path, path: Path) -> Path:
    """``good`` with a fifth of its bytes, 40 % in (inside the picture data), overwritten."""
    data = bytearray(good.read_bytes())
    at, n = len(data) * 2 // 5, len(data) // 5
    data[at:at + n] = np.random.default_rng(1).bytes(n)
    path.write_bytes(bytes(data))
    return path


def audio_only_m4a(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        stream.layout = "mono"
        for i in range(40):
            frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 48000, i * 1024
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def rotated(path: Path, picture: np.ndarray, degrees: int, frames: int = 25) -> Path:
    """A phone-style file: pictures stored as they are, a display matrix turning them ``degrees``
    counterclockwise when shown."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=int(RATE))
        stream.height, stream.width = picture.shape[:2]
        stream.pix_fmt = "yuv420p"
        stream.set_display_rotation(degrees)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


# Variable frame rate: 15 frames 1/30 s apart, then 1/15 s apart; frame 30 (at 1.5 s) is a flash.
VFR_TIMES = [Fraction(i, 30) for i in range(15)] + [Fraction(1, 2) + Fraction(k, 15) for k in range(23)]
FLASH = 30
FLASH_START, FLASH_END = VFR_TIMES[FLASH], VFR_TIMES[FLASH + 1]  # 1.5 s .. 1.5667 s


def vfr_flash(path: Path) -> Path:
    frames = [np.full((H, W, 3), 255 if i == FLASH else 30, np.uint8) for i in range(len(VFR_TIMES))]
    return write_video(path, frames, 30, times=VFR_TIMES)


@pytest.fixture(scope="module")
def hard_media(tmp_path_factory) -> dict[str, Path]:
    """Every hard case as a file, by name (each 2 s or less, 64x48 unless said)."""
    d = tmp_path_factory.mktemp("hard media")
    rng = np.random.default_rng(0)
    corner = np.zeros((H, W, 3), np.uint8)
    corner[:H // 2, :W // 2] = 255
    media = {
        "still": write_video(d / "still.mp4", [np.full((H, W, 3), 120, np.uint8)] * 50, RATE),
        "black": write_video(d / "black.mp4", [np.zeros((H, W, 3), np.uint8)] * 50, RATE),
        "white": write_video(d / "white.mp4", [np.full((H, W, 3), 255, np.uint8)] * 50, RATE),
        "interlaced h264": write_video(d / "interlaced.mp4", [moving(i) for i in range(50)], RATE,
                                       options=INTERLACED_X264),
        "interlaced mpeg2": write_video(d / "interlaced.mpg", [noisy_index(i, 320, 240, rng) for i in range(50)],
                                        RATE, codec="mpeg2video", options=INTERLACED_MPEG2, gop=12),
        "transport stream": write_video(d / "camcorder.mts", [index_frame(i) for i in range(50)], RATE,
                                        options=INTERLACED_X264, gop=12),
        "rotated": rotated(d / "phone.mp4", corner, -90, frames=50),
        "vfr": vfr_flash(d / "vfr.mp4"),
        "empty": d / "empty.mp4",
        "audio wav": d / "voice.wav",
        "audio m4a": audio_only_m4a(d / "voice.m4a"),
        "damaged": damaged(write_video(d / "good.mp4", [moving(i) for i in range(50)], RATE, gop=10),
                           d / "damaged.mp4"),
    }
    media["empty"].write_bytes(b"")
    soundfile.write(media["audio wav"], np.zeros(48000, np.float32), 48000)
    return media


def timeline(path: Path, clips: list[tuple[str, Path, int]]) -> str:
    """One video track at 25 fps from 00:00:00:00: (name, media, frames from the file's start)."""
    rt = otio.opentime.RationalTime
    tl = otio.schema.Timeline(name="hard")
    tl.global_start_time = rt(0, float(RATE))
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    tl.tracks.append(track)
    for name, media, frames in clips:
        ref = otio.schema.ExternalReference(target_url=Path(media).as_uri())
        track.append(otio.schema.Clip(name=name, media_reference=ref, source_range=otio.opentime.TimeRange(
            rt(0, float(RATE)), rt(frames, float(RATE)))))
    return write_timeline(tl, str(path))


# -- the user's path: every hard file in one edit, generated -----------------------------------------
def test_generate_gives_every_hard_file_a_take_or_one_clear_line(hard_media, tiny_model, tmp_path, capsys,
                                                                  one_torch_thread):
    m = hard_media
    clips = [("still", m["still"], 40), ("black", m["black"], 40), ("white", m["white"], 40),
             ("interlaced h264", m["interlaced h264"], 40), ("interlaced mpeg2", m["interlaced mpeg2"], 40),
             ("camcorder", m["transport stream"], 40), ("phone", m["rotated"], 40), ("vfr", m["vfr"], 45),
             ("damaged start", m["damaged"], 10),
             ("empty", m["empty"], 20), ("voice", m["audio wav"], 20), ("voice m4a", m["audio m4a"], 20),
             ("damaged", m["damaged"], 45)]
    path = timeline(tmp_path / "hard.otio", clips)
    out = tmp_path / "out" / "hard out.otio"
    rc = main(["generate", path, "-o", str(out), "--all", "--model", tiny_model, "--device", "cpu",
               "--takes", "1", "--seed", "7", "--steps", "2"])
    printed = capsys.readouterr()
    assert rc == 0, printed
    assert "Traceback" not in printed.out + printed.err
    lines = printed.out.splitlines()
    assert "9 clip(s) given Foley, 9 take(s)" in lines[-6], lines
    skipped = [line for line in lines if line.startswith("skipped ")]
    assert skipped == [
        f"skipped V1.10: {m['empty']}: the file is empty (0 bytes)",
        f"skipped V1.11: {m['audio wav']}: has no video stream",
        f"skipped V1.12: {m['audio m4a']}: has no video stream",
        f"skipped V1.13: {m['damaged']}: decoding failed after media time 0.720 s (Invalid data found when "
        f"processing input); the file may be damaged there"]
    wavs = sorted(out.parent.glob("*.wav"))
    assert [w.name for w in wavs] == sorted(f"hard_V1.{i}_7.wav" for i in range(1, 10))
    for wav in wavs:  # a take of the right length with real numbers in it (quiet is fine)
        audio, sr = soundfile.read(wav, dtype="float32")
        assert np.isfinite(audio).all() and len(audio) > 0
    placed = otio.adapters.read_from_file(str(out)).tracks[1].find_clips()
    assert len(placed) == 9  # nothing lost: every clip that could be read is on the Foley track


# -- 1, 2: no motion, black, clipped white ----------------------------------------------------------
def torch_finite(t) -> bool:
    import torch

    return bool(torch.isfinite(t).all())


@pytest.mark.parametrize("name", ["still", "black", "white"])
def test_still_black_and_white_pictures_give_finite_features(hard_media, name):
    from maskvat_foley.core.eval.metrics import motion_signal, video_peaks
    from maskvat_foley.core.features.base import create

    frames = read_frames(hard_media[name], 0, 40, RATE, size=(64, 64))
    level = {"still": 120, "black": 0, "white": 255}[name]
    assert abs(float(frames.rgb.mean()) - level) < 3
    motion = motion_signal(frames.rgb)
    assert np.isfinite(motion).all() and motion.max() < 1.0  # no motion, no division by it
    assert video_peaks(motion, RATE) == []
    for extractor in ("raw", "foleyworld-av"):  # the tiny model's and the bundled model's
        feats = create(extractor).extract(frames.rgb)
        assert torch_finite(feats), extractor


# -- 3: interlaced, and MPEG transport and program streams -------------------------------------------
@pytest.mark.parametrize("name", ["interlaced h264", "interlaced mpeg2", "transport stream"])
def test_interlaced_and_mpeg_streams_give_each_frame_at_its_time(hard_media, name):
    path = hard_media[name]
    with av.open(str(path)) as container:
        first = next(container.decode(video=0))
        assert first.interlaced_frame  # really interlaced: decoded as is, not deinterlaced (see video.py)
    if name == "interlaced h264":
        got = read_frames(path, 0, 50, RATE)
        assert np.abs(got.rgb.astype(int) - np.stack([moving(i) for i in range(50)])).mean() < 8
        return
    # From the first frame: MPEG-TS/PS seeks land past it; it must still be frame 0, not 1 or 11.
    for start in (0, 1, 20, 37):
        got = read_frames(path, start, 10, RATE)
        assert [frame_index(f) for f in got.rgb] == list(range(start, start + 10)), (name, start)
    assert probe(path).duration_frames == 50


# -- 4: a phone video with a display rotation --------------------------------------------------------
@pytest.mark.parametrize("degrees", [90, -90, 180])
def test_rotated_video_is_read_upright(tmp_path, degrees):
    picture = np.zeros((H, W, 3), np.uint8)
    picture[:H // 2, :W // 2] = 255  # the stored picture's top left quarter is white
    path = rotated(tmp_path / f"phone{degrees}.mov", picture, degrees, frames=5)
    upright = np.rot90(picture, degrees // 90)  # the display matrix turns it counterclockwise
    got = read_frames(path, 0, 3, RATE)
    assert got.rgb.shape[1:3] == upright.shape[:2]
    assert np.abs(got.rgb[0].astype(int) - upright).mean() < 3
    h, w = upright.shape[0] // 2, upright.shape[1] // 2
    scaled = read_frames(path, 1, 2, RATE, size=(w, h))  # size is the upright picture's (width, height)
    assert scaled.rgb.shape == (2, h, w, 3)
    half = upright.reshape(h, 2, w, 2, 3).mean(axis=(1, 3))
    assert np.abs(scaled.rgb[0] - half).mean() < 8


# -- 5: variable frame rate: an event lands at its time ----------------------------------------------
def test_variable_frame_rate_flash_lands_at_its_time(hard_media, tiny_model, tmp_path, one_torch_thread):
    path = hard_media["vfr"]
    for rate in (Fraction(25), Fraction(30), Fraction(24000, 1001)):
        n = int(Fraction(9, 5) * rate)  # 1.8 s of the 2.03 s file
        got = read_frames(path, 0, n, rate)
        lit = [i for i, f in enumerate(got.rgb) if f.mean() > 128]
        want = [i for i in range(n) if FLASH_START <= Fraction(i) / rate < FLASH_END]
        assert lit == want and want, rate  # by pts: not frame 30 of 30 fps (1.0 s) or of 25 fps (1.2 s)

    from maskvat_foley.core.engine.engine import Engine

    engine = Engine(tiny_model, device="cpu", cache_dir=str(tmp_path / "cache"))
    job = ClipJob(clip_id="V1.1", name="vfr", media_path=str(path), media_rate=RATE, source_start=0,
                  source_duration=45, timeline_rate=RATE, record_start=0, record_duration=45)
    cond = engine.features(job)  # [codec frames, gray grid | diff grid] of the raw extractor
    grid = engine.ckpt.extractor.grid
    gray = cond[:, : grid[0] * grid[1]].mean(dim=1).numpy()
    codec_rate = Fraction(engine.ckpt.tokenizer.frame_rate)
    brightest = Fraction(int(np.argmax(gray))) / codec_rate
    # The conditioning is brightest within a picture frame of the flash: the take is in sync with it.
    assert FLASH_START - Fraction(1, 25) <= brightest <= FLASH_END + Fraction(1, 25), float(brightest)


# -- 6: empty, audio only, damaged --------------------------------------------------------------------
def test_empty_audio_only_and_damaged_files_say_what_is_wrong(hard_media):
    m = hard_media
    for reader in (probe, lambda p: read_frames(p, 0, 5, RATE)):
        with pytest.raises(MediaError, match=r"empty\.mp4: the file is empty \(0 bytes\)$"):
            reader(m["empty"])
        for name in ("audio wav", "audio m4a"):
            with pytest.raises(MediaError, match="has no video stream$"):
                reader(m[name])
    # The damage lies in the middle: a clip before it reads; one across it says where it failed.
    assert len(read_frames(m["damaged"], 0, 10, RATE)) == 10
    with pytest.raises(MediaError, match=r"decoding failed after media time 0\.720 s \(Invalid data found "
                                         r"when processing input\); the file may be damaged there$"):
        read_frames(m["damaged"], 0, 45, RATE)
    garbage = m["empty"].with_name("garbage.mov")
    garbage.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(MediaError, match=r"cannot open as media \(Invalid data found when processing input\)$"):
        probe(garbage)
    os.remove(garbage)


# -- 5: B-frames stamped in coding order (a phone's H.264 in a container without composition offsets)
def test_b_frames_stamped_in_coding_order_are_read_in_presentation_order(tmp_path):
    src = write_video(tmp_path / "bframes.mp4", [index_frame(i) for i in range(48)], RATE, options={"bf": "3"})
    phone = tmp_path / "phone.mp4"
    with av.open(str(src)) as inp, av.open(str(phone), "w") as out:
        vs = inp.streams.video[0]
        assert vs.codec_context.has_b_frames
        add = getattr(out, "add_stream_from_template", None)
        ovs = add(vs) if add else out.add_stream(template=vs)
        first = None
        for pkt in inp.demux(vs):
            if pkt.dts is None:
                continue
            first = pkt.dts if first is None else first
            pkt.dts = pkt.pts = pkt.dts - first  # every packet's pts its (coding-order) dts
            pkt.stream = ovs
            out.mux(pkt)
    with av.open(str(phone)) as container:  # the decoder hands frames out with stamps out of order
        stamps = [f.pts for _, f in zip(range(12), container.decode(video=0))]
        assert stamps != sorted(stamps)
    # features made of such a file by an older reader are not reused; other files' keys are unchanged
    assert decode_rule(phone) == {"decode": "coding-order-stamps-resorted"} and decode_rule(src) == {}
    for path in (src, phone):
        for start in (0, 7, 30):
            got = read_frames(path, start, 10, RATE)
            assert [frame_index(f) for f in got.rgb] == list(range(start, start + 10)), (path.name, start)
            assert got.pts == sorted(got.pts)
