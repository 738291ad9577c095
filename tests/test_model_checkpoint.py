"""Checkpoint folders: bit-exact round trip, sha256, shape and compatibility errors, atomic writes."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from maskvat_foley.core.codec.tokenizer import CODEC_PRESETS, Tokenizer
from maskvat_foley.core.features.base import create
from maskvat_foley.core.model.checkpoint import (file_sha256, init_random, load_checkpoint,
                                                 read_meta, save_checkpoint)
from maskvat_foley.core.model.config import preset
from maskvat_foley.core.model.transformer import MaskVAT


def extractor():
    return create("raw", grid=(2, 2), input_size=(8, 8))       # dim 8


@pytest.mark.parametrize("variant", ["adaln", "hybrid"])
def test_round_trip_is_bit_exact(tmp_path, variant):
    tok = Tokenizer(CODEC_PRESETS["tiny"], seed=0)
    ext = extractor()
    torch.manual_seed(1)
    model = MaskVAT(preset("tiny", variant=variant, n_codebooks=3, codebook_size=128, cond_dim=ext.dim))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)       # non-zero AdaLN so every tensor matters
    path = save_checkpoint(tmp_path / "ck", model, tok, ext, name="unit-test", card="# card\n",
                           info={"steps": 0})
    files = sorted(p.name for p in path.iterdir())
    assert files == ["MODEL_CARD.md", "codec", "config.json", "features", "model.safetensors",
                     "model.safetensors.sha256"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]      # no temp left behind
    ck = load_checkpoint(path)
    meta = read_meta(path)
    assert ck.name == "unit-test" and ck.info == {"steps": 0} and ck.path == path
    assert ck.sha256 == meta["sha256"] == file_sha256(path / "model.safetensors")
    assert (path / "model.safetensors.sha256").read_text().split()[0] == ck.sha256
    assert meta["codec"]["name"] == "tiny" and meta["codec"]["frame_rate"] == "11025/128"  # 44100/512
    assert meta["features"] == {"name": "raw", "dim": 8}
    assert ck.config == model.config
    codes = torch.randint(0, 129, (2, 3, 20), generator=torch.Generator().manual_seed(0))
    cond = torch.randn(2, 20, 8)
    model.eval()
    with torch.no_grad():
        assert torch.equal(ck.model(codes, cond), model(codes, cond))
        assert torch.equal(ck.tokenizer.decode(codes.clamp(max=127)), tok.eval().decode(codes.clamp(max=127)))
    assert ck.extractor.dim == 8 and ck.extractor.name == "raw"
    assert ck.scorer.name == "onset-motion" and meta["scorer"] == {"name": "onset-motion"}
    assert not ck.model.training


def test_shape_mismatch_and_corruption_are_named(tmp_path):
    path = init_random(tmp_path / "ck", features_kw={"grid": (2, 2), "input_size": (8, 8)})
    load_checkpoint(path)
    # A config that no longer matches the weights names the first tensor that differs.
    cfg = path / "config.json"
    meta = json.loads(cfg.read_text())
    meta["model"]["d_model"] = 48
    meta["model"]["n_heads"] = 2
    cfg.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"tensor 'head_w' has shape \(3, 32, 128\) but the config in "
                                         r"config.json needs \(3, 48, 128\)"):
        load_checkpoint(path)
    meta["model"]["d_model"] = 32
    cfg.write_text(json.dumps(meta))
    # One tensor reshaped in the weights (sha256 updated so the shape check is what fires).
    w = path / "model.safetensors"
    state = load_file(str(w))
    state["head_b"] = torch.zeros(3, 10)
    save_file(state, str(w))
    meta["sha256"] = file_sha256(w)
    cfg.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=r"tensor 'head_b' has shape \(3, 10\).*needs \(3, 128\)"):
        load_checkpoint(path)
    # Changed bytes without a new sha256: refused as corrupt.
    meta["sha256"] = "0" * 64
    cfg.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="sha256 .* does not match"):
        load_checkpoint(path)
    meta["model"]["bogus"] = 1
    cfg.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="unknown MaskVAT config keys: bogus"):
        load_checkpoint(path)
    with pytest.raises(FileNotFoundError, match="has no config.json"):
        load_checkpoint(tmp_path)


def test_incompatible_parts_and_overwrite(tmp_path):
    tok = Tokenizer(CODEC_PRESETS["tiny"], seed=0)
    bad = MaskVAT(preset("tiny", n_codebooks=3, codebook_size=64, cond_dim=8))
    with pytest.raises(ValueError, match="codebooks of 64 but codec 'tiny' has 3 of 128"):
        save_checkpoint(tmp_path / "x", bad, tok, extractor(), name="x")
    wrong_dim = MaskVAT(preset("tiny", n_codebooks=3, codebook_size=128, cond_dim=9))
    with pytest.raises(ValueError, match="cond_dim 9 != feature extractor 'raw' dim 8"):
        save_checkpoint(tmp_path / "x", wrong_dim, tok, extractor(), name="x")
    assert not (tmp_path / "x").exists()
    path = init_random(tmp_path / "ck", features_kw={"grid": (2, 2), "input_size": (8, 8)}, seed=1)
    first = load_checkpoint(path).sha256
    with pytest.raises(FileExistsError, match="exists"):
        init_random(path, features_kw={"grid": (2, 2), "input_size": (8, 8)})
    init_random(path, features_kw={"grid": (2, 2), "input_size": (8, 8)}, seed=2, overwrite=True,
                variant="seq2seq")
    ck = load_checkpoint(path)
    assert ck.sha256 != first and ck.config.variant == "seq2seq"
    assert "Not trained yet" in (path / "MODEL_CARD.md").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ck"]
    # Same seed, same weights.
    again = init_random(tmp_path / "ck2", features_kw={"grid": (2, 2), "input_size": (8, 8)}, seed=2,
                        variant="seq2seq")
    assert load_checkpoint(again).sha256 == ck.sha256


def test_float16_weights_halve_the_file_and_load_as_float32(tmp_path):
    tok = Tokenizer(CODEC_PRESETS["tiny"], seed=0)
    ext = extractor()
    torch.manual_seed(2)
    model = MaskVAT(preset("tiny", n_codebooks=3, codebook_size=128, cond_dim=ext.dim)).eval()
    full = save_checkpoint(tmp_path / "f32", model, tok, ext, name="f32")
    half = save_checkpoint(tmp_path / "f16", model, tok, ext, name="f16", weights_dtype=torch.float16)
    size = lambda p: (p / "model.safetensors").stat().st_size  # noqa: E731
    assert size(half) < 0.6 * size(full)
    assert read_meta(half)["weights_dtype"] == "float16" and read_meta(full)["weights_dtype"] == "float32"
    stored = load_file(str(half / "model.safetensors"))
    assert {t.dtype for t in stored.values() if t.is_floating_point()} == {torch.float16}
    ck = load_checkpoint(half)
    assert {p.dtype for p in ck.model.parameters()} == {torch.float32}
    codes = torch.randint(0, 128, (1, 3, 20))
    cond = torch.randn(1, 20, ext.dim)
    with torch.no_grad():
        a, b = model(codes, cond), ck.model(codes, cond)
    assert torch.allclose(a, b, atol=1e-2) and not torch.equal(a, b)
