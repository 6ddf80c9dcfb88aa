"""Classifier training and evaluation, readable top to bottom.

Recipe: SGD with Nesterov momentum, a one-cycle learning rate (linear warm-up, linear decay), label smoothing,
weight decay on conv/linear weights only, channels_last memory format, bfloat16 autocast where the hardware
computes it natively (``precision="auto"``), data held in memory as uint8 and augmented a batch at a time.
Each epoch's order and each batch's augmentation come from generators seeded by (seed, epoch, step), and Ctrl-C
takes effect at a step boundary, so a resumed run continues exactly where an interrupted one stopped.

Shared by two studies (the CNN study trains VGG/ResNet, the deformable study its small nets), so it lives in the
model layer below both.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.optim.swa_utils import AveragedModel

from neuralens.core.checkpoint import save_checkpoint
from neuralens.core.distributed import all_reduce_sum, globalize_batchnorm, world
from neuralens.core.errors import NeuralensError
from neuralens.core.io import atomic_path, write_json
from neuralens.core.progress import Progress
from neuralens.core.resume import interruptible, resume_checkpoint
from neuralens.core.runtime import autocast_dtype, resolve_device, seed_everything
from neuralens.data.cifar import ImageData, augment_batch, to_float
from neuralens.models.averaging import adopt_average, training_batches
from neuralens.models.recipe import TrainConfig
from neuralens.models.registry import create_model
from neuralens.models.weights import save_half


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


def lr_schedule(cfg: TrainConfig, total: int) -> Callable[[int], float]:
    """The LR factor per step of ``cfg.schedule`` over ``total`` steps."""
    return one_cycle(total) if cfg.schedule == "one-cycle" else (lambda step: 1.0)


def _param_groups(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on BN parameters and biases (1-D tensors)."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, num_classes: int, batch_size: int = 500,
             device: torch.device | None = None, flip_tta: bool = False, progress: bool = False) -> dict[str, Any]:
    """Accuracy, mean cross-entropy, confusion matrix and predictions of ``model`` on uint8 images ``x``.

    ``flip_tta`` averages the logits of each image and its mirror image (test-time augmentation with the
    training set's flip symmetry); the default is the plain single-view protocol.
    """
    device = device or next(model.parameters()).device
    model.eval()
    preds, loss_sum = [], 0.0
    bar = Progress(len(x), "evaluating", "img", enabled=progress)
    for i in range(0, len(x), batch_size):
        xb = to_float(x[i:i + batch_size]).to(device)
        yb = y[i:i + batch_size].to(device)
        logits = model(xb)
        if flip_tta:
            logits = (logits + model(xb.flip(3))) / 2
        loss_sum += nn.functional.cross_entropy(logits, yb, reduction="sum").item()
        preds.append(logits.argmax(1).cpu())
        bar.update(len(xb))
    bar.close()
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
    """The run folder's ``metrics.json`` layout (docs/data.md) from an :func:`evaluate` result."""
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


@dataclass
class _Run:
    """What one training run holds between steps."""

    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    steps: int
    epoch: int = 0
    step: int = 0
    history: list[dict[str, float]] = field(default_factory=list)
    #: running (images seen, correct, summed loss) of the current epoch, so a resumed epoch reports exactly
    tally: list[float] = field(default_factory=lambda: [0, 0, 0.0])
    #: the running mean of the weights at the ends of the averaged epochs (``--swa-epochs``), else None
    average: AveragedModel | None = None
    #: the model holds the averaged weights with recomputed BatchNorm statistics (the run is complete)
    averaged: bool = False

    def train_state(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
                "epoch": self.epoch, "step": self.step, "history": self.history, "tally": list(self.tally),
                "average": None if self.average is None else self.average.state_dict(), "averaged": self.averaged}

    def load_train_state(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.epoch, self.step, self.history = state["epoch"], state["step"], state["history"]
        self.tally = list(state["tally"])
        if self.average is not None:
            self.average.load_state_dict(state["average"])
        self.averaged = bool(state["averaged"])


def _setup(cfg: TrainConfig, data: ImageData, device: torch.device, memory_format: torch.memory_format) -> _Run:
    """Model, optimiser (no decay on 1-D parameters) and one-cycle schedule for ``cfg`` on ``data``."""
    model = create_model(cfg.model, num_classes=data.num_classes, width=cfg.width, pretrained=cfg.pretrained)
    model = model.to(device=device, memory_format=memory_format)
    n = len(data.x_train)
    steps = n // cfg.batch_size if cfg.steps_per_epoch is None else min(cfg.steps_per_epoch, n // cfg.batch_size)
    optimizer = torch.optim.SGD(_param_groups(model, cfg.weight_decay), lr=cfg.lr, momentum=cfg.momentum,
                                nesterov=True)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(cfg, cfg.epochs * steps))
    return _Run(model, optimizer, scheduler, steps, average=AveragedModel(model) if cfg.swa_epochs else None)


def _data_identity(data: ImageData) -> dict[str, Any]:
    """What a resumed run must share with its checkpoint besides the recipe: the same images."""
    return {"data_source": data.source, "n_train": len(data.x_train), "num_classes": data.num_classes}


def check_data(cfg: TrainConfig, data: ImageData) -> None:
    """The recipe fits the data: at least one full batch, test images to score, and (``--pretrained``) weights
    that load into the model; the model is built once here to find out, which costs milliseconds."""
    if cfg.pretrained is not None:
        create_model(cfg.model, num_classes=data.num_classes, width=cfg.width, pretrained=cfg.pretrained)
    if len(data.x_train) < cfg.batch_size:
        raise NeuralensError(f"training set has {len(data.x_train)} images, fewer than --batch-size {cfg.batch_size}")
    if len(data.x_test) == 0:
        raise NeuralensError("the test split is empty; give test images (or a larger --test-size)")


def check_resume(cfg: TrainConfig, data: ImageData, out: str | Path) -> dict[str, Any]:
    """``OUT/model.pt`` if this run may continue it (same recipe keys, same data); else one clear error.

    Called before anything is written, so a refused ``--resume`` leaves the run folder as it was.
    """
    expected = {k: getattr(cfg, k) for k in cfg.resume_keys} | _data_identity(data)
    return resume_checkpoint(Path(out) / "model.pt", "classifier", expected, "train")


def _buffers(model: nn.Module) -> dict[str, torch.Tensor]:
    """A copy of the BatchNorm statistics, taken at each step's start so an interrupted step can be undone."""
    return {k: v.detach().clone() for k, v in model.named_buffers()}


def train(cfg: TrainConfig, data: ImageData, out: str | Path, resume: bool = False,
          log: Any = print, progress: bool = True) -> dict[str, Any]:
    """Train ``cfg.model`` on ``data``; write ``model.pt`` every epoch, ``metrics.json`` and ``history.csv``.

    Ctrl-C saves a resumable checkpoint at a step boundary before the interrupt propagates. Under torchrun each of
    the N processes takes 1/N of every step's images (the images one process would take, augmented alike) in a
    DistributedDataParallel model whose batch norm uses the global batch's statistics: the processes together
    take the one-process step. Rank 0 writes the run folder.
    """
    check_data(cfg, data)
    rank, size = world()
    if cfg.batch_size % size:
        raise NeuralensError(f"--batch-size {cfg.batch_size} does not divide among {size} processes; give a "
                             "multiple of the process count")
    out = Path(out)
    ckpt_path = out / "model.pt"
    device = resolve_device(cfg.device)
    amp_dtype = autocast_dtype(device, cfg.precision)
    memory_format = torch.channels_last if cfg.channels_last else torch.contiguous_format
    seed_everything(cfg.seed)
    run = _setup(cfg, data, device, memory_format)
    if resume:
        ckpt = check_resume(cfg, data, out)
        run.model.load_state_dict(ckpt["state_dict"])
        run.load_train_state(ckpt["train_state"])
        log(f"resuming from epoch {run.epoch + 1}, step {run.step} of {ckpt_path}")
    net = run.model if size == 1 else DistributedDataParallel(globalize_batchnorm(run.model))
    shard = slice(rank * cfg.batch_size // size, (rank + 1) * cfg.batch_size // size)
    criterion = nn.CrossEntropyLoss(label_smoothing=cfg.label_smoothing)
    config = {"num_classes": data.num_classes, "width": cfg.width, "classes": data.classes,
              "threads": torch.get_num_threads(), "processes": size,
              "normalisation": "inside the model (preprocess.mean/std)", "data": data.source,
              "data_spec": cfg.data, "train": {**{k: v for k, v in asdict(cfg).items() if k != "resume_keys"},
                                               **_data_identity(data)}}
    step_start: dict[str, torch.Tensor] | None = None  # BN statistics at the start of a running step

    def checkpoint(metrics: dict[str, Any] | None = None) -> None:
        if rank == 0:
            save_checkpoint(ckpt_path, "classifier", cfg.model, config, run.model.state_dict(), metrics,
                            run.train_state())

    def save_interrupted() -> None:  # undo a half-done step's BN update, so the checkpoint is a step boundary
        if step_start is not None:
            with torch.no_grad():
                for k, v in run.model.named_buffers():
                    v.copy_(step_start[k])
        checkpoint()

    n = len(data.x_train)
    if cfg.snapshots and run.epoch == 0 and run.step == 0 and rank == 0:
        save_half(run.model, out / "snapshots" / "epoch_000.safetensors")  # the path starts at initialisation
    with interruptible(save_interrupted, ckpt_path, log) as guard:
        while run.epoch < cfg.epochs:
            run.model.train()
            perm = torch.randperm(n, generator=_batch_gen(cfg.seed, run.epoch, -1))
            t0, first = time.perf_counter(), run.step
            bar = Progress(run.steps, f"epoch {run.epoch + 1}/{cfg.epochs}", "batch", enabled=progress)
            bar.update(run.step)
            for step in range(run.step, run.steps):
                step_start = _buffers(run.model)
                idx = perm[step * cfg.batch_size:(step + 1) * cfg.batch_size]
                xb = augment_batch(data.x_train[idx], _batch_gen(cfg.seed, run.epoch, step), pad=cfg.crop_pad)
                xb = xb[shard].to(device).contiguous(memory_format=memory_format)
                yb = data.y_train[idx][shard].to(device)
                loss, correct = _step(run, net, criterion, xb, yb, amp_dtype)
                if size > 1:  # the global batch's mean loss and correct count
                    total = all_reduce_sum(torch.tensor([loss * len(yb), correct], dtype=torch.float64))
                    loss, correct = float(total[0]) / len(idx), int(total[1])
                step_start = None
                if not math.isfinite(loss):
                    raise NeuralensError(f"loss became {loss} at epoch {run.epoch + 1} step {step}; lower --lr")
                run.step = step + 1
                run.tally = [run.tally[0] + len(idx), run.tally[1] + correct, run.tally[2] + loss * len(idx)]
                seen = run.tally[0]
                bar.set_postfix(loss=f"{run.tally[2] / seen:.3f}", acc=f"{run.tally[1] / seen:.3f}",
                                img_s=f"{len(idx) * (step + 1 - first) / (time.perf_counter() - t0):.0f}")
                bar.update()
                guard.check()
            bar.close()
            scores = _end_epoch(run, cfg, data, device, time.perf_counter() - t0, log)
            if run.average is not None and run.epoch > cfg.epochs - cfg.swa_epochs:
                run.average.update_parameters(run.model)
            if cfg.snapshots and rank == 0:  # before the checkpoint: a resumed run redoes an unrecorded epoch
                save_half(run.model, out / "snapshots" / f"epoch_{run.epoch:03d}.safetensors")
            checkpoint(scores)
            if rank == 0:
                _write_history(out / "history.csv", run.history)
            guard.check()

    averaging = run.average is not None and not run.averaged
    if averaging:  # outside the guard: Ctrl-C here keeps the last epoch's checkpoint, and --resume averages again
        log(f"averaging the weights of the last {cfg.swa_epochs} epochs; recomputing BatchNorm statistics")
        adopt_average(run.model, run.average, training_batches(data.x_train, cfg.seed, cfg.crop_pad, 500, device,
                                                               memory_format))
        run.averaged = True
    final = evaluate(run.model, data.x_test, data.y_test, data.num_classes, device=device)
    if averaging:
        log(f"averaged weights: test loss {final['loss']:.3f} acc {final['accuracy']:.4f} (last epoch's weights: "
            f"{run.history[-1]['test_acc']:.4f})")
        checkpoint(classifier_metrics(final, data.classes))
    metrics = classifier_metrics(final, data.classes)
    metrics["accuracy_flip_tta"] = evaluate(run.model, data.x_test, data.y_test, data.num_classes, device=device,
                                            flip_tta=True)["accuracy"]
    metrics["history"] = run.history
    if rank == 0:
        write_json(out / "metrics.json", metrics)
    return metrics


def _step(run: _Run, net: nn.Module, criterion: nn.Module, xb: torch.Tensor, yb: torch.Tensor,
          amp_dtype: torch.dtype | None) -> tuple[float, int]:
    """One SGD step of ``net`` (the model, or its DistributedDataParallel wrapper); returns the batch loss and the
    number of correct predictions."""
    with torch.autocast(xb.device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        logits = net(xb)
        loss = criterion(logits, yb)
    run.optimizer.zero_grad(set_to_none=True)
    loss.backward()
    run.optimizer.step()
    run.scheduler.step()
    return loss.item(), int((logits.argmax(1) == yb).sum())


def _end_epoch(run: _Run, cfg: TrainConfig, data: ImageData, device: torch.device, seconds: float,
               log: Any) -> dict[str, Any]:
    """Score the test set, append the epoch's history row, move the run to the next epoch; return the scores."""
    seen, correct, loss_sum = run.tally
    test = evaluate(run.model, data.x_test, data.y_test, data.num_classes, device=device)
    row = {"epoch": run.epoch + 1, "train_loss": loss_sum / max(seen, 1), "train_acc": correct / max(seen, 1),
           "test_loss": test["loss"], "test_acc": test["accuracy"], "seconds": seconds,
           "images_per_s": seen / max(seconds, 1e-9)}
    run.history.append(row)
    log(f"epoch {run.epoch + 1}/{cfg.epochs}: train loss {row['train_loss']:.3f} acc {row['train_acc']:.3f} | "
        f"test loss {row['test_loss']:.3f} acc {row['test_acc']:.3f} | {seconds:.1f}s "
        f"({row['images_per_s']:.0f} img/s)")
    run.epoch, run.step, run.tally = run.epoch + 1, 0, [0, 0, 0.0]
    return classifier_metrics(test, data.classes)
