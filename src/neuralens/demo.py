"""``neuralens demo``: run every study on built-in defaults, then write the report.

Each study is a :class:`Step` that writes into ``OUT/<name>/`` and finishes by writing ``done.json``; a step whose
``done.json`` exists is skipped unless ``--force``, so an interrupted demo resumes where it stopped.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from neuralens.io import write_config, write_json


@dataclass
class DemoContext:
    out: Path
    quick: bool
    seed: int
    data_root: str
    device: str

    def log(self, msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)


@dataclass
class Step:
    name: str
    title: str
    run: Callable[[DemoContext, Path], None]


def _cnn_step(ctx: DemoContext, folder: Path) -> None:
    """Train small VGG16-BN and ResNet18 briefly, evaluate them, keep figures for the report."""
    from neuralens.data.cifar import load_image_data
    from neuralens.models.checkpoint import model_from_checkpoint
    from neuralens.models.train import TrainConfig, evaluate, train
    from neuralens.models.viz import plot_confusion, plot_history, plot_predictions

    n_train, n_test, epochs, width = (2048, 512, 2, 0.125) if ctx.quick else (10000, 2000, 4, 0.25)
    data = load_image_data("auto", ctx.data_root, synthetic_size=(n_train, n_test), seed=ctx.seed,
                           log=ctx.log).subset(n_train, n_test)
    models = []
    for name in ("vgg16_bn", "resnet18"):
        sub = folder / name
        cfg = TrainConfig(model=name, width=width, epochs=epochs, batch_size=128, lr=0.1, seed=ctx.seed,
                          device=ctx.device, data="auto")
        t0 = time.perf_counter()
        metrics = train(cfg, data, sub, log=ctx.log)
        seconds = time.perf_counter() - t0
        plot_history(metrics["history"], sub / "history.png", f"{name} x{width}")
        from neuralens.models.checkpoint import load_checkpoint

        model = model_from_checkpoint(load_checkpoint(sub / "model.pt"))
        res = evaluate(model, data.x_test, data.y_test, data.num_classes)
        plot_confusion(res["confusion"], data.classes, sub / "eval" / "confusion.png", f"{name} on {data.source}")
        plot_predictions(data.x_test[:24], data.y_test[:24], res["predictions"][:24], data.classes,
                         sub / "eval" / "predictions.png", title=f"{name}: predicted (true)")
        models.append({"model": name, "width": width, "epochs": epochs, "train_images": len(data.x_train),
                       "accuracy": metrics["accuracy"], "loss": metrics["loss"], "seconds": seconds})
    write_json(folder / "summary.json", {"data": data.source, "models": models})


STEPS: list[Step] = [
    Step("cnn", "CNNs: train briefly, predict", _cnn_step),
]


def run_demo(out: str | Path = "runs/demo", quick: bool = False, force: bool = False, seed: int = 0,
             data_root: str = "data", device: str = "auto", only: list[str] | None = None) -> Path:
    """Run every step (or ``only`` these), skipping finished ones; return the report path."""
    from neuralens.report import build_report

    ctx = DemoContext(Path(out), quick, seed, data_root, device)
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


def _cmd_demo(args: argparse.Namespace) -> int:
    write_config(args.out, vars(args))
    only = [s for s in args.only.split(",") if s] if args.only else None
    known = {s.name for s in STEPS}
    if only and set(only) - known:
        from neuralens.errors import NeuralensError

        raise NeuralensError(f"--only: unknown step(s) {sorted(set(only) - known)}; steps: {', '.join(sorted(known))}")
    report = run_demo(args.out, args.quick, args.force, args.seed, args.data_root, args.device, only)
    print(report)
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    from neuralens.report import build_report

    print(build_report(args.run_dir, args.out))
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    steps = ", ".join(s.name for s in STEPS)
    p = sub.add_parser("demo", help="run every study on built-in data and write report.html",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog=f"steps: {steps}\nexamples:\n  neuralens demo --quick\n"
                              "  neuralens demo --data-root ../shared/data/cifar10 --out runs/demo")
    p.add_argument("--out", default="runs/demo")
    p.add_argument("--quick", action="store_true", help="tiny sizes (about 3 minutes)")
    p.add_argument("--force", action="store_true", help="redo steps that already finished")
    p.add_argument("--only", default="", help=f"comma-separated steps to run ({steps})")
    p.add_argument("--data-root", default="data", help="CIFAR-10 location; synthetic data when absent")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.set_defaults(func=_cmd_demo)

    p = sub.add_parser("report", help="write report.html from a run folder",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="example:\n  neuralens report runs/demo")
    p.add_argument("run_dir")
    p.add_argument("--out", default=None, help="default: RUN_DIR/report.html")
    p.set_defaults(func=_cmd_report)
