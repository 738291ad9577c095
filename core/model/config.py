"""MaskVAT hyper-parameters: one dataclass, named presets, strict JSON round trip."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

VARIANTS = ("adaln", "seq2seq", "hybrid")
# How training masks cells (see masking.py): "uniform" = MaskGIT over all [K,F] cells, "levels" =
# coarse-to-fine states the sampler visits, "mixed" = each sample picks one of the two.
MASK_MODES = ("uniform", "levels", "mixed")


@dataclass
class MaskVATConfig:
    variant: str = "adaln"
    n_codebooks: int = 9
    codebook_size: int = 1024
    cond_dim: int = 512           # visual feature size Dc, at the codec frame rate
    d_model: int = 256
    n_layers: int = 4             # decoder / main blocks
    n_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.0
    enc_layers: int = 2           # visual encoder blocks (seq2seq, hybrid)
    cond_kernel: int = 5          # temporal conv over the visual features (motion needs neighbours)
    max_frames: int = 1024        # longest window the model takes in one pass
    sample_window: int = 0        # window the sampler uses by default (0: max_frames); set by
                                  # training to the longest window it trained on
    rope_base: float = 10000.0
    label_smoothing: float = 0.1
    cond_drop_prob: float = 0.1
    mask_mode: str = "mixed"
    levels_prob: float = 0.5      # "mixed": share of samples with the sampler's coarse-first masks
    context_prob: float = 0.25    # share of training samples with given context frames (masking.py)
    aux_weight: float = 0.0       # auxiliary teacher losses; off when 0
    aux_dim: int = 0              # teacher embedding size (0: no auxiliary head)
    aux_contrastive: float = 1.0  # weight of the InfoNCE term relative to the regression term
    aux_temperature: float = 0.1
    # Reference sound (transformer.py): the codec tokens of a sound the editor picks, attended to
    # by the picture's frames as a memory marked "reference" with no visual condition on it.
    # ref_frames is the longest reference in code frames (0: no reference support, which is what
    # every checkpoint saved before it loads as); training drops the reference of a sample with
    # ref_drop_prob so that prompt-free generation stays as good as without it.
    ref_frames: int = 0
    ref_drop_prob: float = 0.5
    # Conditioning: the largest stretch of a moving picture's visual features (core.features.
    # motion_gain; 1: none, what every checkpoint saved before it loads as). The engine applies it,
    # and so does the training cache, so a model trained with it learns it; the bundle did not train
    # with it and takes it at inference, where it was measured.
    motion_gain: float = 1.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown MaskVAT variant {self.variant!r}; expected one of {VARIANTS}")
        if self.mask_mode not in MASK_MODES:
            raise ValueError(f"unknown mask_mode {self.mask_mode!r}; expected one of {MASK_MODES}")
        for name in ("n_codebooks", "codebook_size", "cond_dim", "d_model", "n_layers", "n_heads",
                     "ff_mult", "max_frames", "cond_kernel"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"MaskVATConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.d_model % self.n_heads or (self.d_model // self.n_heads) % 2:
            raise ValueError(f"d_model {self.d_model} must split into {self.n_heads} heads of even size")
        if self.cond_kernel % 2 == 0:
            raise ValueError(f"cond_kernel must be odd, got {self.cond_kernel}")
        if self.variant != "adaln" and self.enc_layers < 1:
            raise ValueError(f"variant {self.variant!r} needs enc_layers >= 1")
        if not 0 <= self.cond_drop_prob < 1 or not 0 <= self.label_smoothing < 1:
            raise ValueError("cond_drop_prob and label_smoothing must be in [0, 1)")
        if not 0 <= self.levels_prob <= 1:
            raise ValueError(f"levels_prob must be in [0, 1], got {self.levels_prob}")
        if not 0 <= self.sample_window <= self.max_frames:
            raise ValueError(f"sample_window must be in [0, max_frames={self.max_frames}], got {self.sample_window}")
        if not 0 <= self.context_prob <= 1:
            raise ValueError(f"context_prob must be in [0, 1], got {self.context_prob}")
        if self.ref_frames < 0:
            raise ValueError(f"ref_frames must be >= 0 (0: no reference sounds), got {self.ref_frames}")
        if not 0 <= self.ref_drop_prob < 1:
            raise ValueError(f"ref_drop_prob must be in [0, 1), got {self.ref_drop_prob}")
        if not 1.0 <= self.motion_gain <= 16.0:
            raise ValueError(f"motion_gain must be in [1, 16] (1: none), got {self.motion_gain}")
        if self.aux_weight > 0 and self.aux_dim < 1:
            raise ValueError("aux_weight > 0 needs aux_dim (the teacher embedding size)")

    @property
    def window(self) -> int:
        """The sampler's default window: what the model trained on, at most max_frames."""
        return self.sample_window or self.max_frames

    @property
    def takes_reference(self) -> bool:
        """Whether the model was built (and trained) to take a reference sound."""
        return self.ref_frames > 0

    @property
    def mask_id(self) -> int:
        """The MASK token: one past the last codebook entry."""
        return self.codebook_size

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "MaskVATConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"unknown MaskVAT config keys: {', '.join(sorted(unknown))}")
        return cls(**d)

    def replace(self, **changes: Any) -> "MaskVATConfig":
        return dataclasses.replace(self, **changes)


PRESETS: dict[str, dict[str, Any]] = {
    # Unit tests: a few thousand parameters.
    "tiny": dict(n_codebooks=4, codebook_size=64, cond_dim=16, d_model=32, n_layers=2, n_heads=2,
                 enc_layers=1, cond_kernel=3, max_frames=256, label_smoothing=0.0),
    # The bundled CPU model: a few M parameters, faster than real time on a CPU (core.bench.sampler).
    "default": dict(d_model=192, n_layers=4, n_heads=4, enc_layers=2, max_frames=1024),
    # The paper's scale (ECCV 2024): d 1024, 24 layers, 16 heads.
    "paper": dict(d_model=1024, n_layers=24, n_heads=16, enc_layers=6, dropout=0.1,
                  max_frames=1024, cond_dim=768),
}


def preset(name: str, **overrides: Any) -> MaskVATConfig:
    """A preset config; ``overrides`` set any field (e.g. the codec's n_codebooks)."""
    if name not in PRESETS:
        raise ValueError(f"unknown MaskVAT preset {name!r}; expected one of {sorted(PRESETS)}")
    return MaskVATConfig.from_dict({**PRESETS[name], **overrides})
