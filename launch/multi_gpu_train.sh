#!/usr/bin/env bash
# Train on every GPU of this machine with accelerate (one process per GPU, DDP), resumable.
#   launch/multi_gpu_train.sh DATASET OUT [overrides...]
#   launch/multi_gpu_train.sh data/play_20h runs/gpu train.steps=50000 train.batch_size=256
# Each rank draws its own batches; checkpoints hold every rank's RNG, so an interrupted run
# resumes exactly with resume=true. Without a GPU it says so and stops (train on the CPU with
# `robolang train` instead).
set -euo pipefail
if (( $# < 2 )); then
  sed -n '2,7p' "$0" >&2
  exit 2
fi
dataset=$1 out=$2
shift 2
gpus=$(python3 -c "import torch; print(torch.cuda.device_count())")
if (( gpus < 1 )); then
  echo "multi_gpu_train: no CUDA GPU on this machine (torch sees none); use robolang train here" >&2
  exit 2
fi
command -v accelerate >/dev/null || { echo "multi_gpu_train: accelerate is missing (pip install accelerate)" >&2; exit 2; }
multi=()
(( gpus > 1 )) && multi=(--multi_gpu)
exec accelerate launch "${multi[@]}" --num_processes "$gpus" -m robolang.cli train "dataset=$dataset" "out=$out" "$@"
