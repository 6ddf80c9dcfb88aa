"""VGG16 vs ResNet18 in numbers: sentences generated from gradflow.json and landscape runs, never typed.

Every claim in the text is a comparison of two measured numbers, and its direction follows the numbers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neuralens.cnn.explain import LANDSCAPE_WHY, SHORTCUT_DERIVATION
from neuralens.cnn.landscape import load_landscape
from neuralens.cnn.viz import plot_landscapes
from neuralens.core.errors import NeuralensError
from neuralens.core.io import read_json, write_json


def _fmt(v: float) -> str:
    return f"{v:.3g}"


def _ratio_sentence(what: str, a_name: str, a: float, b_name: str, b: float, larger_means: str) -> str:
    if not (a > 0 and b > 0):
        return f"{what}: {a_name} {_fmt(a)}, {b_name} {_fmt(b)}."
    hi, _lo = (a_name, b_name) if a >= b else (b_name, a_name)
    r = max(a, b) / min(a, b)
    return f"{what}: {a_name} {_fmt(a)}, {b_name} {_fmt(b)}; {hi} is {r:.3g}x larger ({larger_means})."


PAIRS = (("vgg16", "resnet18"), ("vgg16_bn", "resnet18"), ("plain18", "resnet18"))


def gradflow_sentences(gf: dict[str, Any]) -> list[str]:
    """Sentences for the VGG/plain/ResNet pairs present, or (other models, e.g. the user's) the first two."""
    models = gf["models"]
    out = []
    pairs = [p for p in PAIRS if any(p[0] + s in models and p[1] + s in models for s in ("@init", ""))]
    if not pairs:
        bases = list(dict.fromkeys(k.removesuffix("@init") for k in models))
        pairs = [(bases[0], bases[1])] if len(bases) >= 2 else []
    for pair in pairs:
        for suffix in ("@init", ""):
            a, b = pair[0] + suffix, pair[1] + suffix
            if a in models and b in models:
                out += _pair_sentences(models, a, b, suffix)
    return out


def _pair_sentences(models: dict[str, Any], a: str, b: str, suffix: str) -> list[str]:
    when = "at initialisation" if suffix or not any("@init" in k for k in models) else "after training"
    sa, sb = models[a]["summary"], models[b]["summary"]
    return [
        _ratio_sentence(f"Mean |grad| of the first weight layer relative to the last ({when})",
                        a, sa["first_to_last_mean_grad"], b, sb["first_to_last_mean_grad"],
                        "nearer 1 means early layers learn as fast as late ones"),
        f"Share of weight layers whose mean |grad| is below 1e-3 of the largest ({when}): "
        f"{a} {100 * sa['share_below_1e-3_of_max']:.0f}%, {b} {100 * sb['share_below_1e-3_of_max']:.0f}%.",
        _ratio_sentence(f"RMS gradient at the first block's input relative to the last block's ({when})",
                        a, sa["first_to_last_block_input_grad"], b, sb["first_to_last_block_input_grad"],
                        "below 1 means the gradient shrinks on its way back to the input"),
    ]


def landscape_sentences(lands: dict[str, dict[str, Any]]) -> list[str]:
    names = list(lands)
    if len(names) < 2:
        return []
    a, b = names[:2]
    sa, sb = lands[a]["meta"].get("sharpness", {}), lands[b]["meta"].get("sharpness", {})
    out = []
    method = lands[a]["meta"].get("directions", "filter")
    seeds = lands[a]["meta"].get("direction_seeds", 1)
    for key, what in (("mean_rise_r0.5", f"Mean loss rise at radius 0.5 ({method}-normalised planes, mean of "
                                         f"{seeds} direction seed(s))"),
                      ("mean_rise_r1", "Mean loss rise at radius 1.0"),
                      ("top_hessian_eigenvalue", "Top Hessian eigenvalue (curvature at the model)")):
        if key in sa and key in sb:
            out.append(_ratio_sentence(what, a, sa[key], b, sb[key], "larger means sharper"))
    return out


SUMMARY_KEYS = ("first_to_last_mean_grad", "share_below_1e-3_of_max", "first_to_last_block_input_grad")


def read_gradflow(path: Path) -> dict[str, Any]:
    """``gradflow.json``, checked against its schema (docs/data.md) so a foreign file is named, not a KeyError."""
    gf = read_json(path)
    models = gf.get("models") if isinstance(gf, dict) else None
    if not isinstance(models, dict) or not models:
        raise NeuralensError(f"{path}: no 'models' object; not a neuralens gradflow.json")
    for name, res in models.items():
        summary = res.get("summary") if isinstance(res, dict) else None
        if not isinstance(summary, dict) or any(not isinstance(summary.get(k), (int, float)) for k in SUMMARY_KEYS):
            raise NeuralensError(f"{path}: models.{name}.summary lacks {', '.join(SUMMARY_KEYS)}")
        if not isinstance(res.get("layers"), list):
            raise NeuralensError(f"{path}: models.{name}.layers must be a list")
    return gf


def compare(gradflow_dir: Path | None, landscape_dirs: list[Path], out: Path) -> tuple[str, dict[str, Any]]:
    """Write compare.json (numbers and sentences) and, with two landscapes, side-by-side figures."""
    grad_sentences: list[str] = []
    land_sentences: list[str] = []
    numbers: dict[str, Any] = {}
    if gradflow_dir is not None:
        gf = read_gradflow(gradflow_dir / "gradflow.json")
        grad_sentences = gradflow_sentences(gf)
        numbers["gradflow"] = {k: v["summary"] for k, v in gf["models"].items()}
    lands = {}
    for d in landscape_dirs:
        res = load_landscape(d)
        lands[res["meta"].get("model", d.name)] = res
    if lands:
        land_sentences = landscape_sentences(lands)
        numbers["landscape"] = {k: v["meta"].get("sharpness", {}) for k, v in lands.items()}
        plot_landscapes(lands, out)
    sentences = grad_sentences + land_sentences
    text = "\n".join([*sentences, "", SHORTCUT_DERIVATION, "", LANDSCAPE_WHY])
    write_json(out / "compare.json", {"sentences": sentences, "gradflow_sentences": grad_sentences,
                                      "landscape_sentences": land_sentences, "numbers": numbers})
    return text, numbers
