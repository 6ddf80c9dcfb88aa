"""Stochastic weight averaging (SWA) for the classifier trainer: the weights at the end of the last epochs are
averaged, and BatchNorm statistics are recomputed for the averaged weights.

Why: SGD at a constant (or slowly falling) learning rate circles the bottom of a wide basin; the mean of its
iterates lies nearer the centre, which generalises better than any single iterate (Izmailov et al. 2018). The
running BatchNorm statistics of the iterates do not describe the averaged weights, so one pass over augmented
training images (momentum ``None``: an exact mean over the pass) replaces them.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, update_bn

from neuralens.data.cifar import augment_batch


def training_batches(x: torch.Tensor, seed: int, pad: int, batch_size: int, device: torch.device,
                     memory_format: torch.memory_format) -> Iterator[torch.Tensor]:
    """The training images once, in stored order, with the recipe's augmentation from one seeded generator."""
    generator = torch.Generator().manual_seed(seed)
    for i in range(0, len(x), batch_size):
        yield augment_batch(x[i:i + batch_size], generator, pad=pad).to(device).contiguous(memory_format=memory_format)


@torch.no_grad()
def adopt_average(model: nn.Module, average: AveragedModel, batches: Iterator[torch.Tensor]) -> None:
    """Copy the averaged parameters into ``model`` and recompute its BatchNorm statistics on ``batches``."""
    for p, q in zip(model.parameters(), average.module.parameters()):
        p.copy_(q)
    update_bn(batches, model)
