"""Encoding and decoding long audio in overlapping chunks, with no seam.

Every chunk is processed with ``context`` extra frames on both sides and only its centre is kept.
When the context covers the network's receptive field, the kept centre is computed from exactly the
same inputs as in one pass, so the result equals one pass up to float rounding; chunk starts sit on
whole code frames, so the encoder's stride grid lines up with the one-pass grid.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from maskvat_foley.core.codec.tokenizer import Tokenizer


def _convs(module: nn.Module) -> list[nn.Module]:
    # modules() walks registration order, which is the forward order of DAC's Sequentials; the
    # residual skips add no reach, so summing each conv's one-sided reach bounds the field.
    return [m for m in module.modules() if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d))]


def encoder_reach_samples(encoder: nn.Module) -> int:
    """How many input samples either side can influence one encoder output (an upper bound)."""
    reach, jump = Fraction(0), 1
    for conv in _convs(encoder):
        k, d, s, p = conv.kernel_size[0], conv.dilation[0], conv.stride[0], conv.padding[0]
        span = (k - 1) * d
        reach += max(p, span - p) * jump
        jump *= s
    return math.ceil(reach)


def decoder_reach_frames(decoder: nn.Module) -> int:
    """How many code frames either side can influence one decoded sample (an upper bound)."""
    reach, jump = Fraction(0), Fraction(1)
    for conv in _convs(decoder):
        k, d, s, p = conv.kernel_size[0], conv.dilation[0], conv.stride[0], conv.padding[0]
        if isinstance(conv, nn.ConvTranspose1d):
            # output o reads inputs i with 0 <= o + p - i*s <= d*(k-1): at most ceil((d*(k-1)+p)/s)+1 away
            reach += (math.ceil(Fraction(d * (k - 1) + p, s)) + 1) * jump
            jump /= s
        else:
            span = (k - 1) * d
            reach += max(p, span - p) * jump
    return math.ceil(reach)


def default_context(tok: "Tokenizer") -> tuple[int, int]:
    """(encode, decode) context in code frames: the receptive field plus one frame of margin."""
    reach = getattr(tok.model, "reach_frames", None)
    if reach is not None:  # a codec that works at the frame rate states its own reach
        enc, dec = reach()
        return enc + 1, dec + 1
    enc = -(-encoder_reach_samples(tok.model.encoder) // tok.hop) + 1
    dec = decoder_reach_frames(tok.model.decoder) + 1
    return enc, dec


def _check(chunk_frames: int, context_frames: int | None) -> None:
    if chunk_frames < 1:
        raise ValueError(f"chunk_frames must be >= 1, got {chunk_frames}")
    if context_frames is not None and context_frames < 0:
        raise ValueError(f"context_frames must be >= 0, got {context_frames}")


def encode_chunked(tok: "Tokenizer", wave: torch.Tensor, chunk_frames: int,
                   context_frames: int | None) -> torch.Tensor:
    """Codes [B, K, ceil(T/hop)] of audio [B, 1, T], ``chunk_frames`` kept frames at a time."""
    _check(chunk_frames, context_frames)
    ctx = default_context(tok)[0] if context_frames is None else context_frames
    hop = tok.hop
    n_frames = tok.frames_for_samples(wave.shape[-1])
    wave = nn.functional.pad(wave, (0, n_frames * hop - wave.shape[-1]))
    out = []
    for f0 in range(0, n_frames, chunk_frames):
        f1 = min(f0 + chunk_frames, n_frames)
        a, b = max(0, f0 - ctx), min(n_frames, f1 + ctx)
        codes = tok.encode(wave[..., a * hop: b * hop])
        out.append(codes[..., f0 - a: f1 - a])
    return torch.cat(out, dim=-1)


def decode_chunked(tok: "Tokenizer", codes: torch.Tensor, chunk_frames: int,
                   context_frames: int | None) -> torch.Tensor:
    """Audio [B, 1, F*hop] of codes [B, K, F], ``chunk_frames`` kept frames at a time."""
    _check(chunk_frames, context_frames)
    ctx = default_context(tok)[1] if context_frames is None else context_frames
    hop, n_frames = tok.hop, codes.shape[-1]
    out = []
    for f0 in range(0, n_frames, chunk_frames):
        f1 = min(f0 + chunk_frames, n_frames)
        a, b = max(0, f0 - ctx), min(n_frames, f1 + ctx)
        audio = tok.decode(codes[..., a:b])
        out.append(audio[..., (f0 - a) * hop: (f1 - a) * hop])
    return torch.cat(out, dim=-1)
