#!/usr/bin/env bash
# Issue 21's acceptance of the shipped weights, on the development machine with the data home's CIFAR-10:
# 1. `neuralens eval --weights neuralens` on the shared test set prints each card's accuracy (same images, same number);
# 2. a wheel installed into a fresh venv, offline, finds the weights (no pickle: safetensors + JSON cards).
set -euo pipefail
cd "$(dirname "$0")/.."
data=${DATA:-../shared/data/cifar10}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
archs=$(python -c "from neuralens.models.cards import available; print(' '.join(available()))")
for arch in $archs; do
  line=$(neuralens -q eval --model "$arch" --weights neuralens --data "$data" --out "$tmp/$arch" | grep -i accuracy)
  card=$(python -c "from neuralens.models.cards import read_card; print(read_card('$arch')['metrics']['accuracy'])")
  got=$(python -c "import json; print(json.load(open('$tmp/$arch/metrics.json'))['accuracy'])")
  echo "$arch: eval says: $line | metrics.json $got | card $card"
  [ "$got" = "$card" ] || { echo "$arch: eval does not reproduce the card"; exit 1; }
done
python -m venv --system-site-packages "$tmp/venv"   # torch from the machine; neuralens only from the wheel
python -m pip wheel -q --no-deps --no-build-isolation -w "$tmp/dist" .   # the wheel a user would get
"$tmp/venv/bin/pip" install -q --no-deps --no-index "$tmp"/dist/neuralens-*.whl
(cd "$tmp" && "$tmp/venv/bin/python" - <<'EOF'
import neuralens
from neuralens.models import create_model
from neuralens.models.cards import PRETRAINED_DIR

assert "/venv/" in neuralens.__file__, neuralens.__file__  # the installed wheel, not this checkout
from neuralens.models.cards import available

for arch in available():
    net = create_model(arch, pretrained=True)
    print(f"fresh venv: {arch} from {PRETRAINED_DIR}: card accuracy {net.neuralens_card['metrics']['accuracy']:.4f}")
EOF
)
