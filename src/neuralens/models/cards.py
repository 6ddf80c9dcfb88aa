"""The weights neuralens ships (``--weights neuralens``): per net one safetensors file and one JSON model card.

Like timm's pretrained configs: the card says what the weights are (architecture, width, normalisation, class
names), how they were made (the command, the data files' sha256, seconds, CPU, date) and what they score on the
test set, measured on the stored weights. This module reads cards only (no torch), so the command line can check
a request (``--model vgg16 --weights neuralens``, a conflicting ``--width``) before anything heavy is imported.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from neuralens.core.errors import NeuralensError
from neuralens.core.suggest import did_you_mean

#: the value of ``--weights`` (and ``pretrained=``) that selects the shipped weights
SHIPPED = "neuralens"
#: where the package keeps them; ``$NEURALENS_WEIGHTS_DIR`` points elsewhere (a folder of the same layout)
PRETRAINED_DIR = Path(__file__).with_name("pretrained")
WEIGHTS_DIR_ENV = "NEURALENS_WEIGHTS_DIR"
CARD_KEYS = ("arch", "width", "num_classes", "classes", "normalization", "file", "sha256", "metrics")


def pretrained_dir() -> Path:
    """The folder of shipped weights and cards: the package's own, or ``$NEURALENS_WEIGHTS_DIR``."""
    return Path(os.environ.get(WEIGHTS_DIR_ENV) or PRETRAINED_DIR)


def available() -> list[str]:
    """Architectures with shipped weights (a card and its safetensors file both present)."""
    folder = pretrained_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.json") if p.with_suffix(".safetensors").is_file())


def card_path(arch: str) -> Path:
    return pretrained_dir() / f"{arch}.json"


def read_card(arch: str) -> dict[str, Any]:
    """The model card of ``arch``'s shipped weights; an architecture without them is one line naming those with."""
    names = available()
    if arch not in names:
        hint = did_you_mean(arch, names)
        raise NeuralensError(f"no neuralens weights for {arch!r}{hint}; shipped: {', '.join(names) or 'none'} "
                             "(study other models at initialisation, or give a weights file)")
    try:
        card = json.loads(card_path(arch).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise NeuralensError(f"{card_path(arch)}: unreadable model card ({exc}); reinstall neuralens") from None
    missing = [k for k in CARD_KEYS if k not in card]
    if missing or card.get("arch") != arch:
        raise NeuralensError(f"{card_path(arch)}: model card lacks {', '.join(missing) or 'a matching arch'}")
    return card


def card_width(card: dict[str, Any], width: float | None) -> float:
    """The card's width; a different explicit ``width`` is refused (the weights have the card's shape)."""
    have = float(card["width"])
    if width is not None and not math.isclose(float(width), have):
        raise NeuralensError(f"--width {width:g} conflicts with the neuralens {card['arch']} weights, which are "
                             f"width {have:g}; leave --width out (the card's width is used)")
    return have


def card_normalization(card: dict[str, Any], normalize: str | None) -> str:
    """The card's normalisation name; a different explicit ``--normalize`` is refused."""
    have = str(card["normalization"]["name"])
    if normalize is not None and normalize != have:
        raise NeuralensError(f"--normalize {normalize} conflicts with the neuralens {card['arch']} weights, trained "
                             f"with {have} normalisation; leave --normalize out")
    return have


def check_classes(model_classes: list[str] | None, data_classes: list[str], model: str, data: str) -> None:
    """A model whose recorded classes differ from the data's cannot be scored on it: refuse, listing both."""
    if model_classes is not None and list(model_classes) != list(data_classes):
        raise NeuralensError(f"{model} predicts the classes [{', '.join(model_classes)}] but {data} has "
                             f"[{', '.join(data_classes)}]; give data with the model's classes (--data)")
