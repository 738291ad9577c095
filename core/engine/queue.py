"""A job queue over one engine (one model in memory): a single worker runs jobs in order.

Each job is a list of clip jobs plus generation parameters (``generate``), or one take's time
region to resample (``region``). The worker records per-clip progress from the engine's callbacks,
cancels through the threading.Event the engine checks, marks a job failed with its message when the
engine raises and goes on, splits a batch in halves when the GPU runs out of memory, and writes a
result JSON next to the takes before it marks a job finished. A job whose every clip failed is
failed, not done; a cancelled job keeps the clips it finished. With ``root`` (a server's output
folder) every write is re-checked to stay inside it; with ``history`` every job is noted in the
on-disk job index, so that it can be answered for after a restart.
"""
from __future__ import annotations

import collections
import json
import logging
import os
import sys
import tempfile
import threading
import time
import uuid

from maskvat_foley.core.engine.api import Cancelled, EngineProtocol
# Job, JobState, Region, QueueFull and QueueClosed were defined here; importers keep working.
from maskvat_foley.core.engine.job import (Job, JobState, QueueClosed, QueueFull, Region,  # noqa: F401
                                           all_failed_message)
from maskvat_foley.core.engine.outdir import ensure_dir
from maskvat_foley.core.jobs import ClipJob, ClipResult, GenerationParams, Progress

log = logging.getLogger(__name__)

OOM_MESSAGE = "out of GPU memory for this clip even alone; try fewer takes or beams, or the CPU"


def is_oom(e: BaseException) -> bool:
    """GPU out-of-memory, however the backend spells it."""
    torch = sys.modules.get("torch")  # only if the engine imported it; never import it here
    if torch is not None and isinstance(e, getattr(torch.cuda, "OutOfMemoryError", ())):
        return True
    return isinstance(e, (RuntimeError, MemoryError)) and "out of memory" in str(e).lower()


def _free_gpu_memory() -> None:
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


class JobQueue:
    """FIFO of jobs run one at a time on ``engine`` by a worker thread."""

    def __init__(self, engine: EngineProtocol, *, max_queued: int = 64, keep_finished: int = 1000,
                 root: str | None = None, history=None):
        self.engine = engine
        self.root, self.history = root, history  # history: a core.engine.history.JobHistory
        self._confine = {} if root is None else {"confine": root}
        self.max_queued = max_queued
        self.keep_finished = keep_finished
        self._jobs: dict[str, Job] = {}
        self._pending: collections.deque[Job] = collections.deque()
        self._finished: collections.deque[str] = collections.deque()
        self._cv = threading.Condition()
        self._closed = False
        self._current: Job | None = None
        self._worker = threading.Thread(target=self._run, name="maskvat-engine-worker", daemon=True)
        self._worker.start()

    # -- public API ---------------------------------------------------------------------------
    def submit(self, clips: list[ClipJob], params: GenerationParams, out_dir: str, *,
               kind: str = "generate", region: Region | None = None,
               job_id: str | None = None) -> Job:
        if kind not in ("generate", "region"):
            raise ValueError(f"unknown job kind {kind!r}")
        if kind == "region" and (region is None or len(clips) != 1):
            raise ValueError("a region job needs exactly one clip job and a region")
        if not clips:
            raise ValueError("a job needs at least one clip job")
        job = Job(job_id or uuid.uuid4().hex, kind, list(clips), params, str(out_dir), region)
        with self._cv:
            if self._closed:
                raise QueueClosed("the engine is shutting down")
            if len(self._pending) >= self.max_queued:
                raise QueueFull(f"the engine queue is full ({self.max_queued} jobs waiting)")
            self._jobs[job.id] = job
            self._pending.append(job)
            self._note(job)
            self._cv.notify_all()
        log.info("job %s queued: %s of %d clip(s)", job.id, kind, len(clips))
        return job

    def get(self, job_id: str) -> Job | None:
        with self._cv:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a job: a queued one never runs, a running one stops at the engine's next check."""
        with self._cv:
            job = self._jobs.get(job_id)
            if job is None or job.state.finished:
                return job
            job.cancel.set()
            if job.state is JobState.QUEUED:
                self._pending.remove(job)
                self._finish(job, JobState.CANCELLED, "cancelled before it ran")
        if job.state is JobState.CANCELLED:
            self._write_result(job)
        return job

    @property
    def queued(self) -> int:
        with self._cv:
            return len(self._pending)

    @property
    def running(self) -> Job | None:
        return self._current

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """Block until the job has finished (for in-process callers and tests)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while not self._jobs[job_id].state.finished:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"job {job_id} still {self._jobs[job_id].state.value}")
                self._cv.wait(left)
            return self._jobs[job_id]

    def shutdown(self, *, cancel_running: bool = True, timeout: float | None = 30.0) -> None:
        """Take no new jobs, cancel the waiting ones, cancel (or finish) the running one, stop."""
        with self._cv:
            self._closed = True
            while self._pending:
                job = self._pending.popleft()
                job.cancel.set()
                self._finish(job, JobState.CANCELLED, "the engine shut down")
            if cancel_running and self._current is not None:
                self._current.cancel.set()
            self._cv.notify_all()
        self._worker.join(timeout)
        if self._worker.is_alive():
            log.warning("the engine worker did not stop within %s s", timeout)

    # -- worker -------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._pending and not self._closed:
                    self._cv.wait()
                if not self._pending:
                    return
                job = self._pending.popleft()
                job.state, job.started = JobState.RUNNING, time.time()
                self._current = job
            try:
                self._execute(job)
            except BaseException as e:  # noqa: BLE001 - whatever happens, the worker goes on
                log.exception("job %s crashed the worker step", job.id)
                with self._cv:
                    self._finish(job, JobState.FAILED, f"{type(e).__name__}: {e}")
            finally:
                self._current = None
            self._write_result(job)

    def _execute(self, job: Job) -> None:
        state, error, results = JobState.DONE, None, []
        try:
            ensure_dir(job.out_dir, self.root)  # again at use: it may be a symlink since submit
            if job.kind == "region":
                results = self._region(job)
            else:
                results = self._generate(job, job.clips)
        except Cancelled as stopped:
            state, error, results = JobState.CANCELLED, "cancelled while running", stopped.results
        except ValueError as e:  # a request the engine refuses (a model without reference frames, a
            # reference that cannot be used): its one line is the whole story, no traceback
            log.warning("job %s refused: %s", job.id, e)
            state, error = JobState.FAILED, str(e)
        except Exception as e:  # noqa: BLE001 - the job fails alone, with its message
            log.exception("job %s failed", job.id)
            state, error = JobState.FAILED, f"{type(e).__name__}: {e}"
        results = [self._check_files(r) for r in results]
        if state is JobState.DONE and results and not any(r.ok for r in results):
            state, error = JobState.FAILED, all_failed_message(results)  # not a success
        # The result file goes to disk before anyone can see the job finished.
        job.results = results
        self._write_result(job, state, error)
        with self._cv:
            self._finish(job, state, error)

    def _generate(self, job: Job, clips: list[ClipJob]) -> list[ClipResult]:
        try:
            return self.engine.generate(clips, job.params, out_dir=job.out_dir,
                                        progress=self._progress(job), cancel=job.cancel,
                                        **self._confine)
        except Exception as e:
            if not is_oom(e):
                raise
            _free_gpu_memory()
            if len(clips) == 1:
                log.warning("job %s: clip %s out of GPU memory: %s", job.id, clips[0].clip_id, e)
                self._progress(job)(Progress(clips[0].clip_id, 0, 1, "failed", 1.0, OOM_MESSAGE))
                return [ClipResult(clips[0].clip_id, error=OOM_MESSAGE)]
            half = len(clips) // 2
            log.warning("job %s: out of GPU memory on %d clips; retrying in halves", job.id, len(clips))
            first = self._generate(job, clips[:half])
            try:
                return first + self._generate(job, clips[half:])
            except Cancelled as stopped:
                stopped.results = first + stopped.results
                raise

    def _region(self, job: Job) -> list[ClipResult]:
        r, clip = job.region, job.clips[0]
        try:
            take = self.engine.regenerate_region(clip, r.take, r.start_frame, r.end_frame, job.params,
                                                 out_dir=job.out_dir, progress=self._progress(job),
                                                 cancel=job.cancel, **self._confine)
        except Exception as e:
            if not is_oom(e):
                raise
            _free_gpu_memory()
            return [ClipResult(clip.clip_id, error=OOM_MESSAGE)]
        return [ClipResult(clip.clip_id, [take])]

    def _progress(self, job: Job):
        def report(p: Progress) -> None:
            job.progress[p.clip_id] = p  # a dict store is atomic; readers take snapshots
        return report

    @staticmethod
    def _check_files(r: ClipResult) -> ClipResult:
        missing = [t.path for t in r.takes if not os.path.isfile(t.path)]
        if missing:
            return ClipResult(r.clip_id, [t for t in r.takes if t.path not in missing],
                              f"the engine reported takes that are not on disk: {', '.join(missing)}")
        return r

    def _finish(self, job: Job, state: JobState, error: str | None) -> None:
        """Mark ``job`` finished (caller holds the lock) and forget the oldest finished jobs."""
        job.state, job.error, job.finished = state, error, time.time()
        self._note(job)
        self._finished.append(job.id)
        while len(self._finished) > self.keep_finished:
            self._jobs.pop(self._finished.popleft(), None)
        self._cv.notify_all()
        log.info("job %s %s%s", job.id, state.value, f": {error}" if error else "")

    def _note(self, job: Job) -> None:
        if self.history is not None:
            self.history.record(job)

    def _write_result(self, job: Job, state: JobState | None = None, error: str | None = None) -> None:
        """Write the job's result JSON atomically (state given: before the job shows it)."""
        doc = job.result_doc()
        if state is not None:
            doc.update(state=state.value, error=error)
        try:
            ensure_dir(job.out_dir, self.root)
            fd, tmp = tempfile.mkstemp(prefix=".maskvat-job-", suffix=".tmp", dir=job.out_dir)
            with os.fdopen(fd, "w") as f:
                json.dump(doc, f, indent=1)
            os.replace(tmp, job.result_path)
        except OSError as e:
            log.warning("could not write the result file of job %s: %s", job.id, e)
