"""The engine's memory of its jobs across restarts: a small index in the output folder.

Every job is appended to ``.maskvat-jobs.jsonl`` when it is queued and when it ends (one JSON
line each, so a kill mid-write costs at most that line). An engine that starts on the folder and
gets its lock (no other live engine uses the folder) clears what interrupted writes left there,
marks the jobs the index shows unfinished as lost, and keeps only the latest ``keep`` jobs. A
client asking about a job from before the restart then learns what became of it: its result
file when it finished, else "lost".
"""
from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from maskvat_foley.core.engine.job import Job, JobState, result_name
from maskvat_foley.core.engine.outdir import ENGINE_LOCK, clean_orphans
from maskvat_foley.core.engine.regular import open_regular
from maskvat_foley.core.jobs import GenerationParams

log = logging.getLogger(__name__)

INDEX = ".maskvat-jobs.jsonl"
MAX_RESULT_BYTES = 64 << 20  # a result file larger than this was not written by the engine
LOST_MESSAGE = ("the engine stopped (crash, kill or restart) before this job finished; takes it "
                "wrote before that may be in {dir}")
_ID = re.compile(r"[0-9a-f]{32}")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)


@dataclass
class JobRecord:
    id: str
    kind: str
    dir: str  # the job's output folder, relative to the engine's output folder
    state: str
    time: float


class JobHistory:
    def __init__(self, root: str | os.PathLike, *, keep: int = 2000):
        self.root, self.keep = Path(root), keep
        self._lock = threading.Lock()
        self._lock_fd = _try_lock(self.root / ENGINE_LOCK)
        self.owner = self._lock_fd is not None
        self._records = self._load()
        if self.owner:
            clean_orphans(self.root)
            for r in self._records.values():
                if not JobState(r.state).finished:
                    r.state = JobState.LOST.value
            self._rewrite()
        else:
            log.warning("another engine uses the output folder %s: leaving its files and jobs "
                        "alone", self.root)
        self._appended = 0
        self._fd = os.open(self.root / INDEX, os.O_WRONLY | os.O_APPEND | os.O_CREAT | _NOFOLLOW,
                           0o600)

    def record(self, job: Job) -> None:
        """Note ``job``'s current state (at submit and at its end)."""
        rec = JobRecord(job.id, job.kind, self._relative(job.out_dir), job.state.value, time.time())
        line = (json.dumps(asdict(rec)) + "\n").encode()
        with self._lock:
            self._records.pop(rec.id, None)
            self._records[rec.id] = rec
            while len(self._records) > 2 * self.keep:  # oldest first: dicts keep insertion order
                del self._records[next(iter(self._records))]
            if self._fd is None:  # closed: the engine is stopping
                return
            try:
                os.write(self._fd, line)
            except OSError as e:  # a full disk must not fail the job; the index is advisory
                log.warning("could not update the job index %s: %s", self.root / INDEX, e)
            self._appended += 1
            if self.owner and self._appended > 2 * self.keep:
                self._rewrite()

    def lookup(self, job_id: str) -> Job | None:
        """A job from before this engine started: finished (from its result file) or lost."""
        with self._lock:
            rec = self._records.get(job_id)
        if rec is None or not _ID.fullmatch(job_id):
            return None
        out_dir = self._absolute(rec.dir)
        doc = _read_result(out_dir, job_id) if out_dir else None
        if doc is not None:
            try:
                job = Job.from_result_doc(doc, str(out_dir))
                if job.state.finished and job.id == job_id:
                    return job
            except (KeyError, TypeError, ValueError, ArithmeticError) as e:
                log.warning("result file of job %s unreadable: %s", job_id, e)
        where = out_dir or self.root
        if rec.state == JobState.LOST.value:
            return _lost(rec, LOST_MESSAGE.format(dir=where), where)
        if JobState(rec.state).finished:
            return _lost(rec, f"the job ended {rec.state}, but its result file "
                              f"{result_name(job_id)} is gone from {where}", where)
        return None  # unfinished in another live engine that shares the folder

    def close(self) -> None:
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                os.close(fd)
        self._fd = self._lock_fd = None

    # -- internals ----------------------------------------------------------------------------
    def _load(self) -> dict[str, JobRecord]:
        records: dict[str, JobRecord] = {}
        try:
            with open(self.root / INDEX, "rb") as f:
                lines = f.read().splitlines()
        except FileNotFoundError:
            return records
        except OSError as e:
            log.warning("job index %s unreadable (%s); starting a new one", self.root / INDEX, e)
            return records
        for line in lines:
            try:
                rec = JobRecord(**json.loads(line))
                JobState(rec.state)
            except (ValueError, TypeError):  # a line torn by a kill, or not ours
                continue
            records.pop(rec.id, None)
            records[rec.id] = rec
        return records

    def _rewrite(self) -> None:
        """Keep the latest ``keep`` jobs, one line each (written aside, then renamed)."""
        latest = list(self._records.values())[-self.keep:]
        self._records = {r.id: r for r in latest}
        tmp = self.root / f".maskvat-jobs.{os.getpid()}.tmp"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | _NOFOLLOW, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(b"".join((json.dumps(asdict(r)) + "\n").encode() for r in latest))
            os.replace(tmp, self.root / INDEX)
        except OSError as e:
            log.warning("could not rewrite the job index %s: %s", self.root / INDEX, e)
            return
        if getattr(self, "_fd", None) is not None:  # appends go to the new file from now on
            os.close(self._fd)
            self._fd = os.open(self.root / INDEX, os.O_WRONLY | os.O_APPEND | _NOFOLLOW)
        self._appended = 0

    def _relative(self, out_dir: str) -> str:
        return os.path.relpath(os.path.abspath(out_dir), self.root)

    def _absolute(self, rel: str) -> Path | None:
        full = Path(os.path.realpath(self.root / rel))
        return full if full == self.root or self.root in full.parents else None


def _lost(rec: JobRecord, message: str, out_dir: Path) -> Job:
    return Job(rec.id, rec.kind, [], GenerationParams(), str(out_dir), state=JobState.LOST,
               error=message, created=rec.time, finished=rec.time)


def _read_result(out_dir: Path, job_id: str) -> dict | None:
    try:
        f = open_regular(out_dir / result_name(job_id))
    except (OSError, ValueError):
        return None
    with f:
        if os.fstat(f.fileno()).st_size > MAX_RESULT_BYTES:
            return None
        try:
            doc = json.loads(f.read())
        except (ValueError, RecursionError):
            return None
    return doc if isinstance(doc, dict) else None


def _try_lock(path: Path) -> int | None:
    """An exclusive lock on ``path`` held until the process ends (the kernel drops it even on
    kill -9), or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
    try:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return fd
        except OSError:
            pass
    except OSError:
        pass
    os.close(fd)
    return None
