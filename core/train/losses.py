"""Audio reconstruction losses and metrics for codec training (mel, STFT, waveform, SI-SDR)."""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from maskvat_foley.core.features.audio import mel_filterbank

_BANKS: dict[tuple, Tensor] = {}


def _bank(n_fft: int, n_mels: int, sr: int, device: torch.device) -> Tensor:
    key = (n_fft, n_mels, sr, str(device))
    if key not in _BANKS:
        _BANKS[key] = mel_filterbank(n_fft, n_mels, sr).to(device)
    return _BANKS[key]


def _mag(x: Tensor, n_fft: int) -> Tensor:
    win = torch.hann_window(n_fft, device=x.device, dtype=x.dtype)
    return torch.stft(x.reshape(-1, x.shape[-1]), n_fft, n_fft // 4, window=win, center=True,
                      return_complex=True).abs()  # [B, bins, frames]


def multiscale_mel_l1(pred: Tensor, target: Tensor, sample_rate: int,
                      windows: Sequence[int] = (64, 256, 1024, 2048),
                      mels: Sequence[int] = (10, 40, 80, 128)) -> Tensor:
    """Mean L1 of log10 mel magnitudes over several resolutions (DAC's reconstruction loss)."""
    total = pred.new_zeros(())
    for n_fft, n_mels in zip(windows, mels):
        fb = _bank(n_fft, n_mels, sample_rate, pred.device)
        p = _mag(pred.float(), n_fft).transpose(1, 2) @ fb
        t = _mag(target.float(), n_fft).transpose(1, 2) @ fb
        total = total + F.l1_loss(torch.log10(p.clamp_min(1e-5)), torch.log10(t.clamp_min(1e-5)))
    return total / len(windows)


def multiscale_stft_l1(pred: Tensor, target: Tensor, windows: Sequence[int] = (512, 2048)) -> Tensor:
    """L1 of log magnitudes plus spectral convergence, averaged over window sizes."""
    total = pred.new_zeros(())
    for n_fft in windows:
        p, t = _mag(pred.float(), n_fft), _mag(target.float(), n_fft)
        total = total + _convergence(p, t) + F.l1_loss(torch.log(p.clamp_min(1e-5)), torch.log(t.clamp_min(1e-5)))
    return total / len(windows)


def spectral_convergence(pred: Tensor, target: Tensor, windows: Sequence[int] = (512, 2048),
                         per_item: bool = False) -> Tensor:
    """||T - P|| / ||T|| of linear STFT magnitudes, averaged over window sizes. With ``per_item``
    each batch item's own ratio, averaged: a quiet crop (a lone tone beside loud FoleyWorld hits)
    then weighs as much as a loud one.

    Log-magnitude losses weigh every bin alike, and FoleyWorld is mostly near-silence, so they let
    a codec play its rare events far too quietly at little cost; in linear magnitude the loud
    frames are nearly all of the error.
    """
    total = pred.new_zeros(())
    for n_fft in windows:
        p, t = _mag(pred.float(), n_fft), _mag(target.float(), n_fft)
        if per_item:
            p, t = p.reshape(pred.shape[0], -1), t.reshape(target.shape[0], -1)
            total = total + ((t - p).norm(dim=1) / t.norm(dim=1).clamp_min(1e-5)).mean()
        else:
            total = total + _convergence(p, t)
    return total / len(windows)


def _convergence(p: Tensor, t: Tensor) -> Tensor:
    return (t - p).norm() / t.norm().clamp_min(1e-5)


def si_sdr(pred: Tensor, target: Tensor, eps: float = 1e-8) -> Tensor:
    """Scale-invariant SDR in dB per item: pred/target [B, 1, T] -> [B]."""
    p = pred.reshape(pred.shape[0], -1).double()
    t = target.reshape(target.shape[0], -1).double()
    p, t = p - p.mean(-1, keepdim=True), t - t.mean(-1, keepdim=True)
    alpha = (p * t).sum(-1, keepdim=True) / (t.pow(2).sum(-1, keepdim=True) + eps)
    s = alpha * t
    return (10 * torch.log10(s.pow(2).sum(-1) / ((p - s).pow(2).sum(-1) + eps) + eps)).float()
