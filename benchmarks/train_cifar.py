"""Training and evaluation throughput (images/s) of the CIFAR nets, and optionally full accuracy runs.

    python benchmarks/train_cifar.py                       # throughput table, real CIFAR-10 if found
    python benchmarks/train_cifar.py --accuracy resnet18   # 10-epoch run at width 0.25, prints test accuracy

Uses ../shared/data/cifar10 when present (development machines), else the synthetic set (throughput only).
"""

from __future__ import annotations

import argparse
import contextlib
import time
from pathlib import Path

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from neuralens.core.runtime import PRECISIONS, autocast_dtype
from neuralens.data.cifar import augment_batch, load_image_data, to_float
from neuralens.models import create_model
from neuralens.models.train import TrainConfig, train

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "cifar10"


def throughput(name: str, width: float, data, batch: int = TrainConfig.batch_size, steps: int = 6, warmup: int = 2,
               precision: str = "auto") -> dict:
    """Images/s of the training step (augmentation included) and of float32 evaluation, plus the step's FLOPs
    per image (counted on the first warm-up step), which tell how close the step runs to the CPU's arithmetic
    rate."""
    amp = autocast_dtype(torch.device("cpu"), precision)
    torch.manual_seed(0)
    model = create_model(name, width=width).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True)
    g = torch.Generator().manual_seed(0)
    model.train()
    for i in range(warmup + steps):
        if i == warmup:
            t0 = time.perf_counter()
        idx = torch.randint(0, len(data.x_train), (batch,), generator=g)
        xb = augment_batch(data.x_train[idx], g).contiguous(memory_format=torch.channels_last)
        counter = FlopCounterMode(display=False) if i == 0 else contextlib.nullcontext()
        with counter:
            with torch.autocast("cpu", dtype=amp or torch.float32, enabled=amp is not None):
                loss = nn.functional.cross_entropy(model(xb), data.y_train[idx])
            opt.zero_grad()
            loss.backward()
        if i == 0:
            flops_per_image = counter.get_total_flops() / batch
        opt.step()
    train_ips = steps * batch / (time.perf_counter() - t0)
    model.eval()
    with torch.no_grad():
        xb = to_float(data.x_test[:1000]).contiguous(memory_format=torch.channels_last)
        model(xb[:500])
        t0 = time.perf_counter()
        for i in range(0, 1000, 500):
            model(xb[i:i + 500])
        eval_ips = 1000 / (time.perf_counter() - t0)
    return {"model": name, "width": width, "train_img_s": train_ips, "eval_img_s": eval_ips,
            "epoch_s": 50000 / train_ips, "train_mflop_per_image": flops_per_image / 1e6,
            "train_gflop_s": flops_per_image * train_ips / 1e9}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--accuracy", default="", help="model to train for --epochs on real CIFAR-10")
    ap.add_argument("--width", type=float, default=0.25)
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--batch-size", type=int, default=TrainConfig.batch_size)
    ap.add_argument("--lr", type=float, default=TrainConfig.lr)
    ap.add_argument("--precision", choices=PRECISIONS, default="auto")
    ap.add_argument("--crop-pad", type=int, default=TrainConfig.crop_pad)
    ap.add_argument("--label-smoothing", type=float, default=TrainConfig.label_smoothing)
    ap.add_argument("--weight-decay", type=float, default=TrainConfig.weight_decay)
    ap.add_argument("--out", default="runs/bench_train")
    args = ap.parse_args()
    data = load_image_data("cifar10" if SHARED.is_dir() else "synthetic", SHARED)
    amp = autocast_dtype(torch.device("cpu"), args.precision)
    print(f"data: {data.source}; torch {torch.__version__}; CPU kernels {torch.backends.cpu.get_cpu_capability()}; "
          f"threads {torch.get_num_threads()}; training step in {amp or torch.float32}")
    if args.accuracy:
        t0 = time.perf_counter()
        cfg = TrainConfig(model=args.accuracy, width=args.width, epochs=args.epochs, seed=0, device="cpu",
                          batch_size=args.batch_size, lr=args.lr, precision=args.precision, crop_pad=args.crop_pad,
                          label_smoothing=args.label_smoothing, weight_decay=args.weight_decay)
        m = train(cfg, data, Path(args.out) / args.accuracy)
        print(f"{args.accuracy} x{args.width}: {args.epochs} epochs, test accuracy {m['accuracy']:.4f} "
              f"(with flip TTA {m['accuracy_flip_tta']:.4f}), {time.perf_counter() - t0:.0f}s")
        return
    print("| model | width | train img/s | epoch (50k) s | eval img/s | train MFLOP/img | train GFLOP/s |")
    print("|---|---|---|---|---|---|---|")
    for name in ("vgg16", "resnet18"):
        for width in (0.25, 1.0):
            small = width < 1
            r = throughput(name, width, data, batch=args.batch_size, steps=12 if small else 3,
                           warmup=3 if small else 1, precision=args.precision)
            print(f"| {name} | {width} | {r['train_img_s']:.0f} | {r['epoch_s']:.0f} | {r['eval_img_s']:.0f} | "
                  f"{r['train_mflop_per_image']:.0f} | {r['train_gflop_s']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
