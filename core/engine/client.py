"""Client of the local engine server; also an engine itself (core.engine.api contract), so the
pipeline, the panel and host bridges use a running server exactly like the in-process Engine.

The server writes only under its own output folder. When a caller asks for takes in another
folder (``generate(out_dir=...)``), the client copies the finished WAVs there and records the
server-side path in ``take.metadata["engine_path"]`` so region regenerate still finds it.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from maskvat_foley.core.engine.api import Cancelled, ProgressCallback
from maskvat_foley.core.jobs import ClipJob, ClipResult, GenerationParams, Progress, Take

log = logging.getLogger(__name__)

DEFAULT_URL = "http://127.0.0.1:8765"
FINISHED = ("done", "failed", "cancelled", "lost")
_PROGRESS_FIELDS = tuple(f.name for f in dataclasses.fields(Progress))


class EngineUnavailable(ConnectionError):
    """No engine answers at the URL (or a started one did not come up)."""


class EngineError(RuntimeError):
    """The engine answered with an error (``status`` is the HTTP status, 0 for a failed job)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"engine error {status}: {message}" if status else message)
        self.status, self.message = status, message


class EngineClient:
    def __init__(self, url: str | None = None, token: str | None = None, *, timeout: float = 30.0):
        import httpx

        from maskvat_foley.core.engine.token import load_token

        self.url = (url or DEFAULT_URL).rstrip("/")
        self.process: subprocess.Popen | None = None  # set by ensure_local_engine when it started one
        self._http = httpx.Client(base_url=self.url, timeout=timeout,
                                  headers={"Authorization": f"Bearer {token or load_token()}"})
        self._output_dir: Path | None = None

    # -- HTTP ---------------------------------------------------------------------------------
    def _call(self, method: str, path: str, json: Any = None) -> Any:
        import httpx

        try:
            r = self._http.request(method, path, json=json)
        except (httpx.ConnectError, httpx.ConnectTimeout) as e:
            raise EngineUnavailable(f"no MaskVAT Foley engine answers at {self.url} ({e}); "
                                    f"start one with `maskvat-foley engine serve`") from None
        except httpx.TransportError as e:
            raise EngineUnavailable(f"lost the engine at {self.url}: {e}") from None
        try:
            doc = r.json()
        except ValueError:
            doc = {"error": r.text[:500]}
        if r.status_code >= 400:
            raise EngineError(r.status_code, doc.get("error") or doc.get("detail") or str(doc))
        return doc

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "EngineClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- the REST API -------------------------------------------------------------------------
    def info(self) -> dict:
        doc = self._call("GET", "/v1/info")
        self._output_dir = Path(doc["output_dir"]) if doc.get("output_dir") else None
        return doc

    def submit(self, jobs: list[ClipJob], params: GenerationParams,
               out_subdir: str | None = None) -> str:
        body = {"jobs": [j.to_dict() for j in jobs], "params": wire_params(params)}
        if out_subdir is not None:
            body["out_subdir"] = out_subdir
        return self._call("POST", "/v1/jobs", body)["job_id"]

    def status(self, job_id: str) -> dict:
        return self._call("GET", f"/v1/jobs/{job_id}")

    def cancel(self, job_id: str) -> dict:
        return self._call("POST", f"/v1/jobs/{job_id}/cancel")

    def results(self, job_id: str) -> list[ClipResult]:
        return [ClipResult.from_dict(d) for d in self._call("GET", f"/v1/jobs/{job_id}/results")["results"]]

    def regenerate(self, job: ClipJob, params: GenerationParams | None = None, seed: int | None = None,
                   out_subdir: str | None = None) -> tuple[str, int]:
        """Queue one new take of ``job`` (a new random seed unless one is given): (job id, seed)."""
        body: dict[str, Any] = {"job": job.to_dict()}
        if params is not None:
            body["params"] = wire_params(params)
        if seed is not None:
            body["seed"] = seed
        if out_subdir is not None:
            body["out_subdir"] = out_subdir
        doc = self._call("POST", "/v1/regenerate", body)
        return doc["job_id"], doc["seed"]

    def region(self, job: ClipJob, take: Take, start_frame: int, end_frame: int,
               params: GenerationParams | None = None, out_subdir: str | None = None) -> str:
        """Queue a regenerate of record frames [start, end) (from the clip's start) of ``take``."""
        body: dict[str, Any] = {"job": job.to_dict(), "take": self._server_take(take).to_dict(),
                                "start_frame": start_frame, "end_frame": end_frame}
        if params is not None:
            body["params"] = wire_params(params)
        if out_subdir is not None:
            body["out_subdir"] = out_subdir
        return self._call("POST", "/v1/region", body)["job_id"]

    def wait(self, job_id: str, progress: ProgressCallback | None = None, poll: float = 0.2,
             cancel: threading.Event | None = None, timeout: float | None = None) -> list[ClipResult]:
        """Poll until the job ends; report progress changes. Like the in-process engine: a job
        whose clips all failed returns their failed results, a cancelled one raises Cancelled
        carrying the clips it finished; a job that failed as a whole (or was lost in an engine
        restart) raises EngineError."""
        seen: dict[str, tuple] = {}
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            st = self.status(job_id)
            if progress is not None:
                for d in st["progress"]:
                    key = (d.get("stage"), d.get("fraction"), d.get("message"))
                    if d.get("index") is not None and seen.get(d["clip_id"]) != key:
                        seen[d["clip_id"]] = key
                        progress(Progress(**{k: d[k] for k in _PROGRESS_FIELDS if k in d}))
            if st["state"] in FINISHED:
                break
            if cancel is not None and cancel.is_set():
                self.cancel(job_id)
                cancel = None  # keep polling until the engine has stopped
            elif deadline is not None and time.monotonic() > deadline:
                raise TimeoutError(f"engine job {job_id} still {st['state']} after {timeout} s")
            time.sleep(poll)
        if st["state"] == "cancelled":
            raise Cancelled(f"engine job {job_id} cancelled", results=self.results(job_id))
        if st["state"] == "lost":
            raise EngineError(0, f"engine job {job_id} lost: {st['error']}")
        results = self.results(job_id)
        if st["state"] == "failed" and not (results and all(r.error for r in results)):
            raise EngineError(0, f"engine job {job_id} failed: {st['error']}")
        return results

    # -- the engine contract (core.engine.api) ------------------------------------------------
    def generate(self, jobs: list[ClipJob], params: GenerationParams, *, out_dir: str | None = None,
                 progress: ProgressCallback | None = None,
                 cancel: threading.Event | None = None) -> list[ClipResult]:
        sub = self._subdir(out_dir)
        try:
            results = self.wait(self.submit(jobs, params, sub), progress=progress, cancel=cancel)
        except Cancelled as stopped:  # the finished clips' takes are delivered all the same
            stopped.results = self._deliver(stopped.results, out_dir, sub)
            raise
        return self._deliver(results, out_dir, sub)

    @staticmethod
    def _deliver(results: list[ClipResult], out_dir: str | None, sub: str | None) -> list[ClipResult]:
        """Copy the takes into ``out_dir`` when the server wrote them elsewhere."""
        if out_dir is not None and sub is None:
            for r in results:
                r.takes = [_copy_take(t, out_dir) for t in r.takes]
        return results

    def regenerate_region(self, job: ClipJob, take: Take, start_frame: int, end_frame: int,
                          params: GenerationParams, *, out_dir: str | None = None,
                          progress: ProgressCallback | None = None,
                          cancel: threading.Event | None = None) -> Take:
        sub = self._subdir(out_dir)
        (result,) = self.wait(self.region(job, take, start_frame, end_frame, params, sub),
                              progress=progress, cancel=cancel)
        if result.error:
            raise EngineError(0, f"region regenerate of clip {job.clip_id} failed: {result.error}")
        new = result.takes[0]
        return _copy_take(new, out_dir) if out_dir is not None and sub is None else new

    # -- output folder mapping ----------------------------------------------------------------
    def _root(self) -> Path | None:
        if self._output_dir is None:
            self.info()
        return Path(os.path.realpath(self._output_dir)) if self._output_dir else None

    def _subdir(self, out_dir: str | None) -> str | None:
        """``out_dir`` relative to the server's output folder, or None when it lies outside."""
        root = self._root()
        if out_dir is None or root is None:
            return None
        full = Path(os.path.realpath(out_dir))
        return str(full.relative_to(root)) if full == root or root in full.parents else None

    def _server_take(self, take: Take) -> Take:
        """The take as the server can use it: its server-side copy, or one imported into its folder."""
        root = self._root()
        if root is None:
            return take
        real = Path(os.path.realpath(take.path))
        if real == root or root in real.parents:
            return take
        engine_path = take.metadata.get("engine_path")
        if engine_path and os.path.isfile(engine_path):
            return Take.from_dict(dict(take.to_dict(), path=engine_path))
        # A take the server never wrote (or moved): import a copy into the server's folder.
        dest = root / "imports" / uuid.uuid4().hex
        dest.mkdir(parents=True)
        copy = Path(shutil.copy2(take.path, dest / real.name))
        return Take.from_dict(dict(take.to_dict(), path=str(copy)))


def wire_params(params: GenerationParams) -> dict[str, Any]:
    """``params`` as a request sends them: a reference's path made absolute, since the server
    resolves paths in its own working folder, not the caller's."""
    d = params.to_dict()
    if params.reference is not None:
        d["reference"]["path"] = os.path.abspath(params.reference.path)
    return d


def _copy_take(take: Take, out_dir: str) -> Take:
    """Copy a server-written take into ``out_dir`` atomically; remember where the server has it."""
    os.makedirs(out_dir, exist_ok=True)
    dest = os.path.join(out_dir, os.path.basename(take.path))
    fd, tmp = tempfile.mkstemp(prefix=".maskvat-", suffix=".wav.tmp", dir=out_dir)
    os.close(fd)
    try:
        shutil.copyfile(take.path, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    meta = dict(take.metadata, engine_path=take.path)
    return Take.from_dict(dict(take.to_dict(), path=dest, metadata=meta))


def ensure_local_engine(model_dir: str | None = None, *, device: str = "auto", port: int = 8765,
                        output_dir: str | None = None, cache_dir: str | None = None,
                        timeout: float = 120.0) -> EngineClient:
    """A client of the engine on 127.0.0.1:``port``; starts one as a subprocess if none answers.

    The started process outlives this call (``client.process``); stop it with ``terminate()``.
    """
    url = f"http://127.0.0.1:{port}"
    client = EngineClient(url)
    try:
        client.info()
        return client
    except EngineUnavailable:
        pass
    # The command line's own `engine serve`, as the Blender add-on starts it: one parser for both.
    cmd = [sys.executable, "-m", "maskvat_foley", "engine", "serve", "--port", str(port), "--device", device]
    for flag, value in (("--model", model_dir), ("--output-dir", output_dir), ("--cache-dir", cache_dir)):
        if value:
            cmd += [flag, value]
    log_file = tempfile.NamedTemporaryFile(prefix="maskvat-engine-", suffix=".log", delete=False)
    log.info("starting the engine: %s (log %s)", " ".join(cmd), log_file.name)
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log_file.close()
    deadline = time.monotonic() + timeout
    while True:
        try:
            client.info()
            client.process = proc
            return client
        except EngineUnavailable:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(10)
            tail = Path(log_file.name).read_text(errors="replace")[-3000:]
            why = f"exited with status {proc.returncode}" if proc.returncode not in (None, -15) \
                else f"did not answer within {timeout:.0f} s"
            raise EngineUnavailable(f"the engine started on {url} {why}; its log ({log_file.name}) "
                                    f"ends with:\n{tail}")
        time.sleep(0.25)
