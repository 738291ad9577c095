"""MaskVAT config and network: presets, strict JSON, logits shapes per variant, conditioning paths."""
from __future__ import annotations

import json

import pytest
import torch

from maskvat_foley.core.model.config import PRESETS, MaskVATConfig, preset
from maskvat_foley.core.model.transformer import MaskVAT, count_parameters


def tiny(**kw) -> MaskVAT:
    torch.manual_seed(0)
    return MaskVAT(preset("tiny", **kw)).eval()


def test_config_round_trip_and_errors():
    for name in PRESETS:
        cfg = preset(name)
        again = MaskVATConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again == cfg
    assert preset("paper").d_model == 1024 and preset("paper").n_layers == 24 and preset("paper").n_heads == 16
    with pytest.raises(ValueError, match="unknown MaskVAT config keys: bogus"):
        MaskVATConfig.from_dict({**preset("tiny").to_dict(), "bogus": 1})
    with pytest.raises(ValueError, match="variant 'lstm'"):
        preset("tiny", variant="lstm")
    with pytest.raises(ValueError, match="unknown MaskVAT preset 'huge'"):
        preset("huge")
    with pytest.raises(ValueError, match="aux_dim"):
        preset("tiny", aux_weight=0.5)
    assert preset("tiny").mask_id == preset("tiny").codebook_size


def test_default_preset_is_a_few_million_parameters():
    # The bundled model's size for the "small" codec (6 x 1024) and 512-d features.
    n = count_parameters(MaskVAT(preset("default", n_codebooks=6, cond_dim=512)))
    assert 2e6 < n < 12e6


@pytest.mark.parametrize("variant", ["adaln", "seq2seq", "hybrid"])
def test_logits_shapes_and_heads_subset(variant):
    m = tiny(variant=variant)
    cfg = m.config
    codes = torch.randint(0, cfg.codebook_size + 1, (3, cfg.n_codebooks, 17))
    cond = torch.randn(3, 17, cfg.cond_dim)
    logits = m(codes, cond)
    assert logits.shape == (3, cfg.n_codebooks, 17, cfg.codebook_size)
    sub = m(codes, cond, heads=[0, 2])
    assert sub.shape == (3, 2, 17, cfg.codebook_size)
    torch.testing.assert_close(sub, logits[:, [0, 2]], rtol=1e-5, atol=1e-5)
    # cond with batch 1 is shared by every row.
    one = m(codes, cond[:1])
    torch.testing.assert_close(one[0], logits[0], rtol=1e-5, atol=1e-5)
    lg, hidden = m(codes, cond, return_hidden=True)
    assert hidden.shape == (3, 17, cfg.d_model)


@pytest.mark.parametrize("variant", ["adaln", "seq2seq", "hybrid"])
def test_condition_and_null_condition_reach_the_logits(variant):
    m = tiny(variant=variant)
    # AdaLN-Zero starts as identity; give the modulations weights so the condition has a path.
    with torch.no_grad():
        for name, p in m.named_parameters():
            if "mod" in name:
                p.normal_(0, 0.2)
    cfg = m.config
    codes = torch.full((2, cfg.n_codebooks, 12), cfg.mask_id)
    cond = torch.randn(2, 12, cfg.cond_dim)
    base = m(codes, cond)
    assert not torch.allclose(base, m(codes, cond + 1.0))
    dropped = m(codes, cond, torch.tensor([True, False]))
    torch.testing.assert_close(dropped[1], base[1])
    assert not torch.allclose(dropped[0], base[0])
    # A dropped row ignores its features entirely (the learned null vector replaces them).
    torch.testing.assert_close(m(codes, torch.randn_like(cond), torch.tensor([True, True]))[0], dropped[0])


def test_positions_matter_and_any_length_up_to_max_frames():
    m = tiny()
    cfg = m.config
    for n in (1, 5, cfg.max_frames):
        out = m(torch.randint(0, cfg.codebook_size, (1, cfg.n_codebooks, n)), torch.randn(1, n, cfg.cond_dim))
        assert out.shape[2] == n
    with pytest.raises(ValueError, match="1..256 frames"):
        m(torch.zeros(1, cfg.n_codebooks, cfg.max_frames + 1, dtype=torch.long),
          torch.zeros(1, cfg.max_frames + 1, cfg.cond_dim))
    # Same tokens, different order -> different logits (RoPE gives positions; seq2seq because
    # AdaLN-Zero blocks start as the identity).
    m = tiny(variant="seq2seq")
    codes = torch.randint(0, cfg.codebook_size, (1, cfg.n_codebooks, 8))
    cond = torch.zeros(1, 8, cfg.cond_dim)
    a = m(codes, cond)
    b = m(codes.flip(-1), cond).flip(2)
    assert not torch.allclose(a, b, atol=1e-4)


def test_bad_inputs_are_named():
    m = tiny()
    cfg = m.config
    with pytest.raises(ValueError, match=r"codes must be \[B,4,F\]"):
        m(torch.zeros(1, 3, 5, dtype=torch.long), torch.zeros(1, 5, cfg.cond_dim))
    with pytest.raises(ValueError, match="frame-aligned"):
        m(torch.zeros(1, 4, 5, dtype=torch.long), torch.zeros(1, 6, cfg.cond_dim))
    with pytest.raises(ValueError, match="token ids must be in 0..64"):
        m(torch.full((1, 4, 5), 65), torch.zeros(1, 5, cfg.cond_dim))
