#!/usr/bin/env bash
# Kill-and-resume test of run_full.py: three short runs (3 epochs of STEPS steps each) that must end bit for bit
# equal. A: uninterrupted. B: SIGKILL during epoch 2 (right after epoch 1's checkpoint), then run again.
# C: a clean stop after epoch 1 (--epochs 1), then run again with --epochs 3 (a run extended later).
#   bash book/_tools/reference_oracle/resume_test.sh [WORKDIR] [STEPS]
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
W="${1:-/work/oracle/resume_test}"; STEPS="${2:-20}"
PY="${REF_PY:-/work/oracle/ref/bin/python}"
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
export THEANO_FLAGS="${THEANO_FLAGS:-floatX=float32,device=cpu,mode=FAST_RUN,blas.ldflags=-lopenblas,base_compiledir=/work/oracle/theano_cache}"
SUB="${REF_SUBSET:-/work/campaign/ref/subsets/labels100-subset1.npz}"
rm -rf "$W"; mkdir -p "$W"
run() { "$PY" "$HERE/run_full.py" --subset "$SUB" --seed 1 --steps-per-epoch "$STEPS" "$@"; }

run --epochs 3 --out "$W/A" > "$W/A.log" 2>&1

# the python process itself in the background (not a subshell around it), so that the kill reaches it
"$PY" "$HERE/run_full.py" --subset "$SUB" --seed 1 --steps-per-epoch "$STEPS" --epochs 3 --out "$W/B" > "$W/B1.log" 2>&1 &
pid=$!
until [[ -f "$W/B/ckpt.npz" ]]; do sleep 0.1; kill -0 $pid 2>/dev/null || { echo "B ended early"; exit 1; }; done
kill -9 $pid; wait $pid 2>/dev/null || true; sleep 1
kill -0 $pid 2>/dev/null && { echo "B still running after the kill"; exit 1; }
echo "B: killed (SIGKILL) with $(grep -c '\[m\]' "$W/B1.log") epoch(s) reported; $(ls "$W/B")"
run --epochs 3 --out "$W/B" > "$W/B2.log" 2>&1

run --epochs 1 --out "$W/C" > "$W/C1.log" 2>&1
run --epochs 3 --out "$W/C" > "$W/C2.log" 2>&1

grep -h "resumed" "$W/B2.log" "$W/C2.log"
grep -q "after epoch 1$" "$W/B2.log" && grep -q "after epoch 1$" "$W/C2.log" || { echo "not resumed after epoch 1"; exit 1; }
"$PY" "$HERE/resume_check.py" "$W/A" "$W/B" "$W/C"
