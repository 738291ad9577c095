"""Transformer building blocks: rotary positions, attention, feed-forward, AdaLN-Zero blocks."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


class Rotary(nn.Module):
    """Rotary position embedding (RoPE): relative positions, so any length and any window work.

    Audio and visual frames share one time axis (both at the codec frame rate), so cross-attention
    uses it too: a query at frame t sees visual frame t at relative position 0.
    """

    def __init__(self, head_dim: int, base: float) -> None:
        super().__init__()
        inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
        self.register_buffer("inv_freq", inv, persistent=False)

    def forward(self, n: int, device: torch.device) -> tuple[Tensor, Tensor]:
        t = torch.arange(n, device=device, dtype=torch.float32)
        ang = torch.outer(t, self.inv_freq.to(device))
        ang = torch.cat([ang, ang], dim=-1)
        return ang.cos(), ang.sin()


def apply_rope(x: Tensor, rope: tuple[Tensor, Tensor]) -> Tensor:
    """x [B,H,F,dh] rotated by the (cos, sin) tables [F,dh] (rotate-half convention)."""
    cos, sin = rope
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    rot = torch.cat([-x2, x1], dim=-1)
    return (x * cos.to(x.dtype) + rot * sin.to(x.dtype))


class Attention(nn.Module):
    """Multi-head attention (self or cross) on scaled_dot_product_attention, no causal mask."""

    def __init__(self, d: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.q = nn.Linear(d, d)
        self.kv = nn.Linear(d, 2 * d)
        self.out = nn.Linear(d, d)

    def forward(self, x: Tensor, ctx: Tensor, rope_q: tuple[Tensor, Tensor],
                rope_k: tuple[Tensor, Tensor]) -> Tensor:
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)
        k, v = self.kv(ctx).view(b, ctx.shape[1], 2, h, d // h).permute(2, 0, 3, 1, 4)
        q, k = apply_rope(q, rope_q), apply_rope(k, rope_k)
        o = F.scaled_dot_product_attention(q, k, v, dropout_p=self.dropout if self.training else 0.0)
        return self.out(o.transpose(1, 2).reshape(b, n, d))


class FeedForward(nn.Sequential):
    def __init__(self, d: int, mult: int, dropout: float) -> None:
        super().__init__(nn.Linear(d, mult * d), nn.GELU(), nn.Dropout(dropout), nn.Linear(mult * d, d))


class Block(nn.Module):
    """Pre-norm block: self-attention, optional cross-attention, feed-forward.

    With ``adaln`` every sub-layer's norm is modulated per frame by the condition c [B,F,d]
    (shift, scale) and its output gated (AdaLN-Zero: the modulation is zero-initialised, so each
    block starts as the identity and the condition's influence is learnt).
    """

    def __init__(self, d: int, heads: int, ff_mult: int, dropout: float, *, cross: bool,
                 adaln: bool) -> None:
        super().__init__()
        self.cross, self.adaln = cross, adaln
        n_sub = 3 if cross else 2
        self.norms = nn.ModuleList(nn.LayerNorm(d, elementwise_affine=not adaln) for _ in range(n_sub))
        self.attn = Attention(d, heads, dropout)
        self.xattn = Attention(d, heads, dropout) if cross else None
        self.ff = FeedForward(d, ff_mult, dropout)
        self.drop = nn.Dropout(dropout)
        if adaln:
            self.mod = nn.Linear(d, 3 * n_sub * d)
            nn.init.zeros_(self.mod.weight)
            nn.init.zeros_(self.mod.bias)

    def modulation(self, c: Tensor) -> tuple[Tensor, ...]:
        """Per-frame (shift, scale, gate) for each sub-layer from the condition c [B,F,d]."""
        return self.mod(F.silu(c)).chunk(3 * len(self.norms), dim=-1)

    def forward(self, x: Tensor, rope: tuple[Tensor, Tensor], mem: Tensor | None = None,
                c: Tensor | None = None, mods: tuple[Tensor, ...] | None = None) -> Tensor:
        """``mods`` (from :meth:`modulation`) may be given instead of c to reuse them across calls."""
        if self.adaln and mods is None:
            mods = self.modulation(c)
        subs = [lambda h: self.attn(h, h, rope, rope)]
        if self.cross:
            subs.append(lambda h: self.xattn(h, mem, rope, rope))
        subs.append(self.ff)
        for i, (norm, sub) in enumerate(zip(self.norms, subs)):
            h = norm(x)
            if self.adaln:
                shift, scale, gate = mods[3 * i:3 * i + 3]
                out = gate * sub(h * (1 + scale) + shift)
            else:
                out = sub(h)
            x = x + self.drop(out)
        return x
