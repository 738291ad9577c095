"""`generate --reference FILE[:START-END] [--ref-guidance G]` and the reference through the engine
API: parsed exactly, bad sounds refused in one line before a model loads with every existing take
left as it was, and the reference carried through the server's JSON, its job queue and records,
and a regenerate."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import httpx
import numpy as np
import pytest

from audio_files import noise, write_audio
from conftest import copy_edit
from maskvat_foley.core.jobs import GenerationParams, ReferenceSpec
from maskvat_foley.plugin.cli import build_parser, main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "maskvat_foley", *args], capture_output=True, text=True,
                          timeout=600)


@pytest.fixture(scope="module")
def sounds(tmp_path_factory) -> dict[str, str]:
    from maskvat_foley.core.media.video_writer import write_video

    d = tmp_path_factory.mktemp("sound library")
    frames = [np.zeros((48, 64, 3), np.uint8)] * 12
    return {"good": str(write_audio(d / "glass.wav", noise(3, 48000, 2), 48000)),
            "silent": str(write_audio(d / "room tone.wav", np.zeros(48000), 48000)),
            "short": str(write_audio(d / "tick.flac", noise(0.1, 22050), 22050)),
            "junk": str((d / "junk.aiff").write_bytes(b"FORM" + os.urandom(999)) and d / "junk.aiff"),
            "mute video": str(write_video(d / "mute.mp4", frames, 24))}


def params_of(*argv: str) -> GenerationParams:
    from maskvat_foley.plugin.cli_generate import params_from_args

    return params_from_args(build_parser().parse_args(["generate", "t.otio", "-o", "o.otio", "--all", *argv]))


def test_the_options_parse_to_an_exact_absolute_reference(sounds, tmp_path, monkeypatch):
    monkeypatch.chdir(Path(sounds["good"]).parent)
    p = params_of("--reference", "glass.wav:0.25-1.5", "--ref-guidance", "4")
    assert p.reference == ReferenceSpec(sounds["good"], Fraction(1, 4), Fraction(3, 2)) and p.ref_guidance == 4.0
    p = params_of("--reference", sounds["good"])
    assert p.reference == ReferenceSpec(sounds["good"]) and p.ref_guidance == GenerationParams.ref_guidance
    assert params_of().reference is None
    text = build_parser()._subparsers._group_actions[0].choices["generate"].format_help()
    assert "--reference FILE[:START-END]" in text and "START and END in seconds" in text


@pytest.mark.parametrize("argv, message", [
    (["--reference", "glass.wav:3-1"], "--reference glass.wav:3-1: reference range 3-1 is empty"),
    (["--reference", "glass.wav:1:30-2"], "not minutes:seconds"),
    (["--reference", "glass.wav:1,5-2"], "no such file (a range is FILE[:START-END]"),
    (["--ref-guidance", "3"], "--ref-guidance needs --reference"),
    (["--reference", "glass.wav", "--ref-guidance", "50"], "--ref-guidance must be between 0 and 20, got 50"),
])
def test_bad_options_exit_2_with_one_line(foley_edit, sounds, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.chdir(Path(sounds["good"]).parent)
    rc = main(["generate", foley_edit["path"], "-o", str(tmp_path / "o.otio"), "--clip", "V1.1", *argv])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and message in err[0], err
    assert not (tmp_path / "o.otio").exists()


@pytest.mark.parametrize("which, message", [
    ("silent", "is silent (digital silence)"),
    ("short", "is 0.10 s long; it needs at least 0.25 s"),
    ("junk", "cannot read it as audio"),
    ("mute video", "the video has no audio track"),
    ("missing", "reference file not found"),
    ("range", "range 2-5 s is outside the file; the file is 3.00 s long"),
])
def test_a_bad_reference_is_one_line_and_no_take_is_lost(foley_edit, sounds, tmp_path, which, message):
    edit = copy_edit(foley_edit, tmp_path)
    media = tmp_path / "takes"
    media.mkdir()
    earlier = media / "edit_V1.1_7.wav"  # a take of an earlier run, where this run would write
    earlier.write_bytes(b"RIFF an earlier take")
    ref = {"missing": sounds["good"] + ".gone", "range": sounds["good"] + ":2-5"}.get(which, sounds.get(which))
    library = {p: Path(p).read_bytes() for p in sounds.values()}
    done = run_cli("generate", edit, "-o", str(tmp_path / "o.otio"), "--clip", "V1.1", "--seed", "7",
                   "--takes", "1", "--media-dir", str(media), "--reference", ref, "--model", "no-model-needed")
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1, done.stderr
    assert lines[0].startswith("maskvat-foley: error: reference ") and message in lines[0]
    assert "Traceback" not in done.stderr and not (tmp_path / "o.otio").exists()
    assert sorted(os.listdir(media)) == ["edit_V1.1_7.wav"] and earlier.read_bytes() == b"RIFF an earlier take"
    assert {p: Path(p).read_bytes() for p in sounds.values()} == library  # the library untouched


def test_a_model_without_reference_support_says_so_in_one_line(foley_edit, sounds, tiny_model, tmp_path):
    """The tiny model has no reference frames: asked only to hear the reference (--ref-mix 0), the
    command line says once that it cannot, without a traceback and without a timeline; at the
    default mix the reference's own sound goes into the takes (a steady noise: its texture)."""
    argv = ("generate", foley_edit["path"], "-o", str(tmp_path / "o.otio"), "--clip", "V1.1", "--clip", "V1.2",
            "--seed", "1", "--takes", "1", "--steps", "1", "--model", tiny_model, "--device", "cpu",
            "--reference", sounds["good"] + ":0.5-2")
    done = run_cli(*argv, "--ref-mix", "0")
    errors = [line for line in done.stderr.splitlines() if line.startswith("maskvat-foley: error:")]
    assert done.returncode == 1 and len(errors) == 1 and "does not hear a reference" in errors[0], done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "o.otio").exists()
    assert f"reference {sounds['good']} 0.5-2 s, sha256 " in done.stdout  # checked before the model loaded
    done = run_cli(*argv)
    assert done.returncode == 0 and (tmp_path / "o.otio").exists(), done.stderr
    assert "reference glass.wav 0.5-2 s: its texture under the takes' envelope at 1 (2 takes)" in done.stdout


# -- the engine API ------------------------------------------------------------------------------
class Recording:
    """The real engine, noting the parameters each call hands it."""

    def __init__(self, engine):
        self.engine, self.params = engine, []

    def info(self) -> dict:
        return self.engine.info()

    def generate(self, jobs, params, **kw):
        self.params.append(params)
        return self.engine.generate(jobs, params, **kw)

    def regenerate_region(self, *args, **kw):
        return self.engine.regenerate_region(*args, **kw)


@pytest.fixture(scope="module")
def served(tiny_model, tmp_path_factory):
    from maskvat_foley.core.engine.client import EngineClient
    from maskvat_foley.core.engine.engine import Engine
    from maskvat_foley.core.engine.server import RunningServer, create_app
    from maskvat_foley.core.engine.token import load_token

    base = tmp_path_factory.mktemp("served")
    engine = Recording(Engine(tiny_model, device="cpu", cache_dir=str(base / "cache")))
    token = load_token()
    server = RunningServer(create_app(engine, token=token, output_dir=base / "out"))
    client = EngineClient(server.url, token)
    yield {"engine": engine, "client": client, "url": server.url, "token": token, "out": base / "out"}
    client.close()
    server.stop()


def finish(client, job_id: str) -> None:
    """Wait for the job: takes from a model that hears references, else the engine's refusal."""
    from maskvat_foley.core.engine.client import EngineError

    try:
        client.wait(job_id, timeout=300)
    except EngineError as e:  # the tiny model has no reference frames: said in one line
        assert "reference" in str(e) and "\n" not in str(e) and "ValueError" not in str(e), e


def test_the_reference_travels_through_server_queue_records_and_regenerate(served, foley_edit, sounds,
                                                                           monkeypatch):
    from maskvat_foley.core import pipeline
    from maskvat_foley.core.engine.job import Job, result_name

    client, engine = served["client"], served["engine"]
    job = pipeline.open_timeline(foley_edit["path"]).job("V1.1")
    monkeypatch.chdir(Path(sounds["good"]).parent)  # a relative path is the caller's, made absolute
    sent = GenerationParams(seed=11, takes=1, steps=1, reference=ReferenceSpec("glass.wav", "1/3", "2.5"),
                            ref_guidance=4.0)
    expected = dataclasses.replace(sent, reference=ReferenceSpec(sounds["good"], Fraction(1, 3), Fraction(5, 2)))
    job_id = client.submit([job], sent)
    finish(client, job_id)
    assert engine.params[-1] == expected
    doc = json.loads((served["out"] / job_id / result_name(job_id)).read_text())
    assert doc["params"]["reference"] == {"path": sounds["good"], "start": "1/3", "end": "5/2"}
    assert Job.from_result_doc(doc, str(served["out"] / job_id)).params == expected  # after a restart too

    regen_id, seed = client.regenerate(job, dataclasses.replace(expected, seed=None))  # a new seed, same sound
    finish(client, regen_id)
    assert engine.params[-1] == dataclasses.replace(expected, seed=seed) and seed != 11


@pytest.mark.parametrize("reference, message", [
    ({"path": "glass.wav"}, "params.reference.path must be an absolute path"),
    ({"path": "/no/such/ref.wav"}, "params.reference: reference file not found: /no/such/ref.wav"),
    ({"path": "GOOD", "start": "1,5"}, "reference start must be seconds such as '1.5'"),
    ({"path": "GOOD", "start": 2.5}, "reference start must be exact seconds"),
    ({"path": "GOOD", "start": "3", "end": "1"}, "is empty"),
    ({"path": "GOOD", "volume": 1}, "unknown field(s) volume"),
    ("GOOD", "reference must be an object"),
])
def test_the_server_refuses_a_bad_reference_before_queueing(served, foley_edit, sounds, reference, message):
    from maskvat_foley.core import pipeline

    job = pipeline.open_timeline(foley_edit["path"]).job("V1.1")
    reference = json.loads(json.dumps(reference).replace("GOOD", sounds["good"]))
    calls = len(served["engine"].params)
    r = httpx.post(served["url"] + "/v1/jobs", headers={"Authorization": f"Bearer {served['token']}"},
                   json={"jobs": [job.to_dict()], "params": {"seed": 1, "takes": 1, "reference": reference}},
                   timeout=30)
    assert r.status_code == 422 and message in r.json()["error"], r.text
    r = httpx.post(served["url"] + "/v1/jobs", headers={"Authorization": f"Bearer {served['token']}"},
                   json={"jobs": [job.to_dict()], "params": {"seed": 1, "ref_guidance": -1}}, timeout=30)
    assert r.status_code == 422 and "ref_guidance must be a number between 0 and 20" in r.json()["error"]
    assert len(served["engine"].params) == calls  # nothing reached the engine
