"""``neuralens demo``: run every study on built-in defaults, then write the report.

By default the CNN study looks at the nets neuralens ships (VGG16-BN, ResNet18 and Plain18 trained on CIFAR-10,
``--weights neuralens``); it trains two nets briefly from scratch only when asked (``train``) or when the data
home has no CIFAR-10 (the shipped nets know CIFAR-10's classes, not the generated stand-in's). Each study is a
:class:`Step` that writes into ``OUT/<name>/`` and finishes by writing ``done.json``; a step whose ``done.json``
exists is skipped unless ``force``, so an interrupted demo resumes where it stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from neuralens.cnn.compare import compare
from neuralens.cnn.depth_run import CurvatureSettings, run_depth
from neuralens.cnn.runs import run_gradflow, run_hessian, run_landscape, run_trajectory
from neuralens.cnn.settings import HessianSettings, LandscapeSettings
from neuralens.cnn.viz import plot_confusion, plot_history, plot_predictions
from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.errors import NeuralensError
from neuralens.core.io import log, read_json, save_npz, write_json
from neuralens.core.progress import Progress
from neuralens.core.runtime import resolve_device
from neuralens.data.cifar import ImageData, load_image_data
from neuralens.data.home import FETCHERS, TINY_NERF_FILE, cifar_root, data_home, has_cifar, nerf_scene
from neuralens.data.scene_spec import SceneChoice
from neuralens.data.scenes import load_choice, load_scene
from neuralens.deform.adaptation import AdaptSettings, adapted_model, run_adaptation, scaled_shapes
from neuralens.deform.check import check_report
from neuralens.deform.speed import time_one_shape
from neuralens.deform.viz import plot_offset_heatmaps, plot_sampling_points
from neuralens.demo.config import STEP_TITLES, DemoConfig
from neuralens.models.build import build_model, check_model_data
from neuralens.models.cards import SHIPPED, available, read_card
from neuralens.models.checkpoint import model_from_checkpoint
from neuralens.models.spec import parse_model_spec
from neuralens.models.train import TrainConfig, evaluate, train
from neuralens.nerf.budget import Budget
from neuralens.nerf.compare import run_compare
from neuralens.nerf.metrics import blank_psnr
from neuralens.nerf.model import load_nerf
from neuralens.nerf.orbit import render_orbit
from neuralens.nerf.trainer import evaluate_views
from neuralens.nerf.variants import BASELINE
from neuralens.nerf.viz import plot_rendering, plot_renders, plot_sampling
from neuralens.report.builder import build_report

#: the nets neuralens ships and the demo studies: the shortcut question is resnet18 vs plain18 (same layers, same
#: batch norm), with vgg16_bn beside them
SHIPPED_NETS = ("vgg16_bn", "resnet18", "plain18")
#: nets trained from scratch with ``--train`` (or without CIFAR-10)
TRAINED_NETS = ("vgg16_bn", "resnet18")
#: gradient flow at initialisation: with and without batch norm, with and without shortcuts
INIT_NETS = ("vgg16", "vgg16_bn", "resnet18", "plain18")


@dataclass
class DemoRun:
    """A demo in progress: its settings and what was found about the data."""

    cfg: DemoConfig
    real_cifar: bool = False
    scene: Path | None = None  # the data home's real NeRF scene, if any
    images: ImageData | None = None  # the image data, read once for every step

    def data(self, n_train: int, n_test: int) -> ImageData:
        """The first ``n_train`` / ``n_test`` images of the data home's set (or of the generated stand-in)."""
        if self.images is None:
            big = _cnn_sizes(self)
            self.images = load_image_data("auto", self.cfg.data_root, seed=self.cfg.seed, log=log,
                                          synthetic_size=(max(big["n_train"], 3000), max(big["n_test"], 1000)))
        return self.images.subset(n_train, n_test)

    @property
    def mode(self) -> str:
        """``user`` (the user's two models), ``train`` (two nets trained here) or ``shipped`` (neuralens')."""
        if self.cfg.models:
            return "user"
        return "train" if self.cfg.train or not self.real_cifar else "shipped"

    @property
    def quick(self) -> bool:
        return self.cfg.quick


@dataclass
class Step:
    name: str
    title: str
    run: Callable[[DemoRun, Path], None]


def _cnn_sizes(run: DemoRun) -> dict[str, Any]:
    """Training sizes for ``train`` mode, and the test images every mode scores."""
    if run.quick:
        return {"n_train": 2048, "n_test": 500 if run.mode == "shipped" else 512, "epochs": 2, "width": 0.125}
    # 12k images x 3 epochs keeps a from-scratch demo within minutes where training is float32 (AVX2-only CPUs)
    return {"n_train": 12000, "n_test": 5000 if run.mode == "shipped" else 2000, "epochs": 3, "width": 0.25}


def _eval_figures(model: torch.nn.Module, data: ImageData, name: str, folder: Path, device: str) -> dict[str, Any]:
    """Score ``model`` on the test split; confusion matrix and labelled predictions (correct first) for the report."""
    res = evaluate(model.to(resolve_device(device)), data.x_test, data.y_test, data.num_classes)
    plot_confusion(res["confusion"], data.classes, folder / "confusion.png", f"{name} on {data.source}")
    correct = torch.nonzero(res["predictions"] == data.y_test).flatten()[:16]
    wrong = torch.nonzero(res["predictions"] != data.y_test).flatten()[:8]
    idx = torch.cat([correct, wrong])
    plot_predictions(data.x_test[idx], data.y_test[idx], res["predictions"][idx], data.classes,
                     folder / "predictions.png", title=f"{name}: predicted (true); correct first")
    return res


def _cnn_step(run: DemoRun, folder: Path) -> None:
    """The shipped nets (or the user's two, or two trained here) score the test images; figures of predictions."""
    sz = _cnn_sizes(run)
    data = run.data(sz["n_train"], sz["n_test"])
    cfg = run.cfg
    models = []
    if run.mode == "user":
        for spec, weights in zip(cfg.models, cfg.weights):
            parsed = parse_model_spec(spec)
            check_model_data(parsed, weights or None, data.classes, data.source, data.is_synthetic, log)
            model = build_model(parsed, data.num_classes, weights=weights or None, normalize=cfg.normalize)
            res = _eval_figures(model, data, parsed.slug, folder / parsed.slug / "eval", cfg.device)
            models.append({**model.neuralens_spec, "spec": spec, "model": parsed.slug, "trained_here": False,
                           "accuracy": res["accuracy"], "loss": res["loss"], "n_test": len(data.x_test)})
    elif run.mode == "shipped":
        for name in SHIPPED_NETS:
            model = build_model(name, data.num_classes, weights=SHIPPED)
            check_model_data(parse_model_spec(name), SHIPPED, data.classes, data.source, data.is_synthetic, log)
            res = _eval_figures(model, data, name, folder / name / "eval", cfg.device)
            card = read_card(name)
            models.append({"model": name, "weights": SHIPPED, "normalize": card["normalization"]["name"],
                           "trained_here": False, "shipped": True, "width": card["width"],
                           "epochs": card["training"]["epochs"], "accuracy": res["accuracy"], "loss": res["loss"],
                           "n_test": len(data.x_test), "card_accuracy": card["metrics"]["accuracy"],
                           "card_n_test": card["metrics"]["n_test"]})
    else:
        for name in TRAINED_NETS:
            sub = folder / name
            tcfg = TrainConfig(model=name, width=sz["width"], epochs=sz["epochs"], batch_size=128, lr=0.1,
                               seed=cfg.seed, device=cfg.device, data="auto")
            t0 = time.perf_counter()
            metrics = train(tcfg, data, sub, log=log)
            seconds = time.perf_counter() - t0
            plot_history(metrics["history"], sub / "history.png", f"{name} x{sz['width']}")
            _eval_figures(model_from_checkpoint(load_checkpoint(sub / "model.pt")), data, name, sub / "eval",
                          cfg.device)
            models.append({"model": name, "weights": "trained here", "normalize": "cifar", "trained_here": True,
                           "width": sz["width"], "epochs": sz["epochs"], "train_images": len(data.x_train),
                           "accuracy": metrics["accuracy"], "loss": metrics["loss"], "seconds": seconds,
                           "n_test": len(data.x_test)})
    write_json(folder / "summary.json", {"data": data.source, "mode": run.mode, "num_classes": data.num_classes,
                                         "models": models,
                                         "why_trained": None if run.mode != "train" else (
                                             "asked for (--train)" if cfg.train else
                                             "no CIFAR-10 in the data home: the shipped nets know CIFAR-10's "
                                             "classes, not the generated stand-in's")})


def _studied(run: DemoRun) -> list[tuple[str, str]]:
    """(spec, weights) of the models the CNN steps study: the user's, the shipped ones, or those trained here."""
    if run.mode == "user":
        return list(zip(run.cfg.models, run.cfg.weights))
    if run.mode == "shipped":
        return [(m, SHIPPED) for m in SHIPPED_NETS]
    paths = [run.cfg.out / "cnn" / m / "model.pt" for m in TRAINED_NETS]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise NeuralensError(f"demo: the cnn step's checkpoints are missing ({missing[0]}); run it first")
    return [(m, str(p)) for m, p in zip(TRAINED_NETS, paths)]


def _width(run: DemoRun) -> float:
    """The width of the nets studied at initialisation: the shipped nets' (so init and trained are one
    architecture), or the from-scratch size."""
    return float(read_card("resnet18")["width"]) if run.mode == "shipped" else _cnn_sizes(run)["width"]


def _gradflow_step(run: DemoRun, folder: Path) -> None:
    """Gradient flow at initialisation over three seeds (VGG16 without and with BN, ResNet18, Plain18, or the
    user's two models) and of the trained nets on real batches."""
    studied = dict(_studied(run))
    data = run.data(1024, 64)
    batches, bs = (3, 32) if run.quick else (4, 128)
    if run.mode == "user":
        specs, weights = list(studied), list(studied.values())
    else:
        specs = list(INIT_NETS)
        weights = [studied.get(m, "") for m in specs]
    run_gradflow(specs, weights, data, _width(run) if run.mode != "user" else None, batches, bs, run.cfg.seed,
                 folder, run.cfg.normalize, init_seeds=3, bar_figures="trained" if run.quick else "all",
                 device=run.cfg.device)


#: the depth series of the demo (He et al.'s CIFAR pairs); --quick leaves out the costly 110 layers
DEPTHS, QUICK_DEPTHS = (8, 20, 56, 110), (8, 20, 56)


#: the full demo's landscapes of the shipped depth nets: 5x5 planes, the top eigenvalue over two probe seeds;
#: the non-convexity map is `neuralens depth`'s
DEMO_CURVATURE = CurvatureSettings(steps=5, map_points=0)


def _depth_step(run: DemoRun, folder: Path) -> None:
    """resnetN against plainN: gradients at initialisation over three seeds, with and without batch norm, and the
    shipped depth nets' cards (accuracy, per-epoch history) where this run studies shipped nets, with their
    landscapes and top Hessian eigenvalue in the full demo."""
    depths = QUICK_DEPTHS if run.quick else DEPTHS
    shipped = set(available()) if run.mode == "shipped" else set()
    names = [f"{fam}{d}" for d in depths for fam in ("resnet", "plain")]
    specs = [(parse_model_spec(n), SHIPPED if n in shipped else "") for n in names]
    run_depth(specs, run.data(128, 64), [run.cfg.seed + k for k in range(3)], 64 if run.quick else 128, folder,
              curvature_settings=None if run.quick else DEMO_CURVATURE)


def landscape_settings(run: DemoRun) -> LandscapeSettings:
    """The demo's landscape budget: small grids, but the sharpness over several direction seeds."""
    if run.quick:
        return LandscapeSettings(steps=5, eval_size=64, seed=run.cfg.seed, direction_seeds=2, ring_points=6,
                                 hessian_steps=0, interp_steps=5, figures=False)
    return LandscapeSettings(steps=11, eval_size=128, seed=run.cfg.seed, direction_seeds=2, hessian_steps=8,
                             hessian_seeds=2, interp_steps=11, figures=False)


def _landscape_step(run: DemoRun, folder: Path) -> None:
    """2-D landscapes of the studied models, sharpness over direction seeds, then the numeric comparison."""
    settings = replace(landscape_settings(run), device=run.cfg.device)
    data = run.data(64, settings.eval_size)
    names = []
    for spec, weights in _studied(run):
        name = parse_model_spec(spec).slug
        names.append(name)
        log(f"  landscape of {name}: {settings.steps}x{settings.steps} points on {settings.eval_size} test images, "
            f"sharpness over {settings.direction_seeds} direction seeds")
        run_landscape(spec, weights or None, data, settings, folder / name, None,
                      run.cfg.normalize if run.mode == "user" else None)
        if not run.quick and name in HESSIAN_NETS:
            log(f"  Hessian of {name}: top eigenvalues, trace, spectral density, per layer")
            run_hessian(spec, weights or None, data, replace(HESSIAN, device=run.cfg.device), folder / name)
    compare(run.cfg.out / "gradflow" if (run.cfg.out / "gradflow" / "gradflow.json").is_file() else None,
            [folder / n for n in names], folder)
    _trajectory(run, folder / "trajectory", settings)


#: the demo's Hessian study: the shortcut pair, small probes (the `hessian` command does more)
HESSIAN_NETS = ("resnet18", "plain18")
HESSIAN = HessianSettings(eval_size=64, probe_seeds=2, top_k=3, lanczos_steps=8, trace_probes=4, density_runs=1,
                          layer_iters=2)


def _trajectory(run: DemoRun, folder: Path, settings: LandscapeSettings) -> None:
    """A short training of its own with per-epoch snapshots, and the loss on the plane of its path."""
    epochs, n_train = (2, 512) if run.quick else (4, 2048)
    data = run.data(n_train, settings.eval_size)
    cfg = TrainConfig(model="resnet18", width=0.125, epochs=epochs, batch_size=64, lr=0.05, seed=run.cfg.seed,
                      device=run.cfg.device, snapshots=True)
    log(f"  trajectory: resnet18 x0.125 trained {epochs} epochs on {n_train} images with snapshots")
    train(cfg, data, folder / "run", log=log)
    run_trajectory(folder / "run", data, replace(settings, steps=5 if run.quick else 11), folder)


#: the demo's adaptation experiment: three training seeds (the verdict needs them), a quarter of the images and half
#: the epochs of `neuralens deform adapt`'s defaults, so the full demo stays within 8 minutes (at 3000 images x 6
#: epochs its deform step took 218 s and the verdict still read inconclusive; BENCHMARKS.md): the report says which
DEMO_ADAPT = AdaptSettings(n_train=1500, n_test=300, epochs=4)
DEMO_ADAPT_QUICK = AdaptSettings(n_train=512, n_test=128, epochs=1)


def _deform_step(run: DemoRun, folder: Path) -> None:
    """Op check against torchvision, interleaved timings, the adaptation experiment (does the receptive field
    follow the object's size?) and the sampling figures of its deformable net."""
    quick, seed = run.quick, run.cfg.seed
    write_json(folder / "check.json", check_report(4 if quick else 8, seed))
    shape = (2, 32, 16) if quick else (8, 64, 32)
    write_json(folder / "speed.json", time_one_shape(*shape, repeats=5 if quick else 7))
    settings = DEMO_ADAPT_QUICK if quick else DEMO_ADAPT
    run_adaptation(settings, folder / "adapt", log=log, device=run.cfg.device)
    model, image = adapted_model(folder / "adapt"), scaled_shapes(settings).x_test[0].float() / 255
    plot_sampling_points(model, image, folder / "sampling_points.png",
                         title="where one output pixel samples, with the adaptation experiment's learned offsets")
    plot_offset_heatmaps(model, image, folder / "offset_magnitude.png")



def resolve_data(run: DemoRun) -> dict[str, Any]:
    """Fetch what the data home lacks (unless offline), then choose real or generated data; ``data.json``'s
    content. A failed fetch is one line and the generated stand-in data."""
    cfg = run.cfg
    home = data_home(cfg.data_root)
    missing = [n for n, there in (("cifar10", has_cifar(cifar_root(cfg.data_root))),
                                  ("tiny_nerf", (home / "nerf" / TINY_NERF_FILE).is_file())) if not there]
    for name in [] if cfg.offline else missing:
        try:
            FETCHERS[name](cfg.data_root)
        except NeuralensError as exc:
            log(f"data: {name} not fetched: {exc}")
    cifar = cifar_root(cfg.data_root)
    run.scene = nerf_scene(cfg.data_root)
    run.real_cifar = has_cifar(cifar)
    sz = _cnn_sizes(run)
    return {"home": str(home),
            "cifar10": {"source": "real" if run.real_cifar else "synthetic",
                        "path": str(cifar) if run.real_cifar else None,
                        "train": sz["n_train"] if run.mode == "train" else 0, "test": sz["n_test"]},
            "cnn_mode": run.mode,
            "nerf": {"source": "real" if run.scene else "builtin",
                     "scene": run.scene.stem if run.scene else "builtin (generated still life)",
                     "path": str(run.scene) if run.scene else None}}


def _nerf_scene(run: DemoRun) -> tuple[str, int]:
    """(scene spec, downscale): the data home's real scene (half resolution in --quick), else the built-in one."""
    if run.scene is not None:
        return str(run.scene), 2 if run.quick else 1
    return f"builtin:{32 if run.quick else 64}", 1


QUICK_TEST_VIEWS, FULL_TEST_VIEWS = "0,40", "0,50"
QUICK_BATCH_RAYS = 1024


def _nerf_step(run: DemoRun, folder: Path) -> None:
    """Sampler figure; baseline vs improved variants for the same time; orbit video; rendering figure; the
    trained field evaluated on a different scene."""
    plot_sampling(folder / "sampling.png", seed=run.cfg.seed)
    # the full demo gives the baseline 50 s (about 120 steps of 256 rays on 2 cores) and leaves the MLP
    # improvements to ``nerf compare`` and benchmarks/nerf_mlp_variants.py: in demo-sized budgets their lead is not
    # reliable (tiny_viewdirs died after 20 steps on lego at half size; BENCHMARKS.md)
    seconds, frames = (9.0, 8) if run.quick else (50.0, 16)
    spec, downscale = _nerf_scene(run)
    # a few held-out views (rendering the slow baseline's test views costs more than its training)
    views = (QUICK_TEST_VIEWS if run.quick else FULL_TEST_VIEWS) if run.scene else None
    choice = SceneChoice(spec, test_views=views, downscale=downscale)
    scene = load_choice(choice)
    size = scene.height
    variants = [BASELINE, "fast"]
    # --quick: 1024 rays per step for every variant: in 10 s on lego at half size the grid
    # field reached 21.3-22.6 dB with 1024 rays against 18.6-20.4 dB with its 4096 (more, smaller steps); 9 s
    # keeps the quick demo inside 90 s (BENCHMARKS.md)
    budget = Budget(seconds, run.cfg.seed, run.cfg.device, QUICK_BATCH_RAYS if run.quick else None)
    summary = run_compare(choice, scene, budget, folder / "compare", variants, log=log, in_process=True)
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
        "ssim_own_scene": own["ssim"]["mean"], "ssim_other_scene": cross["ssim"]["mean"],
        "blank_psnr_own_scene": blank_psnr(scene.images[scene.test_idx])["best"],
        "blank_psnr_other_scene": blank_psnr(other.images[other.test_idx])["best"]})
    plot_renders(cross["images"], other.images[cross["indices"]], folder / "cross_scene.png",
                 f"{best} trained on {scene.name}, asked to render {other.name}'s cameras")


STEPS: list[Step] = [Step(name, STEP_TITLES[name], fn) for name, fn in (
    ("cnn", _cnn_step), ("gradflow", _gradflow_step), ("depth", _depth_step), ("landscape", _landscape_step),
    ("deform", _deform_step),
    ("nerf", _nerf_step))]


def run_demo(cfg: DemoConfig) -> Path:
    """Run every step (or ``cfg.only`` these), skipping finished ones; return the report path.

    Data: the data home's (``cfg.data_root``, else ``$NEURALENS_DATA``), fetched first unless ``offline``;
    generated stand-ins where real data cannot be had (``data.json`` says which).
    """
    cfg.check()
    run = DemoRun(cfg)
    info = resolve_data(run)
    write_json(cfg.out / "data.json", info)
    studied = {"shipped": "the shipped pretrained nets", "train": "two nets trained here", "user": "your models"}
    log(f"data: CIFAR-10 {info['cifar10']['source']} ({info['cifar10']['path'] or 'generated shapes'}), "
        f"NeRF scene {info['nerf']['source']} ({info['nerf']['path'] or 'generated still life'}); CNN study: "
        f"{studied[run.mode]}")
    steps = [s for s in STEPS if not cfg.only or s.name in cfg.only]
    bar = Progress(len(steps), "demo steps", "step", leave=True)
    for k, step in enumerate(steps, start=1):
        folder = cfg.out / step.name
        done = folder / "done.json"
        if done.is_file() and not cfg.force and read_json(done).get("mode", run.mode) == run.mode:
            log(f"[{step.name}] {step.title}: done already, skipped (use --force to redo)")
            bar.update()
            continue
        log(f"[{step.name}] step {k} of {len(steps)}: {step.title} ...")
        t0 = time.perf_counter()
        step.run(run, folder)
        write_json(done, {"seconds": time.perf_counter() - t0, "quick": cfg.quick, "mode": run.mode})
        bar.update()
        log(f"[{step.name}] finished in {time.perf_counter() - t0:.1f}s (total {time.perf_counter() - bar.start:.1f}s)")
    bar.close()
    if cfg.quick:
        log("report: HTML only in --quick (the PDF is written by `neuralens report` or a full demo)")
    return build_report(cfg.out, pdf=not cfg.quick)
