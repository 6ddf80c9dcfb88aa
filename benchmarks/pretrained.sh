#!/usr/bin/env bash
# The shipped weights (issue 21): VGG16-BN, ResNet18 and Plain18 trained with the project's own `neuralens train`
# recipe on the full 50k-image CIFAR-10 training set of the data home, one command per model, each resumable
# (rerun this script after an interruption: a finished model is skipped, an unfinished one resumes).
# Then `python benchmarks/export_pretrained.py` turns the finished runs into the package's safetensors + cards.
# Needs ../shared/data/cifar10 (development machines). Wall time and CPU time from /usr/bin/time.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/pretrained}
data=${DATA:-../shared/data/cifar10}
mkdir -p "$out"
lscpu | grep -E "Model name" || true
train() {  # MODEL EPOCHS
  local run="$out/$1"
  if [ -f "$run/metrics.json" ]; then echo "$1: finished already ($run)"; return; fi
  local resume=()
  [ -f "$run/model.pt" ] && resume=(--resume)
  /usr/bin/time -f "$1: %e s wall, %U s user, %S s sys" \
    neuralens train --model "$1" --width 0.25 --epochs "$2" --seed 0 --data "$data" --out "$run" "${resume[@]}"
}
train resnet18 30
train plain18 30
train vgg16_bn 30
