#!/usr/bin/env bash
# The issue-14 rows of BENCHMARKS.md: the default `nerf train` for 180 s on held-out official lego test views
# (two seeds, and the same scene with every camera scaled x4 and shifted), the 200x200 Blender lego on white,
# random and black backgrounds and at 100x100, a 400x400 full-frame render, and the tiny_nerf baseline.
# Needs ../shared/data/nerf (development machines). Peak memory from /usr/bin/time -v.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-runs/scenes}
mkdir -p "$out"
lego=../shared/data/nerf/lego_100.npz
blender=../shared/data/nerf/lego_blender_200
official=4,13,22,31,40,49,58,67,76,85  # lego_100's views that are the official test views
timed() { /usr/bin/time -v "$@" 2> >(grep -E "Maximum resident|Elapsed" >&2); }

for seed in 0 1; do
  timed neuralens nerf train --scene "$lego" --test-views "$official" --seconds 180 --seed "$seed" \
    --out "$out/lego100_seed$seed"
done
python - "$lego" "$out/lego100_x4.npz" <<'EOF'
import sys
import numpy as np
with np.load(sys.argv[1]) as f:
    d = dict(f)
d["poses"][:, :3, 3] = d["poses"][:, :3, 3] * 4 + np.array([10.0, -3.0, 2.0])
np.savez(sys.argv[2], **d)
EOF
timed neuralens nerf train --scene "$out/lego100_x4.npz" --test-views "$official" --seconds 180 \
  --out "$out/lego100_x4"
timed neuralens nerf train --scene "$blender" --white-bg --seconds 180 --out "$out/blender200_white"
timed neuralens nerf train --scene "$blender" --white-bg --random-bg --seconds 180 --out "$out/blender200_random"
timed neuralens nerf train --scene "$blender" --seconds 180 --out "$out/blender200_black"
timed neuralens nerf train --scene "$blender" --white-bg --downscale 2 --seconds 180 --out "$out/blender100_white"
timed neuralens nerf render --checkpoint "$out/blender200_white/checkpoint.pt" --orbit --frames 8 --size 400 \
  --out "$out/blender200_white/render400"
timed neuralens nerf train --scene "$lego" --test-views "$official" --model tiny --seconds 180 \
  --out "$out/lego100_tiny"
# 400x400 training: no Blender data of that size here, so the procedural scene (exact ground truth at any size)
for size in 200 400; do
  timed neuralens nerf train --scene "builtin:$size" --seconds 180 --out "$out/builtin$size"
done
