"""What a demo run is, as typed settings the command line and Python callers both build; free of torch so
``neuralens demo`` checks its arguments before torch is imported."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from neuralens.core.errors import NeuralensError
from neuralens.core.suggest import did_you_mean
from neuralens.models.spec import check_models

#: the demo's steps in order: name -> what the step does (each writes OUT/<name>/ and a done.json)
STEP_TITLES: dict[str, str] = {
    "cnn": "CNNs: the pretrained nets (or the user's) predict",
    "gradflow": "gradient flow",
    "depth": "the shortcut question by depth: resnetN vs plainN",
    "landscape": "loss landscapes and the VGG/ResNet comparison",
    "deform": "deformable convolution: check, speed, experiment, figures",
    "nerf": "tiny NeRF: sampling, baseline vs improved, orbit video, another scene",
}


@dataclass
class DemoConfig:
    """Everything ``neuralens demo`` takes; :meth:`check` refuses impossible settings before any work."""

    out: Path = Path("runs/demo")
    quick: bool = False
    force: bool = False
    seed: int = 0
    data_root: str | None = None
    device: str = "auto"
    only: tuple[str, ...] = ()
    models: tuple[str, ...] = ()  # two user model specs to study instead of the shipped nets
    weights: tuple[str, ...] = ()  # their weights, one per model ("" for none), or one named source for both
    normalize: str | None = None
    offline: bool = False
    train: bool = False  # train VGG16-BN and ResNet18 from scratch instead of studying the shipped weights

    def check(self) -> None:
        unknown = [s for s in self.only if s not in STEP_TITLES]
        if unknown:
            raise NeuralensError(f"--only: unknown step {unknown[0]!r}{did_you_mean(unknown[0], STEP_TITLES)}; "
                                 f"steps: {', '.join(STEP_TITLES)}")
        if self.models:
            if len(self.models) != 2:
                raise NeuralensError(f"--models: give two model specs to compare, got {len(self.models)}")
            if self.train:
                raise NeuralensError("--train trains the demo's own nets; it cannot be combined with --models")
            pairs = check_models(list(self.models), list(self.weights), None, self.normalize)
            self.weights = tuple(w for _, w in pairs)
        elif self.weights or self.normalize:
            raise NeuralensError("--weights/--normalize describe --models; give the two models too")
