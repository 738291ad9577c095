"""Codec configurations: the arguments of ``dac.DAC`` plus a name, and the presets we ship."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CodecConfig:
    """Constructor arguments of ``dac.DAC`` (``arch`` "dac") or of the frame-rate ``StftCodec``
    (``arch`` "stft": ``width``, ``depth``, ``n_fft``; the hop is still the product of the rates)
    and a name.

    ``latent_dim`` None means DAC's default, ``encoder_dim * 2 ** len(encoder_rates)``; it is
    resolved in :meth:`dac_kwargs` so the saved config always states it.
    """

    name: str
    encoder_dim: int = 64
    encoder_rates: tuple[int, ...] = (2, 4, 8, 8)
    latent_dim: int | None = None
    decoder_dim: int = 1536
    decoder_rates: tuple[int, ...] = (8, 8, 4, 2)
    n_codebooks: int = 9
    codebook_size: int = 1024
    codebook_dim: int = 8
    quantizer_dropout: float = 0.0
    sample_rate: int = 44100
    arch: str = "dac"
    width: int = 256
    depth: int = 4
    n_fft: int = 2048
    # "predicted": the decoder predicts each bin's phase per frame; "propagated": each bin's phase
    # carries on from the previous frame where the decoder says the bin is tonal (stft_codec).
    phase: str = "predicted"

    def __post_init__(self) -> None:
        if self.arch not in ARCHS:
            raise ValueError(f"codec config {self.name!r}: arch {self.arch!r} is not one of {', '.join(ARCHS)}")
        if self.phase not in PHASES:
            raise ValueError(f"codec config {self.name!r}: phase {self.phase!r} is not one of {', '.join(PHASES)}")
        if self.phase != "predicted" and self.arch != "stft":
            raise ValueError(f"codec config {self.name!r}: phase {self.phase!r} needs arch 'stft'")
        object.__setattr__(self, "encoder_rates", tuple(int(r) for r in self.encoder_rates))
        object.__setattr__(self, "decoder_rates", tuple(int(r) for r in self.decoder_rates))
        if self.latent_dim is None:
            object.__setattr__(self, "latent_dim", self.encoder_dim * 2 ** len(self.encoder_rates))
        problems = [f"{k}={getattr(self, k)!r}" for k in
                    ("encoder_dim", "decoder_dim", "n_codebooks", "codebook_size", "codebook_dim",
                     "sample_rate") if int(getattr(self, k)) < 1]
        if problems:
            raise ValueError(f"codec config {self.name!r}: values must be positive: {', '.join(problems)}")
        if self.hop != _prod(self.decoder_rates):
            # DAC decodes one code frame to prod(decoder_rates) samples; unequal rates change lengths.
            raise ValueError(f"codec config {self.name!r}: encoder rates {self.encoder_rates} and decoder "
                             f"rates {self.decoder_rates} must have the same product (the hop)")

    @property
    def hop(self) -> int:
        return _prod(self.encoder_rates)

    def dac_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``dac.DAC(**kwargs)``."""
        d = self.to_dict()
        for key in ("name", *_STFT_ONLY):
            d.pop(key)
        d["encoder_rates"] = list(self.encoder_rates)
        d["decoder_rates"] = list(self.decoder_rates)
        return d

    def stft_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``StftCodec(**kwargs)``."""
        return dict(n_fft=self.n_fft, hop=self.hop, dim=self.width, depth=self.depth,
                    n_codebooks=self.n_codebooks, codebook_size=self.codebook_size,
                    codebook_dim=self.codebook_dim, quantizer_dropout=self.quantizer_dropout,
                    sample_rate=self.sample_rate, phase=self.phase)

    def new_model(self):
        """A randomly initialised model of this configuration."""
        if self.arch == "stft":
            from maskvat_foley.core.codec.stft_codec import StftCodec

            return StftCodec(**self.stft_kwargs())
        import warnings

        import dac

        with warnings.catch_warnings():
            # DAC uses torch.nn.utils.weight_norm, deprecated in favour of parametrizations; harmless.
            warnings.simplefilter("ignore", FutureWarning)
            warnings.simplefilter("ignore", UserWarning)
            return dac.DAC(**self.dac_kwargs())

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["encoder_rates"] = list(self.encoder_rates)
        d["decoder_rates"] = list(self.decoder_rates)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "codec config") -> "CodecConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise ValueError(f"{source}: unknown codec config keys: {', '.join(sorted(unknown))}")
        if "name" not in d:
            raise ValueError(f"{source}: codec config has no 'name'")
        return cls(**d)


ARCHS = ("dac", "stft")
PHASES = ("predicted", "propagated")
_STFT_ONLY = ("arch", "width", "depth", "n_fft", "phase")


def _prod(xs: tuple[int, ...]) -> int:
    p = 1
    for x in xs:
        p *= x
    return p


# Every preset keeps DAC 44.1 kHz's hop of 512, so the token rate is 44100/512 = 86.1328125 frames/s
# whatever the size: models and features built for one preset line up with every other.
CODEC_PRESETS: dict[str, CodecConfig] = {
    "official-44khz": CodecConfig(name="official-44khz"),
    # About 8 MB: trainable on a CPU; the codec of the bundled default model.
    "small": CodecConfig(name="small", encoder_dim=16, decoder_dim=128, n_codebooks=6,
                         codebook_size=1024, codebook_dim=8),
    # About 25 MB in float32: every layer at the code frame rate, fast to train on a CPU.
    "stft-small": CodecConfig(name="stft-small", arch="stft", width=256, depth=4, n_codebooks=6,
                              codebook_size=1024, codebook_dim=8),
    # stft-small whose decoder can hold a tone: the phase carries on over frames (docs/codec.md).
    "stft-tonal": CodecConfig(name="stft-tonal", arch="stft", width=256, depth=4, n_codebooks=6,
                              codebook_size=1024, codebook_dim=8, phase="propagated"),
    "stft-tiny": CodecConfig(name="stft-tiny", arch="stft", width=32, depth=1, n_codebooks=3,
                             codebook_size=128, codebook_dim=8, n_fft=1024),
    # Under 1 MB: for tests.
    "tiny": CodecConfig(name="tiny", encoder_dim=4, decoder_dim=16, n_codebooks=3,
                        codebook_size=128, codebook_dim=8),
}
