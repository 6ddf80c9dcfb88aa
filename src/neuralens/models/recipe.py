"""The classifier training recipe as a settings dataclass, free of torch so the command line can declare and
check its options before torch is imported (the loop itself is :mod:`neuralens.models.train`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from neuralens.core.cliargs import (
    PRECISIONS,
    device_name,
    nonneg_float,
    nonneg_int,
    option,
    positive_float,
    positive_int,
    width_multiplier,
)
from neuralens.core.errors import NeuralensError
from neuralens.models.zoo import list_models

SCHEDULES = ("one-cycle", "constant")


@dataclass
class TrainConfig:
    """The training recipe; every field with help text is also a ``neuralens train`` option."""

    model: str = option("resnet18", f"architecture: {', '.join(list_models())}")
    width: float = option(0.25, "channel width multiplier (<= 8)", type=width_multiplier)
    epochs: int = option(5, "passes over the training set", type=positive_int)
    batch_size: int = option(128, "images per step (128 beat 256 at 10 epochs: more steps)", type=positive_int)
    lr: float = option(0.2, "peak LR of the one-cycle schedule (the constant LR of --schedule constant)",
                       type=positive_float)
    schedule: str = option("one-cycle", "one-cycle: warm up over 20%% of the steps, then decay linearly to 0; "
                                        "constant: --lr throughout (the usual companion of --swa-epochs)",
                           choices=SCHEDULES)
    swa_epochs: int = option(0, "average the weights at the end of each of the last N epochs (stochastic weight "
                                "averaging) and recompute BatchNorm statistics on the training images; 0 = off",
                             type=nonneg_int)
    momentum: float = 0.9
    weight_decay: float = option(5e-4, "L2 on conv/linear weights", type=nonneg_float)
    label_smoothing: float = option(0.2, "cross-entropy label smoothing in [0, 1)", type=nonneg_float)
    crop_pad: int = option(2, "random-crop padding in pixels (2 beat 4 for a 10-epoch budget)", type=nonneg_int)
    seed: int = option(0, "seed for every random choice", type=nonneg_int)
    channels_last: bool = option(True, "store activations NCHW-contiguous instead of channels_last (slower on "
                                       "CPUs)", flag="--no-channels-last", action="store_false")
    precision: str = option("auto", "autocast dtype of the training step; auto = bf16 where the CPU/GPU has it "
                                    "natively (evaluation stays float32)", choices=PRECISIONS)
    device: str = option("auto", "auto | cpu | cuda[:N]", type=device_name)
    steps_per_epoch: int | None = option(None, "cap steps per epoch (quick runs)", type=positive_int)
    snapshots: bool = option(False, "keep the weights after every epoch (and at initialisation) in half precision "
                                    "under OUT/snapshots/, for `landscape --trajectory OUT`", flag="--snapshots",
                             action="store_true")
    pretrained: str | None = option(None, "start from these weights: neuralens | imagenet | checkpoint.pt | "
                                          "hub:REPO:ENTRY (default: random initialisation)")
    data: str = "auto"
    #: configuration keys a resumed run must share with its checkpoint
    resume_keys: tuple[str, ...] = field(default=("model", "width", "batch_size", "epochs", "seed", "schedule",
                                                  "swa_epochs"), repr=False)

    def __post_init__(self) -> None:
        """Reject impossible recipes before anything is written."""
        if self.crop_pad < 0 or self.weight_decay < 0 or not 0 <= self.label_smoothing < 1:
            raise NeuralensError(f"need crop_pad >= 0, weight_decay >= 0 and 0 <= label_smoothing < 1; got "
                                 f"{self.crop_pad}, {self.weight_decay}, {self.label_smoothing}")
        if self.swa_epochs > self.epochs:
            raise NeuralensError(f"--swa-epochs {self.swa_epochs} exceeds --epochs {self.epochs}; average at most "
                                 "every epoch of the run")


