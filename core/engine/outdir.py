"""The engine's output folder: writing only inside it, and clearing what a killed engine left.

A request's output folder is checked when the request comes in, but written to later (after the
queue, after sampling). ``confined`` checks it again right before each write, walking from the
output folder down one real folder at a time without following symlinks, so a folder swapped for
a symlink in between is refused instead of followed.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import time
from pathlib import Path

log = logging.getLogger(__name__)

SIDECAR_DIR = ".maskvat"  # token sidecars (for region regenerate) live here, out of the editor's way
ENGINE_LOCK = ".maskvat-engine.lock"  # held by the engine that owns an output folder

# What a write leaves behind when the engine dies in the middle of it (all hidden or sidecars):
# write_bwf's temporary WAV, the queue's temporary result file, a temporary token sidecar.
_LEFTOVERS = (re.compile(r"\..+\.[0-9a-f]{8}\.partial"), re.compile(r"\.maskvat-job-.+\.tmp"))
_SIDECAR, _SIDECAR_TMP = ".codes.npy", re.compile(r".+\.tmp\.npy")
_DIR_FLAGS = (getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_NOFOLLOW", 0)
              | getattr(os, "O_CLOEXEC", 0) | os.O_RDONLY)
_WALK_WITH_FDS = (hasattr(os, "O_NOFOLLOW") and hasattr(os, "O_DIRECTORY")
                  and os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd)


class UnsafeOutput(OSError):
    """An output folder outside the engine's folder, or reached through a symlink."""


def confined(root: str | os.PathLike, path: str | os.PathLike) -> str:
    """``path`` as a folder that exists now and lies under ``root`` (a real path) through real
    folders only: missing folders are made, a symlink or non-folder anywhere below ``root`` is
    UnsafeOutput. Call it right before writing into ``path``."""
    root = os.fspath(root)
    rel = os.path.relpath(os.path.abspath(path), root)
    parts = [] if rel == os.curdir else Path(rel).parts
    if parts and (parts[0] == os.pardir or os.path.isabs(rel)):
        raise UnsafeOutput(f"{path} is outside the engine's output folder {root}")
    (_walk_fds if _WALK_WITH_FDS else _walk_lstat)(root, parts, path)
    return os.path.join(root, *parts)


def ensure_dir(path: str | os.PathLike, confine: str | os.PathLike | None = None) -> str:
    """Make the folder ``path``: ``confined`` to ``confine`` when given, else plainly."""
    if confine is not None:
        return confined(confine, path)
    os.makedirs(path, exist_ok=True)
    return os.fspath(path)


def _walk_fds(root: str, parts, path) -> None:
    # Each folder is opened relative to its parent's descriptor with O_NOFOLLOW: no window in which
    # a checked name could be swapped between the check and the step into it.
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        for part in parts:
            try:
                nxt = _step(fd, part, path, root)
            except FileNotFoundError:
                with contextlib.suppress(FileExistsError):  # made meanwhile: checked just below
                    os.mkdir(part, 0o777, dir_fd=fd)
                nxt = _step(fd, part, path, root)
            os.close(fd)
            fd = nxt
    finally:
        os.close(fd)


def _step(fd: int, part: str, path, root: str) -> int:
    try:
        return os.open(part, _DIR_FLAGS, dir_fd=fd)
    except FileNotFoundError:
        raise
    except OSError:  # ELOOP: a symlink; ENOTDIR: a file
        raise _unsafe(path, part, root) from None


def _walk_lstat(root: str, parts, path) -> None:
    here = root  # platforms without O_NOFOLLOW: the same check, by name
    for part in parts:
        here = os.path.join(here, part)
        try:
            os.mkdir(here)
        except FileExistsError:
            pass
        if os.path.islink(here) or not os.path.isdir(here):
            raise _unsafe(path, part, root)


def _unsafe(path, part: str, root: str) -> UnsafeOutput:
    return UnsafeOutput(f"{path}: {part!r} is a symlink or not a folder; the engine writes only "
                        f"into real folders under {root}")


def clean_orphans(root: str | os.PathLike, *, older_than: float | None = None) -> int:
    """Delete what interrupted writes left under ``root``: temporary WAVs and result files, and
    token sidecars whose take was never written. Symlinks are neither followed nor deleted.
    ``older_than`` (seconds) spares younger files, for when another engine may be writing.
    Returns how many files went."""
    cutoff = None if older_than is None else time.time() - older_than
    removed = 0
    for folder, dirs, files in os.walk(root, followlinks=False):
        if folder != os.fspath(root) and ENGINE_LOCK in files:
            dirs.clear()  # another engine's output folder nested in this one: its files, its call
            continue
        for name in files:
            path = os.path.join(folder, name)
            if not _orphan(folder, name):
                continue
            try:
                st = os.lstat(path)
                if os.path.islink(path) or (cutoff is not None and st.st_mtime > cutoff):
                    continue
                os.unlink(path)
                removed += 1
            except FileNotFoundError:
                pass
            except OSError as e:
                log.warning("could not remove the leftover %s: %s", path, e)
    if removed:
        log.info("removed %d leftover file(s) of interrupted writes under %s", removed, root)
    return removed


def _orphan(folder: str, name: str) -> bool:
    if any(p.fullmatch(name) for p in _LEFTOVERS):
        return True
    if os.path.basename(folder) != SIDECAR_DIR:
        return False
    if _SIDECAR_TMP.fullmatch(name):
        return True
    # save_codes writes a take's token sidecar before its WAV: a sidecar alone is a leftover.
    if name.endswith(_SIDECAR):
        return not os.path.exists(os.path.join(os.path.dirname(folder), name[:-len(_SIDECAR)] + ".wav"))
    return False
