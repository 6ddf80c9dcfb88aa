"""The report's section on the shortcut question by depth: the papers' published numbers (cited as theirs), then
ours from ``depth.json``, then the figures."""

from __future__ import annotations

from pathlib import Path

from neuralens.cnn.depth_verdicts import depth_pairs
from neuralens.core.io import read_json
from neuralens.core.wording import span
from neuralens.report.findings import depth_findings
from neuralens.report.html import figure, paragraph, table

#: published CIFAR-10 test error (%) by depth, as the papers report them (not measured here)
PUBLISHED = [
    ["He et al. 2016, sec. 4.2 (option A; plain errors read off their Figure 6)", "20", "8.75", "about 9.5"],
    ["", "56", "6.97", "about 13.5"],
    ["", "110", "6.43", "above 60 (training error)"],
    ["Li et al. 2018, Table 1 (no-shortcut nets)", "20", "5.89-7.37 (ResNet-20/56/110)", "8.18"],
    ["", "56", "", "13.31"],
    ["", "110", "", "16.44"],
]

WHY = ("He et al. (2016, section 4.2) trained CIFAR nets of 6n+2 layers with and without identity shortcuts: the "
       "plain nets got worse as they got deeper (the degradation problem), the residual nets better. Li et al. "
       "(2018) saw the no-shortcut landscape turn chaotic between 20 and 56 layers, and Yang et al. (2019) showed "
       "that at initialisation the gradient of a batch-normalised plain stack grows about 1.21x per layer "
       "backwards. Below, the same nets (resnetN: option A shortcuts; plainN: the same layers and parameters "
       "without them) measured here; the published numbers are the papers', on the lossless test set.")


def depth_section(folder: Path) -> str | None:
    if not (folder / "depth.json").is_file():
        return None
    result = read_json(folder / "depth.json")
    grads, trained = result["gradients"], result["trained"]
    parts = [paragraph(WHY, "explain"),
             table(["source", "depth", "ResNet test error %", "no shortcut test error %"], PUBLISHED)]
    rows = []
    for depth, (res, plain) in depth_pairs(result["nets"]).items():
        acc = [f"{trained[n]['accuracy']:.4f}" if n in trained else None for n in (res, plain)]
        rows.append([depth, span(grads["with batch norm"][res]["ratios"]),
                     span(grads["with batch norm"][plain]["ratios"]),
                     span(grads["without batch norm"][res]["ratios"]),
                     span(grads["without batch norm"][plain]["ratios"]), *acc])
    parts.append(paragraph(f"Measured here: {result['measure']}, {len(result['seeds'])} seeds "
                           f"({result['images']} images); trained accuracy from "
                           + ("; ".join(f"{n}: {t['source']}" for n, t in trained.items()) or "no trained nets")))
    parts.append(table(["depth", "resnet, BN", "plain, BN", "resnet, no BN", "plain, no BN", "resnet accuracy",
                        "plain accuracy"], rows))
    parts.append("<ul>" + "".join(f"<li>{f.question} <b>{f.verdict}</b></li>" for f in depth_findings(result))
                 + "</ul>")
    for name, caption in (("ratio_vs_depth.png", "first/last block-input gradient at initialisation against depth, "
                                                 "with batch norm (min..max over seeds shaded)"),
                          ("ratio_vs_depth_no_bn.png", "the same without batch norm"),
                          ("profiles.png", "block-input gradient through each net (seed 0), relative to its last "
                                           "block"),
                          ("training.png", "the shipped depth nets' training: loss and test accuracy per epoch"),
                          ("surfaces.png", "the trained nets' loss on a filter-normalised plane around each"),
                          ("short_training.png", "every pair trained with one short recipe")):
        if (folder / name).is_file():
            parts.append(figure(folder / name, caption))
    return "".join(parts)
