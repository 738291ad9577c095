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


class IStftDecoder(nn.Module):
    """Latents [B, dim, F] -> audio [B, 1, F*hop] through a log-magnitude and phase per bin."""

    def __init__(self, n_fft: int, hop: int, dim: int, depth: int) -> None:
        super().__init__()
        self.n_fft, self.hop = n_fft, hop
        self.register_buffer("window", torch.hann_window(n_fft), persistent=False)
        self.inp = nn.Conv1d(dim, dim, 7, padding=3)
        self.blocks = nn.Sequential(*[ConvNeXtBlock(dim) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, n_fft + 2)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        bins = self.n_fft // 2 + 1
        h = self.head(self.norm(self.blocks(self.inp(z)).transpose(1, 2)))  # [B, F, 2*bins]
        # The spectrum in float32 whatever came before: under CUDA's bf16 autocast exp() gives
        # float32 and the phase stays bf16, which polar() refuses (and bf16 phase is too coarse).
        h = h.float()
        # exp(8) is +70 dB over full scale per bin: a bound that only keeps early training finite.
        spec = torch.polar(torch.exp(h[..., :bins].clamp(max=8.0)), h[..., bins:])
        return istft(spec, self.window.float(), self.hop)


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


class StftCodec(nn.Module):
    def __init__(self, n_fft: int = 2048, hop: int = 512, dim: int = 256, depth: int = 4,
                 n_codebooks: int = 6, codebook_size: int = 1024, codebook_dim: int = 8,
                 quantizer_dropout: float = 0.0, sample_rate: int = 44100) -> None:
        super().__init__()
        from dac.nn.quantize import ResidualVectorQuantize

        if n_fft < hop or (n_fft - hop) % 2:
            raise ValueError(f"n_fft {n_fft} must be at least the hop {hop}, with an even difference")
        self.sample_rate, self.hop_length, self.n_fft, self.depth = sample_rate, hop, n_fft, depth
        self.encoder = StftEncoder(n_fft, hop, dim, depth)
        self.quantizer = ResidualVectorQuantize(dim, n_codebooks, codebook_size, codebook_dim,
                                                quantizer_dropout)
        self.decoder = IStftDecoder(n_fft, hop, dim, depth)

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
        return window + convs, convs + window + 1
