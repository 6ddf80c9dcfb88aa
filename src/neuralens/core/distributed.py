"""One command over several processes (``torchrun``): who this process is, and the sums the CNN study shares.

Outside torchrun every function here is the identity, so a one-process run is unchanged. On CPUs the processes
talk through gloo, on GPUs through NCCL. Batch norm over the processes' shards is :class:`GlobalBatchNorm2d`
(torch's SyncBatchNorm runs on GPUs only): every process normalises with the statistics of the whole global batch,
so the processes together compute what one process computes on that batch.
"""

from __future__ import annotations

import atexit
import os
from typing import Any

import torch
from torch import Tensor, nn


def in_distributed_run() -> bool:
    """Started by torchrun with more than one process."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def world() -> tuple[int, int]:
    """(rank, number of processes), joining the process group on first use; (0, 1) outside torchrun.

    The process leaves the group when the interpreter exits but before it finalizes: a gloo group still alive
    at finalization has its worker threads torn down under it and aborts the process (SIGABRT, "terminate called
    without an active exception") in a quarter to a half of the runs measured, after the work is done."""
    if not in_distributed_run():
        return 0, 1
    import torch.distributed as dist  # lazy: only torchrun runs need the distributed package

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        atexit.register(_leave)
    return dist.get_rank(), dist.get_world_size()


def _leave() -> None:
    """Destroy the default process group unless the caller already has."""
    import torch.distributed as dist  # lazy: only torchrun runs need the distributed package

    if dist.is_initialized():
        dist.destroy_process_group()


def is_rank0() -> bool:
    """True outside torchrun and on its rank 0: the one process that writes the run folder."""
    return not in_distributed_run() or int(os.environ.get("RANK", "0")) == 0


def all_reduce_sum(t: Tensor) -> Tensor:
    """``t`` summed over the processes, in place (unchanged outside torchrun)."""
    if in_distributed_run():
        import torch.distributed as dist  # lazy: only torchrun runs need the distributed package

        world()
        dist.all_reduce(t)
    return t


class _SumOverProcesses(torch.autograd.Function):
    """All-reduce (sum) whose backward all-reduces the gradient: every process's loss reaches every input."""

    @staticmethod
    def forward(ctx: Any, t: Tensor) -> Tensor:
        return all_reduce_sum(t.clone())

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> Tensor:
        return all_reduce_sum(grad.clone())


class GlobalBatchNorm2d(nn.BatchNorm2d):
    """BatchNorm2d whose training statistics are those of the global batch: per-channel sums and sums of squares
    summed over the processes by a differentiable all-reduce (its backward sums the gradients of the statistics
    as well, so every process back-propagates the whole batch's loss through them). Evaluation and the running
    statistics are BatchNorm2d's; the state_dict keys are too."""

    def forward(self, x: Tensor) -> Tensor:
        if not (self.training and in_distributed_run()):
            return super().forward(x)
        xf = x.float()
        c = xf.shape[1]
        local = torch.cat([xf.sum((0, 2, 3)), (xf * xf).sum((0, 2, 3)),
                           torch.tensor([xf.numel() / c], dtype=xf.dtype, device=xf.device)])
        total = _SumOverProcesses.apply(local)
        n = total[-1]
        mean = total[:c] / n
        var = (total[c:2 * c] / n - mean * mean).clamp_min(0)
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - m).add_(m * mean.detach())
            self.running_var.mul_(1 - m).add_(m * var.detach() * n / (n - 1).clamp_min(1))
        out = (xf - mean[None, :, None, None]) * torch.rsqrt(var + self.eps)[None, :, None, None]
        return out * self.weight[None, :, None, None] + self.bias[None, :, None, None]


def globalize_batchnorm(model: nn.Module) -> nn.Module:
    """``model`` with every BatchNorm2d turned into a :class:`GlobalBatchNorm2d` in place (same parameters and
    buffers, so checkpoints keep their keys and load into the plain model)."""
    for module in model.modules():
        if type(module) is nn.BatchNorm2d and module.affine and module.track_running_stats:
            module.__class__ = GlobalBatchNorm2d
    return model
