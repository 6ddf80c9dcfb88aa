"""Radiance fields: ``field(points (..., 3), viewdirs (..., 3) | None) -> (sigma (...), rgb (..., 3))``.

Fields only map points to density and colour; samplers and rendering live elsewhere, so a field can be swapped
without touching them. :data:`FIELDS` names them for configs and checkpoints.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from neuralens.core.registry import Registry
from neuralens.nerf.grid_field import VMField
from neuralens.nerf.mlp_field import TinyNeRF

#: each field with what it can do: ``mlp_trunk`` (takes --width/--depth), ``scene_box`` (a grid over the renderer's
#: box: takes ``bound``), ``matmul_bound`` (its time goes to matrix products, which ``precision="auto"`` runs in
#: bf16 where the hardware has it: lego, 300 steps, AVX-512-BF16 CPU: tiny 2.2x faster, the grid field's lookups
#: only 5%; BENCHMARKS.md); code asks these, never the field's name
FIELDS: Registry[Callable[..., nn.Module]] = Registry("NeRF field")
FIELDS.register("tiny", TinyNeRF, mlp_trunk=True, scene_box=False, matmul_bound=True)
FIELDS.register("vm", VMField, mlp_trunk=False, scene_box=True, matmul_bound=False)


def create_field(name: str, **kw: Any) -> nn.Module:
    """Build a registered field (``tiny``, ``vm``) with keyword overrides of its defaults."""
    return FIELDS.get(name)(**kw)


def density_fn(net: nn.Module) -> Callable[[Tensor], Tensor]:
    """sigma(x) of a field: its own ``density`` method, or its forward with dummy view directions."""
    if hasattr(net, "density"):
        return net.density
    return lambda x: net(x, torch.zeros_like(x))[0]
