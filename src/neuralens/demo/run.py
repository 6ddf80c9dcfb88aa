"""``neuralens demo``: run every study on built-in defaults, then write the report.

Each study is a :class:`Step` that writes into ``OUT/<name>/`` and finishes by writing ``done.json``; a step whose
``done.json`` exists is skipped unless ``--force``, so an interrupted demo resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from neuralens.cnn.compare import compare
from neuralens.cnn.runs import run_gradflow, run_landscape
from neuralens.cnn.viz import plot_confusion, plot_history, plot_predictions
from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.errors import NeuralensError
from neuralens.core.io import log, save_npz, write_json
from neuralens.data.cifar import ImageData, load_image_data
from neuralens.data.home import FETCHERS, TINY_NERF_FILE, cifar_root, data_home, has_cifar, nerf_scene
from neuralens.data.scenes import load_scene
from neuralens.deform.check import check_report
from neuralens.deform.experiment import run_experiment, warped_data
from neuralens.deform.speed import time_one_shape
from neuralens.deform.viz import plot_experiment, plot_offset_heatmaps, plot_sampling_points
from neuralens.models import build_model, model_from_checkpoint, parse_model_spec
from neuralens.models.train import TrainConfig, evaluate, train
from neuralens.nerf.compare import run_compare
from neuralens.nerf.model import load_nerf
from neuralens.nerf.orbit import render_orbit
from neuralens.nerf.trainer import evaluate_views
from neuralens.nerf.variants import BASELINE
from neuralens.nerf.viz import plot_rendering, plot_renders, plot_sampling
from neuralens.report.builder import build_report


@dataclass
class DemoContext:
    out: Path
    quick: bool
    seed: int
    data_root: str | None
    device: str
    models: tuple[str, ...] = ()  # two user model specs to study instead of training ours
    weights: tuple[str, ...] = ()  # their weights, one per model ("" for none)
    normalize: str | None = None
    offline: bool = False
    scene: Path | None = None  # the data home's real NeRF scene, if any (set by resolve_data)

    def log(self, msg: str) -> None:
        log(msg)


@dataclass
class Step:
    name: str
    title: str
    run: Callable[[DemoContext, Path], None]


def _data(ctx: DemoContext, n_train: int, n_test: int) -> ImageData:
    return load_image_data("auto", ctx.data_root, synthetic_size=(n_train, n_test), seed=ctx.seed,
                           log=ctx.log).subset(n_train, n_test)


def _cnn_sizes(ctx: DemoContext) -> dict[str, Any]:
    if ctx.quick:
        return {"n_train": 2048, "n_test": 512, "epochs": 2, "width": 0.125}
    # 12k images x 3 epochs keeps the full demo within 15 min where training is float32 (AVX2-only CPUs)
    return {"n_train": 12000, "n_test": 2000, "epochs": 3, "width": 0.25}


def _eval_figures(model: torch.nn.Module, data: ImageData, name: str, folder: Path) -> dict[str, Any]:
    """Score ``model`` on the test split; confusion matrix and labelled predictions (correct first) for the report."""
    res = evaluate(model, data.x_test, data.y_test, data.num_classes)
    plot_confusion(res["confusion"], data.classes, folder / "confusion.png", f"{name} on {data.source}")
    correct = torch.nonzero(res["predictions"] == data.y_test).flatten()[:16]
    wrong = torch.nonzero(res["predictions"] != data.y_test).flatten()[:8]
    idx = torch.cat([correct, wrong])
    plot_predictions(data.x_test[idx], data.y_test[idx], res["predictions"][idx], data.classes,
                     folder / "predictions.png", title=f"{name}: predicted (true); correct first")
    return res


def _cnn_step(ctx: DemoContext, folder: Path) -> None:
    """Train small VGG16-BN and ResNet18 briefly (or take the user's two models), evaluate them, keep figures."""
    sz = _cnn_sizes(ctx)
    data = _data(ctx, sz["n_train"], sz["n_test"])
    models = []
    for spec, weights in zip(ctx.models, ctx.weights):
        model = build_model(spec, data.num_classes, weights=weights or None, normalize=ctx.normalize)
        name = parse_model_spec(spec).slug
        res = _eval_figures(model, data, name, folder / name / "eval")
        models.append({**model.neuralens_spec, "spec": spec, "model": name, "trained_here": False,
                       "accuracy": res["accuracy"], "loss": res["loss"]})
    for name in () if ctx.models else CNN_MODELS:
        sub = folder / name
        cfg = TrainConfig(model=name, width=sz["width"], epochs=sz["epochs"], batch_size=128, lr=0.1, seed=ctx.seed,
                          device=ctx.device, data="auto")
        t0 = time.perf_counter()
        metrics = train(cfg, data, sub, log=ctx.log)
        seconds = time.perf_counter() - t0
        plot_history(metrics["history"], sub / "history.png", f"{name} x{sz['width']}")
        _eval_figures(model_from_checkpoint(load_checkpoint(sub / "model.pt")), data, name, sub / "eval")
        models.append({"model": name, "weights": "trained here", "normalize": "cifar", "trained_here": True,
                       "width": sz["width"], "epochs": sz["epochs"], "train_images": len(data.x_train),
                       "accuracy": metrics["accuracy"], "loss": metrics["loss"], "seconds": seconds})
    write_json(folder / "summary.json", {"data": data.source, "models": models})


CNN_MODELS = ("vgg16_bn", "resnet18")


def _studied(ctx: DemoContext) -> list[tuple[str, str]]:
    """(spec, weights) of the two models the CNN steps study: the user's, or the ones the cnn step trained."""
    if ctx.models:
        return list(zip(ctx.models, ctx.weights))
    paths = [ctx.out / "cnn" / m / "model.pt" for m in CNN_MODELS]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise NeuralensError(f"demo: the cnn step's checkpoints are missing ({missing[0]}); run it first")
    return [(m, str(p)) for m, p in zip(CNN_MODELS, paths)]


def _gradflow_step(ctx: DemoContext, folder: Path) -> None:
    """Gradient flow of VGG16 (no BN), VGG16-BN, ResNet18 and plain18 at init and of the two trained nets (or of
    the user's two models, at init and with their weights)."""
    studied = _studied(ctx)
    sz = _cnn_sizes(ctx)
    data = _data(ctx, 1024, 64)
    batches, bs = (2, 64) if ctx.quick else (8, 128)
    if ctx.models:
        specs, weights = [s for s, _ in studied], [w for _, w in studied]
    else:
        specs, weights = ["vgg16", "vgg16_bn", "resnet18", "plain18"], ["", studied[0][1], studied[1][1], ""]
    run_gradflow(specs, weights, data, sz["width"], batches, bs, ctx.seed, folder, ctx.normalize)


def _landscape_step(ctx: DemoContext, folder: Path) -> None:
    """2-D landscapes of the two studied models, then the numeric comparison."""
    sz = _cnn_sizes(ctx)
    data = _data(ctx, 64, 512)
    steps, eval_size, hess = (7, 128, 3) if ctx.quick else (21, 256, 10)
    names = []
    for spec, weights in _studied(ctx):
        name = parse_model_spec(spec).slug
        names.append(name)
        ctx.log(f"  landscape of {name}: {steps}x{steps} points on {eval_size} test images")
        run_landscape(spec, weights or None, data, sz["width"], steps, 1.0, eval_size, ctx.seed, hess, folder / name,
                      interp_steps=7 if ctx.quick else 21, normalize=ctx.normalize)
    compare(ctx.out / "gradflow" if (ctx.out / "gradflow" / "gradflow.json").is_file() else None,
            [folder / n for n in names], folder)


def _deform_step(ctx: DemoContext, folder: Path) -> None:
    """Op check against torchvision, a timing, the DCN-vs-CNN experiment and the sampling figures."""
    write_json(folder / "check.json", check_report(4 if ctx.quick else 12, ctx.seed))
    shape = (2, 32, 16) if ctx.quick else (8, 64, 32)
    write_json(folder / "speed.json", time_one_shape(*shape))
    n_train, n_test, epochs = (512, 256, 1) if ctx.quick else (3000, 1000, 3)
    data = warped_data(_data(ctx, n_train, n_test), ctx.seed)
    res = run_experiment(data, folder / "experiment", epochs, 0.5, ctx.seed, log=ctx.log)
    write_json(folder / "experiment" / "results.json", res)
    plot_experiment(res, folder / "experiment" / "curves.png")
    model = model_from_checkpoint(load_checkpoint(folder / "experiment" / "small_dcn" / "model.pt"))
    image = data.x_test[0].float() / 255
    plot_sampling_points(model, image, folder / "sampling_points.png",
                         title="where one output pixel samples, with the experiment's learned offsets")
    plot_offset_heatmaps(model, image, folder / "offset_magnitude.png")


def resolve_data(ctx: DemoContext) -> dict[str, Any]:
    """Fetch what the data home lacks (unless offline), then choose real or generated data; ``data.json``'s
    content. A failed fetch is one line and the generated stand-in data."""
    home = data_home(ctx.data_root)
    missing = [n for n, there in (("cifar10", has_cifar(cifar_root(ctx.data_root))),
                                  ("tiny_nerf", (home / "nerf" / TINY_NERF_FILE).is_file())) if not there]
    for name in [] if ctx.offline else missing:
        try:
            FETCHERS[name](ctx.data_root)
        except NeuralensError as exc:
            ctx.log(f"data: {name} not fetched: {exc}")
    cifar = cifar_root(ctx.data_root)
    sz = _cnn_sizes(ctx)
    ctx.scene = nerf_scene(ctx.data_root)
    real_cifar = has_cifar(cifar)
    return {"home": str(home),
            "cifar10": {"source": "real" if real_cifar else "synthetic", "path": str(cifar) if real_cifar else None,
                        "train": sz["n_train"], "test": sz["n_test"]},
            "nerf": {"source": "real" if ctx.scene else "builtin",
                     "scene": ctx.scene.stem if ctx.scene else "builtin (generated still life)",
                     "path": str(ctx.scene) if ctx.scene else None}}


def _nerf_scene(ctx: DemoContext) -> tuple[str, int]:
    """(scene spec, downscale): the data home's real scene (half resolution in --quick), else the built-in one."""
    if ctx.scene is not None:
        return str(ctx.scene), 2 if ctx.quick else 1
    return f"builtin:{32 if ctx.quick else 64}", 1


def _nerf_step(ctx: DemoContext, folder: Path) -> None:
    """Sampler figure; baseline vs best variant for the same time; orbit video; rendering figure; the
    trained field evaluated on a different scene."""
    plot_sampling(folder / "sampling.png", seed=ctx.seed)
    seconds, frames = (8.0, 8) if ctx.quick else (75.0, 36)
    spec, downscale = _nerf_scene(ctx)
    scene = load_scene(spec, downscale=downscale)
    size = scene.height
    variants = [BASELINE, "fast"] if ctx.quick else [BASELINE, "tiny_viewdirs", "fast"]
    summary = run_compare(["--scene", spec, "--downscale", str(downscale)], scene, seconds, folder / "compare",
                          variants, ctx.seed, log=ctx.log)
    best = summary["best"]
    ckpt, cfg, model = load_nerf(folder / "compare" / best / "checkpoint.pt")
    render_orbit(model, cfg, ckpt["scene"], folder / "orbit", frames, 12)
    view = scene.test_idx[0]
    plot_rendering(model, scene.camera, scene.poses[view], cfg, folder / "rendering.png",
                   target=scene.images[view])
    other = load_scene(f"builtin-b:{size}")
    own = evaluate_views(model, scene, cfg)
    cross = evaluate_views(model, other, cfg)
    save_npz(folder / "cross_scene_renders.npz", images=cross["images"][:4].numpy(),
             targets=other.images[other.test_idx[:4]].numpy())
    write_json(folder / "cross_scene.json", {
        "model": best, "trained_on": scene.name, "other_scene": other.name,
        "psnr_own_scene": own["psnr"]["mean"], "psnr_other_scene": cross["psnr"]["mean"],
        "ssim_own_scene": own["ssim"]["mean"], "ssim_other_scene": cross["ssim"]["mean"]})
    plot_renders(cross["images"], other.images[cross["indices"]], folder / "cross_scene.png",
                 f"{best} trained on {scene.name}, asked to render {other.name}'s cameras")


STEPS: list[Step] = [
    Step("cnn", "CNNs: train briefly, predict", _cnn_step),
    Step("gradflow", "gradient flow", _gradflow_step),
    Step("landscape", "loss landscapes and the VGG/ResNet comparison", _landscape_step),
    Step("deform", "deformable convolution: check, speed, experiment, figures", _deform_step),
    Step("nerf", "tiny NeRF: sampling, baseline vs improved, orbit video, another scene", _nerf_step),
]


def run_demo(out: str | Path = "runs/demo", quick: bool = False, force: bool = False, seed: int = 0,
             data_root: str | None = None, device: str = "auto", only: list[str] | None = None,
             models: tuple[str, ...] = (), weights: tuple[str, ...] = (), normalize: str | None = None,
             offline: bool = False) -> Path:
    """Run every step (or ``only`` these), skipping finished ones; return the report path.

    Data: the data home's (``data_root``, else ``$NEURALENS_DATA``), fetched first unless ``offline``; generated
    stand-ins where real data cannot be had (``data.json`` says which). ``models`` (two specs, with ``weights``
    one per model) makes the CNN steps study those instead of training.
    """
    ctx = DemoContext(Path(out), quick, seed, data_root, device, models, weights or ("",) * len(models), normalize,
                      offline)
    info = resolve_data(ctx)
    write_json(ctx.out / "data.json", info)
    ctx.log(f"data: CIFAR-10 {info['cifar10']['source']} ({info['cifar10']['path'] or 'generated shapes'}), "
            f"NeRF scene {info['nerf']['source']} ({info['nerf']['path'] or 'generated still life'})")
    start = time.perf_counter()
    for step in STEPS:
        folder = ctx.out / step.name
        if only and step.name not in only:
            continue
        if (folder / "done.json").is_file() and not force:
            ctx.log(f"[{step.name}] {step.title}: done already, skipped (use --force to redo)")
            continue
        ctx.log(f"[{step.name}] {step.title} ...")
        t0 = time.perf_counter()
        step.run(ctx, folder)
        write_json(folder / "done.json", {"seconds": time.perf_counter() - t0, "quick": quick})
        ctx.log(f"[{step.name}] finished in {time.perf_counter() - t0:.1f}s "
                f"(total {time.perf_counter() - start:.1f}s)")
    report = build_report(ctx.out)
    ctx.log(f"report: {report}")
    return report
