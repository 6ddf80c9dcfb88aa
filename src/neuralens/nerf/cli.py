"""``neuralens nerf train | eval | render | viz``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neuralens.errors import NeuralensError
from neuralens.io import save_npz, write_config, write_json

DEFAULT_MODEL = "fast"
DEFAULT_VARIANTS_CLI = ("tiny", "tiny_hier", "tiny_viewdirs", "vm_dense", "fast")  # baseline first


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _scene_args(p: argparse.ArgumentParser, default: str | None = "builtin") -> None:
    g = p.add_argument_group("scene")
    g.add_argument("--scene", default=default, help="builtin | builtin:SIZE | tiny_nerf .npz | Blender folder")
    g.add_argument("--split", default=None,
                   help="default (the file's own test views) | all (every view is a test view)")
    g.add_argument("--test-views", default=None, help="comma-separated view indices to hold out, e.g. 0,10,20")
    g.add_argument("--downscale", type=int, default=1, help="shrink images by this integer factor")
    g.add_argument("--white-bg", action="store_true", help="composite Blender RGBA images on white")


def _load_scene(args: argparse.Namespace) -> Any:
    from neuralens.data.scenes import load_scene

    return load_scene(args.scene, args.split, args.test_views, args.white_bg, args.downscale)


def load_nerf(path: str | Path) -> tuple[dict[str, Any], Any, Any]:
    """(checkpoint dict, NerfConfig, Fields) of a NeRF checkpoint, with one-line errors for wrong files."""
    from neuralens.models.checkpoint import load_checkpoint
    from neuralens.nerf.trainer import build_fields, config_from_dict

    ckpt = load_checkpoint(path, kind="nerf")
    try:
        cfg = config_from_dict(ckpt["config"])
        fields = build_fields(cfg)
        fields.load_state_dict(ckpt["state_dict"])
    except (RuntimeError, TypeError, KeyError) as exc:
        raise NeuralensError(f"{path}: not a loadable NeRF checkpoint ({str(exc).splitlines()[0][:160]})") from None
    fields.train(False)
    return ckpt, cfg, fields


def plot_renders(images: torch.Tensor, targets: torch.Tensor, path: Path, title: str, n: int = 4) -> Path:
    """Ground truth, render and absolute error for up to ``n`` views."""
    from neuralens.nerf.metrics import psnr
    from neuralens.plotting import plt, save_figure

    n = min(n, len(images))
    fig, axes = plt.subplots(3, n, figsize=(2.8 * n, 8.4), squeeze=False)
    for k in range(n):
        err = (images[k] - targets[k]).abs().mean(-1)
        for row, (img, name) in enumerate(((targets[k], "ground truth"), (images[k], "render"), (err, "|error|"))):
            ax = axes[row, k]
            ax.imshow(img.numpy(), cmap="magma" if row == 2 else None, vmin=0, vmax=1 if row < 2 else 0.5)
            ax.axis("off")
            ax.set_title(name if row != 1 else f"render, {psnr(images[k], targets[k]):.2f} dB", fontsize=9)
    fig.suptitle(title)
    return save_figure(fig, path)


def plot_psnr_curve(history: list[dict[str, float]], path: Path, title: str) -> Path:
    from neuralens.plotting import plt, save_figure

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.plot([h["seconds"] for h in history], [h["psnr"] for h in history], "o-", ms=3)
    ax.set_xlabel("training time (s)")
    ax.set_ylabel("PSNR on a held-out view (dB)")
    ax.set_title(title)
    return save_figure(fig, path)


def _cmd_train(args: argparse.Namespace) -> int:
    from neuralens.nerf.trainer import train_nerf
    from neuralens.nerf.variants import make_config

    model = args.model or DEFAULT_MODEL
    if model not in variant_names():
        raise NeuralensError(f"unknown NeRF model {model!r}; available: {', '.join(variant_names())}")
    if args.iters is None and args.seconds is None:
        args.iters = 1000
    scene = _load_scene(args)
    cfg = make_config(model, iters=args.iters, seconds=args.seconds, seed=args.seed, device=args.device,
                      batch_rays=args.batch_rays, lr=args.lr, samples=args.samples, width=args.width,
                      depth=args.depth, near=scene.near, far=scene.far)
    out = Path(args.out)
    write_config(out, vars(args))
    _log(f"scene {scene.name}: {len(scene.train_idx)} train / {len(scene.test_idx)} test views, "
         f"{scene.height}x{scene.width}; model {model}")
    res = train_nerf(cfg, scene, out, resume=args.resume, log=_log)
    targets = scene.images[scene.test_idx]
    save_npz(out / "renders.npz", images=res["renders"].numpy().astype(np.float32),
             indices=np.array(scene.test_idx))
    plot_renders(res["renders"], targets, out / "test_renders.png", f"{model}: held-out views")
    from neuralens.io import read_json

    plot_psnr_curve(read_json(out / "psnr_log.json")["history"], out / "psnr_curve.png", f"{model} on {scene.name}")
    print(f"test PSNR {res['psnr']['mean']:.2f} dB  SSIM {res['ssim']['mean']:.3f}  "
          f"({res['iterations']} it, {res['seconds']:.1f}s) -> {out / 'checkpoint.pt'}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    from neuralens.nerf.trainer import evaluate_views

    ckpt, cfg, fields = load_nerf(args.checkpoint)
    scene = _load_scene(args)
    info = ckpt.get("scene", {})
    if info and (info.get("height"), info.get("width")) != (scene.height, scene.width):
        _log(f"note: checkpoint trained on {info.get('height')}x{info.get('width')} views, evaluating on "
             f"{scene.height}x{scene.width}")
    out = Path(args.out or Path(args.checkpoint).parent / "eval")
    write_config(out, vars(args))
    res = evaluate_views(fields, scene, cfg)
    ts = ckpt.get("train_state", {})
    metrics = {"psnr": res["psnr"], "ssim": res["ssim"], "seconds": ts.get("elapsed"),
               "iterations": ts.get("iteration"), "views": res["indices"], "scene": scene.name,
               "checkpoint": str(args.checkpoint), "trained_on": info.get("name")}
    save_npz(out / "renders.npz", images=res["images"].numpy().astype(np.float32), indices=np.array(res["indices"]))
    write_json(out / "metrics.json", metrics)
    plot_renders(res["images"], scene.images[res["indices"]], out / "renders.png",
                 f"{cfg.model} (trained on {info.get('name')}) on {scene.name}")
    print(f"PSNR {res['psnr']['mean']:.2f} dB  SSIM {res['ssim']['mean']:.3f} over {len(res['indices'])} views "
          f"-> {out}")
    return 0


def render_orbit(fields: Any, cfg: Any, info: dict[str, Any], out: Path, frames: int, fps: int,
                 size: int | None = None) -> list[Path]:
    """Render a 360-degree orbit; write orbit.gif, orbit.mp4 and depth.mp4 into ``out``."""
    from tqdm.auto import tqdm

    from neuralens.nerf.rays import orbit_poses
    from neuralens.nerf.viz import colorize_depth, write_video

    h, w = info["height"], info["width"]
    focal = info["focal"]
    if size is not None:
        focal, h, w = focal * size / w, size, size
    poses = orbit_poses(frames, info.get("orbit_radius", 4.0), info.get("orbit_elevation", 30.0))
    rgb, depth = [], []
    fields.train(False)
    for pose in tqdm(poses, desc="orbit", unit="frame", disable=None):
        r = fields.render_image((h, w, focal), pose, cfg)
        rgb.append(r["rgb"].clamp(0, 1).numpy())
        depth.append(colorize_depth(r["depth"] + (1 - r["opacity"]) * cfg.render.far, cfg.render.near,
                                    cfg.render.far))
    rgb_a, depth_a = np.stack(rgb), np.stack(depth)
    return [write_video(rgb_a, out / "orbit.gif", fps), write_video(rgb_a, out / "orbit.mp4", fps),
            write_video(depth_a, out / "depth.mp4", fps)]


def _cmd_render(args: argparse.Namespace) -> int:
    ckpt, cfg, fields = load_nerf(args.checkpoint)
    if not args.orbit:
        raise NeuralensError("nothing to render: pass --orbit")
    out = Path(args.out or Path(args.checkpoint).parent / "render")
    paths = render_orbit(fields, cfg, ckpt.get("scene", {}), out, args.frames, args.fps, args.size)
    print("\n".join(str(p) for p in paths))
    return 0


def _cmd_viz(args: argparse.Namespace) -> int:
    from neuralens.nerf.viz import plot_rendering, plot_sampling

    out = Path(args.out)
    paths = [plot_sampling(out / "sampling.png", seed=args.seed)]
    if args.checkpoint:
        _ckpt, cfg, fields = load_nerf(args.checkpoint)
        scene = _load_scene(args)
        view = scene.test_idx[0]
        paths.append(plot_rendering(fields, (scene.height, scene.width, scene.focal), scene.poses[view], cfg,
                                    out / "rendering.png", target=scene.images[view]))
    print("\n".join(str(p) for p in paths))
    return 0


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


def _cmd_compare(args: argparse.Namespace) -> int:
    from neuralens.nerf.compare import run_compare

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in variant_names()]
    if unknown:
        raise NeuralensError(f"unknown variant(s) {unknown}; available: {', '.join(variant_names())}")
    if args.seconds <= 0:
        raise NeuralensError(f"--seconds must be positive, got {args.seconds}")
    scene = _load_scene(args)  # validates the scene once, before any training starts
    out = Path(args.out)
    write_config(out, vars(args))
    summary = run_compare(_scene_argv(args), scene, args.seconds, out, variants, args.seed, log=_log)
    print(f"{'variant':14s} {'PSNR':>7s} {'SSIM':>6s} {'it/s':>6s} {'t->base':>8s} {'peak MB':>8s}")
    for v, r in summary["variants"].items():
        reach = f"{r['time_to_baseline_final_psnr_s']:.1f}" if r["time_to_baseline_final_psnr_s"] else "-"
        print(f"{v:14s} {r['psnr']:7.2f} {r['ssim']:6.3f} {r['iterations_per_s']:6.2f} {reach:>8s} "
              f"{r['peak_rss_mb'] or 0:8.0f}")
    print(f"best: {summary['best']} -> {out / 'compare.json'}")
    return 0


def variant_names() -> list[str]:
    from neuralens.nerf.variants import VARIANTS

    return list(VARIANTS)


def add_commands(sub: argparse._SubParsersAction) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    nerf = sub.add_parser("nerf", help="tiny NeRF: train, evaluate, render orbits, figures", formatter_class=fmt,
                          epilog="examples:\n"
                                 "  neuralens nerf train --scene builtin --model tiny --iters 500 --out runs/nerf\n"
                                 "  neuralens nerf eval --checkpoint runs/nerf/checkpoint.pt --scene builtin\n"
                                 "  neuralens nerf render --checkpoint runs/nerf/checkpoint.pt --orbit\n"
                                 "  neuralens nerf viz --checkpoint runs/nerf/checkpoint.pt --out runs/nerf/viz")
    nsub = nerf.add_subparsers(dest="nerf_command", metavar="COMMAND", required=True)

    p = nsub.add_parser("train", help="train a NeRF on a scene", formatter_class=fmt,
                        epilog="examples:\n"
                               "  neuralens nerf train --scene builtin --model tiny --iters 500 --out runs/nerf\n"
                               "  neuralens nerf train --scene ../shared/data/nerf/lego_100.npz --seconds 180")
    p.add_argument("--model", default=None, help="field/variant (default: the best variant)")
    p.add_argument("--iters", type=int, default=None, help="training iterations (default 1000 without --seconds)")
    p.add_argument("--seconds", type=float, default=None, help="training-time budget in seconds")
    p.add_argument("--batch-rays", type=int, default=None, help="rays per step; 0 = one whole image (tiny_nerf)")
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--samples", type=int, default=None, help="samples per ray")
    p.add_argument("--width", type=int, default=None, help="MLP width override (tiny field)")
    p.add_argument("--depth", type=int, default=None, help="MLP depth override (tiny field)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    p.add_argument("--out", default="runs/nerf")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    _scene_args(p)
    p.set_defaults(func=_cmd_train)

    p = nsub.add_parser("eval", help="score a checkpoint on a scene's test views (PSNR, SSIM, renders.npz)",
                        formatter_class=fmt,
                        epilog="example:\n"
                               "  neuralens nerf eval --checkpoint runs/nerf/checkpoint.pt --scene builtin --split all")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--out", default=None, help="default: CHECKPOINT_DIR/eval")
    _scene_args(p)
    p.set_defaults(func=_cmd_eval)

    p = nsub.add_parser("render", help="render a 360-degree orbit (GIF, MP4, depth MP4)", formatter_class=fmt,
                        epilog="example:\n"
                               "  neuralens nerf render --checkpoint runs/nerf/checkpoint.pt --orbit --frames 60")
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--orbit", action="store_true", help="render the orbit video")
    p.add_argument("--frames", type=int, default=60)
    p.add_argument("--fps", type=int, default=20)
    p.add_argument("--size", type=int, default=None, help="square output size (default: training size)")
    p.add_argument("--out", default=None, help="default: CHECKPOINT_DIR/render")
    p.set_defaults(func=_cmd_render)

    p = nsub.add_parser("compare", help="train every variant for the same time budget; curves, table, renders",
                        formatter_class=fmt,
                        epilog="examples:\n"
                               "  neuralens nerf compare --scene builtin --seconds 60 --out runs/nerf_compare\n"
                               "  neuralens nerf compare --scene ../shared/data/nerf/lego_100.npz --seconds 180")
    p.add_argument("--seconds", type=float, default=60.0, help="training-time budget per variant")
    p.add_argument("--variants", default=",".join(DEFAULT_VARIANTS_CLI), help="comma-separated variants")
    p.add_argument("--out", default="runs/nerf_compare")
    p.add_argument("--seed", type=int, default=0)
    _scene_args(p)
    p.set_defaults(func=_cmd_compare)

    p = nsub.add_parser("viz", help="figures: samplers along rays; rendering, depth, opacity, sigma/T/w curves",
                        formatter_class=fmt,
                        epilog="example:\n"
                               "  neuralens nerf viz --checkpoint runs/nerf/checkpoint.pt --out runs/nerf/viz")
    p.add_argument("--checkpoint", default=None, help="a trained NeRF for the rendering figure")
    p.add_argument("--out", default="runs/nerf/viz")
    p.add_argument("--seed", type=int, default=0)
    _scene_args(p)
    p.set_defaults(func=_cmd_viz)
