"""What ``neuralens nerf train | eval | render | compare | viz`` do once :mod:`neuralens.nerf.cli` has checked
the arguments (without torch)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from neuralens.core.cliargs import options_from
from neuralens.core.io import log, read_json, run_folder, save_npz, write_json
from neuralens.core.stats import interval_text
from neuralens.data.scene_spec import SceneChoice
from neuralens.data.scenes import Scene, load_choice
from neuralens.nerf.budget import Budget
from neuralens.nerf.compare import run_compare
from neuralens.nerf.config import NerfConfig, RenderSettings
from neuralens.nerf.model import load_nerf
from neuralens.nerf.orbit import render_orbit
from neuralens.nerf.seeds import run_seeds
from neuralens.nerf.trainer import check_config, check_resume, evaluate_views, fit_to_scene, train_nerf
from neuralens.nerf.variants import DEFAULT_VARIANT, make_config
from neuralens.nerf.viz import plot_psnr_curve, plot_rendering, plot_renders, plot_sampling


def _scene_choice(args: argparse.Namespace) -> SceneChoice:
    return SceneChoice(args.scene, args.split, args.test_views, args.white_bg, args.downscale)


def _load_scene(args: argparse.Namespace) -> Scene:
    return load_choice(_scene_choice(args))


def _write_renders(out: Path, images: Any, scene: Scene, indices: list[int], figure: str, title: str) -> None:
    """``renders.npz`` (float32 images in the scene's view order) and the figure beside the ground truth."""
    save_npz(out / "renders.npz", images=images.numpy().astype(np.float32), indices=np.array(indices))
    plot_renders(images, scene.images[indices], out / figure, title)


def train_command(args: argparse.Namespace) -> int:
    variant = args.model or DEFAULT_VARIANT
    out = Path(args.out)
    scene = _load_scene(args)
    options = options_from(NerfConfig, args) | options_from(RenderSettings, args)
    cfg = fit_to_scene(make_config(variant, forward_facing=scene.ndc_near is not None, **options), scene)
    check_config(cfg, scene)
    if args.resume:
        check_resume(cfg, scene, out)
    cam = scene.camera
    log(f"scene {scene.name}: {len(scene.train_idx)} train / {len(scene.test_idx)} test views, "
        f"{scene.height}x{scene.width}, fx {cam.fx:.1f} fy {cam.fy:.1f} cx {cam.cx:.1f} cy {cam.cy:.1f}; canonical "
        f"frame: centre {[round(c, 3) for c in scene.center]}, scale {scene.scale:.4g}, near {scene.near:.3g}, "
        f"far {scene.far:.3g}, box [-{cfg.render.bound}, {cfg.render.bound}]^3, background "
        f"{'random' if cfg.random_bg else format(scene.background, 'g')}; model {variant}"
        + (f" with its forward-facing settings {cfg.forward_facing}" if scene.ndc_near is not None
           and cfg.forward_facing else ""))
    with run_folder(out, vars(args)):
        res = train_nerf(cfg, scene, out, resume=args.resume, log=log)
        _write_renders(out, res["renders"], scene, scene.test_idx, "test_renders.png", f"{variant}: held-out views")
        plot_psnr_curve(read_json(out / "psnr_log.json")["history"], out / "psnr_curve.png",
                        f"{variant} on {scene.name}")
    print(f"test PSNR {res['psnr']['mean']:.2f} dB  SSIM {res['ssim']['mean']:.3f}  "
          f"({res['iterations']} it, {res['seconds']:.1f}s) -> {out / 'checkpoint.pt'}")
    return 0


def eval_command(args: argparse.Namespace) -> int:
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
    out = Path(args.out)
    res = evaluate_views(model, scene, cfg)
    ts = ckpt.get("train_state", {})
    metrics = {"psnr": res["psnr"], "ssim": res["ssim"], "seconds": ts.get("elapsed"),
               "iterations": ts.get("iteration"), "views": res["indices"], "scene": scene.name,
               "checkpoint": str(args.checkpoint), "trained_on": info.get("name")}
    with run_folder(out, vars(args)):
        write_json(out / "metrics.json", metrics)
        _write_renders(out, res["images"], scene, res["indices"], "renders.png",
                       f"{cfg.variant} (trained on {info.get('name')}) on {scene.name}")
    print(f"PSNR {res['psnr']['mean']:.2f} dB  SSIM {res['ssim']['mean']:.3f} over {len(res['indices'])} views "
          f"-> {out}")
    return 0


def render_command(args: argparse.Namespace) -> int:
    ckpt, cfg, model = load_nerf(args.checkpoint)
    out = Path(args.out)
    paths = render_orbit(model, cfg, ckpt.get("scene", {}), out, args.frames, args.fps, args.size)
    print("\n".join(str(p) for p in paths))
    return 0


def viz_command(args: argparse.Namespace) -> int:
    out = Path(args.out)
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


def compare_command(args: argparse.Namespace, variants: list[str]) -> int:
    out = Path(args.out)
    choice = _scene_choice(args)
    scene = load_choice(choice)  # validates the scene once, before any training starts
    budget = Budget(args.seconds, args.seed, args.device, args.batch_rays, iters=args.iters, precision=args.precision)
    with run_folder(out, vars(args)):
        if args.seeds:
            over = run_seeds(choice, scene, budget, out, variants, args.seeds, log=log, resume=args.resume)
        else:
            summary = run_compare(choice, scene, budget, out, variants, log=log, resume=args.resume)
    if args.seeds:
        _print_seeds(over, out)
    else:
        _print_compare(summary, out)
    return 0


def _print_compare(summary: dict[str, Any], out: Path) -> None:
    print(f"{'variant':14s} {'PSNR':>7s} {'SSIM':>6s} {'it/s':>6s} {'t->base':>8s} {'peak MB':>8s}  vs baseline at "
          "equal iterations (test views; probe view)")
    for v, r in summary["variants"].items():
        reach = f"{r['time_to_baseline_final_psnr_s']:.1f}" if r["time_to_baseline_final_psnr_s"] else "-"
        eq, views = r.get("at_equal_iterations"), r.get("test_views_at_equal_iterations")
        same = "; ".join(
            ([f"{views['gain_db']:+.2f} dB on the test views after {views['iterations']} iterations each"]
             if views else [])
            + ([f"ahead at {eq['ahead']} of {eq['probes']} probes, {eq['mean_gain_db']:+.2f} dB on average"]
               if eq else [])) or "-"
        print(f"{v:14s} {r['psnr']:7.2f} {r['ssim']:6.3f} {r['iterations_per_s']:6.2f} {reach:>8s} "
              f"{r['peak_rss_mb'] or 0:8.0f}  {same}")
    if (room := summary.get("sampling_headroom")) is not None:
        print(f"{room['variant']} rendered with {room['more_samples']} instead of {room['samples']} samples per ray: "
              f"{room['more_psnr']:.2f} dB ({room['gain_db']:+.2f} dB): what better-placed samples could add to its "
              "render")
    print(f"best: {summary['best']} -> {out / 'compare.json'}")


def _print_seeds(over: dict[str, Any], out: Path) -> None:
    seeds = ", ".join(map(str, over["seeds"]))
    print(f"final test PSNR per seed ({seeds}):")
    for v, values in over["final_psnr"].items():
        print(f"  {v:14s} " + " ".join(f"{x:6.2f}" for x in values))
    print(f"gain over {over['baseline']} on the test views after the same steps, per seed; mean and its 95% interval:")
    for v, row in over["variants"].items():
        if row is None:
            print(f"  {v:14s} - (not scored at equal steps in every seed)")
            continue
        g = row["gain"]
        interval = interval_text(g["ci95"]) or "-"
        print(f"  {v:14s} " + " ".join(f"{x:+6.2f}" for x in row["gains_db"]) + f"  mean {g['mean']:+.2f} dB "
              f"{interval}; SSIM " + " ".join(f"{x:+.3f}" for x in row["ssim_gains"]))
    print(f"-> {out / 'seeds.json'} (each seed's comparison in {out / 'seed_S'})")
