"""The DAC tokenizer with the real dac.DAC class and tiny configs."""
from __future__ import annotations

import json
import warnings
from fractions import Fraction

import dac
import pytest
import torch

from maskvat_foley.core.codec.config import CODEC_PRESETS, CodecConfig
from maskvat_foley.core.codec.official import official_cache_path
from maskvat_foley.core.codec.tokenizer import Tokenizer, load_tokenizer

SR = 44100


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return load_tokenizer("tiny", seed=0)


def noise(n: int, batch: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return 0.3 * torch.randn(batch, 1, n, generator=g)


def test_rates_and_frame_arithmetic(tok):
    assert tok.frame_rate == Fraction(44100, 512)
    assert float(tok.frame_rate) == 86.1328125
    assert (tok.sample_rate, tok.hop, tok.n_codebooks) == (44100, 512, 3)
    assert [tok.frames_for_samples(n) for n in (0, 1, 511, 512, 513, 44100)] == [0, 1, 1, 1, 2, 87]
    assert tok.samples_for_frames(87) == 44544
    for name in ("official-44khz", "small", "tiny"):
        assert CODEC_PRESETS[name].hop == 512  # same token rate for every preset
    with pytest.raises(ValueError, match="must be >= 0"):
        tok.frames_for_samples(-1)


def test_encode_decode_shapes_and_lengths(tok):
    for n, frames in ((1, 1), (512, 1), (513, 2), (5000, 10)):
        codes = tok.encode(noise(n, batch=2))
        assert codes.dtype == torch.long and codes.shape == (2, 3, frames)
        assert int(codes.min()) >= 0 and int(codes.max()) < tok.codebook_size
        audio = tok.decode(codes)
        assert audio.shape == (2, 1, frames * 512)
        assert not audio.requires_grad


def test_encode_accepts_1d_and_decode_coarse_codebooks(tok):
    x = noise(3000)
    codes = tok.encode(x[0, 0])
    assert torch.equal(codes, tok.encode(x))
    assert tok.decode(codes[:, :1]).shape == (1, 1, 6 * 512)


def test_bad_inputs_give_clear_errors(tok):
    with pytest.raises(ValueError, match=r"\[B, 1, T\]"):
        tok.encode(torch.zeros(1, 2, 1000))
    with pytest.raises(TypeError, match="floating point"):
        tok.encode(torch.zeros(1000, dtype=torch.int16))
    with pytest.raises(ValueError, match=r"\[0, 128\)"):
        tok.decode(torch.full((1, 3, 4), 128))
    with pytest.raises(ValueError, match="1 <= K <= 3"):
        tok.decode(torch.zeros(1, 4, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="unknown codec"):
        load_tokenizer("no-such-codec")


def test_presets_are_seeded(tok):
    other = load_tokenizer("tiny", seed=0)
    x = noise(4000, seed=3)
    assert torch.equal(other.encode(x), tok.encode(x))
    different = load_tokenizer("tiny", seed=1)
    assert not torch.equal(different.encode(x), tok.encode(x))


def test_save_load_round_trip_is_bit_exact(tok, tmp_path):
    tok.save(tmp_path / "codec")
    meta = json.loads((tmp_path / "codec" / "config.json").read_text())
    assert meta["config"]["name"] == "tiny" and meta["config"]["latent_dim"] == 64
    back = load_tokenizer(tmp_path / "codec")
    x = noise(6000, seed=5)
    codes = tok.encode(x)
    assert torch.equal(back.encode(x), codes)
    assert torch.equal(back.decode(codes), tok.decode(codes))
    assert back.config == tok.config


def test_config_weights_mismatch_and_missing_files(tok, tmp_path):
    d = tok.save(tmp_path / "codec")
    meta = json.loads((d / "config.json").read_text())
    meta["config"]["n_codebooks"] = 4
    (d / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"model\.safetensors: weights do not match codec config 'tiny'.*missing"):
        Tokenizer.load(d)
    meta["config"]["n_codebooks"], meta["config"]["decoder_dim"] = 3, 32
    (d / "config.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="shape mismatches"):
        Tokenizer.load(d)
    (d / "model.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match="has no model.safetensors"):
        Tokenizer.load(d)
    with pytest.raises(ValueError, match="unknown codec config keys: bogus"):
        CodecConfig.from_dict({"name": "x", "bogus": 1})


def test_chunked_equals_unchunked(tok):
    x = noise(512 * 60 + 77, batch=2, seed=7)
    codes = tok.encode(x)
    long_codes = tok.encode_long(x, chunk_frames=17)
    assert long_codes.shape == codes.shape == (2, 3, 61)
    assert torch.equal(long_codes, codes)
    audio = tok.decode(codes)
    long_audio = tok.decode_long(codes, chunk_frames=17)
    assert long_audio.shape == audio.shape == (2, 1, 61 * 512)
    assert (long_audio - audio).abs().max() < 1e-5
    # Without context the chunk edges differ: the comparison above really spans several chunks.
    assert (tok.decode_long(codes, chunk_frames=17, context_frames=0) - audio).abs().max() > 1e-3


def _tiny_dac() -> dac.DAC:
    torch.manual_seed(11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dac.DAC(**CODEC_PRESETS["tiny"].dac_kwargs()).eval()


def test_official_layout_reads_with_weights_only(tmp_path):
    model = _tiny_dac()
    path = tmp_path / "weights.pth"
    model.save(str(path), package=False)  # audiotools' writer: the layout of DAC's released files
    blob = torch.load(path, map_location="cpu", weights_only=True)
    assert set(blob) == {"state_dict", "metadata"} and blob["metadata"]["kwargs"]["n_codebooks"] == 3
    tok = Tokenizer.from_official(path)
    assert tok.config.n_codebooks == 3 and tok.config.codebook_size == 128
    x = noise(4096, seed=2)
    with torch.no_grad():
        _, ref_codes, *_ = model.encode(model.preprocess(x, SR))
    assert torch.equal(tok.encode(x), ref_codes)
    assert torch.equal(load_tokenizer(path).encode(x), ref_codes)


def test_official_parametrized_weight_norm_keys(tmp_path):
    model = _tiny_dac()
    renamed = {k.replace("weight_g", "parametrizations.weight.original0")
                .replace("weight_v", "parametrizations.weight.original1"): v
               for k, v in model.state_dict().items()}
    assert any("original0" in k for k in renamed)
    path = tmp_path / "new_torch.pth"
    torch.save({"state_dict": renamed, "metadata": {"kwargs": CODEC_PRESETS["tiny"].dac_kwargs()}}, path)
    x = noise(2048, seed=4)
    with torch.no_grad():
        _, ref_codes, *_ = model.encode(model.preprocess(x, SR))
    assert torch.equal(Tokenizer.from_official(path).encode(x), ref_codes)


class NotATensor:
    pass


def test_official_file_with_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "metadata": {"obj": NotATensor()}}, path)
    with pytest.raises(ValueError, match="weights_only=True"):
        Tokenizer.from_official(path)


def test_official_missing_and_cache_location(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    cache = official_cache_path()
    assert cache == tmp_path / ".cache" / "descript" / "dac" / "weights_44khz_8kbps_0.0.1.pth"
    with pytest.raises(FileNotFoundError, match="never downloads"):
        load_tokenizer("official")
    with pytest.raises(FileNotFoundError, match="nothing.pth"):
        Tokenizer.from_official(tmp_path / "nothing.pth")
    cache.parent.mkdir(parents=True)
    _tiny_dac().save(str(cache), package=False)
    assert load_tokenizer("official").config.n_codebooks == 3


def test_trainable(tok):
    fresh = load_tokenizer("tiny", seed=0).train()
    audio = fresh.decode(fresh.encode(noise(512)))
    assert audio.requires_grad
    audio.pow(2).mean().backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in fresh.model.decoder.parameters())
