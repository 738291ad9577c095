"""Reading and writing timelines through OTIO adapters, with media URLs made absolute.

Relative and percent-encoded media URLs only mean something next to the timeline file, so they are
resolved once, at read time, into absolute ``file://`` URLs; everything downstream (clip listing,
placement, export) then works without knowing where the timeline came from.
"""
from __future__ import annotations

import atexit
import contextlib
import logging
import os
import pathlib
import shutil
import tempfile
import urllib.parse
import uuid
from collections.abc import Iterator, Sequence
from fractions import Fraction

import opentimelineio as otio

log = logging.getLogger(__name__)

# Suffix -> OTIO adapter name, for the formats the project supports and tests.
SUFFIX_ADAPTERS: dict[str, str] = {
    ".otio": "otio_json", ".otioz": "otioz", ".otiod": "otiod",
    ".xml": "fcp_xml", ".aaf": "AAF", ".edl": "cmx_3600",
}


class TimelineError(Exception):
    """A timeline file that cannot be read or written; the message names the file."""


def adapter_for_path(path: str | os.PathLike) -> str:
    """The OTIO adapter name for a file's extension (ours first, then any installed plugin)."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix in SUFFIX_ADAPTERS:
        return SUFFIX_ADAPTERS[suffix]
    try:
        return otio.plugins.ActiveManifest().from_filepath(suffix.lstrip(".")).name
    except Exception:
        known = ", ".join(sorted(SUFFIX_ADAPTERS))
        raise TimelineError(f"{os.fspath(path)}: no OTIO adapter reads or writes '{suffix or '(no extension)'}'"
                            f" files (supported: {known}, and video files as one-clip timelines)") from None


def media_path(ref: otio.core.MediaReference | None, timeline_dir: str | os.PathLike | None) -> str | None:
    """Local file path of an ExternalReference, or None when it is not a local file reference.

    Accepts absolute and relative paths, ``file://`` URLs (percent-encoded or not, ``localhost``
    hosts) and resolves relative ones against ``timeline_dir`` (the current folder when None).
    """
    if not isinstance(ref, otio.schema.ExternalReference) or not ref.target_url:
        return None
    url = ref.target_url.strip()
    parsed = urllib.parse.urlparse(url)
    if len(parsed.scheme) == 1:  # a Windows drive letter, not a scheme
        raw = url
    elif parsed.scheme == "file":
        raw = parsed.path
        if parsed.netloc and parsed.netloc.lower() != "localhost":
            raw = f"//{parsed.netloc}{parsed.path}"  # UNC share
    elif parsed.scheme == "":
        raw = url
    else:
        return None  # http, s3, ...: not a local file
    base = os.fspath(timeline_dir) if timeline_dir is not None else os.getcwd()
    candidates = [urllib.parse.unquote(raw), raw]
    if parsed.scheme == "":
        candidates.reverse()  # a bare path is usually not encoded; a file: URL usually is
    paths = [os.path.normpath(os.path.join(base, c)) for c in candidates]
    # A literal '%' in a real file name makes decoding ambiguous: prefer the reading that exists.
    return next((p for p in paths if os.path.exists(p)), paths[0])


def file_url(path: str | os.PathLike) -> str:
    """Percent-encoded absolute ``file://`` URL of a local path."""
    return pathlib.Path(os.path.abspath(path)).as_uri()


def resolve_media_urls(timeline: otio.schema.Timeline, timeline_dir: str | os.PathLike) -> int:
    """Rewrite every local ExternalReference (all takes, not just the active one) as an absolute
    file URL resolved against ``timeline_dir``. Returns how many URLs changed."""
    changed = 0
    for clip in timeline.find_clips():
        for ref in clip.media_references().values():
            path = media_path(ref, timeline_dir)
            if path is not None:
                url = file_url(path)
                if url != ref.target_url:
                    ref.target_url = url
                    changed += 1
    return changed


def _extraction_dir() -> str:
    """A private temp folder for an .otioz's media, removed when the process ends."""
    folder = tempfile.mkdtemp(prefix="maskvat_foley_otioz_")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def _as_timeline(result: object, path: str) -> otio.schema.Timeline:
    if isinstance(result, otio.schema.Timeline):
        return result
    if isinstance(result, otio.schema.SerializableCollection):
        timelines = list(result.find_children(descended_from_type=otio.schema.Timeline, shallow_search=True))
        if not timelines:
            raise TimelineError(f"{path}: the file holds a collection without any timeline")
        if len(timelines) > 1:
            log.warning("%s holds %d timelines; using the first, %r", path, len(timelines), timelines[0].name)
        return timelines[0]
    if isinstance(result, otio.schema.Track):
        timeline = otio.schema.Timeline(name=result.name or pathlib.Path(path).stem)
        timeline.tracks.append(result)
        return timeline
    if isinstance(result, otio.schema.Stack):
        timeline = otio.schema.Timeline(name=result.name or pathlib.Path(path).stem)
        timeline.tracks = result
        return timeline
    raise TimelineError(f"{path}: expected a timeline, the file holds a {type(result).__name__}")


def read_timeline(path: str | os.PathLike, media_roots: Sequence[str | os.PathLike] = (), *,
                  rate: Fraction | float | None = None, extract_to: str | os.PathLike | None = None
                  ) -> otio.schema.Timeline:
    """Read any timeline OTIO reads (.otio, .otioz, .otiod, FCP XML, AAF, EDL, ...), or a video
    file as a one-clip timeline (``from_media``).

    Media URLs come back absolute (see ``resolve_media_urls``); an .otioz is unpacked into
    ``extract_to`` (created if needed; it must not hold a "media" folder yet) or else into a
    private temp folder removed when the process exits.
    ``rate`` is the frame rate of an EDL (which does not say; the adapter assumes 24).
    Missing media are searched by base name under ``media_roots`` (see relink.py).
    """
    from maskvat_foley.core.timeline import from_media

    path = os.path.abspath(os.fspath(path))
    if not os.path.exists(path):
        raise TimelineError(f"timeline file not found: {path}")
    if from_media.is_media_suffix(path):
        return from_media.timeline_from_media(path)
    try:
        adapter = adapter_for_path(path)
    except TimelineError as no_adapter:
        try:  # probed once: a video under a camera's own suffix, else the adapter's message
            return from_media.timeline_from_media(path)
        except TimelineError:
            raise no_adapter from None
    kwargs: dict[str, object] = {}
    timeline_dir = os.path.dirname(path)
    if adapter == "otioz":
        if extract_to is not None:
            timeline_dir = os.path.abspath(os.fspath(extract_to))
            os.makedirs(timeline_dir, exist_ok=True)
        else:
            timeline_dir = _extraction_dir()
        kwargs["extract_to_directory"] = timeline_dir
    elif adapter == "otiod":
        timeline_dir = path  # bundle media URLs are relative to the bundle folder
    elif adapter == "cmx_3600":
        if rate is None:
            log.info("%s: EDLs carry no frame rate; reading at 24 fps (pass rate= to change)", path)
        else:
            kwargs["rate"] = float(rate)
    try:
        # Our own resolution and relinking below replace any site default media linker.
        result = otio.adapters.read_from_file(
            path, adapter_name=adapter,
            media_linker_name=otio.media_linker.MediaLinkingPolicy.DoNotLinkMedia, **kwargs)
    except Exception as exc:
        raise TimelineError(f"cannot read timeline {path} with the {adapter} adapter: "
                            f"{type(exc).__name__}: {exc}") from exc
    timeline = _as_timeline(result, path)
    resolve_media_urls(timeline, timeline_dir)
    if media_roots:
        from maskvat_foley.core.timeline.relink import relink  # relink imports this module
        for name, old, new in relink(timeline, media_roots, timeline_dir):
            log.info("relinked %s: %s -> %s", name, old, new)
    return timeline


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when two paths name the same file (through links and case-insensitive file systems)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, input_path: str | os.PathLike | None = None) -> Iterator[str]:
    """Yield a temp path in the target folder, renamed onto ``path`` only if the block succeeds.

    Refuses to write over ``input_path`` (the editor's own timeline is never modified).
    """
    path = os.path.abspath(os.fspath(path))
    if input_path is not None and same_file(path, input_path):
        raise TimelineError(f"refusing to overwrite the input timeline {path}; choose another output name")
    folder, name = os.path.split(path)
    if not os.path.isdir(folder):
        raise TimelineError(f"cannot write {path}: folder {folder} does not exist")
    if os.path.isdir(path):
        raise TimelineError(f"cannot write {path}: it is a folder")
    suffix = pathlib.Path(name).suffix
    # Same folder so os.replace is a rename on one file system; same suffix for adapters that look.
    temp = os.path.join(folder, f".{pathlib.Path(name).stem}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
    try:
        yield temp
        os.replace(temp, path)
    finally:
        if os.path.lexists(temp):
            os.remove(temp)


def write_timeline(timeline: otio.schema.Timeline, path: str | os.PathLike, *, adapter: str | None = None,
                   input_path: str | os.PathLike | None = None, **kw: object) -> str:
    """Write through an OTIO adapter (chosen from the extension when None), atomically.

    Extra keywords go to the adapter. Returns the absolute path written.
    """
    path = os.path.abspath(os.fspath(path))
    adapter = adapter or adapter_for_path(path)
    if adapter == "otiod":
        raise TimelineError(f"{path}: writing .otiod folders is not supported; use .otioz")
    with atomic_output(path, input_path) as temp:
        try:
            otio.adapters.write_to_file(timeline, temp, adapter_name=adapter, **kw)
        except Exception as exc:
            raise TimelineError(f"cannot write timeline {path} with the {adapter} adapter: "
                                f"{type(exc).__name__}: {exc}") from exc
    return path
