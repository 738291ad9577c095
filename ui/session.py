"""What the panel is working on: the opened timeline, its clips, the takes per clip, the active
take of each, and the placed timeline (the Foley tracks as they will be exported). No Qt here.

The opened timeline is never written; ``placed`` is a new timeline rebuilt with the core
placement functions whenever takes arrive, the active take changes or a take is removed.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from maskvat_foley.core.jobs import ClipJob, ClipResult, Take

log = logging.getLogger(__name__)


def _score(take: Take) -> float:
    return take.sync_score if take.sync_score is not None else float("-inf")


def best_first(takes: list[Take]) -> list[Take]:
    """Takes ordered best sync score first (unscored last), stable for equal scores."""
    return sorted(takes, key=lambda t: -_score(t))


@dataclass
class Session:
    path: str
    timeline: object  # otio.schema.Timeline as read (media URLs made absolute)
    clips: list  # ClipInfo, listing order
    placed: object  # otio.schema.Timeline with the Foley tracks
    media_dir: str
    takes: dict[str, list[Take]] = field(default_factory=dict)
    active: dict[str, int] = field(default_factory=dict)  # clip id -> active seed
    errors: dict[str, str] = field(default_factory=dict)  # clip id -> why it failed / was skipped

    # -- opening --------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str, *, media_dir: str | None = None, media_roots=()) -> Session:
        from maskvat_foley.core.pipeline import timeline_stem
        from maskvat_foley.core.timeline.clips import list_clips
        from maskvat_foley.core.timeline.io import read_timeline
        from maskvat_foley.core.timeline.media_check import check_media

        path = os.path.abspath(path)
        timeline = read_timeline(path, media_roots=media_roots)
        clips = check_media(list_clips(timeline, timeline_dir=os.path.dirname(path)))
        media_dir = media_dir or os.path.join(os.path.dirname(path), f"{timeline_stem(path)}_foley")
        return cls(path, timeline, clips, timeline.deepcopy(), os.path.abspath(media_dir))

    @property
    def name(self) -> str:
        from maskvat_foley.core.pipeline import timeline_stem

        return timeline_stem(self.path)

    @property
    def rate(self):
        from maskvat_foley.core.timeline.clips import timeline_rate

        return timeline_rate(self.timeline)

    def clip(self, clip_id: str):
        for c in self.clips:
            if c.id == clip_id:
                return c
        raise KeyError(f"clip {clip_id} is not on timeline {self.path}")

    # -- jobs -----------------------------------------------------------------------------------
    def jobs(self, clip_ids) -> tuple[list[ClipJob], list[tuple[str, str]]]:
        """Jobs for the chosen clips (listing order) and the clips refused, with the reason."""
        from maskvat_foley.core.timeline.clips import ClipNotUsable, clip_job

        wanted = set(clip_ids)
        jobs, skipped = [], []
        for info in self.clips:
            if info.id not in wanted:
                continue
            try:
                jobs.append(clip_job(info, self.name))
            except ClipNotUsable as exc:
                skipped.append((info.id, str(exc)))
                self.errors[info.id] = str(exc)
        return jobs, skipped

    def job(self, clip_id: str) -> ClipJob:
        from maskvat_foley.core.timeline.clips import clip_job

        return clip_job(self.clip(clip_id), self.name)

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
        from maskvat_foley.core.timeline.placement import remove_take

        take = self.take(clip_id, seed)
        index = self.takes[clip_id].index(take)
        self.placed = remove_take(self.placed, clip_id, seed)
        self.takes[clip_id].remove(take)
        if not self.takes[clip_id]:
            del self.takes[clip_id]
            self.active.pop(clip_id, None)
        elif self.active.get(clip_id) == seed:
            self.active[clip_id] = self.takes[clip_id][0].seed
            self.placed = _set_active(self.placed, clip_id, self.active[clip_id])
        return take, index

    def restore_take(self, clip_id: str, take: Take, index: int, active_seed: int) -> None:
        """Put a removed take back where it was (undo of remove_take)."""
        takes = [t for t in self.takes.get(clip_id, []) if t.seed != take.seed]
        takes.insert(min(index, len(takes)), take)
        self.takes[clip_id] = takes
        self.active[clip_id] = active_seed if any(t.seed == active_seed for t in takes) else take.seed
        self._place(clip_id)

    def _place(self, clip_id: str) -> None:
        from maskvat_foley.core.timeline.placement import place_takes

        info = self.clip(clip_id)
        self.placed = place_takes(self.placed, {clip_id: (info, self.takes[clip_id], self.active[clip_id])})

    # -- files ----------------------------------------------------------------------------------
    def export(self, out_path: str) -> str:
        """Write the placed timeline (format from the extension); never over the opened file."""
        from maskvat_foley.core.timeline.export import export

        return export(self.placed, out_path, None, input_path=self.path)

    def relink(self, folder: str) -> list[tuple[str, str, str]]:
        """Find missing media by file name under ``folder``; lists the clips again."""
        from maskvat_foley.core.timeline.clips import list_clips
        from maskvat_foley.core.timeline.media_check import check_media
        from maskvat_foley.core.timeline.relink import relink

        timeline_dir = os.path.dirname(self.path)
        changes = relink(self.timeline, [folder], timeline_dir)
        relink(self.placed, [folder], timeline_dir)
        self.clips = check_media(list_clips(self.timeline, timeline_dir=timeline_dir))
        for name, old, new in changes:
            log.info("relinked %s: %s -> %s", name, old, new)
        return changes


def _set_active(timeline, clip_id: str, seed: int):
    from maskvat_foley.core.timeline.placement import set_active_take

    return set_active_take(timeline, clip_id, seed)
