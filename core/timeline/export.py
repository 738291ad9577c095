"""Export a timeline to .otio, a self-contained .otioz, FCP 7 XML, AAF or a CMX 3600 EDL.

The .otioz is packed here rather than by OTIO's adapter, which bundles only each clip's active
media reference: a Foley clip's other takes would point outside the bundle.
"""
from __future__ import annotations

import logging
import os
import pathlib
import zipfile
from collections.abc import Iterator

import opentimelineio as otio

from maskvat_foley.core.timeline import rates
from maskvat_foley.core.timeline.clips import timeline_rate
from maskvat_foley.core.timeline.io import TimelineError, atomic_output, media_path, write_timeline

log = logging.getLogger(__name__)

FORMATS = ("otio", "otioz", "fcp_xml", "aaf", "edl")
ALIASES = {"cmx_3600": "edl", "xml": "fcp_xml", "otio_json": "otio"}
SUFFIX_FORMATS = {".otio": "otio", ".otioz": "otioz", ".xml": "fcp_xml", ".aaf": "aaf", ".edl": "edl"}


class ExportError(TimelineError):
    """An export that cannot be made; the message names the file and the reason."""


def export_format(out_path: str | os.PathLike, fmt: str | None = None) -> str:
    """The export format asked for, or the one the output's extension implies."""
    if fmt is not None:
        name = ALIASES.get(fmt.lower(), fmt.lower())
        if name not in FORMATS:
            raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS + tuple(ALIASES))})")
        return name
    suffix = pathlib.Path(out_path).suffix.lower()
    if suffix not in SUFFIX_FORMATS:
        raise ExportError(f"{os.fspath(out_path)}: cannot tell the export format from '{suffix or 'no extension'}'"
                          f" (use {', '.join(SUFFIX_FORMATS)} or pass fmt)")
    return SUFFIX_FORMATS[suffix]


def _external_refs(timeline: otio.schema.Timeline) -> Iterator[tuple[otio.schema.Clip, otio.schema.ExternalReference]]:
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            if isinstance(ref, otio.schema.ExternalReference):
                yield clip, ref


def write_otioz(timeline: otio.schema.Timeline, out_path: str | os.PathLike, *,
                input_path: str | os.PathLike | None = None) -> str:
    """A bundle holding the timeline and every file any media reference (every take) points at.

    Layout as OTIO's own otioz (version.txt, content.otio, media/<base name>), readable by its reader.
    """
    bundle = timeline.deepcopy()
    files: dict[str, str] = {}  # absolute path -> name inside the bundle
    names: dict[str, str] = {}  # base name -> absolute path
    for clip, ref in _external_refs(bundle):
        path = media_path(ref, None)
        if path is None:
            raise ExportError(f"{out_path}: clip {clip.name!r} has media that is not a local file"
                              f" ({ref.target_url}); an .otioz can only hold local files")
        if not os.path.isfile(path):
            raise ExportError(f"{out_path}: media of clip {clip.name!r} not found: {path}")
        base = os.path.basename(path)
        if names.setdefault(base, path) != path:
            raise ExportError(f"{out_path}: an .otioz needs unique media file names; {path} and {names[base]}"
                              f" are both called {base!r}")
        files[path] = f"media/{base}"
        ref.target_url = pathlib.PurePosixPath(files[path]).as_posix()
    with atomic_output(out_path, input_path) as temp:
        with zipfile.ZipFile(temp, "w") as z:
            z.writestr("version.txt", "1.0.0", compress_type=zipfile.ZIP_DEFLATED)
            z.writestr("content.otio", otio.adapters.write_to_string(bundle, "otio_json"),
                       compress_type=zipfile.ZIP_DEFLATED)
            for path, arcname in files.items():
                z.write(path, arcname, compress_type=zipfile.ZIP_STORED)  # media is compressed already
    return os.path.abspath(os.fspath(out_path))


def _video_only(timeline: otio.schema.Timeline, out_path: str | os.PathLike) -> otio.schema.Timeline:
    video = [t for t in timeline.video_tracks() if t.enabled]
    if len(video) != 1:
        raise ExportError(f"{out_path}: an EDL holds exactly one video track, the timeline has {len(video)};"
                          " export a timeline with one enabled video track or use another format")
    dropped = [t.name for t in timeline.tracks if t not in video]
    if dropped:
        log.warning("%s: an EDL keeps only the video track %r; left out: %s", out_path, video[0].name,
                    ", ".join(repr(n) for n in dropped))
    track = video[0].deepcopy()
    if timeline.global_start_time is not None:
        # The EDL writer counts record timecodes from zero: a leading gap carries the global start
        # (01:00:00:00 stays 01:00:00:00; the EDL reader turns it back into a track offset).
        rate = timeline_rate(timeline)
        origin = rates.frames(timeline.global_start_time, rate)
        if origin > 0:
            track.insert(0, otio.schema.Gap(source_range=otio.opentime.TimeRange(
                otio.opentime.RationalTime(0, float(rate)), otio.opentime.RationalTime(origin, float(rate)))))
    copy = otio.schema.Timeline(name=timeline.name, metadata=dict(timeline.metadata))
    copy.tracks.append(track)
    return copy


# What the AAF writer needs to write a dissolve it did not read from an AAF (an SMPTE dissolve).
_AAF_DISSOLVES = {
    otio.schema.TrackKind.Video: ("0c3bea40-fc05-11d2-8a29-0050040ef7d2", "Video Dissolve", "Picture"),
    otio.schema.TrackKind.Audio: ("0c3bea41-fc05-11d2-8a29-0050040ef7d2", "Mono Audio Dissolve", "Sound"),
}


def _aaf_ready(timeline: otio.schema.Timeline, out_path: str | os.PathLike) -> otio.schema.Timeline:
    """A copy whose transitions carry the AAF metadata the writer insists on."""
    copy = timeline.deepcopy()
    for transition in copy.find_children(descended_from_type=otio.schema.Transition):
        if "AAF" in transition.metadata:
            continue
        if transition.transition_type in ("", None):  # OTIO's default: an unspecified (cross) dissolve
            transition.transition_type = otio.schema.TransitionTypes.SMPTE_Dissolve
        if transition.transition_type != otio.schema.TransitionTypes.SMPTE_Dissolve:
            raise ExportError(f"{out_path}: AAF export writes dissolves only; transition {transition.name!r}"
                              f" is a {transition.transition_type}")
        kind = transition.parent().kind if transition.parent() is not None else otio.schema.TrackKind.Video
        ident, name, data = _AAF_DISSOLVES.get(kind, _AAF_DISSOLVES[otio.schema.TrackKind.Video])
        rate = rates.exact_rate(transition.in_offset.rate)
        transition.metadata["AAF"] = {
            "CutPoint": rates.frames(transition.in_offset, rate),
            "PointList": [{"Value": 0, "Time": 0}, {"Value": 1, "Time": 1}],
            "OperationGroup": {"Operation": {
                "Identification": ident, "Name": name, "Description": "", "DataDefinition": {"Name": data},
                "IsTimeWarp": False, "Bypass": 1, "NumberInputs": 2, "OperationCategory": "OperationCategory_Effect",
            }},
        }
    return copy


def export(timeline: otio.schema.Timeline, out_path: str | os.PathLike, fmt: str | None = None, *,
           input_path: str | os.PathLike | None = None) -> str:
    """Write ``timeline`` as ``fmt`` (from the extension when None) atomically; never over ``input_path``.

    Returns the absolute path written.
    """
    fmt = export_format(out_path, fmt)
    if fmt == "otioz":
        return write_otioz(timeline, out_path, input_path=input_path)
    if fmt == "otio":
        return write_timeline(timeline, out_path, adapter="otio_json", input_path=input_path)
    if fmt == "fcp_xml":
        return write_timeline(timeline, out_path, adapter="fcp_xml", input_path=input_path)
    if fmt == "aaf":
        # Empty mob ids: the adapter cannot derive ids for media it never saw (our WAV files).
        return write_timeline(_aaf_ready(timeline, out_path), out_path, adapter="AAF", input_path=input_path,
                              use_empty_mob_ids=True)
    rate = timeline_rate(timeline)
    return write_timeline(_video_only(timeline, out_path), out_path, adapter="cmx_3600", input_path=input_path,
                          rate=float(rates.exact_rate(rate)))
