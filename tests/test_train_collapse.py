"""A collapsed codec (one code for every frame) is measured and refused before MaskVAT trains."""
from __future__ import annotations

import pytest
import torch

from maskvat_foley.core.train.cache import CacheClip, check_codes_alive, code_perplexity


def test_perplexity_is_one_for_a_collapsed_codebook_and_grows_with_use():
    constant = torch.full((2, 500), 7)
    assert torch.allclose(code_perplexity(constant, 64), torch.ones(2))
    uniform = torch.arange(64).repeat(2, 8)
    assert torch.allclose(code_perplexity(uniform, 64), torch.full((2,), 64.0), rtol=1e-4)


def test_collapsed_cache_is_refused_and_a_live_one_passes():
    def clip(codes):
        return CacheClip("c", codes, torch.zeros(codes.shape[1], 4), torch.zeros(codes.shape[1], 0))

    with pytest.raises(ValueError, match="collapsed"):
        check_codes_alive([clip(torch.full((3, 200), 5)), clip(torch.full((3, 100), 5))], 64)
    g = torch.Generator().manual_seed(0)
    alive = check_codes_alive([clip(torch.randint(0, 64, (3, 200), generator=g))], 64)
    assert float(alive.min()) > 30


def test_codec_validation_reports_code_use():
    from maskvat_foley.core.codec.tokenizer import load_tokenizer
    from maskvat_foley.core.train.codec import evaluate_codec
    from maskvat_foley.core.train.sources import make_source

    tok = load_tokenizer("tiny")
    metrics = evaluate_codec(tok, make_source({"type": "foleyworld", "split": "val", "n": 2}, split="val"), 1.0)
    assert 1.0 <= metrics["code_perplexity_min"] <= metrics["code_perplexity_mean"] <= tok.codebook_size
