"""scripts/device_train.sh end to end on the CPU (tiny config), under a Python that cannot import
what a lent GPU machine lacks and the script does not carry there as wheels.

Slow for a test: seven Python processes that each import torch; about 60 s on an idle 2-core
machine (100 s on a busy one).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Installed here (the test extra, the panel, OTIO, PyAV ...) but neither on the GPU machines nor in
# the wheels the script installs there (.whl: descript-audio-codec, descript-audiotools, argbind,
# docstring-parser, ffmpy, flatten-dict, importlib-resources, julius, randomname, soundfile, cffi,
# soxr; see core/train/README.md "On a lent GPU machine").
NOT_THERE = [
    "av", "PySide6", "shiboken6", "Shiboken", "opentimelineio", "otio_aaf_adapter", "otio_cmx3600_adapter",
    "otio_fcp_adapter", "otio_kdenlive_adapter", "otio_mlt_adapter", "otio_xges_adapter", "aaf2", "fastapi",
    "starlette", "uvicorn", "pydantic", "pydantic_core", "annotated_types", "typing_inspection", "wavinfo",
    "pytestqt", "librosa", "audioread", "pooch", "pyloudnorm", "pystoi", "torch_stoi", "IPython", "jedi",
    "parso", "traitlets", "prompt_toolkit", "pexpect", "ptyprocess", "stack_data", "executing",
    "asttokens", "pure_eval", "matplotlib_inline", "ipython_pygments_lexers", "decorator", "wcwidth",
    "markdown2", "fire", "termcolor", "platformdirs", "pycparser", "opentelemetry", "pyflakes", "ruff",
    "tzdata",
]

BLOCKER = '''import sys

BLOCKED = set({names!r})


class _NotOnTheGpuMachine:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"{{name}} is not installed on the GPU machine")
        return None


sys.meta_path.insert(0, _NotOnTheGpuMachine())
'''


def blocking_env(tmp_path: Path) -> dict[str, str]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(BLOCKER.format(names=NOT_THERE))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
               TMPDIR=str(tmp))
    return env


def test_the_blocker_blocks(tmp_path):
    env = blocking_env(tmp_path)
    code = "import importlib.util, sys\ntry:\n import av\nexcept ImportError as e:\n print('blocked', e)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert "blocked" in out.stdout


@pytest.fixture(scope="module")
def device_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("device")
    env = blocking_env(tmp)
    env.update(PYTHON=sys.executable, CONFIG="tiny", DEVICE="cpu", WHEELS="", RUNS=str(tmp / "runs"),
               OUT=str(tmp / "out"), MAX_STEPS="2", CODEC_MINUTES="1", AVSYNC_MINUTES="1", MASKVAT_MINUTES="1",
               DATA_WORKERS="0", BENCH_CONFIG="tiny", BENCH_ARGS="--seconds 1 --repeat 1 --steps 2", TOTAL="500",
               LEVEL_CLIPS="3")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "device_train.sh")], env=env, capture_output=True,
                          text=True, timeout=560, cwd=str(tmp))
    return proc, tmp / "out"


def test_device_script_trains_bundles_and_benchmarks_without_pyav(device_run):
    proc, out = device_run
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "failed: none" in proc.stdout
    assert {"report.json", "bench.json", "MODEL_CARD.md", "runs.tar.gz", "log.txt", "model.tar.gz"} <= {
        p.name for p in out.iterdir()}
    assert len(list(out.iterdir())) <= 8
    report = json.loads((out / "report.json").read_text())
    assert report["failed"] == [] and report["finished"]
    assert [s["step"] for s in report["steps"]] == ["codec", "avsync", "maskvat", "bundle", "bench-tiny-1",
                                                    "bench-tiny-8", "bench-bundle"]
    assert report["trained_on"] == {"codec": "cpu", "avsync": "cpu", "maskvat": "cpu"}
    bench = json.loads((out / "bench.json").read_text())
    assert {k: (b["video"], b["takes"]) for k, b in bench.items()} == {
        "tiny-1": ("memory", 1), "tiny-8": ("memory", 8), "bundle": ("memory", 1)}
    assert bench["bundle"]["model"] == report["bundle_config"]["name"] == "maskvat-tiny"
    # The card and the bundle's config say where each stage trained.
    assert "steps/s on cpu x1" in (out / "MODEL_CARD.md").read_text()
    assert {report["bundle_config"]["info"][k]["device"] for k in ("codec", "avsync", "maskvat")} == {"cpu"}
    with tarfile.open(out / "runs.tar.gz") as tar:
        names = set(tar.getnames())
    assert {"codec/metrics.jsonl", "maskvat/summary.json", "model/config.json", "steps.tsv"} <= names
    with tarfile.open(out / "model.tar.gz") as tar:
        assert "model/config.json" in tar.getnames()


def test_device_script_continues_a_bundle_reusing_its_codec_and_features(device_run, tmp_path):
    """CODEC_FROM / AVSYNC_FROM (a lent GPU's recipe, CONFIG=gpu-continue): those stages are
    reused, not failed; MaskVAT trains on them and stops at --until; the bundle records where the
    reused stages trained."""
    import shutil

    _, first = device_run
    bundle = tmp_path / "bundle"
    shutil.copytree(first.parent / "runs" / "model", bundle)
    env = blocking_env(tmp_path)
    env.update(PYTHON=sys.executable, CONFIG="tiny", DEVICE="cpu", WHEELS="", RUNS=str(tmp_path / "runs"),
               OUT=str(tmp_path / "out"), MAX_STEPS="2", DATA_WORKERS="0", CODEC_FROM=str(bundle),
               AVSYNC_FROM=str(bundle), BENCHES="0", TOTAL="400", LEVEL_CLIPS="0")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "device_train.sh")], env=env, capture_output=True,
                          text=True, timeout=400, cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["failed"] == [] and report["finished"]
    assert {s["step"]: s["exit"] for s in report["steps"]} == {
        "codec": "reused", "avsync": "reused", "maskvat": 0, "bundle": 0, "bench-paper-1": "off",
        "bench-paper-8": "off", "bench-bundle": "off"}
    assert report["trained_on"] == {"maskvat": "cpu"}
    assert "--until" in report["summaries"]["maskvat"]["command"]
    info = report["bundle_config"]["info"]
    assert info["codec"]["device"] == info["avsync"]["device"] == "cpu"
    assert info["codec"]["step"] == json.loads((bundle / "config.json").read_text())["info"]["codec"]["step"]


def test_device_script_keeps_the_token_caches_of_a_call_before(tmp_path):
    """On a machine still warm from an earlier call, the run folders go but MaskVAT's token caches
    stay, so a second call trains at once (build_cache reuses a cache whose manifest matches)."""
    runs = tmp_path / "runs"
    for path in ("maskvat/cache/shard_00000.safetensors", "maskvat/cache_val/manifest.json",
                 "maskvat/state/train_state.json", "maskvat/summary.json", "model/config.json",
                 "codec/summary.json", "bench-paper-1.json"):
        (runs / path).parent.mkdir(parents=True, exist_ok=True)
        (runs / path).write_text("{}")
    env = blocking_env(tmp_path)
    missing = str(tmp_path / "no-such-model")  # neither stage is there: nothing trains
    env.update(PYTHON=sys.executable, DEVICE="cpu", WHEELS="", RUNS=str(runs), OUT=str(tmp_path / "out"),
               CODEC_FROM=missing, AVSYNC_FROM=missing, BENCHES="0", TOTAL="120")
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "device_train.sh")], env=env, capture_output=True,
                          text=True, timeout=120, cwd=str(tmp_path))
    assert "maskvat: skipped" in proc.stdout, proc.stdout + proc.stderr
    left = sorted(str(p.relative_to(runs)) for p in runs.rglob("*") if p.is_file() and p.parent != runs)
    assert left == ["maskvat/cache/shard_00000.safetensors", "maskvat/cache_val/manifest.json"]
