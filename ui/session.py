"""What the panel is working on: the opened timeline and its clips (a core.pipeline.Opened), the
takes per clip, the active take of each, and the placed timeline (the Foley tracks as they will
be exported). No Qt here.

The opened timeline is never written; ``placed`` is a new timeline rebuilt with the pipeline's
placement whenever takes arrive, the active take changes or a take is removed.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from maskvat_foley.core import pipeline
from maskvat_foley.core.jobs import ClipJob, ClipResult, ReferenceSpec, Take, best_first

log = logging.getLogger(__name__)


@dataclass
class Session(pipeline.Opened):
    placed: object = None  # otio.schema.Timeline with the Foley tracks
    media_dir: str = ""
    takes: dict[str, list[Take]] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=dict)  # clip id -> active seed
    errors: dict[str, str] = field(default_factory=dict)  # clip id -> why it failed / was skipped
    # clip id -> the sound its takes should sound like; kept for every later run (Regenerate too)
    references: dict[str, ReferenceSpec] = field(default_factory=dict)

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str, *, media_dir: str | None = None, media_roots=()) -> Session:
        opened = pipeline.open_timeline(os.path.abspath(path), media_roots=media_roots)
        media_dir = media_dir or os.path.join(opened.folder, f"{opened.name}_foley")
        return cls(opened.path, opened.timeline, opened.clips, placed=opened.timeline.deepcopy(),
                   media_dir=os.path.abspath(media_dir))

    # -- jobs -----------------------------------------------------------------------------------
    def jobs(self, clip_ids) -> tuple[list[ClipJob], list[tuple[str, str]]]:
        """Jobs for the chosen clips (listing order) and the clips refused, with the reason."""
        jobs, skipped = super().jobs(clip_ids)
        self.errors.update(skipped)
        return jobs, skipped

    # -- reference sounds -------------------------------------------------------------------------
    def set_reference(self, clip_ids, spec: ReferenceSpec | None) -> None:
        """Give the clips ``spec`` as their reference sound (None: none)."""
        for clip_id in clip_ids:
            self.clip(clip_id)  # an unknown id is an error before anything changes
        for clip_id in clip_ids:
            if spec is None:
                self.references.pop(clip_id, None)
            else:
                self.references[clip_id] = spec

    def reference_of(self, clip_ids) -> tuple[ReferenceSpec | None, bool]:
        """The reference the clips share (None when none has one) and whether they differ."""
        specs = {self.references.get(c) for c in clip_ids}
        if len(specs) == 1:
            return specs.pop(), False
        return None, len(specs) > 1

    # -- takes ----------------------------------------------------------------------------------
    def add_results(self, results: list[ClipResult]) -> list[str]:
        """Merge generated takes (a take with a seed already there replaces it); returns the clip
        ids whose takes changed. A clip's first takes make its best take active."""
        changed = []
        for r in results:
            if r.error:
                self.errors[r.clip_id] = r.error
                continue
            if r.takes:
                self.add_takes(r.clip_id, r.takes)
                changed.append(r.clip_id)
        return changed

    def add_takes(self, clip_id: str, new: list[Take]) -> None:
        seeds = {t.seed for t in new}
        kept = [t for t in self.takes.get(clip_id, []) if t.seed not in seeds]
        self.takes[clip_id] = best_first(kept + list(new))
        if self.active.get(clip_id) not in {t.seed for t in self.takes[clip_id]}:
            self.active[clip_id] = self.takes[clip_id][0].seed
        self.errors.pop(clip_id, None)
        self._place(clip_id)

    def take(self, clip_id: str, seed: int) -> Take:
        for t in self.takes.get(clip_id, []):
            if t.seed == seed:
                return t
        raise KeyError(f"clip {clip_id} has no take with seed {seed}")

    def set_active(self, clip_id: str, seed: int) -> None:
        from maskvat_foley.core.timeline.placement import set_active_take

        self.take(clip_id, seed)  # clear error for an unknown seed before touching the timeline
        self.placed = set_active_take(self.placed, clip_id, seed)
        self.active[clip_id] = seed

    def remove_take(self, clip_id: str, seed: int) -> tuple[Take, int]:
        """Remove one take; returns it and its index (for undo). Removing the active take makes
        the next best one active; removing the last removes the clip's Foley."""
        from maskvat_foley.core.timeline.placement import remove_take, set_active_take

        take = self.take(clip_id, seed)
        index = self.takes[clip_id].index(take)
        self.placed = remove_take(self.placed, clip_id, seed)
        self.takes[clip_id].remove(take)
        if not self.takes[clip_id]:
            del self.takes[clip_id]
            self.active.pop(clip_id, None)
        elif self.active.get(clip_id) == seed:
            self.active[clip_id] = self.takes[clip_id][0].seed
            self.placed = set_active_take(self.placed, clip_id, self.active[clip_id])
        return take, index

    def restore_take(self, clip_id: str, take: Take, index: int, active_seed: int) -> None:
        """Put a removed take back where it was (undo of remove_take)."""
        takes = [t for t in self.takes.get(clip_id, []) if t.seed != take.seed]
        takes.insert(min(index, len(takes)), take)
        self.takes[clip_id] = takes
        self.active[clip_id] = active_seed if any(t.seed == active_seed for t in takes) else take.seed
        self._place(clip_id)

    def _place(self, clip_id: str) -> None:
        self.placed = pipeline.place(self.placed, self.clips, {clip_id: self.takes[clip_id]}, self.active)

    # -- files ----------------------------------------------------------------------------------
    def export(self, out_path: str) -> str:
        """Write the placed timeline (format from the extension); never over the opened file."""
        from maskvat_foley.core.timeline.export import export

        return export(self.placed, out_path, None, input_path=self.path)

    def relink(self, folder: str) -> list[tuple[str, str, str]]:
        """Find missing media by file name under ``folder``; lists the clips again."""
        from maskvat_foley.core.timeline.relink import relink

        changes = relink(self.timeline, [folder], self.folder)
        relink(self.placed, [folder], self.folder)
        self.list_again()
        for name, old, new in changes:
            log.info("relinked %s: %s -> %s", name, old, new)
        return changes
