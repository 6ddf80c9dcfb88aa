"""``neuralens nerf train | eval | render | compare | viz``: parsers, the checks that need no scene, and a call into
:mod:`neuralens.nerf.commands` (imported in the handler, so ``--help`` and argument errors need no torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

from neuralens.core.cliargs import (
    PRECISIONS,
    Formatter,
    add_common,
    add_options,
    positive_float,
    positive_int,
    seed_list,
    split_list,
)
from neuralens.core.errors import NeuralensError
from neuralens.core.files import check_weights_file
from neuralens.core.io import check_out
from neuralens.data.scene_spec import check_scene_args
from neuralens.nerf.config import SAMPLERS, NerfConfig, RenderSettings
from neuralens.nerf.variants import BASELINE, DEFAULT_VARIANT, VARIANTS

#: what ``nerf compare`` trains unless told otherwise: the baseline first, then each improvement
DEFAULT_COMPARE = ("tiny", "tiny_hier", "tiny_viewdirs", "vm_dense", "fast")
#: nerf compare's time budget per variant when neither --seconds nor --iters is given
COMPARE_SECONDS = 60.0


def _scene_args(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    g = p.add_argument_group("scene")
    g.add_argument("--scene", default=default,
                   help="auto (the data home's tiny_nerf/lego scene, else builtin) | builtin[:SIZE] | builtin-b | "
                        "builtin-ff (forward-facing) | tiny_nerf .npz | transforms.json | a Blender, LLFF or COLMAP "
                        "folder (the layout is found and said)")
    g.add_argument("--split", default=None,
                   help="default (the file's own test views) | all (every view is a test view)")
    g.add_argument("--test-views", default=None, help="comma-separated view indices to hold out, e.g. 0,10,20")
    g.add_argument("--downscale", type=positive_int, default=1, help="shrink images by this integer factor")
    g.add_argument("--white-bg", action="store_true", help="composite Blender RGBA images on white")


def _check_scene(args: argparse.Namespace) -> None:
    check_scene_args(args.scene, args.split, args.test_views)


def _cmd_train(args: argparse.Namespace) -> int:
    VARIANTS.check(args.model or DEFAULT_VARIANT)  # an unknown name fails before anything is read or written
    if args.sampler is not None:
        SAMPLERS.check(args.sampler)
    check_out(args.out)
    _check_scene(args)
    if args.resume and not (Path(args.out) / "checkpoint.pt").is_file():
        raise NeuralensError(f"--resume: no checkpoint at {Path(args.out) / 'checkpoint.pt'}")
    from neuralens.nerf.commands import train_command

    return train_command(args)


def _cmd_eval(args: argparse.Namespace) -> int:
    check_weights_file(args.checkpoint, "--checkpoint")
    args.out = str(check_out(args.out or Path(args.checkpoint).parent / "eval"))
    _check_scene(args)
    from neuralens.nerf.commands import eval_command

    return eval_command(args)


def _cmd_render(args: argparse.Namespace) -> int:
    check_weights_file(args.checkpoint, "--checkpoint")  # first: a missing file is the mistake to fix first
    if not args.orbit:
        raise NeuralensError("nothing to render: pass --orbit")
    args.out = str(check_out(args.out or Path(args.checkpoint).parent / "render"))
    from neuralens.nerf.commands import render_command

    return render_command(args)


def _cmd_viz(args: argparse.Namespace) -> int:
    check_out(args.out)
    if args.checkpoint:
        check_weights_file(args.checkpoint, "--checkpoint")
    _check_scene(args)
    from neuralens.nerf.commands import viz_command

    return viz_command(args)


def _cmd_compare(args: argparse.Namespace) -> int:
    variants = split_list(args.variants)
    if not variants:
        raise NeuralensError("--variants: give at least one variant, e.g. tiny,fast")
    for v in variants:
        VARIANTS.check(v)
    if args.seconds is None and args.iters is None:
        args.seconds = COMPARE_SECONDS
    if args.seeds and args.seed != 0:
        raise NeuralensError(f"--seed {args.seed} and --seeds: give one (--seeds runs the comparison once per seed)")
    if args.seeds and BASELINE not in variants:
        raise NeuralensError(f"--seeds judges each improvement against the baseline {BASELINE}: add it to --variants")
    check_out(args.out)
    _check_scene(args)
    from neuralens.nerf.commands import compare_command

    return compare_command(args, variants)


def _add_train(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("train", help="train a NeRF on a scene", formatter_class=Formatter,
                        epilog="examples:\n"
                               "  neuralens nerf train --scene builtin --model tiny --iters 500 --out runs/nerf\n"
                               "  neuralens nerf train --scene ../shared/data/nerf/lego_100.npz --seconds 180")
    p.add_argument("--model", default=None, help=f"variant: {', '.join(VARIANTS.names())} "
                                                  f"(default: {DEFAULT_VARIANT}, the best)")
    g = p.add_argument_group("training (default: the variant's value)")
    add_options(g, NerfConfig, overrides=True)
    add_options(g, RenderSettings, overrides=True)
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--out", default="runs/nerf", help="run folder: checkpoint.pt, metrics.json, renders, curves")
    _scene_args(p)
    p.set_defaults(func=_cmd_train)


def _add_eval(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("eval", help="score a checkpoint on a scene's test views (PSNR, SSIM, renders.npz)",
                        formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens nerf eval --checkpoint runs/nerf/checkpoint.pt --scene builtin --split all")
    p.add_argument("--checkpoint", required=True, help="a neuralens NeRF checkpoint (nerf train's checkpoint.pt)")
    p.add_argument("--out", default=None, help="run folder (default: CHECKPOINT_DIR/eval)")
    _scene_args(p)
    p.set_defaults(func=_cmd_eval)


def _add_render(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("render", help="render a 360-degree orbit (GIF, MP4, depth MP4)", formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens nerf render --checkpoint runs/nerf/checkpoint.pt --orbit --frames 60")
    p.add_argument("--checkpoint", required=True, help="a neuralens NeRF checkpoint (nerf train's checkpoint.pt)")
    p.add_argument("--orbit", action="store_true", help="render the orbit video")
    p.add_argument("--frames", type=positive_int, default=60, help="frames in the 360-degree orbit")
    p.add_argument("--fps", type=positive_int, default=20, help="frames per second of the videos")
    p.add_argument("--size", type=positive_int, default=None, help="square output size (default: training size)")
    p.add_argument("--out", default=None, help="folder for the videos (default: CHECKPOINT_DIR/render)")
    p.set_defaults(func=_cmd_render)


def _add_compare(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("compare", help="train every variant for the same time or steps; curves, table, renders",
                        formatter_class=Formatter,
                        epilog="examples:\n"
                               "  neuralens nerf compare --scene builtin --seconds 60 --out runs/nerf_compare\n"
                               "  neuralens nerf compare --scene ../shared/data/nerf/lego_100.npz --seconds 180\n"
                               "  neuralens nerf compare --scene ../shared/data/nerf/lego_100.npz --iters 2000 \\\n"
                               "      --variants tiny,tiny_hier,tiny_viewdirs   # NeRF's claim: equal iterations")
    length = p.add_mutually_exclusive_group()
    length.add_argument("--seconds", type=positive_float, default=None,
                        help=f"training-time budget per variant (default: {COMPARE_SECONDS:g} unless --iters)")
    length.add_argument("--iters", type=positive_int, default=None,
                        help="train every variant for this many steps instead: equal iterations, whatever the "
                             "machine's speed")
    p.add_argument("--variants", default=",".join(DEFAULT_COMPARE), help="comma-separated variants")
    p.add_argument("--batch-rays", type=positive_int, default=None,
                   help="rays per step for every variant (default: each recipe's own)")
    p.add_argument("--seeds", type=seed_list, default=None,
                   help="repeat the comparison with each seed (OUT/seed_S) and judge each improvement by its mean "
                        "gain at equal steps over them, with a 95%% interval, e.g. 0,2,3,4 (instead of --seed)")
    p.add_argument("--precision", choices=PRECISIONS, default="auto",
                   help="autocast dtype of every variant's training steps (see nerf train --precision)")
    p.add_argument("--out", default="runs/nerf_compare", help="run folder: one subfolder per variant, compare.json")
    p.add_argument("--resume", action="store_true",
                   help="continue an interrupted comparison in OUT: each variant from its own checkpoint")
    add_common(p)
    _scene_args(p)
    p.set_defaults(func=_cmd_compare)


def _add_viz(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("viz", help="figures: samplers along rays; rendering, depth, opacity, sigma/T/w curves",
                        formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens nerf viz --checkpoint runs/nerf/checkpoint.pt --out runs/nerf/viz")
    p.add_argument("--checkpoint", default=None, help="a trained NeRF for the rendering figure")
    p.add_argument("--out", default="runs/nerf/viz", help="folder for the figures")
    add_common(p)
    _scene_args(p)
    p.set_defaults(func=_cmd_viz)


def add_commands(sub: argparse._SubParsersAction) -> None:
    nerf = sub.add_parser("nerf", help="tiny NeRF: train, evaluate, render orbits, figures", formatter_class=Formatter,
                          epilog="examples:\n"
                                 "  neuralens nerf train --scene builtin --model tiny --iters 500 --out runs/nerf\n"
                                 "  neuralens nerf eval --checkpoint runs/nerf/checkpoint.pt --scene builtin\n"
                                 "  neuralens nerf render --checkpoint runs/nerf/checkpoint.pt --orbit\n"
                                 "  neuralens nerf viz --checkpoint runs/nerf/checkpoint.pt --out runs/nerf/viz")
    nsub = nerf.add_subparsers(dest="nerf_command", metavar="COMMAND", required=True)
    for add in (_add_train, _add_eval, _add_render, _add_compare, _add_viz):
        add(nsub)
