"""The DCN experiment's pieces and the sampling-point figure's geometry."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import torch

from neuralens.data.cifar import make_synthetic
from neuralens.deform.experiment import warp_images
from neuralens.deform.receptive import receptive_points, regular_points
from neuralens.deform.speed import time_one_shape
from neuralens.models import create_model


def _sorted(p: torch.Tensor) -> torch.Tensor:
    """Points in a canonical order (rows, then columns) so two multisets can be compared."""
    p = p.round(decimals=4)
    return p[torch.argsort(p[:, 0] * 1e4 + p[:, 1])]


def test_zero_offsets_trace_the_regular_grid_and_counts_grow_9_81_729() -> None:
    torch.manual_seed(0)
    dcn = create_model("small_dcn", width=0.25).eval()
    with torch.no_grad():
        dcn(torch.rand(1, 3, 32, 32))
    traced = receptive_points(dcn.deform_layers(), 8.0, 7.0)
    assert [len(p) for p in traced] == [9, 81, 729]
    for k, pts in enumerate(traced):
        assert torch.allclose(_sorted(pts), _sorted(regular_points(k + 1, 8.0, 7.0)), atol=1e-4)


def test_traced_points_follow_a_constant_offset() -> None:
    torch.manual_seed(0)
    dcn = create_model("small_dcn", width=0.25).eval()
    for layer in dcn.deform_layers():
        torch.nn.init.zeros_(layer.offset_conv.weight)
        layer.offset_conv.bias.data[0::2] = 0.5  # every tap moves down by half a pixel in every layer
    with torch.no_grad():
        dcn(torch.rand(1, 3, 32, 32))
    traced = receptive_points(dcn.deform_layers(), 8.0, 8.0)
    for k, pts in enumerate(traced):
        shifted = regular_points(k + 1, 8.0, 8.0) + torch.tensor([0.5 * (k + 1), 0.0])
        assert torch.allclose(_sorted(pts), _sorted(shifted), atol=1e-4)


def test_dcn_at_init_equals_the_plain_cnn() -> None:
    torch.manual_seed(0)
    cnn = create_model("small_cnn", width=0.25).eval()
    dcn = create_model("small_dcn", width=0.25).eval()
    state = {k: v for k, v in dcn.state_dict().items() if "offset_conv" not in k}
    cnn.load_state_dict(state)
    x = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(dcn(x), cnn(x), atol=1e-5, rtol=1e-5)


def test_warp_is_deterministic_and_moves_pixels() -> None:
    d = make_synthetic(20, 4)
    a, b = warp_images(d.x_train, 3), warp_images(d.x_train, 3)
    assert torch.equal(a, b) and a.dtype == torch.uint8 and a.shape == d.x_train.shape
    assert (a.float() - d.x_train.float()).abs().mean() > 5


def test_deform_cli_check_and_viz(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "deform", "check", "--cases", "3", "--out",
                          str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "OK at 1e-4" in res.stdout, res.stderr
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "deform", "viz", "--data", "synthetic",
                          "--train-size", "4", "--test-size", "4", "--out", str(tmp_path / "viz")],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "viz" / "sampling_points.png").stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "neuralens.cli", "deform", "viz", "--checkpoint",
                          str(tmp_path / "none.pt"), "--data", "synthetic", "--out", str(tmp_path / "v2")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_each_timing_round_lasts_long_enough_to_time_and_reports_seconds_per_call() -> None:
    """A round of a small shape repeats each op until the faster deformable op's share reaches ``min_round_s``
    (a single millisecond call is mostly scheduler noise); what it reports stays seconds per call."""
    single = time_one_shape(1, 2, 4, repeats=2, min_round_s=0.0)
    assert single["calls_per_round"] == 1
    many = time_one_shape(1, 2, 4, repeats=2, min_round_s=0.2)
    assert many["calls_per_round"] > 1 and all(len(r) == 2 for r in many["rounds_s"].values())
    # seconds per call, not per round: a round of the faster deformable op lasts about 0.2 s, one call of this
    # tiny shape a fraction of a millisecond (a hiccup in the sizing call only makes rounds shorter, never calls)
    assert min(many["fwd_bwd_s"]["neuralens"], many["fwd_bwd_s"]["torchvision"]) < 0.1
