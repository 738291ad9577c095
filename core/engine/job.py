"""One engine job as the queue, the server and the job index see it: its input, state, progress,
results, and the JSON documents made from it (status, and the result file beside the takes)."""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from maskvat_foley.core.jobs import ClipJob, ClipResult, GenerationParams, Progress, Take


class JobState(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"  # every clip ran; a clip may still have failed (see clips_failed)
    FAILED = "failed"  # the job failed as a whole, or every one of its clips failed
    CANCELLED = "cancelled"  # results hold the clips finished before the cancel
    LOST = "lost"  # the engine stopped (crash, kill, restart) before the job finished

    @property
    def finished(self) -> bool:
        return self is not JobState.QUEUED and self is not JobState.RUNNING


class QueueFull(Exception):
    """The queue holds its maximum of waiting jobs; retry later."""


class QueueClosed(Exception):
    """The queue is shutting down and takes no new jobs."""


@dataclass
class Region:
    """A region job's input: resample record frames [start_frame, end_frame) of ``take``."""

    take: Take
    start_frame: int
    end_frame: int


@dataclass
class Job:
    id: str
    kind: str  # "generate" | "region"
    clips: list[ClipJob]
    params: GenerationParams
    out_dir: str
    region: Region | None = None
    state: JobState = JobState.QUEUED
    error: str | None = None
    results: list[ClipResult] = field(default_factory=list)
    progress: dict[str, Progress] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def result_path(self) -> Path:
        return Path(self.out_dir) / result_name(self.id)

    def status(self) -> dict[str, Any]:
        """A JSON-able snapshot: state, error, counts and the latest progress of every clip."""
        progress = []
        for c in self.clips:
            p = self.progress.get(c.clip_id)
            progress.append(p.to_dict() if p else {"clip_id": c.clip_id, "stage": "queued",
                                                   "fraction": 0.0, "message": ""})
        results = list(self.results)
        return {"job_id": self.id, "kind": self.kind, "state": self.state.value, "error": self.error,
                "clips": len(self.clips), "clips_done": sum(r.ok for r in results),
                "clips_failed": sum(not r.ok for r in results), "progress": progress,
                "created": self.created, "started": self.started, "finished": self.finished}

    def result_doc(self) -> dict[str, Any]:
        doc = self.status()
        doc.update(params=self.params.to_dict(), jobs=[c.to_dict() for c in self.clips],
                   results=[r.to_dict() for r in self.results])
        return doc

    @classmethod
    def from_result_doc(cls, doc: dict[str, Any], out_dir: str) -> "Job":
        """The finished job a result file describes (for jobs from before a restart)."""
        clips = [ClipJob.from_dict(c) for c in doc["jobs"]]
        progress = {}
        for d in doc.get("progress", []):
            if isinstance(d, dict) and "index" in d:
                p = Progress(**d)
                progress[p.clip_id] = p
        return cls(doc["job_id"], doc["kind"], clips, GenerationParams.from_dict(doc["params"]),
                   out_dir, state=JobState(doc["state"]), error=doc.get("error"),
                   results=[ClipResult.from_dict(r) for r in doc["results"]], progress=progress,
                   created=doc["created"], started=doc.get("started"),
                   finished=doc.get("finished"))


def result_name(job_id: str) -> str:
    return f"maskvat-job-{job_id}.json"


def all_failed_message(results: list[ClipResult]) -> str:
    """The error of a job none of whose clips gave takes: how many, and the first reasons."""
    reasons = "; ".join(f"{r.clip_id}: {r.error}" for r in results[:3])
    more = f"; and {len(results) - 3} more" if len(results) > 3 else ""
    return f"{len(results)} of {len(results)} clip(s) failed: {reasons}{more}"[:2000]
