"""The frame-rate STFT codec behind DAC's token interface (DAC's own quantizer class inside)."""
from __future__ import annotations

import copy
import math

import pytest
import torch
from dac.nn.quantize import ResidualVectorQuantize

from maskvat_foley.core.codec.config import CodecConfig
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
