"""Visual feature extractors, length adaptation and audio embedders."""
from __future__ import annotations

import json
import math
from fractions import Fraction

import av
import numpy as np
import pytest
import torch

from maskvat_foley.core.features.audio import available_audio, create_audio
from maskvat_foley.core.features.base import available, create, load_extractor
from maskvat_foley.core.features.length import adapt_length, frame_times_for_rate

CODEC_RATE = Fraction(44100, 512)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def random_rgb(n: int, w: int, h: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8)


def test_registry_lists_extractors():
    assert {"raw", "frame-cnn", "clip"} <= set(available())
    with pytest.raises(ValueError, match="unknown feature extractor 'nope'.*raw"):
        create("nope")
    assert "logmel" in available_audio()
    with pytest.raises(ValueError, match="unknown audio embedder"):
        create_audio("nope")


@pytest.mark.parametrize("name,kwargs,dim", [
    ("raw", {}, 512),
    ("raw", {"grid": (8, 4), "input_size": (32, 16)}, 64),
    ("frame-cnn", {"dim": 32, "width": 8, "input_size": (48, 32)}, 32),
    ("av-flow", {"dim": 16, "width": 4, "depth": 2, "input_size": (48, 32), "cnn_size": (24, 16), "grid": 2}, 16 + 23),
])
def test_shapes_and_batched_extract(name, kwargs, dim):
    ext = create(name, **kwargs)
    w, h = ext.input_size
    assert ext.dim == dim and ext.name == name
    assert ext(torch.rand(2, 5, 3, h, w)).shape == (2, 5, dim)
    rgb = random_rgb(9, w, h)
    whole = ext.extract(rgb, batch_frames=100)
    assert whole.shape == (9, dim) and whole.dtype == torch.float32
    # Batches overlap by the previous frame: every feature equals the one-pass feature.
    assert torch.allclose(ext.extract(rgb, batch_frames=2), whole, atol=1e-5)
    # Frames of another size are resized to input_size.
    assert ext.extract(random_rgb(3, w + 5, h + 7)).shape == (3, dim)
    with pytest.raises(ValueError, match=r"expects frames \[B, N, 3"):
        ext(torch.rand(1, 2, 3, h + 1, w))
    with pytest.raises(ValueError, match="uint8"):
        ext.extract(rgb.astype(np.float32))


def test_raw_features_are_gray_pixels_and_motion():
    ext = create("raw", grid=(2, 2), input_size=(4, 4))
    rgb = np.zeros((3, 4, 4, 3), np.uint8)
    rgb[1, :2, :2] = 255  # top-left quarter turns white at frame 1
    f = ext.extract(rgb)
    assert torch.allclose(f[0], torch.zeros(8))
    assert torch.allclose(f[1], torch.tensor([1.0, 0, 0, 0, 1.0, 0, 0, 0]), atol=1e-5)
    assert torch.allclose(f[2], torch.tensor([0.0, 0, 0, 0, 1.0, 0, 0, 0]), atol=1e-5)


@pytest.mark.parametrize("name,kwargs", [("raw", {"grid": (4, 4), "input_size": (16, 16)}),
                                         ("frame-cnn", {"dim": 16, "width": 4, "input_size": (32, 32)}),
                                         ("av-flow", {"dim": 8, "width": 4, "depth": 2, "input_size": (32, 32),
                                                      "cnn_size": (16, 16), "grid": 2})])
def test_save_load_round_trip(tmp_path, name, kwargs):
    ext = create(name, **kwargs)
    if list(ext.parameters()):
        with torch.no_grad():  # move away from the default init so loading really matters
            for p in ext.parameters():
                p.add_(torch.randn_like(p) * 0.1)
    ext.save(tmp_path / "fx")
    assert (tmp_path / "fx" / "model.safetensors").is_file()
    back = load_extractor(tmp_path / "fx")
    assert type(back) is type(ext) and back.config() == ext.config() and back.dim == ext.dim
    rgb = random_rgb(4, *ext.input_size)
    assert torch.equal(back.extract(rgb), ext.extract(rgb))


def test_load_mismatch_and_missing(tmp_path):
    d = create("frame-cnn", dim=16, width=4, input_size=(32, 32)).save(tmp_path / "fx")
    meta = json.loads((d / "config.json").read_text())
    meta["config"]["dim"] = 24
    (d / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="weights do not match extractor 'frame-cnn'"):
        load_extractor(d)
    (d / "config.json").unlink()
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        load_extractor(d)


def test_clip_without_weights_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing is ever downloaded"):
        create("clip")
    with pytest.raises(FileNotFoundError, match="missing.safetensors does not exist"):
        create("clip", checkpoint=tmp_path / "missing.safetensors")


@pytest.mark.parametrize("rate", [Fraction(24000, 1001), Fraction(25), Fraction(30000, 1001)])
def test_adapt_length_exact_lengths(rate):
    n = 73
    feats = torch.arange(n, dtype=torch.float64)[:, None].repeat(1, 3)
    times = frame_times_for_rate(n, rate)
    n_out = math.ceil(Fraction(n) / rate * CODEC_RATE)
    for mode in ("linear", "hold"):
        out = adapt_length(feats, times, n_out, CODEC_RATE, mode=mode)
        assert out.shape == (n_out, 3)
    # Linear: features equal to the frame index give back time * rate, held after the last frame.
    out = adapt_length(feats, times, n_out + 20, CODEC_RATE)
    expect = [min(float(Fraction(j) / CODEC_RATE * rate), n - 1) for j in range(n_out + 20)]
    assert np.allclose(out[:, 0].numpy(), expect, atol=1e-9)
    hold = adapt_length(feats, times, n_out, CODEC_RATE, mode="hold")
    assert hold[:, 0].tolist() == [float(Fraction(j) / CODEC_RATE * rate // 1) for j in range(n_out)]


def test_adapt_length_variable_frame_rate_and_edge_cases():
    rng = np.random.default_rng(3)
    steps = rng.integers(20, 70, 30)  # frame durations 20-70 ms
    times = [Fraction(0)] + [Fraction(int(s), 1000) for s in np.cumsum(steps)][:-1]
    feats = torch.from_numpy(rng.normal(size=(30, 5)))
    n_out = 200
    lin = adapt_length(feats, times, n_out, CODEC_RATE)
    grid = np.arange(n_out) / float(CODEC_RATE)
    tf = np.array([float(t) for t in times])
    for d in range(5):
        assert np.allclose(lin[:, d].numpy(), np.interp(grid, tf, feats[:, d].numpy()), atol=1e-9)
    hold = adapt_length(feats, np.array(tf), n_out, CODEC_RATE, mode="hold")  # float64 times work
    for j in (0, 7, 100, 199):
        k = max(i for i, t in enumerate(times) if t <= Fraction(j) / CODEC_RATE)
        assert torch.equal(hold[j], feats[k])
    one = adapt_length(feats[:1], [Fraction(0)], 10, CODEC_RATE)
    assert one.shape == (10, 5) and torch.equal(one, feats[:1].expand(10, 5))
    assert adapt_length(feats, times, 0, CODEC_RATE).shape == (0, 5)
    with pytest.raises(ValueError, match="frame times must increase; frame 2"):
        adapt_length(feats[:3], [Fraction(0), Fraction(1, 10), Fraction(1, 10)], 5, CODEC_RATE)
    with pytest.raises(ValueError, match="3 feature frames but 2 frame times"):
        adapt_length(feats[:3], [0, 1], 5, CODEC_RATE)


def write_square_video(path, rate: Fraction, n: int, onset: int, size: int = 64) -> None:
    """Dark frames with a bright square that sits still, then moves from frame ``onset`` on."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=rate)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        for i in range(n):
            img = np.full((size, size, 3), 16, np.uint8)
            x = 8 + 4 * max(0, i - onset + 1)
            img[24:36, x:x + 12] = 235
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_motion_onset_lands_on_the_right_codec_frame(tmp_path):
    rate, n, onset = Fraction(30000, 1001), 40, 17
    path = tmp_path / "square.mp4"
    write_square_video(path, rate, n, onset)
    ext = create("raw")
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        frames, times = [], []
        for fr in src.decode(stream):
            frames.append(fr.to_ndarray(width=ext.input_size[0], height=ext.input_size[1], format="rgb24"))
            times.append(Fraction(fr.pts) * stream.time_base)
    assert len(frames) == n and times[onset] == Fraction(onset * 1001, 30000)
    motion = ext.extract(np.stack(frames))[:, ext.dim // 2:].sum(1)  # |frame difference| energy
    threshold = 0.5 * float(motion.max())
    assert int(np.argmax(motion.numpy() > threshold)) == onset  # the video frame where it starts

    n_out = math.ceil(Fraction(n) / rate * CODEC_RATE)
    feats = ext.extract(np.stack(frames))
    held = adapt_length(feats, times, n_out, CODEC_RATE, mode="hold")[:, ext.dim // 2:].sum(1)
    first_hold = int(np.argmax(held.numpy() > threshold))
    assert first_hold == math.ceil(times[onset] * CODEC_RATE) == 49  # first codec frame at or after t
    lin = adapt_length(feats, times, n_out, CODEC_RATE)[:, ext.dim // 2:].sum(1)
    first_lin = int(np.argmax(lin.numpy() > threshold))
    # Linear ramps over the interval between the last still frame and the first moving one.
    assert times[onset - 1] * CODEC_RATE < first_lin <= first_hold


def test_onset_at_25_fps_without_video():
    feats = torch.zeros(100, 1)
    feats[50:] = 1.0
    out = adapt_length(feats, frame_times_for_rate(100, 25), 345, CODEC_RATE, mode="hold")
    assert int(torch.argmax((out[:, 0] > 0.5).int())) == 173  # ceil(2 s * 86.1328125)
    # Frame 128 at 25 fps (5.12 s) falls exactly on codec frame 441: the exact tie picks frame 128.
    feats = torch.zeros(200, 1)
    feats[128:] = 1.0
    for mode in ("hold", "linear"):
        out = adapt_length(feats, frame_times_for_rate(200, 25), 700, CODEC_RATE, mode=mode)
        assert out[441, 0] == 1.0 and out[440, 0] < 1.0


def test_logmel_embedder_shape_and_timing():
    emb = create_audio("logmel", dim=32)
    assert emb.dim == 32
    wave = torch.zeros(2, 1, 512 * 40)
    wave[1, 0, 512 * 25 + 100: 512 * 25 + 140] = 1.0  # a click in codec frame 25 of item 1
    out = emb.embed(wave, 44100, 40)
    assert out.shape == (2, 40, 32)
    assert torch.allclose(out[0], out[0, :1].expand(40, 32))  # silence is flat
    assert int(out[1].sum(1).argmax()) == 25
    assert emb.embed(torch.randn(1, 1, 300), 44100, 20).shape == (1, 20, 32)  # more frames than STFT frames
    with pytest.raises(ValueError, match=r"\[B, 1, T\]"):
        emb.embed(torch.zeros(1, 2, 100), 44100, 4)
