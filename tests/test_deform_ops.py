"""deform_conv2d against independent truth: torchvision's kernel, nn.Conv2d, shifted convolutions, gradcheck."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision.ops as tvo
from hypothesis import given, settings
from hypothesis import strategies as st

from neuralens.core.errors import NeuralensError
from neuralens.deform import DeformableConv2d, DeformConv2d, deform_conv2d, sampling_locations


def _out_size(h: int, k: int, s: int, p: int, d: int) -> int:
    return (h + 2 * p - d * (k - 1) - 1) // s + 1


@st.composite
def cases(draw: st.DrawFn) -> dict:
    groups = draw(st.sampled_from([1, 2]))
    og = draw(st.sampled_from([1, 2]))
    c_in = draw(st.sampled_from([2, 4])) * max(groups, og)
    c_out = groups * draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    s, p, d = draw(st.integers(1, 2)), draw(st.integers(0, 2)), draw(st.integers(1, 2))
    h = draw(st.integers(d * (kh - 1) + 1, 8))
    w = draw(st.integers(d * (kw - 1) + 1, 8))
    return dict(n=draw(st.integers(1, 2)), c_in=c_in, c_out=c_out, groups=groups, og=og, kh=kh, kw=kw, s=s, p=p,
                d=d, h=h, w=w, mask=draw(st.booleans()), bias=draw(st.booleans()),
                scale=draw(st.sampled_from([0.5, 2.0, 4.0])), seed=draw(st.integers(0, 10_000)))


def _tensors(c: dict, dtype: torch.dtype = torch.float32) -> list[torch.Tensor | None]:
    g = torch.Generator().manual_seed(c["seed"])
    ho, wo = _out_size(c["h"], c["kh"], c["s"], c["p"], c["d"]), _out_size(c["w"], c["kw"], c["s"], c["p"], c["d"])
    k = c["kh"] * c["kw"]
    x = torch.randn(c["n"], c["c_in"], c["h"], c["w"], generator=g, dtype=dtype)
    # offsets large enough to sample outside the image; avoid exact integers (torchvision's kink, vision#6885)
    off = torch.randn(c["n"], 2 * c["og"] * k, ho, wo, generator=g, dtype=dtype) * c["scale"] + 0.013
    wt = torch.randn(c["c_out"], c["c_in"] // c["groups"], c["kh"], c["kw"], generator=g, dtype=dtype) * 0.3
    b = torch.randn(c["c_out"], generator=g, dtype=dtype) if c["bias"] else None
    m = torch.rand(c["n"], c["og"] * k, ho, wo, generator=g, dtype=dtype) if c["mask"] else None
    return [t.requires_grad_() if t is not None else None for t in (x, off, wt, b, m)]


@settings(max_examples=40, deadline=None)
@given(cases())
def test_matches_torchvision_forward_and_gradients(c: dict) -> None:
    x, off, wt, b, m = _tensors(c)
    args = dict(stride=c["s"], padding=c["p"], dilation=c["d"])
    ours = deform_conv2d(x, off, wt, b, mask=m, **args)
    ref = tvo.deform_conv2d(x, off, wt, b, mask=m, **args)
    torch.testing.assert_close(ours, ref, atol=1e-4, rtol=1e-4)
    grad = torch.randn_like(ref)
    inputs = [t for t in (x, off, wt, b, m) if t is not None]
    for mine, theirs in zip(torch.autograd.grad(ours, inputs, grad), torch.autograd.grad(ref, inputs, grad)):
        torch.testing.assert_close(mine, theirs, atol=1e-4, rtol=1e-4)


def test_zero_offsets_equal_conv2d() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 6, 9, 7, dtype=torch.float64)
    w = torch.randn(4, 3, 3, 3, dtype=torch.float64)
    b = torch.randn(4, dtype=torch.float64)
    off = torch.zeros(2, 2 * 9, 5, 4, dtype=torch.float64)
    ours = deform_conv2d(x, off, w, b, stride=(2, 2), padding=(1, 1), dilation=(1, 1))
    torch.testing.assert_close(ours, F.conv2d(x, w, b, stride=2, padding=1, groups=2))


@pytest.mark.parametrize(("dy", "dx"), [(1, 0), (0, -2), (-1, 1), (3, 3)])
def test_integer_offsets_equal_shifted_conv(dy: int, dx: int) -> None:
    torch.manual_seed(1)
    x = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    w = torch.randn(5, 3, 3, 3, dtype=torch.float64)
    off = torch.zeros(1, 18, 8, 8, dtype=torch.float64)
    off[:, 0::2], off[:, 1::2] = dy, dx
    # reference: a plain conv whose window is moved by (dy, dx) over a zero-padded image
    pad = 1 + 3
    full = F.conv2d(F.pad(x, (pad, pad, pad, pad)), w)
    ref = full[..., pad - 1 + dy: pad - 1 + dy + 8, pad - 1 + dx: pad - 1 + dx + 8]
    torch.testing.assert_close(deform_conv2d(x, off, w, padding=1), ref)


def test_gradcheck_float64() -> None:
    g = torch.Generator().manual_seed(3)
    x = torch.randn(1, 4, 5, 5, dtype=torch.float64, generator=g, requires_grad=True)
    off = (torch.randn(1, 2 * 2 * 4, 4, 4, dtype=torch.float64, generator=g) * 1.5 + 0.05).requires_grad_()
    w = torch.randn(2, 2, 2, 2, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(2, dtype=torch.float64, generator=g, requires_grad=True)
    m = torch.rand(1, 2 * 4, 4, 4, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda *t: deform_conv2d(*t[:4], padding=0, mask=t[4]), (x, off, w, b, m))


# 6x6 output, 4 channels, 3x3 taps: 864 bytes of columns per output row, 5184 per image. 1 byte: one row per
# chunk; 3456: blocks of 4 then 2 rows (the reused workspace sees a smaller last chunk); 10368: images 2, 2, 1.
@pytest.mark.parametrize("chunk_bytes", [1, 3456, 10368])
def test_chunking_does_not_change_results(chunk_bytes: int) -> None:
    x, off, wt, b, m = _tensors(dict(n=5, c_in=4, c_out=3, groups=1, og=2, kh=3, kw=3, s=1, p=1, d=1, h=6, w=6,
                                     mask=True, bias=True, scale=2.0, seed=7))
    whole = deform_conv2d(x, off, wt, b, padding=1, mask=m)
    g1 = torch.autograd.grad(whole.sum(), [x, off, wt, m])
    tiny = deform_conv2d(x, off, wt, b, padding=1, mask=m, chunk_bytes=chunk_bytes)
    g2 = torch.autograd.grad(tiny.sum(), [x, off, wt, m])
    torch.testing.assert_close(whole, tiny)
    for a, c in zip(g1, g2):
        torch.testing.assert_close(a, c)


def test_sampling_locations_follow_torchvision_layout() -> None:
    off = torch.zeros(1, 18, 2, 2)
    off[0, 2 * 5 + 0, 1, 0] = 0.5  # tap (1, 2): dy
    off[0, 2 * 5 + 1, 1, 0] = -0.25  # tap (1, 2): dx
    loc = sampling_locations(off, (3, 3), stride=(2, 2), padding=(1, 1))
    assert loc.shape == (1, 1, 9, 2, 2, 2)
    # output (1, 0): base y = 1*2 - 1 + 1 = 2, base x = 0*2 - 1 + 2 = 1
    assert loc[0, 0, 5, 1, 0].tolist() == [2.5, 0.75]
    assert loc[0, 0, 0, 0, 0].tolist() == [-1.0, -1.0]


def test_module_starts_as_plain_conv_and_has_2khkw_offset_channels() -> None:
    torch.manual_seed(0)
    m = DeformableConv2d(4, 6, 3, padding=1, offset_groups=2)
    assert m.offset_conv.out_channels == 2 * 2 * 9
    x = torch.randn(2, 4, 7, 7)
    torch.testing.assert_close(m(x), F.conv2d(x, m.weight, m.bias, padding=1), atol=1e-5, rtol=1e-5)
    assert m.sampling_locations().shape == (2, 2, 9, 7, 7, 2)
    mod = DeformableConv2d(4, 6, (3, 5), padding=(1, 2), modulated=True)
    assert mod.offset_conv.out_channels == 3 * 15
    torch.testing.assert_close(mod(x), 0.5 * F.conv2d(x, mod.weight, padding=(1, 2)) + mod.bias.view(1, -1, 1, 1),
                               atol=1e-5, rtol=1e-5)
    assert mod.last_mask is not None and torch.all(mod.last_mask == 0.5)


def test_module_exchanges_weights_and_calls_with_torchvision() -> None:
    torch.manual_seed(0)
    ours = DeformConv2d(4, 6, 3, padding=1, groups=2)
    tv = tvo.DeformConv2d(4, 6, 3, padding=1, groups=2)
    tv.load_state_dict(ours.state_dict())  # same parameter names and shapes, both ways
    ours.load_state_dict(tv.state_dict())
    x = torch.randn(1, 4, 6, 6)
    off = torch.randn(1, 18, 6, 6)
    mask = torch.rand(1, 9, 6, 6)
    torch.testing.assert_close(ours(x, off), tv(x, off), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(ours(x, off, mask), tv(x, off, mask), atol=1e-5, rtol=1e-5)
    # the predictor-owning layer keeps the same weight/bias names, so its deform part loads from torchvision too
    own = DeformableConv2d(4, 6, 3, padding=1, groups=2)
    missing = own.load_state_dict(tv.state_dict(), strict=False).missing_keys
    assert sorted(missing) == ["offset_conv.bias", "offset_conv.weight"]


@pytest.mark.parametrize(
    ("shapes", "match"),
    [
        (dict(off=(1, 17, 4, 4)), "multiple of 2\\*kh\\*kw"),
        (dict(off=(1, 18, 3, 4)), "offset must be"),
        (dict(w=(4, 3, 3, 3)), "not divisible"),
        (dict(mask=(1, 8, 4, 4)), "mask must be"),
        (dict(x=(4, 6, 6)), "must be 4-D"),
    ],
)
def test_shape_errors_are_clear(shapes: dict, match: str) -> None:
    x = torch.randn(*shapes.get("x", (1, 4, 6, 6)))
    off = torch.randn(*shapes.get("off", (1, 18, 4, 4)))
    w = torch.randn(*shapes.get("w", (2, 4, 3, 3)))
    mask = torch.rand(*shapes["mask"]) if "mask" in shapes else None
    with pytest.raises(NeuralensError, match=match):
        deform_conv2d(x, off, w, mask=mask)


def test_autocast_runs_the_op_in_float32() -> None:
    # under bf16 autocast the sampling must stay float32 (torchvision's CPU kernel refuses bf16 altogether)
    x, off, wt, b, m = _tensors(dict(n=2, c_in=4, c_out=3, groups=1, og=1, kh=3, kw=3, s=1, p=1, d=1, h=6, w=6,
                                     mask=True, bias=True, scale=3.0, seed=11))
    ref = deform_conv2d(x, off, wt, b, padding=1, mask=m)
    g_ref = torch.autograd.grad(ref.sum(), [x, off, wt, m])
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = deform_conv2d(x, off, wt, b, padding=1, mask=m)
        low = deform_conv2d(x.bfloat16(), off, wt, b, padding=1, mask=m)
    assert out.dtype == torch.float32 and low.dtype == torch.bfloat16
    torch.testing.assert_close(out, ref, rtol=0, atol=0)
    for a, c in zip(torch.autograd.grad(out.sum(), [x, off, wt, m]), g_ref):
        torch.testing.assert_close(a, c, rtol=0, atol=0)
