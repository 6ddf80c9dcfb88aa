"""NeRF building blocks against closed-form truth."""

from __future__ import annotations

import math

import pytest
import torch

from neuralens.data.cameras import get_rays, look_at
from neuralens.nerf.config import RenderSettings
from neuralens.nerf.encoding import positional_encoding
from neuralens.nerf.fields import TinyNeRF
from neuralens.nerf.renderer import render_rays
from neuralens.nerf.rendering import (
    accumulate_along_rays,
    deltas_from_t,
    render_transmittance_from_density,
    render_weight_from_density,
    volume_render,
)
from neuralens.nerf.sampling import importance_samples, midpoints, stratified_samples, tiny_nerf_samples


def test_rays_of_a_known_camera() -> None:
    o, d = get_rays(4, 6, 10.0, torch.eye(4))
    assert o.shape == d.shape == (4, 6, 3)
    assert torch.equal(d[2, 3], torch.tensor([0.0, 0.0, -1.0]))  # principal point (cx=3, cy=2)
    assert torch.allclose(d[0, 5], torch.tensor([0.2, 0.2, -1.0]))  # right (+x) and up (+y) of centre
    # a camera at (0, 0, 4) looking at the origin: the central ray hits the origin at t = 4
    pose = look_at(torch.tensor([0.0, 0.0, 4.0]), up=torch.tensor([0.0, 1.0, 0.0]))
    o, d = get_rays(5, 5, 7.0, pose, pixel_offset=0.5)
    assert torch.allclose(o[2, 2] + 4 * d[2, 2], torch.zeros(3), atol=1e-6)
    # another camera: the ray through pixel (row 0, col 4) hits the point we project there by hand
    pose = look_at(torch.tensor([3.0, -2.0, 1.5]))
    o, d = get_rays(8, 8, 6.0, pose)
    cam_dir = torch.tensor([(4 - 4) / 6.0, -(0 - 4) / 6.0, -1.0])
    point = pose[:3, 3] + 2.5 * (pose[:3, :3] @ cam_dir)
    assert torch.allclose(o[0, 4] + 2.5 * d[0, 4], point, atol=1e-6)


def test_look_at_is_rigid_and_faces_target() -> None:
    pose = look_at(torch.tensor([1.0, 2.0, 3.0]), torch.tensor([0.5, 0.0, 0.0]))
    r = pose[:3, :3]
    assert torch.allclose(r.T @ r, torch.eye(3), atol=1e-6) and torch.det(r) == pytest.approx(1.0, abs=1e-6)
    forward = -r[:, 2]
    to_target = torch.tensor([0.5, 0.0, 0.0]) - pose[:3, 3]
    assert torch.allclose(forward, to_target / to_target.norm(), atol=1e-6)


def test_stratified_one_sample_per_bin() -> None:
    t = stratified_samples(2.0, 6.0, 16, 500, torch.Generator().manual_seed(0))
    edges = torch.linspace(2.0, 6.0, 17)
    bins = torch.bucketize(t, edges, right=True) - 1
    assert torch.equal(bins, torch.arange(16).expand(500, 16))  # exactly one sample in every bin, in order
    frac = (t - edges[:-1]) / (edges[1] - edges[0])
    assert 0.45 < float(frac.mean()) < 0.55 and float(frac.min()) < 0.02 and float(frac.max()) > 0.98


def test_tiny_nerf_jitter_matches_notebook_formula() -> None:
    g1, g2 = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
    t = tiny_nerf_samples(2.0, 6.0, 8, 3, g1)
    expected = torch.linspace(2.0, 6.0, 8) + torch.rand(3, 8, generator=g2) * 4.0 / 8
    assert torch.allclose(t, expected)


def test_importance_samples_follow_the_weights() -> None:
    t = torch.linspace(2.0, 6.0, 32).expand(4, 32)
    bins = midpoints(t)
    w = torch.zeros(4, 32)
    w[:, 20] = 1.0  # all weight in one interval
    s = importance_samples(bins, w, 64, generator=torch.Generator().manual_seed(0))
    inside = (s >= bins[:, 20:21]) & (s <= bins[:, 21:22])
    assert float(inside.float().mean()) > 0.95
    assert torch.all(s[:, 1:] >= s[:, :-1])
    # two bumps with weights 3:1 receive samples in about that ratio
    w = torch.zeros(1, 32)
    w[0, 5], w[0, 25] = 3.0, 1.0
    s = importance_samples(bins[:1], w, 4000, generator=torch.Generator().manual_seed(0))
    a = ((s >= bins[0, 5]) & (s <= bins[0, 6])).sum()
    b = ((s >= bins[0, 25]) & (s <= bins[0, 26])).sum()
    assert 2.6 < float(a) / float(b) < 3.4
    det = importance_samples(bins[:1], w, 8, deterministic=True)
    assert torch.equal(det, importance_samples(bins[:1], w, 8, deterministic=True))


def test_opaque_slab_gives_its_colour_and_depth() -> None:
    t = torch.linspace(2.0, 6.0, 401)[None]
    sigma = torch.where((t >= 3.0) & (t <= 3.5), torch.tensor(1e4), torch.tensor(0.0))
    rgb = torch.zeros(1, 401, 3)
    rgb[..., 0] = 1.0
    out = volume_render(sigma, rgb, t, background=torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(out["rgb"], torch.tensor([[1.0, 0.0, 0.0]]), atol=1e-5)
    assert out["depth"].item() == pytest.approx(3.0, abs=0.011) and out["opacity"].item() == pytest.approx(1.0)
    # nothing in the way: the background shows
    out = volume_render(torch.zeros(1, 401), rgb, t, deltas=torch.full((1, 401), 0.01),
                        background=torch.tensor([0.0, 0.0, 1.0]))
    assert torch.allclose(out["rgb"], torch.tensor([[0.0, 0.0, 1.0]]))


def test_constant_medium_has_analytic_transmittance() -> None:
    sigma0 = 0.7
    t = torch.linspace(2.0, 6.0, 101)[None]
    deltas = deltas_from_t(t, last=0.04)
    trans = render_transmittance_from_density(torch.full_like(t, sigma0), deltas)
    assert torch.allclose(trans, torch.exp(-sigma0 * (t - 2.0)), atol=1e-5)
    w, _, _ = render_weight_from_density(torch.full_like(t, sigma0), deltas)
    # total absorbed = 1 - exp(-sigma * length) over the covered interval [2, 6.04]
    assert w.sum().item() == pytest.approx(1 - math.exp(-sigma0 * 4.04), abs=1e-5)


def test_rendering_is_stable_for_huge_density_and_zero_delta() -> None:
    sigma = torch.tensor([[0.0, float("inf"), 1e30, 5.0]], requires_grad=True)
    deltas = torch.tensor([[0.0, 0.0, 1.0, 1.0]])
    w, trans, _alpha = render_weight_from_density(sigma, deltas)
    assert torch.isfinite(w).all() and torch.isfinite(trans).all()
    assert w[0].tolist() == pytest.approx([0.0, 0.0, 1.0, 0.0])
    w.sum().backward()
    assert torch.isfinite(sigma.grad).all()


def test_packed_equals_batched() -> None:
    g = torch.Generator().manual_seed(0)
    sigma = torch.rand(3, 7, generator=g) * 3
    t = torch.sort(torch.rand(3, 7, generator=g) * 4 + 2, -1).values
    deltas = deltas_from_t(t, last=0.1)
    rgb = torch.rand(3, 7, 3, generator=g)
    batched = volume_render(sigma, rgb, t, deltas)
    ray_idx = torch.arange(3).repeat_interleave(7)
    packed = volume_render(sigma.reshape(-1), rgb.reshape(-1, 3), t.reshape(-1), deltas.reshape(-1),
                           ray_indices=ray_idx, n_rays=3)
    for k in ("rgb", "depth", "opacity"):
        assert torch.allclose(batched[k], packed[k], atol=1e-6), k
    # rays with different sample counts: drop samples of ray 1, compare with the batched rendering of that ray
    keep = torch.ones(21, dtype=torch.bool)
    keep[7:10] = False
    p2 = volume_render(sigma.reshape(-1)[keep], rgb.reshape(-1, 3)[keep], t.reshape(-1)[keep],
                       deltas.reshape(-1)[keep], ray_indices=ray_idx[keep], n_rays=3)
    one = volume_render(sigma[1:2, 3:], rgb[1:2, 3:], t[1:2, 3:], deltas[1:2, 3:])
    assert torch.allclose(p2["rgb"][1], one["rgb"][0], atol=1e-6)
    assert torch.allclose(accumulate_along_rays(packed["weights"], None, ray_idx, 3)[:, 0], packed["opacity"])


def test_positional_encoding_values() -> None:
    x = torch.tensor([[0.5, -1.0, 2.0]])
    e = positional_encoding(x, 2, use_pi=False)
    assert e.shape == (1, 3 + 3 * 4)
    expected = torch.cat([x, torch.sin(x), torch.cos(x), torch.sin(2 * x), torch.cos(2 * x)], -1)
    assert torch.allclose(e, expected)
    e_pi = positional_encoding(torch.tensor([[0.25]]), 3, include_input=False, use_pi=True)
    assert torch.allclose(e_pi, torch.tensor([[math.sin(math.pi / 4), math.cos(math.pi / 4), 1.0, 0.0, 0.0, -1.0]]),
                          atol=1e-6)


def test_tiny_nerf_structure_matches_the_notebook() -> None:
    m = TinyNeRF()
    assert len(m.layers) == 8 and m.enc.out_dim == 39
    assert [layer.in_features for layer in m.layers] == [39, 256, 256, 256, 256, 256 + 39, 256, 256]
    assert m.head.out_features == 4
    sigma, rgb = m(torch.randn(5, 7, 3))
    assert sigma.shape == (5, 7) and rgb.shape == (5, 7, 3) and (sigma >= 0).all() and (rgb > 0).all()
    mv = TinyNeRF(width=32, depth=4, use_viewdirs=True)
    s2, c2 = mv(torch.randn(2, 3), torch.randn(2, 3))
    assert s2.shape == (2,) and c2.shape == (2, 3)


@pytest.mark.parametrize("n_importance", [0, 16])
def test_bf16_autocast_lowers_only_the_field_and_renders_in_float32(n_importance: int) -> None:
    """Under bf16 autocast the field's matrix products lose bits, the rendering does not: the render is float32,
    it differs from the float32 render (autocast was on) by no more than bf16's rounding shows, and the gradient
    reaches every weight."""
    torch.manual_seed(0)
    field = TinyNeRF(depth=4, width=64, density="softplus")
    c2w = look_at(torch.tensor([0.0, -4.0, 1.0]), torch.zeros(3))
    origins, dirs = get_rays(8, 8, 10.0, c2w)
    origins, dirs = origins.reshape(-1, 3), dirs.reshape(-1, 3)
    s = RenderSettings(n_samples=32, n_importance=n_importance, sampler="stratified")
    ref = render_rays(field, origins, dirs, s)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        low = render_rays(field, origins, dirs, s)
    assert low["rgb"].dtype == torch.float32 and low["weights"].dtype == torch.float32
    err = (low["rgb"] - ref["rgb"]).abs().max().item()
    assert 0 < err < 5e-3  # bf16 keeps 8 significant bits: about 0.4% of a value
    low["rgb"].sum().backward()
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in field.parameters())
