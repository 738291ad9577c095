"""Materials (impact, strike) and walking surfaces (footstep): how they look and how they sound.

The look tells the material apart (colour + texture) and the sound follows the same label
(modal frequencies, decay, contact brightness), which is the relation a model must learn.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from maskvat_foley.core.data import draw, synth


@dataclass(frozen=True)
class Material:
    color: tuple[float, float, float]
    ratios: tuple[float, ...]     # mode frequencies relative to the fundamental
    f0: tuple[float, float]       # fundamental range (Hz) for a reference-size object
    t60: tuple[float, float]      # decay of the fundamental (s); higher modes decay faster
    click_lo: float               # contact transient high-pass (Hz): brighter for harder things
    click_t60: float
    click_gain: float
    restitution: tuple[float, float]
    alpha: float = 1.0


MATERIAL_TABLE: dict[str, Material] = {
    "wood": Material((150, 98, 52), (1.0, 2.57, 4.21, 6.31, 8.1), (380, 700), (0.07, 0.16),
                     800, 0.004, 0.9, (0.35, 0.5)),
    "metal": Material((160, 166, 178), (1.0, 2.76, 5.40, 8.93, 13.34), (520, 1100), (0.35, 0.8),
                      2500, 0.002, 0.7, (0.45, 0.6)),
    "glass": Material((165, 222, 235), (1.0, 2.32, 4.25, 6.63, 9.38), (1300, 2300), (0.2, 0.45),
                      4000, 0.0015, 0.8, (0.4, 0.55), alpha=0.75),
    "stone": Material((105, 104, 98), (1.0, 1.47, 2.09, 2.56, 3.9, 5.1), (200, 380), (0.025, 0.06),
                      500, 0.006, 1.3, (0.25, 0.4)),
}


def material_texture(material: str, cx: float, cy: float, r: float, seed: float) -> draw.Texture:
    """Grain for wood, a highlight for metal and glass, speckle for stone (object-local)."""
    if material == "wood":
        return draw.stripes(freq=1.6, angle=0.15 + 0.3 * (seed % 1), amp=0.18, phase=seed * 7, wobble=1.5)
    if material == "metal":
        return draw.shade(0.55, cx, cy, r)
    if material == "glass":
        return draw.shade(0.35, cx, cy, r)
    return draw.speckle(0.35, seed=seed, cell=1.5)


def object_modes(rng: np.random.Generator, material: str, size_rel: float) -> dict:
    """Per-object modal parameters: bigger objects ring lower (f ~ 1/size)."""
    m = MATERIAL_TABLE[material]
    f0 = float(rng.uniform(*m.f0) / max(size_rel, 0.3))
    return {"f0": round(f0, 2), "t60": round(float(rng.uniform(*m.t60)), 4)}


def hit_sound(rng: np.random.Generator, sr: int, material: str, f0: float, t60: float,
              strength: float) -> np.ndarray:
    """One contact: the object's modes excited with random weights, plus a contact click."""
    m = MATERIAL_TABLE[material]
    k = len(m.ratios)
    ratios = np.asarray(m.ratios) * rng.uniform(0.985, 1.015, k)  # slight detuning per object
    t60s = t60 / np.asarray(m.ratios) ** 0.6
    amps = rng.uniform(0.35, 1.0, k) / np.arange(1, k + 1) ** 0.7
    body = synth.modal(sr, f0 * ratios, t60s, amps, seconds=min(1.5 * t60, 2.0))
    body /= np.abs(body).max() + 1e-9
    click = synth.burst(rng, sr, m.click_t60, lo=m.click_lo, seconds=4 * m.click_t60)
    click *= m.click_gain / (np.abs(click).max() + 1e-9)
    body[:len(click)] += click
    return body * strength


@dataclass(frozen=True)
class Surface:
    color: tuple[float, float, float]
    puff: tuple[float, float, float]  # colour of the particles kicked up at a step


SURFACE_TABLE: dict[str, Surface] = {
    "grass": Surface((70, 135, 55), (110, 180, 80)),
    "gravel": Surface((135, 128, 115), (175, 168, 150)),
    "wood": Surface((128, 86, 48), (190, 150, 110)),
    "tile": Surface((205, 205, 200), (240, 240, 240)),
}


def surface_texture(surface: str, x0: float, y0: float, seed: float) -> draw.Texture:
    if surface == "grass":
        return draw.combine(draw.stripes(2.2, 0.0, 0.25, phase=seed), draw.speckle(0.2, seed))
    if surface == "gravel":
        return draw.speckle(0.5, seed, cell=2.0)
    if surface == "wood":
        return draw.combine(draw.grid(12.0, 0.6, 0.35, x0=x0 + seed % 12, y0=1e6),
                            draw.stripes(1.1, 1.5, 0.1, phase=seed, wobble=2.0))
    return draw.grid(10.0, 0.6, 0.3, x0=x0 + seed % 10, y0=y0)


def step_sound(rng: np.random.Generator, sr: int, surface: str, strength: float) -> np.ndarray:
    """A footstep on ``surface``: shaped noise that differs in band, length and texture."""
    if surface == "grass":
        x = synth.burst(rng, sr, 0.11, lo=300, hi=2500, seconds=0.16)
        x[:int(0.03 * sr)] += 0.6 * synth.burst(rng, sr, 0.012, lo=1500, seconds=0.03)[:int(0.03 * sr)]
    elif surface == "gravel":
        n = int(0.14 * sr)
        x = 0.8 * synth.burst(rng, sr, 0.01, lo=1200, seconds=0.14)[:n]
        for _ in range(int(rng.integers(18, 35))):  # grains crunching after the heel
            g = synth.burst(rng, sr, 0.0015, lo=2500, seconds=0.004)
            at = int(rng.uniform(0.002, 0.11) * sr)
            synth.place(x, g, at, float(rng.uniform(0.15, 0.6)) * np.exp(-at / (0.06 * sr)))
    elif surface == "wood":
        x = synth.modal(sr, [rng.uniform(95, 150), rng.uniform(380, 650), rng.uniform(900, 1400)],
                        [0.09, 0.05, 0.03], [1.0, 0.5, 0.25], 0.18, phases=[np.pi / 2] * 3)
        x[:int(0.01 * sr)] += 0.5 * synth.burst(rng, sr, 0.003, lo=1500, seconds=0.01)[:int(0.01 * sr)]
    elif surface == "tile":
        x = synth.modal(sr, [rng.uniform(1600, 2600), rng.uniform(3500, 5200), rng.uniform(180, 260)],
                        [0.05, 0.03, 0.04], [0.6, 0.35, 0.5], 0.12, phases=[np.pi / 2] * 3)
        x[:int(0.006 * sr)] += 0.9 * synth.burst(rng, sr, 0.0015, lo=3000, seconds=0.006)[:int(0.006 * sr)]
    else:
        raise ValueError(f"unknown surface {surface!r}; known: {', '.join(SURFACE_TABLE)}")
    return x * (strength / (np.abs(x).max() + 1e-9))
