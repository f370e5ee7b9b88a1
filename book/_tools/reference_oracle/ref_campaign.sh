#!/usr/bin/env bash
# The authors' code (run_full.py) on the library's labelled subsets, full runs, one after another (issue 35, item 2).
#
#   OMP_NUM_THREADS=1 nohup setsid nice -n 5 bash book/_tools/reference_oracle/ref_campaign.sh >> /work/campaign/ref.log 2>&1 &
#   bash book/_tools/reference_oracle/ref_campaign.sh --list     # done / running / waiting, epochs so far
#   bash book/_tools/reference_oracle/ref_campaign.sh --collect  # book/results/reference/<job>.json (partial ones too)
#
# Each job: the final script of openai/improved-gan (Theano, float32, one thread) on the labelled images and
# validation images of the library's run `TrainConfig(labels=L, seed=s)` (export_subset.py writes them to
# REF_DIR/subsets/ when missing, with the library's venv), weight seed s. Runs live in REF_DIR/runs/<job>/
# (ckpt.npz every epoch, record.json), their output in REF_DIR/runs/<job>.log; running the script again continues
# every job from its last checkpoint. A job is locked (flock on <job>.lock) by the process that runs it, so a second
# copy takes the next job (use one: the other core is the library's). A job counts as done when REF_DIR/runs/<job>/done
# exists or its stored record in book/results/reference/ says "finished": true. `--collect` writes every job that
# has a record here, finished or not (partial: "partial": true). Checkpoints are never committed. The body is one
# { ... } block, read whole before it runs: editing this file does not change (or break) a running queue.
set -euo pipefail
{
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(cd "$HERE/../../.." && pwd)"
REF_DIR="${REF_DIR:-/work/campaign/ref}"
PY="${REF_PY:-/work/oracle/ref/bin/python}"        # the Theano env (README.md, "Set-up")
LIBPY="${LIB_PY:-$ROOT/.venv/bin/python}"          # the library's env, only to export a missing subset
export SSGAN_DATA_DIR="${SSGAN_DATA_DIR:-$(cd "$ROOT/.." && pwd)/shared/data}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" OPENBLAS_NUM_THREADS="${OMP_NUM_THREADS:-1}"
export THEANO_FLAGS="${THEANO_FLAGS:-floatX=float32,device=cpu,mode=FAST_RUN,blas.ldflags=-lopenblas,base_compiledir=/work/oracle/theano_cache}"
RESULTS="$ROOT/book/results/reference"

# job | labels | subset (= the library's seed, = the weight seed) | epochs
JOBS=(
  # each job fits in one session (the machine may be wiped between sessions and checkpoints are never
  # committed): 100 epochs of 100 labels ~1.9 h, 60 epochs of 20 labels ~70 min, on one core each. Subset 1 last:
  # a partial record of it (67 epochs) is stored, and ../shared/reference-runs/subset1/ holds two runs to epoch 90
  # the order puts first what has no stored record; a restarted job overwrites its stored partial record only
  # once it has more epochs (collect.py)
  "labels20-subset2|20|2|60"       # book/results/labels_20/seed{1,2}.json
  "labels100-subset3|100|3|100"   # the headline's subsets (book/results/headline/final-300-seed{1,2,3}.json)
  "labels100-subset2|100|2|100"
  "labels100-subset1|100|1|100"
  # 20 labels, subset 1, as long as the library's run (120 epochs): at epoch 60 the authors' code stood lower than
  # the library, at each run's end (60 against 120 epochs) higher; does it fall too when it runs on? (~3.5 h; the
  # stored 60-epoch record is kept until this run has more epochs)
  "labels20-subset1|20|1|120"
)

mkdir -p "$REF_DIR/runs" "$REF_DIR/subsets"
# with the kernel's autogroups, a process's nice counts only inside its session: started with setsid, the queue is
# a session of its own and competes with an interactive shell as an equal unless its autogroup gets the nice too
echo "$(nice)" > /proc/self/autogroup 2>/dev/null || true
# a record (run here or stored) of a finished run of at least EPOCHS epochs: a job made longer runs again
long_enough() {  # RECORD EPOCHS
  python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); sys.exit(0 if r.get("finished") and r.get("epochs_done", 0) >= int(sys.argv[2]) else 1)' \
    "$1" "$2" 2>/dev/null
}
for entry in "${JOBS[@]}"; do
  IFS='|' read -r name labels subset epochs <<<"$entry"
  out="$REF_DIR/runs/$name"
  npz="$REF_DIR/subsets/labels$labels-subset$subset.npz"
  stored="$RESULTS/$name.json"
  if { [[ -f "$out/done" ]] && long_enough "$out/record.json" "$epochs"; } || long_enough "$stored" "$epochs"; then
    status=done
  elif [[ -f "$out/ckpt.npz" ]]; then status=started
  else status=waiting; fi
  if [[ "${1:-}" == "--collect" ]]; then
    if [[ -f "$out/record.json" ]]; then python3 "$HERE/collect.py" "$out" "$stored"; fi
    continue
  fi
  if [[ "${1:-}" == "--list" ]]; then
    if [[ $status != done && -e "$out.lock" ]] && ! flock -n "$out.lock" true 2>/dev/null; then
      status="$status, running"
    fi
    if [[ -f "$out/record.json" ]]; then
      status+=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); h = r["history"]
s = ", epoch %d of %d" % (r["epochs_done"], r["epochs_planned"])
if h:
    s += ", validation %.2f %% (averaged D), test error %.2f %%, %.0f s/epoch" % (
        100 * h[-1]["val_acc_avg"], 100 * h[-1]["test_err_avg"], h[-1]["seconds_train"] + h[-1]["seconds_measure"])
print(s)' \
        "$out/record.json" 2>/dev/null || true)
    fi
    echo "$name: $status (labels $labels, subset $subset, $epochs epochs)"; continue
  fi
  [[ $status == done ]] && continue
  exec 9>"$out.lock"
  if ! flock -n 9; then exec 9>&-; continue; fi  # another copy runs it
  if [[ -f "$out/done" ]] && long_enough "$out/record.json" "$epochs"; then exec 9>&-; continue; fi
  if [[ ! -f "$npz" ]]; then
    "$LIBPY" "$HERE/export_subset.py" --labels "$labels" --seed "$subset" --out "$npz"
  fi
  echo "$(date '+%F %T') $name: labels $labels, subset $subset, seed $subset, $epochs epochs$([[ -f "$out/ckpt.npz" ]] && echo ', resuming')"
  set +e
  "$PY" "$HERE/run_full.py" --subset "$npz" --seed "$subset" --epochs "$epochs" --out "$out" 2>&1 | tee -a "$out.log"
  rc=${PIPESTATUS[0]}
  set -e
  if [[ $rc == 0 ]] && grep -qs '"finished": true' "$out/record.json"; then
    touch "$out/done"; echo "$(date '+%F %T') $name: done"
  else
    echo "$(date '+%F %T') $name: stopped with exit status $rc"
  fi
  exec 9>&-
done
exit
}
