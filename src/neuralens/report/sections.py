"""Report sections, one per study; every number shown is read from the run folder."""

from __future__ import annotations

from pathlib import Path

from neuralens.io import read_json
from neuralens.report.builder import section
from neuralens.report.html import figure, paragraph, table


@section("cnn", "CNNs on CIFAR-10: training and predictions")
def cnn_section(folder: Path) -> str | None:
    summary = read_json(folder / "summary.json") if (folder / "summary.json").is_file() else None
    if summary is None:
        return None
    parts = [paragraph(f"Data: {summary['data']}. Models trained briefly from scratch on the CPU; the point is "
                       "to feed data through them and show what they predict, not to reach published accuracy.")]
    rows = [[m["model"], m["width"], m["epochs"], m["train_images"], m["accuracy"], m["loss"], m["seconds"]]
            for m in summary["models"]]
    parts.append(table(["model", "width", "epochs", "train images", "test accuracy", "test loss", "train s"], rows))
    for m in summary["models"]:
        d = folder / m["model"]
        parts.append(figure(d / "history.png", f"{m['model']}: loss and accuracy per epoch"))
        parts.append(figure(d / "eval" / "predictions.png",
                            f"{m['model']}: test images with predicted (true) labels; green = correct"))
        parts.append(figure(d / "eval" / "confusion.png", f"{m['model']}: confusion matrix on the test set"))
    return "".join(parts)
