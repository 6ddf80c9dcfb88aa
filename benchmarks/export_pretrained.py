"""Export the finished runs of ``benchmarks/pretrained.sh`` as the package's shipped weights and model cards.

    python benchmarks/export_pretrained.py [--runs runs/pretrained] [--data ../shared/data/cifar10]

Each ``RUNS/ARCH`` (with metrics.json: finished) becomes ``src/neuralens/models/pretrained/ARCH.safetensors`` and
``ARCH.json``; the card is measured on the stored weights (see ``neuralens.models.shipping``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from neuralens.data.cifar import load_image_data
from neuralens.models.cards import PRETRAINED_DIR
from neuralens.models.shipping import export_shipped

ARCHS = ("resnet18", "plain18", "vgg16_bn")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/pretrained")
    ap.add_argument("--data", default="../shared/data/cifar10")
    ap.add_argument("--note", default="", help="how the run went (e.g. shared CPU), recorded in the card")
    args = ap.parse_args()
    data = load_image_data(args.data)
    files = sorted(Path(args.data).glob("*.npz"))
    for arch in ARCHS:
        run = Path(args.runs) / arch
        if not (run / "metrics.json").is_file():
            print(f"{arch}: not finished ({run})")
            continue
        epochs = json.loads((run / "config.json").read_text())["args"]["epochs"]  # as the run was made
        command = (f"neuralens train --model {arch} --width 0.25 --epochs {epochs} --seed 0 --data {args.data} "
                   f"--out {run}")
        card = export_shipped(run, data, PRETRAINED_DIR, command, files, args.note)
        m = card["metrics"]
        print(f"{arch}: accuracy {m['accuracy']:.4f} (float32 {m['accuracy_float32']:.4f}), loss {m['loss']:.4f}, "
              f"{card['bytes'] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
