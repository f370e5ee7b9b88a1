#!/usr/bin/env bash
# The CPU campaign behind chapters 6 and 7: the recipe experiments, the label-rate study and the headline run.
#
# Recipe experiments: 100 labels, seeds 1-2 side by side, judged on the VALIDATION split (5,000 training images
# whose labels are never used); the test accuracy is stored as the run reports it and ranks nothing. The
# label-rate study (`python -m ssgan_lib reproduce`, 3 seeds, 50 epochs, the default recipe) follows the paper's
# protocol: no validation split, each run's test error once, after its last step.
#
#   bash book/_tools/campaign.sh            # run (or continue) every job in order
#   bash book/_tools/campaign.sh --list     # what is done, running, waiting
#   bash book/_tools/campaign.sh --collect  # store what has finished in book/results/
#
# Runs from a git worktree at a fixed commit (CAMPAIGN_COMMIT, default: HEAD when first started), writes to
# CAMPAIGN_DIR (default /work/campaign/runs); a training run checkpoints every epoch, a study group every 10 epochs,
# and running the script again continues where it stopped. A job whose result is stored in book/results/ counts as
# done, so on a fresh machine the script starts with the first job not stored yet. Each job is locked (flock on
# <job>.lock) by the process that runs it, so a second copy of the script (e.g. a second lane with
# OMP_NUM_THREADS=1) takes the next job. `--collect` copies each finished run's metrics.json (config, command,
# commit, device, wall time, history) to book/results/<dest>; each study job writes its own CSV (lanes never share a
# file), and `--collect` merges them with what is stored into book/results/label_rate_mnist.csv / .meta.json.
# Checkpoints are never committed. The body is one { ... } block, read whole before it runs: editing this file while
# a campaign runs does not change (or break) that campaign.
set -euo pipefail
{
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CAMPAIGN_DIR="${CAMPAIGN_DIR:-/work/campaign/runs}"
WT="${CAMPAIGN_WT:-/work/campaign/wt}"
PY="${CAMPAIGN_PY:-$ROOT/.venv/bin/python}"
export SSGAN_DATA_DIR="${SSGAN_DATA_DIR:-$(cd "$ROOT/.." && pwd)/shared/data}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
STUDY=(--seeds 3 --epochs 50 --recipe final --device cpu --quiet)  # + --out <job>/label_rate_mnist.csv

# name | where --collect stores it (under book/results/) | arguments
#   train jobs: `train --labels 100 --seeds 2 --device cpu --quiet --out DIR` + arguments (later flags win)
#   study jobs (name study-*): `reproduce` + STUDY + arguments, one label count per job
JOBS=(
  "paper-90|recipe/paper-90.json|--recipe paper-2016-06 --epochs 90"           # paper-era: 60 at 1e-3, 30 decaying
  "final-anneal-90|recipe/final-anneal-90.json|--recipe final --epochs 90 --lr-decay-epochs 30"
  "final-90|recipe/final-90.json|--recipe final --epochs 90"                   # final as published, same length
  "study-100|label_rate_mnist.csv|--labels 100"                                # SSGAN-FM and supervised-only
  "study-50|label_rate_mnist.csv|--labels 50"
  "supervised-100|label_rate_supervised_100.json|--method supervised --epochs 50"  # how long supervised-only needs
  # paper-era, more seeds, its constant-rate phase only: does D win from about epoch 12 on (as in paper-90's two
  # seeds) or early and then let go (as in both seeds of the reference)?
  "paper-20-seeds-3-5|recipe/paper-20-seeds-3-5.json|--recipe paper-2016-06 --epochs 20 --lr-decay-epochs 0 --seed 3 --seeds 3"
  # paper-era without its init machinery: no data-dependent init of D or G, D's hidden scales trainable (plain
  # weight norm, as most ports do) against paper-90's data-dependent init with frozen scales
  "paper-90-no-ddi|recipe/paper-90-no-ddi.json|--recipe paper-2016-06 --epochs 90 --no-data-init --no-g-data-init --hidden-scale trainable"
  "study-20|label_rate_mnist.csv|--labels 20"
  "study-200|label_rate_mnist.csv|--labels 200"
  "study-1000|label_rate_mnist.csv|--labels 1000"
  "study-60000|label_rate_mnist.csv|--labels 60000 --methods supervised"       # the ceiling: every label
  # seed 1 is the slow run in every final-recipe group (final-90, the study at 100/200/1,000 labels): its weights
  # and noise, or its labelled subset? All three runs on subset 1, then all on subset 2 (--data-seed, the
  # reference's --seed_data); run s keeps seed 1 + s's weights, noise and batch order. ~70 min per lane.
  "subset-1|seed_vs_subset/subset-1.json|--recipe final --epochs 30 --seeds 3 --data-seed 1"
  "subset-2|seed_vs_subset/subset-2.json|--recipe final --epochs 30 --seeds 3 --data-seed 2"
  # before the headline: a job of under 2 h finishes within one session on a machine that may be wiped between
  # sessions (a 300-epoch seed needs 4.5-5 h). Seeds 1 and 2 ran first (the curves fall from about epoch 20 on,
  # chapter 7); seed 3 waits behind the headline.
  # 20 labels (2 per class) ended near 50 % error after the study's 50 epochs, the paper at 16.77 %: does it come
  # down with length? Validation curves, one job per seed (~1.7 h each); the subsets differ from the study's
  # (a train run draws its labels from what its validation split leaves)
  "labels20-seed1|labels_20/seed1.json|--labels 20 --recipe final --epochs 120 --seeds 1 --seed 1"
  "labels20-seed2|labels_20/seed2.json|--labels 20 --recipe final --epochs 120 --seeds 1 --seed 2"
  # the headline, full length, one job per seed so that two lanes share it (a seed costs 45 s per epoch with
  # both cores, 55-60 s with two lanes side by side on one core each: 4.5-5 h for 300 epochs)
  "final-300-seed1|headline/final-300-seed1.json|--recipe final --epochs 300 --seeds 1 --seed 1"
  "final-300-seed2|headline/final-300-seed2.json|--recipe final --epochs 300 --seeds 1 --seed 2"
  "final-300-seed3|headline/final-300-seed3.json|--recipe final --epochs 300 --seeds 1 --seed 3"
  "paper-300|recipe/paper-300.json|--recipe paper-2016-06 --epochs 300 --seeds 1"  # paper-era, full length
  # the third seed at 20 labels
  "labels20-seed3|labels_20/seed3.json|--labels 20 --recipe final --epochs 120 --seeds 1 --seed 3"
  # more headline seeds for a lane that would otherwise idle: the paper averages 10, and two seeds of this recipe
  # already end 1.3 points apart (chapter 6 combines every stored final-300-seed*.json)
  "final-300-seed4|headline/final-300-seed4.json|--recipe final --epochs 300 --seeds 1 --seed 4"
  "final-300-seed5|headline/final-300-seed5.json|--recipe final --epochs 300 --seeds 1 --seed 5"
  # the study nearer the paper (issue 35): 3 subsets each, 150 epochs (the 50-epoch rows of these label counts
  # are replaced in the CSV, whose epochs column says each row's length). Name study-<labels>-e<epochs>: stored
  # when the book's CSV has rows of that label count at that length.
  "study-50-e150|label_rate_mnist.csv|--labels 50 --epochs 150"
  "study-200-e150|label_rate_mnist.csv|--labels 200 --epochs 150"
  "study-20-e150|label_rate_mnist.csv|--labels 20 --epochs 150"
)

if [[ ! -d "$WT" ]]; then
  mkdir -p "$(dirname "$WT")"
  git -C "$ROOT" worktree add --detach "$WT" "${CAMPAIGN_COMMIT:-HEAD}" >/dev/null
fi
[[ "${1:-}" == "--collect" ]] || echo "campaign at commit $(git -C "$WT" rev-parse --short HEAD), runs in $CAMPAIGN_DIR"
mkdir -p "$CAMPAIGN_DIR"
study_csvs=()

for entry in "${JOBS[@]}"; do
  IFS='|' read -r name dest args <<<"$entry"
  out="$CAMPAIGN_DIR/$name"
  if [[ $name == study-* ]]; then done_file="$out.done"; else done_file="$out/metrics.json"; fi
  if [[ $name == study-* ]]; then  # stored: the book's CSV has rows of its label count (and length, if named)
    spec=${name#study-}; n=${spec%%-e*}; e=""; [[ $spec == *-e* ]] && e=${spec##*-e}
    in_book=$(awk -F, -v n="$n" -v e="$e" '$2 == n && (e == "" || $5 + 0 == e + 0) {print "y"; exit}' \
             "$ROOT/book/results/label_rate_mnist.csv" 2>/dev/null || true)
  else in_book=$([[ -f "$ROOT/book/results/$dest" ]] && echo y || true); fi
  if [[ -f "$done_file" || -n $in_book ]]; then status=done
  elif [[ -e "$out/checkpoint.pt" || -d "$out/label_rate_mnist.partial" ]]; then status=started
  else status=waiting; fi
  if [[ "${1:-}" == "--collect" ]]; then
    if [[ $name == study-* ]]; then
      [[ -f "$out/label_rate_mnist.csv" ]] && study_csvs+=("$out/label_rate_mnist.csv")
    elif [[ $status == done && ! -f "$ROOT/book/results/$dest" ]]; then
      mkdir -p "$(dirname "$ROOT/book/results/$dest")"
      cp "$done_file" "$ROOT/book/results/$dest" && echo "stored book/results/$dest"
    fi
    continue
  fi
  if [[ "${1:-}" == "--list" ]]; then
    if [[ $status != done && -e "$out.lock" ]] && ! flock -n "$out.lock" true 2>/dev/null; then
      status="$status, running"
    fi
    if [[ $status == started* && -f "$out/checkpoint.pt" ]]; then  # how far: step, epoch, last validation point
      status+=$(cd "$WT" && "$PY" -c 'import sys, torch
from ssgan_lib.config import config_from_dict
c = torch.load(sys.argv[1], map_location="cpu", weights_only=False)
cfg, step, v = config_from_dict(c["config"]), c["step"], c["history"]["val_acc"]
spe = 60_000 // cfg.batch_size  # MNIST training images per epoch
print(f", step {step:,} of {cfg.total_steps():,} (epoch {step / spe:.0f})"
      + (f", validation {100 * sum(v[-1]) / len(v[-1]):.2f} % (averaged D)" if v else ""))
' "$out/checkpoint.pt" 2>/dev/null || true)
    fi
    echo "$name: $status ($args)"; continue
  fi
  [[ $status == done ]] && continue  # finished here, or stored in book/results/ (a fresh machine skips it)
  exec 9>"$out.lock"
  if ! flock -n 9; then exec 9>&-; continue; fi  # another lane runs it
  if [[ -f "$done_file" ]]; then exec 9>&-; continue; fi  # finished while we looked
  echo "$(date +%H:%M) $name: $args"
  if [[ $name == study-* ]]; then
    # shellcheck disable=SC2086
    (cd "$WT" && "$PY" -m ssgan_lib reproduce "${STUDY[@]}" --out "$out/label_rate_mnist.csv" $args) \
      && touch "$done_file" || true
  else
    resume=(); [[ -f "$out/checkpoint.pt" ]] && resume=(--resume)
    # shellcheck disable=SC2086
    (cd "$WT" && "$PY" -m ssgan_lib train --labels 100 --seeds 2 --device cpu --quiet --out "$out" $args \
      "${resume[@]}") || true
  fi
  exec 9>&-
done
if [[ "${1:-}" == "--collect" && ${#study_csvs[@]} -gt 0 ]]; then
  # each study job has its own CSV (lanes never write one file); the book's CSV is their union, with the groups
  # stored earlier kept (a group found again is replaced)
  stored="$ROOT/book/results/label_rate_mnist.csv"
  before=$(cat "$stored" 2>/dev/null || true)
  "$PY" -c 'import sys; from pathlib import Path; from ssgan_lib.reproduce import merge_sweeps
merge_sweeps([Path(p) for p in sys.argv[1:]], Path(sys.argv[1]))' "$stored" "${study_csvs[@]}"
  if [[ "$(cat "$stored")" != "$before" ]]; then echo "stored book/results/label_rate_mnist.csv (.meta.json)"; fi
fi
exit
}
