"""The depth study's verdicts: the evidence of ``depth.json`` put to :func:`neuralens.core.rules.depth_rule`, one
decision per depth (the report and ``neuralens depth`` word them the same way)."""

from __future__ import annotations

from typing import Any

from neuralens.core import rules
from neuralens.core.rules import Decision
from neuralens.core.wording import span


def depth_pairs(nets: dict[str, dict[str, Any]]) -> dict[int, tuple[str, str]]:
    """(residual net, plain net) per depth where the series has both."""
    by = {(n["family"], n["depth"]): name for name, n in nets.items()}
    return {d: (by[("resnet", d)], by[("plain", d)]) for f, d in sorted(by) if f == "resnet" and ("plain", d) in by}


def depth_verdicts(result: dict[str, Any]) -> list[tuple[str, str, Decision]]:
    """Does the shortcut matter at depth D? (question, numbers, decision) per depth of a ``neuralens depth`` series
    (rules.depth_rule): the gradient at initialisation with batch norm, and where there is evidence the trained
    nets' accuracy, their top Hessian eigenvalue and the short trainings' accuracy vote; the gradient without batch
    norm is stated beside."""
    out, grads, trained = [], result["gradients"], result["trained"]
    for depth, (res, plain) in depth_pairs(result["nets"]).items():
        def cond(c: str, res: str = res, plain: str = plain) -> Decision:
            return rules.shortcut_rule(grads[c][res]["ratios"], grads[c][plain]["ratios"], res_name=res,
                                       plain_name=plain, unit="seeds")
        voting = {"gradient at init": cond("with batch norm")}
        numbers = (f"first/last block-input gradient at init over {len(result['seeds'])} seeds: {res} "
                   f"{span(grads['with batch norm'][res]['ratios'])}, {plain} "
                   f"{span(grads['with batch norm'][plain]['ratios'])}; without batch norm {res} "
                   f"{span(grads['without batch norm'][res]['ratios'])}, {plain} "
                   f"{span(grads['without batch norm'][plain]['ratios'])}")
        if res in trained and plain in trained:
            a, b = trained[res], trained[plain]
            voting["trained test accuracy"] = rules.difference_rule(a["accuracy"], b["accuracy"], min(a["n_test"],
                                                                    b["n_test"]), 10, a_name=res, b_name=plain)
            numbers += f"; trained: {res} {a['accuracy']:.4f}, {plain} {b['accuracy']:.4f} on {a['n_test']} images"
        if "curvature" in trained.get(res, {}) and "curvature" in trained.get(plain, {}):
            ca, cb = trained[res]["curvature"], trained[plain]["curvature"]
            eigs = [[c["top_hessian_eigenvalue"]["min"], c["top_hessian_eigenvalue"]["max"]] for c in (ca, cb)]
            voting["top Hessian eigenvalue"] = rules.curvature_rule(*eigs, res_name=res, plain_name=plain)
            numbers += "; " + ", ".join(
                f"{n}: top Hessian eigenvalue {span(e)}, loss rise at r=0.5 {span(c['rise_r0.5'])}, roughness "
                f"{c['roughness']:.3f}" + (f", |lambda_min/lambda_max| up to {max(map(max, c['nonconvexity'])):.2f}"
                                           if "nonconvexity" in c else "")
                for n, c, e in ((res, ca, eigs[0]), (plain, cb, eigs[1])))
        curves = result.get("short_training", {}).get("curves", {})
        if res in curves and plain in curves:
            a, b, n = curves[res][-1], curves[plain][-1], result["short_training"]["test_images"]
            voting["short training"] = rules.difference_rule(a["test_acc"], b["test_acc"], n, 10, a_name=res,
                                                             b_name=plain)
            numbers += (f"; after {result['short_training']['steps']} steps: {res} {a['test_acc']:.3f}, {plain} "
                        f"{b['test_acc']:.3f} on {n} images (training loss {a['train_loss']:.3f}, "
                        f"{b['train_loss']:.3f})")
        d = rules.depth_rule(voting, {"without batch norm, gradient at init": cond("without batch norm")})
        out.append((f"Does the identity shortcut matter at {depth} layers?", numbers, d))
    return out
