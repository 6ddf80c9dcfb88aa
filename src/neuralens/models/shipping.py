"""Turning a finished ``neuralens train`` run into shipped weights: a safetensors file and its model card.

The card's accuracy and loss are measured on the *stored* (half-precision) weights read back from the file, with
the same :func:`~neuralens.models.train.evaluate` that ``neuralens eval`` runs, so ``eval --weights neuralens``
on the same test set prints the card's numbers. The float32 numbers of the run's own checkpoint are kept beside
them, to show what half-precision storage cost.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import torch

from neuralens.core import VERSION
from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.io import cpu_name, read_json, write_json
from neuralens.data.cifar import ImageData
from neuralens.models.checkpoint import model_from_checkpoint
from neuralens.models.registry import create_model
from neuralens.models.spec import NORMALIZATIONS
from neuralens.models.train import classifier_metrics, evaluate
from neuralens.models.weights import load_state, read_safetensors, save_half, sha256_of


def _normalization(model: torch.nn.Module) -> dict[str, Any]:
    mean = [round(float(v), 6) for v in model.preprocess.mean.flatten()]
    std = [round(float(v), 6) for v in model.preprocess.std.flatten()]
    name = next((k for k, (m, s) in NORMALIZATIONS.items()
                 if all(abs(a - b) < 1e-6 for a, b in zip(mean + std, list(m) + list(s)))), "custom")
    return {"name": name, "mean": mean, "std": std}


def export_shipped(run_dir: Path, data: ImageData, dest: Path, command: str, data_files: list[Path],
                   note: str = "", earlier: list[dict[str, Any]] | None = None,
                   threads: int | None = None) -> dict[str, Any]:
    """Write ``dest/ARCH.safetensors`` and ``dest/ARCH.json`` from the run in ``run_dir``; return the card.

    ``earlier``: the epoch history of the runs this one continued (``train --pretrained RUN/model.pt``), so the
    card's epochs, seconds and per-epoch accuracies cover the whole recipe, not only its last stage. ``threads``:
    the training's CPU threads (default: what its checkpoint recorded)."""
    ckpt = load_checkpoint(run_dir / "model.pt", kind="classifier")
    arch, config = ckpt["arch"], ckpt["config"]
    model = model_from_checkpoint(ckpt, run_dir / "model.pt").eval()
    n = data.num_classes
    full = evaluate(model, data.x_test, data.y_test, n)
    path = save_half(model, dest / f"{arch}.safetensors")
    stored = create_model(arch, num_classes=n, width=float(config["width"]))
    load_state(stored, read_safetensors(path), str(path), arch, arch)
    res = evaluate(stored, data.x_test, data.y_test, n)
    tta = evaluate(stored, data.x_test, data.y_test, n, flip_tta=True)["accuracy"]
    metrics = read_json(run_dir / "metrics.json") if (run_dir / "metrics.json").is_file() else {}
    history = list(earlier or []) + (metrics.get("history") or ckpt.get("train_state", {}).get("history", []))
    recipe = config.get("train", {})
    threads = config["threads"] if threads is None else threads
    card = {
        "arch": arch, "width": float(config["width"]), "num_classes": n, "classes": list(data.classes),
        "normalization": _normalization(stored),
        "file": path.name, "sha256": sha256_of(path), "bytes": path.stat().st_size,
        "parameters": sum(p.numel() for p in stored.parameters()),
        "storage": "conv/linear weights float16; BN statistics, biases and normalisation float32",
        "metrics": {**classifier_metrics(res, data.classes), "n_test": len(data.y_test),
                    "accuracy_flip_tta": tta, "accuracy_float32": full["accuracy"], "loss_float32": full["loss"],
                    "measured_with": "neuralens.models.train.evaluate on the stored weights, CPU, batch 500"},
        "data": {"source": data.source, "train_images": recipe.get("n_train"), "test_images": len(data.y_test),
                 "files": {p.name: sha256_of(p) for p in data_files},
                 "note": "a JPEG-decoded copy of CIFAR-10 (no lossless copy on the training machine); "
                         "accuracy on the original test set will differ somewhat"},
        "training": {"command": command, "recipe": recipe,
                     "epochs": len(history) if earlier else recipe.get("epochs", len(history)),
                     "seconds": round(sum(h.get("seconds", 0.0) for h in history), 1),
                     "test_accuracy_per_epoch": [round(h["test_acc"], 4) for h in history],
                     "train_loss_per_epoch": [round(h["train_loss"], 4) if "train_loss" in h else None
                                              for h in history],
                     "cpu": cpu_name(), "threads": threads, "note": note},
        "exported": {"date": datetime.date.today().isoformat(), "neuralens": VERSION, "torch": torch.__version__},
    }
    write_json(dest / f"{arch}.json", card)
    return card
