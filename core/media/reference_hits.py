"""The reference's own hits on the take's hits: "this door, not a door", sample for sample.

A take's timing comes from the picture (MaskVAT hears when things hit); its timbre is whatever the
codec can carry, and the codec turns a ringing strike into a click and a floor (docs/reference.md,
"What the codec allows"). So for impulsive sounds the reference is applied the way a sound
designer replaces drums or steps by hand: every hit the take has is replaced by one of the
reference's hits, attack on attack, at the take's level.

1. The reference's hits: its onsets (core.eval.onsets, the evaluation's own detector), each from
   its attack to the next one, at most ``MAX_HIT``, and at most ``TAIL`` past where it has died
   into the file's room tone (a library file's silence between knocks is not part of a knock);
   quiet echoes more than ``HIT_RANGE_DB`` under its loudest hit are left out.
2. The take's hits: its onsets, each attack found the same way (so any bias of the attack finder
   cancels), the hit's level the peak of its first ``PEAK_WINDOW``; an onset whose sound is still
   within ``SUSTAIN_DB`` of its start ``SUSTAIN_CHECK`` later (an engine starting) is not a hit
   and is left as the model made it.
3. Per take hit, one reference hit (seeded, never the same twice in a row when there is a choice,
   slightly detuned when the reference has fewer than ``ROUND_ROBIN``), scaled to the take hit's
   peak and placed on its attack; from where the take's swell into the hit began until its own
   hit has died back (or the next hit) the take gives way to its own room tone (a quiet stretch
   of it, looped), so the model's version of the hit does not sound under the reference's and the
   bed goes on. Between hits the take stays as it was.

``mix`` is wet/dry: 0 is the take, 1 full replacement. Pure numpy on mono float arrays; nothing is
read or written here.
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

PRE = 0.002          # s of lead kept before an attack (the very start of a transient)
MAX_HIT = 1.5        # s: the longest reference hit placed
SUSTAIN_DB = 12.0    # a "hit" still this close to its start's level MAX_HIT later keeps going
SUSTAIN_CHECK = 0.5  # s: a take's sound still within SUSTAIN_DB of its onset this long after is no hit
MIN_HIT = 0.03       # s: shorter segments are not hits but rattles
HIT_RANGE_DB = 30.0  # reference hits this far under its loudest are echoes, not hits
PEAK_WINDOW = 0.05   # s after the attack in which a hit's level is its peak
ROUND_ROBIN = 3      # with fewer reference hits than this, each placed hit is slightly detuned
DETUNE = 0.5         # semitones at most, either way: one sample repeated exactly is a machine gun
MAX_SWELL = 0.1      # s: how far before an attack a take's swell into its hit is held down
MIN_ROOM_TONE = 0.05 # s: the shortest quiet stretch of a take looped as its room tone
TAIL = 0.15          # s of a reference hit kept after it has died back to the room tone
FADE = 0.008         # s: fades at a placed hit's cut end and at the duck's edges
FLOOR_PERCENTILE = 50.0  # of a take's 10 ms levels: its bed, which goes on under the placed hits
ROOM_PERCENTILE = 10.0   # of a reference's 10 ms levels: its room tone, between its hits
FLOOR_MARGIN_DB = 6.0  # a hit has died when its envelope is this close to the sound's floor
MAX_GAIN_DB = 30.0   # a reference hit is never raised more than this to meet a take's hit
HITS_SECONDS = 10    # s of a reference read for its hits: a library file of steps or knocks


@dataclass(frozen=True)
class Hit:
    """One hit of the reference: its samples from just before the attack, its peak, and whether
    it is a sound that starts and keeps going (still within SUSTAIN_DB of its start MAX_HIT
    later: an engine starting, a tap opened) rather than a hit that dies away."""

    samples: np.ndarray
    peak: float
    sustained: bool = False


def is_steady(hits: list[Hit]) -> bool:
    """Whether a reference's "hits" are mostly sounds that keep going: a steady sound, better
    used as a texture than cut into hits."""
    return bool(hits) and 2 * sum(h.sustained for h in hits) > len(hits)


@dataclass(frozen=True)
class Placement:
    """What replacement did to one take: hits placed, and the attacks (samples) they sit on."""

    placed: int
    attacks: tuple[int, ...]


def reference_hits(audio: np.ndarray, sample_rate: int) -> list[Hit]:
    """The hits of a reference sound (empty for a sound without distinct hits: rain, an engine)."""
    x = mono(audio, "hit replacement")
    attacks = _attacks(x, sample_rate)
    pre, longest = round(PRE * sample_rate), round(MAX_HIT * sample_rate)
    room = _Level.of(x, sample_rate, ROOM_PERCENTILE)
    tail = round(TAIL * sample_rate)
    hits = []
    for i, a in enumerate(attacks):
        # To the next hit, or to where this one has died back into the recording's room tone
        # (a library file's silence between hits is not part of the hit).
        stop = min(attacks[i + 1] - pre if i + 1 < len(attacks) else x.size, a + longest,
                   room.died_back(a, sample_rate) + tail)
        if stop - a < MIN_HIT * sample_rate:
            continue
        seg = x[max(0, a - pre):stop].astype(np.float32)
        hits.append(Hit(_fade_out(seg.copy(), sample_rate), _peak(x, a, sample_rate),
                        stop == a + longest and _keeps_going(x, a, stop, sample_rate)))
    if not hits:
        return []
    top = max(h.peak for h in hits)
    return [h for h in hits if h.peak > 0 and 20 * np.log10(h.peak / top) > -HIT_RANGE_DB]


def replace_hits(take: np.ndarray, sample_rate: int, hits: list[Hit], *, mix: float = 1.0,
                 seed: int = 0) -> tuple[np.ndarray, Placement]:
    """``take`` (mono) with its hits replaced by ``hits`` (see the module docstring)."""
    check_mix(mix)
    x = mono(take, "hit replacement")
    if not hits or mix == 0.0:
        return x.astype(np.float32), Placement(0, ())
    attacks = _attacks(x, sample_rate)
    pre, longest = round(PRE * sample_rate), round(MAX_HIT * sample_rate)
    tone = RoomTone(x, sample_rate)
    bed = tone.bed
    added = np.zeros(x.size)
    last, previous, placed = -1, 0, []
    for i, a in enumerate(attacks):
        p = _peak(x, a, sample_rate)
        if p <= 0:
            continue
        following = attacks[i + 1] - pre if i + 1 < len(attacks) else x.size
        check = a + round(SUSTAIN_CHECK * sample_rate)
        if check <= following and _keeps_going(x, a, check, sample_rate, above=bed.floor):
            continue  # an onset of a sound that goes on (an engine starting) is not a hit: left as it is
        limit = min(following, a + longest)
        # Drawn from the seed and the attack's sample, not in sequence: a region regenerated
        # with the base take's seed gets the same hits everywhere the take did not change.
        rng = np.random.default_rng([seed % 2**32, a, 16])
        choice = int(rng.integers(len(hits)))
        if len(hits) > 1 and choice == last:  # a machine gun of one sample is what editors hate
            choice = (choice + 1 + int(rng.integers(len(hits) - 1))) % len(hits)
        last = choice
        hit = hits[choice]
        gain = min(p / hit.peak, 10 ** (MAX_GAIN_DB / 20))
        start = max(0, a - pre)
        samples = hit.samples if len(hits) >= ROUND_ROBIN else _detune(hit.samples, sample_rate, rng)
        seg = samples[:max(0, limit - start)].astype(np.float64) * gain
        if seg.size < samples.size:
            seg = _fade_out(seg, sample_rate)
        added[start:start + seg.size] += seg
        # From where its swell left the bed (a soft lead-in before the reference's crisp attack
        # is the model's timbre) until its own hit has died back, or the next hit: a release
        # while the model's hit still rings would bring its timbre back.
        swell = bed.rose_from(start, max(0, start - round(MAX_SWELL * sample_rate), previous))
        stop = min(following, max(bed.died_back(a, sample_rate), start + seg.size))
        tone.give_way(swell, stop)
        previous = start
        placed.append(a)
    full = tone.laid_in() + added
    out = x + mix * (full - x)  # wet/dry
    return out.astype(np.float32), Placement(len(placed), tuple(int(a) for a in placed))


class RoomTone:
    """Where a take gives way to its own room tone. Under a hit taken away the take's bed goes on,
    not silence (a gated bed is audible, and its return would sound like a new onset): the nearest
    quiet stretch of the take (at least ``min_seconds``) is looped over the span and laid in with
    equal-power fades, as a dialogue editor fills a cut. A take with no such stretch is held down
    to its bed level there instead."""

    def __init__(self, x: np.ndarray, sample_rate: int, min_seconds: float = MIN_ROOM_TONE):
        self.x, self.sample_rate = x, sample_rate
        self.bed = _Level.of(x, sample_rate, FLOOR_PERCENTILE)
        self.rooms = [r for r in _room_tone_runs(self.bed, sample_rate) if r[1] - r[0] >= min_seconds * sample_rate]
        self.window = np.zeros(x.size)  # where the take gives way, FADE-long edges included
        self.fill = np.zeros(x.size)    # the room tone laid there
        self.laid = np.zeros(x.size, dtype=bool)

    def give_way(self, start: int, stop: int) -> None:
        """The take gives way to its room tone over samples [start, stop)."""
        span = _open(self.window, start, stop, self.sample_rate)
        _lay_room_tone(self.fill, self.laid, self.x, self.rooms, span, self.sample_rate)

    def laid_in(self) -> np.ndarray:
        """The take with its room tone laid in wherever it gave way (float64)."""
        w = self.window
        if self.rooms:
            return self.x * np.sqrt(1 - w) + self.fill * np.sqrt(w)
        return self.x * (1 - w * (1 - self.bed.hold))


# -- shared with core.media.reference_texture ------------------------------------------------------
def mono(audio: np.ndarray, what: str) -> np.ndarray:
    """``audio`` as float64, or ValueError unless it is non-empty, finite and mono."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1 or x.size == 0 or not np.all(np.isfinite(x)):
        raise ValueError(f"{what} needs non-empty finite mono audio, got shape {x.shape}")
    return x


def check_mix(mix: float) -> None:
    if not 0.0 <= mix <= 1.0:
        raise ValueError(f"mix must be between 0 and 1, got {mix}")


def moving_mean(values: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """The mean over a centred window of ``seconds``, one value a sample, from running sums (a
    250 ms window over 10 s costs what a 1 ms one does). Near the ends, over the part that exists."""
    n = max(1, round(seconds * sample_rate))
    sums = np.concatenate([[0.0], np.cumsum(np.asarray(values, dtype=np.float64))])
    idx = np.arange(len(values))
    lo, hi = np.maximum(idx - n // 2, 0), np.minimum(idx - n // 2 + n, len(values))
    return (sums[hi] - sums[lo]) / (hi - lo)


def moving_rms(x: np.ndarray, sample_rate: int, seconds: float) -> np.ndarray:
    """RMS over a centred window of ``seconds`` (moving_mean of the squares)."""
    return np.sqrt(np.maximum(moving_mean(np.asarray(x, dtype=np.float64) ** 2, sample_rate, seconds), 0.0))


# -- internals -------------------------------------------------------------------------------------


def _attacks(x: np.ndarray, sample_rate: int) -> list[int]:
    return [a for a, _ in onset_attacks(x, sample_rate)]


def onset_attacks(x: np.ndarray, sample_rate: int) -> list[tuple[int, Fraction]]:
    """Each onset's attack sample, with the onset's time as the detector gives it (exact seconds).
    The attack is where the 1 ms envelope first climbs a quarter of the way from the level just
    before to the hit's peak: the detector's onset times sit somewhere in the rise (its window is
    23 ms long); this finds the same point of every hit."""
    from maskvat_foley.core.eval.onsets import detect_onsets

    env = moving_mean(np.abs(x), sample_rate, 0.001)
    out: list[tuple[int, Fraction]] = []
    for t in detect_onsets(x.astype(np.float32), sample_rate):
        o = round(t * sample_rate)
        lo, hi = max(0, o - round(0.02 * sample_rate)), min(x.size, o + round(0.04 * sample_rate))
        if hi <= lo:
            continue
        before = float(np.median(env[max(0, lo - round(0.02 * sample_rate)):lo + 1]))
        top = float(env[lo:hi].max())
        rise = np.flatnonzero(env[lo:hi] >= before + 0.25 * (top - before))
        a = lo + int(rise[0]) if rise.size else o
        if not out or a > out[-1][0]:
            out.append((a, t))
    return out


def _keeps_going(x: np.ndarray, attack: int, stop: int, sample_rate: int, above: float = 0.0) -> bool:
    """Whether the sound's last 100 ms before ``stop`` are within SUSTAIN_DB of its first 100 ms,
    and more than SUSTAIN_DB over ``above`` (an RMS level: a take's bed, which a hit dies into)."""
    n = round(0.1 * sample_rate)
    head = np.sqrt(np.mean(x[attack:attack + n] ** 2))
    tail = np.sqrt(np.mean(x[max(attack, stop - n):stop] ** 2))
    margin = 10 ** (-SUSTAIN_DB / 20)
    return bool(tail > head * margin and tail * margin > above)


def _peak(x: np.ndarray, attack: int, sample_rate: int) -> float:
    return float(np.abs(x[attack:attack + round(PEAK_WINDOW * sample_rate)]).max(initial=0.0))


@dataclass(frozen=True)
class _Level:
    """A sound's 10 ms RMS levels against its floor (a percentile of them)."""

    rms: np.ndarray
    hop: int
    floor: float       # the percentile level itself (RMS)
    quiet: np.ndarray  # frames within FLOOR_MARGIN_DB of the floor
    hold: np.ndarray   # per sample, the gain (<= 1) that holds the sound down to its floor
    size: int

    @classmethod
    def of(cls, x: np.ndarray, sample_rate: int, percentile: float) -> "_Level":
        hop = max(1, round(0.01 * sample_rate))
        n = -(-x.size // hop)
        rms = np.sqrt(np.mean(np.pad(x, (0, n * hop - x.size)).reshape(n, hop) ** 2, axis=1) + 1e-20)
        floor = float(np.percentile(rms, percentile))
        env = np.interp(np.arange(x.size), (np.arange(n) + 0.5) * hop, rms)
        return cls(rms, hop, floor, rms <= floor * 10 ** (FLOOR_MARGIN_DB / 20),
                   np.minimum(1.0, floor / np.maximum(env, 1e-20)), x.size)

    def died_back(self, attack: int, sample_rate: int) -> int:
        """The first sample after the hit's peak where the sound is back near its floor."""
        k0 = attack // self.hop
        peak_k = k0 + int(np.argmax(self.rms[k0:k0 + max(1, round(PEAK_WINDOW * sample_rate) // self.hop)]))
        after = np.flatnonzero(self.quiet[peak_k:])
        return self.size if not after.size else (peak_k + int(after[0]) + 1) * self.hop

    def rose_from(self, attack: int, earliest: int) -> int:
        """Where the swell that leads into the hit at ``attack`` left the floor (not before
        ``earliest``): a take's hit can swell for tens of ms before the attack the finder reads."""
        k = attack // self.hop
        stop = max(0, -(-earliest // self.hop))
        while k > stop and not self.quiet[k - 1]:
            k -= 1
        return max(earliest, k * self.hop)


def _room_tone_runs(bed: "_Level", sample_rate: int) -> list[tuple[int, int]]:
    """The take's stretches at its bed level, clear of hits at both ends (sample ranges of at
    least MIN_ROOM_TONE): where its room tone can be copied from."""
    runs, start, margin = [], None, 2  # 10 ms frames left out at each end: a tail, a swell
    for k, q in enumerate(np.append(bed.quiet, False)):
        if q and start is None:
            start = k
        elif not q and start is not None:
            a, b = (start + margin) * bed.hop, min(bed.size, (k - margin) * bed.hop)
            if b - a >= MIN_ROOM_TONE * sample_rate:
                runs.append((a, b))
            start = None
    return runs


def _lay_room_tone(fill: np.ndarray, laid: np.ndarray, x: np.ndarray, runs: list[tuple[int, int]],
                   span: tuple[int, int], sample_rate: int) -> None:
    """Room tone over ``span`` of ``fill`` where none is ``laid`` yet: the last stretch that ends
    before it (else the first after it), from its start, looped with FADE-long crossfades when the
    span is longer (in place; nothing without stretches). What an earlier hit laid stays: its tone
    runs on, unbroken. The tone before a hit is the one a listener just heard, and a region
    regenerated after the hit cannot change it."""
    lo, hi = span
    if not runs or hi <= lo:
        return
    before = [r for r in runs if r[1] <= lo]
    a, b = before[-1] if before else min(runs, key=lambda r: abs(r[0] - hi))
    out = loop(x[a:b], hi - lo, round(FADE * sample_rate))
    free = ~laid[lo:hi]
    fill[lo:hi][free] = out[free]
    laid[lo:hi] = True


def loop(piece: np.ndarray, n: int, fade: int) -> np.ndarray:
    """``n`` samples of ``piece`` repeated, each copy fading in (equal power, at most ``fade``
    samples) over the last one's end: a seamless bed from a short stretch of sound."""
    piece = np.asarray(piece, dtype=np.float64)
    fade = min(fade, piece.size // 4)
    ramp = np.sin(np.linspace(0, np.pi / 2, fade)) ** 2
    out = np.zeros(n + piece.size)
    for at in range(0, n, piece.size - fade):
        seg = piece.copy()
        if at:
            seg[:fade] *= np.sqrt(ramp)
            out[at:at + fade] *= np.sqrt(1 - ramp)
        out[at:at + seg.size] += seg
    return out[:n]


def _detune(samples: np.ndarray, sample_rate: int, rng: np.random.Generator) -> np.ndarray:
    """``samples`` played up to DETUNE semitones faster or slower (a sampler's round-robin trick
    when a library gives one or two hits): the same hit, never twice exactly alike."""
    import soxr

    ratio = 2 ** (float(rng.uniform(-DETUNE, DETUNE)) / 12)
    out = soxr.resample(np.asarray(samples, dtype=np.float32), sample_rate * ratio, sample_rate)
    return out if out.size else samples


def _fade_out(seg: np.ndarray, sample_rate: int) -> np.ndarray:
    n = min(seg.size, round(FADE * sample_rate))
    if n > 0:
        seg[-n:] *= np.cos(np.linspace(0, np.pi / 2, n)) ** 2
    return seg


def _open(window: np.ndarray, start: int, stop: int, sample_rate: int) -> tuple[int, int]:
    """Window 1 over [start, stop) with FADE-long raised-cosine edges outside it (in place);
    returns the span it touched, edges included."""
    n = round(FADE * sample_rate)
    stop = max(stop, start)
    window[start:stop] = 1.0
    ramp = np.sin(np.linspace(0, np.pi / 2, n)) ** 2  # 0 -> 1
    a = max(0, start - n)
    window[a:start] = np.maximum(window[a:start], ramp[n - (start - a):])
    b = min(window.size, stop + n)
    window[stop:b] = np.maximum(window[stop:b], ramp[::-1][:b - stop])
    return a, b
