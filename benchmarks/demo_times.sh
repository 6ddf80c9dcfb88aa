#!/usr/bin/env bash
# Issue 21: how long the two demos take on the development machine with the data home's real data
# (NEURALENS_DATA=../shared/data: CIFAR-10 and lego_100), from a fresh run folder, on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/demo_times}
rm -rf "$out"
lscpu | grep -E "Model name" || true
for kind in quick full; do
  flag=(); [ "$kind" = quick ] && flag=(--quick)
  /usr/bin/time -f "demo $kind: %e s wall, %U s user, %S s sys, %M KB peak" \
    env NEURALENS_DATA=../shared/data neuralens -q demo "${flag[@]}" --offline --out "$out/$kind"
  for step in cnn gradflow depth landscape deform nerf; do
    python -c "import json,sys; print('  $step', round(json.load(open('$out/$kind/$step/done.json'))['seconds'], 1), 's')"
  done
done
