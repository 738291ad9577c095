"""The engine's contract, shared by the in-process engine, the server and the client.

    engine.generate(jobs, params, out_dir=..., progress=callback, cancel=event) -> list[ClipResult]

``progress`` receives core.jobs.Progress objects; ``cancel`` is a threading.Event checked between
clips and sampling steps (a cancelled run raises Cancelled, whose ``results`` hold the clips
finished before it; their takes stay on disk). Each clip fails alone: a missing file or an
unusable clip gives a ClipResult with ``error`` set. The server's queue also passes
``confine=DIR`` (its output folder), so an engine it serves takes that keyword and re-checks,
right before each write, that the write stays in DIR (see core.engine.outdir).
"""
from __future__ import annotations

import threading
from typing import Callable, Protocol

from maskvat_foley.core.jobs import ClipJob, ClipResult, GenerationParams, Progress, Take

ProgressCallback = Callable[[Progress], None]


class Cancelled(Exception):
    """Generation stopped because the caller set the cancel event. ``results``: the clips that
    were finished before it (takes on disk), in order."""

    def __init__(self, *args, results: list[ClipResult] | None = None):
        super().__init__(*args)
        self.results: list[ClipResult] = list(results or [])


class EngineProtocol(Protocol):
    def info(self) -> dict: ...

    def generate(self, jobs: list[ClipJob], params: GenerationParams, *, out_dir: str,
                 progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None) -> list[ClipResult]: ...

    def regenerate_region(self, job: ClipJob, take: Take, start_frame: int, end_frame: int,
                          params: GenerationParams, *, out_dir: str,
                          progress: ProgressCallback | None = None,
                          cancel: threading.Event | None = None) -> Take: ...
