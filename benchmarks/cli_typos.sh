#!/usr/bin/env bash
# Issue 23: how long a new user's typo takes to be answered (whole process: start-up, parsing, checks), measured
# with farm-bench over several runs. Every command below exits 2 with one line, before torch is imported.
set -uo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
printf 'import torch.nn as nn\nclass R(nn.Module):\n    pass\ndef resnet20():\n    return R()\n' > "$tmp/resnet.py"
printf 'junk' > "$tmp/junk.pt"
for cmd in "neuralens tran" \
           "neuralens train --model resnt18" \
           "neuralens eval --model $tmp/resnet.py" \
           "neuralens eval --model resnet18 --weights neuralens --normalize imagnet" \
           "neuralens eval --model resnet18 --weights $tmp/junk.pt" \
           "neuralens landscape --model resnet18 --weights neuralens --width 0.5" \
           "neuralens nerf train --scene builtn" \
           "neuralens demo --only gradflo" \
           "neuralens train --help"; do
  echo "## $cmd"
  farm-bench -n 5 -- sh -c "$cmd >/dev/null 2>&1; test \$? -le 2"
done
rm -rf "$tmp"
