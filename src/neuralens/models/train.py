"""Classifier training and evaluation, readable top to bottom.

Recipe: SGD with Nesterov momentum, a one-cycle learning rate (linear warm-up, linear decay), label smoothing,
weight decay on conv/linear weights only, channels_last memory format, bfloat16 autocast where the hardware
computes it natively (``precision="auto"``), data held in memory as uint8 and augmented a batch at a time.
Each epoch's order and each batch's augmentation come from generators seeded by (seed, epoch, step), so a
resumed run continues exactly where an interrupted one stopped.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from neuralens.data.cifar import ImageData, augment_batch, to_float
from neuralens.errors import NeuralensError
from neuralens.io import atomic_path, write_json
from neuralens.models.checkpoint import load_checkpoint, save_checkpoint
from neuralens.models.registry import create_model
from neuralens.utils import autocast_dtype, resolve_device, seed_everything


@dataclass
class TrainConfig:
    model: str = "resnet18"
    width: float = 0.25
    epochs: int = 5
    batch_size: int = 128  # 128 beat 256 at 10 epochs (more steps); see BENCHMARKS.md for the sweep
    lr: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.2
    crop_pad: int = 2  # random-crop padding in pixels (plus flips); 2 beat 4 for a 10-epoch budget
    seed: int = 0
    channels_last: bool = True
    precision: str = "auto"  # auto | fp32 | bf16 (autocast for forward and loss; evaluation stays float32)
    device: str = "auto"
    steps_per_epoch: int | None = None  # cap, for smoke tests and quick demos
    pretrained: str | None = None
    data: str = "auto"

    def __post_init__(self) -> None:
        """Reject impossible recipes before anything is written."""
        if self.crop_pad < 0 or self.weight_decay < 0 or not 0 <= self.label_smoothing < 1:
            raise NeuralensError(f"need crop_pad >= 0, weight_decay >= 0 and 0 <= label_smoothing < 1; got "
                                 f"{self.crop_pad}, {self.weight_decay}, {self.label_smoothing}")


def _batch_gen(seed: int, epoch: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch * 10_007 + step)


def one_cycle(total: int, warmup_frac: float = 0.2) -> Callable[[int], float]:
    """LR factor: linear warm-up from 0.1 to 1 over the first ``warmup_frac`` of steps, then linear decay to 0."""
    warm = max(1, round(total * warmup_frac))

    def factor(step: int) -> float:
        if step < warm:
            return 0.1 + 0.9 * step / warm
        return max(0.0, (total - step) / max(1, total - warm))

    return factor


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on BN parameters and biases (1-D tensors)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int, batch_size: int = 500,
             device: torch.device | None = None, flip_tta: bool = False) -> dict[str, Any]:
    """Accuracy, mean cross-entropy, confusion matrix and predictions of ``model`` on uint8 images ``x``.

    ``flip_tta`` averages the logits of each image and its mirror image (test-time augmentation with the
    training set's flip symmetry); the default is the plain single-view protocol.
    """
    device = device or next(model.parameters()).device
    model.eval()
    preds, loss_sum = [], 0.0
    for i in range(0, len(x), batch_size):
        xb = to_float(x[i:i + batch_size]).to(device)
        yb = y[i:i + batch_size].to(device)
        logits = model(xb)
        if flip_tta:
            logits = (logits + model(xb.flip(3))) / 2
        loss_sum += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        preds.append(logits.argmax(1).cpu())
    pred = torch.cat(preds) if preds else torch.zeros(0, dtype=torch.long)
    confusion = torch.bincount(y * num_classes + pred, minlength=num_classes**2).view(num_classes, num_classes)
    per_class = confusion.diag().float() / confusion.sum(1).clamp_min(1).float()
    return {
        "accuracy": float((pred == y).float().mean()) if len(y) else float("nan"),
        "loss": loss_sum / max(1, len(y)),
        "per_class": per_class.tolist(),
        "confusion": confusion,
        "predictions": pred,
    }


def classifier_metrics(result: dict[str, Any], classes: list[str]) -> dict[str, Any]:
    """The ``metrics.json`` layout of DESIGN.md from an :func:`evaluate` result."""
    return {
        "accuracy": result["accuracy"],
        "loss": result["loss"],
        "per_class_accuracy": dict(zip(classes, result["per_class"])),
    }


def _write_history(path: Path, rows: list[dict[str, float]]) -> None:
    buf = io.StringIO()
    if rows:
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue())


def train(cfg: TrainConfig, data: ImageData, out: str | Path, resume: bool = False,
          log: Any = print) -> dict[str, Any]:
    """Train ``cfg.model`` on ``data``; write ``model.pt`` every epoch, ``metrics.json`` and ``history.csv``.

    Ctrl-C saves a resumable checkpoint (at the current step) before the interrupt propagates.
    """
    out = Path(out)
    ckpt_path = out / "model.pt"
    device = resolve_device(cfg.device)
    amp_dtype = autocast_dtype(device, cfg.precision)
    seed_everything(cfg.seed)

    # --- model, optimiser, schedule
    model = create_model(cfg.model, num_classes=data.num_classes, width=cfg.width, pretrained=cfg.pretrained)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)
    n = len(data.x_train)
    if n < cfg.batch_size:
        raise NeuralensError(f"training set has {n} images, fewer than --batch-size {cfg.batch_size}")
    steps = n // cfg.batch_size if cfg.steps_per_epoch is None else min(cfg.steps_per_epoch, n // cfg.batch_size)
    optimizer = torch.optim.SGD(_param_groups(model, cfg.weight_decay), lr=cfg.lr, momentum=cfg.momentum,
                                nesterov=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, one_cycle(cfg.epochs * steps))
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    start_epoch, start_step, history = 0, 0, []

    # --- resume
    if resume:
        if not ckpt_path.is_file():
            raise NeuralensError(f"--resume: no checkpoint at {ckpt_path}")
        ckpt = load_checkpoint(ckpt_path, kind="classifier")
        saved = ckpt["config"].get("train", {})
        for key in ("model", "width", "batch_size", "epochs", "seed"):
            if saved.get(key) != getattr(cfg, key):
                raise NeuralensError(f"--resume: checkpoint has {key}={saved.get(key)!r} but this run asks "
                                     f"{getattr(cfg, key)!r}; use the same arguments or a new --out")
        model.load_state_dict(ckpt["state_dict"])
        state = ckpt["train_state"]
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        start_epoch, start_step, history = state["epoch"], state["step"], state.get("history", [])
        log(f"resuming from epoch {start_epoch + 1}, step {start_step} of {ckpt_path}")

    config = {"num_classes": data.num_classes, "width": cfg.width, "classes": data.classes,
              "normalisation": "inside the model (preprocess.mean/std)", "data": data.source,
              "data_spec": cfg.data, "train": asdict(cfg)}

    def checkpoint(epoch: int, step: int, metrics: dict[str, Any] | None = None) -> None:
        save_checkpoint(ckpt_path, model, "classifier", cfg.model, config, metrics,
                        {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                         "epoch": epoch, "step": step, "history": history})

    # --- loop
    epoch, step = start_epoch, start_step
    try:
        for epoch in range(start_epoch, cfg.epochs):
            model.train()
            perm = torch.randperm(n, generator=_batch_gen(cfg.seed, epoch, -1))
            t0, seen, correct, loss_sum = time.perf_counter(), 0, 0, 0.0
            first = start_step if epoch == start_epoch else 0
            bar = tqdm(range(first, steps), desc=f"epoch {epoch + 1}/{cfg.epochs}", leave=False, unit="batch",
                       disable=None)
            for step in bar:
                idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                xb = augment_batch(data.x_train[idx], _batch_gen(cfg.seed, epoch, step), pad=cfg.crop_pad)
                xb = xb.to(device).contiguous(memory_format=memory_format)
                yb = data.y_train[idx].to(device)
                with torch.autocast(device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
                    logits = model(xb)
                    loss = criterion(logits, yb)
                if not math.isfinite(loss.item()):
                    raise NeuralensError(f"loss became {loss.item()} at epoch {epoch + 1} step {step}; lower --lr")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                seen += len(idx)
                correct += int((logits.argmax(1) == yb).sum())
                loss_sum += loss.item() * len(idx)
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}",
                                img_s=f"{seen / (time.perf_counter() - t0):.0f}")
            step = steps
            seconds = time.perf_counter() - t0
            test = evaluate(model, data.x_test, data.y_test, data.num_classes, device=device)
            row = {"epoch": epoch + 1, "train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1),
                   "test_loss": test["loss"], "test_acc": test["accuracy"], "seconds": seconds,
                   "images_per_s": seen / max(seconds, 1e-9)}
            history.append(row)
            log(f"epoch {epoch + 1}/{cfg.epochs}: train loss {row['train_loss']:.3f} acc {row['train_acc']:.3f} | "
                f"test loss {row['test_loss']:.3f} acc {row['test_acc']:.3f} | {seconds:.1f}s "
                f"({row['images_per_s']:.0f} img/s)")
            checkpoint(epoch + 1, 0, classifier_metrics(test, data.classes))
            _write_history(out / "history.csv", history)
    except KeyboardInterrupt:
        checkpoint(epoch, step)
        log(f"interrupted: checkpoint saved to {ckpt_path}; continue with --resume")
        raise

    final = evaluate(model, data.x_test, data.y_test, data.num_classes, device=device)
    metrics = classifier_metrics(final, data.classes)
    metrics["accuracy_flip_tta"] = evaluate(model, data.x_test, data.y_test, data.num_classes, device=device,
                                            flip_tta=True)["accuracy"]
    metrics["history"] = history
    write_json(out / "metrics.json", metrics)
    return metrics
