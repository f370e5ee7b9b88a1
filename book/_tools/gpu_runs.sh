#!/usr/bin/env bash
# The runs that need a GPU, in the order a session with one should do them. Results land in book/results/
# (commit them); chapter 7 reads label_rate_mnist.csv, chapter 9 reads bench_*.json.
#   bash book/_tools/gpu_runs.sh            # everything (~1 h on an H100 at the target speed)
#   STAGE=bench bash book/_tools/gpu_runs.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
export PYTHONUNBUFFERED=1
mkdir -p book/results
stage="${STAGE:-all}"
if [[ $stage == all || $stage == test ]]; then
  python -m pytest -q tests/test_train.py -k "cuda or graph"          # graphed == eager on CUDA
fi
if [[ $stage == all || $stage == bench ]]; then
  python -m ssgan_lib bench --seeds 10 --steps 500 | tee /tmp/bench.txt
  name=$(python -c "import torch; print(torch.cuda.get_device_name(0).split()[-1].lower())")
  tail -n 1 /tmp/bench.txt > "book/results/bench_${name}.json"
fi
if [[ $stage == all || $stage == one ]]; then
  python -m ssgan_lib train --labels 100 --out runs/paper-100 --quiet --overwrite   # 300 epochs, 1 seed
fi
if [[ $stage == all || $stage == sweep ]]; then
  python -m ssgan_lib reproduce --seeds 10 --epochs 300 --label-rate 0.2 --quiet    # resumable
fi
