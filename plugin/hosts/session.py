"""What every host runs around core.pipeline: export the host timeline to OTIO, open it with the
pipeline, turn the host selection into clip ids, generate (through the panel when a chooser is
given, else headless with pipeline.generate_timeline: the best take of each clip), and hand the
chosen takes to the bridge to place on the host's timeline.

The engine is anything with the core.engine.api contract: the in-process Engine or an
EngineClient of the local server (``ensure_local_engine``).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from maskvat_foley.core.jobs import GenerationParams, Take
from maskvat_foley.plugin.hosts import ApplyReport, HostBridge, HostError, HostSelection, Placement

log = logging.getLogger(__name__)

# Opens the panel on an OTIO file with clip ids selected; returns the chosen take per clip id
# (None when the editor closed it without applying).
Chooser = Callable[[str, Sequence[str]], "Mapping[str, Take] | None"]


@dataclass
class Outcome:
    timeline_path: str
    clip_ids: list[str]
    placements: list[Placement] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    report: ApplyReport | None = None
    foley_timeline: str | None = None  # the OTIO with the Foley track (headless path)

    def lines(self) -> list[str]:
        out = [f"skipped {c}: {r}" for c, r in self.skipped]
        if self.report is None:
            return out + ["nothing applied"]
        if self.foley_timeline:
            out.append(f"timeline with Foley written to {self.foley_timeline}")
        return out + self.report.lines()


def selected_ids(selection: HostSelection, clips: Sequence) -> list[str]:
    """Clip ids (``ClipInfo.id``) of a host selection, in listing order; an item the exported
    timeline does not have is an error naming it."""
    from maskvat_foley.core.timeline.selection import select

    if selection.is_empty():
        raise HostError("nothing selected in the host: select video clips, set In/Out marks, "
                        "or park the playhead on a clip")
    ids = list(selection.clip_ids)
    for ref in selection.clips:
        match = [c for c in clips if c.track == ref.track and c.record_start == ref.record_start]
        if not match:
            near = [f"{c.id} at {c.record_start}" for c in clips if c.track == ref.track][:8]
            raise HostError(f"selected clip {ref.name!r} on video track {ref.track} at record frame "
                            f"{ref.record_start} is not in the exported timeline (track {ref.track} has: "
                            f"{', '.join(near) or 'no clips'})")
        ids.append(match[0].id)
    if selection.record_range is not None:
        ids += [c.id for c in select(clips, tc_range=selection.record_range)]
    order = {c.id: n for n, c in enumerate(clips)}
    return sorted(dict.fromkeys(ids), key=lambda i: order.get(i, len(order)))


def placements_for(clips: Sequence, chosen: Mapping[str, Take]) -> list[Placement]:
    """A placement per chosen take, over the clip's visible range (the span the take covers)."""
    by_id = {c.id: c for c in clips}
    out = []
    for clip_id, take in chosen.items():
        if clip_id not in by_id:
            raise HostError(f"a take was chosen for clip {clip_id}, which the timeline does not have")
        if take.clip_id != clip_id:
            raise HostError(f"take {take.path} was made for clip {take.clip_id}, not {clip_id}")
        c = by_id[clip_id]
        out.append(Placement(c.id, c.name, c.rate, c.visible_start, c.visible_duration, take))
    return sorted(out, key=lambda p: (p.record_start, p.clip_id))


def run(bridge: HostBridge, engine, params: GenerationParams, work_dir: str, *,
        chooser: Chooser | None = None, progress=None,
        cancel: threading.Event | None = None) -> Outcome:
    """Export, select, generate, choose and apply. Without ``chooser`` (headless) the best take of
    each clip is applied and a timeline with the Foley track is written next to the export."""
    from maskvat_foley.core.pipeline import generate_timeline, open_timeline, results_takes

    os.makedirs(work_dir, exist_ok=True)
    path = bridge.export_timeline(work_dir)
    sel = bridge.selection()
    opened = open_timeline(path)
    ids = selected_ids(sel, opened.clips)
    if not ids:
        raise HostError(f"the {sel.how or 'selection'} covers no video clip of the timeline")
    prepared = opened.prepare(ids)
    outcome = Outcome(path, ids, skipped=list(prepared.skipped))
    if not prepared.jobs:
        reasons = "; ".join(f"{c}: {r}" for c, r in prepared.skipped)
        raise HostError(f"nothing to generate ({reasons or 'no usable clips'})")
    if chooser is not None:
        chosen = chooser(path, [j.clip_id for j in prepared.jobs])
        if chosen is None:
            log.info("the panel was closed without applying")
            return outcome
    else:
        out = os.path.join(work_dir, f"{opened.name}_foley.otio")
        summary = generate_timeline(prepared, out, params, engine, media_dir=os.path.join(work_dir, "media"),
                                    progress=progress, cancel=cancel)
        outcome.foley_timeline = summary.output  # None when no clip got Foley
        outcome.skipped += [(r.clip_id, r.error) for r in summary.results if r.error]
        chosen = {clip_id: takes[0] for clip_id, takes in results_takes(summary.results).items()}
    outcome.placements = placements_for(prepared.clips, chosen)
    if outcome.placements:
        outcome.report = bridge.apply(outcome.placements)
    return outcome
