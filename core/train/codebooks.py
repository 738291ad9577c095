"""Keep a DAC codec's codebooks in use while it trains.

FoleyWorld audio is mostly near-silence between short events. Trained from a random codebook, the
encoder's projected latents crowd into a few directions within tens of steps and every frame maps to
one or two codes (measured: loud-frame perplexity ~5 of 1024 after 60 steps, with or without DAC's
VQ losses), which leaves MaskVAT nothing to learn. The classic cure (SoundStream, Jukebox) is used
here: codes that went unused since the last refresh are re-seeded from latents of the current batch,
choosing the frames the codebook fits worst, so new codes go where the data is, not where it isn't.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class CodebookRefresher:
    """Counts code use during training; ``refresh`` re-seeds the codes left unused."""

    def __init__(self, quantizer: nn.Module, *, min_uses: int = 1) -> None:
        self.quantizer = quantizer  # dac ResidualVectorQuantize
        self.min_uses = min_uses
        size = quantizer.codebook_size
        self.counts = torch.zeros(len(quantizer.quantizers), size, dtype=torch.long)

    # Saved with the training state: a resumed run must not take an empty count for "all unused".
    def state_dict(self) -> dict[str, torch.Tensor]:
        return {"counts": self.counts.clone()}

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.counts.copy_(state["counts"])

    def observe(self, codes: torch.Tensor) -> None:
        """codes [B, K, T] from the training forward pass."""
        size = self.counts.shape[1]
        for k in range(codes.shape[1]):
            self.counts[k] += torch.bincount(codes[:, k].reshape(-1).cpu(), minlength=size)

    @torch.no_grad()
    def refresh(self, z: torch.Tensor, generator: torch.Generator | None = None) -> list[int]:
        """Re-seed each codebook's unused codes from the latents of encoder output ``z`` [B, D, T]
        (the residual each stage actually sees); return how many codes each stage got back."""
        refreshed = []
        residual = z
        for k, q in enumerate(self.quantizer.quantizers):
            z_e = q.in_proj(residual)                                     # [B, d, T]
            frames = z_e.transpose(1, 2).reshape(-1, z_e.shape[1])        # [N, d]
            dead = (self.counts[k] < self.min_uses).nonzero().flatten()
            if len(dead):
                # Cosine fit of every frame to its nearest live code: the worst fitted frames first.
                live = (self.counts[k] >= self.min_uses).nonzero().flatten().to(z.device)
                unit = F.normalize(frames, dim=1)
                if len(live):
                    fit = (unit @ F.normalize(q.codebook.weight[live], dim=1).t()).amax(dim=1)
                else:
                    fit = torch.zeros(len(frames), device=z.device)
                order = torch.argsort(fit)
                pool = order[:max(len(dead), len(order) // 4)]
                pick = pool[torch.randperm(len(pool), generator=generator)[:len(dead)]]
                if len(pick) < len(dead):  # fewer frames than dead codes: reuse frames, jittered
                    extra = pool[torch.randint(len(pool), (len(dead) - len(pick),), generator=generator)]
                    pick = torch.cat([pick, extra])
                seeds = frames[pick]
                noise = torch.randn(seeds.shape, generator=generator).to(seeds) * 0.01
                q.codebook.weight[dead.to(z.device)] = seeds + noise * seeds.norm(dim=1, keepdim=True)
            refreshed.append(len(dead))
            z_q, _ = q.decode_latents(z_e)
            residual = residual - q.out_proj(z_q)
        self.counts.zero_()
        return refreshed
