"""Does the deformable receptive field adapt to the object's size? The experiment behind the report's answer.

A task where geometry is the point: the procedural shapes drawn at scales spread over 3.6x (object half-size 0.25
to 0.9 of half the image), each image's scale and object mask known. ``small_dcn`` (three deformable 3x3 layers at
16x16) and ``small_cnn`` (the same with plain convs) train with one recipe per training seed; then, on the test
images, each deformable layer's mean effective dilation (:mod:`neuralens.deform.dilation`) over the object's
pixels and over the background, and its rank correlation with the object's scale: Dai et al. 2017's Table 2, with
an interval over images (per seed) and over seeds (the verdict's, :func:`neuralens.core.rules.adapts_rule`).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from neuralens.core import rules
from neuralens.core.io import write_json
from neuralens.core.progress import progress
from neuralens.core.rules import Decision
from neuralens.core.wording import span
from neuralens.data.cifar import ImageData
from neuralens.data.synthetic import SYNTHETIC_CLASSES, make_shapes
from neuralens.deform.dilation import effective_dilation, object_mean, rank_correlation
from neuralens.deform.viz import plot_dilation_by_scale, plot_small_and_large
from neuralens.models.checkpoint import load_classifier
from neuralens.models.train import TrainConfig, train

#: scale bins of the figure and the table (object half-size / half the image), as Dai et al.'s small/medium/large
BINS = {"small": (0.25, 0.47), "medium": (0.47, 0.68), "large": (0.68, 0.91)}


@dataclass(frozen=True)
class AdaptSettings:
    n_train: int = 6000
    n_test: int = 600
    epochs: int = 6
    seeds: int = 3  # training seeds (the verdict's spread)
    scales: tuple[float, float] = (0.25, 0.9)
    lr: float = 0.05
    batch_size: int = 128


def scaled_shapes(settings: AdaptSettings) -> tuple[ImageData, np.ndarray, np.ndarray]:
    """The task's images (one dataset for every training seed), and the test objects' scales and masks."""
    xs, ys, _, _ = make_shapes(settings.n_train, 101, scales=settings.scales, shift=0.15)
    xt, yt, scale, masks = make_shapes(settings.n_test, 102, scales=settings.scales, shift=0.15)
    to_t = lambda a: torch.from_numpy(a).permute(0, 3, 1, 2).contiguous()  # noqa: E731
    data = ImageData(to_t(xs), torch.from_numpy(ys), to_t(xt), torch.from_numpy(yt), list(SYNTHETIC_CLASSES),
                     f"procedural shapes at scales {settings.scales[0]}-{settings.scales[1]}")
    return data, scale, masks


@torch.no_grad()
def layer_dilations(model: torch.nn.Module, images: torch.Tensor, masks: np.ndarray) -> list[dict[str, Any]]:
    """Per deformable layer: each test image's mean effective dilation over its object's pixels and over the
    background (masks pooled to the layer's resolution: a pixel is the object's where it covers half of it)."""
    model.eval()
    model(images.float() / 255)
    out = []
    for layer in model.deform_layers():
        dil = effective_dilation(layer.sampling_locations(), layer.kernel_size)
        m = F.adaptive_avg_pool2d(torch.from_numpy(masks).float()[:, None], dil.shape[-2:])[:, 0] >= 0.5
        out.append({"object": object_mean(dil, m).tolist(), "background": object_mean(dil, ~m).tolist()})
    return out


def run_adaptation(settings: AdaptSettings, out: Path, log: Any = print, device: str = "cpu") -> dict[str, Any]:
    """Train both nets per seed, measure the deformable one, write ``adapt.json``; return it."""
    data, scale, masks = scaled_shapes(settings)
    runs: list[dict[str, Any]] = []
    for seed in progress(range(settings.seeds), "training seeds", unit="seed"):
        row: dict[str, Any] = {"seed": seed}
        for name in ("small_cnn", "small_dcn"):
            cfg = TrainConfig(model=name, width=1.0, epochs=settings.epochs, batch_size=settings.batch_size,
                              lr=settings.lr, seed=seed, device=device, channels_last=False, crop_pad=0,
                              label_smoothing=0.0, data=data.source)
            t0 = time.perf_counter()
            metrics = train(cfg, data, out / f"seed_{seed}" / name, log=log, progress=False)
            row[name] = {"accuracy": metrics["accuracy"], "seconds": time.perf_counter() - t0}
        model, _ = load_classifier(out / f"seed_{seed}" / "small_dcn" / "model.pt", "small_dcn")
        row["layers"] = layer_dilations(model, data.x_test, masks)
        for k, layer in enumerate(row["layers"]):
            ok = ~np.isnan(layer["object"])
            layer["correlation"] = rank_correlation(scale[ok], np.asarray(layer["object"])[ok], seed=seed + 10 * k)
        runs.append(row)
    result = {"settings": asdict(settings), "data": data.source, "n_test": len(scale), "scales": scale.tolist(),
              "bins": BINS, "runs": runs}
    write_json(out / "adapt.json", result)
    plot_dilation_by_scale(result, out / "dilation_by_scale.png")
    model, _ = load_classifier(out / "seed_0" / "small_dcn" / "model.pt", "small_dcn")
    plot_small_and_large(model, data.x_test[int(np.argmin(scale))].float() / 255,
                         data.x_test[int(np.argmax(scale))].float() / 255, out / "small_and_large.png")
    return result


def adaptation_verdicts(result: dict[str, Any]) -> list[tuple[str, str, str, Decision]]:
    """(question, numbers, wording key, decision): does the last deformable layer's dilation grow with the object
    (rules.adapts_rule over training seeds), and does the deformable net score higher than the plain one (the
    seeds' mean accuracies, beyond two standard errors of the test images)."""
    runs = result["runs"]
    last = [run["layers"][-1]["correlation"] for run in runs]
    acc = {n: [run[n]["accuracy"] for run in runs] for n in ("small_dcn", "small_cnn")}
    numbers = ("rank correlation of object scale and the last deformable layer's mean effective dilation, per "
               "training seed: " + ", ".join(f"{c['rho']:+.2f} [{c['ci95'][0]:+.2f}, {c['ci95'][1]:+.2f}]"
                                              for c in last) + f" over {result['n_test']} test images")
    mean = {n: sum(v) / len(v) for n, v in acc.items()}
    learned = all(rules.above_chance(a, 10, result["n_test"]) for a in acc["small_dcn"])
    return [("Does the deformable receptive field adapt to the object's size?", numbers, "adapts",
             rules.adapts_rule([c["rho"] for c in last], learned)),
            ("Does the deformable net score higher on it than the same net with plain convs?",
             f"test accuracy per seed: small_dcn {span(acc['small_dcn'])}, small_cnn {span(acc['small_cnn'])} "
             f"on {result['n_test']} images", "difference",
             rules.difference_rule(mean["small_dcn"], mean["small_cnn"], result["n_test"], 10))]
