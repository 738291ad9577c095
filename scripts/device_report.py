"""The files scripts/device_train.sh brings back, from its run folder: written after every step, so a
run stopped at the device tool's limit still brings back what it had done.

    python3 scripts/device_report.py RUNS OUT CONFIG DEVICE SECONDS [--final]

``--final`` also packs the bundled model (model.tar.gz, or 15 MB parts of it) and prints the summary.
Standard library only: it runs before and without the project's packages.
"""
from __future__ import annotations

import json
import shutil
import sys
import tarfile
from pathlib import Path

STAGES = ("codec", "avsync", "maskvat")
PART = 15 * 10**6  # the device tool brings back files under 16 MB
LOG_LIMIT = 15 << 20


def _load(p: Path):
    if not p.exists():
        return None
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        return {"error": f"{p}: {exc}"}


def steps(runs: Path) -> list[dict]:
    out = []
    p = runs / "steps.tsv"
    for line in (p.read_text().splitlines() if p.is_file() else []):
        name, status, secs, *why = line.split("\t")
        out.append({"step": name, "exit": int(status) if status.lstrip("-").isdigit() else status,
                    "seconds": int(secs), **({"why": why[0]} if why else {})})
    return out


def stage_devices(summaries: dict) -> dict:
    """Where each stage trained: its summary's device, with the GPU's name."""
    out = {}
    for k, s in summaries.items():
        if isinstance(s, dict) and "device" in s:
            gpu = (s.get("environment") or {}).get("cuda")
            out[k] = f"{s['device']} ({gpu})" if gpu and str(s["device"]).startswith("cuda") else s["device"]
    return out


def write(runs: Path, out: Path, config: str, device: str, seconds: int, final: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    done = steps(runs)
    failed = [s["step"] for s in done if s["exit"] not in (0, "reused", "off")]
    summaries = {k: _load(runs / k / "summary.json") for k in STAGES}
    bench = {p.stem[len("bench-"):]: _load(p) for p in sorted(runs.glob("bench-*.json"))}
    report = {"config": config, "device": device, "script_seconds": seconds, "finished": final,
              "failed": failed, "steps": done, "trained_on": stage_devices(summaries), "bench": bench,
              "summaries": summaries, "bundle_config": _load(runs / "model" / "config.json")}
    (out / "report.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    (out / "bench.json").write_text(json.dumps(bench, indent=1) + "\n")
    card = runs / "model" / "MODEL_CARD.md"
    if card.is_file():
        shutil.copy(card, out / "MODEL_CARD.md")
    with tarfile.open(out / "runs.tar.gz", "w:gz") as tar:
        for k in STAGES:
            for name in ("summary.json", "metrics.jsonl"):
                if (runs / k / name).is_file():
                    tar.add(runs / k / name, f"{k}/{name}")
        for name in ("config.json", "MODEL_CARD.md"):
            if (runs / "model" / name).is_file():
                tar.add(runs / "model" / name, f"model/{name}")
        if (runs / "steps.tsv").is_file():
            tar.add(runs / "steps.tsv", "steps.tsv")
    log = (runs / "log.txt").read_bytes() if (runs / "log.txt").is_file() else b""
    (out / "log.txt").write_bytes(log if len(log) <= LOG_LIMIT else b"[... cut ...]\n" + log[-LOG_LIMIT:])
    if final and (runs / "model" / "config.json").is_file():
        pack_model(runs / "model", out)
    return report


def pack_model(model: Path, out: Path) -> None:
    whole = out / "model.tar.gz"
    with tarfile.open(whole, "w:gz") as tar:
        tar.add(model, "model")
    if whole.stat().st_size >= 16 * 10**6:
        data = whole.read_bytes()
        whole.unlink()
        for n, i in enumerate(range(0, len(data), PART)):
            (out / f"model.tar.gz.part-a{'abcdefghijklmnopqrstuvwxyz'[n]}").write_bytes(data[i:i + PART])


def main(argv: list[str]) -> int:
    final = "--final" in argv
    runs, out, config, device, seconds = [a for a in argv if a != "--final"]
    report = write(Path(runs), Path(out), config, device, int(seconds), final)
    if final:
        print(f"device_train: {len(report['steps'])} steps in {seconds} s; "
              f"failed: {', '.join(report['failed']) or 'none'}")
        for s in report["steps"]:
            print(f"  {s['step']:<16} {s['exit']!s:>8} {s['seconds']:>5} s  {s.get('why', '')}")
        for k, where in report["trained_on"].items():
            s = report["summaries"][k]
            print(f"  trained {k} on {where}: step {s.get('step')} ({s.get('stopped')}), "
                  f"{s.get('steps_per_s')} steps/s, val {json.dumps(s.get('val'))}")
        for name, b in report["bench"].items():
            if isinstance(b, dict) and "wall_seconds" in b:
                print(f"  bench {name}: {b['wall_seconds']} s wall, x{b['realtime_factor']} real time, "
                      f"{b['peak_memory_mb']} MB, video {b.get('video')}, on {b['device']}")
        print("files:", ", ".join(sorted(p.name for p in Path(out).iterdir())))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
