"""``neuralens deform check | viz | experiment``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import torch

from neuralens.cli import add_data_args, load_data_from_args, positive_float, positive_int
from neuralens.errors import NeuralensError
from neuralens.io import write_config, write_json


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def check_against_torchvision(n_cases: int = 12, seed: int = 0) -> list[dict[str, Any]]:
    """Random shapes (groups, offset groups, stride, padding, dilation, mask): max |ours - torchvision| for the
    output and every gradient, in float32."""
    import torchvision.ops as tvo

    from neuralens.deform.ops import deform_conv2d

    g = torch.Generator().manual_seed(seed)
    rows = []
    for case in range(n_cases):
        r = lambda lo, hi: int(torch.randint(lo, hi + 1, (1,), generator=g))  # noqa: E731
        groups, og = r(1, 2), r(1, 2)
        c_in, c_out = 4 * groups * og, 2 * groups * r(1, 3)
        k, s, p, d = r(1, 3), r(1, 2), r(0, 2), r(1, 2)
        h = w = r(d * (k - 1) + 1, 12)
        n = r(1, 3)
        ho = (h + 2 * p - d * (k - 1) - 1) // s + 1
        x = torch.randn(n, c_in, h, w, generator=g, requires_grad=True)
        off = (torch.randn(n, 2 * og * k * k, ho, ho, generator=g) * 2.5 + 0.01).requires_grad_()
        wt = torch.randn(c_out, c_in // groups, k, k, generator=g, requires_grad=True)
        b = torch.randn(c_out, generator=g, requires_grad=True)
        m = torch.rand(n, og * k * k, ho, ho, generator=g, requires_grad=True) if case % 2 else None
        ins = [t for t in (x, off, wt, b, m) if t is not None]
        ours = deform_conv2d(x, off, wt, b, s, p, d, mask=m)
        ref = tvo.deform_conv2d(x, off, wt, b, s, p, d, mask=m)
        go = torch.randn_like(ref)
        g1, g2 = torch.autograd.grad(ours, ins, go), torch.autograd.grad(ref, ins, go)
        rows.append({"shape": f"N{n} C{c_in}->{c_out} {h}x{w} k{k} s{s} p{p} d{d} g{groups} og{og}"
                              f"{' mask' if m is not None else ''}",
                     "max_abs_diff_output": float((ours - ref).detach().abs().max()),
                     "max_abs_diff_grads": max(float((a - c).abs().max()) for a, c in zip(g1, g2))})
    return rows


def _cmd_check(args: argparse.Namespace) -> int:
    rows = check_against_torchvision(args.cases, args.seed)
    worst = max(max(r["max_abs_diff_output"], r["max_abs_diff_grads"]) for r in rows)
    if args.out:
        write_json(Path(args.out) / "check.json", {"cases": rows, "worst": worst})
    for r in rows:
        print(f"{r['shape']:48s} output {r['max_abs_diff_output']:.2e}  grads {r['max_abs_diff_grads']:.2e}")
    print(f"worst difference {worst:.2e} ({'OK' if worst < 1e-4 else 'MISMATCH'} at 1e-4)")
    return 0 if worst < 1e-4 else 1


def _cmd_experiment(args: argparse.Namespace) -> int:
    from neuralens.deform.experiment import plot_experiment, run_experiment, warped_data

    data = warped_data(load_data_from_args(args), args.seed)
    out = Path(args.out)
    write_config(out, vars(args))
    res = run_experiment(data, out, args.epochs, args.width, args.seed, args.batch_size, args.lr, log=_log)
    write_json(out / "results.json", res)
    plot_experiment(res, out / "curves.png")
    for name, r in res["models"].items():
        print(f"{name:10s} test accuracy {r['accuracy']:.4f}  {r['params']:,} params  {r['seconds']:.1f}s")
    return 0


def _cmd_viz(args: argparse.Namespace) -> int:
    from neuralens.deform.viz import plot_offset_heatmaps, plot_sampling_points
    from neuralens.models.checkpoint import load_classifier
    from neuralens.models.registry import create_model

    data = load_data_from_args(args)
    if args.checkpoint:
        model, _ = load_classifier(args.checkpoint, "small_dcn")  # from `neuralens deform experiment`
        note = f"trained offsets ({args.checkpoint})"
    else:
        torch.manual_seed(args.seed)
        model = create_model("small_dcn", num_classes=data.num_classes)
        for layer in model.deform_layers():  # illustrative only: random offsets instead of learned ones
            torch.nn.init.normal_(layer.offset_conv.weight, std=0.05)
        note = "UNTRAINED model with random offsets (pass --checkpoint for learned ones)"
    if not 0 <= args.index < len(data.x_test):
        raise NeuralensError(f"--index must lie in 0..{len(data.x_test) - 1}")
    image = data.x_test[args.index].float() / 255
    out = Path(args.out)
    p1 = plot_sampling_points(model, image, out / "sampling_points.png",
                              title=f"where one output pixel samples: {note}")
    p2 = plot_offset_heatmaps(model, image, out / "offset_magnitude.png")
    print(p1)
    print(p2)
    return 0


def add_commands(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("deform", help="deformable convolution: check, experiment, viz", formatter_class=fmt,
                       epilog="examples:\n  neuralens deform check\n"
                              "  neuralens deform experiment --epochs 3 --out runs/dcn\n"
                              "  neuralens deform viz --checkpoint runs/dcn/small_dcn/model.pt --out runs/dcn/viz")
    dsub = p.add_subparsers(dest="deform_command", metavar="COMMAND", required=True)
    c = dsub.add_parser("check", help="compare deform_conv2d with torchvision on random shapes", formatter_class=fmt,
                        epilog="example:\n  neuralens deform check --cases 20")
    c.add_argument("--cases", type=positive_int, default=12)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--out", default=None, help="also write OUT/check.json")
    c.set_defaults(func=_cmd_check)

    e = dsub.add_parser("experiment", help="small CNN vs the same CNN with deformable layers, same budget",
                        formatter_class=fmt, epilog="example:\n  neuralens deform experiment --epochs 3 --out runs/dcn")
    e.add_argument("--epochs", type=positive_int, default=3)
    e.add_argument("--width", type=positive_float, default=1.0)
    e.add_argument("--batch-size", type=positive_int, default=128)
    e.add_argument("--lr", type=positive_float, default=0.05)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--out", default="runs/dcn")
    add_data_args(e)
    e.set_defaults(func=_cmd_experiment)

    v = dsub.add_parser("viz", help="sampling points of one pixel through 1-3 deformable layers; offset heat map",
                        formatter_class=fmt,
                        epilog="example:\n"
                               "  neuralens deform viz --checkpoint runs/dcn/small_dcn/model.pt --out runs/dcn/viz")
    v.add_argument("--checkpoint", default=None, help="small_dcn checkpoint from `deform experiment`")
    v.add_argument("--index", type=int, default=0, help="test image to show")
    v.add_argument("--seed", type=int, default=0)
    v.add_argument("--out", default="runs/dcn/viz")
    add_data_args(v)
    v.set_defaults(func=_cmd_viz)
