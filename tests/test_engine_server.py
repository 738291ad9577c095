"""The local engine service end to end: a real uvicorn server on 127.0.0.1 over the real Engine
with a tiny random model, real video files written with PyAV, real HTTP clients."""
from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from fractions import Fraction

import httpx
import numpy as np
import pytest
import soundfile

from conftest import engine_media
from maskvat_foley.core.engine.api import Cancelled
from maskvat_foley.core.engine.client import (EngineClient, EngineError, EngineUnavailable,
                                              ensure_local_engine)
from maskvat_foley.core.engine.queue import JobQueue, QueueFull
from maskvat_foley.core.engine.server import RunningServer, create_app
from maskvat_foley.core.engine.token import check_token, load_token, token_path
from maskvat_foley.core.jobs import ClipJob, GenerationParams, Take
from maskvat_foley.core.timeline.rates import sample_span

RATE = Fraction(24)
FAST = GenerationParams(seed=1, takes=1, steps=2, guidance=1.0)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """Config dir (token), tiny model, engine, media, and a running server, shared by the module."""
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.model.checkpoint import init_random

    base = tmp_path_factory.mktemp("engine")
    mp = pytest.MonkeyPatch()
    mp.setenv("MASKVAT_FOLEY_CONFIG_DIR", str(base / "config"))
    model = init_random(base / "model", "tiny")
    media = engine_media(base)
    engine = Engine(str(model), device="cpu", cache_dir=str(base / "cache"))
    token = load_token()
    out = base / "out"
    app = create_app(engine, token=token, output_dir=out, max_body=64 * 1024)
    server = RunningServer(app)
    yield dict(base=base, model=str(model), media=media, engine=engine, token=token, out=out,
               app=app, url=server.url)
    server.stop()
    mp.undo()


def clip(env, name="a", clip_id=None, frames=24, start=0, **kw) -> ClipJob:
    path = env["media"].get(name, name)
    return ClipJob(clip_id or f"clip-{name}", f"Clip {name}", path, RATE, start, frames, RATE,
                   86400 + start, frames, timeline_name="tl", **kw)


@pytest.fixture
def client(env):
    with EngineClient(env["url"], env["token"]) as c:
        yield c


def wait_until(pred, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def raw(env, method, path, **kw) -> httpx.Response:
    headers = kw.pop("headers", {"Authorization": f"Bearer {env['token']}"})
    return httpx.request(method, env["url"] + path, headers=headers, timeout=30, **kw)


# -- token ------------------------------------------------------------------------------------
def test_token_file_is_private_and_stable(env):
    path = token_path()
    assert path.parent == env["base"] / "config"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert load_token() == env["token"] and len(env["token"]) >= 40
    assert check_token(env["token"], env["token"]) and not check_token(env["token"][:-1] + "x", env["token"])
    assert not check_token(None, env["token"]) and not check_token("", env["token"])


def test_token_created_with_0600_and_group_readable_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKVAT_FOLEY_CONFIG_DIR", str(tmp_path / "cfg"))
    with pytest.raises(FileNotFoundError, match="engine token"):
        load_token(create=False)
    token = load_token()
    assert stat.S_IMODE(token_path().stat().st_mode) == 0o600
    assert load_token(create=False) == token
    os.chmod(token_path(), 0o644)
    with pytest.raises(PermissionError, match="chmod 600"):
        load_token()


# -- auth and request hygiene -----------------------------------------------------------------
def test_info(client, env):
    info = client.info()
    assert info["sha256"] == env["engine"].info()["sha256"] and info["device"] == "cpu"
    assert {"version", "model", "dtype", "device_memory"} <= set(info)
    assert info["queue"]["queued"] == 0 and info["output_dir"] == os.path.realpath(env["out"])


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": "Basic abc"}, {"Authorization": "Bearer"}])
def test_missing_or_wrong_token_rejected(env, headers):
    for method, path in (("GET", "/v1/info"), ("POST", "/v1/jobs"), ("GET", "/v1/jobs/x/results")):
        r = raw(env, method, path, headers=headers, json={"jobs": []})
        assert r.status_code == 401 and "token" in r.json()["error"]
        assert r.headers["www-authenticate"] == "Bearer"
    with EngineClient(env["url"], "not-the-token") as bad, pytest.raises(EngineError) as e:
        bad.info()
    assert e.value.status == 401


def test_malformed_and_wrong_requests_rejected_with_clear_json(env):
    good = clip(env).to_dict()
    cases = [
        (b"{not json", 400, "malformed JSON"),
        (b"[1, 2]", 422, "JSON object"),
        (json.dumps({"jobs": [good], "extra": 1}), 422, "unknown field(s) extra"),
        (json.dumps({"params": {}}), 422, "missing field(s) jobs"),
        (json.dumps({"jobs": "x"}), 422, "list of 1 to"),
        (json.dumps({"jobs": [dict(good, source_start="ten")]}), 422, "jobs[0].source_start"),
        (json.dumps({"jobs": [dict(good, media_rate="0")]}), 422, "media_rate must be positive"),
        (json.dumps({"jobs": [dict(good, bogus=1)]}), 422, "unknown field(s) bogus"),
        (json.dumps({"jobs": [{"clip_id": "x"}]}), 422, "missing field(s)"),
        (json.dumps({"jobs": [dict(good, record_duration=0)]}), 422, "durations must be positive"),
        (json.dumps({"jobs": [good], "params": {"takes": 1000}}), 422, "params.takes"),
        (json.dumps({"jobs": [good], "params": {"temprature": 1}}), 422, "temprature"),
        (json.dumps({"jobs": [good], "params": {"guidance": "high"}}), 422, "params.guidance"),
    ]
    for body, status, text in cases:
        r = raw(env, "POST", "/v1/jobs", content=body)
        assert r.status_code == status, (body, r.text)
        assert text in r.json()["error"], (body, r.text)
    assert raw(env, "GET", "/v1/jobs/" + "0" * 32).status_code == 404
    assert env["app"].state.queue.queued == 0


def test_oversized_bodies_rejected_before_parsing(env):
    big = json.dumps({"jobs": [clip(env).to_dict()] * 1000})
    assert len(big) > 64 * 1024
    r = raw(env, "POST", "/v1/jobs", content=big)
    assert r.status_code == 413 and "limit" in r.json()["error"]

    def chunks():  # no Content-Length: counted while read
        for _ in range(10):
            yield b" " * 10_000

    r = raw(env, "POST", "/v1/jobs", content=chunks())
    assert r.status_code == 413


def test_output_path_escapes_refused(env, tmp_path):
    good = clip(env).to_dict()
    os.symlink(tmp_path, env["out"] / "link-out")
    for sub in ("../x", "/tmp/x", "a/../../b", "link-out", "link-out/deeper", "..\\x", ""):
        r = raw(env, "POST", "/v1/jobs", json={"jobs": [good], "out_subdir": sub})
        assert r.status_code == 400, (sub, r.text)
    outside = tmp_path / "take.wav"
    soundfile.write(outside, np.zeros(4800, np.float32), 48000)
    take = Take("clip-a", 1, str(outside), 48000, 4800, 0).to_dict()
    body = {"job": good, "take": take, "start_frame": 0, "end_frame": 12}
    r = raw(env, "POST", "/v1/region", json=body)
    assert r.status_code == 400 and "outside the engine's output folder" in r.json()["error"]
    inside = env["out"] / "take.wav"
    soundfile.write(inside, np.zeros(4800, np.float32), 48000)
    take_in = dict(take, path=str(inside), metadata={"codes_path": str(tmp_path / "c.npy")})
    r = raw(env, "POST", "/v1/region", json=dict(body, take=take_in))
    assert r.status_code == 400 and "codes_path" in r.json()["error"]
    r = raw(env, "POST", "/v1/region", json=dict(body, take=dict(take_in, metadata={}), end_frame=99))
    assert r.status_code == 422 and "region" in r.json()["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_nothing_listening_is_engine_unavailable():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with EngineClient(f"http://127.0.0.1:{port}", "t") as c, pytest.raises(EngineUnavailable, match=str(port)):
        c.info()


# -- generation through the server ------------------------------------------------------------
def check_take(take: Take, job: ClipJob, seed: int) -> None:
    assert take.clip_id == job.clip_id and take.seed == seed
    ref, n = sample_span(job.record_start, job.record_end, job.timeline_rate, take.sample_rate)
    assert (take.time_reference, take.num_samples) == (ref, n)
    assert soundfile.info(take.path).frames == n


def test_two_concurrent_clients_get_their_own_results(env):
    got: dict[str, list] = {}
    errors = []

    def run(who: str, name: str, seeds: list[int]) -> None:
        try:
            with EngineClient(env["url"]) as c:  # finds the token itself
                ids = [(c.submit([clip(env, name, f"{who}-{s}")], GenerationParams(
                    seed=s, takes=1, steps=2, guidance=1.0)), s) for s in seeds]
                got[who] = [(c.wait(i, poll=0.05), s) for i, s in ids]
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=run, args=("x", "a", [11, 12])),
               threading.Thread(target=run, args=("y", "b", [21, 22]))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    for who, name in (("x", "a"), ("y", "b")):
        for (results,), seed in got[who]:
            assert results.ok and results.clip_id == f"{who}-{seed}"
            check_take(results.takes[0], clip(env, name, f"{who}-{seed}"), seed)
            assert os.path.realpath(results.takes[0].path).startswith(os.path.realpath(env["out"]))


def test_missing_media_fails_only_its_clip(client, env, tmp_path):
    jobs = [clip(env, "a", "good"), clip(env, str(tmp_path / "gone.mp4"), "gone")]
    jid = client.submit(jobs, FAST, out_subdir="missing-media")
    good, gone = client.wait(jid, poll=0.05)
    assert good.ok and len(good.takes) == 1
    check_take(good.takes[0], jobs[0], 1)
    assert not gone.ok and "gone.mp4" in gone.error and not gone.takes
    st = client.status(jid)
    assert st["state"] == "done" and {p["stage"] for p in st["progress"]} == {"done", "failed"}
    # The result JSON is beside the takes.
    doc = json.loads((env["out"] / "missing-media" / f"maskvat-job-{jid}.json").read_text())
    assert doc["state"] == "done" and [r["clip_id"] for r in doc["results"]] == ["good", "gone"]


def test_server_survives_failing_jobs(client, env):
    # A corrupt media file fails its clip (and so its one-clip job); the server goes on.
    (res,) = client.wait(client.submit([clip(env, "corrupt")], FAST), poll=0.05)
    assert not res.ok and res.error
    # A take whose file is not audio makes the engine raise: the whole job fails with the message.
    junk = env["out"] / "junk.wav"
    junk.write_bytes(b"not a wav at all")
    jid = client.region(clip(env), Take("clip-a", 3, str(junk), 48000, 48000, 0), 0, 12, FAST)
    with pytest.raises(EngineError, match="failed"):
        client.wait(jid, poll=0.05)
    assert client.status(jid)["error"]
    # Still serving, and still generating.
    assert client.info()["queue"]["running"] is None
    (ok,) = client.wait(client.submit([clip(env, "b", "after")], FAST), poll=0.05)
    assert ok.ok and ok.takes


def test_cancel_queued_and_running(client, env):
    long_params = GenerationParams(seed=5, takes=2, steps=24, guidance=1.0)
    running = client.submit([clip(env, "a", f"r{i}") for i in range(6)], long_params)
    queued = client.submit([clip(env, "b", "never")], FAST, out_subdir="never-ran")
    st = client.cancel(queued)
    assert st["state"] == "cancelled"
    wait_until(lambda: client.status(running)["state"] != "queued")
    stop = threading.Event()
    stop.set()
    with pytest.raises(Cancelled):
        client.wait(running, cancel=stop, poll=0.05)
    assert client.status(running)["state"] == "cancelled"
    # The queued job never ran: only its result file, no takes.
    assert [p.name for p in (env["out"] / "never-ran").iterdir()] == [f"maskvat-job-{queued}.json"]
    with pytest.raises(Cancelled):
        client.wait(queued)


def test_regenerate_hits_the_feature_cache(client, env):
    engine = env["engine"]
    job = clip(env, "b", "regen", frames=20, start=2)
    (first,) = client.wait(client.submit([job], GenerationParams(seed=7, takes=1, steps=2)), poll=0.05)
    calls, hits = engine.feature_calls, engine.cache.stats.hits
    jid, seed = client.regenerate(job, GenerationParams(takes=1, steps=2), seed=8)
    (second,) = client.wait(jid, poll=0.05)
    assert seed == 8 and second.takes[0].seed == 8
    assert engine.feature_calls == calls and engine.cache.stats.hits == hits + 1
    check_take(second.takes[0], job, 8)
    # With the first seed again the take is reproduced exactly.
    jid, _ = client.regenerate(job, GenerationParams(takes=1, steps=2), seed=7)
    (again,) = client.wait(jid, poll=0.05)
    a, _ = soundfile.read(first.takes[0].path)
    b, _ = soundfile.read(again.takes[0].path)
    assert np.array_equal(a, b)
    # No seed given: the server picks a fresh one and says which.
    jid, fresh = client.regenerate(job, GenerationParams(takes=1, steps=2))
    (new,) = client.wait(jid, poll=0.05)
    assert new.takes[0].seed == fresh


def test_engine_contract_with_foreign_out_dir_and_region(client, env, tmp_path):
    job = clip(env, "a", "contract")
    seen = []
    (res,) = client.generate([job], FAST, out_dir=str(tmp_path / "media"), progress=seen.append)
    take = res.takes[0]
    assert os.path.dirname(take.path) == str(tmp_path / "media")
    assert os.path.isfile(take.metadata["engine_path"]) and seen and seen[-1].stage == "done"
    check_take(take, job, 1)
    new = client.regenerate_region(job, take, 6, 12, GenerationParams(seed=99, takes=1, steps=2),
                                   out_dir=str(tmp_path / "media"))
    assert os.path.dirname(new.path) == str(tmp_path / "media") and new.seed == 99
    assert new.metadata["region"] == [6, 12]
    check_take(new, job, 99)


def test_queue_full_is_503(env):
    params = GenerationParams(seed=1, takes=2, steps=24, guidance=1.0)
    app = create_app(env["engine"], token=env["token"], output_dir=env["out"] / "small", max_queued=1)
    server = RunningServer(app)
    try:
        with EngineClient(server.url, env["token"]) as c:
            busy = c.submit([clip(env, "a", f"busy{i}") for i in range(4)], params)
            wait_until(lambda: c.status(busy)["state"] != "queued")
            waiting = c.submit([clip(env)], FAST)
            r = httpx.post(server.url + "/v1/jobs", json={"jobs": [clip(env).to_dict()]},
                           headers={"Authorization": f"Bearer {env['token']}"})
            assert r.status_code == 503 and "full" in r.json()["error"] and r.headers["retry-after"]
            c.cancel(waiting)
            c.cancel(busy)
    finally:
        server.stop()
    assert app.state.queue.get(busy).state.value == "cancelled"


class OomOnBatches:
    """The real engine, behind a device that runs out of memory on more than one clip at once."""

    def __init__(self, engine):
        self.engine, self.batches = engine, []

    def info(self):
        return self.engine.info()

    def generate(self, jobs, params, **kw):
        self.batches.append([j.clip_id for j in jobs])
        if len(jobs) > 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if jobs[0].clip_id == "huge":
            import torch

            raise torch.cuda.OutOfMemoryError("CUDA out of memory (simulated)")
        return self.engine.generate(jobs, params, **kw)

    def regenerate_region(self, *a, **kw):
        return self.engine.regenerate_region(*a, **kw)


def test_out_of_memory_splits_the_batch_then_reports_per_clip(env, tmp_path):
    oom = OomOnBatches(env["engine"])
    queue = JobQueue(oom)
    try:
        jobs = [clip(env, "a", "c1"), clip(env, "b", "huge"), clip(env, "a", "c3")]
        job = queue.wait(queue.submit(jobs, FAST, str(tmp_path)).id, timeout=120)
    finally:
        queue.shutdown()
    assert job.state.value == "done"
    assert oom.batches == [["c1", "huge", "c3"], ["c1"], ["huge", "c3"], ["huge"], ["c3"]]
    by_id = {r.clip_id: r for r in job.results}
    assert by_id["c1"].ok and by_id["c3"].ok
    assert "out of GPU memory" in by_id["huge"].error


def test_queue_bounded_and_shutdown_cancels_waiting(env, tmp_path):
    queue = JobQueue(env["engine"], max_queued=2)
    slow = GenerationParams(seed=1, takes=2, steps=24, guidance=1.0)
    first = queue.submit([clip(env, "a", f"s{i}") for i in range(4)], slow, str(tmp_path))
    wait_until(lambda: first.state.value != "queued")
    waiting = [queue.submit([clip(env)], FAST, str(tmp_path)) for _ in range(2)]
    with pytest.raises(QueueFull):
        queue.submit([clip(env)], FAST, str(tmp_path))
    queue.shutdown(cancel_running=True, timeout=60)
    assert first.state.value == "cancelled"
    assert all(w.state.value == "cancelled" and w.started is None for w in waiting)


def test_ensure_local_engine_starts_a_server_or_reports_why(env, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EngineUnavailable, match="model folder not found"):
        ensure_local_engine(str(tmp_path / "no-model"), port=port, device="cpu", timeout=60)
    client = ensure_local_engine(env["model"], port=port, device="cpu", timeout=90,
                                 output_dir=str(tmp_path / "out"), cache_dir=str(tmp_path / "cache"))
    try:
        assert client.process is not None
        assert client.info()["sha256"] == env["engine"].info()["sha256"]
        again = ensure_local_engine(env["model"], port=port)  # already running: just a client
        assert again.process is None and again.info()["output_dir"] == os.path.realpath(tmp_path / "out")
        again.close()
    finally:
        client.process.terminate()
        client.process.wait(30)
        client.close()
