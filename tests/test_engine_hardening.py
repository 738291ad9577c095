"""Issue #14, engine half: what an outside probe broke, each reproduced with real parts (a real
server on 127.0.0.1, the real Engine with a tiny random model, real PyAV video, a real FIFO, a real
engine process killed with SIGKILL). Every wait has a timeout; nothing here is timed."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import threading
import time
from fractions import Fraction

import httpx
import pytest

from conftest import engine_media
from maskvat_foley.core.engine.api import Cancelled
from maskvat_foley.core.engine.client import EngineClient, EngineError, ensure_local_engine
from maskvat_foley.core.engine.server import RunningServer, create_app
from maskvat_foley.core.engine.token import load_token
from maskvat_foley.core.jobs import ClipJob, GenerationParams

RATE = Fraction(24)
FAST = GenerationParams(seed=1, takes=1, steps=2, guidance=1.0)
WAIT = 120  # seconds any single wait may take before the test fails instead of hanging


@pytest.fixture(scope="module")
def env(tiny_model, tmp_path_factory):
    from maskvat_foley.core.engine.engine import Engine

    base = tmp_path_factory.mktemp("hardening")
    media = engine_media(base)
    engine = Engine(tiny_model, device="cpu", cache_dir=str(base / "cache"))
    return dict(model=tiny_model, media=media, engine=engine, token=load_token())


def clip(env, name="a", clip_id=None, frames=24, start=0, **kw) -> ClipJob:
    path = env["media"].get(name, name)
    fields = dict(clip_id=clip_id or f"clip-{name}", name=f"Clip {name}", media_path=path,
                  media_rate=RATE, source_start=start, source_duration=frames, timeline_rate=RATE,
                  record_start=86400 + start, record_duration=frames, timeline_name="tl")
    fields.update(kw)
    return ClipJob(**fields)


@contextlib.contextmanager
def served(engine, out, **kw):
    """A real server on 127.0.0.1 over ``engine`` writing under ``out``, and a client of it."""
    app = create_app(engine, token=load_token(), output_dir=out, **kw)
    server = RunningServer(app)
    try:
        with EngineClient(server.url, load_token()) as c:
            yield app, server, c
    finally:
        server.stop()


@contextlib.contextmanager
def fifo_at(path):
    """A named pipe at ``path``. On exit a writer opens and closes it, so a reader the code under
    test left blocked in open() (the defect) gets EOF instead of blocking the process for good."""
    os.mkfifo(path)
    try:
        yield str(path)
    finally:
        for _ in range(3):
            try:
                os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:  # ENXIO: no reader is waiting, nothing to release
                break


def call_with_timeout(fn, timeout=WAIT):
    """fn() on a thread; its result, or a test failure (not a hang) when it does not return."""
    out: dict = {}

    def run():
        try:
            out["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed to the test
            out["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn} still blocked after {timeout} s"
    if "error" in out:
        raise out["error"]
    return out["value"]


def post(server, path, token, **kw) -> httpx.Response:
    headers = dict({"Authorization": f"Bearer {token}"}, **kw.pop("headers", {}))
    return httpx.post(server.url + path, headers=headers, timeout=30, **kw)


# -- 1. a FIFO as media ------------------------------------------------------------------------
def test_fifo_media_fails_its_clip_and_the_worker_goes_on(env, tmp_path):
    with fifo_at(tmp_path / "pipe.mp4") as pipe, served(env["engine"], tmp_path / "out") as (_, _, c):
        jid = c.submit([clip(env, pipe, "pipe")], FAST)
        (res,) = c.wait(jid, poll=0.05, timeout=WAIT)
        assert not res.ok and "not a regular file" in res.error
        assert c.status(jid)["state"] == "failed"
        (after,) = c.wait(c.submit([clip(env, "a", "after")], FAST), poll=0.05, timeout=WAIT)
        assert after.ok and after.takes


def test_content_hash_and_engine_refuse_a_fifo_without_opening_it(env, tmp_path):
    from maskvat_foley.core.engine.feature_cache import content_hash

    with fifo_at(tmp_path / "pipe.mov") as pipe:
        with pytest.raises(ValueError, match="not a regular file"):
            call_with_timeout(lambda: content_hash(pipe))
        (res,) = call_with_timeout(lambda: env["engine"].generate(
            [clip(env, pipe, "pipe")], FAST, out_dir=str(tmp_path / "out")))
    assert not res.ok and "not a regular file" in res.error


# -- 2. frame counts bounded -------------------------------------------------------------------
def test_huge_durations_are_refused_before_anything_is_allocated(env, tmp_path):
    from maskvat_foley.core.engine.limits import MAX_CLIP_SECONDS

    good = clip(env).to_dict()
    with served(env["engine"], tmp_path / "out") as (app, server, _):
        for field in ("source_duration", "record_duration"):
            r = post(server, "/v1/jobs", env["token"], json={"jobs": [dict(good, **{field: 10**9})]})
            assert r.status_code == 422, r.text
            assert field in r.json()["error"] and f"{MAX_CLIP_SECONDS} s" in r.json()["error"]
        assert app.state.queue.queued == 0 and app.state.queue.running is None
    # The in-process engine (the CLI's path) refuses it too, as a failed clip.
    (res,) = env["engine"].generate([clip(env, record_duration=10**9, source_duration=10**9)],
                                    FAST, out_dir=str(tmp_path / "direct"))
    assert not res.ok and f"{MAX_CLIP_SECONDS} s" in res.error


def test_a_span_past_the_end_of_the_media_fails_before_decoding(env, tmp_path):
    seen = []
    calls = env["engine"].feature_calls
    (res,) = env["engine"].generate([clip(env, "b", "too-long", frames=240)], FAST,
                                    out_dir=str(tmp_path), progress=seen.append)
    assert not res.ok and "holds 24 frames" in res.error, res.error
    assert "decode" not in {p.stage for p in seen} and env["engine"].feature_calls == calls


# -- 3. cancelling keeps finished clips --------------------------------------------------------
class CancelAfterFirstClip:
    """The real engine; the moment its first clip is done, the job is cancelled through the queue
    (exactly what POST /cancel does), so the cancel always lands between the two clips."""

    def __init__(self, engine):
        self.engine, self.queue = engine, None

    def info(self):
        return self.engine.info()

    def generate(self, jobs, params, *, progress=None, cancel=None, **kw):
        def report(p):
            progress(p)
            if p.stage == "done":
                self.queue.cancel(self.queue.running.id)

        return self.engine.generate(jobs, params, progress=report, cancel=cancel, **kw)

    def regenerate_region(self, *a, **kw):
        return self.engine.regenerate_region(*a, **kw)


def test_cancel_mid_job_reports_the_clips_it_finished(env, tmp_path):
    engine = CancelAfterFirstClip(env["engine"])
    params = GenerationParams(seed=4, takes=2, steps=2, guidance=1.0)
    with served(engine, tmp_path / "out") as (app, server, c):
        engine.queue = app.state.queue
        jid = c.submit([clip(env, "a", "first"), clip(env, "b", "second")], params, out_subdir="cx")
        with pytest.raises(Cancelled) as stopped:
            c.wait(jid, poll=0.05, timeout=WAIT)
        (first,) = stopped.value.results
        assert first.clip_id == "first" and first.ok and sorted(t.seed for t in first.takes) == [4, 5]
        assert all(os.path.isfile(t.path) for t in first.takes)
        doc = c._call("GET", f"/v1/jobs/{jid}/results")
        assert doc["state"] == "cancelled" and [r["clip_id"] for r in doc["results"]] == ["first"]
        assert c.status(jid)["clips_done"] == 1
    on_disk = json.loads((tmp_path / "out" / "cx" / f"maskvat-job-{jid}.json").read_text())
    assert [r["clip_id"] for r in on_disk["results"]] == ["first"]
    assert sorted(p.name for p in (tmp_path / "out" / "cx").glob("*.wav")) == \
        sorted(os.path.basename(t.path) for t in first.takes)


# -- 4. a job whose every clip failed ----------------------------------------------------------
def test_a_job_whose_every_clip_failed_is_failed_not_done(env, tmp_path):
    with served(env["engine"], tmp_path / "out") as (_, _, c):
        jobs = [clip(env, "corrupt", "broken"), clip(env, str(tmp_path / "gone.mp4"), "gone")]
        jid = c.submit(jobs, FAST)
        # The client keeps the engine contract: per-clip failures come back as failed results.
        broken, gone = c.wait(jid, poll=0.05, timeout=WAIT)
        assert not broken.ok and not gone.ok and "gone.mp4" in gone.error
        st = c.status(jid)
        assert st["state"] == "failed" and "2 of 2 clip(s) failed" in st["error"]
        assert (st["clips_done"], st["clips_failed"]) == (0, 2)
        doc = c._call("GET", f"/v1/jobs/{jid}/results")
        assert doc["state"] == "failed" and all(r["error"] for r in doc["results"])
        # One clip of two failing is still done, with counts that say so.
        jid = c.submit([clip(env, "a", "fine"), clip(env, str(tmp_path / "gone.mp4"), "gone")], FAST)
        c.wait(jid, poll=0.05, timeout=WAIT)
        st = c.status(jid)
        assert st["state"] == "done" and (st["clips_done"], st["clips_failed"]) == (1, 1)
        # Through the engine contract (the CLI's --engine path, the panel, the host bridges).
        results = c.generate(jobs, FAST, out_dir=str(tmp_path / "elsewhere"))
        assert [r.ok for r in results] == [False, False]


# -- 5. validation gaps ------------------------------------------------------------------------
def test_rates_starts_and_nesting_are_validated(env, tmp_path):
    good = clip(env).to_dict()
    cases = [
        ({"jobs": [dict(good, media_rate="1e-9")]}, 422, "media_rate"),
        ({"jobs": [dict(good, media_rate="1e99999")]}, 422, "media_rate"),
        ({"jobs": [dict(good, timeline_rate="5000")]}, 422, "timeline_rate"),
        ({"jobs": [dict(good, timeline_rate=0.5)]}, 422, "timeline_rate"),
        ({"jobs": [dict(good, record_start=-100)]}, 422, "record_start"),
        ({"jobs": [dict(good, source_start=-1)]}, 422, "source_start"),
    ]
    with served(env["engine"], tmp_path / "out") as (app, server, _):
        for body, status, text in cases:
            r = post(server, "/v1/jobs", env["token"], json=body)
            assert r.status_code == status and text in r.json()["error"], (body, r.text)
        for deep in (b"[" * 100_000 + b"]" * 100_000,
                     b'{"jobs": ' + b"[" * 5000 + b"]" * 5000 + b"}"):
            r = post(server, "/v1/jobs", env["token"], content=deep)
            assert r.status_code == 400 and "nested" in r.json()["error"], r.text
        # Brackets inside strings are not nesting.
        r = post(server, "/v1/jobs", env["token"], json={"jobs": [dict(good, name="[" * 2000)]})
        assert r.status_code == 202, r.text
        c = EngineClient(server.url, env["token"])
        c.wait(r.json()["job_id"], poll=0.05, timeout=WAIT)
        c.close()
        assert app.state.queue.queued == 0


# -- 6. Host header, out_subdir swapped for a symlink, restart after kill -9 ------------------
def test_only_loopback_host_names_are_answered(env, tmp_path):
    with served(env["engine"], tmp_path / "out") as (_, server, _):
        port = server.port
        for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1.evil.example:{port}",
                     "localhost.evil.example", "[::2]", f"127.0.0.1:{port}x", "10.0.0.1"):
            r = httpx.get(server.url + "/v1/info", timeout=30, headers={
                "Authorization": f"Bearer {env['token']}", "Host": host})
            assert r.status_code == 403 and "Host" in r.json()["error"], (host, r.text)
        for host in (f"localhost:{port}", "LOCALHOST", "127.0.0.1", f"127.0.0.1:{port}",
                     f"[::1]:{port}", "[::1]"):
            r = httpx.get(server.url + "/v1/info", timeout=30, headers={
                "Authorization": f"Bearer {env['token']}", "Host": host})
            assert r.status_code == 200, (host, r.text)


class HoldFirstJob:
    """The real engine, except that a clip named 'hold' waits until released (bounded)."""

    def __init__(self, engine):
        self.engine, self.holding, self.release = engine, threading.Event(), threading.Event()

    def info(self):
        return self.engine.info()

    def generate(self, jobs, params, **kw):
        if jobs[0].clip_id == "hold":
            self.holding.set()
            assert self.release.wait(WAIT), "never released"
        return self.engine.generate(jobs, params, **kw)

    def regenerate_region(self, *a, **kw):
        return self.engine.regenerate_region(*a, **kw)


def test_out_subdir_swapped_for_a_symlink_after_submit_is_not_followed(env, tmp_path):
    engine = HoldFirstJob(env["engine"])
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    with served(engine, out) as (_, _, c):
        hold = c.submit([clip(env, "a", "hold")], FAST)
        assert engine.holding.wait(WAIT)
        (out / "late").mkdir()
        victim = c.submit([clip(env, "b", "victim")], FAST, out_subdir="late/deeper")
        (out / "late").rmdir()
        os.symlink(outside, out / "late")  # after the submit checked the path
        engine.release.set()
        c.wait(hold, poll=0.05, timeout=WAIT)
        with contextlib.suppress(EngineError):
            c.wait(victim, poll=0.05, timeout=WAIT)
        st = c.status(victim)
        assert st["state"] == "failed", st
    assert list(outside.rglob("*")) == []


class SwapWhileSampling:
    """The real engine; when sampling starts (the folder long checked), ``swap`` runs once."""

    def __init__(self, engine, swap):
        self.engine, self.swap, self.swapped = engine, swap, False

    def info(self):
        return self.engine.info()

    def generate(self, jobs, params, *, progress=None, **kw):
        def report(p):
            if p.stage == "sampling" and not self.swapped:
                self.swapped = True
                self.swap()
            progress(p)

        return self.engine.generate(jobs, params, progress=report, **kw)

    def regenerate_region(self, *a, **kw):
        return self.engine.regenerate_region(*a, **kw)


def test_out_folder_swapped_for_a_symlink_mid_job_is_not_written_through(env, tmp_path):
    outside, out = tmp_path / "outside", tmp_path / "out"
    outside.mkdir()

    def swap():
        os.rename(out / "mid", out / "mid-moved")
        os.symlink(outside, out / "mid")

    engine = SwapWhileSampling(env["engine"], swap)
    with served(engine, out) as (_, _, c):
        jid = c.submit([clip(env, "a", "swapped")], FAST, out_subdir="mid")
        (res,) = c.wait(jid, poll=0.05, timeout=WAIT)
        assert engine.swapped and not res.ok and "symlink" in res.error, res.error
        assert c.status(jid)["state"] == "failed"
    assert list(outside.rglob("*")) == []


def test_confined_refuses_symlinked_folders_and_creates_real_ones(tmp_path):
    from maskvat_foley.core.engine.outdir import UnsafeOutput, confined

    root = tmp_path / "root"
    root.mkdir()
    assert confined(str(root), str(root / "a" / "b")) == str(root / "a" / "b")
    assert (root / "a" / "b").is_dir() and not (root / "a").is_symlink()
    os.symlink(tmp_path, root / "a" / "link")
    for bad in (root / "a" / "link", root / "a" / "link" / "c", tmp_path / "elsewhere"):
        with pytest.raises(UnsafeOutput):
            confined(str(root), str(bad))
    assert not (tmp_path / "c").exists() and not (tmp_path / "elsewhere").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_restart_after_kill_reports_old_jobs_and_cleans_orphans(env, tmp_path):
    out = tmp_path / "out"
    client = ensure_local_engine(env["model"], port=free_port(), device="cpu", timeout=WAIT,
                                 output_dir=str(out), cache_dir=str(tmp_path / "cache"))
    proc = client.process
    try:
        done = client.submit([clip(env, "a", "early")], FAST, out_subdir="s")
        (early,) = client.wait(done, poll=0.05, timeout=WAIT)
        slow = GenerationParams(seed=2, takes=2, steps=64, guidance=1.0)
        running = client.submit([clip(env, "a", f"r{i}") for i in range(8)], slow)
        queued = client.submit([clip(env, "b", "q")], FAST)
        deadline = time.monotonic() + WAIT
        while client.status(running)["state"] != "running":
            assert time.monotonic() < deadline, "the job never started"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(WAIT)
    # What a kill mid-write leaves (shapes of the real leftovers, planted so none is left to luck).
    sub = out / "s"
    orphans = [sub / ".tl_x_7.wav.1a2b3c4d.partial", sub / ".maskvat" / "tl_x_7.codes.npy",
               sub / ".maskvat" / "tl_x_8.codes.npy.tmp.npy", sub / ".maskvat-job-0a1b2c.tmp"]
    for p in orphans:
        p.write_bytes(b"left over")
    kept = [sub / ".maskvat" / (os.path.basename(early.takes[0].path)[:-4] + ".codes.npy"),
            sub / "notes.partial.txt"]
    kept[1].write_text("the user's own file")
    assert all(p.exists() for p in kept)

    with served(env["engine"], out) as (_, _, c):
        st = c.status(done)
        assert st["state"] == "done"
        (again,) = c.results(done)
        assert again.takes[0].path == early.takes[0].path and os.path.isfile(again.takes[0].path)
        for jid in (running, queued):
            st = c.status(jid)
            assert st["state"] == "lost" and "stopped" in st["error"], st
            with pytest.raises(EngineError, match="lost"):
                c.wait(jid, timeout=WAIT)
        assert c._call("GET", f"/v1/jobs/{running}/results")["state"] == "lost"
        assert c.cancel(running)["state"] == "lost"
        with pytest.raises(EngineError) as unknown:
            c.status("0" * 32)
        assert unknown.value.status == 404
    assert not any(p.exists() for p in orphans) and all(p.exists() for p in kept)


def test_a_second_engine_on_a_live_folder_leaves_its_files_alone(env, tmp_path):
    out = tmp_path / "out"
    first = create_app(env["engine"], token=env["token"], output_dir=out)
    try:
        live = out / ".take.wav.0badf00d.partial"
        live.write_bytes(b"being written")
        second = create_app(env["engine"], token=env["token"], output_dir=out)
        second.state.queue.shutdown()
        second.state.history.close()
        assert live.exists() and not second.state.history.owner
    finally:
        first.state.queue.shutdown()
        first.state.history.close()


def test_engine_serve_answers_an_allowed_host_name_and_refuses_others(env, tmp_path):
    """`maskvat-foley engine serve --allow-host NAME`: for users who reach the engine by a name of
    their own; every other name still gets 403 before the token is looked at."""
    import subprocess
    import sys

    port = free_port()
    log = open(tmp_path / "engine.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "maskvat_foley", "engine", "serve", "--model", env["model"],
                             "--device", "cpu", "--port", str(port), "--output-dir", str(tmp_path / "out"),
                             "--allow-host", "studio-box.local"], stdout=log, stderr=subprocess.STDOUT)
    try:
        url, auth = f"http://127.0.0.1:{port}/v1/info", {"Authorization": f"Bearer {env['token']}"}
        deadline = time.monotonic() + WAIT
        while True:
            try:
                httpx.get(url, headers=auth, timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "engine.log").read_text()
                time.sleep(0.2)
        assert httpx.get(url, headers={**auth, "Host": f"studio-box.local:{port}"}, timeout=5).status_code == 200
        assert httpx.get(url, headers={**auth, "Host": "evil.example"}, timeout=5).status_code == 403
    finally:
        proc.terminate()
        proc.wait(WAIT)
        log.close()


def test_a_feature_cache_that_cannot_be_written_costs_speed_not_the_take(tiny_model, env, tmp_path, caplog):
    """A full disk or a read-only cache folder under the feature cache: the clip still gets its take."""
    from maskvat_foley.core.engine.engine import Engine

    cache = tmp_path / "cache"
    engine = Engine(tiny_model, device="cpu", cache_dir=str(cache))
    cache.chmod(0o500)
    try:
        if os.access(cache, os.W_OK):  # root ignores the mode: take the folder away instead
            cache.chmod(0o700)
            os.rename(cache, tmp_path / "gone")
            cache.write_text("a file where the cache folder was")
        (result,) = engine.generate([clip(env, "a", "cached")], FAST, out_dir=str(tmp_path / "out"))
    finally:
        if cache.is_dir():
            cache.chmod(0o700)
    assert result.ok and os.path.isfile(result.takes[0].path), result.error
    assert "feature cache not written" in caplog.text
