"""Transformer building blocks: rotary positions, attention, feed-forward, AdaLN-Zero blocks."""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class RefMemory:
    """One block's keys and values of a reference sound's frames, for the picture's frames to
    attend to: k, v [B or 1,H,R,dh] (no positions, see Attention.attend_memory); mask [B or 1,R]
    bool (True: a real reference frame) or None for all of them."""

    k: Tensor
    v: Tensor
    mask: Tensor | None = None


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

    def attend_self(self, x: Tensor, rope: tuple[Tensor, Tensor], key_mask: Tensor | None = None) -> Tensor:
        """Self-attention of a reference's frames x [B,R,d] among themselves (RoPE: its own timing
        matters to how it sounds); ``key_mask`` [B,1,1,R] bool: frames that may be attended to."""
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)
        k, v = self.kv(x).view(b, n, 2, h, d // h).permute(2, 0, 3, 1, 4)
        o = F.scaled_dot_product_attention(apply_rope(q, rope), apply_rope(k, rope), v, attn_mask=key_mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        return self.out(o.transpose(1, 2).reshape(b, n, d))

    def memory(self, m: Tensor, mask: Tensor | None = None) -> RefMemory:
        """Keys and values of memory frames m [B,R,d], computed once for every query."""
        b, n, d = m.shape
        k, v = self.kv(m).view(b, n, 2, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        return RefMemory(k, v, mask)

    def attend_memory(self, x: Tensor, mem: RefMemory) -> Tensor:
        """Cross-attention of x [B,F,d] to a memory WITHOUT positions: a reference says what it
        sounds like, never when, so no frame of it lines up with a frame of the picture. Rows whose
        memory mask is all False (no reference) get exactly 0."""
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).view(b, n, h, d // h).transpose(1, 2)
        k, v = mem.k.to(q.dtype), mem.v.to(q.dtype)
        if k.shape[0] != b:
            k, v = k.expand(b, -1, -1, -1), v.expand(b, -1, -1, -1)
        mask = has = None
        if mem.mask is not None:
            m = mem.mask.to(device=q.device, dtype=torch.bool).expand(b, -1)
            has = m.any(dim=1)
            # A row without a reference attends to all of its (unused) frames: an empty softmax would
            # be NaN, and NaN times the zero below is still NaN.
            mask = (m | ~has[:, None]).view(b, 1, 1, -1)
        o = F.scaled_dot_product_attention(q, k, v, attn_mask=mask,
                                           dropout_p=self.dropout if self.training else 0.0)
        out = self.out(o.transpose(1, 2).reshape(b, n, d))
        return out if has is None else out * has.to(out.dtype).view(b, 1, 1)


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
                c: Tensor | None = None, mods: tuple[Tensor, ...] | None = None,
                ref: RefMemory | None = None) -> Tensor:
        """``mods`` (from :meth:`modulation`) may be given instead of c to reuse them across calls;
        ``ref``: this block's reference memory (add_reference), attended to right after the
        self-attention; None is exactly the block without reference support."""
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
            if i == 0 and ref is not None:
                x = x + self.drop(self.ref_gate * self.ref_attn.attend_memory(self.ref_norm(x), ref))
        return x

    def add_reference(self, d: int, heads: int, dropout: float) -> None:
        """The reference sub-layer: a position-free cross-attention to the reference's memory with a
        zero-initialised gate, so a model given reference support (or warm-started from one without)
        starts exactly as the model without it and learns how much to listen."""
        self.ref_norm = nn.LayerNorm(d)       # the picture's frames, before they query the reference
        self.ref_mem_norm = nn.LayerNorm(d)   # the reference's frames, before they are keys and values
        self.ref_attn = Attention(d, heads, dropout)
        self.ref_gate = nn.Parameter(torch.zeros(d))

    def reference_memory(self, x: Tensor, mask: Tensor | None = None) -> RefMemory:
        """This block's memory of a reference stream's frames x [B,R,d] (see add_reference)."""
        return self.ref_attn.memory(self.ref_mem_norm(x), mask)

    def reference_pass(self, x: Tensor, rope: tuple[Tensor, Tensor], mods: tuple[Tensor, ...] | None,
                       key_mask: Tensor | None = None) -> Tensor:
        """This block on a reference's frames x [B,R,d]: self-attention among them and the
        feed-forward, no cross-attention (the reference has no picture); ``mods`` come from the
        learned no-picture condition. Returns the next block's input."""
        def modulated(i: int, h: Tensor) -> Tensor:
            if not self.adaln:
                return h
            shift, scale, _ = mods[3 * i:3 * i + 3]
            return h * (1 + scale) + shift

        def gated(i: int, out: Tensor) -> Tensor:
            return mods[3 * i + 2] * out if self.adaln else out

        x = x + self.drop(gated(0, self.attn.attend_self(modulated(0, self.norms[0](x)), rope, key_mask)))
        j = len(self.norms) - 1  # the feed-forward's sub-layer (after the cross-attention's, if any)
        return x + self.drop(gated(j, self.ff(modulated(j, self.norms[j](x)))))
