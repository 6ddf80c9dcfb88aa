"""The optimiser's path on the loss landscape (Li et al. 2018, section 7).

A ``neuralens train --snapshots`` run keeps the weights at initialisation and after every epoch. The plane is
spanned by the first two principal directions of the matrix whose rows are theta_i - theta_final (conv/linear
weights, as in the landscape's parameter space; uncentred, as Li et al. do); the path is each snapshot projected on
them, and the loss is evaluated on a grid around the final weights, each axis as wide as the path goes along it.
BatchNorm statistics follow the weights: their own snapshots (variances as logarithms) are regressed on the path's
two coordinates, so every grid point carries the statistics the path would have there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from neuralens.cnn.hessian import perturbed
from neuralens.core.checkpoint import load_checkpoint
from neuralens.core.errors import NeuralensError
from neuralens.models.checkpoint import model_from_checkpoint
from neuralens.models.weights import read_safetensors


@dataclass
class Trajectory:
    model: nn.Module  # the final weights (the run's model.pt)
    snapshots: list[dict[str, Tensor]]  # state_dicts, initialisation first
    epochs: list[int]
    run_dir: Path


def load_trajectory(run_dir: str | Path) -> Trajectory:
    """The final model and the snapshots of a ``train --snapshots`` run folder."""
    run_dir = Path(run_dir)
    files = sorted((run_dir / "snapshots").glob("epoch_*.safetensors"))
    if len(files) < 3:
        raise NeuralensError(f"{run_dir}: needs at least 3 snapshots (snapshots/epoch_NNN.safetensors) for a "
                             f"trajectory plane, found {len(files)}; train with --snapshots for 2+ epochs")
    model = model_from_checkpoint(load_checkpoint(run_dir / "model.pt", kind="classifier"), run_dir / "model.pt")
    return Trajectory(model.eval(), [read_safetensors(f) for f in files], [int(f.stem.split("_")[1]) for f in files],
                      run_dir)


def _flat(state: dict[str, Tensor], names: list[str]) -> Tensor:
    return torch.cat([state[n].double().reshape(-1) for n in names])


def pca_plane(traj: Trajectory) -> dict[str, Any]:
    """The two principal directions of theta_i - theta_final, their explained variance, the path's coordinates
    and the BN-statistic directions (least squares on the coordinates)."""
    final = {k: v.detach() for k, v in traj.model.state_dict().items()}
    names = [n for n, p in traj.model.named_parameters() if perturbed(n, p)]
    end = _flat(final, names)
    m = torch.stack([_flat(s, names) - end for s in traj.snapshots])  # (snapshots, D)
    _, sing, vh = torch.linalg.svd(m, full_matrices=False)
    total = float((sing ** 2).sum())
    directions = vh[:2]  # unit vectors in weight space
    coords = m @ directions.T  # (snapshots, 2)
    buffers = [k for k, v in final.items() if v.is_floating_point() and k not in names and
               not k.startswith("preprocess.") and k not in dict(traj.model.named_parameters())]
    pinv = torch.linalg.pinv(coords)  # (2, snapshots)
    buffer_dirs = {}
    for k in buffers:
        log = k.endswith("running_var")  # variances are regressed in log space (see evaluate_points)
        f = final[k].double().reshape(-1)
        f = f.clamp_min(1e-12).log() if log else f
        y = torch.stack([(s[k].double().reshape(-1).clamp_min(1e-12).log() if log else s[k].double().reshape(-1)) - f
                         for s in traj.snapshots])
        b = pinv @ y  # (2, numel)
        buffer_dirs[k] = (b[0].view_as(final[k]), b[1].view_as(final[k]))
    return {"names": names, "directions": directions, "coords": coords.numpy(),
            "explained_variance": [float(v) / total for v in (sing[:2] ** 2)] if total > 0 else [0.0, 0.0],
            "buffer_dirs": buffer_dirs}


def _per_parameter(model: nn.Module, names: list[str], vector: Tensor) -> list[Tensor]:
    """A flat weight-space vector as one tensor per parameter (zeros for the unperturbed ones)."""
    out, i = [], 0
    for n, p in model.named_parameters():
        if n in names:
            out.append(vector[i:i + p.numel()].view_as(p).to(p.device, p.dtype))
            i += p.numel()
        else:
            out.append(torch.zeros_like(p))
    return out


def plane_directions(traj: Trajectory, plane: dict[str, Any]) -> tuple[list[Tensor], list[Tensor]]:
    d1 = _per_parameter(traj.model, plane["names"], plane["directions"][0])
    d2 = _per_parameter(traj.model, plane["names"], plane["directions"][1])
    return d1, d2


def grid_extent(coords: np.ndarray, margin: float = 1.25) -> tuple[float, float]:
    """Half-widths (alpha, beta) of a grid centred on the final weights that holds the whole path with a margin:
    each axis as wide as the path goes along it (the second PCA direction is usually far shorter)."""
    return tuple(float(np.abs(coords[:, k]).max() * margin) or 1.0 for k in range(2))  # type: ignore[return-value]
