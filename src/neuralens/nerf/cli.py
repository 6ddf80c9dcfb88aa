"""``neuralens nerf train | eval | render | compare | viz``: parsers, and calls into library functions."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from neuralens.core.cliargs import Formatter, add_common, add_options, options_from, positive_float, positive_int
from neuralens.core.errors import NeuralensError
from neuralens.core.io import check_out, log, read_json, run_folder, save_npz, write_json
from neuralens.data.scenes import Scene, load_scene
from neuralens.nerf.compare import run_compare
from neuralens.nerf.config import NerfConfig
from neuralens.nerf.model import load_nerf
from neuralens.nerf.orbit import render_orbit
from neuralens.nerf.renderer import RenderSettings
from neuralens.nerf.trainer import check_config, check_resume, evaluate_views, fit_to_scene, train_nerf
from neuralens.nerf.variants import DEFAULT_VARIANT, VARIANTS, make_config
from neuralens.nerf.viz import plot_psnr_curve, plot_rendering, plot_renders, plot_sampling

#: what ``nerf compare`` trains unless told otherwise: the baseline first, then each improvement
DEFAULT_COMPARE = ("tiny", "tiny_hier", "tiny_viewdirs", "vm_dense", "fast")


def _scene_args(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    g = p.add_argument_group("scene")
    g.add_argument("--scene", default=default,
                   help="auto (the data home's tiny_nerf/lego scene, else builtin) | builtin | builtin:SIZE | "
                        "tiny_nerf .npz | Blender folder")
    g.add_argument("--split", default=None,
                   help="default (the file's own test views) | all (every view is a test view)")
    g.add_argument("--test-views", default=None, help="comma-separated view indices to hold out, e.g. 0,10,20")
    g.add_argument("--downscale", type=positive_int, default=1, help="shrink images by this integer factor")
    g.add_argument("--white-bg", action="store_true", help="composite Blender RGBA images on white")


def _load_scene(args: argparse.Namespace) -> Scene:
    return load_scene(args.scene, args.split, args.test_views, args.white_bg, args.downscale)


def _scene_argv(args: argparse.Namespace) -> list[str]:
    """The scene options of ``args`` as command-line words, for child ``nerf train`` runs."""
    argv = ["--scene", args.scene, "--downscale", str(args.downscale)]
    if args.split:
        argv += ["--split", args.split]
    if args.test_views:
        argv += ["--test-views", args.test_views]
    if args.white_bg:
        argv.append("--white-bg")
    return argv


def _cmd_train(args: argparse.Namespace) -> int:
    variant = args.model or DEFAULT_VARIANT
    VARIANTS.get(variant)  # an unknown name fails before anything is read or written
    out = check_out(args.out)
    scene = _load_scene(args)
    cfg = fit_to_scene(make_config(variant, **options_from(NerfConfig, args), **options_from(RenderSettings, args)),
                       scene)
    check_config(cfg, scene)
    if args.resume:
        check_resume(cfg, scene, out)
    cam = scene.camera
    log(f"scene {scene.name}: {len(scene.train_idx)} train / {len(scene.test_idx)} test views, "
        f"{scene.height}x{scene.width}, fx {cam.fx:.1f} fy {cam.fy:.1f} cx {cam.cx:.1f} cy {cam.cy:.1f}; canonical "
        f"frame: centre {[round(c, 3) for c in scene.center]}, scale {scene.scale:.4g}, near {scene.near:.3g}, "
        f"far {scene.far:.3g}, box [-{cfg.render.bound}, {cfg.render.bound}]^3, background "
        f"{'random' if cfg.random_bg else format(scene.background, 'g')}; model {variant}")
    with run_folder(out, vars(args)):
        res = train_nerf(cfg, scene, out, resume=args.resume, log=log)
        save_npz(out / "renders.npz", images=res["renders"].numpy().astype(np.float32),
                 indices=np.array(scene.test_idx))
        plot_renders(res["renders"], scene.images[scene.test_idx], out / "test_renders.png",
                     f"{variant}: held-out views")
        plot_psnr_curve(read_json(out / "psnr_log.json")["history"], out / "psnr_curve.png",
                        f"{variant} on {scene.name}")
    print(f"test PSNR {res['psnr']['mean']:.2f} dB  SSIM {res['ssim']['mean']:.3f}  "
          f"({res['iterations']} it, {res['seconds']:.1f}s) -> {out / 'checkpoint.pt'}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    ckpt, cfg, model = load_nerf(args.checkpoint)
    scene = _load_scene(args)
    info = ckpt.get("scene", {})
    if info and (info.get("height"), info.get("width")) != (scene.height, scene.width):
        log(f"note: checkpoint trained on {info.get('height')}x{info.get('width')} views, evaluating on "
            f"{scene.height}x{scene.width}")
    if scene.background != cfg.render.background:
        log(f"note: trained with background {'random' if cfg.random_bg else format(cfg.render.background, 'g')}, "
            f"rendering on {scene.background:g} like the scene's images")
        cfg.render.background = scene.background
    out = check_out(args.out or Path(args.checkpoint).parent / "eval")
    res = evaluate_views(model, scene, cfg)
    ts = ckpt.get("train_state", {})
    metrics = {"psnr": res["psnr"], "ssim": res["ssim"], "seconds": ts.get("elapsed"),
               "iterations": ts.get("iteration"), "views": res["indices"], "scene": scene.name,
               "checkpoint": str(args.checkpoint), "trained_on": info.get("name")}
    with run_folder(out, vars(args)):
        save_npz(out / "renders.npz", images=res["images"].numpy().astype(np.float32),
                 indices=np.array(res["indices"]))
        write_json(out / "metrics.json", metrics)
        plot_renders(res["images"], scene.images[res["indices"]], out / "renders.png",
                     f"{cfg.variant} (trained on {info.get('name')}) on {scene.name}")
    print(f"PSNR {res['psnr']['mean']:.2f} dB  SSIM {res['ssim']['mean']:.3f} over {len(res['indices'])} views "
          f"-> {out}")
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    if not args.orbit:
        raise NeuralensError("nothing to render: pass --orbit")
    ckpt, cfg, model = load_nerf(args.checkpoint)
    out = check_out(args.out or Path(args.checkpoint).parent / "render")
    paths = render_orbit(model, cfg, ckpt.get("scene", {}), out, args.frames, args.fps, args.size)
    print("\n".join(str(p) for p in paths))
    return 0


def _cmd_viz(args: argparse.Namespace) -> int:
    out = check_out(args.out)
    loaded = load_nerf(args.checkpoint) if args.checkpoint else None
    scene = _load_scene(args) if loaded else None
    paths = [plot_sampling(out / "sampling.png", seed=args.seed)]
    if loaded and scene:
        _ckpt, cfg, model = loaded
        view = scene.test_idx[0]
        paths.append(plot_rendering(model, scene.camera, scene.poses[view], cfg,
                                    out / "rendering.png", target=scene.images[view]))
    print("\n".join(str(p) for p in paths))
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise NeuralensError(f"unknown variant(s) {unknown}; available: {', '.join(VARIANTS.names())}")
    out = check_out(args.out)
    scene = _load_scene(args)  # validates the scene once, before any training starts
    with run_folder(out, vars(args)):
        summary = run_compare(_scene_argv(args), scene, args.seconds, out, variants, args.seed, log=log)
    print(f"{'variant':14s} {'PSNR':>7s} {'SSIM':>6s} {'it/s':>6s} {'t->base':>8s} {'peak MB':>8s}")
    for v, r in summary["variants"].items():
        reach = f"{r['time_to_baseline_final_psnr_s']:.1f}" if r["time_to_baseline_final_psnr_s"] else "-"
        print(f"{v:14s} {r['psnr']:7.2f} {r['ssim']:6.3f} {r['iterations_per_s']:6.2f} {reach:>8s} "
              f"{r['peak_rss_mb'] or 0:8.0f}")
    print(f"best: {summary['best']} -> {out / 'compare.json'}")
    return 0


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
    p.add_argument("--out", default="runs/nerf")
    _scene_args(p)
    p.set_defaults(func=_cmd_train)


def _add_eval(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("eval", help="score a checkpoint on a scene's test views (PSNR, SSIM, renders.npz)",
                        formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens nerf eval --checkpoint runs/nerf/checkpoint.pt --scene builtin --split all")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default=None, help="default: CHECKPOINT_DIR/eval")
    _scene_args(p)
    p.set_defaults(func=_cmd_eval)


def _add_render(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("render", help="render a 360-degree orbit (GIF, MP4, depth MP4)", formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens nerf render --checkpoint runs/nerf/checkpoint.pt --orbit --frames 60")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--orbit", action="store_true", help="render the orbit video")
    p.add_argument("--frames", type=positive_int, default=60)
    p.add_argument("--fps", type=positive_int, default=20)
    p.add_argument("--size", type=positive_int, default=None, help="square output size (default: training size)")
    p.add_argument("--out", default=None, help="default: CHECKPOINT_DIR/render")
    p.set_defaults(func=_cmd_render)


def _add_compare(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("compare", help="train every variant for the same time budget; curves, table, renders",
                        formatter_class=Formatter,
                        epilog="examples:\n"
                               "  neuralens nerf compare --scene builtin --seconds 60 --out runs/nerf_compare\n"
                               "  neuralens nerf compare --scene ../shared/data/nerf/lego_100.npz --seconds 180")
    p.add_argument("--seconds", type=positive_float, default=60.0, help="training-time budget per variant")
    p.add_argument("--variants", default=",".join(DEFAULT_COMPARE), help="comma-separated variants")
    p.add_argument("--out", default="runs/nerf_compare")
    add_common(p)
    _scene_args(p)
    p.set_defaults(func=_cmd_compare)


def _add_viz(nsub: argparse._SubParsersAction) -> None:
    p = nsub.add_parser("viz", help="figures: samplers along rays; rendering, depth, opacity, sigma/T/w curves",
                        formatter_class=Formatter,
                        epilog="example:\n"
                               "  neuralens nerf viz --checkpoint runs/nerf/checkpoint.pt --out runs/nerf/viz")
    p.add_argument("--checkpoint", default=None, help="a trained NeRF for the rendering figure")
    p.add_argument("--out", default="runs/nerf/viz")
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
