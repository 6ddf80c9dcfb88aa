"""The depth series: He et al.'s CIFAR nets (resnetN / plainN, 6n+2 layers, option A shortcuts), how a net's depth
and family are told, the gradients at initialisation, and the verdict per depth on hand-made evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from neuralens.cnn.depth import has_shortcut, init_gradients, weight_depth, without_batchnorm
from neuralens.core.rules import depth_rule, shortcut_rule
from neuralens.models import create_model
from neuralens.report.findings import depth_findings


@pytest.mark.parametrize("depth", [8, 20, 56, 110])
def test_each_pair_has_exactly_the_same_parameters(depth: int) -> None:
    """Option A shortcuts add no parameters: resnetN and plainN differ only in the addition."""
    res, plain = create_model(f"resnet{depth}"), create_model(f"plain{depth}")
    shapes = {k: v.shape for k, v in res.state_dict().items()}
    assert shapes == {k: v.shape for k, v in plain.state_dict().items()}
    assert weight_depth(res) == weight_depth(plain) == depth
    expected = {20: 269_722, 56: 853_018, 110: 1_727_962}  # He et al. Table 6: 0.27M, 0.85M, 1.7M
    if depth in expected:
        assert sum(p.numel() for p in res.parameters()) == expected[depth]
    assert (has_shortcut(res), has_shortcut(plain)) == (True, False)


def test_option_a_pads_channels_with_zeros_and_subsamples() -> None:
    from neuralens.models.cifar_nets import ShortcutA

    x = torch.randn(2, 16, 8, 8)
    y = ShortcutA(16, 32, 2)(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, 8:24], x[:, :, ::2, ::2]) and not y[:, :8].any() and not y[:, 24:].any()


class _Res(nn.Module):
    """A residual net written the way users write theirs: no class the registry knows, the addition in forward."""

    def __init__(self, blocks: int, shortcut: bool = True) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)
        self.convs = nn.ModuleList(nn.Conv2d(8, 8, 3, padding=1) for _ in range(2 * blocks))
        self.proj = nn.Conv2d(8, 8, 1)  # a 1x1 conv: not a layer of He et al.'s depth
        self.head = nn.Linear(8, 10)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x).relu()
        for a, b in zip(self.convs[::2], self.convs[1::2]):
            y = b(a(x).relu())
            x = (y + self.proj(x) if self.shortcut else y).relu()
        return self.head(x.mean((2, 3)))


def test_depth_and_family_are_read_off_the_net() -> None:
    assert weight_depth(_Res(3)) == 1 + 6 + 1 and has_shortcut(_Res(3)) is True
    assert has_shortcut(_Res(3, shortcut=False)) is False

    class Dynamic(_Res):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) if x.sum() > -1e9 else x  # data-dependent control flow: fx cannot trace
    assert has_shortcut(Dynamic(2)) is None


def test_without_batchnorm_leaves_no_batchnorm() -> None:
    m = without_batchnorm(create_model("resnet20"))
    assert not any(isinstance(mod, nn.BatchNorm2d) for mod in m.modules())
    assert m(torch.rand(2, 3, 32, 32)).shape == (2, 10)


def test_with_batch_norm_the_plain_gradient_grows_with_depth_and_the_residual_one_does_not() -> None:
    """Yang et al. 2019: backwards through a batch-normalised plain stack the gradient grows about 1.2x per layer
    at initialisation; the shortcut keeps it bounded. 56 layers: orders of magnitude apart, in every seed."""
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(32, 3, 32, 32, generator=g), torch.randint(0, 10, (32,), generator=g)

    def ratios(name: str) -> list[float]:
        def build(seed: int) -> nn.Module:
            torch.manual_seed(seed)
            return create_model(name)
        return init_gradients(build, [0, 1, 2], x, y)["ratios"]

    plain, res = ratios("plain56"), ratios("resnet56")
    assert min(plain) > 100 * max(res) and max(res) < 100
    assert shortcut_rule(res, plain).state == "yes"


def _series(ratios: dict[str, list[float]], no_bn: dict[str, list[float]], trained: dict | None = None) -> dict:
    nets = {n: {"family": "resnet" if n.startswith("resnet") else "plain",
                "depth": int(n.removeprefix("resnet").removeprefix("plain"))} for n in ratios}
    return {"nets": nets, "seeds": [0, 1, 2], "trained": trained or {},
            "gradients": {"with batch norm": {n: {"ratios": r} for n, r in ratios.items()},
                          "without batch norm": {n: {"ratios": r} for n, r in no_bn.items()}}}


def test_one_verdict_per_depth_follows_its_rule() -> None:
    """Hand-made evidence: at 8 layers the two nets alike (inconclusive), at 56 the plain gradient exploding (yes);
    without batch norm stated beside the answer, never voting."""
    r = {"resnet8": [2.0, 2.2, 2.4], "plain8": [1.9, 2.1, 2.3], "resnet56": [19.0, 21.0, 23.0],
         "plain56": [1900.0, 4000.0, 7000.0]}
    no_bn = {"resnet8": [1.0] * 3, "plain8": [0.4] * 3, "resnet56": [2000.0] * 3, "plain56": [0.05] * 3}
    rows = {f.question: f.decision for f in depth_findings(_series(r, no_bn))}
    at8, at56 = rows["Does the identity shortcut matter at 8 layers?"], rows[
        "Does the identity shortcut matter at 56 layers?"]
    assert (at8.state, at56.state) == ("inconclusive", "yes")
    assert at56.evidence["aside"]["without batch norm, gradient at init"].state == "no"
    # trained accuracy votes too: at 56 layers a plain net far below its residual twin on 10,000 images agrees ...
    trained = {"resnet56": {"accuracy": 0.90, "n_test": 10000}, "plain56": {"accuracy": 0.80, "n_test": 10000}}
    agree = depth_findings(_series(r, no_bn, trained))[1].decision
    assert agree.state == "yes" and set(agree.evidence["conditions"]) == {"gradient at init", "trained test accuracy"}
    # ... and a plain net scoring higher contradicts the gradient: inconclusive, saying so
    trained["plain56"]["accuracy"] = 0.95
    assert depth_findings(_series(r, no_bn, trained))[1].decision.rule == "disagree"


def test_the_depth_rule_never_lets_the_aside_vote() -> None:
    yes, no = shortcut_rule([1.0] * 3, [100.0] * 3), shortcut_rule([100.0] * 3, [1.0] * 3)
    assert depth_rule({"a": yes}, {"b": no}).state == "yes"
    assert depth_rule({"a": no}, {"b": yes}).state == "no"


def test_the_depth_command_on_a_users_own_series(tmp_path: Path, tiny_npz: Path) -> None:
    """Two nets of the user's own code, trained briefly here, given as FILE.py:CALLABLE specs with foreign
    state_dicts: the command tells their depth and family and judges the pair."""
    nets = tmp_path / "nets.py"
    nets.write_text("from test_depth import _Res\n\ndef res8():\n    return _Res(3)\n\n"
                    "def plain8():\n    return _Res(3, shortcut=False)\n")
    weights = []
    for name, net in (("res8", _Res(3)), ("plain8", _Res(3, shortcut=False))):
        torch.manual_seed(0)
        opt = torch.optim.SGD(net.parameters(), lr=0.05)
        data = torch.from_numpy(__import__("numpy").load(tiny_npz)["x"]).permute(0, 3, 1, 2).float() / 255
        labels = torch.from_numpy(__import__("numpy").load(tiny_npz)["y"]).long()
        for _ in range(3):
            opt.zero_grad()
            nn.functional.cross_entropy(net(data), labels).backward()
            opt.step()
        torch.save({"state_dict": net.state_dict()}, tmp_path / f"{name}.pt")
        weights.append(str(tmp_path / f"{name}.pt"))
    out = tmp_path / "depth"
    res = subprocess.run([sys.executable, "-m", "neuralens.cli", "-q", "depth", "--models",
                          f"{nets}:res8,{nets}:plain8", "--weights", ",".join(weights), "--normalize", "none",
                          "--data", str(tiny_npz), "--batch-size", "16", "--out", str(out)],
                         capture_output=True, text=True, timeout=300, cwd=Path(__file__).parent,
                         env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parent)})
    assert res.returncode == 0, res.stderr[-2000:]
    result = json.loads((out / "depth.json").read_text())
    assert {n: (v["family"], v["depth"]) for n, v in result["nets"].items()} == {
        "nets.py_res8": ("resnet", 8), "nets.py_plain8": ("plain", 8)}
    assert set(result["trained"]) == {"nets.py_res8", "nets.py_plain8"}
    assert "Does the identity shortcut matter at 8 layers?" in res.stdout
    for fig in ("ratio_vs_depth.png", "ratio_vs_depth_no_bn.png", "profiles.png"):
        assert (out / fig).stat().st_size > 0
