"""Unused codes are re-seeded from real latents, so a codec trained on sparse audio keeps using codes."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from maskvat_foley.core.codec.tokenizer import load_tokenizer
from maskvat_foley.core.data import generate_clip
from maskvat_foley.core.train.cache import code_perplexity
from maskvat_foley.core.train.codebooks import CodebookRefresher


def _audio(seeds=range(4), seconds=2) -> torch.Tensor:
    n = 40 * 512
    return torch.from_numpy(np.stack([generate_clip(s, video=False, seconds=seconds).audio[:n]
                                      for s in seeds]))[:, None]


def test_unused_codes_are_reseeded_from_latents_and_used_ones_kept():
    tok = load_tokenizer("tiny")
    rvq = tok.model.quantizer
    before = [q.codebook.weight.detach().clone() for q in rvq.quantizers]
    refresher = CodebookRefresher(rvq)
    refresher.counts[:, :10] = 3                      # codes 0-9 of every stage were used
    with torch.no_grad():
        z = tok.model.encoder(_audio())
    got = refresher.refresh(z, torch.Generator().manual_seed(0))
    assert got == [rvq.codebook_size - 10] * len(rvq.quantizers)
    assert int(refresher.counts.sum()) == 0
    with torch.no_grad():
        z_e = rvq.quantizers[0].in_proj(z).transpose(1, 2).reshape(-1, rvq.codebook_dim[0])
    for k, q in enumerate(rvq.quantizers):
        w = q.codebook.weight.detach()
        assert torch.equal(w[:10], before[k][:10])
        assert not torch.allclose(w[10:], before[k][10:])
    # The first stage's new codes point where its latents point (a 1% jitter apart).
    cos = F.normalize(rvq.quantizers[0].codebook.weight[10:].detach(), dim=1) @ F.normalize(z_e, dim=1).t()
    assert float(cos.amax(dim=1).min()) > 0.99


def test_refresh_keeps_a_training_codec_from_collapsing():
    """The failure this guards against, measured: tiny codec, one batch, lr 1e-3, 15 steps."""
    x = _audio(range(8))

    def train(refresh_every: int) -> float:
        torch.manual_seed(0)
        tok = load_tokenizer("tiny")
        m = tok.model.train()
        refresher = CodebookRefresher(m.quantizer)
        opt = torch.optim.AdamW(m.parameters(), lr=1e-3, betas=(0.8, 0.99))
        for step in range(15):
            if refresh_every and step % refresh_every == 0:
                refresher.refresh(m.encoder(x), torch.Generator().manual_seed(step))
            out = m(x, 44100)
            refresher.observe(out["codes"])
            y = out["audio"][..., :x.shape[-1]]
            loss = (F.l1_loss(y, x) + 0.25 * out["vq/commitment_loss"].mean()
                    + out["vq/codebook_loss"].mean())
            opt.zero_grad()
            loss.backward()
            opt.step()
        m.eval()
        codes = tok.encode(x)                          # [B, K, F]
        return float(code_perplexity(codes.transpose(0, 1).reshape(codes.shape[1], -1), tok.codebook_size).mean())

    torch.set_num_threads(1)
    kept, collapsed = train(3), train(0)
    # Measured 2.15 against 1.00 (every frame one code, in every codebook).
    assert collapsed < 1.3 and kept > 1.5 * collapsed, (kept, collapsed)
