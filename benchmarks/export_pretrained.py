"""Export the finished runs of ``benchmarks/pretrained.sh`` as the package's shipped weights and model cards.

    python benchmarks/export_pretrained.py [--runs runs/pretrained] [--suffix _ft] [--archs A,B]
        [--data ../shared/data/cifar10]

Each ``RUNS/ARCH{SUFFIX}`` (with metrics.json: finished) becomes
``src/neuralens/models/pretrained/ARCH.safetensors`` and
``ARCH.json``; the card is measured on the stored weights (see ``neuralens.models.shipping``).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

from neuralens.data.cifar import load_image_data
from neuralens.models.cards import PRETRAINED_DIR, read_card
from neuralens.models.recipe import TrainConfig
from neuralens.models.shipping import export_shipped

ARCHS = ("resnet18", "plain18", "vgg16_bn", "resnet20", "plain20", "resnet56", "plain56")


def stages(run: Path) -> list[Path]:
    """The run and the runs it continued (``--pretrained EARLIER/model.pt``), first stage first; a chain that
    starts from the shipped weights (``--pretrained neuralens``) continues in their card (``shipped_start``)."""
    chain = [run]
    while True:
        start = json.loads((chain[0] / "config.json").read_text())["args"].get("pretrained")
        if not start or not (Path(start).parent / "config.json").is_file():
            return chain
        chain.insert(0, Path(start).parent)


def shipped_start(arch: str) -> tuple[str, list[dict[str, float]], str]:
    """What ``--pretrained neuralens`` started from: the card shipped before this export, as its command, its
    per-epoch history (the card keeps one total of seconds: carried on its first epoch, so sums stay right) and a
    note naming the weights by sha256 (after this export "neuralens" means the new ones)."""
    card = read_card(arch)
    t = card["training"]
    history = [{"test_acc": a, "seconds": t["seconds"] if i == 0 else 0.0}
               for i, a in enumerate(t["test_accuracy_per_epoch"])]
    return t["command"], history, (f"--pretrained neuralens = the weights shipped before (sha256 {card['sha256']}), "
                                   f"whose card said: {t['note']}")


def command_of(run: Path, arch: str, data: str) -> str:
    """The ``neuralens train`` command that made ``run``, from its recorded arguments (options left at their
    defaults are not spelled out)."""
    a = json.loads((run / "config.json").read_text())["args"]
    extra = "".join(f" --{k.replace('_', '-')} {a[k]:g}" if isinstance(a[k], float) else
                    f" --{k.replace('_', '-')} {a[k]}" for k in ("lr", "schedule", "swa_epochs", "pretrained")
                    if a.get(k) is not None and a[k] != getattr(TrainConfig, k))
    out = os.path.relpath(run, Path(__file__).resolve().parents[1])  # as typed in the repository
    return f"neuralens train --model {arch} --width {a['width']:g} --epochs {a['epochs']} --seed {a['seed']}{extra} " \
           f"--data {data} --out {out}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="runs/pretrained")
    ap.add_argument("--suffix", default="", help="run folders RUNS/ARCH+SUFFIX (e.g. _ft: a run continued from "
                    "RUNS/ARCH with --pretrained); the card's command and history cover every stage")
    ap.add_argument("--data", default="../shared/data/cifar10")
    ap.add_argument("--archs", default=",".join(ARCHS), help="which nets to export (comma-separated)")
    ap.add_argument("--note", default="", help="how the run went (e.g. shared CPU), recorded in the card")
    ap.add_argument("--threads", type=int, default=None,
                    help="the training's CPU threads, for runs whose checkpoint predates recording them")
    args = ap.parse_args()
    data = load_image_data(args.data)
    files = sorted(Path(args.data).glob("*.npz"))
    for arch in args.archs.split(","):
        run = Path(args.runs) / f"{arch}{args.suffix}"
        if not (run / "metrics.json").is_file():
            print(f"{arch}: not finished ({run})")
            continue
        chain = stages(run)
        commands = [command_of(r, arch, args.data) for r in chain]  # as the runs were made
        earlier = [h for r in chain[:-1] for h in json.loads((r / "metrics.json").read_text())["history"]]
        note = args.note
        if json.loads((chain[0] / "config.json").read_text())["args"].get("pretrained") == "neuralens":
            command, history, named = shipped_start(arch)
            commands, earlier, note = [command, *commands], history + earlier, f"{note}; {named}".lstrip("; ")
        card = export_shipped(run, data, PRETRAINED_DIR, " && ".join(commands), files, note, earlier, args.threads)
        m = card["metrics"]
        print(f"{arch}: accuracy {m['accuracy']:.4f} (float32 {m['accuracy_float32']:.4f}), loss {m['loss']:.4f}, "
              f"{card['bytes'] / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
