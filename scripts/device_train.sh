#!/usr/bin/env bash
# Train a FoleyWorld model end to end on a lent GPU machine, bundle it, and benchmark generation.
#
#   bash scripts/device_train.sh        (the device tool's command, with carry [".whl"]; see
#                                        core/train/README.md "On a lent GPU machine")
#
# Steps, each with its exit status recorded; a failing step does not stop the ones after it (a
# stage whose inputs are missing is skipped, saying why), and the benchmarks always run:
#   wheels    install .whl/*.whl (what the machine lacks: DAC and its needs, soundfile, soxr)
#   codec     maskvat-foley train codec   --config $CONFIG --device $DEVICE --max-minutes $CODEC_MINUTES
#             (its batches rendered by $DATA_WORKERS processes, as MaskVAT's token cache below)
#             (skipped when CODEC_FROM names a trained codec: a model or codec folder)
#   avsync    maskvat-foley train avsync  ...                              --max-minutes $AVSYNC_MINUTES
#             (skipped when AVSYNC_FROM names trained visual features: a model, avsync or transfer run folder)
#   maskvat   maskvat-foley train maskvat ... --codec, --avsync: the runs  --max-minutes $MASKVAT_MINUTES
#             and --until a wall-clock time that leaves the bundle and the benchmarks their time
#             (its token cache is built before the loop, with FoleyWorld clips rendered and encoded
#             by $DATA_WORKERS processes: by default all cores but two on a machine of 8 or more)
#   bundle    maskvat-foley train bundle -> $RUNS/model (its card says where each stage trained)
#   bench-$BENCH_CONFIG-1, bench-$BENCH_CONFIG-8
#             maskvat-foley bench generate --config $BENCH_CONFIG --takes 1, then --takes 8
#   bench-bundle   maskvat-foley bench generate --model $RUNS/model
# Without PyAV (the GPU machines have none) the benchmarks keep the clip's pictures in memory and
# their JSON says "video": "memory" ("pyav" where the clip went through a video file).
#
# Every step runs under a time limit, and all of them within TOTAL seconds (the device tool stops a
# command at 600 s). A stage's --max-minutes is lowered when its loop would leave the benchmarks
# less than BENCH_RESERVE seconds; a stage is stopped STAGE_GRACE seconds after its loop's minutes.
# A benchmark gets an equal share of the time left (at most BENCH_TIMEOUT), and is skipped when
# under 30 s are left.
#
# Files in $OUT (rewritten after every step, so a stopped run still brings back what it did; at
# most 8 files, each under 16 MB, as the device tool brings back), by scripts/device_report.py:
#   report.json     each step's exit status and seconds, what failed, where each stage trained,
#                   the benchmarks' JSON, the stages' summaries, the bundle's config.json
#   bench.json      the benchmarks' JSON alone
#   MODEL_CARD.md   the bundle's model card
#   runs.tar.gz     each stage's summary.json and metrics.jsonl, the bundle's config and card
#   log.txt         everything the steps printed
#   model.tar.gz    the bundled model (at the end), or model.tar.gz.part-aa, -ab.. of 15 MB each
#                   when it is bigger (`cat model.tar.gz.part-* > model.tar.gz`)
# Exit status 0 when every step passed, else 1; the last lines printed say which step failed.
#
# Settings (environment variables; defaults in brackets):
#   CONFIG [default]    training config: a name in resources/train_configs (default, tiny,
#                       paper, gpu-continue) or a JSON file
#   CODEC_FROM [] AVSYNC_FROM []   trained stages to reuse instead of training them, e.g.
#                       resources/default_model for both (with CONFIG=gpu-continue: the bundle's
#                       MaskVAT continued on more data at a GPU's batch size)
#   DEVICE [cuda]       --device of every step
#   RUNS [train-runs/device]   the run folders (an earlier run's are removed, its token caches kept)   OUT [out]
#   CODEC_MINUTES [1.5]  AVSYNC_MINUTES [1]  MASKVAT_MINUTES [2.5]   each stage's --max-minutes
#   MAX_STEPS []        each stage's --max-steps, when set (quick checks)
#   STAGE_GRACE [150]   seconds a stage may run past its loop's minutes (cache, validation, saving)
#   AFTER_MASKVAT [120] seconds kept between MaskVAT's --until and the benchmarks' reserve (its last
#                       validation and saving, and the bundle: 30 s left no time for the bundle on
#                       an H200, 50 s did)
#   STAGE_OVERHEAD [90] seconds a stage is expected to take beside its loop
#   TOTAL [575]         seconds for the whole script    BENCH_RESERVE [150]   seconds kept for benchmarks
#   BENCH_CONFIG [paper]   BENCH_ARGS [] (more options, e.g. "--seconds 2 --repeat 1")
#   BENCH_TIMEOUT [180] DATA_WORKERS [automatic]   PYTHON [python3]
#   BENCHES [1]         0: no benchmarks (recorded as "off", not as failures)
#   LEVEL_CLIPS [200]   FoleyWorld clips the bundle measures its output level on (train bundle --level-clips)
#   WHEELS [.whl] (empty: install none)      SITE [/tmp/site] (where the wheels go)
set -u

START=$(date +%s)
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
abspath() { case "$1" in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
PY=${PYTHON:-python3}
CONFIG=${CONFIG:-default}
case "$CONFIG" in */*|*.json) CONFIG=$(abspath "$CONFIG") ;; esac
DEVICE=${DEVICE:-cuda}
RUNS=$(abspath "${RUNS:-train-runs/device}")
OUT=$(abspath "${OUT:-out}")
CODEC_MINUTES=${CODEC_MINUTES:-1.5}
AVSYNC_MINUTES=${AVSYNC_MINUTES:-1}
MASKVAT_MINUTES=${MASKVAT_MINUTES:-2.5}
MAX_STEPS=${MAX_STEPS:-}
STAGE_GRACE=${STAGE_GRACE:-150}
AFTER_MASKVAT=${AFTER_MASKVAT:-120}
[ "$AFTER_MASKVAT" -lt 50 ] && AFTER_MASKVAT=50  # less leaves the bundle no time
CODEC_FROM=${CODEC_FROM:-}
AVSYNC_FROM=${AVSYNC_FROM:-}
[ -n "$CODEC_FROM" ] && CODEC_FROM=$(abspath "$CODEC_FROM")
[ -n "$AVSYNC_FROM" ] && AVSYNC_FROM=$(abspath "$AVSYNC_FROM")
STAGE_OVERHEAD=${STAGE_OVERHEAD:-90}
TOTAL=${TOTAL:-575}
BENCH_RESERVE=${BENCH_RESERVE:-150}
BENCH_CONFIG=${BENCH_CONFIG:-paper}
LEVEL_CLIPS=${LEVEL_CLIPS:-200}
read -r -a BENCH_OPTS <<<"${BENCH_ARGS:-}"
BENCH_TIMEOUT=${BENCH_TIMEOUT:-180}
WHEELS=${WHEELS-.whl}
SITE=${SITE:-/tmp/site}
[ -n "${DATA_WORKERS:-}" ] && export MASKVAT_FOLEY_DATA_WORKERS=$DATA_WORKERS
export PYTHONUNBUFFERED=1

cd "$ROOT" || exit 1
# Paths under the repo as relative ones: the commands a model records (its card, its config) never
# hold the machine's own folders.
inroot() { case "$1" in "$ROOT"/*) printf '%s\n' "${1#"$ROOT"/}" ;; *) printf '%s\n' "$1" ;; esac; }
RUNS=$(inroot "$RUNS")
CONFIG=$(inroot "$CONFIG")
[ -n "$CODEC_FROM" ] && CODEC_FROM=$(inroot "$CODEC_FROM")
[ -n "$AVSYNC_FROM" ] && AVSYNC_FROM=$(inroot "$AVSYNC_FROM")
mkdir -p "$RUNS" "$OUT" || exit 1
# An earlier run's folders go, never more, but MaskVAT's token caches stay: on a machine still warm
# from a call before, the next call trains at once instead of rendering its clips again (a cache is
# used only when its manifest matches the config, else rebuilt; the footage look's 1952 clips took
# about 250 s of 14 processes on an H200).
(cd "$RUNS" && rm -rf codec avsync model bench-*.json &&
    if [ -d maskvat ]; then find maskvat -mindepth 1 -maxdepth 1 ! -name 'cache*' -exec rm -rf {} +; fi)
LOG=$RUNS/log.txt
STEPS=$RUNS/steps.tsv
: >"$STEPS"
echo "device_train: config $CONFIG, device $DEVICE, runs $RUNS, out $OUT" | tee "$LOG"

elapsed() { echo $(( $(date +%s) - START )); }
report() { "$PY" "$ROOT/scripts/device_report.py" "$RUNS" "$OUT" "$CONFIG" "$DEVICE" "$(elapsed)" "$@"; }
# within SECONDS: SECONDS, or less when the script's TOTAL would be passed (20 s kept for the end)
within() { local left=$(( TOTAL - $(elapsed) - 20 )); [ "$1" -lt "$left" ] && echo "$1" || echo "$left"; }

# step NAME LIMIT STDOUT CMD...: CMD under a time limit (STDOUT "-": into the log), recorded.
step() {
    local name=$1 limit=$2 stdout=$3 t0 rc
    shift 3
    t0=$(date +%s)
    if [ "$limit" -lt 10 ]; then
        skip "$name" "no time left"
        return 1
    fi
    printf '\n===== %s (limit %s s): %s\n' "$name" "$limit" "$*" >>"$LOG"
    if [ "$stdout" = - ]; then
        timeout --kill-after=15 "$limit" "$@" >>"$LOG" 2>&1
    else
        timeout --kill-after=15 "$limit" "$@" >"$stdout" 2>>"$LOG"
    fi
    rc=$?
    if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
        echo "($name: stopped at its limit of $limit s)" >>"$LOG"
    fi
    printf '%s\t%s\t%s\n' "$name" "$rc" "$(( $(date +%s) - t0 ))" >>"$STEPS"
    echo "== $name: exit $rc after $(( $(date +%s) - t0 )) s"
    [ "$rc" = 0 ] || tail -n 12 "$LOG" | sed 's/^/   | /'
    report >/dev/null 2>&1
    return "$rc"
}
skip() {  # skip NAME REASON [STATUS]: STATUS "reused" (a trained stage given) or "off" is no failure
    printf '%s\t%s\t0\t%s\n' "$1" "${3:-skipped}" "$2" >>"$STEPS"
    echo "== $1: ${3:-skipped} ($2)"
}

# -- what the machine lacks ----------------------------------------------------------------------
if [ -n "$WHEELS" ] && compgen -G "$WHEELS/*.whl" >/dev/null; then
    step wheels 120 - "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
        --upgrade --target "$SITE" "$WHEELS"/*.whl && export PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
"$PY" - >>"$LOG" 2>&1 <<'EOF'
import importlib, sys
print("python", sys.version.split()[0])
for name in ("torch", "numpy", "dac", "soxr", "soundfile", "av"):
    try:
        print(name, getattr(importlib.import_module(name), "__version__", "?"))
    except Exception as exc:  # noqa: BLE001
        print(name, "not importable:", exc)
import torch
print("cuda:", torch.cuda.is_available() and torch.cuda.get_device_name(0))
EOF

# -- training ------------------------------------------------------------------------------------
MF=("$PY" -m maskvat_foley)
# minutes CAP: the stage's --max-minutes, less when the loop would eat into the benchmarks' reserve
# (the stage's start, data, validation and saving take about STAGE_OVERHEAD seconds beside it)
minutes() {
    "$PY" -c 'import sys; cap, left = float(sys.argv[1]), int(sys.argv[2]) / 60; print(round(max(0.25, min(cap, left)), 2))' \
        "$1" "$(( TOTAL - BENCH_RESERVE - STAGE_OVERHEAD - $(elapsed) ))"
}
# stage_limit MINUTES: the stage's hard limit, its loop's minutes and STAGE_GRACE, within TOTAL
stage_limit() { within "$("$PY" -c 'import sys; print(round(float(sys.argv[1]) * 60) + int(sys.argv[2]))' "$1" "$STAGE_GRACE")"; }
common=(--config "$CONFIG" --device "$DEVICE" --no-progress)
[ -n "$MAX_STEPS" ] && common+=(--max-steps "$MAX_STEPS")
# codec_or_avsync NAME FROM MINUTES: reuse FROM when given, else train NAME into $RUNS/NAME; prints the folder
# the later stages read it from.
codec_or_avsync() {
    if [ -n "$2" ]; then
        skip "$1" "$2" reused >&2
        echo "$2"
        return
    fi
    local m
    m=$(minutes "$3")
    step "$1" "$(stage_limit "$m")" - "${MF[@]}" train "$1" "${common[@]}" --out "$RUNS/$1" --max-minutes "$m" >&2
    echo "$RUNS/$1"
}
CODEC=$(codec_or_avsync codec "$CODEC_FROM" "$CODEC_MINUTES")
AVSYNC=$(codec_or_avsync avsync "$AVSYNC_FROM" "$AVSYNC_MINUTES")
trained() { [ -f "$1/summary.json" ] || [ -f "$1/config.json" ]; }  # a finished run, or a model folder
if trained "$CODEC" && trained "$AVSYNC"; then
    # The loop stops at UNTIL however long the token cache took to build before it.
    # (20 s more: every step's limit keeps 20 s of TOTAL for the end; see within)
    until=$(( START + TOTAL - BENCH_RESERVE - AFTER_MASKVAT - 20 ))
    m=$MASKVAT_MINUTES
    step maskvat "$(within $(( until - $(date +%s) + AFTER_MASKVAT / 2 )))" - "${MF[@]}" train maskvat \
        "${common[@]}" --out "$RUNS/maskvat" --codec "$CODEC" --avsync "$AVSYNC" --max-minutes "$m" --until "$until"
else
    skip maskvat "the codec or avsync run did not finish"
fi
if [ -f "$RUNS/maskvat/summary.json" ]; then
    step bundle "$(within 120)" - "${MF[@]}" train bundle --codec "$CODEC" --avsync "$AVSYNC" \
        --maskvat "$RUNS/maskvat" --out "$RUNS/model" --overwrite --level-clips "$LEVEL_CLIPS"
else
    skip bundle "no finished maskvat run"
fi

# -- benchmarks ----------------------------------------------------------------------------------
share() {  # share BENCHMARKS_LEFT: an equal share of the time left, at most BENCH_TIMEOUT
    local s=$(( (TOTAL - $(elapsed) - 20) / $1 ))
    [ "$s" -gt "$BENCH_TIMEOUT" ] && s=$BENCH_TIMEOUT
    [ "$s" -lt 30 ] && s=0
    echo "$s"
}
have_model=0
[ -f "$RUNS/model/config.json" ] && have_model=1
if [ "${BENCHES:-1}" = 0 ]; then
    for name in "bench-$BENCH_CONFIG-1" "bench-$BENCH_CONFIG-8" bench-bundle; do skip "$name" "BENCHES=0" off; done
    have_model=-1
fi
[ "$have_model" -ge 0 ] && for takes in 1 8; do
    left=$(( (takes == 1 ? 2 : 1) + have_model ))
    step "bench-$BENCH_CONFIG-$takes" "$(share "$left")" "$RUNS/bench-$BENCH_CONFIG-$takes.json" \
        "${MF[@]}" bench generate --config "$BENCH_CONFIG" --takes "$takes" --device "$DEVICE" "${BENCH_OPTS[@]}"
done
if [ "$have_model" = -1 ]; then
    :
elif [ "$have_model" = 1 ]; then
    step bench-bundle "$(share 1)" "$RUNS/bench-bundle.json" \
        "${MF[@]}" bench generate --model "$RUNS/model" --device "$DEVICE" "${BENCH_OPTS[@]}"
else
    skip bench-bundle "no bundled model"
fi

# -- what comes back -----------------------------------------------------------------------------
report --final || echo "device_train: the report could not be written (exit $?)"
awk -F'\t' '$2 != "0" && $2 != "reused" && $2 != "off" { bad = 1 } END { exit bad }' "$STEPS"
