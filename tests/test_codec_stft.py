"""The frame-rate STFT codec behind DAC's token interface (DAC's own quantizer class inside)."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from dac.nn.quantize import ResidualVectorQuantize

from maskvat_foley.core.codec.config import CODEC_PRESETS, CodecConfig
from maskvat_foley.core.codec.stft_codec import StftCodec, analysis_frames, istft
from maskvat_foley.core.codec.tokenizer import Tokenizer, load_tokenizer
from maskvat_foley.core.train.losses import multiscale_stft_l1, spectral_convergence
from test_codec import noise

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return load_tokenizer("stft-tiny", seed=0)


def test_tokens_are_dacs(tok):
    assert isinstance(tok.model, StftCodec) and isinstance(tok.model.quantizer, ResidualVectorQuantize)
    assert tok.hop == 512 and tok.frame_rate == 44100 / 512
    codes = tok.encode(noise(512 * 10 + 3))
    assert codes.shape == (1, 3, 11) and codes.dtype == torch.long
    assert 0 <= int(codes.min()) and int(codes.max()) < 128
    assert tok.decode(codes).shape == (1, 1, 11 * 512)
    assert tok.decode(codes[:, :1]).shape == (1, 1, 11 * 512)  # coarse codebooks only


def test_the_istft_head_inverts_the_analysis_frames_exactly():
    """Frames centred on their hop, overlap-added and trimmed: F frames give exactly F*hop samples,
    and a signal's own spectrum comes back as the signal (away from the clip's two ends)."""
    window = torch.hann_window(1024)
    x = noise(256 * 40)
    spec = torch.fft.rfft(analysis_frames(x, window, 256))  # what the head would predict for x
    assert spec.shape == (1, 40, 513)
    rec = istft(spec, window, 256)
    assert rec.shape == x.shape
    assert torch.allclose(rec[..., 1024:-1024], x[..., 1024:-1024], atol=1e-5)


def test_the_decoder_builds_its_spectrum_in_float32_from_bfloat16_layers(tok):
    """The engine decodes under bf16 autocast on CUDA, where the head's exp() comes out float32 and
    the phase bf16: polar() takes neither mix nor bf16 (a bundled model failed to generate on an
    H200 that way). Layers in bf16 here stand for that; the audio is float32 and matches."""
    dec = tok.model.decoder
    z = torch.randn(1, dec.inp.in_channels, 12)
    full = dec(z)
    low = copy.deepcopy(dec).to(torch.bfloat16)(z.to(torch.bfloat16))
    assert low.dtype == torch.float32 and low.shape == full.shape
    assert torch.corrcoef(torch.stack([low.flatten(), full.flatten()]))[0, 1] > 0.9


def test_save_load_is_bit_exact_and_old_configs_read_as_dac(tok, tmp_path):
    tok.save(tmp_path / "c")
    again = Tokenizer.load(tmp_path / "c")
    x = noise(512 * 8)
    assert again.config == tok.config and torch.equal(again.encode(x), tok.encode(x))
    assert torch.equal(again.decode(tok.encode(x)), tok.decode(tok.encode(x)))
    old = {k: v for k, v in CodecConfig(name="small").to_dict().items() if k not in ("arch", "width", "depth", "n_fft")}
    assert CodecConfig.from_dict(old).arch == "dac"  # folders saved before the field existed
    with pytest.raises(ValueError, match="arch 'mp3'"):
        CodecConfig(name="x", arch="mp3")


def test_chunked_equals_unchunked(tok):
    x = noise(512 * 60 + 77, batch=2, seed=7)
    codes = tok.encode(x)
    assert torch.equal(tok.encode_long(x, chunk_frames=17), codes)
    audio = tok.decode(codes)
    assert (tok.decode_long(codes, chunk_frames=17) - audio).abs().max() < 1e-5
    # Without context the chunk edges differ: the comparison above really spans several chunks.
    assert (tok.decode_long(codes, chunk_frames=17, context_frames=0) - audio).abs().max() > 1e-4


def test_spectral_convergence_sees_level_where_log_losses_barely_do():
    """A take 20 dB too quiet on its one loud burst: the linear term is near 1, the log term small."""
    x = torch.zeros(1, 1, 44100)
    x[..., 20000:20400] = noise(400, seed=3)
    x = x + 1e-4 * noise(44100, seed=4)
    quiet = x.clone()
    quiet[..., 20000:20400] *= 0.1
    assert spectral_convergence(quiet, x) > 0.85 and spectral_convergence(x, x) < 1e-6
    assert multiscale_stft_l1(quiet, x) < 1.0  # mostly the silent bins, which match


def test_per_item_convergence_hears_a_quiet_crop_beside_a_loud_one():
    """A quiet tone left out of one crop while the other crop is loud noise, reproduced: the batch
    ratio barely moves, the per-item mean is half (one of two crops entirely wrong)."""
    t = torch.sin(torch.arange(22050) * 2 * math.pi * 2000 / 44100).view(1, 1, -1) * 0.03
    n = noise(22050, seed=2)
    truth, take = torch.cat([t, n]), torch.cat([torch.zeros_like(t), n])
    assert spectral_convergence(take, truth) < 0.1
    assert spectral_convergence(take, truth, per_item=True) == pytest.approx(0.5, abs=1e-3)


def test_training_step_moves_the_level_toward_the_truth(tmp_path):
    """A few steps of the real training command on the STFT codec with the level term."""
    from test_train_helpers import metrics, tiny_config

    from maskvat_foley.plugin.cli_train import run

    cfg = tiny_config(tmp_path, codec={"codec": "stft-tiny", "fixed_batch": True, "sc_weight": 10.0,
                                       "crop_seconds": [0.3, 0.3],
                                       "loop": {"max_steps": 12, "warmup_steps": 1, "lr": 0.003}})
    summary = run(["codec", "--config", cfg, "--out", str(tmp_path / "c"), "--no-progress"])
    rows = metrics(tmp_path / "c")
    assert rows[-1]["convergence"] < rows[0]["convergence"] and rows[-1]["loss"] < rows[0]["loss"]
    val = summary["val"]
    assert {"level_db", "silence_dbfs", "mel_distance"} <= set(val) and math.isfinite(val["level_db"])
    assert Tokenizer.load(tmp_path / "c" / "codec").config.arch == "stft"


def test_a_codec_stored_in_float16_loads_as_float32_and_decodes_alike(tok, tmp_path):
    tok.save(tmp_path / "half", weights_dtype=torch.float16)
    tok.save(tmp_path / "full")
    half = Tokenizer.load(tmp_path / "half")
    assert half.dtype == torch.float32
    size = {name: (tmp_path / name / "model.safetensors").stat().st_size for name in ("half", "full")}
    assert size["half"] < 0.6 * size["full"]
    codes = tok.encode(noise(512 * 12, seed=5))
    assert (half.decode(codes) - tok.decode(codes)).abs().max() < 1e-2


# -- the propagated phase (stft-tonal) ------------------------------------------------------------
def test_a_propagated_phase_carries_a_bins_tone_on_or_takes_the_predicted_phase():
    """Gate open: every frame advances each bin's phase by 2*pi*(k + dev)*hop/n_fft from the frame
    before, whatever was predicted; gate shut: the predicted phase, as the old head."""
    from maskvat_foley.core.codec.stft_codec import propagate_phase

    b, f, bins, hop, n_fft = 2, 9, 33, 16, 64
    phase = torch.rand(b, f, bins, generator=torch.Generator().manual_seed(0)) * 6
    dev = torch.full((b, f, bins), 0.3)
    u = propagate_phase(phase, dev, torch.full((b, f, bins), 40.0), hop, n_fft)
    k = torch.arange(bins)
    step = 2 * math.pi * hop / n_fft * (k + 0.5 * math.tanh(0.3))
    want = torch.polar(torch.ones(bins), phase[:, :1] + step * torch.arange(f).view(-1, 1))
    assert torch.allclose(u, want, atol=1e-4)
    shut = propagate_phase(phase, dev, torch.full((b, f, bins), -40.0), hop, n_fft)
    assert torch.allclose(shut, torch.polar(torch.ones_like(phase), phase), atol=1e-4)
    assert torch.allclose(u.abs(), torch.ones(b, f, bins), atol=1e-5)


def test_a_held_phase_makes_a_steady_tone_where_a_repeated_one_cancels():
    """Why the old head lost tones: the same latent every frame gives the same predicted phase
    every frame, and a tone between multiples of the frame rate (86 Hz) then partly cancels in the
    overlap-add while multiples of it add up (the old codec's faint comb of steady tones); training
    then learned to leave tones out. Carried over from frame to frame, any bin rings at its level."""
    from maskvat_foley.core.codec.stft_codec import propagate_phase

    n_fft, hop, f = 2048, 512, 40
    window = torch.hann_window(n_fft)
    mid = slice(10 * hop, 30 * hop)
    coherent = 2 * 100.0 / n_fft * 2.0 / 1.5 / math.sqrt(2)  # irfft scale, Hann OLA gain sum(w)/sum(w^2)

    def level(kb: int, held: bool) -> float:
        mag = torch.zeros(1, f, n_fft // 2 + 1)
        mag[..., kb] = 100.0
        same = torch.zeros_like(mag)
        unit = (propagate_phase(same, torch.zeros_like(mag), torch.full_like(mag, 40.0), hop, n_fft) if held
                else torch.polar(torch.ones_like(mag), same))
        return float(istft(mag * unit, window, hop)[..., mid].std())

    for kb in (37, 38, 101):  # 797, 818, 2176 Hz: between multiples of the frame rate
        assert level(kb, held=True) == pytest.approx(coherent, rel=0.02)
        assert level(kb, held=False) < 0.75 * coherent
    assert level(36, held=False) == pytest.approx(coherent, rel=0.02)  # 775 Hz = 9 x 86 Hz: the comb


def test_the_tonal_preset_saves_and_loads_its_phase(tmp_path):
    tok = Tokenizer(CodecConfig(name="tonal-tiny", arch="stft", width=32, depth=1, n_codebooks=3,
                                codebook_size=128, codebook_dim=8, n_fft=1024, phase="propagated"), seed=0)
    assert tok.model.decoder.head.out_features == 4 * 513
    tok.save(tmp_path / "c")
    again = Tokenizer.load(tmp_path / "c")
    assert again.config.phase == "propagated"
    x = noise(512 * 90 + 5, seed=9)
    codes = tok.encode(x)
    audio = again.decode(codes)
    assert torch.allclose(audio, tok.decode(codes), atol=1e-6)
    # The phase hears its past: a chunk warms it up on PHASE_WARMUP_FRAMES more frames of context,
    # so its seams are far smaller than without that context.
    warm = (again.decode_long(codes, chunk_frames=30) - audio).abs().max()
    cold = (again.decode_long(codes, chunk_frames=30, context_frames=3) - audio).abs().max()
    assert warm < 0.01 * audio.abs().max() and warm < 0.1 * cold
    assert CODEC_PRESETS["stft-tonal"].phase == "propagated" and CODEC_PRESETS["stft-small"].phase == "predicted"
    with pytest.raises(ValueError, match="phase 'spin'"):
        CodecConfig(name="x", arch="stft", phase="spin")
    with pytest.raises(ValueError, match="needs arch 'stft'"):
        CodecConfig(name="x", phase="propagated")
