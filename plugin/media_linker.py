"""OTIO media linker "maskvat_foley_relink": finds moved media by base name under media roots.

Use from any OTIO tool, e.g.
``otio.adapters.read_from_file(path, media_linker_name="maskvat_foley_relink",
media_linker_argument_map={"media_roots": ["/footage", "/archive"]})``.
``media_roots`` is a list of folders or one string of folders joined by os.pathsep (command-line
tools pass strings); ``timeline_dir`` optionally resolves relative URLs (default: current folder).
"""
from __future__ import annotations

import os
from typing import Any

import opentimelineio as otio

from maskvat_foley.core.timeline.relink import MediaIndex, relink_clip

# The linker is called once per clip: keep the folder index between calls, rebuilding it when a
# name is not found (the file may be new) or a found file has gone.
_INDEX: dict[tuple[str, ...], MediaIndex] = {}


def _roots(value: Any) -> tuple[str, ...]:
    if value is None or value == "":
        raise ValueError('maskvat_foley_relink needs media_linker_argument_map={"media_roots": [folders]}')
    if isinstance(value, (str, os.PathLike)):
        value = [p for p in os.fspath(value).split(os.pathsep) if p]
    return tuple(os.path.abspath(os.fspath(v)) for v in value)


def _index(roots: tuple[str, ...], fresh: bool = False) -> MediaIndex:
    if fresh or roots not in _INDEX:
        _INDEX[roots] = MediaIndex.build(roots)
    return _INDEX[roots]


def link_media_reference(in_clip: otio.schema.Clip, media_linker_argument_map: dict[str, Any] | None = None
                         ) -> otio.core.MediaReference:
    """Relink the clip's missing media by base name under ``media_roots``; returns the active reference.

    Every take of a multi-reference clip is relinked, not only the active one.
    """
    args = dict(media_linker_argument_map or {})
    roots = _roots(args.get("media_roots"))
    timeline_dir = args.get("timeline_dir")
    before = {k: r.clone() for k, r in in_clip.media_references().items()}
    relink_clip(in_clip, _index(roots), timeline_dir)
    stale = any(r.target_url is not None and not os.path.isfile(otio.url_utils.filepath_from_url(r.target_url))
                for r in in_clip.media_references().values()
                if isinstance(r, otio.schema.ExternalReference) and r.target_url.startswith("file:"))
    if stale:  # a file not in the cached index, or gone since: look again once
        in_clip.set_media_references(before, in_clip.active_media_reference_key)
        relink_clip(in_clip, _index(roots, fresh=True), timeline_dir)
    return in_clip.media_reference
