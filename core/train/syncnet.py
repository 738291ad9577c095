"""The trained audio-visual synchrony scorer ("foleyworld-av"): an audio tower over log-mel frames
and a visual head over the extractor's features, both at the codec frame rate, giving one unit
vector per frame. Frames that belong together (same time) have a high dot product.

``FoleyWorldAVScorer`` is a beam.SyncScorer: ``score(wave, sr, visual) -> [B]`` (mean per-frame
similarity, higher = more in sync) and ``offset(...) -> [B]`` ms (positive: audio late).
Saved as a folder: ``config.json`` + ``model.safetensors``.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from maskvat_foley.core.weights_folder import CONFIG_FILE, WEIGHTS_FILE, read_config, write_folder

FORMAT = "maskvat-foley-scorer"
FORMAT_VERSION = 1
NAME = "foleyworld-av"


@dataclass
class SyncNetConfig:
    cond_dim: int = 64
    embed_dim: int = 64
    hidden: int = 128
    n_mels: int = 64
    layers: int = 3
    kernel: int = 5

    def __post_init__(self) -> None:
        if min(self.cond_dim, self.embed_dim, self.hidden, self.n_mels, self.layers) < 1 or self.kernel % 2 == 0:
            raise ValueError(f"sync net: sizes must be >= 1 and kernel odd, got {asdict(self)}")


def _tower(c_in: int, cfg: SyncNetConfig) -> nn.Sequential:
    """Dilated 1-D convolutions over frames: shift-equivariant, so time offsets stay visible."""
    mods: list[nn.Module] = [nn.Conv1d(c_in, cfg.hidden, cfg.kernel, padding=cfg.kernel // 2), nn.GELU()]
    for i in range(1, cfg.layers):
        d = 2 ** i
        mods += [nn.Conv1d(cfg.hidden, cfg.hidden, cfg.kernel, padding=d * (cfg.kernel // 2), dilation=d),
                 nn.GELU()]
    mods.append(nn.Conv1d(cfg.hidden, cfg.embed_dim, 1))
    return nn.Sequential(*mods)


class SyncNet(nn.Module):
    def __init__(self, config: SyncNetConfig) -> None:
        super().__init__()
        from maskvat_foley.core.features.audio import LogMelEmbedder

        self.config = config
        self.logmel = LogMelEmbedder(dim=config.n_mels)
        self.audio = _tower(config.n_mels, config)
        self.visual = _tower(config.cond_dim, config)

    def embed_audio(self, wave: Tensor, sample_rate: int, n_frames: int) -> Tensor:
        """wave [B,1,T] -> unit vectors [B, n_frames, E]."""
        mel = self.logmel.embed(wave, sample_rate, n_frames)
        x = (mel + 6.0) / 4.0  # log power of -11..+5 to about -1..3
        return F.normalize(self.audio(x.transpose(1, 2)).transpose(1, 2), dim=-1)

    def embed_visual(self, cond: Tensor) -> Tensor:
        """visual features [B,F,Dc] at the codec rate -> unit vectors [B,F,E]."""
        if cond.dim() != 3 or cond.shape[-1] != self.config.cond_dim:
            raise ValueError(f"sync scorer expects visual features [B,F,{self.config.cond_dim}] "
                             f"(the 'foleyworld-av' extractor it was trained with), got {tuple(cond.shape)}")
        return F.normalize(self.visual(cond.float().transpose(1, 2)).transpose(1, 2), dim=-1)


def lagged_similarity(ea: Tensor, ev: Tensor, max_lag: int) -> Tensor:
    """[B, 2L+1]: mean over frames of ea[f+a]·ev[f] for a = -L..L (a > 0: audio late)."""
    n = ea.shape[1]
    out = []
    for a in range(-max_lag, max_lag + 1):
        lo, hi = max(0, -a), min(n, n - a)
        if hi - lo < 1:
            out.append(ea.new_full((ea.shape[0],), -1.0))
            continue
        out.append((ea[:, lo + a:hi + a] * ev[:, lo:hi]).sum(-1).mean(-1))
    return torch.stack(out, dim=1)


class FoleyWorldAVScorer:
    """A beam.SyncScorer backed by a trained SyncNet."""

    name = NAME

    def __init__(self, net: SyncNet) -> None:
        self.net = net.eval()

    def _embed(self, wave: Tensor, sample_rate: int, visual: Tensor) -> tuple[Tensor, Tensor]:
        if wave.dim() != 3 or visual.dim() != 3 or visual.shape[0] not in (1, wave.shape[0]):
            raise ValueError(f"scorer needs wave [B,1,T] and visual [B or 1,F,D], got "
                             f"{tuple(wave.shape)} and {tuple(visual.shape)}")
        dev = next(self.net.parameters()).device
        ev = self.net.embed_visual(visual.to(dev))
        ea = self.net.embed_audio(wave.to(dev).float(), sample_rate, visual.shape[1])
        return ea, ev.expand_as(ea)

    @torch.no_grad()
    def score(self, wave: Tensor, sample_rate: int, visual: Tensor) -> Tensor:
        ea, ev = self._embed(wave, sample_rate, visual)
        return (ea * ev).sum(-1).mean(-1).cpu()

    @torch.no_grad()
    def offset(self, wave: Tensor, sample_rate: int, visual: Tensor, max_lag: int = 20) -> Tensor:
        """Estimated audio offset in ms per item (positive: the audio comes late)."""
        ea, ev = self._embed(wave, sample_rate, visual)
        lag = lagged_similarity(ea, ev, max_lag).argmax(1) - max_lag
        frame_ms = 1000.0 * wave.shape[-1] / (sample_rate * visual.shape[1])
        return (lag.float() * frame_ms).cpu()


def save_scorer(net: SyncNet, directory: str | os.PathLike) -> Path:
    meta = {"format": FORMAT, "version": FORMAT_VERSION, "name": NAME, "config": asdict(net.config)}
    return write_folder(directory, meta, net.state_dict())


def load_scorer(directory: str | os.PathLike, device: str | torch.device = "cpu", **_: Any) -> FoleyWorldAVScorer:
    """Read a folder written by save_scorer; clear errors for missing or mismatched files."""
    from safetensors.torch import load_file

    d = Path(directory)
    cfg_path, w_path = d / CONFIG_FILE, d / WEIGHTS_FILE
    meta = read_config(d, FORMAT, FORMAT_VERSION, "scorer")
    try:
        net = SyncNet(SyncNetConfig(**meta.get("config", {})))
    except TypeError as exc:
        raise ValueError(f"{cfg_path}: bad scorer config: {exc}") from None
    state = load_file(str(w_path))
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ValueError(f"{w_path}: weights do not match the scorer config: {exc}") from None
    return FoleyWorldAVScorer(net.to(device))
