"""Reference sounds for MaskVAT training: each training window paired with a reference sound.

A reference must teach the model that the picture says WHEN and the reference WHAT IT SOUNDS
LIKE. So a row's reference is a sound of the same kind from another moment of the clip or from
another clip (never the frames being predicted), cropped around its events (a silent crop says
nothing about timbre), and for clips whose kind has a material or surface, half of the time
(``swap_prob``) the reference has ANOTHER material and the target is the clip re-rendered with
that material (cache.RefClip.alt_codes): the picture still shows the old material, so only the
reference tells the model what the target sounds like. Without that half the model could
ignore the reference, the picture alone giving the timbre.

A share ``ref_drop_prob`` (MaskVATConfig) of rows gets no reference and the clip's own sound, as
without reference training: prompt-free generation keeps learning, and the guidance has its
"without the reference" rows. Clips without events get no reference (nothing to imitate), and
sources without labels (a video folder) only references from other moments of the same clip.

Randomness comes from the caller's numpy Generator (its own stream, so the windows a step draws
are the same with and without references).
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch
from torch import Tensor

from maskvat_foley.core.train.cache import CacheClip, RefClip

SWAP_PROB = 0.5        # of rows of a clip with an alternate sound: reference of another material
OTHER_CLIP_PROB = 0.5  # when both exist: a reference from another clip rather than another moment
MIN_REF_SECONDS = 0.25  # core.media.reference.load_reference's shortest reference


def min_ref_frames(frame_rate: Fraction, ref_frames: int) -> int:
    """Shortest reference trained on, in code frames: what an editor may give (0.25 s)."""
    return max(1, min(ref_frames, math.ceil(MIN_REF_SECONDS * Fraction(frame_rate))))


def alt_timbre(ref: RefClip) -> tuple:
    """What the alternate sound of a clip sounds like (as core.data.rematerial.timbre spells it)."""
    return ((ref.timbre[0][0], (ref.alt_label,)),)


@dataclass
class RefPair:
    """One training row: its target codes [K,W] and teacher frames [W,T], and its reference
    codes [K,R'] (None: no reference). ``swapped``: the target is the alternate sound;
    ``source``: where the reference was cut (clip key, its alternate sound?, first frame)."""

    target: Tensor
    teacher: Tensor
    reference: Tensor | None
    swapped: bool = False
    source: tuple[str, bool, int] | None = None


class RefPool:
    """Training clips with their labels, indexed by what they sound like."""

    def __init__(self, clips: list[CacheClip], labels: list[RefClip] | None, min_frames: int, *,
                 swap_prob: float = SWAP_PROB, other_clip_prob: float = OTHER_CLIP_PROB) -> None:
        self.clips = {c.key: c for c in clips}
        self.labels = {r.key: r for r in labels or () if r.key in self.clips}
        self.min_frames = max(1, int(min_frames))
        self.swap_prob, self.other_clip_prob = swap_prob, other_clip_prob
        # timbre -> [(clip key, True for its alternate sound)] of every sound that has it
        self.by_timbre: dict[tuple, list[tuple[str, bool]]] = defaultdict(list)
        for r in self.labels.values():
            if r.timbre:
                self.by_timbre[r.timbre].append((r.key, False))
            if r.alt_label is not None:
                self.by_timbre[alt_timbre(r)].append((r.key, True))

    def has_alternate(self, key: str) -> bool:
        """Whether the clip has an alternate sound (a row of it can be swapped)."""
        lab = self.labels.get(key)
        return lab is not None and lab.alt_label is not None

    def codes_of(self, key: str, alt: bool) -> Tensor:
        return self.labels[key].alt_codes if alt else self.clips[key].codes

    def events_of(self, key: str) -> list[int]:
        lab = self.labels.get(key)
        return lab.events if lab is not None else []

    def pair(self, clip: CacheClip, start: int, window: int, ref_len: int, rng: np.random.Generator,
             drop: bool) -> RefPair:
        """The row for frames [start, start+window) of ``clip`` with a reference of at most
        ``ref_len`` frames (none when ``drop``)."""
        plain = RefPair(clip.codes[:, start:start + window], clip.teacher[start:start + window], None)
        lab = self.labels.get(clip.key)
        if drop or (lab is not None and not lab.timbre):
            return plain
        if lab is not None and lab.alt_label is not None and rng.random() < self.swap_prob:
            found = self._reference(clip, start, window, ref_len, rng, alt_timbre(lab), alt=True)
            if found is not None:
                return RefPair(lab.alt_codes[:, start:start + window], lab.alt_teacher[start:start + window],
                               found[0], True, found[1])
        found = self._reference(clip, start, window, ref_len, rng, lab.timbre if lab else None, alt=False)
        return plain if found is None else RefPair(plain.target, plain.teacher, found[0], False, found[1])

    def _reference(self, clip: CacheClip, start: int, window: int, ref_len: int, rng: np.random.Generator,
                   want: tuple | None, alt: bool) -> tuple[Tensor, tuple[str, bool, int]] | None:
        """A crop of a sound that sounds like ``want``: another clip's, or the clip's own (its
        alternate sound when ``alt``) outside the window being predicted."""
        others = [o for o in self.by_timbre.get(want, ()) if o[0] != clip.key] if want else []
        n = clip.codes.shape[-1]
        own = [(a, b) for a, b in ((0, start), (start + window, n)) if b - a >= self.min_frames]
        if others and (not own or rng.random() < self.other_clip_prob):
            key, use_alt = others[int(rng.integers(len(others)))]
            codes = self.codes_of(key, use_alt)
            s, n_ref = crop_span(self.events_of(key), 0, codes.shape[-1], ref_len, rng)
            return codes[:, s:s + n_ref], (key, use_alt, s)
        if not own:
            return None
        events = self.events_of(clip.key)
        with_events = [s for s in own if any(s[0] <= e < s[1] for e in events)]
        spans = with_events or own
        a, b = spans[int(rng.integers(len(spans)))]
        s, n_ref = crop_span(events, a, b, ref_len, rng)
        codes = self.codes_of(clip.key, alt) if alt else clip.codes
        return codes[:, s:s + n_ref], (clip.key, alt, s)


def crop_span(events: list[int], a: int, b: int, length: int, rng: np.random.Generator) -> tuple[int, int]:
    """(first frame, length) of a crop of ``length`` frames (fewer if [a, b) is shorter) inside
    [a, b), starting a little before one of the events there when it has any."""
    length = min(length, b - a)
    inside = [e for e in events if a <= e < b]
    if inside:
        e = inside[int(rng.integers(len(inside)))]
        s = e - int(rng.integers(0, max(1, length // 4)))
    else:
        s = a + int(rng.integers(0, b - a - length + 1))
    return min(max(s, a), b - length), length


def collate(refs: list[Tensor | None], n_codebooks: int, ref_len: int) -> tuple[Tensor, Tensor]:
    """Rows' references as one batch: codes [B,K,ref_len] (0 on padding) and the mask [B,ref_len]
    of real frames (all False for a row without a reference)."""
    codes = torch.zeros(len(refs), n_codebooks, ref_len, dtype=torch.long)
    mask = torch.zeros(len(refs), ref_len, dtype=torch.bool)
    for i, r in enumerate(refs):
        if r is not None:
            codes[i, :, :r.shape[-1]] = r
            mask[i, :r.shape[-1]] = True
    return codes, mask
