#!/usr/bin/env bash
# The NeRF claims of BENCHMARKS.md: every variant for 180 s of training on the shared lego (100x100, every
# 10th view held out), then the baseline for a long run. Needs ../shared/data/nerf (development machines).
set -euo pipefail
cd "$(dirname "$0")/.."
scene=../shared/data/nerf/lego_100.npz
neuralens nerf compare --scene "$scene" --seconds 180 --out runs/lego_compare
neuralens nerf train --scene "$scene" --model tiny --iters "${LONG_ITERS:-300}" --out runs/lego_tiny_long
