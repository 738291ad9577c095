"""Where a generation run writes: checked before any work, cleaned up when writing fails.

Sampling takes minutes; finding out afterwards that the folder is read-only or the disk is full
wastes them and leaves orphan files. So the run checks up front that its folders can be written,
stops at the first take that cannot be written (a full disk fails every later clip the same way),
and then removes the files it made: no timeline, no orphan takes, no partial files.
"""
from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import tempfile
import threading

log = logging.getLogger(__name__)

# Errors only a write gives: whatever file they name, the outputs cannot be written.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
# Errors a read can give too (a media file): fatal only when they name the output folder.
_ACCESS_ERRNOS = {errno.EACCES, errno.EPERM, errno.EIO}
_ERRNO = re.compile(r"\[Errno (\d+)\]")
_PROBE_BYTES = 4096


class OutputError(Exception):
    """The run's outputs cannot be written (folder, permissions, full disk)."""


def ensure_writable(folder: str) -> None:
    """Create ``folder`` if needed and write, sync and remove a small file in it."""
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise OutputError(f"cannot write to {folder}: it is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".maskvat-foley-write-check-", dir=folder)
        try:
            os.write(fd, b"\0" * _PROBE_BYTES)
            os.fsync(fd)  # a full disk often fails only here
        finally:
            os.close(fd)
            os.unlink(probe)
    except OSError as exc:
        raise OutputError(f"cannot write to {folder}: {exc.strerror or exc}") from None


def write_failure(reason: str | None, folder: str) -> bool:
    """Whether a clip's failure reason (engine text) says the outputs in ``folder`` cannot be written."""
    if not reason:
        return False
    match = _ERRNO.search(reason)
    if match is None:
        return False
    code = int(match.group(1))
    return code in _DISK_ERRNOS or (code in _ACCESS_ERRNOS and folder in reason)


class StopOnWriteFailure(threading.Event):
    """The cancel event given to the engine: set by the caller's own event, or by the first clip
    whose take could not be written (no later clip is sampled for nothing)."""

    def __init__(self, folder: str, outer: threading.Event | None = None, progress=None):
        super().__init__()
        self.folder, self.outer, self.forward = folder, outer, progress
        self.failure: str | None = None

    def is_set(self) -> bool:
        return super().is_set() or (self.outer is not None and self.outer.is_set())

    def progress(self, p) -> None:
        if p.stage == "failed" and self.failure is None and write_failure(p.message, self.folder):
            self.failure = f"{p.clip_id}: {p.message}"
            self.set()
        if self.forward is not None:
            self.forward(p)


class NewFiles:
    """Files that appear in some folders from now on, to remove when the run fails."""

    def __init__(self, *folders: str):
        self.before = {f: self._names(f) for f in folders}

    @staticmethod
    def _names(folder: str) -> set[str] | None:
        try:
            return set(os.listdir(folder))
        except FileNotFoundError:
            return None

    def remove(self) -> list[str]:
        removed = []
        for folder, before in self.before.items():
            for name in sorted((self._names(folder) or set()) - (before or set())):
                path = os.path.join(folder, name)
                if os.path.isfile(path) or os.path.islink(path):
                    try:
                        os.remove(path)
                        removed.append(path)
                    except OSError as exc:
                        log.warning("could not remove %s: %s", path, exc)
            if before is None:  # a folder this run created: drop it too when it is empty again
                try:
                    os.rmdir(folder)
                except OSError:
                    pass
        for path in removed:
            log.debug("removed %s (the run failed)", path)
        return removed


@contextlib.contextmanager
def removed_on_output_error(media_dir: str):
    """Files that appear in ``media_dir`` (and its sidecar folder) are removed again when the block
    raises OutputError: a run that cannot write its outputs leaves no orphan takes."""
    from maskvat_foley.core.engine.takes import SIDECAR_DIR

    made = NewFiles(media_dir, os.path.join(media_dir, SIDECAR_DIR))
    try:
        yield
    except OutputError:
        made.remove()
        raise


def check_outputs(input_path: str, output: str, media_dir: str | None = None) -> str:
    """Before any work: the output is not the input (through links too), its format is known, and
    the timeline's folder and the media folder can be written. Returns the media folder."""
    from maskvat_foley.core.timeline.conform import FOLEY_FORMATS
    from maskvat_foley.core.timeline.export import NAMES, PICTURE_ONLY, export_format
    from maskvat_foley.core.timeline.io import same_file

    if same_file(output, input_path):
        raise ValueError(f"refusing to overwrite the input timeline {input_path}; choose another output")
    fmt = export_format(output)
    if fmt in PICTURE_ONLY:
        raise ValueError(f"{output}: {NAMES[fmt]} keeps only the picture, so the Foley tracks would be lost; "
                         f"write .otio, {FOLEY_FORMATS}, and `maskvat-foley export` it to {fmt.upper()} "
                         "for the picture")
    if os.path.isdir(output):
        raise OutputError(f"cannot write the timeline {output}: it is a folder")
    media_dir = os.path.abspath(media_dir or os.path.dirname(os.path.abspath(output)))
    for folder in dict.fromkeys((os.path.dirname(os.path.abspath(output)), media_dir)):
        ensure_writable(folder)
    return media_dir
