"""Audio <-> token codes with the Descript Audio Codec (the real ``dac.DAC`` class, or the frame-rate
``StftCodec`` built on DAC's quantizer: core/codec/stft_codec.py).

One code frame covers ``hop`` samples (512 at 44.1 kHz: 86.1328125 frames/s, exactly
``Fraction(44100, 512)``). ``encode`` right-pads the audio to whole frames; ``decode`` gives exactly
``frames * hop`` samples, so lengths are always known in advance.
"""
from __future__ import annotations

import logging
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import torch
from torch import nn

from maskvat_foley.core.codec.config import CODEC_PRESETS, CodecConfig
from maskvat_foley.core.weights_folder import CONFIG_FILE, WEIGHTS_FILE, read_config, write_folder

log = logging.getLogger(__name__)

FORMAT = "maskvat-foley-codec"
FORMAT_VERSION = 1

__all__ = ["CODEC_PRESETS", "CodecConfig", "Tokenizer", "load_tokenizer"]


class Tokenizer(nn.Module):
    """A DAC-token codec with exact frame arithmetic and checked inputs.

    ``seed`` makes the random initialisation reproducible (presets for tests and training).
    The module is trainable: ``.model`` is the ``dac.DAC`` itself (or the frame-rate
    ``StftCodec``, which answers the same calls).
    """

    def __init__(self, config: CodecConfig, seed: int | None = None) -> None:
        super().__init__()
        self.config = config
        if seed is None:
            self.model = config.new_model()
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                self.model = config.new_model()

    # -- sizes and rates ---------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.config.name

    @property
    def sample_rate(self) -> int:
        return self.config.sample_rate

    @property
    def hop(self) -> int:
        return self.config.hop

    @property
    def n_codebooks(self) -> int:
        return self.config.n_codebooks

    @property
    def codebook_size(self) -> int:
        return self.config.codebook_size

    @property
    def frame_rate(self) -> Fraction:
        """Code frames per second, exact: 44100/512 = 86.1328125 for DAC 44.1 kHz."""
        return Fraction(self.sample_rate, self.hop)

    def frames_for_samples(self, n: int) -> int:
        """Code frames that cover ``n`` samples (the last one padded): ceil(n / hop)."""
        if n < 0:
            raise ValueError(f"sample count must be >= 0, got {n}")
        return -(-int(n) // self.hop)

    def samples_for_frames(self, n: int) -> int:
        """Samples that ``n`` code frames decode to."""
        if n < 0:
            raise ValueError(f"frame count must be >= 0, got {n}")
        return int(n) * self.hop

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.model.parameters()).dtype

    # -- encode / decode ---------------------------------------------------------------------
    def _wave_batch(self, wave: Any) -> torch.Tensor:
        if not isinstance(wave, torch.Tensor):
            wave = torch.as_tensor(wave)
        if not wave.is_floating_point():
            raise TypeError(f"audio must be floating point in -1..1, got dtype {wave.dtype}")
        if wave.dim() == 1:
            wave = wave[None, None]
        if wave.dim() != 3 or wave.shape[1] != 1:
            raise ValueError(f"audio must be [T] or [B, 1, T] (mono), got shape {tuple(wave.shape)}")
        if wave.shape[-1] == 0:
            raise ValueError("audio is empty (0 samples)")
        return wave.to(device=self.device, dtype=self.dtype)

    def _check_codes(self, codes: torch.Tensor) -> torch.Tensor:
        if not isinstance(codes, torch.Tensor) or codes.is_floating_point() or codes.is_complex():
            raise TypeError(f"codes must be an integer tensor [B, K, F], got {type(codes).__name__} "
                            f"{getattr(codes, 'dtype', '')}")
        if codes.dim() != 3 or not 1 <= codes.shape[1] <= self.n_codebooks or codes.shape[2] == 0:
            raise ValueError(f"codes must be [B, K, F] with 1 <= K <= {self.n_codebooks} and F > 0 "
                             f"for codec {self.name!r}, got shape {tuple(codes.shape)}")
        lo, hi = int(codes.min()), int(codes.max())
        if lo < 0 or hi >= self.codebook_size:
            raise ValueError(f"codes must lie in [0, {self.codebook_size}) for codec {self.name!r}, "
                             f"got values in [{lo}, {hi}]")
        return codes.to(device=self.device, dtype=torch.long)

    def encode(self, wave: torch.Tensor) -> torch.Tensor:
        """Audio [B,1,T] or [T] at ``sample_rate`` -> codes LongTensor [B, K, ceil(T/hop)]."""
        x = self._wave_batch(wave)
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            x = self.model.preprocess(x, self.sample_rate)  # right-pads to whole frames
            _, codes, _, _, _ = self.model.encode(x)
        return codes.long()

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes [B, K, F] (K may be fewer than n_codebooks: coarse only) -> audio [B, 1, F*hop]."""
        codes = self._check_codes(codes)
        with torch.set_grad_enabled(self.training and torch.is_grad_enabled()):
            z, _, _ = self.model.quantizer.from_codes(codes)
            return self.model.decode(z)

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.decode(codes)

    def encode_long(self, wave: torch.Tensor, chunk_frames: int = 1024,
                    context_frames: int | None = None) -> torch.Tensor:
        """``encode`` in overlapping chunks (bounded memory); same codes as one pass."""
        from maskvat_foley.core.codec.chunked import encode_chunked

        return encode_chunked(self, self._wave_batch(wave), chunk_frames, context_frames)

    def decode_long(self, codes: torch.Tensor, chunk_frames: int = 1024,
                    context_frames: int | None = None) -> torch.Tensor:
        """``decode`` in overlapping chunks, keeping each chunk's centre: no seam."""
        from maskvat_foley.core.codec.chunked import decode_chunked

        return decode_chunked(self, self._check_codes(codes), chunk_frames, context_frames)

    # -- files -------------------------------------------------------------------------------
    def save(self, directory: str | os.PathLike, weights_dtype: torch.dtype | None = None) -> Path:
        """Write ``config.json`` and ``model.safetensors`` into ``directory`` (created).

        ``weights_dtype`` (e.g. torch.float16) stores floating-point weights smaller; loading casts
        them back to the model's dtype.
        """
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "config": self.config.to_dict()}
        state = self.model.state_dict()
        if weights_dtype is not None:
            state = {k: v.to(weights_dtype) if v.is_floating_point() else v for k, v in state.items()}
        return write_folder(directory, meta, state)

    @classmethod
    def load(cls, directory: str | os.PathLike, device: str | torch.device = "cpu") -> "Tokenizer":
        """Read a folder written by :meth:`save`; clear errors for missing files or mismatches."""
        from safetensors.torch import load_file

        d = Path(directory)
        cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
        meta = read_config(d, FORMAT, FORMAT_VERSION, "codec", required=("config",))
        config = CodecConfig.from_dict(meta["config"], source=str(cfg_path))
        tok = cls(config)
        load_state(tok.model, load_file(str(w_path)), source=str(w_path), config=config)
        return tok.to(device).eval()

    @classmethod
    def from_official(cls, path: str | os.PathLike | None = None,
                      device: str | torch.device = "cpu") -> "Tokenizer":
        """The official DAC 44.1 kHz (8 kbps) weights from ``path`` or DAC's own cache; never downloads."""
        from maskvat_foley.core.codec.official import read_official

        config, state, source = read_official(path)
        tok = cls(config)
        load_state(tok.model, state, source=source, config=config)
        return tok.to(device).eval()


def load_state(model: nn.Module, state: dict[str, torch.Tensor], source: str, config: CodecConfig) -> None:
    """Load a DAC state dict after checking it matches the model key by key and shape by shape."""
    from maskvat_foley.core.codec.official import adapt_weight_norm_keys

    expected = model.state_dict()
    state = adapt_weight_norm_keys(state, expected.keys())
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    shapes = [f"{k}: file {tuple(state[k].shape)} vs config {tuple(expected[k].shape)}"
              for k in expected if k in state and state[k].shape != expected[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if shapes:
            parts.append(f"{len(shapes)} shape mismatches (e.g. {'; '.join(shapes[:3])})")
        if missing:
            parts.append(f"{len(missing)} missing tensors (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected tensors (e.g. {', '.join(unexpected[:3])})")
        raise ValueError(f"{source}: weights do not match codec config {config.name!r} "
                         f"({config.to_dict()}): {'; '.join(parts)}")
    model.load_state_dict(state, strict=True)


def load_tokenizer(spec: "str | os.PathLike | Tokenizer", device: str | torch.device = "cpu",
                   seed: int = 0) -> Tokenizer:
    """A tokenizer from a saved folder, a preset name ("tiny", "small": random init from ``seed``),
    "official" (DAC 44.1 kHz weights from the DAC cache) or the path of an official ``.pth``."""
    if isinstance(spec, Tokenizer):
        return spec.to(device)
    text = os.fspath(spec)
    p = Path(text)
    if p.is_dir():
        return Tokenizer.load(p, device=device)
    if p.is_file():
        return Tokenizer.from_official(p, device=device)
    if text in ("official", "official-44khz"):
        return Tokenizer.from_official(None, device=device)
    if text in CODEC_PRESETS:
        log.info("codec %r: random initialisation (seed %d)", text, seed)
        return Tokenizer(CODEC_PRESETS[text], seed=seed).to(device).eval()
    raise ValueError(f"unknown codec {text!r}: not a folder, not a file, and not one of "
                     f"{', '.join(['official', *sorted(CODEC_PRESETS)])}")
