"""Deformable convolution (DCNv1, and DCNv2 with a mask) in plain PyTorch: any device, exact gradients.

Layouts are torchvision's, so weights and offsets can be exchanged with ``torchvision.ops.deform_conv2d``:

* ``input``  (N, C_in, H, W)
* ``offset`` (N, 2 * G * kh * kw, H_out, W_out), channel ``g*2*kh*kw + 2*(i*kw + j) + {0: dy, 1: dx}``
* ``weight`` (C_out, C_in / groups, kh, kw)
* ``mask``   (N, G * kh * kw, H_out, W_out), channel ``g*kh*kw + i*kw + j`` (multiplies the sample as given)

Tap (i, j) of output pixel (oy, ox) samples the input bilinearly at
``y = oy*stride_h - pad_h + i*dil_h + dy``, ``x = ox*stride_w - pad_w + j*dil_w + dx``; bilinear corners outside
the image count as zero. ``G`` (offset groups) and ``groups`` (weight groups) are read off the tensor shapes.

Why a hand-written backward: autograd through four gathers would keep four copies of the sampled columns
alive until backward. :class:`_DeformConv2dFn` keeps only its inputs and recomputes the samples chunk by chunk,
so memory stays bounded by the chunk size and the columns are never stored across forward and backward.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.modules.utils import _pair

from neuralens.core.errors import NeuralensError


@dataclass(frozen=True)
class _Geometry:
    n: int
    c_in: int
    h: int
    w: int
    c_out: int
    kh: int
    kw: int
    groups: int
    offset_groups: int
    h_out: int
    w_out: int
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]

    @property
    def k(self) -> int:
        return self.kh * self.kw

    @property
    def p(self) -> int:
        return self.h_out * self.w_out


#: the largest chunk of columns (samples gathered for the matmul); bounds forward and backward working memory
DEFAULT_CHUNK_BYTES = 4 * 2**20
#: the smallest automatic chunk: below it the ~50 small tensor ops per chunk cost more than the work they do
MIN_CHUNK_BYTES = 2**20


def auto_chunk_bytes(g: _Geometry, itemsize: int) -> int:
    """A quarter of the whole column matrix, within [MIN_CHUNK_BYTES, DEFAULT_CHUNK_BYTES].

    The backward keeps three chunk-sized buffers; torchvision's kernel keeps about one whole column matrix
    (for up to 64 images). A quarter keeps our three buffers below that on small inputs, and the cap keeps
    large inputs bounded.
    """
    total = g.n * g.p * g.k * g.c_in * itemsize
    return min(DEFAULT_CHUNK_BYTES, max(MIN_CHUNK_BYTES, total // 4))


def _check(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
           stride: tuple[int, int], padding: tuple[int, int], dilation: tuple[int, int]) -> _Geometry:
    """Validate shapes the way torchvision does, but with messages that say what was expected."""
    for name, t in (("input", input), ("offset", offset), ("weight", weight), ("bias", bias), ("mask", mask)):
        if t is not None and not t.is_floating_point():
            raise NeuralensError(f"deform_conv2d: {name} must be a floating-point tensor, got {t.dtype}")
        if t is not None and name not in ("bias", "mask") and t.dim() != 4:
            raise NeuralensError(f"deform_conv2d: {name} must be 4-D, got shape {tuple(t.shape)}")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise NeuralensError(f"deform_conv2d: need stride >= 1, dilation >= 1, padding >= 0; got "
                             f"{stride}, {dilation}, {padding}")
    n, c_in, h, w = input.shape
    c_out, c_per_group, kh, kw = weight.shape
    if c_per_group == 0 or c_in % c_per_group:
        raise NeuralensError(f"deform_conv2d: input channels {c_in} not divisible by weight.shape[1]={c_per_group}")
    groups = c_in // c_per_group
    if c_out % groups:
        raise NeuralensError(f"deform_conv2d: out channels {c_out} not divisible by groups={groups}")
    taps = kh * kw
    if offset.shape[1] == 0 or offset.shape[1] % (2 * taps):
        raise NeuralensError(f"deform_conv2d: offset has {offset.shape[1]} channels; expected a multiple of "
                             f"2*kh*kw = {2 * taps} (one (dy, dx) pair per kernel tap per offset group)")
    g = offset.shape[1] // (2 * taps)
    if c_in % g:
        raise NeuralensError(f"deform_conv2d: input channels {c_in} not divisible by offset groups {g}")
    h_out = (h + 2 * padding[0] - dilation[0] * (kh - 1) - 1) // stride[0] + 1
    w_out = (w + 2 * padding[1] - dilation[1] * (kw - 1) - 1) // stride[1] + 1
    if h_out < 1 or w_out < 1:
        raise NeuralensError(f"deform_conv2d: output would be empty ({h_out}x{w_out}) for a {h}x{w} input")
    if offset.shape[0] != n or offset.shape[2:] != (h_out, w_out):
        raise NeuralensError(f"deform_conv2d: offset must be (N={n}, {2 * g * taps}, {h_out}, {w_out}), "
                             f"got {tuple(offset.shape)}")
    if mask is not None and tuple(mask.shape) != (n, g * taps, h_out, w_out):
        raise NeuralensError(f"deform_conv2d: mask must be (N={n}, G*kh*kw={g * taps}, {h_out}, {w_out}), "
                             f"got {tuple(mask.shape)}")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise NeuralensError(f"deform_conv2d: bias must have shape ({c_out},), got {tuple(bias.shape)}")
    return _Geometry(n, c_in, h, w, c_out, kh, kw, groups, g, h_out, w_out, stride, padding, dilation)


def sampling_locations(offset: Tensor, kernel_size: tuple[int, int], stride: tuple[int, int] = (1, 1),
                       padding: tuple[int, int] = (0, 0), dilation: tuple[int, int] = (1, 1),
                       first_row: int = 0) -> Tensor:
    """Absolute (y, x) input coordinates sampled by every tap: shape (N, G, kh*kw, H_out, W_out, 2).

    ``first_row`` is the output row of ``offset[..., 0, :]`` (for row chunks of a larger output).
    """
    n, ch, h_out, w_out = offset.shape
    kh, kw = kernel_size
    g = ch // (2 * kh * kw)
    dev, dt = offset.device, offset.dtype
    oy = (torch.arange(h_out, device=dev, dtype=dt) + first_row) * stride[0] - padding[0]
    ox = torch.arange(w_out, device=dev, dtype=dt) * stride[1] - padding[1]
    ty = (torch.arange(kh, device=dev, dtype=dt) * dilation[0]).repeat_interleave(kw)
    tx = (torch.arange(kw, device=dev, dtype=dt) * dilation[1]).repeat(kh)
    base_y = ty[:, None, None] + oy[None, :, None]  # (K, H_out, 1)
    base_x = tx[:, None, None] + ox[None, None, :]  # (K, 1, W_out)
    off = offset.view(n, g, kh * kw, 2, h_out, w_out)
    return torch.stack((base_y + off[:, :, :, 0], base_x + off[:, :, :, 1]), dim=-1)


@dataclass(frozen=True)
class _Chunk:
    """Images ``a:b`` and output rows ``r0:r1`` of one working set."""

    a: int
    b: int
    r0: int
    r1: int
    w_out: int

    @property
    def n(self) -> int:
        return self.b - self.a

    @property
    def p(self) -> int:
        return (self.r1 - self.r0) * self.w_out

    def of(self, t: Tensor) -> Tensor:
        """This chunk's slice of an (N, ch, H_out, W_out) tensor."""
        return t[self.a:self.b, :, self.r0:self.r1]


def _chunks(g: _Geometry, itemsize: int, chunk_bytes: int) -> list[_Chunk]:
    """Whole images while they fit in ``chunk_bytes`` of columns, else blocks of output rows of one image."""
    per_row = g.w_out * g.k * g.c_in * itemsize
    per_image = per_row * g.h_out
    if per_image <= chunk_bytes:
        step = max(1, min(g.n, chunk_bytes // per_image))
        return [_Chunk(a, min(g.n, a + step), 0, g.h_out, g.w_out) for a in range(0, g.n, step)]
    rows = max(1, chunk_bytes // per_row)
    return [_Chunk(a, a + 1, r, min(g.h_out, r + rows), g.w_out) for a in range(g.n) for r in range(0, g.h_out, rows)]


def _outside_if_not_finite(coord: Tensor, size: int) -> Tensor:
    """Coordinates clamped to [-2, size + 1]: beyond that every bilinear corner is outside and weighs 0 anyway,
    and NaN/inf offsets then sample zero (as torchvision's kernel does for inf) instead of making NaN or an
    out-of-range index."""
    return coord.nan_to_num(nan=-2.0).clamp(-2.0, size + 1.0).contiguous()


class _Corners:
    """Flat gather indices and bilinear weights of the 4 neighbours of every sample point of one chunk.

    Points are ordered (n, g, p, k) so gathered rows form the im2col matrix without a transpose when
    G = groups = 1. ``dwy``/``dwx`` are the derivatives of the weights w.r.t. y and x (for the offset gradient).
    """

    def __init__(self, offset: Tensor, g: _Geometry, c: _Chunk) -> None:
        loc = sampling_locations(c.of(offset), (g.kh, g.kw), g.stride, g.padding, g.dilation, first_row=c.r0)
        # loc: (n, G, K, rows, W_out, 2) -> y, x: (n, G, P, K)
        y = _outside_if_not_finite(loc[..., 0].flatten(3).transpose(2, 3), g.h)
        x = _outside_if_not_finite(loc[..., 1].flatten(3).transpose(2, 3), g.w)
        y0, x0 = y.floor(), x.floor()
        ly, lx = y - y0, x - x0
        dev = offset.device
        base = (torch.arange(c.a, c.b, device=dev)[:, None] * g.offset_groups
                + torch.arange(g.offset_groups, device=dev)[None, :])
        base = (base * (g.h * g.w))[:, :, None, None]
        self.index, self.weight, self.dwy, self.dwx = [], [], [], []
        for cy, cx in ((0, 0), (0, 1), (1, 0), (1, 1)):
            yi, xi = y0 + cy, x0 + cx
            valid = ((yi >= 0) & (yi <= g.h - 1) & (xi >= 0) & (xi <= g.w - 1)).to(y.dtype)
            wy = ly if cy else 1 - ly
            wx = lx if cx else 1 - lx
            idx = base + (yi.clamp(0, g.h - 1) * g.w + xi.clamp(0, g.w - 1)).long()
            self.index.append(idx.reshape(-1))
            self.weight.append(wy * wx * valid)
            self.dwy.append((1.0 if cy else -1.0) * wx * valid)
            self.dwx.append((1.0 if cx else -1.0) * wy * valid)


def _to_cols(samples: Tensor, g: _Geometry) -> Tensor:
    """(n, G, P, K, Cg) samples -> (n, groups, P, K*C_in/groups) im2col rows, ordered like the weight."""
    n, p = samples.shape[0], samples.shape[2]
    cw = g.c_in // g.groups
    s = samples.permute(0, 2, 3, 1, 4).reshape(n, p, g.k, g.groups, cw)
    return s.permute(0, 3, 1, 2, 4).reshape(n, g.groups, p, g.k * cw)


def _from_cols(cols: Tensor, g: _Geometry) -> Tensor:
    """Inverse of :func:`_to_cols`: (n, groups, P, K*Cw) -> (n, G, P, K, Cg)."""
    n, p = cols.shape[0], cols.shape[2]
    cw = g.c_in // g.groups
    s = cols.reshape(n, g.groups, p, g.k, cw).permute(0, 2, 3, 1, 4).reshape(n, p, g.k, g.offset_groups, -1)
    return s.permute(0, 3, 1, 2, 4)


def _weight_matrix(weight: Tensor, g: _Geometry) -> Tensor:
    """(C_out, Cw, kh, kw) -> (groups, K*Cw, C_out/groups), rows ordered (k, c) like the columns."""
    cw = g.c_in // g.groups
    return weight.reshape(g.groups, g.c_out // g.groups, cw, g.k).permute(0, 3, 2, 1).reshape(g.groups, g.k * cw, -1)


def _table(input: Tensor, g: _Geometry) -> Tensor:
    """Input as a (N*G*H*W, Cg) row table: one gather fetches all channels of a pixel at once."""
    cg = g.c_in // g.offset_groups
    return input.reshape(g.n, g.offset_groups, cg, g.h * g.w).transpose(2, 3).reshape(-1, cg)


class _Workspace:
    """Flat buffers sized for the largest chunk, reused by every chunk: a few chunk-sized buffers are the
    whole working set, instead of a fresh allocation (and a fresh page-in) per corner per chunk."""

    def __init__(self, like: Tensor, numel: int, names: tuple[str, ...]) -> None:
        self.bufs = {name: like.new_empty(numel) for name in names}

    def take(self, name: str, shape: tuple[int, ...]) -> Tensor:
        return self.bufs[name][:math.prod(shape)].view(shape)


def _gather(table: Tensor, idx: Tensor, out: Tensor) -> Tensor:
    """Rows ``idx`` of ``table`` written into ``out`` (any shape with the same element count)."""
    torch.index_select(table, 0, idx, out=out.view(-1, table.shape[1]))
    return out


def _sample(table: Tensor, corners: _Corners, mask: Tensor | None, out: Tensor, rows: Tensor) -> Tensor:
    """Bilinear samples (times the mask) of one chunk into ``out`` (n, G, P, K, Cg); ``rows`` is scratch."""
    for k, (idx, wgt) in enumerate(zip(corners.index, corners.weight)):
        coef = (wgt if mask is None else wgt * mask)[..., None]
        if k == 0:
            _gather(table, idx, out).mul_(coef)
        else:
            out.addcmul_(_gather(table, idx, rows), coef)
    return out


def _mask_chunk(mask: Tensor | None, g: _Geometry, c: _Chunk) -> Tensor | None:
    """The chunk's mask as (n, G, P, K), the layout of the sample points."""
    if mask is None:
        return None
    return c.of(mask).reshape(c.n, g.offset_groups, g.k, c.p).transpose(2, 3).contiguous()


def _rows_of(flat: Tensor, c: _Chunk) -> Tensor:
    """(N, ..., P, ...) output-position slice of chunk ``c`` along dim 2 of a (N, groups, P, ...) tensor."""
    return flat[c.a:c.b, :, c.r0 * c.w_out:c.r1 * c.w_out]


def _chunk_plan(g: _Geometry, input: Tensor, chunk_bytes: int) -> tuple[list[_Chunk], int]:
    """The chunks and the element count of the largest chunk's sample tensor (n, G, P, K, Cg)."""
    chunks = _chunks(g, input.element_size(), chunk_bytes)
    return chunks, max(c.n * c.p for c in chunks) * g.k * g.c_in


class _DeformConv2dFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None, mask: Tensor | None,
                geom: _Geometry, chunk_bytes: int) -> Tensor:
        g = geom
        table = _table(input, g)
        wmat = _weight_matrix(weight, g)
        out = input.new_empty(g.n, g.groups, g.p, g.c_out // g.groups)
        cg = g.c_in // g.offset_groups
        chunks, numel = _chunk_plan(g, input, chunk_bytes)
        ws = _Workspace(input, numel, ("samples", "rows"))
        for c in chunks:
            shape = (c.n, g.offset_groups, c.p, g.k, cg)
            samples = _sample(table, _Corners(offset, g, c), _mask_chunk(mask, g, c), ws.take("samples", shape),
                              ws.take("rows", shape))
            _rows_of(out, c).copy_(torch.matmul(_to_cols(samples, g), wmat))
        del ws
        out = out.permute(0, 1, 3, 2).reshape(g.n, g.c_out, g.h_out, g.w_out)
        if bias is not None:
            out = out + bias.view(1, -1, 1, 1)
        ctx.save_for_backward(input, offset, weight, mask)
        ctx.geom, ctx.chunk_bytes, ctx.has_bias = g, chunk_bytes, bias is not None
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor) -> tuple[Tensor | None, ...]:
        input, offset, weight, mask = ctx.saved_tensors
        g: _Geometry = ctx.geom
        need_in, need_off, need_w, need_b, need_mask = ctx.needs_input_grad[:5]
        need_mask = need_mask and mask is not None
        need_dot = need_off or need_mask
        table = _table(input, g)
        wmat = _weight_matrix(weight, g)
        cg = g.c_in // g.offset_groups
        go = grad_out.reshape(g.n, g.groups, g.c_out // g.groups, g.p).transpose(2, 3)  # (N, groups, P, Co/gr)
        grad_table = torch.zeros_like(table) if need_in else None
        grad_off = torch.empty_like(offset) if need_off else None
        grad_mask = torch.empty_like(mask) if need_mask else None
        grad_wmat = torch.zeros_like(wmat) if need_w else None
        chunks, numel = _chunk_plan(g, input, ctx.chunk_bytes)
        # at most three chunk-sized buffers: the column gradient, one gathered corner, the re-sampled columns
        ws = _Workspace(input, numel, ("grad_cols",) * (need_in or need_dot) + ("rows",) + ("samples",) * need_w)
        for c in chunks:
            shape = (c.n, g.offset_groups, c.p, g.k, cg)
            corners = _Corners(offset, g, c)
            m = _mask_chunk(mask, g, c)
            go_c = _rows_of(go, c)
            grad_samples = None
            if need_in or need_dot:
                cols = ws.take("grad_cols", (c.n, g.groups, c.p, g.k * (g.c_in // g.groups)))
                grad_samples = _from_cols(torch.matmul(go_c, wmat.transpose(1, 2), out=cols), g)  # (n,G,P,K,Cg)
            samples = ws.take("samples", shape) if need_w else None
            gy = gx = gm = None
            # one gather per corner serves the weight gradient (re-sampled columns) and the offset/mask dot;
            # then the same scratch holds grad_samples * coef for the input gradient's scatter-add
            for k, (idx, wgt, dwy, dwx) in enumerate(zip(corners.index, corners.weight, corners.dwy, corners.dwx)):
                coef = (wgt if m is None else wgt * m)[..., None]
                rows = ws.take("rows", shape)
                if need_w or need_dot:
                    _gather(table, idx, rows)
                if need_w:
                    torch.mul(rows, coef, out=samples) if k == 0 else samples.addcmul_(rows, coef)
                if need_dot:
                    dot = rows.mul_(grad_samples).sum(-1)  # (n, G, P, K)
                    if need_off:
                        gy = dwy * dot if gy is None else gy.addcmul_(dwy, dot)
                        gx = dwx * dot if gx is None else gx.addcmul_(dwx, dot)
                    if need_mask:
                        gm = wgt * dot if gm is None else gm.addcmul_(wgt, dot)
                if need_in:
                    grad_table.index_add_(0, idx, torch.mul(grad_samples, coef, out=rows).view(-1, cg))
            if need_w:
                grad_wmat += torch.matmul(_to_cols(samples, g).transpose(2, 3), go_c).sum(0)
            rows_shape = (c.n, -1, c.r1 - c.r0, g.w_out)
            if need_off:
                if m is not None:
                    gy, gx = gy * m, gx * m
                # (n, G, P, K) x2 -> (n, G, K, 2, P) -> (n, 2*G*K, rows, W_out)
                both = torch.stack((gy, gx), dim=-1).permute(0, 1, 3, 4, 2)
                c.of(grad_off).copy_(both.reshape(rows_shape))
            if need_mask:
                c.of(grad_mask).copy_(gm.transpose(2, 3).reshape(rows_shape))
        del ws
        grad_in = None
        if need_in:
            grad_in = grad_table.view(g.n, g.offset_groups, g.h * g.w, cg).transpose(2, 3).reshape(input.shape)
        grad_w = None
        if need_w:
            cw = g.c_in // g.groups
            grad_w = grad_wmat.view(g.groups, g.k, cw, -1).permute(0, 3, 2, 1).reshape(weight.shape)
        grad_b = grad_out.sum((0, 2, 3)) if (need_b and ctx.has_bias) else None
        return grad_in, grad_off, grad_w, grad_b, grad_mask, None, None


def _autocast_enabled(device_type: str) -> bool:
    try:
        return torch.is_autocast_enabled(device_type)
    except TypeError:  # torch < 2.4 has no device argument
        return torch.is_autocast_cpu_enabled() if device_type == "cpu" else torch.is_autocast_enabled()


def deform_conv2d(input: Tensor, offset: Tensor, weight: Tensor, bias: Tensor | None = None,
                  stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                  dilation: int | tuple[int, int] = 1, mask: Tensor | None = None,
                  chunk_bytes: int | None = None) -> Tensor:
    """Deformable 2-D convolution with torchvision's signature, layouts and semantics (see module docstring).

    Returns (N, C_out, H_out, W_out). ``mask=None`` is DCNv1; a mask (N, G*kh*kw, H_out, W_out) gives DCNv2.
    ``chunk_bytes`` caps the im2col working set per chunk of images (memory vs. matmul size); None picks
    :func:`auto_chunk_bytes`.
    Example: zero offsets reproduce ``F.conv2d(input, weight, bias, stride, padding, dilation, groups)``.
    """
    stride, padding, dilation = _pair(stride), _pair(padding), _pair(dilation)
    geom = _check(input, offset, weight, bias, mask, stride, padding, dilation)
    if geom.n == 0:  # an empty batch gives an empty output (still connected to the weights, like a conv)
        out = input.new_zeros(0, geom.c_out, geom.h_out, geom.w_out) + 0 * weight.sum()
        return out + bias.view(1, -1, 1, 1) if bias is not None else out
    if _autocast_enabled(input.device.type):
        # like torchvision's autocast kernel: sampling positions need float32 (a bf16 offset of 30.3 px is off
        # by 0.1 px), so run the whole op in float32 and hand back the input's dtype
        with torch.autocast(input.device.type, enabled=False):
            f32 = [t.float() if t is not None else None for t in (input, offset, weight, bias, mask)]
            out = deform_conv2d(*f32[:4], stride, padding, dilation, f32[4], chunk_bytes)
        return out.to(input.dtype)
    offset = offset.to(input.dtype).contiguous()
    mask = mask.to(input.dtype).contiguous() if mask is not None else None
    chunk_bytes = chunk_bytes or auto_chunk_bytes(geom, input.element_size())
    return _DeformConv2dFn.apply(input.contiguous(), offset, weight.contiguous(), bias, mask, geom, chunk_bytes)


class DeformConv2d(nn.Module):
    """torchvision's ``DeformConv2d``: same constructor, ``forward(input, offset, mask=None)``, parameter names
    and initialisation, so the two exchange ``state_dict``s. Offsets (and the DCNv2 mask) come from outside;
    :class:`neuralens.ops.DeformableConv2d` is the layer that predicts its own.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 dilation: int | tuple[int, int] = 1, groups: int = 1, bias: bool = True) -> None:
        super().__init__()
        if in_channels % groups or out_channels % groups:
            raise NeuralensError(f"{type(self).__name__}: channels {in_channels}->{out_channels} not divisible by "
                                 f"groups={groups}")
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size = _pair(kernel_size)
        self.stride, self.padding, self.dilation = _pair(stride), _pair(padding), _pair(dilation)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, *self.kernel_size))
        self.bias = nn.Parameter(torch.empty(out_channels)) if bias else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Conv2d's (and torchvision's) default initialisation."""
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in = self.weight.shape[1] * self.weight.shape[2] * self.weight.shape[3]
            nn.init.uniform_(self.bias, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))

    def forward(self, input: Tensor, offset: Tensor, mask: Tensor | None = None) -> Tensor:
        """input (N, C_in, H, W), offset (N, 2*G*kh*kw, H_out, W_out), mask (N, G*kh*kw, H_out, W_out) or None."""
        return deform_conv2d(input, offset, self.weight, self.bias, self.stride, self.padding, self.dilation, mask)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}, "
                f"padding={self.padding}, dilation={self.dilation}, groups={self.groups}, "
                f"bias={self.bias is not None}")
