#!/usr/bin/env bash
# Training-step speed of the MLP recipes in float32 and under bf16 autocast (`nerf train --precision`), read from
# each run's own metrics.json (iterations_per_s: training time only, evaluation excluded). One held-out view keeps
# the evaluation short. Needs ../shared/data/nerf (development machines); bf16 pays only where the CPU has
# AVX-512-BF16/AMX or the GPU has bf16 units.
set -euo pipefail
cd "$(dirname "$0")/.."
scene=../shared/data/nerf/lego_100.npz
out=runs/nerf_precision
for rep in 1 2; do for p in fp32 bf16; do
  neuralens -q nerf train --scene "$scene" --test-views 0 --model tiny --iters 100 --precision $p --out $out/tiny_${p}_$rep
done; done
for v in tiny_hier tiny_viewdirs; do for p in fp32 bf16; do
  neuralens -q nerf train --scene "$scene" --test-views 0 --model $v --iters 60 --precision $p --out $out/${v}_$p
done; done
for m in $out/*/metrics.json; do
  python -c "import json, sys; m = json.load(open(sys.argv[1])); print(sys.argv[1], m['model'], m['precision'], \
m['iterations'], round(m['iterations_per_s'], 3))" "$m"
done
