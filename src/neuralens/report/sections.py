"""Report sections, one per study; every number shown is read from the run folder.

Each section is a function ``(study folder) -> html | None``; ``None`` means the study did not run there.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuralens.cnn.compare import gradflow_sentences
from neuralens.cnn.explain import LANDSCAPE_WHY, SHORTCUT_DERIVATION
from neuralens.cnn.landscape import load_landscape
from neuralens.cnn.settings import DIRECTIONS
from neuralens.core.io import read_json
from neuralens.core.stats import interval_text
from neuralens.core.wording import speed_words
from neuralens.deform.adaptation import AdaptSettings
from neuralens.deform.explain import OFFSET_CHANNELS, OFFSET_IS_CONV
from neuralens.nerf.explain import NERF_OTHER_SCENE, NERF_RENDERING
from neuralens.nerf.seeds import GAIN_FIGURE
from neuralens.nerf.variants import BASELINE, VARIANTS
from neuralens.report.depth_section import depth_section
from neuralens.report.findings import compare_budget, compare_folder
from neuralens.report.html import esc, figure, paragraph, table
from neuralens.report.interactive import plot_div, surface_figure, video


def cnn_section(folder: Path) -> str | None:
    summary = read_json(folder / "summary.json") if (folder / "summary.json").is_file() else None
    if summary is None:
        return None
    models = summary["models"]
    mode = summary["mode"]
    intro = {"shipped": "The nets neuralens ships (--weights neuralens): VGG16-BN, ResNet18 and Plain18 (ResNet18 "
                        "with every shortcut removed), trained on the full CIFAR-10 training set; their model cards "
                        "record how. Nothing is trained here.",
             "train": "Models trained briefly from scratch on the CPU; the point is to feed data through them and show "
                      "what they predict, not to reach published accuracy."
                      + (f" Trained here because {summary['why_trained']}." if summary.get("why_trained") else ""),
             "user": "The user's own models, with the weights and normalisation below (nothing trained here)."}[mode]
    parts = [paragraph(f"Data: {summary['data']}. {intro}")]
    rows = [[m["model"], m.get("weights", "trained here"), m.get("normalize", "cifar"), m.get("width"),
             m.get("epochs"), m.get("n_test"), m["accuracy"], m["loss"], m.get("card_accuracy")]
            for m in models]
    parts.append(table(["model", "weights", "normalisation", "width", "epochs", "test images", "test accuracy",
                        "test loss", "card accuracy (all test images)"], rows))
    for m in models:
        d = folder / m["model"]
        if m.get("trained_here", True):
            parts.append(figure(d / "history.png", f"{m['model']}: loss and accuracy per epoch"))
        parts.append(figure(d / "eval" / "predictions.png",
                            f"{m['model']}: test images with predicted (true) labels; green = correct"))
        parts.append(figure(d / "eval" / "confusion.png", f"{m['model']}: confusion matrix on the test set"))
    return "".join(parts)


def gradflow_section(folder: Path) -> str | None:
    if not (folder / "gradflow.json").is_file():
        return None
    gf = read_json(folder / "gradflow.json")
    parts = [paragraph(f"Data: {gf['data']}; {gf['batches']} batches of {gf['batch_size']} images, width "
                       f"{gf['width']}, train mode, cross-entropy. Mean and max |dL/dW| per weight tensor in "
                       "depth order, averaged over batches; RMS of dL/dx at each block's input.")]
    rows = [[k, s["first_to_last_mean_grad"], s["min_to_max_mean_grad"], s["share_below_1e-3_of_max"],
             s["first_to_last_block_input_grad"], v["loss"]]
            for k, v in gf["models"].items() for s in [v["summary"]]]
    parts.append(table(["model", "first/last mean |grad|", "min/max mean |grad|", "share < 1e-3 of max",
                        "first/last block-input grad", "loss"], rows))
    spread_rows = [[k, len(v["seeds"]), *[_spread_text(v["spread"].get(m)) for m in SPREAD_KEYS]]
                   for k, v in gf["models"].items() if v.get("spread")]
    if spread_rows:
        parts.append(paragraph(f"At initialisation each net was measured over {gf.get('init_seeds')} seeds (the table "
                               "above shows the first); mean, standard deviation and range over the seeds:"))
        parts.append(table(["model", "seeds", *SPREAD_KEYS], spread_rows))
    parts.append("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in gradflow_sentences(gf)) + "</ul>")
    parts.append(figure(folder / "gradflow_overlay.png", "mean |grad| (left) and block-input gradient (right) "
                                                         "against relative depth; dashed: at initialisation"))
    parts.append(figure(folder / "gradflow_vgg_bn.png", "VGG16 without vs with batch norm"))
    for key in gf["models"]:
        bars = folder / f"gradflow_{key.replace('@', '_')}.png"
        if bars.is_file():
            parts.append(figure(bars, f"{key}: max and mean |grad| per layer"))
    parts.append(paragraph(SHORTCUT_DERIVATION, "explain"))
    return "".join(parts)


SPREAD_KEYS = ("first_to_last_block_input_grad", "first_to_last_mean_grad")


def _spread_text(sp: dict[str, float] | None) -> str:
    if not sp:
        return "-"
    return f"{sp['mean']:.3g} +- {sp['std']:.2g} ({sp['min']:.3g}..{sp['max']:.3g})"


def landscape_section(folder: Path) -> str | None:
    if not (folder / "compare.json").is_file():
        return None
    cmp = read_json(folder / "compare.json")
    parts = []
    metas = {}
    for sub in sorted(p for p in folder.iterdir() if (p / "landscape.json").is_file()):
        meta = read_json(sub / "landscape.json")
        if meta.get("directions") != "pca":  # the trajectory plane has its own paragraph below
            metas[sub.name] = meta
    if metas:
        first = next(iter(metas.values()))
        method = first.get("directions", "filter")
        doc = DIRECTIONS.info(method).get("doc", method) if method in DIRECTIONS else method
        parts.append(paragraph(f"Plane of two random directions ({method}: {doc}; seed {first.get('seed')}), "
                               f"{first['steps']}x{first['steps']} points over [-{first['distance']}, "
                               f"{first['distance']}]^2, {first['eval_size']} test images ({first['data']}), eval "
                               "mode, BN parameters and biases not perturbed. Sharpness: the mean rise of the loss "
                               f"over {first['sharpness'].get('ring_points', 8)} points on circles of radius 0.5 "
                               "and 1 around the model, in "
                               f"{first.get('direction_seeds', 1)} planes (direction seeds), with its spread."))
        rows = []
        for n, m in metas.items():
            sh = m["sharpness"]
            rows.append([n, sh.get("loss_centre"), _spread_text(sh.get("mean_rise_r0.5_spread")),
                         _spread_text(sh.get("mean_rise_r1_spread")), sh.get("top_hessian_eigenvalue"),
                         " / ".join(f"{k} {v:.0f}s" for k, v in m.get("seconds", {}).items())])
        parts.append(table(["model", "centre loss", "rise at r=0.5 over direction seeds", "rise at r=1",
                            "top Hessian eigenvalue", "time"], rows))
    own = cmp.get("landscape_sentences", cmp["sentences"])  # the gradient sentences stand in their own section
    parts.append("<ul>" + "".join(f"<li>{esc(t)}</li>" for t in own) + "</ul>")
    lands = {name: load_landscape(folder / name) for name in metas}
    if lands:
        parts.append(plot_div("loss-surface", surface_figure(lands), "interactive 3-D loss surfaces (the static "
                                                                    "versions follow, as in the PDF)"))
    parts.append(figure(folder / "landscape_contour.png", "loss contours, log-spaced levels, same scale"))
    parts.append(figure(folder / "landscape_surface.png", "3-D loss surfaces, same scale"))
    parts.append(figure(folder / "landscape_1d.png", "1-D slices along each direction"))
    for name in metas:
        parts.append(figure(folder / name / "interpolation.png", f"{name}: loss from initialisation to trained"))
    parts += [h for name in metas if (h := _hessian_part(folder / name))]
    parts.append(_trajectory_part(folder / "trajectory"))
    parts.append(paragraph(LANDSCAPE_WHY, "explain"))
    return "".join(parts)


def _hessian_part(folder: Path) -> str:
    """One model's Hessian: top eigenvalues and trace over probe seeds, density and per-layer figures."""
    if not (folder / "hessian.json").is_file():
        return ""
    h = read_json(folder / "hessian.json")
    tops = ", ".join(_spread_text(t) for t in h["top_eigenvalues"]["spread"])
    trace = _spread_text(h["trace"]["spread"]) if h["trace"]["spread"] else "not measured"
    text = (f"{h['model']}: loss Hessian over {h['parameters']:,} conv/linear weights on {h['eval_size']} test images "
            f"({h['hessian_vector_products']} Hessian-vector products): top {len(h['top_eigenvalues']['spread'])} "
            f"eigenvalues {tops} (Lanczos, {h['settings']['lanczos_steps']} steps, over "
            f"{h['settings']['probe_seeds']} probe seeds); trace {trace} (Hutchinson, "
            f"{h['settings']['trace_probes']} probes per seed).")
    return (paragraph(text) + figure(folder / "hessian_density.png", f"{h['model']}: eigenvalue spectral density "
                                     "(stochastic Lanczos quadrature)")
            + (figure(folder / "hessian_layers.png", f"{h['model']}: top eigenvalue of each layer's diagonal block")
               if h["layers"] else ""))


def _trajectory_part(folder: Path) -> str:
    """The optimiser's path on the plane of its two PCA directions."""
    if not (folder / "landscape.json").is_file():
        return ""
    m = read_json(folder / "landscape.json")
    ev = m["explained_variance"]
    text = (f"The training path of {m['model']} ({len(m['epochs'])} snapshots, epochs {m['epochs'][0]} to "
            f"{m['epochs'][-1]}) projected on the plane of its two principal directions around the final weights "
            f"(Li et al. 2018): they explain {100 * ev[0]:.1f}% and {100 * ev[1]:.1f}% of the path's variance; "
            f"{m['steps']}x{m['steps']} loss points on {m['eval_size']} test images, BN statistics following the "
            "weights.")
    return paragraph(text) + figure(folder / "trajectory.png", "the optimiser's path on the loss (PCA plane)")


def deform_section(folder: Path) -> str | None:
    if not (folder / "check.json").is_file():
        return None
    check = read_json(folder / "check.json")
    parts = [paragraph(f"Our deform_conv2d against torchvision.ops.deform_conv2d on {len(check['cases'])} random "
                       f"shapes (groups, offset groups, stride, padding, dilation, masks, offsets outside the "
                       f"image): worst absolute difference over outputs and all gradients {check['worst']:.2e} "
                       "(float32).")]
    if (folder / "speed.json").is_file():
        sp = read_json(folder / "speed.json")
        sh = sp["shape"]
        parts.append(table(["implementation", "forward+backward s (median)"], list(sp["fwd_bwd_s"].items())))
        rounds = sp.get("speedup_per_round", [sp["speedup_vs_torchvision"]])
        parts.append(paragraph(f"N={sh['N']}, C={sh['C']}, {sh['H']}x{sh['W']}, 3x3, random offsets, "
                               f"{len(rounds)} interleaved rounds: {speed_words(sp['speedup_vs_torchvision'])} than "
                               f"torchvision's CPU kernel (median; rounds from {min(rounds):.2f}x to "
                               f"{max(rounds):.2f}x). The full table with peak memory is in BENCHMARKS.md."))
    if (folder / "adapt" / "adapt.json").is_file():
        parts.append(adaptation_part(folder / "adapt"))
    parts.append(figure(folder / "sampling_points.png", "where one output pixel samples: regular grid vs 1, 2, 3 "
                                                        "deformable layers (9, 81, 729 points)"))
    parts.append(figure(folder / "offset_magnitude.png", "offset magnitude per output location"))
    parts.append(paragraph(OFFSET_CHANNELS, "explain"))
    parts.append(paragraph(OFFSET_IS_CONV, "explain"))
    return "".join(parts)


def adaptation_part(folder: Path) -> str:
    """The adaptation experiment: its settings, the dilation per object size and the two figures."""
    res = read_json(folder / "adapt.json")
    st = res["settings"]
    rows = [[run["seed"], run["small_dcn"]["accuracy"], run["small_cnn"]["accuracy"],
             *(f"{lay['correlation']['rho']:+.2f}" for lay in run["layers"])] for run in res["runs"]]
    text = (f"Does the receptive field adapt to the object? {res['data']}: small_dcn and small_cnn (per-cell heads) "
            f"trained {st['epochs']} epoch(s) on {st['n_train']} images per training seed, {len(res['runs'])} seeds, "
            "scored by the share of each object's cells given its shape's class; each deformable layer's mean "
            "effective dilation (mean distance between adjacent taps' sampling locations, Dai et al. 2017) on the "
            f"object's cells of {res['n_test']} test images, against the object's scale.")
    full = AdaptSettings()
    if st["n_train"] * st["epochs"] < full.n_train * full.epochs:
        text += (f" That is less training than `neuralens deform adapt`'s defaults ({full.n_train} images, "
                 f"{full.epochs} epochs), on which the verdict is measured in BENCHMARKS.md.")
    layers = len(res["runs"][0]["layers"])
    return (paragraph(text) + table(["seed", "small_dcn: cells named right", "small_cnn: cells named right",
                                     *(f"layer {k + 1} rank correlation" for k in range(layers))], rows)
            + figure(folder / "dilation_by_scale.png", "effective dilation by object size, and on the background")
            + figure(folder / "small_and_large.png", "one pixel's sampling points on the smallest and the largest "
                                                     "object (seed 0)"))


def baseline_budget_sentence(base: dict) -> str:
    """How much training the faithful baseline got, in its own and in the notebook's iterations."""
    return (f"The faithful tiny_nerf baseline got {base['iterations']} iterations in {base['seconds']:.1f} s "
            f"({base['iterations_per_s']:.2f} it/s), {base['images_of_rays']:.1f} images' worth of rays. The "
            "notebook trains 1000 iterations of one whole image each; the curve against images of rays puts the two "
            "on one axis.")


def precision_words(precision: dict[str, str | None]) -> str:
    """Which variants' training steps ran in bfloat16 (compare.json's ``precision``: "bf16", "fp32", or both
    joined by "+" for a run resumed in the other); empty when none did."""
    low = [v for v, p in precision.items() if p == "bf16"]
    mixed = [v for v, p in precision.items() if p and "+" in p]
    if not low and not mixed:
        return ""
    rest = [v for v in precision if v not in low and v not in mixed]
    words = [f"in bfloat16 for {', '.join(low)}"] if low else []
    words += [f"partly in bfloat16 for {', '.join(mixed)} (resumed in the other precision)"] if mixed else []
    also = f" (float32 for {', '.join(rest)})" if rest else ""
    return f"; training steps {' and '.join(words)}{also}, every score rendered in float32"


def _test_views_gain(views: dict[str, Any] | None) -> str | None:
    """"+x.xx dB after n": the variant's test views against the baseline's after the same steps."""
    return f"{views['gain_db']:+.2f} dB after {views['iterations']}" if views else None


def seeds_part(over: dict[str, Any]) -> str:
    """The comparison over seeds: every variant's final test PSNR per seed and each improvement's paired gains
    at equal steps, their mean and its 95% interval."""
    seeds = over["seeds"]
    rows = []
    for v, finals in over["final_psnr"].items():
        row = over["variants"].get(v)
        g = row["gain"] if row else None
        gains = [f"{x:+.2f}" for x in row["gains_db"]] if row else [None] * len(seeds)
        rows.append([v, *finals, *gains, f"{g['mean']:+.2f}" if g else None, interval_text(g["ci95"]) if g else None])
    text = (f"The comparison ran once per seed ({', '.join(map(str, seeds))}); below, seed {seeds[0]}'s in detail. "
            f"Gains are over {over['baseline']} on the test views after the same steps, one pair of runs per seed.")
    return paragraph(text) + table(["variant", *(f"test PSNR dB, seed {s}" for s in seeds),
                                    *(f"gain dB, seed {s}" for s in seeds), "mean gain dB", "95% interval dB"], rows)


def nerf_section(folder: Path) -> str | None:
    seeds_path = folder / "compare" / "seeds.json"
    over = read_json(seeds_path) if seeds_path.is_file() else None
    cmp_dir = compare_folder(folder, over)
    if not (cmp_dir / "compare.json").is_file():
        return None
    cmp = read_json(cmp_dir / "compare.json")
    parts = [paragraph(NERF_RENDERING, "explain"), figure(folder / "sampling.png", "uniform, stratified and "
                                                                                   "hierarchical samples along rays")]
    if over:
        parts.append(seeds_part(over))
        parts.append(figure(folder / "compare" / GAIN_FIGURE, f"each improvement's gain over {over['baseline']} on "
                            "the probe view against training, a thin line per seed, their mean thick"))
    rays = f", {cmp['batch_rays']} rays per step each" if cmp.get("batch_rays") else ""
    length, same = compare_budget(cmp)
    parts.append(paragraph(f"Every variant trained for {length}{rays}{precision_words(cmp['precision'])} on "
                           f"{cmp['scene']} "
                           f"(test views {cmp['test_views']} held out)."))
    rows = [[v, r["psnr"], r["ssim"], r["iterations"], r["iterations_per_s"], r["time_to_baseline_final_psnr_s"],
             _test_views_gain(r.get("test_views_at_equal_iterations")), r["peak_rss_mb"]]
            for v, r in cmp["variants"].items()]
    parts.append(table(["variant", "test PSNR dB", "SSIM", "iterations", "it/s", "s to baseline's final PSNR",
                        "over the baseline at equal iterations (test views)", "peak RSS MB"], rows))
    parts.append(figure(cmp_dir / "psnr_vs_time.png", "PSNR on a held-out view against training time"))
    parts.append(figure(cmp_dir / "psnr_vs_iter.png", "the same against images of rays trained: the "
                                                      "x-axis of the tiny_nerf notebook's curve"))
    parts.append(figure(cmp_dir / "side_by_side.png", "a held-out view: each variant and its error"))
    base = cmp["variants"].get(BASELINE)
    if base:
        parts.append(paragraph(baseline_budget_sentence(base)))
    items = []
    for v, r in cmp["variants"].items():
        gain = f" Measured: {r['psnr']:.2f} dB"
        if base and v != BASELINE:
            gain += f" ({r['psnr'] - base['psnr']:+.2f} dB vs the baseline {same})"
        doc = VARIANTS.info(v).get("doc", "") if v in VARIANTS else ""
        items.append(f"<li><b>{esc(v)}</b>: {esc(doc)}{esc(gain)}.</li>")
    parts.append("<ul>" + "".join(items) + "</ul>")
    parts.append(figure(folder / "rendering.png", f"best variant ({cmp['best']}): render, depth, opacity and "
                                                  "sigma/T/w along marked rays"))
    if (folder / "orbit" / "orbit.mp4").is_file():
        parts.append(video(folder / "orbit" / "orbit.mp4", folder / "orbit" / "orbit.gif",
                           "360-degree orbit of the best variant (orbit.gif and depth.mp4 beside it)"))
    if (folder / "cross_scene.json").is_file():
        cs = read_json(folder / "cross_scene.json")
        parts.append(table(["rendered scene", "PSNR dB", "SSIM"],
                           [[f"{cs['trained_on']} (its own)", cs["psnr_own_scene"], cs["ssim_own_scene"]],
                            [f"{cs['other_scene']} (another)", cs["psnr_other_scene"], cs["ssim_other_scene"]]]))
        parts.append(figure(folder / "cross_scene.png", "the trained field asked for another scene's views"))
    parts.append(paragraph(NERF_OTHER_SCENE, "explain"))
    return "".join(parts)


#: (folder under the run folder, title, section function), in report order
SECTIONS: list[tuple[str, str, Callable[[Path], str | None]]] = [
    ("depth", "Does the identity shortcut matter? Depth by depth", depth_section),
    ("cnn", "CNNs (VGG16-BN, ResNet18, Plain18): predictions", cnn_section),
    ("gradflow", "Gradient flow through depth", gradflow_section),
    ("landscape", "Loss landscapes and the VGG/ResNet comparison", landscape_section),
    ("deform", "Deformable convolution", deform_section),
    ("nerf", "Tiny NeRF", nerf_section),
]
