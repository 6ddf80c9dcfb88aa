"""Landscape grid cost per point vs the floor (one plain forward pass over the same images) and vs a naive
use of ``loss-landscapes`` with a DataLoader inside the metric.

    python benchmarks/landscape.py                 # resnet18 x0.25, 512 test images, 7x7 grid, 2 ring seeds
    python benchmarks/landscape.py --model vgg16_bn --steps 9

Uses ../shared/data/cifar10 when present, else the synthetic set (speed does not depend on the pixels).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from neuralens.cnn.landscape import compute_landscape
from neuralens.data.cifar import load_image_data, to_float
from neuralens.models import create_model

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"


class _PerImage(Dataset):
    """The naive pipeline: uint8 images converted one at a time, as a torchvision transform would."""

    def __init__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        self.x, self.y = x, y

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i].float() / 255, self.y[i]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="resnet18")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--eval-size", type=int, default=512)
    ap.add_argument("--steps", type=int, default=7)
    args = ap.parse_args()
    data = load_image_data("cifar10" if SHARED.is_dir() else "synthetic", SHARED, synthetic_size=(64, args.eval_size))
    x8, y = data.x_test[:args.eval_size], data.y_test[:args.eval_size]
    x = to_float(x8)
    torch.manual_seed(0)
    model = create_model(args.model, width=args.width).eval()
    points = args.steps**2

    def plain(net: nn.Module, inputs: torch.Tensor, batch: int) -> float:
        """Best of 3: one forward pass + loss over all images, the cheapest a grid point can be."""
        best = float("inf")
        with torch.no_grad():
            net(inputs[:batch])
            for _ in range(3):
                t0 = time.perf_counter()
                for i in range(0, len(inputs), batch):
                    nn.functional.cross_entropy(net(inputs[i:i + batch]), y[i:i + batch])
                best = min(best, time.perf_counter() - t0)
        return best

    import copy

    cl_model = copy.deepcopy(model).to(memory_format=torch.channels_last)
    x_cl = x.contiguous(memory_format=torch.channels_last)
    floors = {f"{fmt_name}, batch {b}": plain(net, inp, b)
              for fmt_name, net, inp in (("NCHW", model, x), ("channels_last", cl_model, x_cl)) for b in (128, 512)}
    floor = min(floors.values())

    t0 = time.perf_counter()
    res = compute_landscape(model, x, y, steps=args.steps, distance=1.0, progress=False, direction_seeds=2)
    whole = time.perf_counter() - t0
    ours = res["seconds"]["grid"] / points
    ring_points = 2 * 2 * res["sharpness"]["ring_points"]

    import loss_landscapes
    from loss_landscapes.metrics import Metric
    from loss_landscapes.model_interface.model_wrapper import ModelWrapper

    class LoaderLoss(Metric):
        def __init__(self) -> None:
            super().__init__()
            self.loader = DataLoader(_PerImage(x8, y), batch_size=128)

        def __call__(self, wrapper: ModelWrapper) -> float:
            total = 0.0
            with torch.no_grad():
                for xb, yb in self.loader:
                    total += float(nn.functional.cross_entropy(wrapper.forward(xb), yb, reduction="sum"))
            return total / len(y)

    t0 = time.perf_counter()
    # normalization="model": the package's 'filter' option divides by zero on BN biases (see neuralens/cnn/landscape.py)
    loss_landscapes.random_plane(model, LoaderLoss(), distance=1.0, steps=args.steps, normalization="model",
                                 deepcopy_model=True)
    naive = (time.perf_counter() - t0) / points

    print(f"data: {data.source}; {args.model} x{args.width}; {len(x)} images; {args.steps}x{args.steps} grid; "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| what | seconds per grid point | x floor |")
    print("|---|---|---|")
    for name, t in floors.items():
        print(f"| plain forward pass over the images ({name}) | {t:.4f} | {t / floor:.2f} |")
    print(f"| neuralens compute_landscape, its grid | {ours:.4f} | {ours / floor:.2f} |")
    rings = res["seconds"]["sharpness_rings"] / ring_points
    print(f"| neuralens compute_landscape, its sharpness rings (2 seeds) | {rings:.4f} | {rings / floor:.2f} |")
    every = whole / (points + ring_points)
    print(f"| neuralens compute_landscape, all of it per evaluated point | {every:.4f} | {every / floor:.2f} |")
    print(f"| naive loss_landscapes.random_plane + DataLoader metric | {naive:.4f} | {naive / floor:.2f} |")


if __name__ == "__main__":
    main()
