#!/usr/bin/env bash
# The shipped depth series (issue 43): resnet20, plain20, resnet56, plain56, one `neuralens train` each with the
# same recipe (width 1 as He et al., 16 epochs of the one-cycle defaults), side by side, one thread and niced
# each, resumable (rerun after an interruption: a finished net is skipped, an unfinished one resumes).
# Then: python benchmarks/export_pretrained.py --runs runs/depth --archs resnet20,plain20,resnet56,plain56 --threads 1
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/depth}
data=${DATA:-../shared/data/cifar10}
epochs=${EPOCHS:-16}  # the shipped cards: 16; resnet56 was still rising there (BENCHMARKS.md)
mkdir -p "$out"
for m in resnet20 plain20 resnet56 plain56; do
  if [ -f "$out/$m/metrics.json" ]; then echo "$m: finished already ($out/$m)"; continue; fi
  resume=()
  [ -f "$out/$m/model.pt" ] && resume=(--resume)
  OMP_NUM_THREADS=1 nice -n 19 /usr/bin/time -v neuralens train --model "$m" --width 1 --epochs "$epochs" --seed 0 \
    --data "$data" --out "$out/$m" "${resume[@]}" > "$out/$m.log" 2>&1 &
done
wait
