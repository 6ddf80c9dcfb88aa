"""The deformable layer as used inside a network: it predicts its own offsets (and DCNv2 mask) from its input."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from neuralens.core.errors import NeuralensError
from neuralens.ops.deform_conv import DeformConv2d, sampling_locations


class DeformableConv2d(DeformConv2d):
    """A :class:`DeformConv2d` that owns its offset predictor (and, if ``modulated``, the DCNv2 mask predictor).

    The predictor ``offset_conv`` is an ordinary conv with the same kernel, stride, padding and dilation as the
    deformable conv, producing ``2 * offset_groups * kh * kw`` channels (one (dy, dx) pair per tap, per output
    pixel, per offset group) plus ``offset_groups * kh * kw`` mask channels when modulated. It is
    zero-initialised, so training starts from a plain convolution (modulated: masks start at sigmoid(0) = 0.5,
    as in DCNv2). ``forward(x)`` takes only the input. After each forward, ``last_offset`` and ``last_mask`` hold
    the (detached) predictions for visualisation.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, offset_groups: int = 1,
                 bias: bool = True, modulated: bool = False) -> None:
        if in_channels % offset_groups:
            raise NeuralensError(f"DeformableConv2d: in_channels {in_channels} not divisible by "
                                 f"offset_groups={offset_groups}")
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias)
        self.offset_groups, self.modulated = offset_groups, modulated
        kh, kw = self.kernel_size
        n_pred = (3 if modulated else 2) * offset_groups * kh * kw
        self.offset_conv = nn.Conv2d(in_channels, n_pred, self.kernel_size, self.stride, self.padding,
                                     self.dilation, bias=True)
        nn.init.zeros_(self.offset_conv.weight)
        nn.init.zeros_(self.offset_conv.bias)
        self.last_offset: Tensor | None = None
        self.last_mask: Tensor | None = None

    def forward(self, x: Tensor) -> Tensor:  # type: ignore[override]  (offsets come from inside)
        pred = self.offset_conv(x)
        n_off = 2 * self.offset_groups * self.kernel_size[0] * self.kernel_size[1]
        offset = pred[:, :n_off]
        mask = torch.sigmoid(pred[:, n_off:]) if self.modulated else None
        self.last_offset = offset.detach()
        self.last_mask = mask.detach() if mask is not None else None
        return super().forward(x, offset, mask)

    def sampling_locations(self) -> Tensor:
        """(N, G, kh*kw, H_out, W_out, 2) input coordinates (y, x) of the last forward's samples."""
        if self.last_offset is None:
            raise NeuralensError("DeformableConv2d.sampling_locations: run a forward pass first")
        return sampling_locations(self.last_offset, self.kernel_size, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, offset_groups={self.offset_groups}, modulated={self.modulated}"
