"""Find moved media by base name under media roots.

Search order is deterministic: roots in the order given, each walked depth first with folder and
file names sorted; an exact (case-sensitive) base name match anywhere wins over a case-insensitive
one, so ``Shot.MOV`` never shadows ``shot.mov``.
"""
from __future__ import annotations

import logging
import os
import urllib.parse
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import opentimelineio as otio

from maskvat_foley.core.timeline.io import TimelineError, file_url, media_path

log = logging.getLogger(__name__)


class RelinkError(TimelineError):
    """A media root that cannot be searched."""


@dataclass
class MediaIndex:
    """Base name -> first path found under the roots (and the same, case-folded)."""

    roots: tuple[str, ...]
    exact: dict[str, str] = field(default_factory=dict)
    folded: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, roots: Iterable[str | os.PathLike]) -> "MediaIndex":
        index = cls(tuple(os.path.abspath(os.fspath(r)) for r in roots))
        for root in index.roots:
            if not os.path.isdir(root):
                raise RelinkError(f"media root is not a folder: {root}")
            for folder, dirs, files in os.walk(root):
                dirs.sort()
                for name in sorted(files):
                    full = os.path.join(folder, name)
                    index.exact.setdefault(name, full)
                    index.folded.setdefault(name.casefold(), full)
        return index

    def find(self, base_name: str) -> str | None:
        return self.exact.get(base_name) or self.folded.get(base_name.casefold())


def _wanted_path(ref: otio.core.MediaReference, timeline_dir: str | None) -> str | None:
    """Where a reference says its media is, if that is a local file that does not exist."""
    if isinstance(ref, otio.schema.MissingReference):
        # File bundles keep the lost URL here when they could not pack the media.
        url = ref.metadata.get("original_target_url")
        if not url:
            return None
        ref = otio.schema.ExternalReference(target_url=str(url))
    path = media_path(ref, timeline_dir)
    if path is None or os.path.isfile(path):
        return None
    return path


def relink_reference(ref: otio.core.MediaReference, index: MediaIndex, timeline_dir: str | None = None
                     ) -> tuple[otio.core.MediaReference, str, str] | None:
    """A relinked copy of ``ref`` and (old, new) paths, or None when it needs no (or has no) relink."""
    old = _wanted_path(ref, timeline_dir)
    if old is None:
        return None
    base = os.path.basename(old) or os.path.basename(urllib.parse.unquote(old))
    new = index.find(base)
    if new is None:
        return None
    if isinstance(ref, otio.schema.MissingReference):
        linked = otio.schema.ExternalReference(target_url=file_url(new), available_range=ref.available_range,
                                               metadata=dict(ref.metadata))
        linked.name = ref.name
        linked.metadata.pop("missing_reference_because", None)
        linked.metadata.pop("original_target_url", None)
    else:
        linked = ref.clone()
        linked.target_url = file_url(new)
    return linked, old, new


def relink_clip(clip: otio.schema.Clip, index: MediaIndex, timeline_dir: str | None = None
                ) -> list[tuple[str, str, str]]:
    """Relink every media reference of one clip (all takes) in place; returns (key, old, new)."""
    refs = dict(clip.media_references())
    active = clip.active_media_reference_key
    changes = []
    for key, ref in refs.items():
        found = relink_reference(ref, index, timeline_dir)
        if found is not None:
            refs[key] = found[0]
            changes.append((key, found[1], found[2]))
    if changes:
        clip.set_media_references(refs, active)
    return changes


def relink(timeline: otio.schema.Timeline, media_roots: Sequence[str | os.PathLike],
           timeline_dir: str | os.PathLike | None = None) -> list[tuple[str, str, str]]:
    """Point every missing media file of the timeline at a file of the same base name found under
    ``media_roots``. Changes ``timeline`` in place; returns (clip_name, old_path, new_path)."""
    index = MediaIndex.build(media_roots)
    folder = os.fspath(timeline_dir) if timeline_dir is not None else None
    changes = []
    for clip in timeline.find_clips():
        for _key, old, new in relink_clip(clip, index, folder):
            changes.append((clip.name, old, new))
    missing = [c.name for c in timeline.find_clips()
               if any(_wanted_path(r, folder) for r in c.media_references().values())]
    if missing:
        log.warning("media still missing after searching %s for: %s", ", ".join(index.roots), ", ".join(missing))
    return changes
