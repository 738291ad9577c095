"""Export a timeline to .otio, a self-contained .otioz, FCP 7 XML, AAF, a CMX 3600 EDL, MLT XML or xges.

Every adapter gets its own conformed copy (see conform.py); the MLT and GES XML is finished after
the adapter writes it (see editor_xml.py). The .otioz is packed here rather than by OTIO's
adapter, which bundles only each clip's active media reference: a Foley clip's other takes would
point outside the bundle.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import warnings as warnings_module
import zipfile
from collections.abc import Iterator
from fractions import Fraction

import opentimelineio as otio

from maskvat_foley.core.timeline import editor_xml, rates
from maskvat_foley.core.timeline.clips import timeline_origin
from maskvat_foley.core.timeline.conform import FOLEY_FORMATS, ConformError, Conformed, conform
from maskvat_foley.core.timeline.io import TimelineError, atomic_output, media_path, write_timeline
from maskvat_foley.core.timeline.placement import FOLEY_KEY

log = logging.getLogger(__name__)

FORMATS = ("otio", "otioz", "fcp_xml", "aaf", "edl", "mlt", "xges")
ALIASES = {"cmx_3600": "edl", "xml": "fcp_xml", "otio_json": "otio", "mlt_xml": "mlt", "shotcut": "mlt"}
SUFFIX_FORMATS = {".otio": "otio", ".otioz": "otioz", ".xml": "fcp_xml", ".aaf": "aaf", ".edl": "edl",
                  ".mlt": "mlt", ".xges": "xges"}
NAMES = {"otio": "OTIO", "otioz": "an OTIOZ bundle", "fcp_xml": "FCP 7 XML", "aaf": "AAF", "edl": "a CMX 3600 EDL",
         "mlt": "MLT XML", "xges": "a GES project (xges)"}
_ADAPTERS = {"fcp_xml": ("fcp_xml", "otio-fcp-adapter"), "aaf": ("AAF", "otio-aaf-adapter"),
             "edl": ("cmx_3600", "otio-cmx3600-adapter"), "mlt": ("mlt_xml", "otio-mlt-adapter"),
             "xges": ("xges", "otio-xges-adapter")}
# Formats whose writer keeps the picture only: a Foley run written there would lose its tracks.
PICTURE_ONLY = ("edl",)
# Asked for by name or extension, and refused with the reason and what to use instead.
REFUSED = {
    "kdenlive": "Kdenlive projects are not written: the otio-kdenlive-adapter (deprecated by its authors) drops"
                " dissolves and plays only one of overlapping audio tracks; Kdenlive 25.04 and later open .otio"
                " directly, and .mlt plays in melt and Shotcut",
}


class ExportError(TimelineError):
    """An export that cannot be made; the message names the file, the format and the reason."""


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What was written, and what the format could not carry."""

    path: str
    format: str
    left_out: tuple[str, ...] = ()  # names of tracks the format cannot hold
    foley_left_out: bool = False  # a Foley track among them
    warnings: tuple[str, ...] = ()


def export_format(out_path: str | os.PathLike, fmt: str | None = None) -> str:
    """The export format asked for, or the one the output's extension implies."""
    if fmt is not None:
        name = ALIASES.get(fmt.lower(), fmt.lower())
        if name in REFUSED:
            raise ExportError(f"{os.fspath(out_path)}: {REFUSED[name]}")
        if name not in FORMATS:
            raise ExportError(f"unknown export format {fmt!r} (known: {', '.join(FORMATS + tuple(ALIASES))})")
        return name
    suffix = pathlib.Path(out_path).suffix.lower()
    if suffix.lstrip(".") in REFUSED:
        raise ExportError(f"{os.fspath(out_path)}: {REFUSED[suffix.lstrip('.')]}")
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


def _reason(exc: BaseException) -> str:
    """An adapter's error as one line (AAF validation lists one problem per line)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    return f"{type(exc).__name__}: {lines[0]}{more}"


def _require_adapter(fmt: str, out_path: str) -> None:
    name, package = _ADAPTERS[fmt]
    try:
        otio.adapters.from_name(name)
    except Exception:  # NotSupportedError: the plugin is not installed
        raise ExportError(f"{out_path}: cannot write {NAMES[fmt]}: its OTIO adapter is not installed"
                          f" (pip install {package})") from None


def _takes(timeline: otio.schema.Timeline, rate: Fraction) -> tuple[int, dict[str, editor_xml.TakeSpan]]:
    """The takes' sample rate (the first one's, else 48 kHz), and each take file's span in the render."""
    origin = timeline_origin(timeline, rate)
    sample_rates, spans = [], {}
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            info = ref.metadata.get(FOLEY_KEY, {})
            if not isinstance(ref, otio.schema.ExternalReference) or not info.get("num_samples") \
                    or not info.get("sample_rate"):
                continue
            sr = int(info["sample_rate"])
            sample_rates.append(sr)
            start = None
            if info.get("time_reference") is not None:
                first = int(info["time_reference"]) - rates.frame_to_sample(origin, rate, sr)
                start = -(-first * 10**9 // sr)  # ceil: GES's ns-to-sample conversion lands on `first`
            spans[ref.target_url] = editor_xml.TakeSpan(start, int(info["num_samples"]) * 10**9 // sr)
    return (sample_rates[0] if sample_rates else 48000), spans


def _write(conformed: Conformed, fmt: str, temp: str) -> None:
    adapter = _ADAPTERS[fmt][0]
    timeline, rate = conformed.timeline, conformed.rate
    if fmt == "mlt":
        text = otio.adapters.write_to_string(timeline, adapter, frame_rate_num=str(rate.numerator),
                                             frame_rate_den=str(rate.denominator))
        pathlib.Path(temp).write_text(editor_xml.finish_mlt(text, timeline), encoding="utf-8")
    elif fmt == "xges":
        text = otio.adapters.write_to_string(timeline, adapter)
        pathlib.Path(temp).write_text(editor_xml.finish_xges(text, rate, *_takes(timeline, rate)), encoding="utf-8")
    elif fmt == "aaf":
        # Empty mob ids: the adapter cannot derive ids for media it never saw (our WAV files).
        otio.adapters.write_to_file(timeline, temp, adapter_name=adapter, use_empty_mob_ids=True)
    elif fmt == "edl":
        otio.adapters.write_to_file(timeline, temp, adapter_name=adapter, rate=float(rate))
    else:
        otio.adapters.write_to_file(timeline, temp, adapter_name=adapter)


def _gstreamer_warnings(timeline: otio.schema.Timeline, out_path: str) -> list[str]:
    unreadable = sorted({os.path.basename(path) for clip in timeline.find_clips()
                         if (path := media_path(clip.media_reference, None)) and path.lower().endswith(".wav")
                         and editor_xml.gstreamer_cannot_read(path)})
    if not unreadable:
        return []
    return [f"{out_path}: GStreamer 1.22 plays {len(unreadable)} WAV file(s) silent: they end in an odd-sized"
            f" data chunk (24-bit mono, an odd number of samples) whose pad byte its WAV reader trips on:"
            f" {', '.join(unreadable)}"]


def export_timeline(timeline: otio.schema.Timeline, out_path: str | os.PathLike, fmt: str | None = None, *,
                    input_path: str | os.PathLike | None = None) -> ExportResult:
    """Write ``timeline`` as ``fmt`` (from the extension when None) atomically; never over ``input_path``.

    ``timeline`` is not changed. Tracks the format cannot hold are reported (and logged), not
    silently lost; a format that cannot be written raises ExportError and leaves no file behind.
    """
    fmt = export_format(out_path, fmt)
    out_path = os.path.abspath(os.fspath(out_path))
    if fmt == "otioz":
        return ExportResult(write_otioz(timeline, out_path, input_path=input_path), fmt)
    if fmt == "otio":
        return ExportResult(write_timeline(timeline, out_path, adapter="otio_json", input_path=input_path), fmt)
    _require_adapter(fmt, out_path)
    try:
        conformed = conform(timeline, fmt)
    except ConformError as exc:
        raise ExportError(f"{out_path}: cannot write {NAMES[fmt]}: {exc}") from None
    with atomic_output(out_path, input_path) as temp, warnings_module.catch_warnings(record=True) as caught:
        warnings_module.simplefilter("always")
        try:
            _write(conformed, fmt, temp)
        except Exception as exc:  # an adapter's own failure, in its own words
            raise ExportError(f"{out_path}: cannot write {NAMES[fmt]}: {_reason(exc)}") from exc
    # What an adapter left out (an effect it ignores, ...), one line each rather than Python's warnings.
    warnings = list(dict.fromkeys(f"{out_path}: {NAMES[fmt]}: {' '.join(str(w.message).split())}" for w in caught))
    if fmt == "xges":
        warnings += _gstreamer_warnings(conformed.timeline, out_path)
    if conformed.left_out:
        kept = ", ".join(repr(t.name) for t in conformed.timeline.tracks)
        hint = f"; for the Foley tracks use {FOLEY_FORMATS}" if conformed.foley_left_out else ""
        warnings.append(f"{out_path}: {NAMES[fmt]} keeps only the video track {kept}; left out: "
                        + ", ".join(repr(n) for n in conformed.left_out) + hint)
    for line in warnings:
        log.warning("%s", line)
    return ExportResult(out_path, fmt, tuple(conformed.left_out), conformed.foley_left_out, tuple(warnings))


def export(timeline: otio.schema.Timeline, out_path: str | os.PathLike, fmt: str | None = None, *,
           input_path: str | os.PathLike | None = None) -> str:
    """``export_timeline`` returning only the absolute path written."""
    return export_timeline(timeline, out_path, fmt, input_path=input_path).path
