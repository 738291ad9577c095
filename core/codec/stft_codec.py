"""A codec with DAC's token interface that works at the code frame rate: STFT analysis, a ConvNeXt
encoder, DAC's own residual vector quantizer, a ConvNeXt decoder and an inverse-STFT head.

Why: DAC's waveform encoder and decoder run their convolutions at the audio rate, which makes them
slow to train on a CPU, and in the few thousand steps a CPU affords the small DAC learned the
near-silence that fills FoleyWorld but played its events about 20 dB too quietly. Here every layer
runs at 86 frames/s and the decoder predicts a log-magnitude and a phase per STFT bin (as Vocos
does), so level and spectrum are what it learns first. Tokens are DAC's: the same quantizer class,
hop 512 at 44.1 kHz, up to 9 codebooks of 1024.

The module answers the calls the rest of the project makes of ``dac.DAC`` (``preprocess``,
``encode``, ``decode``, ``forward``, ``encoder``, ``decoder``, ``quantizer``), so the tokenizer,
the chunked coder and the training loop treat both alike.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


class ConvNeXtBlock(nn.Module):
    """Depthwise temporal convolution, then a per-frame MLP, added back with a small learned gain."""

    def __init__(self, dim: int, kernel: int = 7, expansion: int = 3) -> None:
        super().__init__()
        self.dwconv = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.norm = nn.LayerNorm(dim)
        self.up = nn.Linear(dim, expansion * dim)
        self.down = nn.Linear(expansion * dim, dim)
        self.gain = nn.Parameter(torch.full((dim,), 1e-2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # [B, D, F]
        y = self.dwconv(x).transpose(1, 2)
        y = self.down(F.gelu(self.up(self.norm(y)))) * self.gain
        return x + y.transpose(1, 2)


class StftEncoder(nn.Module):
    """Audio [B, 1, F*hop] -> latents [B, dim, F]: one frame per hop, centred on its hop."""

    def __init__(self, n_fft: int, hop: int, dim: int, depth: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.inp = nn.Conv1d(n_fft // 2 + 1, dim, 7, padding=3)
        self.blocks = nn.Sequential(*[ConvNeXtBlock(dim) for _ in range(depth)])
        self.out = nn.Conv1d(dim, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        frames = analysis_frames(x, self.window, self.hop)
        log_mag = torch.log(torch.fft.rfft(frames).abs().clamp_min(1e-5)).transpose(1, 2)
        return self.out(self.blocks(self.inp(log_mag)))


GATE_BIAS_INIT = 2.0  # sigmoid(2) = 0.88 of each frame's phase carried on from the frame before


class IStftDecoder(nn.Module):
    """Latents [B, dim, F] -> audio [B, 1, F*hop] through a log-magnitude and phase per bin.

    ``phase`` "predicted": the head gives each bin's phase per frame. A convolutional decoder
    cannot know where a frame sits in absolute time, so a steady tone (whose phase must advance
    by 2*pi*f*hop/sr every frame) comes out incoherent and cancels in the overlap-add; only
    multiples of the frame rate add up (the faint comb of steady tones) and training learns to
    drop tones. "propagated": per bin the head also gives a frequency deviation and a gate; the
    phase is ``gate`` times the previous frame's phase advanced at the bin's frequency plus
    ``1 - gate`` times the predicted phase (see :func:`propagate_phase`), so a ringing tail keeps
    its phase from frame to frame while an onset can still set its own.
    """

    def __init__(self, n_fft: int, hop: int, dim: int, depth: int, phase: str = "predicted") -> None:
        super().__init__()
        self.n_fft, self.hop, self.phase = n_fft, hop, phase
        bins = n_fft // 2 + 1
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.inp = nn.Conv1d(dim, dim, 7, padding=3)
        self.blocks = nn.Sequential(*[ConvNeXtBlock(dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, (4 if phase == "propagated" else 2) * bins)
        if phase == "propagated":
            # Start at bin-centre frequencies, the phase mostly carried over: with the gate shut, a
            # tone cancels, so training lowers its magnitude and then has no reason to open the gate.
            with torch.no_grad():
                self.head.weight[2 * bins:].zero_()
                self.head.bias[2 * bins:3 * bins].zero_()
                self.head.bias[3 * bins:].fill_(GATE_BIAS_INIT)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        bins = self.n_fft // 2 + 1
        h = self.head(self.norm(self.blocks(self.inp(z)).transpose(1, 2)))  # [B, F, 2 or 4 * bins]
        # The spectrum in float32 whatever came before: under CUDA's bf16 autocast exp() gives
        # float32 and the phase stays bf16, which polar() refuses (and bf16 phase is too coarse).
        h = h.float()
        # exp(8) is +70 dB over full scale per bin: a bound that only keeps early training finite.
        mag = torch.exp(h[..., :bins].clamp(max=8.0))
        if self.phase == "propagated":
            unit = propagate_phase(h[..., bins:2 * bins], h[..., 2 * bins:3 * bins],
                                   h[..., 3 * bins:], self.hop, self.n_fft)
            spec = mag * unit
        else:
            spec = torch.polar(mag, h[..., bins:])
        return istft(spec, self.window.float(), self.hop)


def propagate_phase(phase: torch.Tensor, deviation: torch.Tensor, gate: torch.Tensor, hop: int,
                    n_fft: int) -> torch.Tensor:
    """Unit phasors [B, F, bins] from per-frame predicted phases, frequency deviations and gate
    logits (each [B, F, bins]):

        u[t] = g[t] * u[t-1] * exp(i * 2*pi * (k + dev[t]) * hop / n_fft) + (1 - g[t]) * exp(i * phase[t])

    normalised to unit length (the first frame takes its predicted phase), with g = sigmoid(gate)
    and dev = tanh(deviation) / 2 bins (a tone anywhere inside bin k). The recursion runs over
    frames, so it hears the whole past of a decode (a chunked decode warms it up on its context:
    StftCodec.reach_frames).
    """
    k = torch.arange(phase.shape[-1], device=phase.device, dtype=phase.dtype)
    advance = (2 * math.pi * hop / n_fft) * (k + 0.5 * torch.tanh(deviation))
    g = torch.sigmoid(gate)
    carry = g * torch.polar(torch.ones_like(advance), advance)
    fresh = (1 - g) * torch.polar(torch.ones_like(phase), phase)
    state = torch.polar(torch.ones_like(phase[:, 0]), phase[:, 0])  # the first frame has no past
    out = [state]
    for t in range(1, phase.shape[1]):
        state = carry[:, t] * state + fresh[:, t]
        out.append(state)
    u = torch.stack(out, dim=1)
    return u / u.abs().clamp_min(1e-6)


def analysis_frames(x: torch.Tensor, window: torch.Tensor, hop: int) -> torch.Tensor:
    """Windowed frames [B, F, n_fft] of audio [B, 1, F*hop], frame f centred on hop f."""
    n_fft = window.shape[0]
    pad = (n_fft - hop) // 2
    return F.pad(x[:, 0], (pad, pad)).unfold(-1, n_fft, hop) * window


def istft(spec: torch.Tensor, window: torch.Tensor, hop: int) -> torch.Tensor:
    """Audio [B, 1, F*hop] from a spectrum [B, F, n_fft//2+1] framed as ``analysis_frames`` frames:
    windowed overlap-add, normalised by the summed squared window, the centring padding removed."""
    n_fft = window.shape[0]
    frames = torch.fft.irfft(spec, n=n_fft) * window  # [B, F, n_fft]
    n = frames.shape[1]
    size = (1, (n - 1) * hop + n_fft)
    audio = F.fold(frames.transpose(1, 2), size, (1, n_fft), stride=(1, hop))
    norm = F.fold(window.square().expand(1, n, -1).transpose(1, 2), size, (1, n_fft), stride=(1, hop))
    pad = (n_fft - hop) // 2
    return (audio / norm.clamp_min(1e-8))[:, 0, :, pad:pad + n * hop]


PHASE_WARMUP_FRAMES = 64


class StftCodec(nn.Module):
    def __init__(self, n_fft: int = 2048, hop: int = 512, dim: int = 256, depth: int = 4,
                 n_codebooks: int = 6, codebook_size: int = 1024, codebook_dim: int = 8,
                 quantizer_dropout: float = 0.0, sample_rate: int = 44100,
                 phase: str = "predicted") -> None:
        super().__init__()
        from dac.nn.quantize import ResidualVectorQuantize

        if n_fft < hop or (n_fft - hop) % 2:
            raise ValueError(f"n_fft {n_fft} must be at least the hop {hop}, with an even difference")
        self.sample_rate, self.hop_length, self.n_fft, self.depth = sample_rate, hop, n_fft, depth
        self.encoder = StftEncoder(n_fft, hop, dim, depth)
        self.quantizer = ResidualVectorQuantize(dim, n_codebooks, codebook_size, codebook_dim,
                                                quantizer_dropout)
        self.decoder = IStftDecoder(n_fft, hop, dim, depth, phase)

    def preprocess(self, audio: torch.Tensor, sample_rate: int | None = None) -> torch.Tensor:
        """Right-pad to whole code frames (DAC's contract)."""
        if sample_rate is not None and sample_rate != self.sample_rate:
            raise ValueError(f"audio at {sample_rate} Hz; this codec takes {self.sample_rate} Hz")
        return F.pad(audio, (0, -audio.shape[-1] % self.hop_length))

    def encode(self, audio: torch.Tensor, n_quantizers: int | None = None):
        """(quantized latents, codes, projected latents, commitment loss, codebook loss), as DAC."""
        return self.quantizer(self.encoder(audio), n_quantizers)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, audio: torch.Tensor, sample_rate: int | None = None,
                n_quantizers: int | None = None) -> dict[str, torch.Tensor]:
        length = audio.shape[-1]
        z, codes, latents, commitment, codebook = self.encode(self.preprocess(audio, sample_rate),
                                                              n_quantizers)
        return {"audio": self.decode(z)[..., :length], "z": z, "codes": codes, "latents": latents,
                "vq/commitment_loss": commitment, "vq/codebook_loss": codebook}

    def reach_frames(self) -> tuple[int, int]:
        """Code frames either side that can change one encoded frame / one decoded sample."""
        window = math.ceil((self.n_fft - self.hop_length) / 2 / self.hop_length)  # the STFT window overhang
        convs = 3 + 3 * self.depth  # the 7-tap input convolution and one 7-tap conv per block
        # A propagated phase hears its whole past; a chunk warms it up on this many more frames
        # (0.74 s: a tail that rings longer may shift its phase at a chunk's seam, every 1024 frames).
        warmup = PHASE_WARMUP_FRAMES if self.decoder.phase == "propagated" else 0
        return window + convs, convs + window + 1 + warmup
