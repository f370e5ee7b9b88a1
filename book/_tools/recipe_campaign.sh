#!/usr/bin/env bash
# The CPU campaign that chooses the recipe (issue: "find the recipe behind the paper's 0.93 %").
#
# Every experiment: 100 labels, seeds 1-2 side by side, judged on the VALIDATION split (5,000 training images
# whose labels are never used); the test accuracy is stored as the run reports it and ranks nothing.
#
#   bash book/_tools/recipe_campaign.sh            # run (or continue) every experiment in order
#   bash book/_tools/recipe_campaign.sh --list     # what is done, running, waiting
#   bash book/_tools/recipe_campaign.sh --collect  # store finished runs in book/results/recipe/
#
# On a 2-core machine two lanes at one thread each finish more per hour than one lane at two threads: start it
# twice with OMP_NUM_THREADS=1; each experiment is locked (flock on <run>.lock) by the lane that trains it.
#
# Runs from a git worktree at a fixed commit (CAMPAIGN_COMMIT, default: HEAD when first started), writes to
# CAMPAIGN_DIR (default /work/campaign/runs), checkpoints every epoch and resumes after any interruption:
# running it again continues where it stopped. `--collect` copies each finished run's metrics.json (config,
# command, commit, device, wall time, history) to book/results/recipe/<name>.json (checkpoints are never committed).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CAMPAIGN_DIR="${CAMPAIGN_DIR:-/work/campaign/runs}"
WT="${CAMPAIGN_WT:-/work/campaign/wt}"
PY="${CAMPAIGN_PY:-$ROOT/.venv/bin/python}"
export SSGAN_DATA_DIR="${SSGAN_DATA_DIR:-$(cd "$ROOT/.." && pwd)/shared/data}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"

# name | train arguments (besides --labels 100 --seeds 2 --device cpu --quiet --out)
EXPERIMENTS=(
  "paper-90|--recipe paper-2016-06 --epochs 90"                       # paper-era: 60 epochs at 1e-3, 30 decaying
  "final-anneal-90|--recipe final --epochs 90 --lr-decay-epochs 30"   # final + the same annealing
  "final-90|--recipe final --epochs 90"                               # final as published, same length
  "paper-90-no-ddi|--recipe paper-2016-06 --epochs 90 --no-data-init" # data-dependent init vs none at lr 1e-3
  "paper-300|--recipe paper-2016-06 --epochs 300 --seeds 1"           # paper-era at full length, seed 1
)

if [[ ! -d "$WT" ]]; then
  mkdir -p "$(dirname "$WT")"
  git -C "$ROOT" worktree add --detach "$WT" "${CAMPAIGN_COMMIT:-HEAD}" >/dev/null
fi
echo "campaign at commit $(git -C "$WT" rev-parse --short HEAD), runs in $CAMPAIGN_DIR"

for entry in "${EXPERIMENTS[@]}"; do
  name="${entry%%|*}"; args="${entry#*|}"
  out="$CAMPAIGN_DIR/$name"
  if [[ -f "$out/metrics.json" ]]; then status=done
  elif [[ -f "$out/checkpoint.pt" ]]; then status=partial
  else status=waiting; fi
  if [[ "${1:-}" == "--collect" ]]; then
    dest="$ROOT/book/results/recipe/$name.json"
    if [[ $status == done && ! -f "$dest" ]]; then cp "$out/metrics.json" "$dest" && echo "stored $dest"; fi
    continue
  fi
  if [[ "${1:-}" == "--list" ]]; then
    if [[ $status != done ]] && ! flock -n "$out.lock" true 2>/dev/null; then status="$status, running"; fi
    echo "$name: $status ($args)"; continue
  fi
  [[ $status == done ]] && continue
  mkdir -p "$CAMPAIGN_DIR"
  exec 9>"$out.lock"
  if ! flock -n 9; then exec 9>&-; continue; fi  # another lane trains it
  if [[ -f "$out/metrics.json" ]]; then exec 9>&-; continue; fi  # finished while we looked
  resume=(); [[ -f "$out/checkpoint.pt" ]] && resume=(--resume)
  echo "$(date +%H:%M) $name: $args ${resume[*]:-}"
  # shellcheck disable=SC2086
  (cd "$WT" && "$PY" -m ssgan_lib train --labels 100 --seeds 2 --device cpu --quiet --out "$out" $args "${resume[@]}") || true
  exec 9>&-
done
