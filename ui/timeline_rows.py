"""Row model of the timeline view: the fixed sizes shared by layout, hit-testing and the painted
overlays, the Row record, and the audio rows read from a (placed) OTIO timeline."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from maskvat_foley.core.timeline import rates

HEADER_W = 132
RULER_H = 30
ROW_H = {"video": 46, "audio": 34, "foley": 40}
MIN_PPF, MAX_PPF = 0.05, 40.0


@dataclass(frozen=True)
class Row:
    kind: str  # "video", "audio" or "foley"
    label: str
    track: int | None = None  # video track number (1-based) for video rows


def audio_tracks(timeline, rate: Fraction, origin: int) -> list[tuple[str, bool, list[tuple]]]:
    """(label, is Foley, [(title, record start, duration, subtitle, source clip id)]) per audio track."""
    import opentimelineio as otio

    from maskvat_foley.core.timeline.placement import FOLEY_KEY, is_foley_track, take_keys

    out = []
    audio = [t for t in timeline.tracks if isinstance(t, otio.schema.Track) and t.kind == otio.schema.TrackKind.Audio]
    for n, track in enumerate(audio, start=1):
        foley = is_foley_track(track)
        blocks = []
        for item in track:
            if not isinstance(item, otio.schema.Clip):
                continue
            rng = item.range_in_parent()
            meta = dict(item.metadata.get(FOLEY_KEY, {}))
            sub = ""
            if foley and meta:
                score = meta.get("sync_score")
                sub = f"{meta.get('active_key', '')}" + (f"  sync {float(score):.2f}" if score is not None else "") \
                    + f"  {len(take_keys(item))} take(s)"
            blocks.append((item.name, origin + rates.frames(rng.start_time, rate), rates.frames(rng.duration, rate),
                           sub, meta.get("source_clip_id")))
        out.append((track.name or f"A{n}", foley, blocks))
    return out
