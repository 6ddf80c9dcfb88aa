from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

import neuralens.models.train as train_mod
from neuralens.data.cifar import make_synthetic, to_float
from neuralens.models import load_checkpoint, model_from_checkpoint
from neuralens.models.train import TrainConfig, evaluate, train


def _cfg(**kw: object) -> TrainConfig:
    base = dict(model="resnet18", width=0.125, epochs=2, batch_size=32, lr=0.05, steps_per_epoch=2, seed=1,
                device="cpu")
    base.update(kw)
    return TrainConfig(**base)  # type: ignore[arg-type]


def _loss_on(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        return float(nn.functional.cross_entropy(model(to_float(x)), y))


def test_two_batches_lower_the_loss(tmp_path: Path) -> None:
    data = make_synthetic(64, 32, seed=0)
    cfg = _cfg(epochs=1, steps_per_epoch=2, lr=0.02)
    torch.manual_seed(cfg.seed)
    from neuralens.models.registry import create_model

    torch.manual_seed(cfg.seed)
    init = create_model("resnet18", width=0.125)
    before = _loss_on(init, data.x_train, data.y_train)
    train(cfg, data, tmp_path, log=lambda m: None)
    after = _loss_on(model_from_checkpoint(load_checkpoint(tmp_path / "model.pt")), data.x_train, data.y_train)
    assert after < before


def test_evaluate_matches_manual_count() -> None:
    data = make_synthetic(10, 40, seed=0)

    class Fixed(nn.Module):  # predicts class = label of the first pixel's red value parity, a known rule
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return nn.functional.one_hot((x[:, 0, 0, 0] * 255).round().long() % 10, 10).float() * 5

    res = evaluate(Fixed(), data.x_test, data.y_test, 10, batch_size=7)
    pred = data.x_test[:, 0, 0, 0].long() % 10
    assert torch.equal(res["predictions"], pred)
    assert res["accuracy"] == pytest.approx(float((pred == data.y_test).float().mean()))
    assert int(res["confusion"].sum()) == 40 and int(res["confusion"].trace()) == int((pred == data.y_test).sum())


def test_flip_tta_averages_the_mirror_view() -> None:
    data = make_synthetic(10, 40, seed=2)

    class FirstRow(nn.Module):  # logits = red values of the first 10 pixels of the top row: not flip-symmetric
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 0, 0, :10]

    x = to_float(data.x_test)
    expected = ((x[:, 0, 0, :10] + x[:, 0, 0, -10:].flip(1)) / 2).argmax(1)
    res = evaluate(FirstRow(), data.x_test, data.y_test, 10, batch_size=7, flip_tta=True)
    assert torch.equal(res["predictions"], expected)
    assert not torch.equal(expected, x[:, 0, 0, :10].argmax(1))  # the mirror view changed some predictions


def _cut_and_resume(cfg: TrainConfig, data: object, out: Path) -> dict[str, object]:
    """Train ``cfg`` interrupted by Ctrl-C inside the second epoch's first step, then resumed."""
    calls = {"n": 0}
    real = train_mod.augment_batch

    def interrupting(*a: object, **k: object) -> torch.Tensor:
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(*a, **k)

    train_mod.augment_batch = interrupting  # type: ignore[assignment]
    try:
        with pytest.raises(KeyboardInterrupt):
            train(cfg, data, out, log=lambda m: None)  # type: ignore[arg-type]
    finally:
        train_mod.augment_batch = real
    state = load_checkpoint(out / "model.pt")["train_state"]
    assert (state["epoch"], state["step"]) == (1, 0)
    return train(cfg, data, out, resume=True, log=lambda m: None)  # type: ignore[arg-type]


def _same_weights(a: Path, b: Path, atol: float = 1e-6) -> None:
    sa, sb = load_checkpoint(a / "model.pt")["state_dict"], load_checkpoint(b / "model.pt")["state_dict"]
    for k in sa:
        assert torch.allclose(sa[k].float(), sb[k].float(), atol=atol), k


@pytest.mark.parametrize("swa_epochs", [0, 2])
def test_resume_continues_exactly(tmp_path: Path, swa_epochs: int) -> None:
    data = make_synthetic(96, 32, seed=0)
    cfg = _cfg(swa_epochs=swa_epochs, schedule="constant" if swa_epochs else "one-cycle")
    full = train(cfg, data, tmp_path / "full", log=lambda m: None)
    resumed = _cut_and_resume(cfg, data, tmp_path / "cut")
    _same_weights(tmp_path / "full", tmp_path / "cut")
    assert resumed["accuracy"] == pytest.approx(full["accuracy"])
    assert (tmp_path / "cut" / "history.csv").read_text() .count("\n") == 3  # header + 2 epochs


def test_swa_is_the_mean_of_the_epoch_weights_with_fresh_batchnorm(tmp_path: Path) -> None:
    from neuralens.models.averaging import training_batches

    data = make_synthetic(96, 32, seed=0)
    # with a constant LR the first epochs do not depend on the run's length: runs of 2 and 3 epochs give the
    # weights at the ends of epochs 2 and 3, whose mean is what --swa-epochs 2 of a 3-epoch run must hold
    runs = {}
    for name, kw in {"w2": dict(epochs=2), "w3": dict(epochs=3), "swa": dict(epochs=3, swa_epochs=2)}.items():
        train(_cfg(schedule="constant", **kw), data, tmp_path / name, log=lambda m: None)
        runs[name] = load_checkpoint(tmp_path / name / "model.pt")
    params = {n for n, _ in model_from_checkpoint(runs["swa"]).named_parameters()}
    assert any(not torch.equal(runs["w2"]["state_dict"][k], runs["w3"]["state_dict"][k]) for k in params)  # moved
    for k in params:
        mean = (runs["w2"]["state_dict"][k] + runs["w3"]["state_dict"][k]) / 2
        assert torch.allclose(runs["swa"]["state_dict"][k], mean, atol=1e-6), k
    # BatchNorm statistics: the first BN's running mean/var are those of its input over the augmented set
    model = model_from_checkpoint(runs["swa"])
    bn = next(m for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    stored_mean, stored_var = bn.running_mean.clone(), bn.running_var.clone()
    seen: list[torch.Tensor] = []
    bn.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach()))
    model.eval()
    with torch.no_grad():
        for xb in training_batches(data.x_train, 1, 2, 500, torch.device("cpu"), torch.contiguous_format):
            model(xb)
    (acts,) = seen  # 96 images: one batch of the pass
    assert torch.allclose(stored_mean, acts.mean((0, 2, 3)), atol=1e-5)
    assert torch.allclose(stored_var, acts.transpose(0, 1).flatten(1).var(1), rtol=1e-4, atol=1e-6)
    assert not torch.allclose(stored_mean, runs["w3"]["state_dict"][next(
        k for k in runs["w3"]["state_dict"] if k.endswith("running_mean"))])
    assert runs["swa"]["train_state"]["averaged"] is True


def test_swa_epochs_cannot_exceed_epochs() -> None:
    from neuralens.core.errors import NeuralensError

    with pytest.raises(NeuralensError, match="--swa-epochs 3 exceeds --epochs 2"):
        _cfg(epochs=2, swa_epochs=3)
    assert train_mod.lr_schedule(_cfg(schedule="constant"), 100)(57) == 1.0
    assert train_mod.lr_schedule(_cfg(), 100)(100) == 0.0


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    from neuralens.core.errors import NeuralensError

    data = make_synthetic(64, 32, seed=0)
    train(_cfg(epochs=1), data, tmp_path, log=lambda m: None)
    with pytest.raises(NeuralensError, match="width"):
        train(_cfg(epochs=1, width=0.25), data, tmp_path, resume=True, log=lambda m: None)


def test_precision_choice_and_bf16_step_lowers_the_loss(tmp_path: Path) -> None:
    from neuralens.core.errors import NeuralensError
    from neuralens.core.runtime import autocast_dtype

    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, "fp32") is None
    assert autocast_dtype(cpu, "bf16") is torch.bfloat16
    assert autocast_dtype(cpu, "auto") in (None, torch.bfloat16)
    with pytest.raises(NeuralensError, match="unknown precision"):
        autocast_dtype(cpu, "fp8")
    # the bf16 path really trains: same check as the float32 two-batch test, forced to bf16 autocast
    data = make_synthetic(64, 32, seed=0)
    cfg = _cfg(epochs=1, steps_per_epoch=2, lr=0.02, precision="bf16")
    from neuralens.models.registry import create_model

    torch.manual_seed(cfg.seed)
    before = _loss_on(create_model("resnet18", width=0.125), data.x_train, data.y_train)
    train(cfg, data, tmp_path, log=lambda m: None)
    model = model_from_checkpoint(load_checkpoint(tmp_path / "model.pt"))
    assert next(model.parameters()).dtype == torch.float32  # autocast leaves the master weights in float32
    assert _loss_on(model, data.x_train, data.y_train) < before
