#!/usr/bin/env bash
# Fetch into .whl/ (ignored by git) the wheels scripts/device_train.sh installs on a lent GPU machine:
# what `import dac`, the codecs and the engine's take writing need there and its image lacks
# (it has torch, torchaudio, numpy, scipy, einops, tqdm, safetensors, pyyaml, rich, tensorboard).
# Run here, where pip reaches PyPI; about 2.1 MB in all. Binary ones are for CPython 3.12 on x86-64.
#
#   bash scripts/device_wheels.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
mkdir -p .whl
# Binary (CPython 3.12, manylinux x86-64): take writing resamples with soxr; DAC's audiotools
# imports soundfile, which needs cffi's backend.
"$PY" -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 --platform manylinux_2_17_x86_64 \
    --platform manylinux2014_x86_64 -d .whl soxr==1.1.0 soundfile==0.14.0 cffi==2.1.1
# Pure Python: DAC and what its import (descript-audiotools) pulls in.
"$PY" -m pip download -q --no-deps --only-binary=:all: -d .whl descript-audio-codec==1.0.0 \
    descript-audiotools==0.7.2 docstring_parser==0.18.0 ffmpy==1.0.0 flatten-dict==0.5.0 \
    importlib_resources==7.1.0 julius==0.2.8
# Published as source only: built into wheels here.
"$PY" -m pip wheel -q --no-deps -w .whl argbind==0.3.9 randomname==0.2.1
ls -l .whl
du -ch .whl/*.whl | tail -n 1
