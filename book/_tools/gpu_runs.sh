#!/usr/bin/env bash
# The runs that need a GPU, in the order a session with one should do them. Results land in book/results/
# (commit them); chapter 6 reads ablation_*.json, chapter 7 label_rate_mnist.csv, chapter 9 bench_*.json.
#   bash book/_tools/gpu_runs.sh            # everything, in order
#   STAGE=bench bash book/_tools/gpu_runs.sh
# Every stage can be stopped at any moment (Ctrl-C, a killed job, a time limit) and run again: `headline`
# resumes its checkpoint, `recipe` and `ablate` resume the variant in progress and skip finished ones, `table`
# and `sweep` resume the group in progress and skip finished groups.
# So on a machine that limits each command to a few minutes, run the same stage again until it is done.
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
mkdir -p book/results
stage="${STAGE:-all}"
csv=book/results/label_rate_mnist.csv
if [[ $stage == all || $stage == test ]]; then
  python -m pytest -q tests/test_engine.py   # the CUDA-graph path: graph == eager bit for bit, resume, fallback
fi
if [[ $stage == all || $stage == bench ]]; then
  python -m ssgan_lib bench --seeds 10 --steps 500 | tee /tmp/bench.txt
  name=$(python -c "import torch; print(torch.cuda.get_device_name(0).split()[-1].lower())")
  tail -n 1 /tmp/bench.txt > "book/results/bench_${name}.json"
fi
if [[ $stage == all || $stage == headline ]]; then
  # the headline (chapter 6): the default recipe, 300 epochs, 100 labels, 3 seeds side by side; a second call
  # continues the checkpoint. Chapter 6 shows this file instead of the CPU campaign's one-seed jobs.
  resume=(); [[ -f runs/headline/checkpoint.pt ]] && resume=(--resume)
  python -m ssgan_lib train --labels 100 --seeds 3 --epochs 300 --out runs/headline --quiet "${resume[@]}"
  mkdir -p book/results/headline && cp runs/headline/metrics.json book/results/headline/final-300-seeds1-3-cuda.json
fi
if [[ $stage == all || $stage == recipe ]]; then
  # which version of the reference recipe reaches the paper's number (chapter 6), at the paper's full length, on
  # the validation split, 4 seeds side by side; the CPU campaign (campaign.sh) runs compressed versions.
  # The variants are config overrides in ssgan_lib.recipes.STUDY; finished ones are skipped, one cut short continues.
  python -m ssgan_lib variants recipe --root runs/recipe-cuda --labels 100 --seeds 4 --device cuda --quiet
  mkdir -p book/results/recipe
  for f in runs/recipe-cuda/*/metrics.json; do
    name=$(basename "$(dirname "$f")"); cp "$f" "book/results/recipe/$name-cuda.json"
  done
fi
if [[ $stage == all || $stage == ablate ]]; then
  # which details matter (chapter 6): each variant changes one piece of the recipe (config overrides in
  # ssgan_lib.ablation.VARIANTS); compared on the validation split. Before the table: it is ~10x cheaper and says
  # whether the recipe as written is the one to tabulate.
  # ABLATE_EPOCHS / ABLATE_SEEDS / ABLATE_DEVICE size it (CPU: e.g. 10 epochs, 2 seeds, cpu).
  ep="${ABLATE_EPOCHS:-100}"; seeds="${ABLATE_SEEDS:-4}"; dev="${ABLATE_DEVICE:-cuda}"
  python -m ssgan_lib variants ablation --root "runs/ablate-$dev" --labels 100 --epochs "$ep" --seeds "$seeds" \
    --device "$dev" --quiet --collect "book/results/ablation_$dev.json"
fi
if [[ $stage == all || $stage == table ]]; then
  # the paper's table first (20, 50, 100, 200 labels x 10 seeds), both methods
  python -m ssgan_lib reproduce --labels 20,50,100,200 --seeds 10 --epochs 300 --out "$csv" --quiet
fi
if [[ $stage == all || $stage == sweep ]]; then
  # the rest of the curve (the finished groups of `table` are skipped)
  python -m ssgan_lib reproduce --seeds 10 --epochs 300 --label-rate 0.2 --out "$csv" --quiet
fi
