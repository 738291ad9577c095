"""The MaskVAT network: codec tokens + frame-aligned visual features -> per-codebook logits.

Variants (config.variant):
- "adaln":   bidirectional self-attention blocks, each modulated per frame (AdaLN-Zero) by the
             visual features.
- "seq2seq": a visual encoder (self-attention over visual frames) and a decoder with self- and
             cross-attention.
- "hybrid":  seq2seq, and the decoder blocks also carry frame-wise AdaLN from the encoder output.

Reference sound (config.ref_frames > 0): the codec tokens of a sound the editor picks run through
the same blocks as a separate stream marked "reference" (a learned segment embedding) and
modulated by a learned no-picture condition instead of visual features, with no cross-attention
to the picture. In each block, right after self-attention, the picture's frames attend to that
stream's frames (as they enter the block) without positions, through a sub-layer whose gate
starts at zero (layers.Block.add_reference): the picture decides when, the reference what it
sounds like, and a model given reference support starts as the model without it (a warm start
from a prompt-free checkpoint begins exactly where it stopped). The reference's stream depends on
neither the picture nor the tokens being sampled, so the sampler computes its memory once per run
(encode_reference). Without a reference the network is exactly the one without reference
support; the loss is only on the picture's frames.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskvat_foley.core.model.config import MaskVATConfig
from maskvat_foley.core.model.layers import Block, RefMemory, Rotary


class MaskVAT(nn.Module):
    def __init__(self, config: MaskVATConfig) -> None:
        super().__init__()
        self.config = c = config
        k, v, d = c.n_codebooks, c.codebook_size, c.d_model
        adaln = c.variant in ("adaln", "hybrid")
        cross = c.variant in ("seq2seq", "hybrid")
        # Per frame the input is the SUM of one embedding per codebook; vocab V+1 (the MASK id V).
        self.tok = nn.Embedding(k * (v + 1), d)
        self.register_buffer("tok_offset", torch.arange(k).view(1, k, 1) * (v + 1), persistent=False)
        # The "unconditional" input for classifier-free guidance replaces the visual features.
        self.null_cond = nn.Parameter(torch.randn(c.cond_dim) * 0.02)
        self.cond_in = nn.Linear(c.cond_dim, d)
        self.cond_conv = nn.Conv1d(d, d, c.cond_kernel, padding=c.cond_kernel // 2)
        self.cond_out = nn.Linear(d, d)
        self.rope = Rotary(d // c.n_heads, c.rope_base)
        self.encoder = nn.ModuleList(
            Block(d, c.n_heads, c.ff_mult, c.dropout, cross=False, adaln=False)
            for _ in range(c.enc_layers)) if cross else nn.ModuleList()
        self.enc_norm = nn.LayerNorm(d) if cross else None
        self.blocks = nn.ModuleList(
            Block(d, c.n_heads, c.ff_mult, c.dropout, cross=cross, adaln=adaln) for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(d, elementwise_affine=not adaln)
        if adaln:
            self.final_mod = nn.Linear(d, 2 * d)
            nn.init.zeros_(self.final_mod.weight)
            nn.init.zeros_(self.final_mod.bias)
        # One output head per codebook, stored as one [K,d,V] weight so a subset can be evaluated.
        self.head_w = nn.Parameter(torch.randn(k, d, v) * 0.02)
        self.head_b = nn.Parameter(torch.zeros(k, v))
        self.aux_head = nn.Linear(d, c.aux_dim) if c.aux_dim > 0 else None
        nn.init.normal_(self.tok.weight, std=0.02)
        if c.ref_frames > 0:  # created last: the other weights draw the same initial values
            self.ref_segment = nn.Parameter(torch.randn(d) * 0.02)   # marks the frames "reference"
            self.ref_cond = nn.Parameter(torch.randn(d) * 0.02)      # the no-picture condition on them
            for blk in self.blocks:
                blk.add_reference(d, c.n_heads, c.dropout)

    @property
    def mask_id(self) -> int:
        return self.config.mask_id

    def check_inputs(self, codes: Tensor, cond: Tensor) -> None:
        c = self.config
        if codes.dim() != 3 or codes.shape[1] != c.n_codebooks:
            raise ValueError(f"codes must be [B,{c.n_codebooks},F], got {tuple(codes.shape)}")
        if codes.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"codes must be integer tokens, got {codes.dtype}")
        b, _, n = codes.shape
        if n < 1 or n > c.max_frames:
            raise ValueError(f"{n} frames: the model takes 1..{c.max_frames} frames per pass "
                             "(use long.generate_long for longer clips)")
        if cond.dim() != 3 or cond.shape[1:] != (n, c.cond_dim) or cond.shape[0] not in (1, b):
            raise ValueError(f"cond must be [{b} or 1,{n},{c.cond_dim}] (frame-aligned with the codes), "
                             f"got {tuple(cond.shape)}")
        lo, hi = int(codes.min()), int(codes.max())
        if lo < 0 or hi > c.mask_id:
            raise ValueError(f"token ids must be in 0..{c.mask_id} (MASK={c.mask_id}), got {lo}..{hi}")

    def check_reference(self, reference: Tensor, mask: Tensor | None = None) -> None:
        c = self.config
        if c.ref_frames < 1:
            raise ValueError("this MaskVAT model was not trained with reference sounds (ref_frames 0)")
        if reference.dim() != 3 or reference.shape[1] != c.n_codebooks:
            raise ValueError(f"reference must be codes [B or 1,{c.n_codebooks},R], got {tuple(reference.shape)}")
        if reference.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"reference must be integer tokens, got {reference.dtype}")
        r = reference.shape[-1]
        if not 1 <= r <= c.ref_frames:
            raise ValueError(f"reference of {r} code frames: the model takes 1..{c.ref_frames} "
                             "(trim the reference)")
        lo, hi = int(reference.min()), int(reference.max())
        if lo < 0 or hi >= c.codebook_size:
            raise ValueError(f"reference tokens must be in 0..{c.codebook_size - 1} (no MASK), got {lo}..{hi}")
        if mask is not None and (mask.dim() != 2 or mask.shape[1] != r or mask.shape[0] not in (1, reference.shape[0])):
            raise ValueError(f"ref_mask must be [{reference.shape[0]},{r}] bool, got {tuple(mask.shape)}")

    def encode_reference(self, reference: Tensor, mask: Tensor | None = None) -> list[RefMemory]:
        """Every block's memory of reference codes [B or 1,K,R] (one pass; reused by every
        decoding step). ``mask`` [B,R] bool marks real frames: False on padding, and on every
        frame of a row that has no reference (training's dropped references: those rows get
        exactly nothing from it)."""
        self.check_reference(reference, mask)
        b, _, r = reference.shape
        x = self.tok(reference.long() + self.tok_offset).sum(dim=1) + self.ref_segment
        rope = self.rope(r, reference.device)
        key_mask = None
        if mask is not None:
            mask = mask.to(device=reference.device, dtype=torch.bool)
            # A row with no reference frame attends among all of its (unused) frames: an empty
            # softmax would give NaN, and NaN times a zero attention weight is still NaN.
            key_mask = (mask | ~mask.any(dim=1, keepdim=True)).view(mask.shape[0], 1, 1, r)
        cond = self.ref_cond.to(x.dtype).view(1, 1, -1)
        memories = []
        for i, blk in enumerate(self.blocks):
            memories.append(blk.reference_memory(x, mask))  # the stream as it enters the block
            if i + 1 < len(self.blocks):
                x = blk.reference_pass(x, rope, blk.modulation(cond) if blk.adaln else None, key_mask)
        return memories

    def condition(self, cond: Tensor, drop_cond: Tensor | None, batch: int) -> Tensor:
        """Visual features [B,F,Dc] -> frame-aligned condition [B,F,d]; dropped rows use null_cond."""
        cond = cond.to(self.cond_in.weight.dtype).expand(batch, -1, -1)
        if drop_cond is not None:
            drop = drop_cond.to(device=cond.device, dtype=torch.bool).view(batch, 1, 1)
            cond = torch.where(drop, self.null_cond.to(cond.dtype).view(1, 1, -1), cond)
        h = self.cond_in(cond)
        h = self.cond_conv(F.silu(h).transpose(1, 2)).transpose(1, 2)
        return self.cond_out(F.silu(h))

    def encode_condition(self, cond: Tensor, drop_cond: Tensor | None, batch: int, *,
                         cache_mods: bool = True) -> Context:
        """Everything that depends only on the condition (not the tokens), for reuse across the
        sampler's steps: visual encoder output and, with ``cache_mods``, every AdaLN modulation."""
        n = cond.shape[1]
        c = self.condition(cond, drop_cond, batch)
        rope = self.rope(n, cond.device)
        mem = None
        if self.enc_norm is not None:
            mem = c
            for blk in self.encoder:
                mem = blk(mem, rope)
            mem = self.enc_norm(mem)
            c = mem  # hybrid: AdaLN from the encoded (contextualised) visual frames
        adaln = self.config.variant != "seq2seq"
        mods = [blk.modulation(c) if adaln and cache_mods else None for blk in self.blocks]
        final = self.final_mod(F.silu(c)).chunk(2, dim=-1) if adaln else None
        return Context(batch, n, c, mem, mods, final, rope)

    def decode_tokens(self, codes: Tensor, ctx: Context, *, heads: Sequence[int] | None = None,
                      return_hidden: bool = False, return_aux: bool = False,
                      ref: list[RefMemory] | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """Logits for codes [B,K,F] under a condition context from :meth:`encode_condition` and,
        optionally, a reference from :meth:`encode_reference` (batch 1 or B)."""
        if tuple(codes.shape[::2]) != (ctx.batch, ctx.n_frames):
            raise ValueError(f"codes {tuple(codes.shape)} do not match the condition context "
                             f"(batch {ctx.batch}, {ctx.n_frames} frames)")
        if ref is not None and (len(ref) != len(self.blocks) or ref[0].k.shape[0] not in (1, ctx.batch)):
            raise ValueError(f"the reference memory does not match this model or batch {ctx.batch}")
        x = self.tok(codes.long() + self.tok_offset).sum(dim=1)
        for i, (blk, mods) in enumerate(zip(self.blocks, ctx.mods)):
            x = blk(x, ctx.rope, mem=ctx.mem, c=ctx.c, mods=mods, ref=None if ref is None else ref[i])
        x = self.norm(x)
        if ctx.final is not None:
            shift, scale = ctx.final
            x = x * (1 + scale) + shift
        idx = list(range(self.config.n_codebooks)) if heads is None else list(heads)
        w, bias = self.head_w[idx], self.head_b[idx]
        logits = torch.einsum("bfd,kdv->bkfv", x, w) + bias[None, :, None, :]
        if return_aux:
            if self.aux_head is None:
                raise ValueError("return_aux needs a model with aux_dim > 0")
            return logits, self.aux_head(x)
        return (logits, x) if return_hidden else logits

    def forward(self, codes: Tensor, cond: Tensor, drop_cond: Tensor | None = None, *,
                heads: Sequence[int] | None = None, return_hidden: bool = False,
                return_aux: bool = False, reference: Tensor | None = None,
                ref_mask: Tensor | None = None) -> Tensor | tuple[Tensor, Tensor]:
        """Logits [B,K,F,V] (or [B,len(heads),F,V] for a subset of codebooks).

        codes [B,K,F] with MASK id where unknown; cond [B or 1,F,Dc]; drop_cond [B] bool marks
        rows whose condition is replaced by the learned null vector. With ``return_hidden`` also the
        final hidden states [B,F,d]; with ``return_aux`` the auxiliary head's teacher prediction
        [B,F,aux_dim] (computed inside forward so DistributedDataParallel sees it).
        ``reference`` [B or 1,K,R] codes of a reference sound (models with ref_frames > 0) and
        ``ref_mask`` [B,R] bool its real frames (see encode_reference).
        """
        self.check_inputs(codes, cond)
        ref = None if reference is None else self.encode_reference(reference, ref_mask)
        ctx = self.encode_condition(cond, drop_cond, codes.shape[0], cache_mods=False)
        return self.decode_tokens(codes, ctx, heads=heads, return_hidden=return_hidden,
                                  return_aux=return_aux, ref=ref)


@dataclass
class Context:
    """The condition's share of a forward pass (see MaskVAT.encode_condition)."""

    batch: int
    n_frames: int
    c: Tensor
    mem: Tensor | None
    mods: list[tuple[Tensor, ...] | None]
    final: tuple[Tensor, Tensor] | None
    rope: tuple[Tensor, Tensor]


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
