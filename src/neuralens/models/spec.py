"""One model spec for every command that studies a classifier, and the weights that go with it: parsed and
checked here without torch, so a typo is answered before anything heavy is imported (building is in
:mod:`neuralens.models.build`).

``--model SPEC``:

* a registry name (``resnet18``, ``vgg16_bn``, ``tv_resnet18``, ...; see :mod:`neuralens.models.zoo`);
* ``hub:OWNER/REPO:ENTRY`` or ``hub:DIR:ENTRY``: a torch.hub entry (with its pretrained weights unless
  ``--weights`` is given);
* ``FILE.py:CALLABLE``: a Python file from the user's own code and a callable in it returning the ``nn.Module``
  (``resnet.py:resnet20``); the file's folder is importable while it loads, so its own imports work.

``--weights``: ``neuralens`` (the weights neuralens ships, see :mod:`neuralens.models.cards`), ``imagenet``
(torchvision's ImageNet weights), a neuralens checkpoint, a bare ``state_dict`` or a wrapped one
(``{'state_dict': ...}``, ``{'net': ...}``, ... found by looking for the dict of tensors), with DataParallel
``module.`` prefixes removed; always read with ``weights_only=True``.

``--normalize``: the mean/std the model was trained with: ``cifar``, ``imagenet``, ``none`` or ``R,G,B/R,G,B``;
by default the shipped weights' own, ``imagenet`` for ``tv_*`` and ``cifar`` for everything else. Every model
built here takes [0, 1] images and normalises them itself (a ``preprocess`` child), so every study feeds all
models the same way.
"""

from __future__ import annotations

import ast
import math
import re
from dataclasses import dataclass
from pathlib import Path

from neuralens.core.errors import NeuralensError
from neuralens.core.files import check_weights_file
from neuralens.core.suggest import did_you_mean
from neuralens.data.constants import CIFAR10_MEAN, CIFAR10_STD, IMAGENET_MEAN, IMAGENET_STD
from neuralens.models.cards import SHIPPED, card_normalization, card_width, read_card
from neuralens.models.zoo import MODELS, is_imagenet_input

NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar": (CIFAR10_MEAN, CIFAR10_STD),
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "none": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),
}
#: width of registry nets studied without weights that say otherwise (small enough for a 2-core CPU)
DEFAULT_WIDTH = 0.25
#: ``--weights`` values that are names, not files
NAMED_WEIGHTS = (SHIPPED, "imagenet")


def parse_normalize(text: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """``cifar`` | ``imagenet`` | ``none`` | ``R,G,B/R,G,B`` -> (mean, std)."""
    if text in NORMALIZATIONS:
        return NORMALIZATIONS[text]
    try:
        mean_text, std_text = text.split("/")
        mean = tuple(float(v) for v in mean_text.split(","))
        std = tuple(float(v) for v in std_text.split(","))
    except ValueError:
        raise NeuralensError(f"--normalize {text!r}{did_you_mean(text, NORMALIZATIONS)}: use cifar, imagenet, none "
                             "or R,G,B/R,G,B (mean/std)") from None
    if len(mean) != 3 or len(std) != 3 or not all(s > 0 for s in std) or not all(map(math.isfinite, mean + std)):
        raise NeuralensError(f"--normalize {text!r}: need three means and three positive stds")
    return mean, std


@dataclass(frozen=True)
class ModelSpec:
    """A parsed ``--model`` value."""

    text: str
    kind: str  # registry | hub | file
    target: str  # registry name, hub repo, or Python file
    entry: str = ""  # hub entry or callable name

    @property
    def slug(self) -> str:
        """A flat, file-name-safe name (``resnet.py:resnet20`` -> ``resnet.py_resnet20``)."""
        base = Path(self.target).name if self.kind == "file" else self.target
        raw = f"{base}_{self.entry}" if self.entry else base
        if self.kind == "hub":
            raw = f"hub_{Path(self.target).name if Path(self.target).is_dir() else self.target}_{self.entry}"
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", raw).strip("_") or "model"

    @property
    def default_normalize(self) -> str:
        return "imagenet" if self.kind == "registry" and is_imagenet_input(self.target) else "cifar"


def module_callables(path: Path) -> list[str]:
    """Public top-level callables of a Python file that build an ``nn.Module``, found by reading (not running) it:
    classes deriving (directly or through the file's own classes) from a ``*Module`` base, and functions that
    return a call of such a class. For the hint when ``FILE.py`` comes without ``:CALLABLE``."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return []
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    modules: set[str] = set()
    changed = True
    while changed:  # a class is a module if one of its bases is nn.Module or another such class of the file
        changed = False
        for name, node in classes.items():
            bases = {ast.unparse(b).rsplit(".", 1)[-1] for b in node.bases}
            if name not in modules and (bases & modules or any(b.endswith("Module") for b in bases)):
                modules.add(name)
                changed = True
    found = [n for n in classes if n in modules]
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            returns = [r.value for r in ast.walk(node) if isinstance(r, ast.Return) and r.value is not None]
            called = {ast.unparse(r.func).rsplit(".", 1)[-1] for r in returns if isinstance(r, ast.Call)}
            if called & modules:
                found.append(node.name)
    return [n for n in found if not n.startswith("_")]


def parse_model_spec(text: str) -> ModelSpec:
    """Check a ``--model`` value's form (and that its file or registry name exists) before any work."""
    if text.startswith("hub:"):
        parts = text.split(":")
        if len(parts) != 3 or not parts[1] or not parts[2]:
            raise NeuralensError(f"--model {text!r}: a hub model is hub:OWNER/REPO:ENTRY or hub:DIR:ENTRY")
        return ModelSpec(text, "hub", parts[1], parts[2])
    if ".py:" in text:
        file, _, entry = text.rpartition(":")
        if not entry.isidentifier():
            raise NeuralensError(f"--model {text!r}: {entry!r} is not a Python name (FILE.py:CALLABLE)")
        if not Path(file).is_file():
            raise NeuralensError(f"--model {text!r}: no such file {file}")
        names = module_callables(Path(file))
        if names and entry not in names and entry not in _defined_names(Path(file)):
            raise NeuralensError(f"--model {text!r}: {file} defines no {entry!r}{did_you_mean(entry, names)}; "
                                 f"callables there that build a module: {', '.join(names)}")
        return ModelSpec(text, "file", file, entry)
    if text.endswith(".py") or Path(text).is_file():
        if not Path(text).is_file():
            raise NeuralensError(f"--model {text!r}: no such file (a model file is given as FILE.py:CALLABLE)")
        names = module_callables(Path(text))
        listed = (f"; it defines {', '.join(names)}, e.g. --model {text}:{names[0]}" if names else
                  "; no callable returning an nn.Module was found in it")
        raise NeuralensError(f"--model {text!r}: say which callable builds the model, as FILE.py:CALLABLE{listed}")
    MODELS.check(text)
    return ModelSpec(text, "registry", text)


def _defined_names(path: Path) -> set[str]:
    """Every top-level name a file defines (functions, classes, assignments): a callable the heuristic of
    :func:`module_callables` missed is still accepted, and its import then decides."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8", errors="replace"))
    except SyntaxError:
        return set()
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    return names


def check_weights(spec: ModelSpec, weights: str | None, width: float | None = None,
                  normalize: str | None = None) -> None:
    """Everything about ``--weights`` that can be known without torch: a named source that fits the spec
    (``neuralens`` for an architecture that has shipped weights, at their width and normalisation; ``imagenet``
    for ``tv_*``), or a file that exists and looks like weights."""
    if not weights:
        return
    if weights == SHIPPED:
        if spec.kind != "registry":
            raise NeuralensError(f"--weights {SHIPPED}: neuralens ships weights for registry models only, not "
                                 f"{spec.text!r}")
        card = read_card(spec.target)
        card_width(card, width)
        card_normalization(card, normalize)
    elif weights == "imagenet":
        if spec.kind != "registry" or not (is_imagenet_input(spec.target) or f"tv_{spec.target}" in MODELS):
            raise NeuralensError(f"--weights imagenet needs a torchvision architecture (tv_vgg16, tv_vgg16_bn, "
                                 f"tv_resnet18, or vgg16/vgg16_bn/resnet18), not {spec.text!r}")
    else:
        check_weights_file(weights)


def resolve_width(spec: ModelSpec, weights: str | None, width: float | None) -> float | None:
    """The width a registry net is built at: the shipped weights' card, else the one given, else
    :data:`DEFAULT_WIDTH`; None for models whose own code fixes their shape (files, hub entries, ``tv_*``).
    A neuralens checkpoint's own width is applied when it is read (:func:`neuralens.models.build.build_model`)."""
    if spec.kind != "registry" or is_imagenet_input(spec.target):
        return None
    if weights == SHIPPED:
        return card_width(read_card(spec.target), width)
    return DEFAULT_WIDTH if width is None else width


def pair_weights(models: list[str], weights: list[str]) -> list[str]:
    """One ``--weights`` entry per model: as given (empty entries: at initialisation), or one named source
    (``neuralens``, ``imagenet``) for all; anything else is one line. The one place this rule lives."""
    if not models:
        raise NeuralensError("--models: give at least one model (e.g. --models vgg16_bn,resnet18)")
    if not weights:
        return [""] * len(models)
    if len(weights) == 1 and len(models) > 1 and weights[0] in NAMED_WEIGHTS:
        return weights * len(models)
    if len(weights) != len(models):
        raise NeuralensError(f"--weights: give one per model ({len(models)}), or one of {', '.join(NAMED_WEIGHTS)} "
                             f"for all; got {len(weights)}")
    return weights


def check_models(models: list[str], weights: list[str], width: float | None, normalize: str | None
                 ) -> list[tuple[ModelSpec, str]]:
    """Parse every ``--model`` and check its weights, before any work: [(spec, weights or "")]."""
    if normalize:
        parse_normalize(normalize)
    specs = [parse_model_spec(m) for m in models]
    pairs = list(zip(specs, pair_weights(models, weights)))
    for spec, w in pairs:
        check_weights(spec, w or None, width, normalize)
    return pairs
