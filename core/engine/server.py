"""The local engine server: FastAPI over one Engine and its job queue.

Every request needs a loopback Host and ``Authorization: Bearer <token>``; bodies are
size-checked before they are read into a parser, and depth-checked; outputs go only under the
server's output folder (checked at submit and again at each write); any bad input is a 4xx with a
JSON ``{"error": ...}`` naming what is wrong, never a traceback. Jobs are noted in an index in
the output folder, so a job from before a restart is still answered for (its results, or "lost").
"""
from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import socket
import sys
import threading
import uuid
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from maskvat_foley import __version__
from maskvat_foley.core.engine.api import EngineProtocol
from maskvat_foley.core.engine.history import JobHistory
from maskvat_foley.core.engine.http_guard import LOOPBACK_HOSTS, Guard
from maskvat_foley.core.engine.job import QueueClosed, QueueFull, Region
from maskvat_foley.core.engine.queue import JobQueue
from maskvat_foley.core.engine.token import config_dir, load_token
from maskvat_foley.core.engine.validate import (MAX_BODY, MAX_CLIPS, ApiError, check_keys, inside,
                                                parse_body, parse_clip_job, parse_dataclass,
                                                parse_params, value)
from maskvat_foley.core.jobs import Take, random_seed

log = logging.getLogger(__name__)


# -- the app ------------------------------------------------------------------------------------
def create_app(engine: EngineProtocol, *, token: str, output_dir: str | os.PathLike,
               max_body: int = MAX_BODY, max_queued: int = 64,
               allowed_hosts: frozenset[str] = LOOPBACK_HOSTS):
    """The ASGI app (Guard around FastAPI). ``app.state.queue`` is its JobQueue,
    ``app.state.history`` its JobHistory (the on-disk job index)."""
    root = Path(os.path.realpath(output_dir))
    root.mkdir(parents=True, exist_ok=True)
    history = JobHistory(root)  # before the queue: clears what a killed engine left
    queue = JobQueue(engine, max_queued=max_queued, root=str(root), history=history)
    engine_info = dict(engine.info())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        queue.shutdown(cancel_running=True)
        history.close()

    api = FastAPI(title="MaskVAT Foley engine", version=__version__, docs_url=None,
                  redoc_url=None, openapi_url=None, lifespan=lifespan)
    api.state.queue, api.state.history = queue, history

    @api.exception_handler(ApiError)
    async def api_error(request, e: ApiError):
        headers = {"Retry-After": "5"} if e.status == 503 else None
        return JSONResponse({"error": str(e)}, status_code=e.status, headers=headers)

    @api.exception_handler(Exception)
    async def internal_error(request, e: Exception):
        log.exception("internal error on %s", request.url.path)
        return JSONResponse({"error": f"internal error ({type(e).__name__}); see the engine log"},
                            status_code=500)

    async def body_of(request: Request) -> dict:
        return parse_body(await request.body())

    def out_dir_for(body: dict, job_id: str) -> str:
        sub = body.get("out_subdir")
        return str(root / job_id if sub is None else inside(root, sub, "out_subdir", True))

    def submit(clips, params, body, **kw) -> dict:
        job_id = uuid.uuid4().hex  # unguessable; also names the job's default output folder
        try:
            job = queue.submit(clips, params, out_dir_for(body, job_id), job_id=job_id, **kw)
        except (QueueFull, QueueClosed) as e:
            raise ApiError(503, str(e)) from None
        return {"job_id": job.id, "state": job.state.value}

    def job_or_404(job_id: str):
        job = queue.get(job_id) or history.lookup(job_id)  # the index: jobs from before a restart
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (unknown or long finished)")
        return job

    @api.get("/v1/info")
    def info():
        try:
            current = dict(engine.info())
        except Exception as e:  # noqa: BLE001 - a busy device must not break /info
            current = dict(engine_info, info_error=str(e))
        running = queue.running
        return dict(current, server_version=__version__, output_dir=str(root),
                    queue={"queued": queue.queued, "running": running.id if running else None,
                           "max": queue.max_queued})

    @api.post("/v1/jobs", status_code=202)
    async def post_jobs(request: Request):
        body = await body_of(request)
        check_keys(body, {"jobs", "params", "out_subdir"}, {"jobs"})
        if not isinstance(body["jobs"], list) or not 1 <= len(body["jobs"]) <= MAX_CLIPS:
            raise ApiError(422, f"jobs must be a list of 1 to {MAX_CLIPS} clip jobs")
        clips = [parse_clip_job(d, f"jobs[{i}]") for i, d in enumerate(body["jobs"])]
        return submit(clips, parse_params(body.get("params")), body)

    @api.post("/v1/regenerate", status_code=202)
    async def post_regenerate(request: Request):
        body = await body_of(request)
        check_keys(body, {"job", "params", "seed", "out_subdir"}, {"job"})
        clip = parse_clip_job(body["job"])
        params = parse_params(body.get("params") or {"takes": 1})
        seed = body.get("seed", params.seed)
        if seed is None:
            seed = random_seed()
        params = parse_params(dict(params.to_dict(), seed=seed))
        return dict(submit([clip], params, body), seed=seed)

    @api.post("/v1/region", status_code=202)
    async def post_region(request: Request):
        body = await body_of(request)
        check_keys(body, {"job", "take", "start_frame", "end_frame", "params", "out_subdir"},
                    {"job", "take", "start_frame", "end_frame"})
        clip = parse_clip_job(body["job"])
        take = parse_dataclass(Take, body["take"], "take")
        take.path = str(inside(root, take.path, "take.path"))
        if not os.path.isfile(take.path):
            raise ApiError(400, f"take.path {take.path!r} is not a file")
        if take.metadata.get("codes_path") is not None:
            take.metadata["codes_path"] = str(inside(root, take.metadata["codes_path"],
                                                     "take.metadata.codes_path"))
        start, end = (value("region", k, "int", body[k]) for k in ("start_frame", "end_frame"))
        if not 0 <= start < end <= clip.record_duration:
            raise ApiError(422, f"region [{start}, {end}) must lie within the clip's "
                                f"{clip.record_duration} frames and not be empty")
        params = parse_params(body.get("params") or {"takes": 1, "seed": take.seed})
        return submit([clip], params, body, kind="region", region=Region(take, start, end))

    @api.get("/v1/jobs/{job_id}")
    def get_job(job_id: str):
        return job_or_404(job_id).status()

    @api.post("/v1/jobs/{job_id}/cancel")
    def cancel_job(job_id: str):
        return (queue.cancel(job_id) or job_or_404(job_id)).status()

    @api.get("/v1/jobs/{job_id}/results")
    def job_results(job_id: str):
        job = job_or_404(job_id)
        if not job.state.finished:
            raise ApiError(409, f"job {job_id} is {job.state.value}; results come when it is done")
        return {"job_id": job.id, "state": job.state.value, "error": job.error,
                "result_file": str(job.result_path), "results": [r.to_dict() for r in job.results]}

    app = Guard(api, token, max_body, allowed_hosts)
    app.state = api.state  # tests and the runner reach the queue through the outer app too
    return app


# -- running it ---------------------------------------------------------------------------------
def default_output_dir() -> Path:
    """Where takes go when no output folder is given: the user's data folder (beside the config
    folder where there is no separate data folder, or when the config folder is overridden)."""
    if os.environ.get("MASKVAT_FOLEY_CONFIG_DIR") or sys.platform in ("win32", "darwin"):
        return config_dir() / "engine-output"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "maskvat-foley" / "engine-output"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class RunningServer:
    """A uvicorn server on its own thread (tests, benchmarks, an in-process panel)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn

        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))  # bound here, so port 0 gives a free port with no race
        self.port = self.sock.getsockname()[1]
        self.url = f"http://{host}:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="maskvat-engine-server", daemon=True)
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError(f"the engine server on {self.url} failed to start")
            threading.Event().wait(0.01)

    def stop(self, timeout: float = 30.0) -> None:
        self.server.should_exit = True
        self.thread.join(timeout)
        self.sock.close()


def serve(model_dir: str | None = None, device: str = "auto", host: str = "127.0.0.1",
          port: int = 8765, output_dir: str | None = None, *, cache_dir: str | None = None,
          allow_hosts: tuple[str, ...] = ()) -> None:
    """Load the model once and serve it until interrupted. Requests must name the engine by a
    loopback name, the bound address, or one of ``allow_hosts`` in their Host header."""
    if model_dir is not None and not os.path.isdir(model_dir):  # fail before the heavy imports
        raise FileNotFoundError(f"model folder not found: {model_dir}")
    import uvicorn

    from maskvat_foley.core.engine.engine import Engine

    allowed = LOOPBACK_HOSTS | {h.strip("[]").lower() for h in allow_hosts}
    if not is_loopback(host):
        log.warning("serving on %s, which is not a loopback address: other machines can reach the "
                    "engine; anyone with the token can make it read media and write files", host)
        if host not in ("0.0.0.0", "::", ""):  # clients name a wildcard bind by some other name
            allowed = allowed | {host.strip("[]").lower()}
    token = load_token()
    out = Path(output_dir) if output_dir else default_output_dir()
    engine = Engine(model_dir, device=device, cache_dir=cache_dir)
    app = create_app(engine, token=token, output_dir=out, allowed_hosts=allowed)
    info = engine.info()
    log.info("MaskVAT Foley engine %s on http://%s:%d (model %s, device %s), outputs in %s",
             __version__, host, port, info.get("model"), info.get("device"), out)
    uvicorn.run(app, host=host, port=port, log_level="info", lifespan="on")
